// Backups page: the list (GET /backups, newest first) with filters, live
// progress, and the per-row actions; Create Backup and Schedule Backups.
// While anything shown is queued or running the list is re-read every second,
// otherwise every 10 s; rows that did not change are left untouched.
import {h, icon, iconButton, replace, toast} from '../dom.js';
import {api, apiUrl} from '../api.js';
import {session} from '../session.js';
import {setQuery} from '../router.js';
import {confirmDialog} from '../dialog.js';
import {pageHead} from '../layout.js';
import {formatBytes, timeEl, statusBadge, isBusy, pathsEl, plural, excludesEl, databasesText, warningsEl} from '../format.js';
import {startPoller} from '../poller.js';
import {openCreateBackupDialog} from '../dialogs/create_backup.js';
import {openScheduleDialog} from '../dialogs/schedule.js';
import {openRestoreDialog} from '../dialogs/restore.js';
import {backupChecksEl} from '../trust.js';

const STATUSES = ['queued', 'running', 'completed', 'failed', 'canceled'];
const PAGE = 50;

export function backupsPage({main, query}) {
  const state = {instance: query.get('instance') || '', status: query.get('status') || '', offset: 0};
  let instances = [];
  let backups = [];
  let total = 0;
  let lastChange = 0;  // when we last started something: poll fast for a while

  // A deep link (/backups?instance=NAME) shows its filter at once, before the
  // instance list arrives and fills in the other options.
  const instanceSelect = h('select', {id: 'filter-instance', name: 'instance'}, h('option', {value: ''}, 'All instances'),
    state.instance ? h('option', {value: state.instance, selected: true}, state.instance) : null);
  const statusSelect = h('select', {id: 'filter-status', name: 'status'}, h('option', {value: ''}, 'Any status'),
    STATUSES.map((s) => h('option', {value: s, selected: s === state.status}, s)));
  const alert = h('div', {class: 'alert error', role: 'alert', 'data-testid': 'backups-error'});
  const tbody = h('tbody');
  const emptyRow = h('div', {class: 'empty', hidden: true});
  const pagerText = h('span');
  const prev = h('button', {type: 'button', onclick: () => { state.offset = Math.max(0, state.offset - PAGE); refresh(); }}, 'Previous');
  const next = h('button', {type: 'button', onclick: () => { state.offset += PAGE; refresh(); }}, 'Next');
  const createBtn = h('button', {type: 'button', class: 'primary', onclick: openCreate}, icon('plus'), 'Create Backup');
  const scheduleBtn = session.isAdmin ? h('button', {type: 'button', onclick: openSchedule}, icon('schedules'), 'Schedule Backups') : null;

  main.append(
    pageHead('Backups', [scheduleBtn, createBtn]),
    h('div', {class: 'filters', role: 'search', 'aria-label': 'Filter backups'},
      h('div', {class: 'field'}, h('label', {for: 'filter-instance'}, 'Instance'), instanceSelect),
      h('div', {class: 'field'}, h('label', {for: 'filter-status'}, 'Status'), statusSelect)),
    alert,
    h('div', {class: 'panel'},
      h('div', {class: 'table-wrap'},
        h('table', {class: 'stack', 'aria-label': 'Backups'},
          h('thead', null, h('tr', null,
            h('th', {scope: 'col'}, 'Instance'), h('th', {scope: 'col'}, 'Created'), h('th', {scope: 'col'}, 'Folders'),
            h('th', {scope: 'col'}, 'Note'), h('th', {scope: 'col'}, 'Status'), h('th', {scope: 'col', class: 'num'}, 'Size'),
            h('th', {scope: 'col'}, 'Created by'), h('th', {scope: 'col', class: 'num'}, h('span', {class: 'sr-only'}, 'Actions')))),
          tbody)),
      emptyRow,
      h('div', {class: 'pager'}, pagerText, h('div', {class: 'inline'}, prev, next))));

  instanceSelect.addEventListener('change', () => { state.instance = instanceSelect.value; state.offset = 0; setQuery({instance: state.instance}); refresh(); });
  statusSelect.addEventListener('change', () => { state.status = statusSelect.value; state.offset = 0; setQuery({status: state.status}); refresh(); });

  async function loadInstances() {
    try {
      instances = (await api.get('/instances')).instances;
    } catch (e) {
      alert.textContent = `Cannot list instances: ${e.message}`;
    }
    const names = new Set(instances.map((i) => i.name));
    replace(instanceSelect, h('option', {value: ''}, 'All instances'),
      instances.map((i) => h('option', {value: i.name, selected: i.name === state.instance}, i.name)),
      state.instance && !names.has(state.instance) ? h('option', {value: state.instance, selected: true}, state.instance) : null);
  }

  const rows = new Map();  // id -> {sig, tr}
  async function refresh() {
    let page;
    try {
      page = await api.get('/backups', {instance: state.instance, status: state.status, limit: PAGE, offset: state.offset});
    } catch (e) {
      alert.textContent = state.instance && e.status === 404 ? `No instance named "${state.instance}" that you can see.` : `Cannot load backups: ${e.message}`;
      return;
    }
    if (alert.dataset.source !== 'action') alert.textContent = '';
    backups = page.backups;
    total = page.total;
    renderRows();
  }

  function renderRows() {
    const focused = document.activeElement && tbody.contains(document.activeElement) ?
        {id: document.activeElement.closest('tr')?.dataset.backupId, action: document.activeElement.dataset.action} : null;
    const ids = backups.map((b) => String(b.id));
    const sameOrder = ids.length === tbody.children.length && ids.every((id, i) => tbody.children[i].dataset.backupId === id);
    const fresh = [];
    for (const b of backups) {
      const sig = JSON.stringify(b);
      const old = rows.get(String(b.id));
      if (old && old.sig === sig) { fresh.push(old.tr); continue; }
      const tr = backupRow(b);
      if (sameOrder && old) old.tr.replaceWith(tr);
      rows.set(String(b.id), {sig, tr});
      fresh.push(tr);
    }
    if (!sameOrder) tbody.replaceChildren(...fresh);
    for (const id of [...rows.keys()]) if (!ids.includes(id)) rows.delete(id);
    if (focused && focused.action) tbody.querySelector(`tr[data-backup-id="${focused.id}"] [data-action="${focused.action}"]`)?.focus();

    emptyRow.hidden = backups.length > 0;
    emptyRow.textContent = state.instance || state.status ? 'No backups match these filters.' :
        'No backups yet. Click Create Backup to take the first one.';
    pagerText.textContent = total ? `${state.offset + 1}–${state.offset + backups.length} of ${plural(total, 'backup')}` : '';
    prev.disabled = state.offset === 0;
    next.disabled = state.offset + backups.length >= total;
  }

  function backupRow(b) {
    const busy = isBusy(b.status);
    const statusCell = h('td', {'data-label': 'Status', class: 'status-cell'}, statusBadge(b.status));
    if (b.status === 'running') statusCell.append(h('span', {class: 'sub progress-text'}, `${formatBytes(b.progress_bytes || 0)} so far`));
    if (b.status === 'failed' && b.error_message) statusCell.append(h('span', {class: 'error-text'}, b.error_message));
    if (b.status === 'canceled' && b.error_message) statusCell.append(h('span', {class: 'sub'}, b.error_message));
    const warnings = warningsEl(b.warnings);
    if (warnings) statusCell.append(warnings);
    const checks = backupChecksEl(b);
    if (checks) statusCell.append(checks);
    let size;
    if (b.status === 'completed') {
      size = [h('span', {class: 'size'}, formatBytes(b.size_bytes)), b.entries ? h('span', {class: 'sub'}, plural(b.entries, 'entry', 'entries')) : null,
              h('span', {class: 'sub', 'data-testid': 'backup-databases'}, databasesText(b))];
    }
    else if (b.status === 'running') size = h('span', {class: 'muted size'}, formatBytes(b.progress_bytes || 0));
    else size = h('span', {class: 'muted'}, '—');

    const actions = [];
    if (b.status === 'completed') {
      actions.push(h('a', {class: 'button icon', href: apiUrl(`/backups/${b.id}/download`), download: b.file_name || '',
                           'aria-label': `Download backup ${b.id}`, title: 'Download', dataset: {action: 'download'}}, icon('download')));
      actions.push(h('a', {class: 'button icon', href: `/backups/${b.id}/files`, 'aria-label': `Browse files of backup ${b.id}`,
                           title: 'Browse files', dataset: {action: 'browse'}}, icon('browse')));
      actions.push(session.canRestore ?
        iconButton('restore', `Restore backup ${b.id}`, () => openRestoreDialog(b), {dataset: {action: 'restore'}, title: 'Restore'}) :
        iconButton('restore', `Restore backup ${b.id} (not permitted)`, null,
          {disabled: true, dataset: {action: 'restore'}, title: session.restoreDeniedReason}));
    }
    if (b.status === 'completed') {
      actions.push(iconButton('check', `Verify backup ${b.id}`, () => verifyBackup(b),
        {dataset: {action: 'verify'}, title: 'Verify', disabled: b.verification && b.verification.status === 'running'}));
    }
    if (busy) actions.push(iconButton('cancel', `Cancel backup ${b.id}`, () => cancelBackup(b), {dataset: {action: 'cancel'}, title: 'Cancel'}));
    actions.push(iconButton('trash', `Delete backup ${b.id}`, () => deleteBackup(b), {class: 'danger-icon', dataset: {action: 'delete'}, title: 'Delete'}));

    return h('tr', {dataset: {backupId: b.id, status: b.status}},
      h('td', {'data-label': 'Instance'}, h('a', {href: `/instances/${encodeURIComponent(b.instance_name)}`}, b.instance_name)),
      h('td', {'data-label': 'Created'}, timeEl(b.created_at)),
      h('td', {'data-label': 'Folders'}, pathsEl(b.paths), excludesEl(b),
        b.strict ? h('span', {class: 'sub', title: 'A database not captured consistently fails this backup'}, 'strict') : null),
      h('td', {'data-label': 'Note'}, b.note || h('span', {class: 'muted'}, '—')),
      statusCell,
      h('td', {'data-label': 'Size', class: 'num'}, size),
      h('td', {'data-label': 'Created by'}, b.created_by_name || b.created_by || h('span', {class: 'muted'}, '—')),
      h('td', {'data-label': 'Actions', class: 'actions'}, h('span', {class: 'wrap'}, actions)));
  }

  function actionError(message) {
    alert.dataset.source = 'action';
    alert.textContent = message;
    setTimeout(() => { delete alert.dataset.source; }, 10000);
  }

  async function verifyBackup(b) {
    try {
      await api.post(`/backups/${b.id}/verify`);
      toast(`Verification of backup #${b.id} started.`);
      lastChange = Date.now();
    } catch (e) {
      actionError(`Could not verify backup #${b.id}: ${e.message}`);
    }
    poller.poke();
  }

  async function cancelBackup(b) {
    try {
      await api.post(`/backups/${b.id}/cancel`);
      toast(`Backup #${b.id} canceled.`);
    } catch (e) {
      actionError(`Could not cancel backup #${b.id}: ${e.message}`);
    }
    poller.poke();
  }

  async function deleteBackup(b) {
    const ok = await confirmDialog({
      title: 'Delete backup?', danger: true, confirmLabel: 'Delete backup',
      message: [h('p', null, `Backup #${b.id} of `, h('strong', null, b.instance_name), ` from ${new Date(b.created_at).toLocaleString()} `,
        b.size_bytes ? `(${formatBytes(b.size_bytes)}) ` : '', 'will be removed for good, archive file included.'),
        isBusy(b.status) ? h('p', null, 'It is still running and will be canceled first.') : null],
    });
    if (!ok) return;
    try {
      await api.del(`/backups/${b.id}`);
      toast(`Backup #${b.id} deleted.`);
    } catch (e) {
      actionError(`Could not delete backup #${b.id}: ${e.message}`);
    }
    poller.poke();
  }

  function openCreate() {
    openCreateBackupDialog({
      instances, preselect: state.instance,
      onCreated: async (id, instance) => {
        lastChange = Date.now();
        toast(`Backup #${id} of ${instance ? instance.name : 'the instance'} started.`);
        // Show the new row at once, then let polling follow it.
        try {
          const b = await api.get(`/backups/${id}`);
          if (!backups.some((x) => x.id === b.id) && state.offset === 0 && (!state.status || state.status === b.status) &&
              (!state.instance || state.instance === b.instance_name)) {
            backups = [b, ...backups];
            total += 1;
            renderRows();
          }
        } catch { /* the next poll shows it */ }
        poller.poke();
      },
    });
  }

  function openSchedule() {
    openScheduleDialog({instances, onSaved: () => toast('Schedule created. See Schedules for its next runs.')});
  }

  const poller = startPoller(refresh, () =>
    backups.some((b) => isBusy(b.status) || (b.verification && b.verification.status === 'running') ||
                        (b.drill && b.drill.status === 'running')) || Date.now() - lastChange < 5000 ? 1000 : 10000);
  loadInstances().then(() => poller.poke());
  return () => poller.stop();
}
