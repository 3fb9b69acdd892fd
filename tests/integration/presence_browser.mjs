// SPDX-License-Identifier: MIT
// examples/presence through its own page in headless Chromium (Debian's /usr/bin/chromium,
// controlled by npm `playwright-core`, pinned in tests/node). Prints TAP.
// Usage: node presence_browser.mjs --server PRESENCE_BINARY [--chromium PATH]
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const wrapped = (bin, ...args) => {
  const w = (process.env.WISP_EXE_WRAPPER || '').split(/\s+/).filter(Boolean);
  return w.length ? [w[0], [...w.slice(1), bin, ...args]] : [bin, args];
};
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../node/package.json'));
const { chromium } = require('playwright-core');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
};
const WAIT = 10000;

function startServer(binary) {
  return new Promise((resolve, reject) => {
    const proc = spawn(...wrapped(binary, '--port', '0'), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error('no listening line')), 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[^:\s]+:\d+)/);
      if (m) { clearTimeout(timer); resolve({ proc, base: m[1] }); }
    });
    proc.on('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`server exited with ${code ?? signal}`)); });
  });
}

function assert(cond, what) { if (!cond) throw new Error(`assertion failed: ${what}`); }

async function until(check, what, show = async () => '', ms = WAIT) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}; state: ${await show()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/// What a page shows: the count and every row as {name, me, away}.
const roster = (page) => page.evaluate(() => ({
  count: Number(document.getElementById('count').textContent),
  online: [...document.querySelectorAll('#online li')].map((li) => ({
    name: li.querySelector('.name').textContent,
    me: li.classList.contains('me'),
    away: li.classList.contains('away'),
  })),
}));

let browser = null;
async function open(base, name) {
  const context = await browser.newContext();
  context.setDefaultTimeout(WAIT);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const response = await page.goto(`${base}/?name=${encodeURIComponent(name)}`);
  assert(response.status() === 200, `${name}: GET / status ${response.status()}`);
  await until(async () => (await page.$eval('#status', (s) => s.textContent)) === 'connected',
    `${name}: connected`);
  return { name, page, context, errors };
}

const names = (r) => r.online.map((m) => m.name).sort().join(',');
const s = {};
const tests = {
  async 'the page connects and lists its user, marked as itself'(base) {
    s.a = await open(base, 'alice');
    await until(async () => {
      const r = await roster(s.a.page);
      return r.count === 1 && names(r) === 'alice' && r.online[0].me && !r.online[0].away;
    }, 'alice alone, as herself', async () => JSON.stringify(await roster(s.a.page)));
  },
  async 'a second user appears on both pages, from the registry'(base) {
    s.b = await open(base, 'bob');
    for (const u of [s.a, s.b])
      await until(async () => {
        const r = await roster(u.page);
        return r.count === 2 && names(r) === 'alice,bob' &&
          r.online.find((m) => m.me).name === u.name;
      }, `${u.name} sees alice and bob`, async () => JSON.stringify(await roster(u.page)));
  },
  async 'a rename shows on the other page'() {
    await s.b.page.fill('#name', 'robert <b>');
    await s.b.page.press('#name', 'Enter');
    await until(async () => names(await roster(s.a.page)) === 'alice,robert b',
      'alice sees the new (cleaned) name', async () => JSON.stringify(await roster(s.a.page)));
  },
  async 'a user who leaves disappears from the other page'() {
    await s.b.context.close();
    await until(async () => {
      const r = await roster(s.a.page);
      return r.count === 1 && names(r) === 'alice';
    }, 'alice alone again', async () => JSON.stringify(await roster(s.a.page)));
    assert(s.a.errors.length === 0, `script errors: ${s.a.errors}`);
  },
};

const { proc, base } = await startServer(arg('--server'));
browser = await chromium.launch({
  executablePath: arg('--chromium', '/usr/bin/chromium'),
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let n = 0, failed = 0;
for (const [name, fn] of Object.entries(tests)) {
  n += 1;
  try {
    await fn(base);
    console.log(`ok ${n} - ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`not ok ${n} - ${name}`);
    for (const line of String(e.stack).split('\n')) console.log(`# ${line}`);
  }
}
console.log(`1..${n}`);
await browser.close();
proc.kill('SIGTERM');
process.exitCode = failed ? 1 : 0;
