// SPDX-License-Identifier: GPL-2.0-or-later
// The web suite's browser half (started by tests/test_web.py, which runs the daemon): Debian's
// chromium, headless, driven by playwright-core, through every page of the Web UI. Exits non-zero
// on the first failed check; a screenshot of each page goes to $WEB_ARTIFACTS.
'use strict';

const fs = require('fs');
const path = require('path');
const { cfg, check, checkIcon, shot, log, followStatus, crashFunctions, inOrder, launch, run } = require('./common.js');

const BASE = cfg.base_url;
const steps = { current: 'start' };

async function main() {
  const { context, page, problems } = await launch();

  steps.current = 'landing page';
  const resp = await page.goto(BASE);
  check(resp.status() === 200, 'GET / answered ' + resp.status());
  const csp = resp.headers()['content-security-policy'] || '';
  check(/script-src 'self'/.test(csp) && !/unsafe-inline/.test(csp), 'weak or no CSP on /: ' + csp);
  await page.waitForFunction(() => /testos-1-x86_64/.test(document.getElementById('releases').textContent));
  await checkIcon(page);
  await page.keyboard.press('Tab');
  check(await page.evaluate(() => document.activeElement.classList.contains('skip')),
        'the first Tab does not reach the skip link');
  await shot(page, 'index');

  steps.current = 'submit a core file with its facts';
  await page.goto(BASE + 'submit.html');
  await page.waitForFunction(() => document.querySelectorAll('#core-release option[value]').length > 0 &&
                                    document.getElementById('core-release').value !== '');
  await page.check('input[name=kind][value=core]');
  await page.setInputFiles('#core-file', path.join(cfg.crash_dir, 'coredump'));
  await page.fill('#core-executable', cfg.executable);
  await page.fill('#core-package', cfg.package);
  await page.selectOption('#core-release', cfg.release);
  await shot(page, 'submit');
  await Promise.all([page.waitForURL(/task\.html\?id=\d+/, { timeout: 60000 }), page.click('#submit-button')]);
  const url = new URL(page.url());
  check(!/password/i.test(url.search) && !url.hash, 'the task URL carries more than the id: ' + page.url());
  const coreTask = url.searchParams.get('id');
  const password = await page.evaluate((id) => sessionStorage.getItem('task-password:' + id), coreTask);
  check(password && password.length >= 22, 'no task password kept in the tab');
  let navigations = 0;
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
  const r1 = await followStatus(page);
  log('task ' + coreTask + ' statuses seen live: ' + JSON.stringify(r1.seen));
  check(navigations === 0, 'the task page reloaded itself while following the task');
  check(r1.status === 'FINISHED_SUCCESS', 'the core task ended ' + r1.status + ': ' + JSON.stringify(r1.seen));
  check(r1.seen.length >= 2 && r1.seen[0] !== 'Retrace job finished successfully',
        'the status did not change live on the page: ' + JSON.stringify(r1.seen));
  const stages = await page.$$eval('#stages tbody tr td:first-child', (tds) => tds.map((t) => t.textContent));
  for (const s of ['Waiting in the queue', 'Analyzing crash data', 'Generating backtrace'])
    check(stages.includes(s), 'stage ' + s + ' missing from the stage table: ' + JSON.stringify(stages));
  const funcs = await crashFunctions(page);
  check(inOrder(funcs, cfg.functions), 'crashing thread shows ' + JSON.stringify(funcs) + ', expected in order ' +
        JSON.stringify(cfg.functions));
  // Source context of the crashing thread's frames (backtrace.json): the first frame's lines hold the
  // TestOS source's @line marker of its function.
  const firstSource = await page.$eval('#backtrace table.frames tbody tr td.src', (td) => {
    const pre = td.querySelector('details.source pre');
    return pre ? { text: pre.textContent, current: pre.querySelector('.current').textContent } : null;
  });
  check(firstSource && firstSource.current.includes('@line ' + cfg.functions[0]),
        'the first frame has no source context with its line marked: ' + JSON.stringify(firstSource));
  await checkIcon(page);
  const logLines = await page.$$eval('#log li', (lis) => lis.length);
  check(logLines > 3, 'the log has ' + logLines + ' lines');
  check(await page.isVisible('#exploitable-section'), 'no exploitability shown');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#bt-download')]);
  const dlPath = path.join(cfg.tmp, 'backtrace-download.txt');
  await download.saveAs(dlPath);
  check(fs.readFileSync(dlPath, 'utf8').includes(cfg.functions[0]), 'the downloaded backtrace lacks the frames');
  await shot(page, 'task');
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, 'task-phone');
  await page.setViewportSize({ width: 1280, height: 900 });

  steps.current = 'submit an ABRT archive';
  await page.goto(BASE + 'submit.html');
  await page.waitForFunction(() => /MiB/.test(document.getElementById('limits').textContent));
  await page.setInputFiles('#archive-file', cfg.archive);
  await Promise.all([page.waitForURL(/task\.html\?id=\d+/, { timeout: 60000 }), page.click('#submit-button')]);
  const archiveTask = new URL(page.url()).searchParams.get('id');
  const r2 = await followStatus(page);
  check(r2.status === 'FINISHED_SUCCESS', 'the archive task ended ' + r2.status);
  check(inOrder(await crashFunctions(page), cfg.functions), 'the archive task shows other frames');
  // The same crash as the first task: one bucket, the other crash counted, never named.
  await page.waitForSelector('#bucket:not([hidden])');
  const bucket = await page.textContent('#bucket');
  check(/^1 other crash in this bucket/.test(bucket) && !bucket.includes(coreTask), 'bucket line: ' + bucket);

  steps.current = 'an oversized file is refused before the upload';
  let creates = 0;
  page.on('request', (rq) => { if (/\/create$/.test(rq.url())) creates++; });
  await page.goto(BASE + 'submit.html');
  await page.waitForFunction(() => /MiB/.test(document.getElementById('limits').textContent));
  await page.setInputFiles('#archive-file', cfg.oversized);
  await page.click('#submit-button');
  await page.waitForSelector('#submit-message:not([hidden])');
  const refusal = await page.textContent('#submit-message');
  check(/larger than the \d+ MiB/.test(refusal), 'no size refusal in words: ' + refusal);
  check(creates === 0, 'the oversized file was sent to the server anyway');
  await shot(page, 'submit-refused');

  steps.current = 'a wrong password shows an error';
  const other = await context.newPage();
  await other.goto(BASE + 'task.html?id=' + coreTask);
  await other.evaluate(() => sessionStorage.clear());
  await other.goto(BASE + 'task.html?id=' + coreTask);
  await other.waitForSelector('#task-form:not([hidden])');
  await other.fill('#task-password', 'not-the-password');
  await other.click('#task-form button[type=submit]');
  await other.waitForSelector('#task-message.error');
  const wrong = await other.textContent('#task-message');
  check(/Wrong password/.test(wrong) && /403/.test(wrong), 'wrong password message: ' + wrong);
  check(await other.isHidden('#task-view'), 'task data shown with a wrong password');
  await shot(other, 'task-wrong-password');
  await other.close();

  steps.current = 'statistics';
  await page.goto(BASE + 'stats.html');
  await page.waitForSelector('#stats-view[data-loaded=yes]');
  const total = Number(await page.textContent('#total-count'));
  check(total >= 2, 'statistics count ' + total + ' tasks, expected the 2 finished ones');
  check((await page.textContent('#per-release')).includes(cfg.release), 'the release is not in the statistics');
  check((await page.textContent('#packages')).includes(cfg.package), 'the package is not in the statistics');
  check(await page.$$eval('#stats-view svg.chart rect', (r) => r.length) > 0, 'no bars drawn');
  const buckets = await page.$$eval('#buckets tbody tr', (trs) => trs.map((t) => t.textContent));
  check(buckets.length === 1 && buckets[0].includes(cfg.release), 'crash buckets: ' + JSON.stringify(buckets));
  check(!(await page.textContent('#buckets')).includes(coreTask), 'the statistics name a task');
  await checkIcon(page);
  await shot(page, 'stats');
  const statsNav = await page.goto(BASE + 'stats');
  check(/text\/html/.test(statsNav.headers()['content-type']), 'a browser navigating to /stats gets no page');

  steps.current = 'task manager';
  page.on('dialog', (d) => d.accept());
  await page.goto(BASE + 'manager.html');
  await page.waitForSelector('#login-form:not([hidden])');
  await page.fill('#manager-password', 'wrong');
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#manager-message.error');
  check(/Wrong task manager password/.test(await page.textContent('#manager-message')), 'no wrong-login message');
  await page.fill('#manager-password', cfg.manager_password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#manager-view:not([hidden])');
  const ids = await page.$$eval('#tasks tbody tr', (trs) => trs.map((t) => t.dataset.id));
  check(ids.includes(coreTask) && ids.includes(archiveTask), 'the list lacks the tasks: ' + JSON.stringify(ids));
  await page.fill('#filter-q', coreTask);
  await page.click('#filter-form button[type=submit]');
  await page.waitForFunction((id) => {
    const rows = document.querySelectorAll('#tasks tbody tr');
    return rows.length === 1 && rows[0].dataset.id === id;
  }, coreTask);
  await shot(page, 'manager');
  await page.click('#tasks tbody tr[data-id="' + coreTask + '"] button[data-action=restart]');
  await page.waitForFunction(() => /restarted/.test(document.getElementById('manager-message').textContent));
  // Open the restarted task in the manager's view and follow it to success again.
  await page.click('#tasks tbody tr[data-id="' + coreTask + '"] a');
  await page.waitForURL(/manager=1/);
  const r3 = await followStatus(page);
  check(r3.status === 'FINISHED_SUCCESS', 'the restarted task ended ' + r3.status);
  check(inOrder(await crashFunctions(page), cfg.functions), 'the restarted task shows other frames');
  await shot(page, 'task-manager-view');

  steps.current = 'task manager notes';
  await page.fill('#notes-case', 'BZ#4711');
  await page.fill('#notes-text', 'Seen twice this week.\nAsked the reporter for the config.');
  await page.click('#notes-form button[type=submit]');
  await page.waitForFunction(() => /saved/.test(document.getElementById('task-message').textContent));
  check((await page.textContent('#case-ref')) === 'BZ#4711', 'the manager\'s task page lacks the case reference');
  check(/Asked the reporter/.test(await page.textContent('#notes')), 'the manager\'s task page lacks the notes');
  // The task's owner (its password, kept in this tab) sees them on the task page too.
  await page.goto(BASE + 'task.html?id=' + coreTask);
  await page.waitForSelector('#notes-view:not([hidden])');
  check((await page.textContent('#case-ref')) === 'BZ#4711', 'the owner\'s task page lacks the case reference');
  check(/Seen twice this week\.\nAsked/.test(await page.textContent('#notes')), 'the owner\'s task page lacks the notes');
  check(await page.isHidden('#manager-actions'), 'the owner sees the manager\'s form');
  await shot(page, 'task-notes');
  // The manager's list shows and filters by them.
  await page.goto(BASE + 'manager.html');
  await page.waitForSelector('#manager-view:not([hidden])');
  await page.fill('#filter-q', 'BZ#4711');
  await page.click('#filter-form button[type=submit]');
  await page.waitForFunction((id) => {
    const rows = document.querySelectorAll('#tasks tbody tr');
    return rows.length === 1 && rows[0].dataset.id === id && /Seen twice this week/.test(rows[0].textContent);
  }, coreTask);
  await shot(page, 'manager-notes');
  await page.goto(BASE + 'manager.html');
  await page.waitForSelector('#tasks tbody tr[data-id="' + archiveTask + '"]');
  await page.click('#tasks tbody tr[data-id="' + archiveTask + '"] button[data-action=delete]');
  await page.waitForFunction(() => /deleted/.test(document.getElementById('manager-message').textContent));
  await page.waitForFunction((id) => !document.querySelector('#tasks tbody tr[data-id="' + id + '"]'), archiveTask);

  steps.current = 'task manager: a task from a URL';
  await page.fill('#remote-source', cfg.remote_url);
  await page.selectOption('#remote-type', '0');
  await page.click('#remote-form button[type=submit]');
  await page.waitForSelector('#remote-created:not([hidden]) a');
  const remoteTask = await page.getAttribute('#remote-created a', 'data-id');
  // The list follows the download by itself (the size is known once the answer's headers are in).
  await page.waitForFunction((id) => {
    const p = document.querySelector('#tasks tbody tr[data-id="' + id + '"] .progress[data-phase=download]');
    return p && /of .* \(\d+%\)/.test(p.textContent);
  }, remoteTask);
  await shot(page, 'manager-remote');
  await page.click('#remote-created a');
  await page.waitForURL(/manager=1/);
  const r4 = await followStatus(page);
  check(r4.status === 'FINISHED_SUCCESS', 'the task from a URL ended ' + r4.status + ': ' + JSON.stringify(r4.seen));
  const remoteStages = await page.$$eval('#stages tbody tr td:first-child', (tds) => tds.map((t) => t.textContent));
  for (const s of ['Downloading remote resources', 'Post-processing downloaded file', 'Generating backtrace'])
    check(remoteStages.includes(s), 'stage ' + s + ' missing for the task from a URL: ' + JSON.stringify(remoteStages));
  check(inOrder(await crashFunctions(page), cfg.functions), 'the task from a URL shows other frames');
  check(await page.isHidden('#progress-line'), 'a finished task still shows a download');

  check(problems.length === 0, 'the pages logged errors: ' + problems.join('; '));
  await context.close();
  fs.writeFileSync(path.join(cfg.tmp, 'result.json'),
                   JSON.stringify({ core_task: coreTask, core_password: password, archive_task: archiveTask }));
  log('all checks passed');
}

run(main, steps);
