// Instance detail (/instances/NAME): Overview tab with the agent's state and a
// Backups card (latest backup, quick backup, link to this instance's list);
// admins also get a Settings tab (edit, agent bundle, remove).
import {h, icon, replace, toast} from '../dom.js';
import {api} from '../api.js';
import {session} from '../session.js';
import {navigate} from '../router.js';
import {confirmDialog, busy} from '../dialog.js';
import {pageHead} from '../layout.js';
import {formatBytes, formatTime, relativeTime, timeEl, statusBadge, instanceStatusBadge, isBusy, pathsEl, excludesEl,
        databasesText, warningsEl} from '../format.js';
import {startPoller} from '../poller.js';
import {openInstanceDialog, openBundleDialog} from '../dialogs/instance.js';
import {openCreateBackupDialog} from '../dialogs/create_backup.js';
import {protectionFacts} from '../trust.js';

export function instanceDetailPage({main, params}) {
  const name = params[0];
  let instance = null;
  let tab = 'overview';
  let lastSig = '';
  const alert = h('div', {class: 'alert error', role: 'alert'});
  const content = h('div');
  const head = h('div');
  main.append(head, alert, content);
  replace(head, pageHead(name, [], h('a', {href: '/instances'}, 'Instances')));

  async function refresh() {
    try {
      const all = (await api.get('/instances')).instances;
      instance = all.find((i) => i.name === name) || null;
    } catch (e) {
      alert.textContent = `Cannot load ${name}: ${e.message}`;
      return;
    }
    alert.textContent = '';
    const sig = JSON.stringify(instance);
    if (sig === lastSig) return;  // unchanged: keep the DOM (and focus) as is
    lastSig = sig;
    if (!instance) {
      replace(content, h('div', {class: 'empty'}, `No instance named “${name}” that you can see. `, h('a', {href: '/instances'}, 'All instances')));
      return;
    }
    render();
  }

  function tabs() {
    const items = [['overview', 'Overview']];
    if (session.isAdmin) items.push(['settings', 'Settings']);
    const list = h('div', {class: 'tabs', role: 'tablist', 'aria-label': `${name} sections`});
    for (const [key, label] of items) {
      const btn = h('button', {type: 'button', role: 'tab', id: `tab-${key}`, 'aria-selected': String(tab === key),
                               'aria-controls': 'tab-panel', tabindex: tab === key ? '0' : '-1',
                               onclick: () => { tab = key; lastSig = ''; render(); document.getElementById(`tab-${key}`)?.focus(); }}, label);
      list.append(btn);
    }
    list.addEventListener('keydown', (e) => {
      if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
      const idx = items.findIndex(([k]) => k === tab);
      tab = items[(idx + (e.key === 'ArrowRight' ? 1 : items.length - 1)) % items.length][0];
      render();
      document.getElementById(`tab-${tab}`)?.focus();
    });
    return list;
  }

  function render() {
    const i = instance;
    replace(head, pageHead(h('span', {class: 'inline'}, i.name, ' ', instanceStatusBadge(i)), [
      h('button', {type: 'button', class: 'primary', onclick: quickBackup, 'data-testid': 'quick-backup-header'}, icon('archive'), 'Back up now')],
      h('a', {href: '/instances'}, 'Instances')));
    const panel = h('div', {id: 'tab-panel', role: 'tabpanel', 'aria-labelledby': `tab-${tab}`});
    if (tab === 'overview') panel.append(overview(i));
    else panel.append(settings(i));
    replace(content, tabs(), panel);
  }

  function overview(i) {
    const b = i.latest_backup;
    const quick = h('button', {type: 'button', class: 'primary', 'data-testid': 'quick-backup'}, icon('bolt'), 'Quick backup');
    quick.addEventListener('click', () => busy(quick, async () => {
      try {
        const res = await api.post(`/instances/${i.id}/backups`, {paths: ['HOME'], note: 'Quick backup'});
        toast(`Backup #${res.id} of ${i.name} started.`);
        lastChange = Date.now();
        await refresh();
        poller.reschedule();
      } catch (e) {
        alert.textContent = `Could not start a backup of ${i.name}: ${e.message}`;
      }
    }, 'Starting…'));
    const backupsCard = h('section', {class: 'card', 'aria-labelledby': 'card-backups', 'data-testid': 'backups-card'},
      h('div', {class: 'card-head'}, h('h2', {id: 'card-backups'}, 'Backups')),
      b ? h('dl', {class: 'facts'},
        h('dt', null, 'Latest'), h('dd', {'data-testid': 'latest-backup-status'}, statusBadge(b.status)),
        h('dt', null, 'Created'), h('dd', null, timeEl(b.created_at), h('span', {class: 'muted'}, ` (${relativeTime(b.created_at)})`)),
        b.status === 'completed' ? [h('dt', null, 'Size'), h('dd', {'data-testid': 'latest-backup-size'}, formatBytes(b.size_bytes))] : null,
        isBusy(b.status) ? [h('dt', null, 'Progress'), h('dd', null, `${formatBytes(b.progress_bytes || 0)} so far`)] : null,
        b.status === 'failed' ? [h('dt', null, 'Reason'), h('dd', {class: 'error-text'}, b.error_message || 'unknown')] : null,
        h('dt', null, 'Folders'), h('dd', null, pathsEl(b.paths), excludesEl(b)),
        b.status === 'completed' ? [h('dt', null, 'Databases'), h('dd', null, databasesText(b))] : null,
        b.warnings && b.warnings.length ? [h('dt', null, 'Warnings'), h('dd', null, warningsEl(b.warnings))] : null,
        b.note ? [h('dt', null, 'Note'), h('dd', null, b.note)] : null) :
        h('p', {class: 'muted'}, 'No backups of this instance yet.'),
      h('div', {class: 'card-actions'}, quick,
        b && b.status === 'completed' ? h('a', {class: 'button', href: `/backups/${b.id}/files`, 'data-testid': 'browse-latest-link'},
          icon('browse'), 'Browse files') : null,
        h('a', {href: `/backups?instance=${encodeURIComponent(i.name)}`, 'data-testid': 'all-backups-link'}, 'View all backups →')),
      h('p', {class: 'small muted'}, 'Quick backup saves HOME. Use “Back up now” to choose folders.'));
    const agentCard = h('section', {class: 'card', 'aria-labelledby': 'card-agent'},
      h('div', {class: 'card-head'}, h('h2', {id: 'card-agent'}, 'Agent')),
      h('dl', {class: 'facts'},
        h('dt', null, 'Status'), h('dd', null, instanceStatusBadge(i)),
        i.status_reason ? [h('dt', null, 'Reason'), h('dd', null, i.status_reason)] : null,
        h('dt', null, 'URL'), h('dd', {class: 'mono'}, i.agent_url),
        h('dt', null, 'Version'), h('dd', null, i.agent_version || '—'),
        h('dt', null, 'Checked'), h('dd', null, i.checked_at ? formatTime(i.checked_at) : 'not yet'),
        h('dt', null, 'Registered'), h('dd', null, formatTime(i.created_at))));
    const protectionCard = h('section', {class: 'card', 'aria-labelledby': 'card-protection', 'data-testid': 'protection-card'},
      h('div', {class: 'card-head'}, h('h2', {id: 'card-protection'}, 'Protection')),
      h('dl', {class: 'facts'}, protectionFacts(i.protection)));
    return h('div', {class: 'cards'}, backupsCard, protectionCard, agentCard);
  }

  function settings(i) {
    return h('section', {class: 'card'},
      h('h2', null, 'Settings'),
      h('div', {class: 'card-actions'},
        h('button', {type: 'button', onclick: () => openInstanceDialog({instance: i, onSaved: (s) => {
          toast('Instance saved.');
          if (s.name !== name) navigate(`/instances/${encodeURIComponent(s.name)}`, {replace: true}); else refresh();
        }})}, icon('edit'), 'Edit name or URL'),
        h('button', {type: 'button', onclick: () => openBundleDialog(i)}, icon('key'), 'Agent bundle'),
        h('button', {type: 'button', class: 'danger', onclick: remove}, icon('trash'), 'Remove instance')));
  }

  function quickBackup() {
    openCreateBackupDialog({instances: [instance], preselect: instance.name, onCreated: async (id) => {
      toast(`Backup #${id} of ${instance.name} started.`);
      lastChange = Date.now();
      await refresh();
      poller.reschedule();
    }});
  }

  async function remove() {
    const ok = await confirmDialog({title: `Remove ${instance.name}?`, danger: true, confirmLabel: 'Remove instance',
      message: h('p', null, `The controller forgets ${instance.name} and stops backing it up. The container itself is not touched.`)});
    if (!ok) return;
    try {
      await api.del(`/instances/${instance.id}`);
      toast(`Instance ${instance.name} removed.`);
      navigate('/instances');
    } catch (e) {
      alert.textContent = `Could not remove ${instance.name}: ${e.message}`;
    }
  }

  let lastChange = 0;
  const poller = startPoller(refresh, () =>
    (instance && instance.latest_backup && isBusy(instance.latest_backup.status)) || Date.now() - lastChange < 5000 ? 1000 : 15000);
  poller.poke();
  return () => poller.stop();
}
