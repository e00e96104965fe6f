// Archive browser (/backups/ID/files?path=DIR&q=TEXT&offset=N): one folder of a
// completed backup at a time (GET /backups/{id}/files, sorted by name, paged),
// breadcrumbs back up the tree, a search over the whole backup (q=GLOB), a
// download link per file (files/content) and per folder (files/archive, a
// .tar.zst), and checkboxes that collect paths for a partial restore with a
// preview (dialogs/restore.js). The URL holds folder, search and page, so
// Back/Forward and deep links work; the selection lives per backup in this
// module and survives moving between folders. "Compare with…" opens the diff
// against another backup of the instance (dialogs/backup_diff.js).
import {h, icon, iconButton, replace} from '../dom.js';
import {api, apiUrl} from '../api.js';
import {session} from '../session.js';
import {navigate} from '../router.js';
import {pageHead} from '../layout.js';
import {formatBytes, timeEl, plural, statusBadge} from '../format.js';
import {normalizePath, pathSegments, baseName, entryPath, entryType, modeString, mtimeIso, searchGlob} from '../archive_entry.js';
import {openRestoreDialog} from '../dialogs/restore.js';
import {openDiffDialog} from '../dialogs/backup_diff.js';

const PAGE = 100;
const selections = new Map();  // backup id -> Map(path -> entry type), kept across folder changes
let focusListingNext = false;  // set by in-page links so focus lands on the new listing

export function backupFilesPage({main, params, query}) {
  const id = Number(params[0]);
  const dir = normalizePath(query.get('path'));
  const q = (query.get('q') || '').trim();
  const offset = Math.max(0, Number.parseInt(query.get('offset') || '0', 10) || 0);
  if (!selections.has(id)) selections.set(id, new Map());
  const selected = selections.get(id);
  let backup = null;
  let listing = null;
  let alive = true;

  const url = (over = {}) => {
    const u = new URLSearchParams();
    const v = {path: dir, q, offset: 0, ...over};
    if (v.path) u.set('path', v.path);
    if (v.q) u.set('q', v.q);
    if (v.offset) u.set('offset', String(v.offset));
    const s = u.toString();
    return `/backups/${id}/files${s ? `?${s}` : ''}`;
  };
  // An in-page link: moving with it puts focus on the listing it opens.
  const link = (href, label, attrs = {}) => h('a', {href, ...attrs, onclick: () => { focusListingNext = true; }}, label);

  const head = h('div');
  const alert = h('div', {class: 'alert error', role: 'alert', 'data-testid': 'browse-error'});
  const crumbs = h('nav', {class: 'crumbs', 'aria-label': 'Folder path', 'data-testid': 'browse-breadcrumbs'});
  const searchInput = h('input', {type: 'search', id: 'browse-q', name: 'q', value: q, placeholder: 'Name or glob, e.g. *.json',
                                  spellcheck: 'false', autocapitalize: 'none'});
  const searchForm = h('form', {class: 'browse-search', role: 'search', 'aria-label': 'Search this backup'},
    h('label', {for: 'browse-q', class: 'sr-only'}, 'Search this backup'), searchInput,
    h('button', {type: 'submit'}, icon('search'), 'Search'),
    q ? link(url({q: '', path: dir}), 'Clear search', {class: 'button'}) : null);
  const selectionBar = h('div', {class: 'selection-bar', 'aria-live': 'polite', 'data-testid': 'browse-selection'});
  const listingHeading = h('h2', {class: 'listing-heading', tabindex: '-1', 'data-testid': 'browse-heading'});
  const tbody = h('tbody');
  const selectAll = h('input', {type: 'checkbox', 'aria-label': 'Select every entry on this page', id: 'browse-select-all'});
  const table = h('table', {class: 'stack browse', 'aria-labelledby': 'browse-heading-id'},
    h('thead', null, h('tr', null,
      session.canRestore ? h('th', {scope: 'col', class: 'pick'}, selectAll) : null,
      h('th', {scope: 'col'}, 'Name'), h('th', {scope: 'col', class: 'num'}, 'Size'), h('th', {scope: 'col'}, 'Modified'),
      h('th', {scope: 'col'}, 'Permissions'), h('th', {scope: 'col', class: 'num'}, h('span', {class: 'sr-only'}, 'Actions')))),
    tbody);
  listingHeading.id = 'browse-heading-id';
  const empty = h('div', {class: 'empty', hidden: true});
  const pagerText = h('span', {'data-testid': 'browse-pager'});
  const pager = h('div', {class: 'pager'}, pagerText, h('div', {class: 'inline'}));
  const body = h('div', {hidden: true},
    h('div', {class: 'browse-bar'}, crumbs, searchForm),
    selectionBar,
    h('div', {class: 'panel'}, h('div', {class: 'panel-body listing-head'}, listingHeading),
      h('div', {class: 'table-wrap'}, table), empty, pager));
  main.append(head, alert, body);
  replace(head, pageHead(`Backup #${id}`, [], link('/backups', 'Backups')));

  searchForm.addEventListener('submit', (e) => {
    e.preventDefault();
    focusListingNext = true;
    navigate(url({q: searchInput.value.trim(), path: dir}));
  });
  selectAll.addEventListener('change', () => {
    for (const box of tbody.querySelectorAll('input[type="checkbox"][data-path]')) {
      box.checked = selectAll.checked;
      setSelected(box.dataset.path, box.dataset.type, box.checked);
    }
    renderSelection();
  });

  async function load() {
    const loading = h('p', {class: 'muted', role: 'status'}, h('span', {class: 'spinner', 'aria-hidden': 'true'}), ' Loading…');
    main.append(loading);
    // A backup made before browsing existed gets its index by one scan of the archive.
    const slow = setTimeout(() => loading.append(' Reading the archive once to index it; this can take a while for a large backup.'), 1500);
    try {
      backup = await api.get(`/backups/${id}`);
    } catch (e) {
      clearTimeout(slow);
      loading.remove();
      return fail(e.status === 404 || e.status === 403 ? `No backup #${id} that you can see.` : `Cannot load backup #${id}: ${e.message}`,
        [' ', h('a', {href: '/backups'}, 'All backups')]);
    }
    renderHead();
    if (backup.status !== 'completed') {
      clearTimeout(slow);
      loading.remove();
      return fail(`Backup #${id} is ${backup.status}; only completed backups can be browsed.`);
    }
    try {
      listing = await api.get(`/backups/${id}/files`, {path: dir, q: searchGlob(q), limit: PAGE, offset});
    } catch (e) {
      clearTimeout(slow);
      loading.remove();
      if (e.status === 404 && !q) {
        return fail(`There is no folder “${dir}” in backup #${id}.`, [' ', link(url({path: '', offset: 0}), 'Go to the top of the backup')]);
      }
      if (e.status === 403 || e.status === 404) return fail(`You cannot browse backup #${id}.`);
      return fail(`Cannot list the files: ${e.message}`, [' ', h('button', {type: 'button', class: 'link', onclick: retry}, 'Try again')]);
    }
    clearTimeout(slow);
    loading.remove();
    if (!alive) return;
    body.hidden = false;
    renderListing();
    if (focusListingNext) { focusListingNext = false; listingHeading.focus(); }
  }

  function fail(message, extra = []) {
    replace(alert, message, extra);
    body.hidden = true;
  }

  function retry() { alert.textContent = ''; load(); }

  function renderHead() {
    const b = backup;
    const whole = h('a', {class: 'button', href: apiUrl(`/backups/${b.id}/download`), download: b.file_name || '',
                          'data-testid': 'browse-download-backup'}, icon('download'), 'Download backup');
    const folder = dir && !q ? h('a', {class: 'button', href: apiUrl(`/backups/${b.id}/files/archive`, {path: dir}), download: '',
                                 'data-testid': 'browse-download-folder'}, icon('download'), `Download “${baseName(dir)}” (.tar.zst)`) : null;
    replace(head, pageHead(h('span', {class: 'inline'}, `Backup #${b.id} of ${b.instance_name}`, ' ', statusBadge(b.status)),
      b.status === 'completed' ? [folder, whole,
        h('button', {type: 'button', onclick: () => openDiffDialog(b), 'data-testid': 'browse-compare'}, 'Compare with…')] : [],
      [link('/backups', 'Backups'), ' / ', link(`/backups?instance=${encodeURIComponent(b.instance_name)}`, b.instance_name)]),
    h('p', {class: 'muted small'}, 'Made ', timeEl(b.created_at), b.note ? ` · ${b.note}` : '',
      b.size_bytes ? ` · ${formatBytes(b.size_bytes)}` : ''));
  }

  function renderListing() {
    // Breadcrumbs: the backup's top, then each folder; the current one is not a link.
    // A search covers the whole backup, so its trail is just Top › search.
    const segs = q ? [] : pathSegments(dir);
    const items = [segs.length || q ? link(url({path: '', q: ''}), 'Top', {'data-path': ''})
                                    : h('span', {'aria-current': 'page'}, 'Top')];
    segs.forEach((s, i) => {
      const last = i === segs.length - 1 && !q;
      items.push(h('span', {class: 'sep', 'aria-hidden': 'true'}, '/'),
        last ? h('span', {'aria-current': 'page'}, s.name) : link(url({path: s.path, q: ''}), s.name, {'data-path': s.path}));
    });
    if (q) items.push(h('span', {class: 'sep', 'aria-hidden': 'true'}, '›'), h('span', {'aria-current': 'page'}, `search “${q}”`));
    replace(crumbs, h('ol', null, items.map((el) => h('li', null, el))));

    const entries = listing.entries || [];
    replace(listingHeading, q ? `Search results for “${q}”` : dir ? `/${dir}` : 'Top of the backup',
      h('span', {class: 'muted small'}, ` · ${plural(listing.total || 0, 'entry', 'entries')}`));
    tbody.replaceChildren(...entries.map(entryRow));
    empty.hidden = entries.length > 0;
    empty.textContent = q ? `Nothing in this backup matches “${q}”.` : 'This folder is empty.';
    const total = listing.total || 0;
    const start = listing.offset || 0;
    pagerText.textContent = total ? `${start + 1}–${start + entries.length} of ${plural(total, 'entry', 'entries')}` : '';
    const prev = start > 0 ? link(url({offset: Math.max(0, start - PAGE)}), 'Previous', {class: 'button', 'data-testid': 'browse-prev'})
                           : h('button', {type: 'button', disabled: true}, 'Previous');
    const next = start + entries.length < total ? link(url({offset: start + PAGE}), 'Next', {class: 'button', 'data-testid': 'browse-next'})
                                                : h('button', {type: 'button', disabled: true}, 'Next');
    replace(pager.lastChild, prev, next);
    pager.hidden = total <= PAGE && start === 0;
    syncSelectAll();
    renderSelection();
  }

  function entryRow(e) {
    const p = entryPath(dir, e);
    const t = entryType(e.type);
    const typeIcon = h('span', {class: `entry-icon ${e.type}`, title: t.label}, icon(t.icon), h('span', {class: 'sr-only'}, `${t.label}: `));
    let name;
    if (e.type === 'dir') name = link(url({path: p, q: '', offset: 0}), q ? p : e.name, {dataset: {entry: 'dir'}});
    else if (e.type === 'file') {
      name = h('a', {href: contentUrl(p), download: baseName(p), dataset: {entry: 'file'}, title: `Download ${baseName(p)}`}, q ? p : e.name);
    } else name = h('span', null, q ? p : e.name);
    const target = e.target ? h('span', {class: 'sub mono'}, e.type === 'hardlink' ? 'same file as ' : '→ ', e.target) : null;
    const actions = [];
    if (e.type === 'file') {
      actions.push(h('a', {class: 'button icon', href: contentUrl(p), download: baseName(p), 'aria-label': `Download ${p}`,
                           title: 'Download file', dataset: {action: 'download'}}, icon('download')));
    } else if (e.type === 'dir') {
      actions.push(h('a', {class: 'button icon', href: apiUrl(`/backups/${id}/files/archive`, {path: p}), download: '',
                           'aria-label': `Download folder ${p} as .tar.zst`, title: 'Download folder (.tar.zst)',
                           dataset: {action: 'download-folder'}}, icon('archive')));
    }
    if (q && e.type !== 'dir') {
      const parent = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
      actions.push(h('a', {class: 'button icon', href: url({path: parent, q: '', offset: 0}), 'aria-label': `Open the folder of ${p}`,
                           title: 'Open its folder', onclick: () => { focusListingNext = true; }}, icon('folder')));
    }
    const cells = [];
    if (session.canRestore) {
      const box = h('input', {type: 'checkbox', 'aria-label': `Select ${p}`, checked: selected.has(p), dataset: {path: p, type: e.type}});
      box.addEventListener('change', () => { setSelected(p, e.type, box.checked); syncSelectAll(); renderSelection(); });
      cells.push(h('td', {class: 'pick', 'data-label': 'Select'}, box));
    }
    cells.push(
      h('td', {'data-label': 'Name', class: 'name'}, h('span', {class: 'inline'}, typeIcon, name), target),
      h('td', {'data-label': 'Size', class: 'num'}, e.type === 'file' ? formatBytes(e.size) : h('span', {class: 'muted'}, '—')),
      h('td', {'data-label': 'Modified'}, timeEl(mtimeIso(e.mtime))),
      h('td', {'data-label': 'Permissions', class: 'mono small'}, modeString(e.mode)),
      h('td', {'data-label': 'Actions', class: 'actions'}, h('span', {class: 'wrap'}, actions)));
    return h('tr', {dataset: {path: p, type: e.type}}, cells);
  }

  function contentUrl(p) { return apiUrl(`/backups/${id}/files/content`, {path: p}); }

  function setSelected(p, type, on) {
    if (on) selected.set(p, type); else selected.delete(p);
  }

  function syncSelectAll() {
    const boxes = [...tbody.querySelectorAll('input[type="checkbox"][data-path]')];
    const n = boxes.filter((b) => b.checked).length;
    selectAll.checked = boxes.length > 0 && n === boxes.length;
    selectAll.indeterminate = n > 0 && n < boxes.length;
  }

  function renderSelection() {
    if (!session.canRestore) {
      replace(selectionBar, h('p', {class: 'small muted'}, 'Restoring parts of a backup needs the "Can create instances" permission.'));
      return;
    }
    if (!selected.size) {
      replace(selectionBar, h('p', {class: 'small muted'}, 'Tick files or folders to restore only those.'));
      return;
    }
    const paths = [...selected.keys()].sort();
    const restoreBtn = h('button', {type: 'button', class: 'primary', 'data-testid': 'restore-selected',
                                    onclick: () => openRestoreDialog(backup, {paths})}, icon('restore'),
      `Restore ${plural(paths.length, 'selected path')}…`);
    const clear = h('button', {type: 'button', onclick: () => { selected.clear(); tbody.querySelectorAll('input[data-path]').forEach((b) => { b.checked = false; }); syncSelectAll(); renderSelection(); }}, 'Clear selection');
    replace(selectionBar,
      h('div', {class: 'inline wrap-row'}, h('strong', null, `${plural(paths.length, 'path')} selected`), restoreBtn, clear),
      h('ul', {class: 'paths selected-paths'}, paths.slice(0, 50).map((p) => h('li', {class: 'tag', title: p}, `/${p}${selected.get(p) === 'dir' ? '/' : ''}`,
        iconButton('close', `Unselect ${p}`, () => {
          selected.delete(p);
          const box = tbody.querySelector(`input[data-path="${CSS.escape(p)}"]`);
          if (box) box.checked = false;
          syncSelectAll();
          renderSelection();
          selectionBar.querySelector('button')?.focus();
        }, {class: 'tiny'}))),
        paths.length > 50 ? h('li', {class: 'muted'}, `… and ${paths.length - 50} more`) : null));
  }

  load();
  return () => { alive = false; };
}
