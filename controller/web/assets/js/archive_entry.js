// Paths and entries inside a backup's archive, as GET /backups/{id}/files
// returns them (docs/api.md). Inside the dashboard a path is the archive name:
// no leading or trailing "/", "" for the archive's top ("home/claworc/notes.txt").
// These helpers only format and join; the server validates every path again.

// "/home/claworc/" -> "home/claworc"; "/" and "" -> "".
export function normalizePath(p) {
  return String(p || '').replace(/^\/+/, '').replace(/\/+$/, '');
}

export function joinPath(dir, name) {
  const d = normalizePath(dir);
  return d ? `${d}/${name}` : String(name);
}

// "home/claworc/x" -> [{name: "home", path: "home"}, {name: "claworc", path: "home/claworc"}, ...]
export function pathSegments(p) {
  const out = [];
  let at = '';
  for (const name of normalizePath(p).split('/').filter(Boolean)) {
    at = at ? `${at}/${name}` : name;
    out.push({name, path: at});
  }
  return out;
}

export function baseName(p) {
  const n = normalizePath(p);
  return n.slice(n.lastIndexOf('/') + 1);
}

// The full archive path of a listed entry: search results carry their own
// "path"; a folder listing's entries are relative to the listed folder.
export function entryPath(listedDir, entry) {
  return entry.path !== undefined && entry.path !== null ? normalizePath(entry.path) : joinPath(listedDir, entry.name);
}

// The words the dashboard shows for each archive entry type, with the icon.
const TYPES = {
  dir: {label: 'Folder', icon: 'folder'},
  file: {label: 'File', icon: 'file'},
  symlink: {label: 'Symbolic link', icon: 'symlink'},
  hardlink: {label: 'Hard link', icon: 'symlink'},
  char: {label: 'Character device', icon: 'device'},
  block: {label: 'Block device', icon: 'device'},
  fifo: {label: 'Named pipe', icon: 'fifo'},
};

export function entryType(type) {
  return TYPES[type] || {label: type || 'Entry', icon: 'file'};
}

// Permission bits as `ls -l` shows them after the type letter: "rwxr-xr-x".
export function modeString(mode) {
  if (mode === null || mode === undefined || Number.isNaN(Number(mode))) return '';
  const m = Number(mode);
  const bit = (mask, ch) => (m & mask ? ch : '-');
  let s = '';
  for (const shift of [6, 3, 0]) s += bit(4 << shift, 'r') + bit(2 << shift, 'w') + bit(1 << shift, 'x');
  const special = (i, flag, on, off) => {
    if (!(m & flag)) return;
    s = s.slice(0, i) + (s[i] === 'x' ? on : off) + s.slice(i + 1);
  };
  special(2, 0o4000, 's', 'S');
  special(5, 0o2000, 's', 'S');
  special(8, 0o1000, 't', 'T');
  return s;
}

// An entry's mtime as an ISO string for timeEl(): the API gives Unix seconds
// (a number); an ISO string is passed through.
export function mtimeIso(mtime) {
  if (mtime === null || mtime === undefined || mtime === '') return '';
  if (typeof mtime === 'number') return new Date(mtime * 1000).toISOString();
  return String(mtime);
}

// What the search box sends as q: a pattern with no glob characters matches
// names containing it ("main" -> "*main*"); a glob is sent as typed.
export function searchGlob(text) {
  const t = String(text || '').trim();
  if (!t) return '';
  return /[*?[\]]/.test(t) ? t : `*${t}*`;
}
