// Sign-in page (POST /auth/login). Wrong credentials show the server's message.
import {h} from '../dom.js';
import {request} from '../api.js';
import {session} from '../session.js';
import {field, busy} from '../dialog.js';

export function renderLogin(root, onSignedIn) {
  const username = h('input', {type: 'text', name: 'username', autocomplete: 'username', required: true, autofocus: true,
                               autocapitalize: 'none', spellcheck: 'false'});
  const password = h('input', {type: 'password', name: 'password', autocomplete: 'current-password', required: true});
  const alert = h('div', {class: 'alert error', role: 'alert', 'data-testid': 'login-error'});
  const submit = h('button', {type: 'submit', class: 'primary'}, 'Sign in');
  const form = h('form', {class: 'panel-body', 'aria-label': 'Sign in', novalidate: true},
    h('h1', null, 'Sign in'),
    h('p', {class: 'muted'}, 'Backups for your OpenClaw instances.'),
    alert,
    field('Username', username),
    field('Password', password),
    submit);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    alert.textContent = '';
    if (!username.value || !password.value) {
      alert.textContent = 'Enter your username and password.';
      (username.value ? password : username).focus();
      return;
    }
    busy(submit, async () => {
      try {
        const data = await request('POST', '/auth/login',
            {body: {username: username.value, password: password.value}, quiet401: true});
        session.set(data);
        onSignedIn();
      } catch (err) {
        alert.textContent = err.status === 401 ? 'Wrong username or password.' :
            err.status === 429 ? `Too many attempts. ${err.message}` : err.message;
        password.select();
        password.focus();
      }
    }, 'Signing in…');
  });
  root.replaceChildren(h('div', {class: 'login-wrap'},
    h('div', {class: 'login'},
      h('div', {class: 'brand'}, h('img', {src: '/assets/favicon.svg', alt: '', width: 30, height: 30}), 'clawback'),
      h('div', {class: 'panel'}, form))));
  username.focus();
}
