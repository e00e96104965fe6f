// The REST client (docs/api.md). Cookie session; every mutation carries the
// CSRF token from the login or /auth/me response. Errors become ApiError with
// the server's message, so callers can show it next to what caused it.

let csrfToken = '';
const unauthorizedListeners = new Set();

export class ApiError extends Error {
  constructor(status, message, code = '', field = '') {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export function setCsrfToken(token) { csrfToken = token || ''; }

// Called with no arguments when any request answers 401 (session expired).
export function onUnauthorized(fn) { unauthorizedListeners.add(fn); }

// Builds "/api/v1/<path>?k=v" skipping empty values.
export function apiUrl(path, query) {
  const url = new URL(`/api/v1${path}`, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  return url.pathname + url.search;
}

export async function request(method, path, {body, query, quiet401 = false} = {}) {
  const headers = {Accept: 'application/json'};
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const init = {method, headers, credentials: 'same-origin', cache: 'no-store'};
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(apiUrl(path, query), init);
  } catch (e) {
    throw new ApiError(0, 'Cannot reach the clawback server. Check your connection and try again.');
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!response.ok) {
    const message = (data && data.error) || `${response.status} ${response.statusText || 'error'}`;
    if (response.status === 401 && !quiet401) unauthorizedListeners.forEach((fn) => fn());
    throw new ApiError(response.status, message, data && data.code, data && data.field);
  }
  if (data === null && text) throw new ApiError(response.status, 'The server sent a response that is not JSON.');
  return data;
}

export const api = {
  get: (path, query, opts) => request('GET', path, {query, ...opts}),
  post: (path, body) => request('POST', path, {body: body === undefined ? {} : body}),
  put: (path, body) => request('PUT', path, {body}),
  patch: (path, body) => request('PATCH', path, {body}),
  del: (path) => request('DELETE', path),
};

// Fetches every page of a paginated list (for selects); stops at `max`.
export async function listAll(path, key, query = {}, max = 2000) {
  const out = [];
  for (let offset = 0; offset < max; offset += 500) {
    const page = await api.get(path, {...query, limit: 500, offset});
    out.push(...page[key]);
    if (out.length >= page.total || page[key].length === 0) break;
  }
  return out;
}
