// SPDX-License-Identifier: GPL-2.0-or-later
// The task page's terminal on a vmcore task of type 4 (started by tests/test_web_interact.py): crash in
// xterm.js, `bt` shows the panicking task's stack, `log` the kernel's panic.
'use strict';

const { cfg, check, shot, log, launch, run } = require('./common.js');

const BASE = cfg.base_url;
const steps = { current: 'start' };

async function screenText(page) {
  return page.evaluate(() => {
    const b = RTTerminal.term.buffer.active;
    const lines = [];
    for (let i = 0; i <= b.baseY + b.cursorY; i++) lines.push(b.getLine(i).translateToString(true));
    return lines.join('\n');
  });
}

async function waitScreen(page, re, what) {
  const deadline = Date.now() + 120000;
  let text = '';
  while (Date.now() < deadline) {
    text = await screenText(page);
    if (re.test(text)) return text;
    await page.waitForTimeout(100);
  }
  throw new Error(what + ': ' + re + ' not on the terminal:\n' + text.slice(-3000));
}

async function command(page, line, re) {
  await waitScreen(page, /crash> $/, 'prompt');
  await page.evaluate(() => RTTerminal.term.clear());
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
  return waitScreen(page, re, line);
}

async function main() {
  const { context, page, problems } = await launch();
  await page.goto(BASE + 'task.html');
  await page.evaluate(([id, pw]) => sessionStorage.setItem('task-password:' + id, pw), [cfg.task, cfg.password]);
  steps.current = 'vmcore task page offers crash';
  await page.goto(BASE + 'task.html?id=' + cfg.task);
  await page.waitForSelector('#task-view[data-loaded=yes]', { timeout: 60000 });
  await page.waitForSelector('#terminal-section:not([hidden])');
  check(/crash/.test(await page.textContent('#term-what')), 'the section does not say crash');
  steps.current = 'start crash';
  await page.click('#term-start');
  await page.waitForSelector('#terminal-section[data-state=open]');
  await waitScreen(page, /crash> $/, 'crash prompt');
  await page.click('#terminal');
  steps.current = 'bt';
  await command(page, 'bt', /sysrq_handle_crash[\s\S]*crash> $/);
  await shot(page, 'terminal-crash');
  steps.current = 'log';
  await command(page, 'log', /sysrq: Trigger a crash[\s\S]*crash> $/);
  steps.current = 'quit';
  await page.keyboard.type('quit');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#terminal-section.ended', { timeout: 30000 });
  check(/debugger exited/.test(await page.textContent('#term-status')), 'no clear end after quit');
  check(problems.length === 0, 'problems on the page:\n' + problems.join('\n'));
  log('terminal: crash bt and log on a vmcore');
  await context.close();
}

run(main, steps);
