// SPDX-License-Identifier: GPL-2.0-or-later
// The task page's interactive session: gdb (crash for a vmcore) on the task's environment in an
// xterm.js terminal over the WebSocket of PROTOCOL.md ("Our additions"): POST <id>/interact with the
// task's password gives a one-time token, <id>/interact?token=… opens the socket; binary frames carry
// the terminal's bytes both ways, a text frame {"resize": [cols, rows]} follows the terminal's size.
'use strict';

const RTTerminal = { id: null, headers: null, term: null, fit: null, ws: null, sheet: null, offered: false };

// xterm.js writes its dynamic styles (colours, cell sizes) into <style> elements and some cells' colours
// into style attributes, both of which the page's Content-Security-Policy (style-src 'self', nothing
// inline) refuses. So the <style> elements it asks for are inert hidden <div>s whose text goes into a
// constructed style sheet, and a style attribute becomes the same declarations set through the CSSOM;
// the policy allows both, so it stays strict. (This page's own code sets no style attribute.)
function mirrorStyles(container) {
  if (!('adoptedStyleSheets' in document) || typeof CSSStyleSheet === 'undefined') return;
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (String(name).toLowerCase() === 'style' && this.style) {
      this.style.cssText = String(value);
      return;
    }
    setAttribute.call(this, name, value);
  };
  const create = document.createElement.bind(document);
  document.createElement = function (tag, options) {
    if (String(tag).toLowerCase() !== 'style') return create(tag, options);
    const holder = create('div');
    holder.hidden = true;
    holder.className = 'rt-xterm-style';
    return holder;
  };
  RTTerminal.sheet = new CSSStyleSheet();
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, RTTerminal.sheet];
  const sync = () => {
    const text = Array.from(container.querySelectorAll('.rt-xterm-style')).map((s) => s.textContent).join('\n');
    try {
      RTTerminal.sheet.replaceSync(text);
    } catch (e) {
      // a rule the browser does not know: the others apply at the next change
    }
  };
  new MutationObserver(sync).observe(container, { subtree: true, childList: true, characterData: true });
  sync();
}

function termStatus(text, kind) {
  const p = document.getElementById('term-status');
  p.textContent = text;
  p.className = 'term-status ' + (kind || '');
  document.getElementById('terminal-section').dataset.state = kind || '';
}

function sendResize() {
  const ws = RTTerminal.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  ws.send(JSON.stringify({ resize: [RTTerminal.term.cols, RTTerminal.term.rows] }));
}

function ensureTerminal() {
  if (RTTerminal.term) return true;
  if (typeof Terminal === 'undefined' || typeof FitAddon === 'undefined') {
    termStatus('The terminal is not installed on this server (xterm.js is missing from the Web UI).', 'error');
    return false;
  }
  const container = document.getElementById('terminal');
  mirrorStyles(container);
  const term = new Terminal({ convertEol: false, cursorBlink: true, scrollback: 5000,
                              fontFamily: 'monospace', fontSize: 14 });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(container);
  fit.fit();
  term.onData((data) => {
    const ws = RTTerminal.ws;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(new TextEncoder().encode(data));
  });
  term.onBinary((data) => {
    const ws = RTTerminal.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const bytes = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 255;
    ws.send(bytes);
  });
  term.onResize(sendResize);
  window.addEventListener('resize', () => fit.fit());
  RTTerminal.term = term;
  RTTerminal.fit = fit;
  return true;
}

function ended(reason) {
  const section = document.getElementById('terminal-section');
  section.classList.add('ended');
  if (RTTerminal.term) {
    RTTerminal.term.options.disableStdin = true;
    RTTerminal.term.write('\r\n\x1b[7m Session ended' + (reason ? ': ' + reason : '') + ' \x1b[0m\r\n');
  }
  termStatus('Session ended' + (reason ? ': ' + reason : '') + '. Start a new one to continue.', 'ended');
  const start = document.getElementById('term-start');
  start.disabled = false;
  start.textContent = 'Start a new session';
  document.getElementById('term-log').hidden = false;
  RTTerminal.ws = null;
}

async function startSession() {
  const start = document.getElementById('term-start');
  start.disabled = true;
  termStatus('Starting the session…', 'starting');
  const r = await RT.request('POST', encodeURIComponent(RTTerminal.id) + '/interact', RTTerminal.headers());
  if (r.status !== 201) {
    termStatus('No session: ' + RT.describe(r.status, r.text), 'error');
    start.disabled = false;
    return;
  }
  const token = JSON.parse(r.text).token;
  if (!ensureTerminal()) {
    start.disabled = false;
    return;
  }
  const section = document.getElementById('terminal-section');
  section.classList.remove('ended');
  document.getElementById('terminal').hidden = false;
  RTTerminal.fit.fit();
  RTTerminal.term.options.disableStdin = false;
  RTTerminal.term.reset();
  const url = new URL(encodeURIComponent(RTTerminal.id) + '/interact?token=' + encodeURIComponent(token),
                      window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(url.href);
  ws.binaryType = 'arraybuffer';
  RTTerminal.ws = ws;
  let closed = false;
  ws.addEventListener('open', () => {
    termStatus('Connected: the task\'s debugger runs in the server\'s sandbox. Type "quit" to end.', 'open');
    sendResize();
    RTTerminal.term.focus();
  });
  ws.addEventListener('message', (ev) => {
    if (ev.data instanceof ArrayBuffer) RTTerminal.term.write(new Uint8Array(ev.data));
    else RTTerminal.term.write(String(ev.data));
  });
  ws.addEventListener('close', (ev) => {
    if (closed) return;
    closed = true;
    ended(ev.reason || (ev.code === 1006 ? 'the connection was refused or lost' : ''));
  });
}

async function copySelection() {
  const text = RTTerminal.term ? RTTerminal.term.getSelection() : '';
  const out = document.getElementById('term-copied');
  if (!text) {
    out.textContent = 'Select text in the terminal first.';
    return;
  }
  try {
    await navigator.clipboard.writeText(text);
    out.textContent = 'Copied.';
  } catch (e) {
    out.textContent = 'The browser refused the clipboard; copy with the context menu instead.';
  }
}

async function downloadLog() {
  const r = await RT.request('GET', encodeURIComponent(RTTerminal.id) + '/interact/log', RTTerminal.headers());
  if (r.status !== 200) {
    termStatus('No session log: ' + RT.describe(r.status, r.text), 'error');
    return;
  }
  RT.download('session-' + RTTerminal.id + '.txt', r.text);
}

// Called by the task page once the task finished successfully (never for the task manager's view):
// the section appears when the server says this task allows sessions (GET <id>/interact/status).
RTTerminal.offer = async function (id, headers) {
  RTTerminal.id = id;
  RTTerminal.headers = headers;
  const section = document.getElementById('terminal-section');
  if (!section || !section.hidden || RTTerminal.offered) return;
  RTTerminal.offered = true;
  const r = await RT.request('GET', encodeURIComponent(id) + '/interact/status', headers());
  let st = null;
  try {
    st = r.status === 200 ? JSON.parse(r.text) : null;
  } catch (e) {
    st = null;
  }
  if (!st || !st.available) return;
  document.getElementById('term-what').textContent = st.kind === 'crash' ? 'crash on the vmcore' : 'gdb on the core';
  section.hidden = false;
  if (st.busy) termStatus('A session of this task is open elsewhere; it can start here once that one ended.', 'busy');
  document.getElementById('term-start').addEventListener('click', startSession);
  document.getElementById('term-copy').addEventListener('click', copySelection);
  document.getElementById('term-log').addEventListener('click', downloadLog);
};
