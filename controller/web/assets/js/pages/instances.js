// Instances page: every visible instance with its agent status and latest
// backup; admins register instances, issue agent bundles and remove them.
import {h, icon, iconButton, replace, toast} from '../dom.js';
import {api} from '../api.js';
import {session} from '../session.js';
import {navigate} from '../router.js';
import {confirmDialog} from '../dialog.js';
import {pageHead} from '../layout.js';
import {formatBytes, timeEl, statusBadge, instanceStatusBadge, isBusy} from '../format.js';
import {startPoller} from '../poller.js';
import {openInstanceDialog, openBundleDialog} from '../dialogs/instance.js';
import {openCreateBackupDialog} from '../dialogs/create_backup.js';
import {protectionEl, fleetSummary} from '../trust.js';

export function instancesPage({main}) {
  let instances = [];
  const alert = h('div', {class: 'alert error', role: 'alert'});
  const tbody = h('tbody');
  const empty = h('div', {class: 'empty', hidden: true});
  const registerBtn = session.isAdmin ? h('button', {type: 'button', class: 'primary', onclick: () => openInstanceDialog({
    onSaved: (inst) => { toast(`Instance ${inst.name} registered.`); refresh(); openBundleDialog(inst); },
  })}, icon('plus'), 'Register instance') : null;

  const fleet = session.isAdmin ? fleetSummary() : null;
  main.append(pageHead('Instances', [registerBtn]), fleet ? fleet.el : null, alert,
    h('div', {class: 'panel'}, h('div', {class: 'table-wrap'},
      h('table', {class: 'stack', 'aria-label': 'Instances'},
        h('thead', null, h('tr', null, ['Name', 'Agent', 'Latest backup', 'Protection'].map((t) => h('th', {scope: 'col'}, t)),
          h('th', {scope: 'col'}, h('span', {class: 'sr-only'}, 'Actions')))),
        tbody)), empty));

  async function refresh() {
    try {
      instances = (await api.get('/instances')).instances;
    } catch (e) {
      alert.textContent = `Cannot load instances: ${e.message}`;
      return;
    }
    if (!alert.dataset.keep) alert.textContent = '';
    if (fleet) fleet.refresh();
    replace(tbody, instances.map(row));
    empty.hidden = instances.length > 0;
    empty.textContent = session.isAdmin ? 'No instances yet. Register one to start backing it up.' :
        'No instances are assigned to you. Ask an admin to assign some.';
  }

  function row(i) {
    const b = i.latest_backup;
    const actions = [
      iconButton('archive', `Back up ${i.name} now`, () => openCreateBackupDialog({instances, preselect: i.name,
        onCreated: (id) => { toast(`Backup #${id} of ${i.name} started.`); navigate(`/backups?instance=${encodeURIComponent(i.name)}`); }}),
        {title: 'Create backup', dataset: {action: 'backup'}}),
    ];
    if (session.isAdmin) {
      actions.push(iconButton('key', `Agent bundle for ${i.name}`, () => openBundleDialog(i), {title: 'Agent bundle', dataset: {action: 'bundle'}}));
      actions.push(iconButton('trash', `Remove instance ${i.name}`, () => remove(i), {class: 'danger-icon', title: 'Remove', dataset: {action: 'delete'}}));
    }
    return h('tr', {dataset: {instanceName: i.name}},
      h('td', {'data-label': 'Name'}, h('a', {href: `/instances/${encodeURIComponent(i.name)}`}, h('strong', null, i.name)),
        h('span', {class: 'sub mono'}, i.agent_url)),
      h('td', {'data-label': 'Agent'}, instanceStatusBadge(i),
        i.status !== 'running' && i.status_reason ? h('span', {class: 'error-text'}, i.status_reason) : null,
        i.agent_version ? h('span', {class: 'sub'}, `agent ${i.agent_version}`) : null),
      h('td', {'data-label': 'Latest backup'}, b ? [statusBadge(b.status), ' ', timeEl(b.created_at),
        b.status === 'completed' ? h('span', {class: 'sub'}, formatBytes(b.size_bytes)) : null,
        isBusy(b.status) ? h('span', {class: 'sub'}, `${formatBytes(b.progress_bytes || 0)} so far`) : null] :
        h('span', {class: 'muted'}, 'none yet')),
      h('td', {'data-label': 'Protection'}, protectionEl(i.protection)),
      h('td', {'data-label': 'Actions', class: 'actions'}, h('span', {class: 'wrap'}, actions)));
  }

  async function remove(i) {
    const ok = await confirmDialog({title: `Remove ${i.name}?`, danger: true, confirmLabel: 'Remove instance',
      message: [h('p', null, `The controller forgets ${i.name} and stops backing it up. The container itself is not touched.`),
        h('p', null, 'What happens to its existing backups is described in the API docs; download any you need first.')]});
    if (!ok) return;
    try {
      await api.del(`/instances/${i.id}`);
      toast(`Instance ${i.name} removed.`);
    } catch (e) {
      alert.dataset.keep = '1';
      alert.textContent = `Could not remove ${i.name}: ${e.message}`;
      setTimeout(() => { delete alert.dataset.keep; }, 10000);
    }
    refresh();
  }

  const poller = startPoller(refresh, () => (instances.some((i) => i.latest_backup && isBusy(i.latest_backup.status)) ? 2000 : 15000));
  poller.poke();
  return () => poller.stop();
}
