// Display helpers: sizes, times, status badges.
import {h} from './dom.js';

export function formatBytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = Number(n);
  let i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

const dateFmt = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});
const thisYearFmt = new Intl.DateTimeFormat(undefined, {month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit'});

// Local time, minutes precision; the year only when it is not this year.
export function formatTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return (d.getFullYear() === new Date().getFullYear() ? thisYearFmt : dateFmt).format(d);
}

export function relativeTime(iso, now = Date.now()) {
  if (!iso) return '';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return '';
  const s = Math.round((t - now) / 1000);
  const abs = Math.abs(s);
  const rtf = new Intl.RelativeTimeFormat(undefined, {numeric: 'auto'});
  if (abs < 45) return rtf.format(s, 'second');
  if (abs < 2700) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 79200) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}

// <time> with the absolute local time and, on hover, the UTC string.
export function timeEl(iso, {relative = false} = {}) {
  if (!iso) return h('span', {class: 'muted'}, '—');
  return h('time', {datetime: iso, title: iso}, relative ? relativeTime(iso) : formatTime(iso));
}

export function formatDuration(fromIso, toIso) {
  if (!fromIso || !toIso) return '';
  const s = Math.max(0, Math.round((new Date(toIso) - new Date(fromIso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

// Status badge; queued/running get a spinner.
export function statusBadge(status, label) {
  const busy = status === 'running' || status === 'queued';
  const cls = status === 'running' && label === undefined ? 'running' : status;
  return h('span', {class: `badge ${cls}`, dataset: {status}},
    busy ? h('span', {class: 'spinner', 'aria-hidden': 'true'}) : h('span', {class: 'dot', 'aria-hidden': 'true'}),
    label || status);
}

export function instanceStatusBadge(instance) {
  const status = instance.status || 'unknown';
  return h('span', {class: `badge ${status === 'running' ? 'running-instance' : status}`,
                    title: instance.status_reason || status, dataset: {status}},
    h('span', {class: 'dot', 'aria-hidden': 'true'}), status === 'running' ? 'running' : status === 'unreachable' ? 'not running' : status);
}

export function isBusy(status) { return status === 'queued' || status === 'running'; }

// The folders list as tags, showing aliases for the well-known paths.
export function pathsEl(paths) {
  const names = {'/home/claworc': 'HOME', '/home/linuxbrew/.linuxbrew': 'Homebrew', '/': '/ (full)'};
  return h('span', {class: 'paths'}, (paths || []).map((p) => h('span', {class: 'tag', title: p}, names[p] || p)));
}

export function plural(n, one, many = `${one}s`) { return `${n} ${n === 1 ? one : many}`; }

// What a backup or schedule leaves out: its presets and globs as tags, or null
// when nothing is excluded.
export function excludesEl(record) {
  const presets = record.exclude_presets || [];
  const globs = record.excludes || [];
  if (!presets.length && !globs.length) return null;
  return h('span', {class: 'paths excludes', 'data-testid': 'backup-excludes'}, h('span', {class: 'sub'}, 'leaving out '),
    presets.map((p) => h('span', {class: 'tag exclude', title: `preset: ${p} (docs/excludes.md)`, dataset: {preset: p}}, p)),
    globs.map((g) => h('span', {class: 'tag exclude mono', title: g}, g)));
}

// "3 databases captured" plus the raw count when some were not.
export function databasesText(b) {
  const captured = b.databases_captured || 0;
  const raw = b.databases_raw || 0;
  return plural(captured, 'database') + ' captured' + (raw ? `, ${raw} not (see warnings)` : '');
}

// A warning badge that opens the full list of warnings; null when none.
export function warningsEl(warnings) {
  if (!warnings || !warnings.length) return null;
  return h('details', {class: 'warnings', 'data-testid': 'backup-warnings'},
    h('summary', null, h('span', {class: 'badge warn'}, plural(warnings.length, 'warning'))),
    h('ul', null, warnings.map((w) => h('li', null, w))));
}
