// Tiny DOM builder. Every page builds its elements with h(); text goes in as
// text nodes, never as HTML, so nothing the API returns can inject markup.

// h("button", {class: "primary", onclick: fn, "aria-label": "x"}, "text", child, [more])
// Attributes: "class", "dataset" (object), "on<event>" (listener), boolean
// true/false (present/absent), null/undefined (skipped), anything else via
// setAttribute. Children: strings, numbers, nodes, arrays, null/false (skipped).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

function applyAttrs(el, attrs) {
  if (!attrs) return;
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key === 'value' && 'value' in el) {
      el.value = value;
    } else if (key === 'checked' || key === 'selected' || key === 'disabled') {
      el[key] = Boolean(value);
      if (key === 'disabled') el.setAttribute('disabled', '');
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// Replaces all children of `el`.
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// Inline SVG icons (24x24, stroke). Decorative: callers label the control.
const ICONS = {
  backups: 'M4 7h16M4 12h16M4 17h10',
  archive: 'M3 5h18v4H3zM5 9v10h14V9M10 13h4',
  instances: 'M4 5h16v6H4zM4 13h16v6H4zM8 8h.01M8 16h.01',
  schedules: 'M12 7v5l3 2M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z',
  users: 'M16 19v-1a4 4 0 0 0-4-4H7a4 4 0 0 0-4 4v1M9.5 10a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7zM21 19v-1a4 4 0 0 0-3-3.87M15 3.13a3.5 3.5 0 0 1 0 6.75',
  audit: 'M9 4h6M9 4a2 2 0 0 0-2 2H5v15h14V6h-2a2 2 0 0 0-2-2M9 12h6M9 16h6',
  download: 'M12 4v11M7 10l5 5 5-5M5 20h14',
  restore: 'M4 12a8 8 0 1 0 2.3-5.6M4 4v5h5',
  trash: 'M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3',
  cancel: 'M6 6l12 12M18 6L6 18',
  close: 'M6 6l12 12M18 6L6 18',
  play: 'M7 4l13 8-13 8z',
  edit: 'M4 20h4L19 9l-4-4L4 16zM14 6l4 4',
  key: 'M15 7a4 4 0 1 1-3.9 4.9L4 19v2h3v-2h2v-2h2l1.1-1.1A4 4 0 0 1 15 7zM16 10h.01',
  plus: 'M12 5v14M5 12h14',
  menu: 'M4 6h16M4 12h16M4 18h16',
  logout: 'M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10',
  refresh: 'M20 11a8 8 0 0 0-14.9-3M4 4v4h4M4 13a8 8 0 0 0 14.9 3M20 20v-4h-4',
  bolt: 'M13 3L5 14h6l-1 7 8-11h-6z',
  lock: 'M6 11h12v9H6zM8 11V8a4 4 0 1 1 8 0v3',
  folder: 'M3 6h6l2 2h10v11H3z',
  browse: 'M3 6h6l2 2h10v11H3zM14 15.5l2 2M11.5 16a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5z',
  file: 'M6 3h8l4 4v14H6zM14 3v4h4',
  symlink: 'M6 3h8l4 4v14H6zM14 3v4h4M9 16l5-5M10 11h4v4',
  device: 'M5 5h14v14H5zM9 9h6v6H9z',
  fifo: 'M4 9h12M12 5l4 4-4 4M20 15H8M12 19l-4-4 4-4',
  search: 'M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14zM20 20l-4-4',
  check: 'M5 12l5 5L20 7',
};

export function icon(name) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '2');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', ICONS[name] || ICONS.archive);
  svg.append(path);
  return svg;
}

// An icon-only button with an accessible name (and the same text as tooltip).
export function iconButton(name, label, onclick, extra = {}) {
  return h('button', {type: 'button', class: `icon ${extra.class || ''}`.trim(), 'aria-label': label,
                      title: extra.title || label, onclick, disabled: extra.disabled,
                      dataset: extra.dataset}, icon(name));
}

let toastHost = null;
// A short-lived message in the corner, announced to screen readers.
export function toast(message, kind = 'info') {
  if (!toastHost) {
    toastHost = h('div', {class: 'toasts', role: 'status', 'aria-live': 'polite'});
    document.body.append(toastHost);
  }
  const el = h('div', {class: `toast ${kind}`}, message);
  toastHost.append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

// An alert region whose text shows errors next to the control that caused them.
export function alertBox(kind = 'error') {
  return h('div', {class: `alert ${kind}`, role: kind === 'error' ? 'alert' : 'status'});
}
