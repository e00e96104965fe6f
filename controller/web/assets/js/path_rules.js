// Backup path rules, mirroring shared/path_rules.h so the dialogs can flag a bad
// path as it is typed. The server checks again; its answer is final.

export const HOME_PATH = '/home/claworc';
export const HOMEBREW_PATH = '/home/linuxbrew/.linuxbrew';
export const EXCLUDED_SYSTEM_DIRS = ['/proc', '/sys', '/dev', '/tmp', '/run'];
export const MAX_BACKUP_PATHS = 64;
export const MAX_PATH_BYTES = 4096;

export const ALIASES = [
  {alias: 'HOME', path: HOME_PATH, label: 'HOME', hint: "The agent's home directory (/home/claworc)"},
  {alias: 'Homebrew', path: HOMEBREW_PATH, label: 'Homebrew', hint: 'Homebrew installation and packages (/home/linuxbrew/.linuxbrew)'},
  {alias: '/', path: '/', label: '/ (full filesystem)',
   hint: 'Everything in the container. System directories /proc, /sys, /dev, /tmp and /run are always excluded.'},
];

function isUnder(path, dir) {
  if (dir === '/') return true;
  return path === dir || path.startsWith(`${dir}/`);
}

// {path} with the normalized form, or {error} with the reason, as the server words it.
export function normalizeAbsolutePath(path) {
  if (!path) return {error: 'path is empty'};
  if (path.includes('\0')) return {error: `path contains a NUL byte: ${path}`};
  if (new TextEncoder().encode(path).length > MAX_PATH_BYTES) return {error: 'path is longer than 4096 bytes'};
  if (!path.startsWith('/')) return {error: `path must be absolute: ${path}`};
  const parts = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return {error: `path must not contain '..': ${path}`};
    parts.push(part);
  }
  return {path: `/${parts.join('/')}`};
}

export function isExcludedSystemPath(path) {
  return EXCLUDED_SYSTEM_DIRS.some((dir) => isUnder(path, dir));
}

// Validates one entry (alias or absolute path): '' when fine, else the reason.
export function validateBackupPath(entry) {
  const alias = ALIASES.find((a) => a.alias === entry);
  const result = normalizeAbsolutePath(alias ? alias.path : entry);
  if (result.error) return result.error;
  if (isExcludedSystemPath(result.path)) return `path is inside an excluded system directory: ${result.path}`;
  return '';
}
