// SPDX-License-Identifier: GPL-2.0-or-later
// Task page: follows a task live (GET <id>/status every second), then shows its backtrace (crashing
// thread first, frames as rows, other threads collapsed), exploitability and log. The password comes
// from this tab's session storage or the form and goes only into the X-Task-Password header. With
// ?manager=1 the task manager's credential opens any task through manager/<id>/….
'use strict';

const Task = { id: null, manager: false, timer: null, lastStage: null, backtrace: '', log: '' };

const POLL_MS = 1000;
const SECTION_HEADERS = ['Crashing thread:', 'All threads:', 'Python stack of the crashing thread:', 'Abort message:',
                         'Shared libraries:', 'Registers:',
                         'Disassembly around the crashing instruction:'];
// The sections of a vmcore result (daemon/daemon-crash.c), in their order.
const KERNEL_SECTION = /^(Panicking task|System|Kernel log(?: \(.*\))?|Active tasks \(bt -a\)|Processes \(ps\)|Memory \(kmem -i\)|Modules \(mod\)):$/;
// crash's "bt": " #1 [ffffc900] sysrq_handle_crash at ffffffff8188a8a6 [module]"
const KERNEL_FRAME = /^\s*#(\d+) \[([0-9a-f]+)\] (\S+) at ([0-9a-f]+)(?: \[(\S+)\])?/;

function base() {
  return (Task.manager ? 'manager/' : '') + encodeURIComponent(Task.id);
}

function authHeaders() {
  return Task.manager ? { 'X-Manager-Password': RT.managerPassword.get() || '' }
                      : { 'X-Task-Password': RT.taskPassword.get(Task.id) || '' };
}

function fail(text) {
  clearTimeout(Task.timer);
  RT.say(document.getElementById('task-message'), text, 'error');
}

function showForm(id) {
  const form = document.getElementById('task-form');
  form.hidden = false;
  if (id) document.getElementById('task-id').value = id;
  document.getElementById(id ? 'task-password' : 'task-id').focus();
}

// Stage rows: the wait in the queue, then each stage the store recorded, with its duration (the
// running one counted up to the server's "now").
function renderStages(st) {
  const body = RT.clear(document.querySelector('#stages tbody'));
  const rows = [];
  const firstStart = st.stages.length ? st.stages[0].started : (st.status === 'PENDING' ? st.now : null);
  rows.push({ stage: 'Waiting in the queue', started: st.created, ended: firstStart || st.now });
  st.stages.forEach((s, i) => {
    const next = st.stages[i + 1];
    const last = !next;
    rows.push({ stage: s.stage, started: s.started,
                ended: next ? next.started : (st.status === 'PENDING' ? st.now : s.started), final: last && st.status !== 'PENDING' });
  });
  for (const r of rows) {
    const current = st.status === 'PENDING' && r === rows[rows.length - 1];
    body.append(RT.el('tr', current ? { 'aria-current': 'step', class: 'current' } : {},
                      RT.el('td', {}, r.stage),
                      RT.el('td', {}, RT.formatTime(r.started)),
                      RT.el('td', {}, r.final ? 'done' : RT.formatSeconds(r.ended - r.started) +
                            (current ? ' (running)' : ''))));
  }
}

async function poll() {
  const r = await RT.request('GET', base() + '/status', authHeaders());
  if (r.status === 403) {
    if (!Task.manager) RT.taskPassword.forget(Task.id);
    fail(RT.describe(r.status, r.text) + (Task.manager ? '. Log in to the task manager again.'
                                                      : '. Enter the task\'s password.'));
    document.getElementById('task-view').hidden = true;
    if (!Task.manager) showForm(Task.id);
    return;
  }
  if (r.status !== 200) {
    fail('Cannot read task ' + Task.id + ': ' + RT.describe(r.status, r.text));
    return;
  }
  const st = JSON.parse(r.text);
  document.getElementById('task-view').hidden = false;
  const badge = document.getElementById('status-badge');
  const labels = { PENDING: 'running', FINISHED_SUCCESS: 'success', FINISHED_FAILURE: 'failed' };
  badge.textContent = labels[st.status] || st.status;
  badge.className = 'badge ' + (labels[st.status] || '');
  if (st.stage !== Task.lastStage) {
    document.getElementById('status-text').textContent = st.stage;
    Task.lastStage = st.stage;
  }
  renderStages(st);
  renderBucket(st.bucket);
  const waiting = document.getElementById('waiting');
  waiting.textContent = st.waiting ? 'This task is ' + st.waiting + ': it runs again by itself when a sync brings it.' : '';
  waiting.hidden = !st.waiting;
  renderProgress(st.progress);
  renderNotes(st);
  document.getElementById('task-view').dataset.status = st.status;
  if (st.status === 'PENDING') {
    Task.timer = setTimeout(poll, POLL_MS);
    return;
  }
  await loadResults(st);
}

// A task from a URL or DropDir: how far its download, digest or unpacking is.
function renderProgress(p) {
  const line = document.getElementById('progress-line');
  const bar = document.getElementById('progress');
  line.hidden = !p;
  if (!p) return;
  const what = { download: 'Downloading', digest: 'Checking the digest', unpack: 'Unpacking' }[p.phase] || p.phase;
  if (p.total > 0) bar.value = Math.min(100, Math.floor(p.done * 100 / p.total));
  else bar.removeAttribute('value');
  document.getElementById('progress-text').textContent = what + ': ' + p.text;
  line.dataset.phase = p.phase;
}

// The task manager's notes and case reference (daemon/README.md, "Task manager notes"): shown to whoever
// may see the task; the manager's form is filled once, so that a poll never overwrites typing.
function renderNotes(st) {
  const notes = st.notes || '', caseRef = st.case || '';
  document.getElementById('case-ref').textContent = caseRef;
  document.getElementById('case-line').hidden = !caseRef;
  document.getElementById('notes').textContent = notes;
  document.getElementById('notes').hidden = !notes;
  document.getElementById('notes-view').hidden = !notes && !caseRef;
  if (Task.manager && !Task.notesFilled) {
    document.getElementById('notes-case').value = caseRef;
    document.getElementById('notes-text').value = notes;
    Task.notesFilled = true;
  }
}

async function saveNotes(ev) {
  ev.preventDefault();
  const body = JSON.stringify({ notes: document.getElementById('notes-text').value,
                                case: document.getElementById('notes-case').value.trim() });
  const r = await RT.request('POST', 'manager/' + encodeURIComponent(Task.id) + '/notes',
                             Object.assign({ 'Content-Type': 'application/json' }, authHeaders()), body);
  if (r.status !== 200) {
    RT.say(document.getElementById('task-message'), 'Saving the notes failed: ' + RT.describe(r.status, r.text), 'error');
    return;
  }
  RT.say(document.getElementById('task-message'), 'Notes of task ' + Task.id + ' saved.', 'ok');
  renderNotes(JSON.parse(r.text));
}

// The crash bucket (daemon/README.md, "Crash buckets"): how many other crashes share this one's
// duplicate hash; never which ones (they belong to others).
function renderBucket(bucket) {
  const p = document.getElementById('bucket');
  if (!bucket) {
    p.hidden = true;
    return;
  }
  const n = bucket.others;
  RT.clear(p).append(n === 0 ? 'No other crashes in this bucket' : n + ' other crash' + (n === 1 ? '' : 'es') + ' in this bucket',
                     ' (duplicate hash ', RT.el('code', {}, bucket.hash), ').');
  p.dataset.others = String(n);
  p.hidden = false;
}

async function fetchResult(name) {
  const r = await RT.request('GET', base() + '/' + name, authHeaders());
  return r.status === 200 ? r.text : null;
}

async function loadResults(st) {
  const [bt, ex, log, json] = await Promise.all([fetchResult('backtrace'), fetchResult('exploitable'),
                                                  fetchResult('log'), fetchResult('backtrace.json')]);
  let data = null;
  try {
    data = json !== null ? JSON.parse(json) : null;
  } catch (e) {
    data = null;
  }
  if (bt !== null) {
    Task.backtrace = bt;
    renderBacktrace(bt, st.type === 2 || st.type === 4, data);
    document.getElementById('backtrace-section').hidden = false;
  }
  if (ex !== null) {
    document.getElementById('exploitable').textContent = ex;
    document.getElementById('exploitable-section').hidden = false;
  }
  if (log !== null) {
    Task.log = log;
    renderLog(log);
    document.getElementById('log-section').hidden = false;
  }
  if (st.status === 'FINISHED_SUCCESS' && !Task.manager && typeof RTTerminal !== 'undefined')
    RTTerminal.offer(Task.id, authHeaders);
  document.getElementById('task-view').dataset.loaded = 'yes';
}

// "#3  0x… in func (args) at file.c:12" or "… from /lib/libfoo.so"; continuation lines are locals.
const FRAME = /^#(\d+)\s+(?:(0x[0-9a-f]+) in )?(\S+) \((.*)\)(?: at (.+):(\d+)| from (\S+))?\s*$/;

function parseFrames(text) {
  const frames = [];
  for (const line of text.split('\n')) {
    const m = FRAME.exec(line);
    if (m) {
      frames.push({ n: m[1], address: m[2] || '', func: m[3], args: m[4], file: m[5] || '', line: m[6] || '',
                    lib: m[7] || '', locals: [] });
    } else if (line.startsWith('#')) {
      frames.push({ n: line.slice(1).split(/\s/)[0], address: '', func: line, args: '', file: '', line: '', lib: '',
                    locals: [] });
    } else if (frames.length && /^\s+\S/.test(line)) {
      frames[frames.length - 1].locals.push(line.trim());
    }
  }
  return frames;
}

// backtrace.json's source_context of a frame: the lines around its line, that line marked.
function sourceContext(sc, line) {
  const width = String(sc.first_line + sc.lines.length - 1).length;
  const pre = RT.el('pre', { class: 'source-context' });
  sc.lines.forEach((text, i) => {
    const n = sc.first_line + i;
    pre.append(RT.el('span', n === line ? { class: 'current' } : {},
                     String(n).padStart(width, ' ') + (n === line ? ' > ' : '   ') + text + '\n'));
  });
  return RT.el('details', { class: 'source' }, RT.el('summary', {}, 'source'), pre);
}

function frameTable(frames, caption) {
  const body = RT.el('tbody');
  for (const f of frames) {
    const locals = f.locals.length
      ? RT.el('details', {}, RT.el('summary', {}, f.locals.length + (f.locals.length === 1 ? ' local' : ' locals')),
              RT.el('pre', {}, f.locals.join('\n')))
      : '';
    body.append(RT.el('tr', {},
                      RT.el('td', { class: 'num' }, f.n),
                      RT.el('td', { class: 'func' }, RT.el('code', {}, f.func)),
                      RT.el('td', { class: 'args' }, RT.el('code', {}, f.args)),
                      RT.el('td', { class: 'src' }, f.file ? RT.el('code', {}, f.file + ':' + f.line) : '',
                            f.source ? sourceContext(f.source, Number(f.line)) : ''),
                      RT.el('td', { class: 'lib' }, f.lib ? RT.el('code', {}, f.lib) : ''),
                      RT.el('td', {}, locals)));
  }
  return RT.el('div', { class: 'table-scroll' },
               RT.el('table', { class: 'frames' }, RT.el('caption', {}, caption),
                     RT.el('thead', {}, RT.el('tr', {}, ...['#', 'Function', 'Arguments', 'Source', 'Library', 'Locals']
                       .map((h) => RT.el('th', { scope: 'col' }, h)))),
                     body));
}

function splitSections(text) {
  const sections = { preamble: [] };
  let current = 'preamble';
  for (const line of text.split('\n')) {
    if (SECTION_HEADERS.includes(line)) {
      current = line.slice(0, -1);
      sections[current] = [];
    } else if (line.startsWith('Crashing thread: ')) {
      sections['Crashing thread'] = [line.slice('Crashing thread: '.length)];
    } else {
      sections[current].push(line);
    }
  }
  for (const k of Object.keys(sections)) sections[k] = sections[k].join('\n').trim();
  return sections;
}

// A vmcore result: the panic and any warning first, the panicking task's stack as rows (its register
// dump below), the kernel log open, the other sections collapsed.
function renderKernel(out, text) {
  const head = [];
  const sections = [];
  for (const line of text.split('\n')) {
    const m = KERNEL_SECTION.exec(line);
    if (m) sections.push({ title: m[1], lines: [] });
    else if (sections.length) sections[sections.length - 1].lines.push(line);
    else if (line) head.push(line);
  }
  for (const line of head) {
    const cls = /^Panic: /.test(line) ? 'panic' : /^(Warning|crash mode): /.test(line) ? 'kernel-warning' : 'preamble';
    out.append(RT.el('p', { class: cls }, line));
  }
  for (const sec of sections) {
    const body = sec.lines.join('\n').trim();
    if (sec.title === 'Panicking task') {
      const frames = [];
      const rest = [];
      for (const line of sec.lines) {
        const m = KERNEL_FRAME.exec(line);
        if (m) frames.push({ n: m[1], address: m[2], func: m[3], args: '', file: '', line: '', lib: m[5] || '', locals: [] });
        else if (line.trim()) rest.push(line);
      }
      out.append(RT.el('h3', {}, 'Panicking task'));
      if (rest.length && /^PID:/.test(rest[0])) out.append(RT.el('p', { class: 'task-line' }, RT.el('code', {}, rest.shift())));
      if (frames.length) out.append(frameTable(frames, 'Stack of the panicking task, innermost first'));
      if (rest.length) out.append(RT.el('details', {}, RT.el('summary', {}, 'Registers'), RT.el('pre', {}, rest.join('\n'))));
    } else {
      out.append(RT.el('details', { class: 'kernel-section', open: /^Kernel log/.test(sec.title) ? '' : null },
                       RT.el('summary', {}, sec.title), RT.el('pre', {}, body)));
    }
  }
  out.append(RT.el('details', {}, RT.el('summary', {}, 'The whole result as text'), RT.el('pre', {}, text)));
}

// backtrace.json (daemon/README.md) gives the structure: threads, frames, the crashing thread. The
// text adds only what the data leaves out, each frame's arguments and locals, found by thread number
// and frame index.
function dataFrames(thread, textFrames) {
  const byIndex = new Map(textFrames.map((f) => [String(f.n), f]));
  return thread.frames.map((f) => {
    const t = byIndex.get(String(f.index));
    return { n: String(f.index), address: f.address || '', func: f.function || '??', args: t ? t.args : '',
             file: f.file || '', line: f.line === null ? '' : String(f.line), lib: f.module || '',
             locals: t ? t.locals : [], source: f.source_context || null };
  });
}

function renderBacktraceData(out, text, sec, data) {
  const blocks = new Map();
  for (const b of (sec['All threads'] || '').split(/\n(?=Thread \d+ )/)) {
    const m = /^Thread (\d+) /.exec(b);
    if (m) blocks.set(Number(m[1]), parseFrames(b));
  }
  if (sec.preamble) out.append(RT.el('pre', { class: 'preamble' }, sec.preamble));
  const crashing = data.threads.find((t) => t.crashing) || data.threads[0];
  const title = (t) => 'Thread ' + t.number + (t.lwp !== null ? ' (LWP ' + t.lwp + ')' : '') +
    (t.crashing ? ' — crashed' : '') + (t.frames_cut ? ' — frames cut at the limit' : '');
  out.append(RT.el('h3', {}, 'Crashing thread'));
  if (data.signal_name) {
    out.append(RT.el('p', {}, data.signal_name + (data.fault_address ? ' at ' + data.fault_address : '')));
  }
  out.append(frameTable(dataFrames(crashing, blocks.get(crashing.number) || []),
                        'Frames of the crashing thread, innermost first'));
  if (sec['Abort message'])
    out.append(RT.el('h3', {}, 'Abort message'), RT.el('pre', {}, sec['Abort message']));
  out.append(RT.el('h3', {}, 'All threads (' + data.threads.length + ')'));
  for (const t of data.threads)
    out.append(RT.el('details', { class: 'thread' }, RT.el('summary', {}, title(t)),
                     frameTable(dataFrames(t, blocks.get(t.number) || []), title(t))));
  for (const k of ['Python stack of the crashing thread', 'Shared libraries', 'Registers',
                   'Disassembly around the crashing instruction'])
    if (sec[k]) out.append(RT.el('details', {}, RT.el('summary', {}, k), RT.el('pre', {}, sec[k])));
  out.append(RT.el('details', {}, RT.el('summary', {}, 'The whole backtrace as text'), RT.el('pre', {}, text)));
}

function renderBacktrace(text, kernel, data) {
  const out = RT.clear(document.getElementById('backtrace'));
  if (kernel && /^Panic: /.test(text)) {
    renderKernel(out, text);
    return;
  }
  const sec = splitSections(text);
  if (!kernel && data && Array.isArray(data.threads) && data.threads.length) {
    renderBacktraceData(out, text, sec, data);
    return;
  }
  if (kernel || !('Crashing thread' in sec || 'All threads' in sec)) {
    out.append(RT.el('pre', { class: 'raw' }, text));
    return;
  }
  if (sec.preamble) out.append(RT.el('pre', { class: 'preamble' }, sec.preamble));
  // "Crashing thread: N (…)" names the thread; its frames are in the "Thread N (…)" block of All threads.
  const crashing = /^(\d+) /.exec(sec['Crashing thread'] || '');
  const blocks = (sec['All threads'] || '').split(/\n(?=Thread \d+ )/);
  const own = blocks.find((b) => crashing && b.startsWith('Thread ' + crashing[1] + ' ')) || blocks[0] || '';
  out.append(RT.el('h3', {}, 'Crashing thread'));
  out.append(frameTable(parseFrames(own), 'Frames of the crashing thread, innermost first'));
  if (sec['Abort message'])
    out.append(RT.el('h3', {}, 'Abort message'), RT.el('pre', {}, sec['Abort message']));
  if (sec['All threads']) {
    const threads = [];
    for (const line of sec['All threads'].split('\n')) {
      if (/^Thread \d+ /.test(line)) threads.push({ title: line, lines: [] });
      else if (threads.length) threads[threads.length - 1].lines.push(line);
    }
    if (threads.length) out.append(RT.el('h3', {}, 'All threads (' + threads.length + ')'));
    for (const t of threads)
      out.append(RT.el('details', { class: 'thread' }, RT.el('summary', {}, t.title),
                       frameTable(parseFrames(t.lines.join('\n')), t.title)));
  }
  for (const k of ['Shared libraries', 'Registers', 'Disassembly around the crashing instruction'])
    if (sec[k]) out.append(RT.el('details', {}, RT.el('summary', {}, k), RT.el('pre', {}, sec[k])));
  out.append(RT.el('details', {}, RT.el('summary', {}, 'The whole backtrace as text'), RT.el('pre', {}, text)));
}

function renderLog(text) {
  const list = RT.clear(document.getElementById('log'));
  const names = { W: 'Warning', E: 'Error' };
  for (const line of text.split('\n')) {
    if (!line) continue;
    const m = /^\[[^\]]*\] \[([IWED])\]/.exec(line);
    const level = m ? m[1] : 'I';
    list.append(RT.el('li', { class: 'log-' + level },
                      names[level] ? RT.el('span', { class: 'visually-hidden' }, names[level] + ': ') : null, line));
  }
}

async function copyBacktrace() {
  const note = document.getElementById('bt-copied');
  try {
    await navigator.clipboard.writeText(Task.backtrace);
    note.textContent = 'Copied.';
  } catch (e) {
    const ta = RT.el('textarea', { class: 'visually-hidden', 'aria-hidden': 'true' });
    ta.value = Task.backtrace;
    document.body.append(ta);
    ta.select();
    note.textContent = document.execCommand('copy') ? 'Copied.' : 'Copying is not allowed here: use Download.';
    ta.remove();
  }
}

async function managerAction(action) {
  if (action === 'delete' && !window.confirm('Delete task ' + Task.id + ' and its crash data?')) return;
  const r = await RT.request('POST', 'manager/' + encodeURIComponent(Task.id) + '/' + action, authHeaders());
  if (r.status !== 200) {
    RT.say(document.getElementById('task-message'), action + ' failed: ' + RT.describe(r.status, r.text), 'error');
    return;
  }
  if (action === 'delete') {
    window.location.href = 'manager.html';
    return;
  }
  RT.say(document.getElementById('task-message'), 'Task ' + Task.id + ' restarted.', 'ok');
  for (const id of ['backtrace-section', 'exploitable-section', 'log-section'])
    document.getElementById(id).hidden = true;
  poll();
}

document.addEventListener('DOMContentLoaded', () => {
  Task.id = RT.param('id');
  Task.manager = RT.param('manager') === '1';
  document.getElementById('task-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = document.getElementById('task-id').value.trim();
    RT.taskPassword.set(id, document.getElementById('task-password').value);
    window.location.href = 'task.html?id=' + encodeURIComponent(id);
  });
  document.getElementById('bt-copy').addEventListener('click', copyBacktrace);
  document.getElementById('bt-download').addEventListener('click',
    () => RT.download('backtrace-' + Task.id + '.txt', Task.backtrace));
  document.getElementById('log-download').addEventListener('click',
    () => RT.download('log-' + Task.id + '.txt', Task.log));
  document.getElementById('task-restart').addEventListener('click', () => managerAction('restart'));
  document.getElementById('task-delete').addEventListener('click', () => managerAction('delete'));
  document.getElementById('notes-form').addEventListener('submit', saveNotes);

  if (!Task.id || !/^[0-9]{1,19}$/.test(Task.id)) {
    showForm(null);
    return;
  }
  document.getElementById('task-title').textContent = 'Task ' + Task.id;
  document.title = 'Task ' + Task.id + ' — Retrace Server';
  if (Task.manager) {
    document.getElementById('manager-actions').hidden = false;
  } else if (!RT.taskPassword.get(Task.id)) {
    RT.say(document.getElementById('task-message'), 'Enter the password of task ' + Task.id + '.', 'info');
    showForm(Task.id);
    return;
  }
  if (!Task.manager && RT.param('new') === '1') {
    const note = document.getElementById('password-note');
    note.hidden = false;
    note.append('Keep the password to open this task later (it is kept only in this browser tab): ',
                RT.el('details', { class: 'inline' }, RT.el('summary', {}, 'show the password'),
                      RT.el('code', { id: 'password-value' }, RT.taskPassword.get(Task.id))));
  }
  poll();
});
