// Browser test of the ranking page (issue 11): Debian's chromium, driven by playwright-core, against
// `optidiff serve` on loopback with a temporary store. Creates a session, ranks three rounds by clicking,
// reloads and sees the same state, restarts the server and continues. Screenshots go to --out.
//   node web/tests/ranking.test.mjs --optidiff build/tools/optidiff/optidiff --out /tmp/shots
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
let chromium;
try {
  ({ chromium } = await import(join(here, 'node_modules', 'playwright-core', 'index.mjs')));
} catch (e) {
  console.error(`playwright-core is not installed in ${here}: run scripts/setup (npm ci there)`);
  process.exit(1);
}

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) =>
  (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const optidiff = args.optidiff;
const out = args.out || join(tmpdir(), 'optidiff-browser-shots');
assert.ok(optidiff, '--optidiff PATH is required');
mkdirSync(out, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'optidiff-browser-'));
const db = join(work, 'ranking.db');

// Starts `optidiff serve`; resolves with the process and its port once it prints the address.
function startServer(port) {
  return new Promise((resolve, reject) => {
    const p = spawn(optidiff, ['--threads', '2', 'serve', '--port', String(port), '--db', db],
                    { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    const timer = setTimeout(() => reject(new Error('optidiff serve did not start: ' + text)), 60000);
    p.stdout.on('data', (d) => {
      text += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(text);
      if (m) { clearTimeout(timer); resolve({ proc: p, port: +m[1] }); }
    });
    p.on('exit', (code) => reject(new Error(`optidiff serve exited with ${code}: ${text}`)));
  });
}

function stopServer(server) {
  return new Promise((resolve) => {
    server.proc.removeAllListeners('exit');
    server.proc.on('exit', (code, signal) => resolve({ code, signal }));
    server.proc.kill('SIGTERM');
  });
}

async function waitRound(page, n) {
  await page.waitForFunction((n) => document.querySelector('#round-title').textContent.startsWith(`Round ${n} `) &&
                                    document.querySelectorAll('.candidate').length > 0, n, { timeout: 60000 });
}

// Clicks k candidates (the ids given), checks the badges, submits and waits for the next round.
async function rankByClicking(page, ids, next) {
  for (const id of ids) await page.click(`.candidate[data-id="${id}"]`);
  for (const [pos, id] of ids.entries())
    assert.equal(await page.textContent(`.candidate[data-id="${id}"] .badge`), String(pos + 1));
  assert.equal(await page.isEnabled('#submit'), true);
  await page.click('#submit');
  await waitRound(page, next);
}

async function pageState(page) {
  return page.evaluate(() => ({
    title: document.querySelector('#round-title').textContent,
    images: [...document.querySelectorAll('.candidate img')].map((i) => i.src),
    marks: [...document.querySelectorAll('.candidate')].map((c) => (c.querySelector('.mark') || {}).textContent || ''),
    best: document.querySelector('#best img').src,
    history: document.querySelectorAll('#history .history-item').length,
    info: document.querySelector('#session-info').textContent,
  }));
}

let server = await startServer(0);
const port = server.port;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 820 } });
  page.on('pageerror', (e) => { console.error('page error:', e.message); failed = true; });
  const base = `http://127.0.0.1:${port}/`;
  await page.goto(base);
  await page.waitForSelector('#start-view:not([hidden])');
  await page.waitForFunction(() => document.querySelectorAll('#f-class option').length > 1);
  await page.selectOption('#f-class', 'sneaker');
  await page.fill('#f-steps', '4');
  await page.fill('#f-m', '4');
  await page.fill('#f-k', '2');
  await page.fill('#f-seed', '3');
  await page.screenshot({ path: join(out, '0-start.png') });
  await page.click('#start');
  await waitRound(page, 1);
  assert.match(page.url(), /#s=[0-9a-f]{16}$/);
  assert.equal(await page.locator('.candidate').count(), 4);
  assert.match(await page.textContent('#round-title'), /pick the 2 you like best/);
  await page.screenshot({ path: join(out, '1-round1.png') });

  // Three rounds by clicking: gradient (top 2), line search (best of 4), gradient (top 2).
  await rankByClicking(page, [2, 0], 2);
  assert.match(await page.textContent('#round-title'), /pick the single best/);
  const marks = (await pageState(page)).marks;
  assert.deepEqual([...marks].sort(), ['', '', '*', '**']);
  const step = marks.findIndex((m) => m === '');  // a line-search step, not the incumbent
  await page.screenshot({ path: join(out, '2-line-search.png') });
  await rankByClicking(page, [step], 3);
  await rankByClicking(page, [1, 3], 4);
  await page.waitForFunction(() => document.querySelectorAll('#history .history-item').length === 3);
  const before = await pageState(page);
  assert.match(before.info, /3 rounds answered/);
  assert.match(await page.textContent('#best figcaption'), /improved 1×/);  // the step chosen in round 2
  await page.screenshot({ path: join(out, '3-after-three-rounds.png'), fullPage: true });

  // Reload: the same open round, the same images, the same best image and history.
  await page.reload();
  await waitRound(page, 4);
  await page.waitForFunction(() => document.querySelectorAll('#history .history-item').length === 3);
  assert.deepEqual(await pageState(page), before);

  // Restart the server on the same port and store: nothing is lost, and the session continues.
  const stopped = await stopServer(server);
  assert.equal(stopped.code, 0, `optidiff serve exited with ${JSON.stringify(stopped)} on SIGTERM`);
  server = await startServer(port);
  await page.reload();
  await waitRound(page, 4);
  await page.waitForFunction(() => document.querySelectorAll('#history .history-item').length === 3);
  assert.deepEqual(await pageState(page), before);
  const incumbent = (await pageState(page)).marks.findIndex((m) => m === '*');
  await rankByClicking(page, [incumbent], 5);
  await page.waitForFunction(() => document.querySelectorAll('#history .history-item').length === 4);
  assert.match(await page.textContent('#session-info'), /4 rounds answered/);
  await page.screenshot({ path: join(out, '4-after-restart.png'), fullPage: true });

  // Round 5 by drag-and-drop: two images dragged into the pick bar, then the second dropped on the first.
  await page.dragAndDrop('.candidate[data-id="1"]', '#ranking');
  await page.dragAndDrop('.candidate[data-id="3"]', '#ranking');
  assert.equal(await page.textContent('.candidate[data-id="1"] .badge'), '1');
  assert.equal(await page.textContent('.candidate[data-id="3"] .badge'), '2');
  await page.dragAndDrop('#ranking li:nth-child(2)', '#ranking li:nth-child(1)');
  assert.equal(await page.textContent('.candidate[data-id="3"] .badge'), '1');
  assert.equal(await page.textContent('.candidate[data-id="1"] .badge'), '2');
  await page.click('#submit');
  await waitRound(page, 6);

  // The start page lists the session for this browser's token.
  await page.goto(base);
  await page.waitForSelector('.session-link');
  assert.match(await page.textContent('.session-link'), /sneaker, euler 4 steps: 5 rounds answered/);
  console.log(`browser test passed; screenshots in ${out}`);
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
  const s = await stopServer(server);
  if (s.code !== 0) { console.error('optidiff serve exited with', s); failed = true; }
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
