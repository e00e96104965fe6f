// Restore dialog: pick a running target instance, optionally preview what the
// restore would change (a dry run: POST /backups/{id}/restore with dry_run,
// followed on GET /restores/{id} until done), confirm that files are
// overwritten at their original paths, then follow the real restore
// (GET /restores/{id} every second) to its outcome.
// With `paths` (archive paths from the archive browser, sent to the API as
// absolute container paths) only those files and folders are
// restored, and the preview is required: the first button runs the dry run,
// the second, shown with its result, starts the real restore of the same paths.
import {h, replace} from '../dom.js';
import {api} from '../api.js';
import {openDialog, showFieldError, busy} from '../dialog.js';
import {formatBytes, formatTime, statusBadge, isBusy, pathsEl, plural} from '../format.js';
import {startPoller} from '../poller.js';
import {previewEl, outcomeText} from '../components/restore_changes.js';

export async function openRestoreDialog(backup, {paths = null} = {}) {
  const partial = Array.isArray(paths) && paths.length > 0;
  // The API takes restore paths as absolute container paths ("/home/claworc/x").
  const apiPaths = partial ? paths.map((p) => `/${String(p).replace(/^\/+/, '')}`) : [];
  let instances = [];
  let loadError = null;
  try {
    instances = (await api.get('/instances')).instances;
  } catch (e) {
    loadError = e;
  }
  const alert = h('div', {class: 'alert error', role: 'alert'});
  const submit = h('button', {type: 'submit', class: 'danger'}, 'Restore and overwrite');
  const previewBtn = h('button', {type: 'button', 'data-testid': 'restore-preview-button'}, 'Preview changes');
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

  const summary = h('dl', {class: 'facts'},
    h('dt', null, 'Backup'), h('dd', null, `#${backup.id} of ${backup.instance_name}`),
    h('dt', null, 'Created'), h('dd', null, formatTime(backup.created_at)),
    h('dt', null, 'Folders'), h('dd', null, pathsEl(backup.paths)),
    h('dt', null, 'Size'), h('dd', null, formatBytes(backup.size_bytes)),
    partial ? [h('dt', null, 'Only'), h('dd', {'data-testid': 'restore-paths'},
      h('ul', {class: 'plain mono small'}, apiPaths.slice(0, 20).map((p) => h('li', null, p)),
        paths.length > 20 ? h('li', {class: 'muted'}, `… and ${paths.length - 20} more`) : null))] : null,
    backup.note ? [h('dt', null, 'Note'), h('dd', null, backup.note)] : null);

  // The target agent's own hooks (e.g. stop the OpenClaw gateway during the
  // restore, start it after); the request can only switch them off. A preview
  // writes nothing, so it never quiesces.
  const quiesce = h('input', {type: 'checkbox', name: 'quiesce', id: 'restore-quiesce', checked: true});
  const quiesceField = h('label', {class: 'check', for: quiesce.id}, quiesce,
    h('span', null, 'Quiesce the instance during the restore',
      h('span', {class: 'hint'}, 'Runs the instance\'s own pre-/post-restore hooks (the OpenClaw image stops the gateway and starts it again), so no process keeps writing to replaced files.')));

  // The dry run's outcome: empty until "Preview changes" ran for the chosen target.
  const previewSlot = h('div', {'aria-live': 'polite', 'data-testid': 'restore-preview-slot'});
  let previewedFor = null;  // target instance id the shown preview is for

  const body = h('div', null, alert, summary, targets, quiesceField,
    h('div', {class: 'alert warn', role: 'note'},
      h('strong', null, 'Files will be overwritten. '),
      partial ? 'The selected files and folders are written back to their original paths on the target instance, replacing what is there. Nothing else is touched.'
        : ['Every file in this backup is written back to its original path on the target instance, replacing what is there. ',
           'Files that are not in the backup are left alone.']),
    previewSlot);

  let poller = null;
  const {dialog, close} = openDialog({
    title: partial ? 'Restore selected paths' : 'Restore backup', body, wide: true, footer: [cancel, previewBtn, submit],
    onClose: () => poller && poller.stop(),
    onSubmit: () => {
      const chosen = chosenTarget();
      if (!chosen) { alert.textContent = 'Choose a running target instance.'; return; }
      if (partial && previewedFor !== chosen.value) { runPreview(); return; }
      busy(submit, async () => {
        try {
          const res = await api.post(`/backups/${backup.id}/restore`, {instance_id: Number(chosen.value), quiesce: quiesce.checked,
                                                                       ...(partial ? {paths: apiPaths, dry_run: false} : {})});
          const target = instances.find((i) => String(i.id) === chosen.value);
          showProgress(res.id, target);
        } catch (e) {
          showFieldError(dialog, alert, e);
        }
      }, 'Starting…');
    },
  });
  cancel.addEventListener('click', close);
  previewBtn.addEventListener('click', () => runPreview());
  targets.addEventListener('change', () => { previewedFor = null; previewSlot.replaceChildren(); updateButtons(); });
  updateButtons();

  function chosenTarget() { return dialog.querySelector('input[name="target"]:checked'); }

  // A partial restore starts only after its preview for the chosen target:
  // until then the dialog offers just "Preview changes".
  function updateButtons() {
    const chosen = chosenTarget();
    const previewed = chosen && previewedFor === chosen.value;
    submit.disabled = !running.length;
    previewBtn.disabled = !running.length;
    if (partial) {
      submit.hidden = !previewed;
      previewBtn.textContent = previewed ? 'Preview again' : 'Preview changes';
      previewBtn.className = previewed ? '' : 'primary';
      submit.textContent = `Restore ${plural(paths.length, 'path')} and overwrite`;
    }
  }

  // Dry run for the chosen target, followed to its end; shows the counts.
  async function runPreview() {
    const chosen = chosenTarget();
    if (!chosen) { alert.textContent = 'Choose a running target instance.'; return; }
    alert.textContent = '';
    const target = instances.find((i) => String(i.id) === chosen.value);
    previewedFor = null;
    updateButtons();
    replace(previewSlot, h('p', {class: 'muted', role: 'status'}, h('span', {class: 'spinner', 'aria-hidden': 'true'}),
      ` Comparing the backup with ${target ? target.name : 'the target'}… nothing is written.`));
    await busy(previewBtn, async () => {
      let record;
      try {
        const res = await api.post(`/backups/${backup.id}/restore`, {instance_id: Number(chosen.value), quiesce: false, dry_run: true,
                                                                     ...(partial ? {paths: apiPaths} : {})});
        record = await followRestore(res.id, 500);
      } catch (e) {
        previewSlot.replaceChildren();
        showFieldError(dialog, alert, e);
        return;
      }
      if (!dialog.isConnected) return;
      if (record.status !== 'completed') {
        replace(previewSlot, h('div', {class: 'alert error', role: 'alert', 'data-testid': 'restore-preview-error'},
          `The preview ${record.status === 'canceled' ? 'was canceled' : `failed: ${record.error_message || 'unknown error'}`}.`));
        return;
      }
      if (chosenTarget() !== chosen) return;  // the target changed meanwhile: that preview is stale
      replace(previewSlot, h('h3', null, `Preview for ${target ? target.name : 'the target'}`), previewEl(record.changes),
        partial ? h('p', {class: 'small muted'}, `“${submit.textContent}” makes exactly these changes.`) : null);
      previewedFor = chosen.value;
    }, 'Previewing…');
    updateButtons();
    if (partial && previewedFor && !submit.hidden) submit.focus();
  }

  // Polls GET /restores/{id} until it is no longer queued or running.
  function followRestore(restoreId, everyMs) {
    return new Promise((resolve, reject) => {
      const p = startPoller(async () => {
        if (!dialog.isConnected) { p.stop(); reject(new Error('closed')); return; }
        try {
          const r = await api.get(`/restores/${restoreId}`);
          if (!isBusy(r.status)) { p.stop(); resolve(r); }
        } catch (e) {
          p.stop();
          reject(e);
        }
      }, () => everyMs);
      p.poke();
    });
  }

  function showProgress(restoreId, target) {
    const status = h('div', {'aria-live': 'polite', 'data-testid': 'restore-status'});
    const closeBtn = h('button', {type: 'button', class: 'primary', onclick: close}, 'Close');
    replace(dialog.querySelector('.dialog-body'),
      h('p', null, partial ? `Restoring ${plural(paths.length, 'path')} of backup #${backup.id} into ` : `Restoring backup #${backup.id} into `,
        h('strong', null, target ? target.name : 'the target'), '.'), status);
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
  // A partial restore sends only part of the archive: no percentage then.
  const total = r.paths && r.paths.length ? 0 : backup.size_bytes || 0;
  const pct = total ? Math.min(100, Math.round((r.progress_bytes || 0) * 100 / total)) : 0;
  const bar = h('div', {class: `progress ${total ? '' : 'indeterminate'}`, role: 'progressbar', 'aria-label': 'Restore progress',
                        'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': total ? pct : null}, h('div'));
  if (total) bar.firstChild.style.width = `${pct}%`;
  const skipped = r.skipped || [];
  replace(el,
    h('p', null, statusBadge(r.status)),
    isBusy(r.status) ? [bar, h('p', {class: 'small muted'}, total ? `${formatBytes(r.progress_bytes)} of ${formatBytes(total)} sent`
                                                                   : `${formatBytes(r.progress_bytes || 0)} sent`)] : null,
    r.status === 'completed' ? h('div', {class: 'alert ok'},
      `Restored ${plural(r.entries_written, 'entry', 'entries')} (${formatBytes(r.bytes_written)}) into ${r.target_instance_name}.`,
      r.changes ? h('span', {'data-testid': 'restore-outcome-changes'}, ` ${outcomeText(r.changes)}.`) : null) : null,
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
