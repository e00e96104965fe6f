// Client-side routing on the history API. The server answers every non-API path
// with index.html, so deep links (/backups?instance=web-1, /instances/web-1) work.

const routes = [];
let renderFn = null;

// addRoute(/^\/instances\/([^/]+)$/, handler): handler receives the match groups.
export function addRoute(pattern, handler) { routes.push({pattern, handler}); }

export function setRenderer(fn) { renderFn = fn; }

export function currentRoute() {
  for (const route of routes) {
    const m = location.pathname.match(route.pattern);
    if (m) return {handler: route.handler, params: m.slice(1).map(decodeURIComponent)};
  }
  return null;
}

export function navigate(url, {replace = false} = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  if (renderFn) renderFn();
}

// Updates the query string without re-rendering (filters keep their state).
export function setQuery(params) {
  const url = new URL(location.href);
  for (const [k, v] of Object.entries(params)) {
    if (v === '' || v === null || v === undefined) url.searchParams.delete(k);
    else url.searchParams.set(k, v);
  }
  history.replaceState(null, '', url.pathname + url.search);
}

export function installLinkInterception() {
  window.addEventListener('popstate', () => renderFn && renderFn());
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest('a[href]');
    if (!a || a.hasAttribute('download') || a.target) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
}
