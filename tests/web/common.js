// SPDX-License-Identifier: GPL-2.0-or-later
// What the web suite's browser scripts share: checks, screenshots, starting Debian's chromium with
// playwright-core, following a task page until the task finished.
'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const cfg = JSON.parse(process.env.WEB_TEST_CONFIG);
const SHOTS = cfg.artifacts;

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: true });
}

function log(msg) {
  console.log('web: ' + msg);
}

// Follows #status-text until the task page says the task finished; returns the texts seen.
async function followStatus(page) {
  const seen = [];
  const deadline = Date.now() + 240000;
  while (Date.now() < deadline) {
    const text = (await page.textContent('#status-text').catch(() => '')) || '';
    if (text && seen[seen.length - 1] !== text) seen.push(text);
    const st = await page.getAttribute('#task-view', 'data-status').catch(() => null);
    if (st && st.startsWith('FINISHED')) {
      await page.waitForSelector('#task-view[data-loaded=yes]', { timeout: 30000 });
      const final = await page.textContent('#status-text');
      if (seen[seen.length - 1] !== final) seen.push(final);
      return { status: st, seen };
    }
    await page.waitForTimeout(50);
  }
  throw new Error('the task page did not show the task finished within 240 s; seen: ' + JSON.stringify(seen));
}

async function crashFunctions(page) {
  return page.$$eval('#backtrace table.frames', (tables) =>
    tables.length ? Array.from(tables[0].querySelectorAll('td.func')).map((td) => td.textContent) : []);
}

function inOrder(have, want) {
  let i = 0;
  for (const f of have) if (f === want[i] && ++i === want.length) return true;
  return false;
}

// Headless chromium with a fresh profile; every page error or console error (a Content-Security-Policy
// violation among them) is collected in problems.
async function launch() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const userDataDir = fs.mkdtempSync(path.join(cfg.tmp, 'chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  const problems = [];
  context.on('page', (p) => watch(p));
  function watch(p) {
    p.on('pageerror', (e) => problems.push('page error: ' + e.message));
    p.on('console', (m) => {
      // A Content-Security-Policy violation (an inline script or style) shows up as a console error. A
      // failed load is one only when it is not an API answer the page expects (a result that does not
      // exist yet, a wrong password): a missing page resource (a favicon, a script) is.
      if (m.type() !== 'error') return;
      const url = (m.location() && m.location().url) || '';
      const api = /\/\d+(\/[a-z.]+)?$|\/manager\/|\/(create|stats|settings)$/.test(new URL(url, cfg.base_url).pathname);
      if (!/Failed to load resource/.test(m.text()) || !api) problems.push('console: ' + m.text() + ' (' + url + ')');
    });
    // Every resource of a page (not the API's fetches) must load.
    p.on('response', (r) => {
      const type = r.request().resourceType();
      if (r.status() >= 400 && type !== 'fetch' && type !== 'xhr')
        problems.push('resource ' + r.url() + ' (' + type + ') answered ' + r.status());
    });
  }
  const page = context.pages()[0] || await context.newPage();
  watch(page);
  page.setDefaultTimeout(30000);
  return { context, page, problems };
}

// Runs main, reporting the step that failed (steps.current) and exiting non-zero.
function run(main, steps) {
  main().catch((e) => {
    console.error('web: FAILED at step "' + steps.current + '": ' + (e && e.stack ? e.stack : e));
    process.exit(1);
  });
}

// The page links its icon, and the icon loads (a browser asks for /favicon.ico otherwise: a 404 on every
// page load).
async function checkIcon(page) {
  const href = await page.evaluate(() => {
    const l = document.querySelector('link[rel=icon]');
    return l ? l.href : null;
  });
  check(href, 'no <link rel=icon> on ' + page.url());
  const r = await page.request.get(href);
  check(r.status() === 200 && /image\/svg\+xml/.test(r.headers()['content-type'] || ''),
        'the icon ' + href + ' answered ' + r.status() + ' ' + r.headers()['content-type']);
}

module.exports = { cfg, check, checkIcon, shot, log, followStatus, crashFunctions, inOrder, launch, run };
