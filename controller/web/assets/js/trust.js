// Verification, restore drills and protection (docs/api.md "Verification,
// drills and alerts"): small elements the backups, instances and instance
// pages share, and the admins' fleet summary.
import {h} from './dom.js';
import {api} from './api.js';
import {relativeTime, timeEl} from './format.js';

const CHECK_CLASS = {passed: 'ok', failed: 'failed', running: 'running'};
const PROTECTION_CLASS = {protected: 'ok', stale: 'warn-state', failing: 'failed', unprotected: 'failed'};

function age(seconds) {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}

// "Verified ✓ / Verification failed: …" for a backup's `verification` or
// `drill` object; null when there is none.
export function checkEl(check, what, testid) {
  if (!check) return null;
  const label = check.status === 'running' ? `${what} running` : check.status === 'passed' ? `${what} passed` : `${what} failed`;
  return h('span', {class: 'check', 'data-testid': testid, dataset: {status: check.status}},
    h('span', {class: `badge ${CHECK_CLASS[check.status] || ''}`, title: check.at ? `at ${new Date(check.at).toLocaleString()}` : ''},
      h('span', {class: check.status === 'running' ? 'spinner' : 'dot', 'aria-hidden': 'true'}), label),
    check.status === 'failed' && check.error ? h('span', {class: 'error-text'}, check.error) : null,
    check.status !== 'running' && check.at ? h('span', {class: 'sub'}, relativeTime(check.at)) : null);
}

export function backupChecksEl(b) {
  const v = checkEl(b.verification, 'Verification', 'backup-verification');
  const d = checkEl(b.drill, 'Drill', 'backup-drill');
  return v || d ? h('span', {class: 'checks'}, v, d) : null;
}

// The instance's protection state with the age of its last good backup.
export function protectionEl(p) {
  if (!p) return h('span', {class: 'muted'}, '—');
  const good = p.last_good_backup;
  return h('span', {class: 'protection', 'data-testid': 'protection', dataset: {state: p.state}},
    h('span', {class: `badge ${PROTECTION_CLASS[p.state] || ''}`, title: p.reason},
      h('span', {class: 'dot', 'aria-hidden': 'true'}), p.state),
    h('span', {class: 'sub'}, good ? `last good backup ${age(good.age_s)} ago` : 'no good backup'),
    p.state === 'failing' ? h('span', {class: 'error-text'}, p.reason) : null);
}

// Facts (dt/dd pairs) for the instance page's protection card.
export function protectionFacts(p) {
  if (!p) return [h('dt', null, 'State'), h('dd', null, '—')];
  const v = p.last_verification, d = p.last_drill, good = p.last_good_backup;
  return [
    h('dt', null, 'State'), h('dd', {'data-testid': 'protection-state'}, protectionEl(p)),
    h('dt', null, 'Reason'), h('dd', null, p.reason),
    h('dt', null, 'Last good backup'), h('dd', null, good ? [timeEl(good.completed_at), h('span', {class: 'muted'}, ` (#${good.id})`)] : 'none'),
    h('dt', null, 'Last verification'), h('dd', {'data-testid': 'protection-verification'}, v ? [checkEl(v, 'Verification'), h('span', {class: 'muted'}, ` backup #${v.backup_id}`)] : 'never'),
    h('dt', null, 'Last restore drill'), h('dd', {'data-testid': 'protection-drill'}, d ? [checkEl(d, 'Drill'), h('span', {class: 'muted'}, ` backup #${d.backup_id}`)] : 'never'),
  ];
}

// Admins: "N protected · N stale · N failing · N unprotected" above the
// instances table (GET /fleet/protection); refreshed by `refresh()`.
export function fleetSummary() {
  const el = h('div', {class: 'fleet-summary', 'data-testid': 'fleet-summary', role: 'status', 'aria-label': 'Fleet protection'});
  async function refresh() {
    try {
      const {summary} = await api.get('/fleet/protection');
      el.replaceChildren(...['protected', 'stale', 'failing', 'unprotected'].map((s) =>
        h('span', {class: `badge ${PROTECTION_CLASS[s]}`, dataset: {state: s}}, h('strong', null, String(summary[s])), ` ${s}`)));
    } catch (e) {
      el.textContent = `Cannot load the fleet summary: ${e.message}`;
    }
  }
  return {el, refresh};
}
