// "Folders" fieldset shared by the Create Backup and Schedule dialogs: the three
// aliases (HOME checked by default) plus any absolute paths, validated inline
// with the same rules as shared/path_rules.h.
import {h, iconButton, icon} from '../dom.js';
import {ALIASES, MAX_BACKUP_PATHS, validateBackupPath} from '../path_rules.js';

let seq = 0;

// initial: list of requested paths (aliases or absolute); default ['HOME'].
// Returns {element, value()} where value() is {paths} or {error}.
export function folderPicker(initial = ['HOME']) {
  const id = `fp${++seq}`;
  const aliasBoxes = ALIASES.map((a) => {
    const boxId = `${id}-${a.alias === '/' ? 'root' : a.alias}`;
    // The name is just the alias ("HOME"); the hint is its description, so
    // assistive tech reads "HOME, checkbox, The agent's home directory ...".
    const name = h('span', {id: `${boxId}-name`},
      a.alias === '/' ? [h('code', null, '/'), ' (full filesystem)'] : a.label);
    const hint = h('span', {class: 'hint', id: `${boxId}-hint`}, a.hint);
    const box = h('input', {type: 'checkbox', id: boxId, value: a.alias,
                            'aria-labelledby': name.id, 'aria-describedby': hint.id,
                            checked: initial.includes(a.alias) || initial.includes(a.path)});
    return {alias: a, box, row: h('label', {class: 'check', for: box.id}, box, h('span', null, name, hint))};
  });
  const customList = h('div', {class: 'custom-paths'});
  const errorEl = h('span', {class: 'field-error', 'aria-live': 'polite'});
  let rowSeq = 0;

  function addRow(value = '') {
    const n = customList.children.length + 1;
    const input = h('input', {type: 'text', value, placeholder: '/etc/nginx', 'aria-label': `Absolute path ${n}`,
                              spellcheck: 'false', autocapitalize: 'none', class: 'mono', dataset: {customPath: '1'}});
    const err = h('span', {class: 'field-error', id: `${id}-p${++rowSeq}`, 'aria-live': 'polite'});
    input.setAttribute('aria-describedby', err.id);
    const check = () => {
      const v = input.value.trim();
      const reason = v ? validateBackupPath(v) : '';
      err.textContent = reason;
      if (reason) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
      return reason;
    };
    input.addEventListener('input', check);
    input.addEventListener('blur', check);
    input._check = check;
    const row = h('div', {class: 'path-row'}, h('div', {class: 'grow'}, input, err),
      iconButton('close', `Remove path ${n}`, () => { row.remove(); input.focus(); }));
    customList.append(row);
    return input;
  }
  for (const p of initial) {
    if (!ALIASES.some((a) => a.alias === p || a.path === p)) addRow(p);
  }

  const element = h('fieldset', {name: 'paths'},
    h('legend', null, 'Folders'),
    aliasBoxes.map((a) => a.row),
    h('div', {class: 'field'},
      h('span', {class: 'small muted'}, 'Other absolute paths, for example ', h('code', null, '/etc/nginx'), ':'),
      customList,
      h('div', null, h('button', {type: 'button', class: 'link', onclick: () => addRow().focus()}, icon('plus'), 'Add a path'))),
    h('span', {class: 'hint small muted'}, 'If nothing is selected, HOME is backed up.'),
    errorEl);

  return {
    element,
    value() {
      errorEl.textContent = '';
      const paths = aliasBoxes.filter((a) => a.box.checked).map((a) => a.alias.alias);
      let firstBad = null;
      for (const input of customList.querySelectorAll('input')) {
        const v = input.value.trim();
        if (!v) continue;
        if (input._check() && !firstBad) firstBad = input;
        paths.push(v);
      }
      if (firstBad) { firstBad.focus(); return {error: 'Fix the highlighted path.'}; }
      if (paths.length > MAX_BACKUP_PATHS) { errorEl.textContent = `At most ${MAX_BACKUP_PATHS} paths.`; return {error: errorEl.textContent}; }
      return {paths};
    },
  };
}
