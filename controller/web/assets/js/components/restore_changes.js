// What a restore changes on its target, from the restore record's "changes"
// (docs/api.md): {"create", "replace", "unchanged"}, each {"count", "first": [paths]}
// for a dry run (the preview) and with counts for a real restore.
import {h} from '../dom.js';
import {plural} from '../format.js';

// The count of one list; a bare number is accepted too.
export function changeCount(changes, kind) {
  const c = changes ? changes[kind] : null;
  if (c === null || c === undefined) return 0;
  return typeof c === 'number' ? c : Number(c.count) || 0;
}

function firstPaths(changes, kind) {
  const c = changes ? changes[kind] : null;
  return c && Array.isArray(c.first) ? c.first : [];
}

// "12 files will be replaced, 3 created, 40 unchanged" plus, per list, its
// first paths (the server sends only the first few; the rest is counted).
export function previewEl(changes) {
  const n = {replace: changeCount(changes, 'replace'), create: changeCount(changes, 'create'),
             unchanged: changeCount(changes, 'unchanged')};
  const lists = [['replace', 'Will be replaced'], ['create', 'Will be created'], ['unchanged', 'Unchanged']].map(([kind, title]) => {
    const first = firstPaths(changes, kind);
    if (!n[kind]) return null;
    return h('details', {class: 'change-list', open: kind !== 'unchanged' ? true : null, dataset: {kind}},
      h('summary', null, `${title} (${n[kind]})`),
      h('ul', {class: 'mono small'}, first.map((p) => h('li', null, `/${String(p).replace(/^\/+/, '')}`)),
        n[kind] > first.length ? h('li', {class: 'muted'}, `… and ${n[kind] - first.length} more`) : null));
  });
  return h('div', {class: 'preview restore-preview', 'data-testid': 'restore-preview', dataset: {replace: n.replace, create: n.create, unchanged: n.unchanged}},
    h('p', {'data-testid': 'restore-preview-summary'},
      h('strong', null, `${plural(n.replace, 'file')} will be replaced, ${n.create} created, ${n.unchanged} unchanged.`)),
    n.replace + n.create === 0 ? h('p', {class: 'muted'}, 'The target already matches the backup here; a restore would change nothing.') : null,
    lists);
}

// After a real restore: "3 created, 12 already there and rewritten", or null
// without counts. A real restore's "replace" counts every entry that existed
// and was written again, identical ones included (the preview's "replace"
// plus its "unchanged").
export function outcomeText(changes) {
  if (!changes) return null;
  return `${changeCount(changes, 'create')} created, ${changeCount(changes, 'replace')} already there and rewritten`;
}
