// Create Backup dialog: POST /instances/{id}/backups
// {paths, note, excludes, exclude_presets, strict} -> 202 {id}.
// Only instances the user may back up are offered (GET /instances is already
// filtered to them).
import {h} from '../dom.js';
import {api} from '../api.js';
import {openDialog, field, showFieldError, busy} from '../dialog.js';
import {folderPicker} from '../components/folder_picker.js';
import {excludePicker} from '../components/exclude_picker.js';

// onCreated(backupId, instance) runs after the server accepted the backup.
export function openCreateBackupDialog({instances, preselect, onCreated}) {
  const alert = h('div', {class: 'alert error', role: 'alert'});
  const submit = h('button', {type: 'submit', class: 'primary'}, 'Create Backup');
  const cancel = h('button', {type: 'button'}, 'Cancel');
  if (!instances.length) {
    const {close} = openDialog({title: 'Create Backup',
      body: h('p', null, 'There are no instances you can back up. An admin registers instances and assigns them to users.'),
      footer: [cancel]});
    cancel.addEventListener('click', close);
    return;
  }
  const select = h('select', {name: 'instance_id', required: true},
    instances.map((i) => h('option', {value: i.id, selected: preselect && (i.name === preselect || String(i.id) === String(preselect))},
      i.status && i.status !== 'running' ? `${i.name} (${i.status === 'unreachable' ? 'not running' : i.status})` : i.name)));
  const folders = folderPicker(['HOME']);
  const leaveOut = excludePicker();
  const note = h('input', {type: 'text', name: 'note', maxlength: 500, placeholder: 'Before upgrading packages'});
  const {dialog, close} = openDialog({
    title: 'Create Backup',
    body: [alert, field('Instance', select), folders.element, leaveOut.element,
           field('Note (optional)', note, {hint: 'Shown in the backups list, e.g. why this backup was taken.'})],
    footer: [cancel, submit],
    onSubmit: () => {
      const picked = folders.value();
      if (picked.error) { alert.textContent = picked.error; return; }
      const excluded = leaveOut.value();
      if (excluded.error) { alert.textContent = excluded.error; return; }
      busy(submit, async () => {
        try {
          const instance = instances.find((i) => String(i.id) === select.value);
          const res = await api.post(`/instances/${select.value}/backups`, {paths: picked.paths, note: note.value.trim(),
            excludes: excluded.excludes, exclude_presets: excluded.exclude_presets, strict: excluded.strict});
          close();
          onCreated(res.id, instance);
        } catch (e) {
          showFieldError(dialog, alert, e);
        }
      }, 'Starting…');
    },
  });
  cancel.addEventListener('click', close);
}
