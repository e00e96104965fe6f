// Schedules page (admins): every schedule with its next run and last result;
// enable/disable, edit, run now, delete.
import {h, icon, iconButton, replace, toast} from '../dom.js';
import {api} from '../api.js';
import {confirmDialog} from '../dialog.js';
import {pageHead} from '../layout.js';
import {timeEl, pathsEl, plural} from '../format.js';
import {startPoller} from '../poller.js';
import {openScheduleDialog, formatRun} from '../dialogs/schedule.js';

export function schedulesPage({main}) {
  let instances = [];
  let schedules = [];
  const alert = h('div', {class: 'alert error', role: 'alert'});
  const tbody = h('tbody');
  const empty = h('div', {class: 'empty', hidden: true},
    'No schedules yet. Click Schedule Backups to back instances up automatically.');
  const createBtn = h('button', {type: 'button', class: 'primary', onclick: () => openScheduleDialog({instances, onSaved: saved})},
    icon('plus'), 'Schedule Backups');

  main.append(pageHead('Schedules', [createBtn]), alert,
    h('div', {class: 'panel'}, h('div', {class: 'table-wrap'},
      h('table', {class: 'stack', 'aria-label': 'Schedules'},
        h('thead', null, h('tr', null, ['Name', 'Instances', 'When', 'Next run', 'Last run', 'Enabled'].map((t) => h('th', {scope: 'col'}, t)),
          h('th', {scope: 'col'}, h('span', {class: 'sr-only'}, 'Actions')))),
        tbody)), empty));

  function saved(s) {
    toast(`Schedule “${s.name}” saved.`);
    refresh();
  }

  async function refresh() {
    try {
      [instances, schedules] = await Promise.all([
        api.get('/instances').then((r) => r.instances),
        api.get('/backup-schedules').then((r) => r.schedules)]);
    } catch (e) {
      alert.textContent = `Cannot load schedules: ${e.message}`;
      return;
    }
    if (!alert.dataset.keep) alert.textContent = '';
    replace(tbody, schedules.map(row));
    empty.hidden = schedules.length > 0;
  }

  function instanceNames(s) {
    if (s.all_instances) return h('span', {class: 'badge ok'}, 'All Instances');
    const byId = new Map(instances.map((i) => [i.id, i.name]));
    return h('span', {class: 'paths'}, s.instance_ids.map((id) => h('span', {class: 'tag'}, byId.get(id) || `#${id}`)));
  }

  function row(s) {
    const toggle = h('input', {type: 'checkbox', checked: s.enabled, 'aria-label': `Enable schedule ${s.name}`});
    toggle.addEventListener('change', () => setEnabled(s, toggle));
    const next = s.enabled && s.next_runs && s.next_runs.length ? s.next_runs[0] : null;
    return h('tr', {dataset: {scheduleId: s.id}},
      h('td', {'data-label': 'Name'}, h('strong', null, s.name), s.note ? h('span', {class: 'sub'}, s.note) : null,
        h('span', {class: 'sub'}, pathsEl(s.paths))),
      h('td', {'data-label': 'Instances'}, instanceNames(s)),
      h('td', {'data-label': 'When'}, s.description || '', h('span', {class: 'sub'}, h('code', null, s.cron), ` · ${s.timezone}`),
        retentionText(s.retention) ? h('span', {class: 'sub'}, retentionText(s.retention)) : null),
      h('td', {'data-label': 'Next run', 'data-testid': 'next-run'}, next ?
        h('time', {datetime: next.utc, title: next.utc}, formatRun(next, s.timezone)) : h('span', {class: 'muted'}, s.enabled ? '—' : 'disabled')),
      h('td', {'data-label': 'Last run'}, s.last_run_at ? [timeEl(s.last_run_at), h('span', {class: 'sub'}, s.last_result || '')] :
        h('span', {class: 'muted'}, 'never')),
      h('td', {'data-label': 'Enabled'}, h('label', {class: 'switch'}, toggle, h('span', {class: 'sr-only'}, s.enabled ? 'on' : 'off'))),
      h('td', {'data-label': 'Actions', class: 'actions'}, h('span', {class: 'wrap'},
        iconButton('play', `Run schedule ${s.name} now`, () => runNow(s), {title: 'Run now', dataset: {action: 'run'}}),
        iconButton('edit', `Edit schedule ${s.name}`, () => openScheduleDialog({instances, schedule: s, onSaved: saved}),
          {title: 'Edit', dataset: {action: 'edit'}}),
        iconButton('trash', `Delete schedule ${s.name}`, () => remove(s), {class: 'danger-icon', title: 'Delete', dataset: {action: 'delete'}}))));
  }

  function retentionText(r) {
    if (!r) return '';
    const parts = [];
    if (r.keep_last) parts.push(`last ${r.keep_last}`);
    if (r.keep_hourly) parts.push(`${r.keep_hourly} hourly`);
    if (r.keep_daily) parts.push(`${r.keep_daily} daily`);
    if (r.keep_weekly) parts.push(`${r.keep_weekly} weekly`);
    if (r.keep_monthly) parts.push(`${r.keep_monthly} monthly`);
    return parts.length ? `Keeps ${parts.join(', ')}` : 'Keeps every backup';
  }

  function actionError(message) {
    alert.dataset.keep = '1';
    alert.textContent = message;
    setTimeout(() => { delete alert.dataset.keep; }, 10000);
  }

  async function setEnabled(s, toggle) {
    const body = {name: s.name, all_instances: s.all_instances, instance_ids: s.instance_ids, cron: s.cron, timezone: s.timezone,
                  paths: s.paths, note: s.note, retention: s.retention, enabled: toggle.checked};
    toggle.disabled = true;
    try {
      await api.put(`/backup-schedules/${s.id}`, body);
      toast(`Schedule “${s.name}” ${toggle.checked ? 'enabled' : 'disabled'}.`);
    } catch (e) {
      toggle.checked = !toggle.checked;
      actionError(`Could not change schedule “${s.name}”: ${e.message}`);
    }
    toggle.disabled = false;
    refresh();
  }

  async function runNow(s) {
    try {
      const res = await api.post(`/backup-schedules/${s.id}/run`);
      const started = (res.backups || []).length;
      const skipped = res.skipped || [];
      toast(`Started ${plural(started, 'backup')}${skipped.length ? `; skipped ${skipped.length}: ${skipped.map((x) => typeof x === 'string' ? x : x.reason || JSON.stringify(x)).join('; ')}` : ''}.`,
        started ? 'info' : 'error');
    } catch (e) {
      actionError(`Could not run schedule “${s.name}”: ${e.message}`);
    }
    refresh();
  }

  async function remove(s) {
    const ok = await confirmDialog({title: 'Delete schedule?', danger: true, confirmLabel: 'Delete schedule',
      message: h('p', null, `“${s.name}” will stop running. Backups it already made are kept.`)});
    if (!ok) return;
    try {
      await api.del(`/backup-schedules/${s.id}`);
      toast(`Schedule “${s.name}” deleted.`);
    } catch (e) {
      actionError(`Could not delete schedule “${s.name}”: ${e.message}`);
    }
    refresh();
  }

  const poller = startPoller(refresh, () => 30000);
  poller.poke();
  return () => poller.stop();
}
