// clawback dashboard entry point: loads the session, builds the shell and
// routes. Plain ES modules, no build step (docs/dashboard.md explains why).
import {h, replace} from './js/dom.js';
import {onUnauthorized} from './js/api.js';
import {session} from './js/session.js';
import {addRoute, currentRoute, navigate, setRenderer, installLinkInterception} from './js/router.js';
import {buildShell} from './js/layout.js';
import {renderLogin} from './js/pages/login.js';
import {backupsPage} from './js/pages/backups.js';
import {backupFilesPage} from './js/pages/backup_files.js';
import {schedulesPage} from './js/pages/schedules.js';
import {instancesPage} from './js/pages/instances.js';
import {instanceDetailPage} from './js/pages/instance_detail.js';
import {usersPage} from './js/pages/users.js';
import {auditPage} from './js/pages/audit.js';

const root = document.getElementById('app');
let shell = null;          // built once per sign-in
let cleanup = null;        // the current page's teardown (timers)

addRoute(/^\/$/, {redirect: '/backups'});
addRoute(/^\/backups\/?$/, {nav: 'backups', page: backupsPage, title: 'Backups'});
addRoute(/^\/backups\/(\d+)\/files\/?$/, {nav: 'backups', page: backupFilesPage, title: 'Backup files'});
addRoute(/^\/instances\/?$/, {nav: 'instances', page: instancesPage, title: 'Instances'});
addRoute(/^\/instances\/([^/]+)\/?$/, {nav: 'instances', page: instanceDetailPage, title: 'Instance'});
addRoute(/^\/schedules\/?$/, {nav: 'schedules', page: schedulesPage, title: 'Schedules', admin: true});
addRoute(/^\/users\/?$/, {nav: 'users', page: usersPage, title: 'Users', admin: true});
addRoute(/^\/audit\/?$/, {nav: 'audit', page: auditPage, title: 'Audit log', admin: true});
addRoute(/^\/login\/?$/, {login: true});

function teardown() {
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } }
  cleanup = null;
}

function render() {
  teardown();
  const route = currentRoute();
  const query = new URLSearchParams(location.search);

  if (!session.user) {
    shell = null;
    const next = route && !route.handler.login ? location.pathname + location.search : query.get('next') || '/backups';
    if (location.pathname !== '/login') history.replaceState(null, '', `/login?next=${encodeURIComponent(next)}`);
    document.title = 'Sign in · clawback';
    renderLogin(root, () => {
      shell = null;
      const target = new URLSearchParams(location.search).get('next') || '/backups';
      navigate(target.startsWith('/') && !target.startsWith('//') ? target : '/backups', {replace: true});
    });
    return;
  }
  if (!route || route.handler.login) {
    if (route && route.handler.login) { navigate(query.get('next') || '/backups', {replace: true}); return; }
  }
  if (route && route.handler.redirect) { navigate(route.handler.redirect, {replace: true}); return; }

  if (!shell) shell = buildShell(root);
  const main = shell.main;
  if (!route) {
    shell.setActive('');
    document.title = 'Not found · clawback';
    replace(main, h('h1', null, 'Page not found'), h('p', {class: 'muted'}, 'There is nothing at ', h('code', null, location.pathname), '. ',
      h('a', {href: '/backups'}, 'Go to Backups'), '.'));
    return;
  }
  const {handler, params} = route;
  shell.setActive(handler.nav);
  document.title = `${handler.title} · clawback`;
  if (handler.admin && !session.isAdmin) {
    replace(main, h('h1', null, handler.title), h('div', {class: 'alert warn', role: 'alert'}, 'Only administrators can open this page.'));
    return;
  }
  main.replaceChildren();
  cleanup = handler.page({main, params, query}) || null;
}

onUnauthorized(() => {
  if (!session.user) return;
  session.set(null);
  render();
});

async function start() {
  setRenderer(render);
  installLinkInterception();
  try {
    await session.load();
  } catch (e) {
    replace(root, h('div', {class: 'login-wrap'}, h('div', {class: 'alert error', role: 'alert'},
      `Cannot load the dashboard: ${e.message}`)));
    return;
  }
  root.classList.remove('app-loading');
  render();
}

start();
