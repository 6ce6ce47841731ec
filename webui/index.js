// SPDX-License-Identifier: GPL-2.0-or-later
// Landing page: load, limits and releases from /settings; the URL to give ABRT; open a task.
'use strict';

document.addEventListener('DOMContentLoaded', async () => {
  const base = new URL('./', window.location.href).href;
  for (const e of document.querySelectorAll('.base-url')) e.textContent = base;

  document.getElementById('open-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = document.getElementById('open-id').value.trim();
    RT.taskPassword.set(id, document.getElementById('open-password').value);
    window.location.href = 'task.html?id=' + encodeURIComponent(id);
  });

  try {
    const s = await RT.settings();
    document.getElementById('load').textContent =
      s.running_tasks + ' of ' + s.max_running_tasks + ' places taken (running and waiting tasks)';
    document.getElementById('max-size').textContent =
      s.max_packed_size + ' MiB packed, ' + s.max_unpacked_size + ' MiB unpacked';
    const list = RT.clear(document.getElementById('releases'));
    for (const r of s.supported_releases || []) list.append(RT.el('li', {}, RT.el('code', {}, r)));
    if (!list.firstChild) list.append(RT.el('li', {}, 'none yet: the server has no synced release'));
  } catch (e) {
    RT.say(document.getElementById('index-error'), 'Cannot read the server settings: ' + e.message, 'error');
  }
});
