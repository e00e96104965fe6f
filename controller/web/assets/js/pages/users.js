// Users page (admins): create users, change role and the "can create
// instances" permission, assign instances, reset passwords (which also
// revokes the user's API tokens), list and revoke a user's API tokens, delete.
import {h, icon, iconButton, replace, toast} from '../dom.js';
import {api} from '../api.js';
import {session} from '../session.js';
import {openDialog, confirmDialog, field, showFieldError, busy} from '../dialog.js';
import {pageHead} from '../layout.js';
import {formatTime} from '../format.js';

export function usersPage({main}) {
  let users = [];
  let instances = [];
  const alert = h('div', {class: 'alert error', role: 'alert'});
  const tbody = h('tbody');
  main.append(pageHead('Users', [h('button', {type: 'button', class: 'primary', onclick: () => openUserDialog(null)}, icon('plus'), 'Create user')]),
    alert,
    h('div', {class: 'panel'}, h('div', {class: 'table-wrap'},
      h('table', {class: 'stack', 'aria-label': 'Users'},
        h('thead', null, h('tr', null, ['Username', 'Role', 'Can create instances', 'Assigned instances', 'Created'].map((t) => h('th', {scope: 'col'}, t)),
          h('th', {scope: 'col'}, h('span', {class: 'sr-only'}, 'Actions')))),
        tbody))));

  async function refresh() {
    try {
      [users, instances] = await Promise.all([api.get('/users').then((r) => r.users), api.get('/instances').then((r) => r.instances)]);
    } catch (e) {
      alert.textContent = `Cannot load users: ${e.message}`;
      return;
    }
    replace(tbody, users.map(row));
  }

  function row(u) {
    const byId = new Map(instances.map((i) => [i.id, i.name]));
    const me = session.user && session.user.id === u.id;
    return h('tr', {dataset: {username: u.username}},
      h('td', {'data-label': 'Username'}, h('strong', null, u.username), me ? h('span', {class: 'muted'}, ' (you)') : null),
      h('td', {'data-label': 'Role'}, h('span', {class: `badge ${u.role === 'admin' ? 'admin' : ''}`}, u.role)),
      h('td', {'data-label': 'Can create instances'}, u.role === 'admin' ? h('span', {class: 'muted'}, 'yes (admin)') : u.can_create_instances ? 'yes' : 'no'),
      h('td', {'data-label': 'Assigned instances'}, u.role === 'admin' ? h('span', {class: 'muted'}, 'all (admin)') :
        (u.instance_ids || []).length ? h('span', {class: 'paths'}, u.instance_ids.map((id) => h('span', {class: 'tag'}, byId.get(id) || `#${id}`))) :
          h('span', {class: 'muted'}, 'none')),
      h('td', {'data-label': 'Created'}, formatTime(u.created_at)),
      h('td', {'data-label': 'Actions', class: 'actions'}, h('span', {class: 'wrap'},
        iconButton('edit', `Edit user ${u.username}`, () => openUserDialog(u), {title: 'Edit', dataset: {action: 'edit'}}),
        iconButton('key', `Reset password of ${u.username}`, () => openPasswordDialog(u), {title: 'Reset password', dataset: {action: 'password'}}),
        iconButton('lock', `API tokens of ${u.username}`, () => openTokensDialog(u), {title: 'API tokens', dataset: {action: 'tokens'}}),
        iconButton('trash', `Delete user ${u.username}`, () => remove(u), {class: 'danger-icon', title: 'Delete', dataset: {action: 'delete'}, disabled: me}))));
  }

  function openUserDialog(user) {
    const creating = !user;
    const alert2 = h('div', {class: 'alert error', role: 'alert'});
    const username = h('input', {type: 'text', name: 'username', value: user ? user.username : '', required: true, disabled: !creating,
                                 autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false'});
    const password = creating ? h('input', {type: 'password', name: 'password', required: true, autocomplete: 'new-password'}) : null;
    const role = h('select', {name: 'role'}, h('option', {value: 'user', selected: !user || user.role === 'user'}, 'User'),
      h('option', {value: 'admin', selected: user && user.role === 'admin'}, 'Admin'));
    const canCreate = h('input', {type: 'checkbox', id: 'user-can-create', name: 'can_create_instances', checked: user ? user.can_create_instances : false});
    const boxes = instances.map((i) => h('input', {type: 'checkbox', value: i.id, id: `user-inst-${i.id}`,
      checked: user ? (user.instance_ids || []).includes(i.id) : false}));
    const assigned = h('fieldset', {name: 'instance_ids'}, h('legend', null, 'Assigned instances'),
      instances.length ? h('div', {class: 'grid-2'}, instances.map((i, n) => h('label', {class: 'check', for: boxes[n].id}, boxes[n], i.name))) :
        h('p', {class: 'small muted'}, 'No instances registered yet.'),
      h('p', {class: 'small muted'}, 'Admins see every instance; this list applies to regular users.'),
      h('span', {class: 'field-error'}));
    const submit = h('button', {type: 'submit', class: 'primary'}, creating ? 'Create user' : 'Save');
    const cancel = h('button', {type: 'button'}, 'Cancel');
    const {dialog, close} = openDialog({
      title: creating ? 'Create user' : `Edit ${user.username}`,
      body: [alert2, field('Username', username), password ? field('Password', password, {hint: 'At least 12 characters is a good start.'}) : null,
        field('Role', role),
        h('label', {class: 'check', for: canCreate.id}, canCreate, h('span', null, 'Can create instances',
          h('span', {class: 'hint'}, 'Also allows restoring backups into the instances this user can see.'))),
        assigned],
      footer: [cancel, submit],
      onSubmit: () => busy(submit, async () => {
        const ids = boxes.filter((b) => b.checked).map((b) => Number(b.value));
        try {
          if (creating) {
            await api.post('/users', {username: username.value.trim(), password: password.value, role: role.value,
                                      can_create_instances: canCreate.checked, instance_ids: ids});
            toast(`User ${username.value.trim()} created.`);
          } else {
            await api.patch(`/users/${user.id}`, {role: role.value, can_create_instances: canCreate.checked});
            await api.put(`/users/${user.id}/instances`, {instance_ids: ids});
            toast(`User ${user.username} saved.`);
          }
          close();
          refresh();
        } catch (e) {
          showFieldError(dialog, alert2, e);
        }
      }, 'Saving…'),
    });
    cancel.addEventListener('click', close);
  }

  function openPasswordDialog(user) {
    const alert2 = h('div', {class: 'alert error', role: 'alert'});
    const password = h('input', {type: 'password', name: 'password', required: true, autocomplete: 'new-password'});
    const submit = h('button', {type: 'submit', class: 'primary'}, 'Set password');
    const cancel = h('button', {type: 'button'}, 'Cancel');
    const {dialog, close} = openDialog({
      title: `Reset password of ${user.username}`,
      body: [alert2, field('New password', password, {hint: `${user.username}'s sessions are signed out and API tokens revoked.`})],
      footer: [cancel, submit],
      onSubmit: () => busy(submit, async () => {
        try {
          await api.patch(`/users/${user.id}`, {password: password.value});
          close();
          toast(`Password of ${user.username} changed.`);
        } catch (e) {
          showFieldError(dialog, alert2, e);
        }
      }),
    });
    cancel.addEventListener('click', close);
  }

  function openTokensDialog(user) {
    const alert2 = h('div', {class: 'alert error', role: 'alert'});
    const tokensBody = h('tbody');
    const close2 = h('button', {type: 'button'}, 'Close');
    const {close} = openDialog({
      title: `API tokens of ${user.username}`, wide: true,
      body: [alert2, h('div', {class: 'table-wrap'}, h('table', {class: 'stack', 'aria-label': `API tokens of ${user.username}`},
        h('thead', null, h('tr', null, ['Name', 'Created', 'Last used', 'Can create tokens', 'State'].map((t) => h('th', {scope: 'col'}, t)),
          h('th', {scope: 'col'}, h('span', {class: 'sr-only'}, 'Actions')))),
        tokensBody))],
      footer: [close2],
    });
    close2.addEventListener('click', close);

    async function load() {
      let tokens;
      try {
        tokens = (await api.get(`/users/${user.id}/tokens`)).tokens;
      } catch (e) {
        alert2.textContent = `Cannot load tokens: ${e.message}`;
        return;
      }
      replace(tokensBody, tokens.length ? tokens.map((t) => h('tr', {dataset: {tokenId: t.id}},
        h('td', {'data-label': 'Name'}, t.name),
        h('td', {'data-label': 'Created'}, formatTime(t.created_at)),
        h('td', {'data-label': 'Last used'}, t.last_used_at ? formatTime(t.last_used_at) : h('span', {class: 'muted'}, 'never')),
        h('td', {'data-label': 'Can create tokens'}, t.can_create_tokens ? 'yes' : 'no'),
        h('td', {'data-label': 'State'}, t.revoked ? h('span', {class: 'muted'}, 'revoked') : 'active'),
        h('td', {'data-label': 'Actions', class: 'actions'}, t.revoked ? null :
          iconButton('trash', `Revoke token ${t.name}`, () => revoke(t), {class: 'danger-icon', title: 'Revoke', dataset: {action: 'revoke'}}))))
        : [h('tr', null, h('td', {colspan: 6, class: 'muted'}, 'No API tokens.'))]);
    }

    async function revoke(t) {
      try {
        await api.del(`/users/${user.id}/tokens/${t.id}`);
        toast(`Token ${t.name} of ${user.username} revoked.`);
      } catch (e) {
        alert2.textContent = `Could not revoke ${t.name}: ${e.message}`;
      }
      load();
    }

    load();
  }

  async function remove(u) {
    const ok = await confirmDialog({title: `Delete ${u.username}?`, danger: true, confirmLabel: 'Delete user',
      message: h('p', null, `${u.username} is signed out and can no longer sign in. Their backups stay.`)});
    if (!ok) return;
    try {
      await api.del(`/users/${u.id}`);
      toast(`User ${u.username} deleted.`);
    } catch (e) {
      alert.textContent = `Could not delete ${u.username}: ${e.message}`;
    }
    refresh();
  }

  refresh();
}
