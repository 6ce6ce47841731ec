// SPDX-License-Identifier: GPL-2.0-or-later
// The task page's interactive terminal (started by tests/test_web_interact.py with a finished type-3
// task): gdb in xterm.js over the WebSocket, its refusals, copy and paste, one session at a time, a
// wrong password, the idle timeout and the "Session ended" state.
'use strict';

const { cfg, check, shot, log, launch, run } = require('./common.js');

const BASE = cfg.base_url;
const steps = { current: 'start' };

// The terminal's lines (scrollback and screen) as xterm.js holds them, up to the cursor's line.
async function screenText(page) {
  return page.evaluate(() => {
    const b = RTTerminal.term.buffer.active;
    const lines = [];
    for (let i = 0; i <= b.baseY + b.cursorY; i++) lines.push(b.getLine(i).translateToString(true));
    return lines.join('\n');
  });
}

// Waits until the terminal shows text matching re (after the rows seen before the command).
async function waitScreen(page, re, what) {
  const deadline = Date.now() + 60000;
  let text = '';
  while (Date.now() < deadline) {
    text = await screenText(page);
    if (re.test(text)) return text;
    await page.waitForTimeout(100);
  }
  throw new Error(what + ': ' + re + ' not on the terminal:\n' + text);
}

async function type(page, line) {
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

// Empties the terminal (its scrollback too) once the prompt is back, so that the next check sees only
// the next command's output.
async function clear(page) {
  await waitScreen(page, /\(gdb\) $/, 'prompt');
  await page.evaluate(() => RTTerminal.term.clear());
}

async function main() {
  const { context, page, problems } = await launch();
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  await page.goto(BASE + 'task.html');
  await page.evaluate(([id, pw]) => sessionStorage.setItem('task-password:' + id, pw), [cfg.task, cfg.password]);

  steps.current = 'task page offers the session';
  const resp = await page.goto(BASE + 'task.html?id=' + cfg.task);
  const csp = resp.headers()['content-security-policy'] || '';
  check(/style-src 'self'/.test(csp) && !/unsafe-inline/.test(csp), 'weak CSP on the task page: ' + csp);
  await page.waitForSelector('#task-view[data-loaded=yes]', { timeout: 60000 });
  await page.waitForSelector('#terminal-section:not([hidden])');

  steps.current = 'start gdb';
  await page.click('#term-start');
  await page.waitForSelector('#terminal-section[data-state=open]');
  await waitScreen(page, /\(gdb\) $/, 'gdb prompt');
  await page.click('#terminal');
  await type(page, 'set pagination off');
  await clear(page);

  steps.current = 'bt';
  await type(page, 'bt');
  const bt = await waitScreen(page, new RegExp(cfg.functions[cfg.functions.length - 1] + ' \\('), 'bt');
  let last = -1;
  for (const f of cfg.functions) {
    const at = bt.indexOf(f + ' (');
    check(at > last, 'bt lacks ' + f + ' in order:\n' + bt);
    last = at;
  }
  // gdb's colours come through the terminal (xterm's styles are applied despite the strict CSP)
  const coloured = await page.$$eval('#terminal .xterm-rows span', (ss) => ss.filter((s) =>
    /xterm-fg-/.test(s.className) && getComputedStyle(s).color !== getComputedStyle(s.parentElement).color).length);
  check(coloured > 0, 'no coloured text in the terminal: xterm.js styles were not applied');
  await shot(page, 'terminal');

  steps.current = 'frame 1 and a local variable';
  await clear(page);
  await type(page, 'frame 1');
  await waitScreen(page, new RegExp('#1 .*' + cfg.functions[1]), 'frame 1');
  await clear(page);
  await type(page, 'info locals');
  await type(page, 'info args');
  const vars = await waitScreen(page, /^\w+ = .+\n(.*\n)*\(gdb\) $/m, 'variables of frame 1');
  const m = /^(\w+) = (.+)$/m.exec(vars);
  check(m, 'no variable in frame 1:\n' + vars);
  await clear(page);
  await type(page, 'print ' + m[1]);
  const value = m[2].trim().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await waitScreen(page, new RegExp('\\$\\d+ = (\\([^)]*\\) )?' + value), 'print ' + m[1]);

  steps.current = 'refusals';
  for (const cmd of ['shell id', 'python print(1)']) {
    await clear(page);
    await type(page, cmd);
    const out = await waitScreen(page, /Refused/, cmd);
    check(!/uid=/.test(out) && !/^1$/m.test(out), cmd + ' ran:\n' + out);
  }

  steps.current = 'copy and paste';
  await page.evaluate(() => RTTerminal.term.selectAll());
  await page.click('#term-copy');
  await page.waitForFunction(() => document.getElementById('term-copied').textContent === 'Copied.');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  check(/Refused/.test(copied), 'the copied selection lacks the terminal text: ' + copied.slice(0, 200));
  await clear(page);
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.setData('text/plain', 'print 6*7\r');
    document.querySelector('#terminal textarea').dispatchEvent(
      new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  });
  await waitScreen(page, /\$\d+ = 42/, 'pasted command');

  steps.current = 'a second session and a wrong password while the first is open';
  const second = await page.evaluate(async ([id, pw]) => {
    const r = await fetch(id + '/interact', { method: 'POST', headers: { 'X-Task-Password': pw } });
    return [r.status, await r.text()];
  }, [cfg.task, cfg.password]);
  check(second[0] === 409, 'a second session was not refused: ' + second);
  const wrong = await page.evaluate(async (id) => {
    const r = await fetch(id + '/interact', { method: 'POST', headers: { 'X-Task-Password': 'wrong' } });
    const ws = new WebSocket(new URL(id + '/interact?token=' + 'ab'.repeat(32), location.href).href.replace(/^http/, 'ws'));
    const opened = await new Promise((resolve) => {
      ws.onopen = () => resolve(true);
      ws.onclose = () => resolve(false);
      ws.onerror = () => resolve(false);
    });
    return [r.status, opened];
  }, cfg.task);
  check(wrong[0] === 403 && wrong[1] === false, 'a wrong password or token opened something: ' + wrong);

  steps.current = 'idle timeout';
  const start = Date.now();
  await page.waitForSelector('#terminal-section.ended', { timeout: (cfg.idle + 30) * 1000 });
  check(Date.now() - start >= (cfg.idle - 5) * 1000, 'the session ended before the idle timeout');
  const ended = await page.textContent('#term-status');
  check(/Session ended/.test(ended) && /InteractiveIdleTimeout/.test(ended), 'no clear end: ' + ended);
  check(await page.isEnabled('#term-start'), 'no way to start a new session');
  await waitScreen(page, /Session ended/, 'end in the terminal');
  await shot(page, 'terminal-ended');

  // WebSocket refusals above show as console errors of the failed handshake: those are expected.
  const real = problems.filter((p) => !/WebSocket connection to .* failed/.test(p));
  check(real.length === 0, 'problems on the page:\n' + real.join('\n'));
  log('terminal: bt, locals, refusals, copy/paste, one session, idle timeout');
  await context.close();
}

run(main, steps);
