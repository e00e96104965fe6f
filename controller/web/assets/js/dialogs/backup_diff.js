// "Compare with…" on the archive browser: another completed backup of the same
// instance is picked, and GET /backups/{id}/diff?against=OTHER lists what this
// backup added, removed and changed relative to it (from the two indexes,
// nothing is decompressed). Each list is {path, type, size[, old_size]}; the
// server caps the lists, "total" counts (when given) say how many there are.
import {h, replace} from '../dom.js';
import {api} from '../api.js';
import {openDialog, busy} from '../dialog.js';
import {formatBytes, formatTime, plural} from '../format.js';

const SHOWN = 200;

function items(list) {
  if (Array.isArray(list)) return list;
  if (list && Array.isArray(list.entries)) return list.entries;
  if (list && Array.isArray(list.first)) return list.first;
  return [];
}

function total(diff, kind) {
  const list = diff[kind];
  if (list && !Array.isArray(list) && Number.isFinite(Number(list.count))) return Number(list.count);
  if (diff.counts && Number.isFinite(Number(diff.counts[kind]))) return Number(diff.counts[kind]);
  return items(list).length;
}

export async function openDiffDialog(backup) {
  let others = [];
  const alert = h('div', {class: 'alert error', role: 'alert'});
  try {
    others = (await api.get('/backups', {instance: backup.instance_name, status: 'completed', limit: 100})).backups
      .filter((b) => b.id !== backup.id);
  } catch (e) {
    alert.textContent = `Cannot list the other backups: ${e.message}`;
  }
  // Default: the newest backup older than this one, else the newest other.
  const older = others.filter((b) => new Date(b.created_at) < new Date(backup.created_at));
  const initial = older[0] || others[0];
  const select = h('select', {id: 'diff-against', name: 'against'},
    others.map((b) => h('option', {value: b.id, selected: initial && b.id === initial.id},
      `#${b.id} · ${formatTime(b.created_at)}${b.note ? ` · ${b.note}` : ''}`)));
  const compare = h('button', {type: 'submit', class: 'primary'}, 'Compare');
  const result = h('div', {'aria-live': 'polite', 'data-testid': 'diff-result'});
  if (!others.length && !alert.textContent) alert.textContent = `Backup #${backup.id} is the only completed backup of ${backup.instance_name}.`;
  compare.disabled = !others.length;

  const {close} = openDialog({
    title: `Compare backup #${backup.id}`, wide: true,
    body: [alert, h('div', {class: 'field'}, h('label', {for: 'diff-against'}, 'With backup'), select), result],
    footer: [h('button', {type: 'button', onclick: () => close()}, 'Close'), compare],
    onSubmit: () => busy(compare, run, 'Comparing…'),
  });

  async function run() {
    alert.textContent = '';
    const against = Number(select.value);
    let diff;
    try {
      diff = await api.get(`/backups/${backup.id}/diff`, {against});
    } catch (e) {
      result.replaceChildren();
      alert.textContent = `Cannot compare: ${e.message}`;
      return;
    }
    const n = {added: total(diff, 'added'), removed: total(diff, 'removed'), changed: total(diff, 'changed')};
    replace(result,
      h('p', {'data-testid': 'diff-summary'}, h('strong', null,
        `Since #${against}: ${n.added} added, ${n.removed} removed, ${n.changed} changed.`)),
      [['added', 'Added'], ['removed', 'Removed'], ['changed', 'Changed']].map(([kind, title]) => {
        const list = items(diff[kind]);
        if (!n[kind]) return null;
        return h('details', {class: 'change-list', open: true, dataset: {kind}},
          h('summary', null, `${title} (${n[kind]})`),
          h('ul', {class: 'mono small'}, list.slice(0, SHOWN).map((c) => h('li', null, `/${String(c.path).replace(/^\/+/, '')}`,
            c.type === 'dir' ? '/' : '',
            h('span', {class: 'muted'}, kind === 'changed' && c.old_size !== undefined && c.type === 'file'
              ? ` ${formatBytes(c.old_size)} → ${formatBytes(c.size)}` : c.type === 'file' ? ` ${formatBytes(c.size)}` : ''))),
            n[kind] > Math.min(list.length, SHOWN) ? h('li', {class: 'muted'}, `… and ${plural(n[kind] - Math.min(list.length, SHOWN), 'more path', 'more paths')}`) : null));
      }));
  }
  if (others.length) select.focus();
}
