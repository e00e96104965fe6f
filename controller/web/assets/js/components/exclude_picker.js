// "Leave out" fieldset shared by the Create Backup and Schedule dialogs: the
// exclude presets of shared/exclude_rules.h as checkboxes, custom globs one per
// line, and the Strict option. The server checks every glob and preset name
// again (400 with field "excludes" or "exclude_presets", shown next to them).
import {h} from '../dom.js';

// The presets, as docs/excludes.md documents them.
export const EXCLUDE_PRESETS = [
  {name: 'logs', label: 'Leave out logs',
   hint: "OpenClaw's log files: ~/.openclaw/logs, every *.log below ~/.openclaw, npm's debug logs."},
  {name: 'caches', label: 'Leave out caches',
   hint: '~/.cache (pip, Playwright, Homebrew …), npm, pnpm, Yarn and Bun caches, Chromium profile caches.'},
];

let seq = 0;

// initial: {excludes, exclude_presets, strict} of an existing schedule, or none.
// Returns {element, value()} where value() is
// {excludes, exclude_presets, strict} or {error}.
export function excludePicker(initial = {}) {
  const id = `xp${++seq}`;
  // Each checkbox is named by its label only; the hint describes it.
  const checkRow = (box, label, hint) => h('label', {class: 'check', for: box.id}, box,
    h('span', null, h('span', {id: `${box.id}-name`}, label), h('span', {class: 'hint', id: `${box.id}-hint`}, hint)));
  const presetBoxes = EXCLUDE_PRESETS.map((p) => {
    const boxId = `${id}-${p.name}`;
    const box = h('input', {type: 'checkbox', id: boxId, value: p.name, name: 'exclude_preset',
                            'aria-labelledby': `${boxId}-name`, 'aria-describedby': `${boxId}-hint`,
                            checked: (initial.exclude_presets || []).includes(p.name)});
    return {preset: p, box, row: checkRow(box, p.label, p.hint)};
  });
  const globs = h('textarea', {name: 'excludes', id: `${id}-globs`, rows: 2, class: 'mono', spellcheck: 'false',
                               autocapitalize: 'none', placeholder: '/home/claworc/projects/**/node_modules',
                               'aria-describedby': `${id}-globs-hint ${id}-globs-error`},
    (initial.excludes || []).join('\n'));
  const globsError = h('span', {class: 'field-error', id: `${id}-globs-error`, 'aria-live': 'polite'});
  const strict = h('input', {type: 'checkbox', id: `${id}-strict`, name: 'strict', checked: Boolean(initial.strict),
                             'aria-labelledby': `${id}-strict-name`, 'aria-describedby': `${id}-strict-hint`});
  const element = h('fieldset', {name: 'exclude_presets'},
    h('legend', null, 'Leave out'),
    presetBoxes.map((p) => p.row),
    h('div', {class: 'field'},
      h('label', {for: globs.id}, 'Also leave out (one pattern per line)'), globs,
      h('span', {class: 'hint', id: `${id}-globs-hint`},
        'Absolute paths; * and ? stay within one folder, ** spans folders. A folder that matches is left out with everything in it.'),
      globsError),
    checkRow(strict, 'Strict',
      'Fail the backup if a database cannot be captured consistently, instead of archiving it as it is with a warning.'),
    h('span', {class: 'field-error'}));

  function value() {
    globsError.textContent = '';
    globs.removeAttribute('aria-invalid');
    const lines = globs.value.split('\n').map((l) => l.trim()).filter(Boolean);
    const bad = lines.find((l) => !l.startsWith('/'));
    if (bad) {
      globsError.textContent = `Patterns must be absolute paths: ${bad}`;
      globs.setAttribute('aria-invalid', 'true');
      globs.focus();
      return {error: `Patterns must be absolute paths: ${bad}`};
    }
    return {excludes: lines, exclude_presets: presetBoxes.filter((p) => p.box.checked).map((p) => p.preset.name),
            strict: strict.checked};
  }
  return {element, value};
}
