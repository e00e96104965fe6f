// Audit log (admins): GET /audit filtered by actor, action and time range.
import {h, replace} from '../dom.js';
import {api} from '../api.js';
import {setQuery} from '../router.js';
import {pageHead} from '../layout.js';
import {timeEl, plural} from '../format.js';

const PAGE = 100;

// "2026-11-25T10:00" (local, from datetime-local) -> RFC 3339 UTC.
function toUtc(local) {
  if (!local) return '';
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function auditPage({main, query}) {
  const state = {offset: 0};
  const actor = h('input', {type: 'search', id: 'audit-actor', name: 'actor', value: query.get('actor') || '', placeholder: 'username'});
  const action = h('input', {type: 'search', id: 'audit-action', name: 'action', value: query.get('action') || '', placeholder: 'backup.create', list: 'audit-actions'});
  const since = h('input', {type: 'datetime-local', id: 'audit-since', name: 'since'});
  const until = h('input', {type: 'datetime-local', id: 'audit-until', name: 'until'});
  const actions = h('datalist', {id: 'audit-actions'}, ['auth.login', 'auth.logout', 'backup.create', 'backup.delete', 'backup.cancel',
    'backup.download', 'restore.create', 'schedule.create', 'schedule.update', 'schedule.delete', 'instance.create',
    'instance.update', 'instance.delete', 'instance.bundle', 'user.create', 'user.update', 'user.delete'].map((a) => h('option', {value: a})));
  const alert = h('div', {class: 'alert error', role: 'alert'});
  const tbody = h('tbody');
  const empty = h('div', {class: 'empty', hidden: true}, 'No events match.');
  const pagerText = h('span');
  const prev = h('button', {type: 'button', onclick: () => { state.offset = Math.max(0, state.offset - PAGE); refresh(); }}, 'Newer');
  const next = h('button', {type: 'button', onclick: () => { state.offset += PAGE; refresh(); }}, 'Older');
  const form = h('form', {class: 'filters', role: 'search', 'aria-label': 'Filter audit events'},
    h('div', {class: 'field'}, h('label', {for: actor.id}, 'Actor'), actor),
    h('div', {class: 'field'}, h('label', {for: action.id}, 'Action'), action, actions),
    h('div', {class: 'field'}, h('label', {for: since.id}, 'Since'), since),
    h('div', {class: 'field'}, h('label', {for: until.id}, 'Until'), until),
    h('button', {type: 'submit', class: 'primary'}, 'Filter'));
  form.addEventListener('submit', (e) => { e.preventDefault(); state.offset = 0; setQuery({actor: actor.value.trim(), action: action.value.trim()}); refresh(); });

  main.append(pageHead('Audit log'), form, alert,
    h('div', {class: 'panel'}, h('div', {class: 'table-wrap'},
      h('table', {class: 'stack', 'aria-label': 'Audit events'},
        h('thead', null, h('tr', null, ['Time', 'Actor', 'Source', 'Action', 'Target', 'Outcome', 'Detail'].map((t) => h('th', {scope: 'col'}, t)))),
        tbody)), empty, h('div', {class: 'pager'}, pagerText, h('div', {class: 'inline'}, prev, next))));

  async function refresh() {
    let page;
    try {
      page = await api.get('/audit', {actor: actor.value.trim(), action: action.value.trim(), since: toUtc(since.value),
                                       until: toUtc(until.value), limit: PAGE, offset: state.offset});
    } catch (e) {
      alert.textContent = `Cannot load the audit log: ${e.message}`;
      return;
    }
    alert.textContent = '';
    replace(tbody, page.events.map((ev) => h('tr', null,
      h('td', {'data-label': 'Time'}, timeEl(ev.at)),
      h('td', {'data-label': 'Actor'}, ev.actor),
      h('td', {'data-label': 'Source', class: 'mono'}, ev.source || '—'),
      h('td', {'data-label': 'Action'}, h('code', null, ev.action)),
      h('td', {'data-label': 'Target'}, ev.target || '—'),
      h('td', {'data-label': 'Outcome'}, h('span', {class: `badge ${ev.outcome === 'ok' ? 'ok' : ev.outcome === 'denied' ? 'failed' : ev.outcome.startsWith('failed') ? 'failed' : ''}`}, ev.outcome)),
      h('td', {'data-label': 'Detail', class: 'mono small'}, detailText(ev.detail)))));
    empty.hidden = page.events.length > 0;
    pagerText.textContent = page.total ? `${state.offset + 1}–${state.offset + page.events.length} of ${plural(page.total, 'event')}` : '';
    prev.disabled = state.offset === 0;
    next.disabled = state.offset + page.events.length >= page.total;
  }

  function detailText(detail) {
    if (!detail || (typeof detail === 'object' && !Object.keys(detail).length)) return '';
    if (typeof detail !== 'object') return String(detail);
    return Object.entries(detail).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
  }

  refresh();
}
