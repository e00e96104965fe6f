// Modal dialogs on <dialog>: showModal() makes the page behind inert, Escape
// closes (the "cancel" event), Tab is kept inside, focus returns to the opener.
import {h, icon} from './dom.js';

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), ' +
                  'textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

// openDialog({title, body: Node|Node[], footer: Node[], wide, onClose, form})
// Returns {dialog, close()}. With `form: true` the content sits in a <form>
// whose submit event the caller handles via onSubmit(event).
export function openDialog({title, body, footer = [], wide = false, onClose, onSubmit, label}) {
  const opener = document.activeElement;
  const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
  const closeBtn = h('button', {type: 'button', class: 'icon', 'aria-label': 'Close dialog', title: 'Close'}, icon('close'));
  const inner = h(onSubmit ? 'form' : 'div', {class: 'dialog-inner', novalidate: onSubmit ? true : null},
    h('div', {class: 'dialog-head'}, h('h2', {id: titleId}, title), closeBtn),
    h('div', {class: 'dialog-body'}, body),
    footer.length ? h('div', {class: 'dialog-foot'}, footer) : null);
  const dialog = h('dialog', {class: wide ? 'wide' : '', 'aria-labelledby': titleId, 'aria-label': label}, inner);

  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    if (dialog.open) dialog.close();
    dialog.remove();
    if (onClose) onClose();
    if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
  };
  closeBtn.addEventListener('click', close);
  dialog.addEventListener('cancel', (e) => { e.preventDefault(); close(); });
  dialog.addEventListener('close', close);
  if (onSubmit) inner.addEventListener('submit', (e) => { e.preventDefault(); onSubmit(e); });
  dialog.addEventListener('keydown', (e) => {
    if (e.key !== 'Tab') return;
    const items = [...dialog.querySelectorAll(FOCUSABLE)].filter((el) => el.offsetParent !== null);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
  });
  document.body.append(dialog);
  dialog.showModal();
  const autofocus = dialog.querySelector('[autofocus]') ||
      [...dialog.querySelectorAll(FOCUSABLE)].find((el) => el !== closeBtn && el.offsetParent !== null);
  if (autofocus) autofocus.focus();
  return {dialog, close};
}

// Asks a yes/no question. Resolves true when confirmed.
export function confirmDialog({title, message, confirmLabel = 'Confirm', danger = false}) {
  return new Promise((resolve) => {
    let answer = false;
    const ok = h('button', {type: 'submit', class: danger ? 'danger' : 'primary'}, confirmLabel);
    const cancel = h('button', {type: 'button'}, 'Cancel');
    const {close} = openDialog({
      title, body: h('div', null, message), footer: [cancel, ok],
      onSubmit: () => { answer = true; close(); },
      onClose: () => resolve(answer),
    });
    cancel.addEventListener('click', close);
    cancel.focus();
  });
}

// Puts an API error next to the field it names (input[name=field]) or, failing
// that, in the dialog's general alert box. Returns the element it used.
export function showFieldError(container, alert, error) {
  container.querySelectorAll('[aria-invalid="true"]').forEach((el) => el.removeAttribute('aria-invalid'));
  container.querySelectorAll('.field-error[data-server]').forEach((el) => { el.textContent = ''; });
  alert.textContent = '';
  if (!error) return null;
  const message = error.message || String(error);
  const input = error.field ? container.querySelector(`[name="${CSS.escape(error.field)}"]`) : null;
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    const slot = input.closest('.field, fieldset')?.querySelector('.field-error');
    if (slot) {
      slot.dataset.server = '1';
      slot.textContent = message;
      input.focus();
      return slot;
    }
  }
  alert.textContent = message;
  return alert;
}

// A labelled form field: label + control + optional hint + error slot.
let fieldSeq = 0;
export function field(labelText, control, {hint, id} = {}) {
  const fid = id || control.id || `f${++fieldSeq}`;
  control.id = fid;
  const hintEl = hint ? h('span', {class: 'hint', id: `${fid}-hint`}, hint) : null;
  const errorEl = h('span', {class: 'field-error', id: `${fid}-error`, 'aria-live': 'polite'});
  control.setAttribute('aria-describedby', [hintEl && hintEl.id, errorEl.id].filter(Boolean).join(' '));
  return h('div', {class: 'field'}, h('label', {for: fid}, labelText), control, hintEl, errorEl);
}

// Disables a submit button while `work` runs, shows the label while busy.
export async function busy(button, work, busyLabel) {
  const original = [...button.childNodes];
  button.disabled = true;
  if (busyLabel) button.replaceChildren(h('span', {class: 'spinner', 'aria-hidden': 'true'}), busyLabel);
  try {
    return await work();
  } finally {
    button.disabled = false;
    if (busyLabel && button.isConnected) button.replaceChildren(...original);
  }
}
