// SPDX-License-Identifier: GPL-2.0-or-later
// The web suite's vmcore half (started by tests/test_web.py against a daemon that knows the vmcore
// fixture's kernel): a real kernel dump, kdump-compressed and ELF, submitted through the form as
// "A kernel vmcore", followed live to success; the task page shows the panic first and the
// panicking task's stack as rows, with sysrq_handle_crash among them, and the kernel log.
'use strict';

const { cfg, check, shot, log, followStatus, crashFunctions, launch, run } = require('./common.js');

const BASE = cfg.base_url;
const steps = { current: 'start' };

async function main() {
  const { context, page, problems } = await launch();
  const tasks = {};
  for (const [name, file] of [['kdump', cfg.vmcore_kdump], ['elf', cfg.vmcore_elf]]) {
    steps.current = 'submit a vmcore (' + name + ')';
    await page.goto(BASE + 'submit.html');
    await page.waitForFunction(() => /MiB/.test(document.getElementById('limits').textContent));
    await page.check('input[name=kind][value=vmcore]');
    check(await page.isVisible('#vmcore-file'), 'choosing "A kernel vmcore" shows no file field');
    await page.setInputFiles('#vmcore-file', file);
    await shot(page, 'submit-vmcore-' + name);
    await Promise.all([page.waitForURL(/task\.html\?id=\d+/, { timeout: 300000 }), page.click('#submit-button')]);
    const id = new URL(page.url()).searchParams.get('id');
    const r = await followStatus(page);
    log('vmcore task ' + id + ' (' + name + ') statuses seen live: ' + JSON.stringify(r.seen));
    check(r.status === 'FINISHED_SUCCESS', 'the ' + name + ' vmcore task ended ' + r.status);

    steps.current = 'the kernel view (' + name + ')';
    const first = await page.$eval('#backtrace > *', (e) => ({ cls: e.className, text: e.textContent }));
    check(first.cls === 'panic' && /sysrq triggered crash/.test(first.text),
          'the result does not start with the panic: ' + JSON.stringify(first));
    const funcs = await crashFunctions(page);
    check(funcs.includes('sysrq_handle_crash') && funcs.indexOf('panic') < funcs.indexOf('sysrq_handle_crash'),
          'the panicking task\'s stack lacks sysrq_handle_crash: ' + JSON.stringify(funcs));
    const logText = await page.$eval('#backtrace details[open] pre', (e) => e.textContent);
    check(/Kernel panic - not syncing/.test(logText), 'the kernel log shown open lacks the panic');
    const logLines = await page.$$eval('#log li', (lis) => lis.map((l) => l.textContent));
    check(logLines.some((l) => l.includes('kernel release ' + cfg.kernel_release)),
          'the task log does not name the kernel release read from the dump');
    await shot(page, 'task-vmcore-' + name);
    tasks[name] = id;
  }
  check(problems.length === 0, 'the pages logged errors: ' + problems.join('; '));
  await context.close();
  log('vmcore checks passed: ' + JSON.stringify(tasks));
}

run(main, steps);
