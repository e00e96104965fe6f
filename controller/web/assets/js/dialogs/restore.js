// Restore dialog: pick a running target instance, confirm that files are
// overwritten at their original paths, then follow the restore
// (POST /backups/{id}/restore -> GET /restores/{id} every second) to its outcome.
import {h, replace} from '../dom.js';
import {api} from '../api.js';
import {openDialog, showFieldError, busy} from '../dialog.js';
import {formatBytes, formatTime, statusBadge, isBusy, pathsEl, plural} from '../format.js';
import {startPoller} from '../poller.js';

export async function openRestoreDialog(backup) {
  let instances = [];
  let loadError = null;
  try {
    instances = (await api.get('/instances')).instances;
  } catch (e) {
    loadError = e;
  }
  const alert = h('div', {class: 'alert error', role: 'alert'});
  const submit = h('button', {type: 'submit', class: 'danger'}, 'Restore and overwrite');
  const cancel = h('button', {type: 'button'}, 'Cancel');
  const running = instances.filter((i) => i.status === 'running');
  const defaultTarget = running.find((i) => i.id === backup.instance_id) || running[0];

  const targets = h('fieldset', {name: 'instance_id', class: 'restore-targets'},
    h('legend', null, 'Target instance'),
    instances.map((i) => {
      const ok = i.status === 'running';
      const radio = h('input', {type: 'radio', name: 'target', value: i.id, disabled: !ok,
                                checked: defaultTarget && i.id === defaultTarget.id,
                                id: `restore-target-${i.id}`});
      return h('label', {class: `check ${ok ? '' : 'disabled'}`, for: radio.id}, radio,
        h('span', null, i.name, i.id === backup.instance_id ? h('span', {class: 'muted'}, ' (original instance)') : null,
          h('span', {class: 'hint'}, ok ? 'running' : `not running${i.status_reason ? `: ${i.status_reason}` : ''}`)));
    }),
    h('span', {class: 'field-error'}));
  if (loadError) alert.textContent = `Cannot list instances: ${loadError.message}`;
  else if (!running.length) alert.textContent = 'No instance is running. Start the target instance, then try again.';
  submit.disabled = !running.length;

  const summary = h('dl', {class: 'facts'},
    h('dt', null, 'Backup'), h('dd', null, `#${backup.id} of ${backup.instance_name}`),
    h('dt', null, 'Created'), h('dd', null, formatTime(backup.created_at)),
    h('dt', null, 'Folders'), h('dd', null, pathsEl(backup.paths)),
    h('dt', null, 'Size'), h('dd', null, formatBytes(backup.size_bytes)),
    backup.note ? [h('dt', null, 'Note'), h('dd', null, backup.note)] : null);

  // The target agent's own hooks (e.g. stop the OpenClaw gateway during the
  // restore, start it after); the request can only switch them off.
  const quiesce = h('input', {type: 'checkbox', name: 'quiesce', id: 'restore-quiesce', checked: true});
  const quiesceField = h('label', {class: 'check', for: quiesce.id}, quiesce,
    h('span', null, 'Quiesce the instance during the restore',
      h('span', {class: 'hint'}, 'Runs the instance\'s own pre-/post-restore hooks (the OpenClaw image stops the gateway and starts it again), so no process keeps writing to replaced files.')));

  const body = h('div', null, alert, summary, targets, quiesceField,
    h('div', {class: 'alert warn', role: 'note'},
      h('strong', null, 'Files will be overwritten. '),
      'Every file in this backup is written back to its original path on the target instance, replacing what is there. ',
      'Files that are not in the backup are left alone.'));

  let poller = null;
  const {dialog, close} = openDialog({
    title: 'Restore backup', body, wide: true, footer: [cancel, submit],
    onClose: () => poller && poller.stop(),
    onSubmit: () => {
      const chosen = dialog.querySelector('input[name="target"]:checked');
      if (!chosen) { alert.textContent = 'Choose a running target instance.'; return; }
      busy(submit, async () => {
        try {
          const res = await api.post(`/backups/${backup.id}/restore`,
            {instance_id: Number(chosen.value), quiesce: quiesce.checked});
          const target = instances.find((i) => String(i.id) === chosen.value);
          showProgress(res.id, target);
        } catch (e) {
          showFieldError(dialog, alert, e);
        }
      }, 'Starting…');
    },
  });
  cancel.addEventListener('click', close);

  function showProgress(restoreId, target) {
    const status = h('div', {'aria-live': 'polite', 'data-testid': 'restore-status'});
    const closeBtn = h('button', {type: 'button', class: 'primary', onclick: close}, 'Close');
    replace(dialog.querySelector('.dialog-body'), h('p', null, `Restoring backup #${backup.id} into `, h('strong', null, target ? target.name : 'the target'), '.'), status);
    replace(dialog.querySelector('.dialog-foot'), closeBtn);
    closeBtn.focus();
    let restore = null;
    const tick = async () => {
      try {
        restore = await api.get(`/restores/${restoreId}`);
        renderRestore(status, restore, backup);
      } catch (e) {
        replace(status, h('div', {class: 'alert error', role: 'alert'}, `Cannot read the restore's progress: ${e.message}`));
      }
      if (restore && !isBusy(restore.status)) poller.stop();
    };
    poller = startPoller(tick, () => 1000);
    poller.poke();
  }
}

function renderRestore(el, r, backup) {
  const total = backup.size_bytes || 0;
  const pct = total ? Math.min(100, Math.round((r.progress_bytes || 0) * 100 / total)) : 0;
  const bar = h('div', {class: `progress ${total ? '' : 'indeterminate'}`, role: 'progressbar', 'aria-label': 'Restore progress',
                        'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': total ? pct : null}, h('div'));
  if (total) bar.firstChild.style.width = `${pct}%`;
  const skipped = r.skipped || [];
  replace(el,
    h('p', null, statusBadge(r.status)),
    isBusy(r.status) ? [bar, h('p', {class: 'small muted'}, `${formatBytes(r.progress_bytes)} of ${formatBytes(total)} sent`)] : null,
    r.status === 'completed' ? h('div', {class: 'alert ok'},
      `Restored ${plural(r.entries_written, 'entry', 'entries')} (${formatBytes(r.bytes_written)}) into ${r.target_instance_name}.`) : null,
    isBusy(r.status) ? null : h('p', {class: 'small muted', 'data-testid': 'restore-quiesced'},
      r.quiesced ? 'Quiesced: the instance\'s restore hooks ran around it.'
        : r.quiesce ? 'Not quiesced: the instance has no restore hooks, or they did not run.'
          : 'Not quiesced: switched off for this restore.'),
    r.status === 'failed' ? h('div', {class: 'alert error', role: 'alert'}, `Restore failed: ${r.error_message || 'unknown error'}`,
      r.entries_written ? h('div', null, `${plural(r.entries_written, 'entry', 'entries')} had been written before the failure.`) : null) : null,
    r.status === 'canceled' ? h('div', {class: 'alert warn'}, 'The restore was canceled.') : null,
    skipped.length ? h('div', {class: 'alert warn'}, `${plural(skipped.length, 'entry', 'entries')} skipped:`,
      h('ul', null, skipped.slice(0, 20).map((s) => h('li', null, h('code', null, s.path), ` — ${s.reason}`)),
        skipped.length > 20 ? h('li', null, `… and ${skipped.length - 20} more`) : null)) : null);
}
