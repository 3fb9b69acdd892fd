// SPDX-License-Identifier: MIT
// The Redis scale-out demo in a headless Chromium (Debian's /usr/bin/chromium, controlled by npm
// `playwright-core`, pinned in tests/node/package-lock.json): a redis-server of the test's own
// on a free port, two examples/chat instances started with --redis, one page on each. What is
// typed on one page shows on the other. Prints TAP; without redis-server, a skip.
// Usage: node cluster_browser.mjs --server CHAT_BINARY [--redis-server PATH] [--artifacts DIR]
//        [--chromium PATH]
// Screenshots of both pages go to DIR/cluster_browser_a.png and _b.png (DIR: default cwd).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// WISP_EXE_WRAPPER (say `wine64`) runs a cross-built binary under an emulator, as in taplib.py.
const wrapped = (bin, ...args) => {
  const w = (process.env.WISP_EXE_WRAPPER || '').split(/\s+/).filter(Boolean);
  return w.length ? [w[0], [...w.slice(1), bin, ...args]] : [bin, args];
};
const stopSignal = process.env.WISP_STOP_SIGNAL || 'SIGTERM';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../node/package.json'));
const { chromium } = require('playwright-core');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
};
const onPath = (name) => (process.env.PATH || '').split(path.delimiter).filter(Boolean)
  .map((dir) => path.join(dir, name)).find((f) => {
    try { fs.accessSync(f, fs.constants.X_OK); return true; } catch { return false; }
  });
const binary = arg('--server');
const redisServer = arg('--redis-server', '') || onPath('redis-server');
const artifacts = path.resolve(arg('--artifacts', process.cwd()));
const executablePath = arg('--chromium', '/usr/bin/chromium');

const WAIT = 10000;    // any single wait for the page, a server or Redis
const TEST = 20000;    // any single test case

if (!redisServer) {
  console.log('1..0 # SKIP redis-server not found: install redis-server (Debian) to run this test');
  process.exit(0);
}

function assert(cond, what) { if (!cond) throw new Error(`assertion failed: ${what}`); }

function deadline(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/// Polls `check` (async, returns a truthy value when satisfied) until `ms` passes; the error
/// names `what` and shows `show()`, the state last seen.
async function until(check, what, show = async () => '', ms = WAIT) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}; state: ${await show()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/// Starts `cmd args` and resolves with {proc, match} once its stdout matches `pattern`; rejects
/// if it exits first or `ms` passes.
function started(cmd, args, pattern, ms) {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`${cmd}: no ${pattern}`)); }, ms);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(pattern);
      if (m) { clearTimeout(timer); proc.stdout.removeAllListeners('data'); proc.stdout.resume(); resolve({ proc, match: m }); }
    });
    proc.on('error', (e) => { clearTimeout(timer); reject(e); });
    proc.on('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`${cmd} exited with ${code ?? signal}: ${out}`)); });
  });
}

/// A port no one listens on now (bound, then let go: whoever starts next may lose it to a race,
/// so startRedis tries again).
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/// A redis-server of our own: 127.0.0.1 on a free port, nothing written to disk.
async function startRedis() {
  let last;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    try {
      const { proc } = await started(redisServer, ['--port', String(port), '--bind', '127.0.0.1',
        '--save', '', '--appendonly', 'no'], /Ready to accept connections/, WAIT);
      return { proc, port, url: `redis://127.0.0.1:${port}` };
    } catch (e) {
      last = e;   // the port was taken meanwhile, say
    }
  }
  throw last;
}

/// Redis' PUBSUB NUMSUB for `channel`: how many connections (one per chat instance) subscribe.
function numsub(port, channel = 'wisp:chat') {
  return deadline(new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(`PUBSUB NUMSUB ${channel}\r\n`));
    let reply = '';
    sock.on('data', (d) => {
      reply += d;
      if (reply.split('\r\n').length > 4) {   // *2, $len, channel, :count
        sock.destroy();
        const m = reply.match(/:(\d+)\r\n$/);
        resolve(m ? Number(m[1]) : -1);
      }
    });
    sock.on('error', reject);
  }), WAIT, 'PUBSUB NUMSUB');
}

async function startChat(redisUrl) {
  const { proc, match } = await started(...wrapped(binary, '--port', '0', '--redis', redisUrl),
    /listening on (http:\/\/[^:\s]+:\d+)/, process.env.WISP_EXE_WRAPPER ? 60000 : 15000);
  proc.removeAllListeners('exit');
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return { proc, base: match[1], exited };
}

// ---- the chat page as its user sees it ----

/// Every `<li>` of #messages: {user, text}.
const messages = (page) => page.$$eval('#messages li', (lis) => lis.map((li) => ({
  user: li.querySelector('.user') ? li.querySelector('.user').textContent : null,
  text: li.querySelector('.text') ? li.querySelector('.text').textContent : null,
})));
const count = (list, user, text) => list.filter((m) => m.user === user && m.text === text).length;

/// Waits until `chat` shows `text` from `user` at least once; returns the messages.
async function seen(chat, user, text) {
  return until(async () => {
    const list = await messages(chat.page);
    return count(list, user, text) > 0 && list;
  }, `${chat.name} to show ${JSON.stringify(user)}: ${JSON.stringify(text)}`,
  async () => JSON.stringify(await messages(chat.page)));
}

/// Types `text` into #input and presses Enter, as a user would.
async function say(chat, text) {
  await chat.page.fill('#input', text);
  await chat.page.press('#input', 'Enter');
}

let browser = null;
let redis = null;
const chats = [];

/// Opens the chat page of the instance at `base` in a context of its own and waits for
/// "connected" and the Welcome; returns {name, base, page, id, sockets, errors}.
async function openChat(name, base) {
  const context = await browser.newContext();
  context.setDefaultTimeout(WAIT);
  const page = await context.newPage();
  const chat = { name, base, page, sockets: [], errors: [] };
  page.on('websocket', (ws) => chat.sockets.push(ws.url()));
  page.on('pageerror', (e) => chat.errors.push(String(e)));
  const response = await page.goto(`${base}/`);
  assert(response.status() === 200, `${name}: GET / status ${response.status()}`);
  await until(async () => (await page.$eval('#status', (s) => s.textContent)) === 'connected',
    `${name}: status "connected"`);
  const first = await until(async () => (await messages(page))[0], `${name}: a first message`);
  const m = first.user === 'server' && /^Welcome (.+)!$/.exec(first.text);
  assert(m, `${name}: the first message is the server's Welcome, got ${JSON.stringify(first)}`);
  chat.id = m[1];
  assert(chat.sockets.length === 1 && chat.sockets[0] === `${base.replace('http:', 'ws:')}/_ws`,
    `${name}: one WebSocket, to its own instance: ${JSON.stringify(chat.sockets)}`);
  console.log(`# ${name} is ${chat.id} on ${base}`);
  return chat;
}

/// Until Redis counts `n` chat instances subscribed to the room.
const subscribed = (n) => until(async () => (await numsub(redis.port)) === n,
  `${n} instance(s) subscribed to wisp:chat in Redis`, async () => `NUMSUB ${await numsub(redis.port)}`);

// Unique per run, so nothing but this run's typing can match.
const tag = Math.random().toString(36).slice(2, 8);
const FROM_A = `from A on the first instance "${tag}" ✓`;
const FROM_B = `from B on the second instance <b>${tag}</b> 😀`;

const s = {};
const tests = {
  async 'page A on instance 1 connects; B on instance 2 connects and A sees "<B> joined!"'() {
    s.a = await openChat('A', chats[0].base);
    await subscribed(1);   // instance 1 listens to the room in Redis before B joins
    s.b = await openChat('B', chats[1].base);
    await seen(s.a, 'server', `${s.b.id} joined!`);
  },

  async 'a message typed in A appears in B once, from A\'s id'() {
    await subscribed(2);   // instance 2 listens too
    await say(s.a, FROM_A);
    await seen(s.b, s.a.id, FROM_A);
    await seen(s.a, s.a.id, FROM_A);   // the sender's own copy, from its instance
    // Barrier: A's earlier message crossed before this one on the same path.
    await say(s.a, `barrier A ${tag}`);
    const lb = await seen(s.b, s.a.id, `barrier A ${tag}`);
    const la = await seen(s.a, s.a.id, `barrier A ${tag}`);
    assert(count(lb, s.a.id, FROM_A) === 1, `B shows it ${count(lb, s.a.id, FROM_A)} times`);
    assert(count(la, s.a.id, FROM_A) === 1, `A shows it ${count(la, s.a.id, FROM_A)} times`);
  },

  async 'and one typed in B appears in A once, from B\'s id, shown as text'() {
    await say(s.b, FROM_B);
    await seen(s.a, s.b.id, FROM_B);
    await say(s.b, `barrier B ${tag}`);
    const la = await seen(s.a, s.b.id, `barrier B ${tag}`);
    const lb = await seen(s.b, s.b.id, `barrier B ${tag}`);
    assert(count(la, s.b.id, FROM_B) === 1, `A shows it ${count(la, s.b.id, FROM_B)} times`);
    assert(count(lb, s.b.id, FROM_B) === 1, `B shows it ${count(lb, s.b.id, FROM_B)} times`);
    const bold = await s.a.page.$$eval('#messages b', (e) => e.length);
    assert(bold === 0, `A: no markup from B's message became an element (${bold})`);
  },

  async 'screenshots of both pages are saved'() {
    fs.mkdirSync(artifacts, { recursive: true });
    for (const chat of [s.a, s.b]) {
      const file = path.join(artifacts, `cluster_browser_${chat.name.toLowerCase()}.png`);
      await chat.page.screenshot({ path: file, fullPage: true });
      assert(fs.statSync(file).size > 1000, `${file} is a picture`);
      console.log(`# screenshot: ${file}`);
    }
  },

  async 'closing B shows "<B> left!" on A; neither page had a script error'() {
    for (const chat of [s.a, s.b])
      assert(chat.errors.length === 0, `${chat.name}'s script errors: ${chat.errors}`);
    await s.b.page.close();
    await seen(s.a, 'server', `${s.b.id} left!`);
  },
};

let n = 0;
let failed = 0;
let bailed = false;
const ok = (name) => console.log(`ok ${++n} - ${name}`);
const notOk = (name, e) => {
  failed += 1;
  console.log(`not ok ${++n} - ${name}`);
  for (const line of String((e && e.stack) || e).split('\n')) console.log(`# ${line}`);
};

try {
  redis = await startRedis();
  console.log(`# redis-server on ${redis.url}`);
  chats.push(await startChat(redis.url));
  chats.push(await startChat(redis.url));
  browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    headless: true,
    timeout: 30000,
  });
  for (const [name, fn] of Object.entries(tests)) {
    try {
      await deadline(fn(), TEST, name);
      ok(name);
    } catch (e) {
      notOk(name, e);
    }
  }
} catch (e) {   // no Redis, no server or no browser: nothing else can run
  for (const line of String((e && e.stack) || e).split('\n')) console.log(`# ${line}`);
  console.log(`Bail out! ${String((e && e.message) || e).split('\n')[0]}`);
  bailed = true;
} finally {
  if (browser) await deadline(browser.close(), 15000, 'browser close').catch((e) => console.log(`# ${e}`));
}

if (bailed) {
  for (const c of chats) c.proc.kill('SIGKILL');
  if (redis) redis.proc.kill('SIGKILL');
  process.exit(1);
}
const name = `both chats exit with 0 on ${stopSignal}`;
try {
  for (const c of chats) c.proc.kill(stopSignal);
  for (const c of chats) {
    const { code, signal } = await deadline(c.exited, 10000, 'chat exit');
    assert(code === 0, `exit ${code ?? signal}`);
  }
  ok(name);
} catch (e) {
  for (const c of chats) c.proc.kill('SIGKILL');
  notOk(name, e);
}
redis.proc.kill('SIGKILL');
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
