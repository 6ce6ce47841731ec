// SPDX-License-Identifier: GPL-2.0-or-later
// Task manager: log in with the TaskManagerPassword (kept in this tab's session storage, sent in the
// X-Manager-Password header), list and filter tasks (also by their case and notes), open, restart or
// delete one (the task page edits a task's notes), create one from a URL or a file of DropDir
// (POST manager/remote) and follow its download in the list.
'use strict';

function headers() {
  return { 'X-Manager-Password': RT.managerPassword.get() || '' };
}

function message(text, kind) {
  RT.say(document.getElementById('manager-message'), text, kind);
}

async function act(id, action) {
  if (action === 'delete' && !window.confirm('Delete task ' + id + ' and its crash data?')) return;
  const r = await RT.request('POST', 'manager/' + id + '/' + action, headers());
  if (r.status === 200) message('Task ' + id + (action === 'delete' ? ' deleted.' : ' restarted.'), 'ok');
  else message('Task ' + id + ': ' + action + ' failed: ' + RT.describe(r.status, r.text), 'error');
  await list();
}

let refresh = null;
let following = null; // a task just created here: followed until it runs or ends

async function createRemote() {
  const h = headers();
  h['X-Remote-Source'] = document.getElementById('remote-source').value.trim();
  h['X-Task-Type'] = document.getElementById('remote-type').value;
  const digest = document.getElementById('remote-digest').value.trim();
  if (digest) h['X-Remote-Digest'] = digest;
  const r = await RT.request('POST', 'manager/remote', h);
  const out = document.getElementById('remote-created');
  if (r.status !== 201) {
    out.hidden = true;
    message('Cannot create the task: ' + RT.describe(r.status, r.text), 'error');
    return;
  }
  const id = r.headers.get('X-Task-Id');
  RT.taskPassword.set(id, r.headers.get('X-Task-Password'));
  following = id;
  message('');
  RT.clear(out).append('Task ', RT.el('a', { href: 'task.html?id=' + id + '&manager=1', 'data-id': id }, id),
                       ' created (its password, for the one who reported the crash: ',
                       RT.el('code', {}, r.headers.get('X-Task-Password')), ').');
  out.hidden = false;
  document.getElementById('remote-form').reset();
  await list();
}

async function list() {
  clearTimeout(refresh);
  const params = new URLSearchParams();
  const status = document.getElementById('filter-status').value;
  const q = document.getElementById('filter-q').value.trim();
  if (status) params.set('status', status);
  if (q) params.set('q', q);
  params.set('limit', '200');
  const r = await RT.request('GET', 'manager/tasks?' + params.toString(), headers());
  if (r.status === 403) {
    RT.managerPassword.forget();
    document.getElementById('manager-view').hidden = true;
    document.getElementById('login-form').hidden = false;
    message(RT.describe(r.status, r.text), 'error');
    document.getElementById('manager-password').focus();
    return false;
  }
  if (r.status !== 200) {
    message('Cannot list the tasks: ' + RT.describe(r.status, r.text), 'error');
    return false;
  }
  const tasks = JSON.parse(r.text).tasks;
  const body = RT.clear(document.querySelector('#tasks tbody'));
  const labels = { PENDING: 'running', FINISHED_SUCCESS: 'success', FINISHED_FAILURE: 'failed' };
  for (const t of tasks) {
    const restart = RT.el('button', { type: 'button', 'data-action': 'restart', 'data-id': t.id,
                                      disabled: t.status === 'PENDING' }, 'Restart');
    const del = RT.el('button', { type: 'button', 'data-action': 'delete', 'data-id': t.id, class: 'danger' }, 'Delete');
    restart.setAttribute('aria-label', 'Restart task ' + t.id);
    del.setAttribute('aria-label', 'Delete task ' + t.id);
    restart.addEventListener('click', () => act(t.id, 'restart'));
    del.addEventListener('click', () => act(t.id, 'delete'));
    body.append(RT.el('tr', { 'data-id': t.id },
                      RT.el('td', {}, RT.el('a', { href: 'task.html?id=' + t.id + '&manager=1' }, String(t.id))),
                      RT.el('td', {}, RT.el('span', { class: 'badge ' + (labels[t.status] || '') },
                                            labels[t.status] || t.status), ' ', t.stage,
                            t.progress ? RT.el('span', { class: 'progress', 'data-phase': t.progress.phase },
                                               ': ' + t.progress.text) : ''),
                      RT.el('td', {}, t.package || '–'),
                      RT.el('td', {}, t.release || '–'),
                      RT.el('td', { class: 'notes-cell' },
                            t.case ? RT.el('strong', {}, t.case) : '', t.case && t.notes ? ' ' : '',
                            t.notes ? (t.notes.split('\n')[0].slice(0, 80) + (t.notes.length > 80 || t.notes.includes('\n') ? '…' : '')) : '',
                            !t.case && !t.notes ? '–' : ''),
                      RT.el('td', {}, RT.formatTime(t.created)),
                      RT.el('td', { class: 'actions' }, restart, ' ', del)));
  }
  document.getElementById('tasks-caption').textContent = tasks.length + (tasks.length === 1 ? ' task' : ' tasks') +
    (status || q ? ' matching the filter' : '') + ', newest first';
  document.getElementById('manager-view').hidden = false;
  document.getElementById('manager-view').dataset.loaded = String(Date.now());
  // Tasks fetching their crash data: the list follows them.
  if (!tasks.some((t) => String(t.id) === following && t.status === 'PENDING')) following = null;
  if (following || tasks.some((t) => t.progress)) refresh = setTimeout(list, 1000);
  return true;
}

document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    RT.managerPassword.set(document.getElementById('manager-password').value);
    message('');
    if (await list()) document.getElementById('login-form').hidden = true;
  });
  document.getElementById('filter-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    list();
  });
  document.getElementById('remote-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    createRemote();
  });
  document.getElementById('logout').addEventListener('click', () => {
    RT.managerPassword.forget();
    window.location.reload();
  });
  if (RT.managerPassword.get()) list();
  else document.getElementById('login-form').hidden = false;
});
