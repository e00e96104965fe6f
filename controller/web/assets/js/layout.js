// The signed-in shell: sidebar (collapses behind a menu button on narrow
// screens), the signed-in user, sign-out, and the main area pages render into.
import {h, icon, toast} from './dom.js';
import {api} from './api.js';
import {session} from './session.js';
import {navigate} from './router.js';
import {openChangePasswordDialog} from './dialogs/password.js';

const NAV = [
  {key: 'instances', href: '/instances', label: 'Instances', icon: 'instances'},
  {key: 'backups', href: '/backups', label: 'Backups', icon: 'archive'},
  {key: 'schedules', href: '/schedules', label: 'Schedules', icon: 'schedules', admin: true},
  {key: 'users', href: '/users', label: 'Users', icon: 'users', admin: true},
  {key: 'audit', href: '/audit', label: 'Audit log', icon: 'audit', admin: true},
];

// Builds the shell once per sign-in; returns {main, setActive(key)}.
export function buildShell(root) {
  const links = new Map();
  const nav = h('nav', {class: 'nav', 'aria-label': 'Main'});
  for (const item of NAV) {
    if (item.admin && !session.isAdmin) continue;
    if (item.key === 'schedules') nav.append(h('div', {class: 'nav-section', 'aria-hidden': 'true'}, 'Administration'));
    const a = h('a', {href: item.href, dataset: {nav: item.key}}, icon(item.icon), item.label);
    links.set(item.key, a);
    nav.append(a);
  }
  const user = session.user;
  const signOut = h('button', {type: 'button', class: 'small', onclick: async () => {
    try { await api.post('/auth/logout'); } catch (e) { if (e.status !== 401) { toast(`Sign-out failed: ${e.message}`, 'error'); return; } }
    session.set(null);
    navigate('/login', {replace: true});
  }}, icon('logout'), 'Sign out');
  const sidebar = h('aside', {class: 'sidebar', id: 'sidebar'},
    h('div', {class: 'brand'}, h('img', {src: '/assets/favicon.svg', alt: ''}), 'clawback'),
    nav,
    h('div', {class: 'account'},
      h('div', {class: 'who'}, h('strong', {'data-testid': 'current-user'}, user.username),
        h('span', null, user.role === 'admin' ? 'Administrator' : 'User')),
      h('div', {class: 'row'},
        h('button', {type: 'button', class: 'small', onclick: openChangePasswordDialog}, icon('key'), 'Password'),
        signOut)));

  const menuButton = h('button', {type: 'button', class: 'icon', 'aria-label': 'Open navigation',
                                  'aria-controls': 'sidebar', 'aria-expanded': 'false'}, icon('menu'));
  const main = h('main', {class: 'main', id: 'main', tabindex: '-1'});
  const shell = h('div', {class: 'shell'},
    h('header', {class: 'topbar'}, menuButton, h('div', {class: 'brand'}, 'clawback')),
    sidebar, h('div', {class: 'scrim', onclick: () => setOpen(false)}), main);

  function setOpen(open) {
    shell.classList.toggle('nav-open', open);
    menuButton.setAttribute('aria-expanded', String(open));
    if (open) links.values().next().value?.focus();
  }
  menuButton.addEventListener('click', () => setOpen(!shell.classList.contains('nav-open')));
  sidebar.addEventListener('click', (e) => { if (e.target.closest('a')) setOpen(false); });
  shell.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && shell.classList.contains('nav-open')) { setOpen(false); menuButton.focus(); }
  });

  root.replaceChildren(shell);
  return {
    main,
    setActive(key) {
      for (const [k, a] of links) {
        if (k === key) a.setAttribute('aria-current', 'page');
        else a.removeAttribute('aria-current');
      }
    },
  };
}

// Standard page header: title (+ breadcrumb) and action buttons.
export function pageHead(title, actions = [], breadcrumb = null) {
  return h('div', {class: 'page-head'},
    h('div', null, breadcrumb ? h('div', {class: 'breadcrumb'}, breadcrumb) : null, h('h1', null, title)),
    h('div', {class: 'actions'}, actions));
}
