// SPDX-License-Identifier: GPL-2.0-or-later
// Submit page: an ABRT archive as it is, or an archive built here from a core file and its facts (or
// from a vmcore); the size checked against /settings before any byte is sent; upload with progress.
'use strict';

const Submit = { settings: null };

const MAGIC = [
  { bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], type: 'application/x-xz-compressed-tar' },
  { bytes: [0x1f, 0x8b], type: 'application/x-gzip' },
];

async function archiveContentType(file) {
  const head = new Uint8Array(await file.slice(0, 6).arrayBuffer());
  for (const m of MAGIC)
    if (m.bytes.every((b, i) => head[i] === b)) return m.type;
  return 'application/x-tar';
}

function kind() {
  return document.querySelector('input[name=kind]:checked').value;
}

function showPart() {
  for (const k of ['archive', 'core', 'vmcore'])
    document.getElementById('part-' + k).hidden = k !== kind();
}

// A release id is DISTRIBUTION-VERSION-ARCH; the daemon reads os_info's ID and VERSION_ID.
function osInfo(release) {
  const parts = release.split('-');
  if (parts.length < 3) return null;
  parts.pop();
  const version = parts.pop();
  return 'ID=' + parts.join('-') + '\nVERSION_ID=' + version + '\n';
}

// What to upload: {blob, type, taskType, unpacked} or a thrown Error whose message is shown.
async function buildUpload() {
  const k = kind();
  if (k === 'archive') {
    const f = document.getElementById('archive-file').files[0];
    if (!f) throw new Error('Choose the archive of the problem directory.');
    return { blob: f, type: await archiveContentType(f), taskType: 0, unpacked: 0 };
  }
  if (k === 'core') {
    const f = document.getElementById('core-file').files[0];
    const exe = document.getElementById('core-executable').value.trim();
    const pkg = document.getElementById('core-package').value.trim();
    const release = document.getElementById('core-release').value;
    if (!f) throw new Error('Choose the core file.');
    if (!exe.startsWith('/')) throw new Error('The executable must be an absolute path, like /usr/bin/crashy.');
    if (!/^[A-Za-z0-9._+~:^-]+$/.test(pkg))
      throw new Error('The package must be name-version-release, like crashy-1.0-1.fc40.');
    const info = release ? osInfo(release) : null;
    if (!info) throw new Error('Pick the release the crash happened on.');
    const members = [{ name: 'coredump', data: f }, { name: 'executable', data: exe },
                     { name: 'package', data: pkg }, { name: 'os_info', data: info }];
    return { blob: RTTar.build(members), type: 'application/x-tar', taskType: 0, unpacked: f.size };
  }
  const f = document.getElementById('vmcore-file').files[0];
  if (!f) throw new Error('Choose the vmcore.');
  return { blob: RTTar.build([{ name: 'vmcore', data: f }]), type: 'application/x-tar', taskType: 2,
           unpacked: f.size };
}

function upload(u) {
  const box = document.getElementById('progress-box');
  const bar = document.getElementById('progress');
  const text = document.getElementById('progress-text');
  box.hidden = false;
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', 'create');
    xhr.setRequestHeader('Content-Type', u.type);
    xhr.setRequestHeader('X-Task-Type', String(u.taskType));
    let lastPercent = -1;
    xhr.upload.addEventListener('progress', (ev) => {
      if (!ev.lengthComputable) return;
      const p = Math.floor((ev.loaded * 100) / ev.total);
      bar.value = p;
      if (p !== lastPercent && (p % 10 === 0 || p === 100)) {
        text.textContent = p + ' % of ' + RT.formatBytes(ev.total);
        lastPercent = p;
      }
    });
    xhr.addEventListener('load', () => resolve({ status: xhr.status, text: xhr.responseText,
                                                  id: xhr.getResponseHeader('X-Task-Id'),
                                                  password: xhr.getResponseHeader('X-Task-Password') }));
    xhr.addEventListener('error', () => resolve({ status: 0, text: 'The connection to the server failed' }));
    xhr.addEventListener('abort', () => resolve({ status: 0, text: 'The upload was cancelled' }));
    xhr.send(u.blob);
  });
}

async function onSubmit(ev) {
  ev.preventDefault();
  const msg = document.getElementById('submit-message');
  const button = document.getElementById('submit-button');
  RT.say(msg, '');
  let u;
  try {
    u = await buildUpload();
  } catch (e) {
    RT.say(msg, e.message, 'error');
    return;
  }
  const s = Submit.settings;
  if (s) {
    const max = s.max_packed_size * 1048576, maxUnpacked = s.max_unpacked_size * 1048576;
    if (u.blob.size > max) {
      RT.say(msg, 'The upload is ' + RT.formatBytes(u.blob.size) + ', larger than the ' + s.max_packed_size +
             ' MiB this server accepts. Compress it (xz) or ask the administrator to raise MaxPackedSize.',
             'error');
      return;
    }
    if (u.unpacked > maxUnpacked) {
      RT.say(msg, 'The crash data is ' + RT.formatBytes(u.unpacked) + ', larger than the ' +
             s.max_unpacked_size + ' MiB this server unpacks.', 'error');
      return;
    }
  }
  button.disabled = true;
  const r = await upload(u);
  button.disabled = false;
  if (r.status === 201 && r.id && r.password) {
    RT.taskPassword.set(r.id, r.password);
    RT.say(msg, 'Task ' + r.id + ' created; opening it…', 'ok');
    window.location.href = 'task.html?id=' + encodeURIComponent(r.id) + '&new=1';
    return;
  }
  document.getElementById('progress-box').hidden = true;
  RT.say(msg, 'The server refused the upload: ' + RT.describe(r.status, r.text), 'error');
}

document.addEventListener('DOMContentLoaded', async () => {
  for (const r of document.querySelectorAll('input[name=kind]')) r.addEventListener('change', showPart);
  showPart();
  document.getElementById('submit-form').addEventListener('submit', onSubmit);
  const limits = document.getElementById('limits');
  try {
    const s = await RT.settings();
    Submit.settings = s;
    limits.textContent = 'This server accepts uploads up to ' + s.max_packed_size + ' MiB (' +
      s.max_unpacked_size + ' MiB unpacked). Load: ' + s.running_tasks + ' of ' + s.max_running_tasks + '.';
    const sel = document.getElementById('core-release');
    for (const r of s.supported_releases || []) sel.append(RT.el('option', { value: r }, r));
    if (!sel.options.length) sel.append(RT.el('option', { value: '' }, 'no release is supported yet'));
  } catch (e) {
    limits.textContent = 'Cannot read the server settings: ' + e.message;
  }
});
