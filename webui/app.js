// SPDX-License-Identifier: GPL-2.0-or-later
// Shared helpers of the Web UI pages: building DOM nodes (never from HTML strings), talking to the
// API with relative URLs (so a path prefix before the pages works), and formatting.
'use strict';

const RT = {};

// el('p', {class: 'x'}, 'text', child…): an element with attributes and text or node children.
RT.el = function (tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return e;
};

RT.svg = function (tag, attrs, ...children) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const c of children) e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return e;
};

RT.clear = function (node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
};

// GET or POST a path (with an optional body) relative to the page; resolves to {status, headers, text} (never rejects on
// an HTTP error status; a network failure becomes status 0 with the reason as text).
RT.request = async function (method, path, headers, body) {
  try {
    const r = await fetch(path, { method, headers: headers || {}, body, cache: 'no-store',
                                  credentials: 'same-origin', redirect: 'manual' });
    return { status: r.status, headers: r.headers, text: await r.text() };
  } catch (e) {
    return { status: 0, headers: new Headers(), text: 'The server cannot be reached (' + e.message + ')' };
  }
};

// A server's answer in words: its one-line error text when it has one.
RT.describe = function (status, text) {
  const reasons = { 0: 'no answer', 400: 'bad request', 403: 'forbidden', 404: 'not found',
                    405: 'method not allowed', 409: 'conflict', 410: 'archived', 411: 'length required', 413: 'too large',
                    415: 'unsupported type', 429: 'too many attempts', 500: 'server error', 503: 'server busy',
                    507: 'server disk full' };
  const line = (text || '').trim().split('\n')[0];
  return (line || reasons[status] || 'error') + (status ? ' (HTTP ' + status + ')' : '');
};

// /settings as an object: numbers for the sizes and loads, lists for the plural keys.
RT.settings = async function () {
  const r = await RT.request('GET', 'settings');
  if (r.status !== 200) throw new Error(RT.describe(r.status, r.text));
  const out = {};
  for (const line of r.text.split('\n')) {
    const i = line.indexOf(' ');
    if (i <= 0) continue;
    const k = line.slice(0, i), v = line.slice(i + 1).trim();
    out[k] = /^supported_/.test(k) ? v.split(/\s+/).filter(Boolean) : (/^\d+$/.test(v) ? Number(v) : v);
  }
  return out;
};

RT.formatBytes = function (n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : String(n)) + ' ' + units[i];
};

RT.formatSeconds = function (s) {
  if (!isFinite(s) || s < 0) return '–';
  if (s < 10) return s.toFixed(1) + ' s';
  if (s < 120) return Math.round(s) + ' s';
  const m = Math.floor(s / 60);
  return m < 120 ? m + ' min ' + Math.round(s % 60) + ' s' : Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
};

RT.formatTime = function (epoch) {
  if (!epoch) return '–';
  return new Date(epoch * 1000).toLocaleString();
};

// The page's query parameter, or null.
RT.param = function (name) {
  return new URLSearchParams(window.location.search).get(name);
};

// Task passwords and the task manager's credential stay in this tab's session storage; they are
// sent only in request headers, never put in a URL.
RT.taskPassword = {
  get: (id) => sessionStorage.getItem('task-password:' + id),
  set: (id, pw) => sessionStorage.setItem('task-password:' + id, pw),
  forget: (id) => sessionStorage.removeItem('task-password:' + id),
};
RT.managerPassword = {
  get: () => sessionStorage.getItem('manager-password'),
  set: (pw) => sessionStorage.setItem('manager-password', pw),
  forget: () => sessionStorage.removeItem('manager-password'),
};

// Shows a message in a live region (role=status or role=alert in the page).
RT.say = function (node, text, kind) {
  node.textContent = text;
  node.className = 'message' + (kind ? ' ' + kind : '');
  node.hidden = !text;
};

// A download of text made in the browser (no round trip, no URL with secrets).
RT.download = function (name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const a = RT.el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
};

// Marks the navigation link of the current page.
document.addEventListener('DOMContentLoaded', () => {
  const page = document.body.dataset.page;
  for (const a of document.querySelectorAll('nav a[data-page]'))
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page');
});
