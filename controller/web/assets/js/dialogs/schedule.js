// Schedule Backups dialog (admins): instances or All Instances, a cron preset or
// a custom expression read back in plain language with its next runs
// (GET /cron/preview), time zone, folders, what to leave out (presets, globs)
// and Strict, retention. Creates with
// POST /backup-schedules or, given `schedule`, saves with PUT /backup-schedules/{id}.
import {h, replace} from '../dom.js';
import {api} from '../api.js';
import {openDialog, field, showFieldError, busy} from '../dialog.js';
import {folderPicker} from '../components/folder_picker.js';
import {excludePicker} from '../components/exclude_picker.js';

export const CRON_PRESETS = [
  {cron: '0 * * * *', label: 'Hourly', name: 'Hourly'},
  {cron: '0 */6 * * *', label: 'Every 6 hours', name: 'Every 6 hours'},
  {cron: '0 2 * * *', label: 'Daily at 02:00', name: 'Daily'},
  {cron: '0 2 * * 0', label: 'Weekly, Sunday 02:00', name: 'Weekly'},
  {cron: '0 2 1 * *', label: 'Monthly, 1st at 02:00', name: 'Monthly'},
];

const COMMON_ZONES = [
  'UTC', 'Europe/London', 'Europe/Dublin', 'Europe/Lisbon', 'Europe/Paris', 'Europe/Berlin', 'Europe/Amsterdam',
  'Europe/Madrid', 'Europe/Rome', 'Europe/Warsaw', 'Europe/Helsinki', 'Europe/Athens', 'Europe/Istanbul', 'Europe/Moscow',
  'America/New_York', 'America/Chicago', 'America/Denver', 'America/Phoenix', 'America/Los_Angeles',
  'America/Anchorage', 'Pacific/Honolulu', 'America/Toronto', 'America/Vancouver', 'America/Mexico_City',
  'America/Sao_Paulo', 'America/Buenos_Aires', 'Africa/Lagos', 'Africa/Cairo', 'Africa/Johannesburg', 'Asia/Dubai',
  'Asia/Kolkata', 'Asia/Bangkok', 'Asia/Singapore', 'Asia/Shanghai', 'Asia/Hong_Kong', 'Asia/Seoul', 'Asia/Tokyo',
  'Australia/Perth', 'Australia/Sydney', 'Pacific/Auckland',
];

function browserZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch { return ''; }
}

// Formats a next_runs entry in the schedule's zone ("Sun, 30 Nov 2026, 02:00").
export function formatRun(run, tz) {
  const d = new Date(run.utc);
  try {
    return new Intl.DateTimeFormat(undefined, {weekday: 'short', year: 'numeric', month: 'short', day: 'numeric',
                                               hour: '2-digit', minute: '2-digit', timeZone: tz || 'UTC'}).format(d);
  } catch {
    return run.local || run.utc;
  }
}

export function openScheduleDialog({instances, schedule = null, onSaved}) {
  const editing = Boolean(schedule);
  const alert = h('div', {class: 'alert error', role: 'alert'});
  const submit = h('button', {type: 'submit', class: 'primary'}, editing ? 'Save Schedule' : 'Create Schedule');
  const cancel = h('button', {type: 'button'}, 'Cancel');

  // --- instances
  const allBox = h('input', {type: 'checkbox', id: 'sched-all', checked: schedule ? schedule.all_instances : false});
  const instanceBoxes = instances.map((i) => h('input', {type: 'checkbox', value: i.id, id: `sched-inst-${i.id}`,
    checked: schedule ? schedule.instance_ids.includes(i.id) : false}));
  const syncAll = () => instanceBoxes.forEach((b) => { b.disabled = allBox.checked; });
  allBox.addEventListener('change', syncAll);
  syncAll();
  const instancesSet = h('fieldset', {name: 'instance_ids'},
    h('legend', null, 'Instances'),
    h('label', {class: 'check', for: allBox.id}, allBox,
      h('span', null, h('strong', null, 'All Instances'), h('span', {class: 'hint'}, 'Every instance, including ones registered later.'))),
    instances.length ? h('div', {class: 'grid-2'}, instances.map((i, n) =>
      h('label', {class: 'check', for: instanceBoxes[n].id}, instanceBoxes[n], i.name))) :
      h('p', {class: 'small muted'}, 'No instances registered yet; All Instances will cover them once they are.'),
    h('span', {class: 'field-error'}));

  // --- when
  const initialCron = schedule ? schedule.cron : '0 2 * * *';
  const presetSelect = h('select', {name: 'preset', id: 'sched-preset'},
    CRON_PRESETS.map((p) => h('option', {value: p.cron, selected: p.cron === initialCron}, `${p.label} (${p.cron})`)),
    h('option', {value: 'custom', selected: !CRON_PRESETS.some((p) => p.cron === initialCron)}, 'Custom expression…'));
  const cronInput = h('input', {type: 'text', name: 'cron', value: initialCron, class: 'mono', spellcheck: 'false',
                                autocapitalize: 'none', placeholder: 'minute hour day-of-month month day-of-week'});
  const cronField = field('Cron expression', cronInput, {hint: 'Five fields: minute hour day-of-month month day-of-week, e.g. 30 3 * * 1-5.'});
  const tzInput = h('input', {type: 'text', name: 'timezone', value: schedule ? schedule.timezone : 'UTC', list: 'sched-zones',
                              spellcheck: 'false', autocapitalize: 'none'});
  const zone = browserZone();
  const tzField = field('Time zone', tzInput, {hint: 'An IANA zone name; pick one or type it.'});
  if (zone && zone !== 'UTC') {
    tzField.querySelector('.hint').append(' ', h('button', {type: 'button', class: 'link', onclick: () => { tzInput.value = zone; preview(); }}, `Use ${zone}`));
  }
  const zones = h('datalist', {id: 'sched-zones'}, [...new Set([...COMMON_ZONES, zone].filter(Boolean))].map((z) => h('option', {value: z})));
  const previewEl = h('div', {class: 'preview', 'aria-live': 'polite', 'data-testid': 'cron-preview'}, 'Reading the schedule…');
  const syncPreset = () => {
    const custom = presetSelect.value === 'custom';
    if (!custom) cronInput.value = presetSelect.value;
    cronInput.readOnly = !custom;
    cronField.hidden = false;
  };
  presetSelect.addEventListener('change', () => { syncPreset(); if (presetSelect.value === 'custom') cronInput.focus(); preview(); });
  syncPreset();

  let previewSeq = 0;
  let previewTimer = null;
  async function preview() {
    const seq = ++previewSeq;
    const expr = cronInput.value.trim();
    const tz = tzInput.value.trim() || 'UTC';
    const cronErr = cronField.querySelector('.field-error');
    const tzErr = tzField.querySelector('.field-error');
    if (!expr) { previewEl.textContent = 'Enter a cron expression.'; return; }
    try {
      const res = await api.get('/cron/preview', {expr, tz, n: 5});
      if (seq !== previewSeq) return;
      cronErr.textContent = ''; tzErr.textContent = '';
      cronInput.removeAttribute('aria-invalid'); tzInput.removeAttribute('aria-invalid');
      replace(previewEl, h('strong', {'data-testid': 'cron-description'}, res.description),
        h('div', {class: 'small muted'}, `Next runs (${tz}):`),
        h('ol', {'data-testid': 'cron-next-runs'}, (res.next_runs || []).map((r) => h('li', null, h('time', {datetime: r.utc, title: r.utc}, formatRun(r, tz))))));
    } catch (e) {
      if (seq !== previewSeq) return;
      const target = e.field === 'tz' || e.field === 'timezone' ? tzInput : cronInput;
      const slot = target === tzInput ? tzErr : cronErr;
      slot.textContent = e.message;
      target.setAttribute('aria-invalid', 'true');
      previewEl.textContent = 'Fix the expression to see when it runs.';
    }
  }
  const debounced = () => { clearTimeout(previewTimer); previewTimer = setTimeout(preview, 300); };
  cronInput.addEventListener('input', debounced);
  tzInput.addEventListener('input', debounced);
  tzInput.addEventListener('change', preview);

  // --- what, how long
  const folders = folderPicker(schedule ? schedule.paths : ['HOME']);
  const leaveOut = excludePicker(schedule || {});
  const ret = schedule ? schedule.retention || {} : {keep_last: 7};
  const num = (name, value) => h('input', {type: 'number', name, min: 0, max: 10000, step: 1, value: value || 0, inputmode: 'numeric'});
  const keepLast = num('keep_last', ret.keep_last);
  const keepDaily = num('keep_daily', ret.keep_daily);
  const keepWeekly = num('keep_weekly', ret.keep_weekly);
  const keepMonthly = num('keep_monthly', ret.keep_monthly);
  const retentionSet = h('fieldset', {name: 'retention'}, h('legend', null, 'Retention'),
    h('div', {class: 'grid-4'}, field('Keep last', keepLast), field('Keep daily', keepDaily), field('Keep weekly', keepWeekly), field('Keep monthly', keepMonthly)),
    h('p', {class: 'small muted'}, "Counts of this schedule's completed backups to keep per instance; a backup kept by any rule stays. ",
      'Leave all at 0 to keep every backup. Failed runs never push out good backups.'),
    h('span', {class: 'field-error'}));

  const defaultName = () => (CRON_PRESETS.find((p) => p.cron === cronInput.value.trim())?.name || 'Custom') + ' backup';
  const nameInput = h('input', {type: 'text', name: 'name', value: schedule ? schedule.name : '', maxlength: 100, placeholder: defaultName()});
  presetSelect.addEventListener('change', () => { nameInput.placeholder = defaultName(); });
  const noteInput = h('input', {type: 'text', name: 'note', value: schedule ? schedule.note : '', maxlength: 500});

  const {dialog, close} = openDialog({
    title: editing ? `Edit schedule “${schedule.name}”` : 'Schedule Backups', wide: true,
    body: [alert, zones, instancesSet,
      h('fieldset', null, h('legend', null, 'When'),
        field('Frequency', presetSelect), cronField, tzField, previewEl),
      folders.element, leaveOut.element, retentionSet,
      h('div', {class: 'grid-2'}, field('Name', nameInput), field('Note (optional)', noteInput))],
    footer: [cancel, submit],
    onClose: () => clearTimeout(previewTimer),
    onSubmit: () => {
      alert.textContent = '';
      const picked = folders.value();
      if (picked.error) { alert.textContent = picked.error; return; }
      const excluded = leaveOut.value();
      if (excluded.error) { alert.textContent = excluded.error; return; }
      const ids = instanceBoxes.filter((b) => b.checked).map((b) => Number(b.value));
      if (!allBox.checked && !ids.length) {
        showFieldError(dialog, alert, {message: 'Select at least one instance, or All Instances.', field: 'instance_ids'});
        return;
      }
      const int = (el) => Math.max(0, Math.floor(Number(el.value) || 0));
      const body = {
        name: nameInput.value.trim() || defaultName(),
        all_instances: allBox.checked,
        instance_ids: allBox.checked ? [] : ids,
        cron: cronInput.value.trim(),
        timezone: tzInput.value.trim() || 'UTC',
        paths: picked.paths,
        excludes: excluded.excludes,
        exclude_presets: excluded.exclude_presets,
        strict: excluded.strict,
        note: noteInput.value.trim(),
        enabled: schedule ? schedule.enabled : true,
        retention: {keep_last: int(keepLast), keep_hourly: ret.keep_hourly || 0, keep_daily: int(keepDaily),
                    keep_weekly: int(keepWeekly), keep_monthly: int(keepMonthly)},
      };
      busy(submit, async () => {
        try {
          const saved = editing ? await api.put(`/backup-schedules/${schedule.id}`, body) : await api.post('/backup-schedules', body);
          close();
          onSaved(saved);
        } catch (e) {
          showFieldError(dialog, alert, e);
        }
      }, 'Saving…');
    },
  });
  cancel.addEventListener('click', close);
  preview();
}
