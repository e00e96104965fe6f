// Change my password (PUT /auth/password). Other sessions are revoked by the server.
import {h, toast} from '../dom.js';
import {api} from '../api.js';
import {openDialog, field, showFieldError, busy} from '../dialog.js';

export function openChangePasswordDialog() {
  const current = h('input', {type: 'password', name: 'current_password', autocomplete: 'current-password', required: true});
  const next = h('input', {type: 'password', name: 'new_password', autocomplete: 'new-password', required: true});
  const again = h('input', {type: 'password', name: 'confirm', autocomplete: 'new-password', required: true});
  const alert = h('div', {class: 'alert error', role: 'alert'});
  const submit = h('button', {type: 'submit', class: 'primary'}, 'Change password');
  const cancel = h('button', {type: 'button'}, 'Cancel');
  const {dialog, close} = openDialog({
    title: 'Change password',
    body: [alert, field('Current password', current), field('New password', next), field('Repeat new password', again)],
    footer: [cancel, submit],
    onSubmit: () => busy(submit, async () => {
      if (next.value !== again.value) {
        showFieldError(dialog, alert, {message: 'The new passwords do not match.', field: 'confirm'});
        return;
      }
      try {
        await api.put('/auth/password', {current_password: current.value, new_password: next.value});
        close();
        toast('Password changed. Other sessions were signed out.');
      } catch (e) {
        showFieldError(dialog, alert, e);
      }
    }),
  });
  cancel.addEventListener('click', close);
}
