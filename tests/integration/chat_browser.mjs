// SPDX-License-Identifier: MIT
// examples/chat driven through its own page in a headless Chromium (Debian's /usr/bin/chromium,
// controlled by npm `playwright-core`, pinned in tests/node/package-lock.json). Prints TAP.
// Usage: node chat_browser.mjs --server CHAT_BINARY [--artifacts DIR] [--chromium PATH]
//        [--expect-deflate]   (the server was built with WISP_DEFLATE: Chromium's offer of
//        permessage-deflate must be answered, seen in the handshake response Chromium got)
// The full-page screenshot of the conversation goes to DIR/chat_browser.png (DIR: default cwd).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// WISP_EXE_WRAPPER (say `wine64`) runs a cross-built binary under an emulator, as in taplib.py.
const wrapped = (bin, ...args) => {
  const w = (process.env.WISP_EXE_WRAPPER || '').split(/\s+/).filter(Boolean);
  return w.length ? [w[0], [...w.slice(1), bin, ...args]] : [bin, args];
};
// WISP_STOP_SIGNAL: how a server is asked to stop (SIGTERM; Windows has Ctrl+C, SIGINT to Wine).
const stopSignal = process.env.WISP_STOP_SIGNAL || 'SIGTERM';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../node/package.json'));
const { chromium } = require('playwright-core');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
};
const binary = arg('--server');
const artifacts = path.resolve(arg('--artifacts', process.cwd()));
const executablePath = arg('--chromium', '/usr/bin/chromium');
const expectDeflate = process.argv.includes('--expect-deflate');

const WAIT = 10000;    // any single wait for the page or the server
const TEST = 20000;    // any single test case

function startServer() {
  return new Promise((resolve, reject) => {
    const proc = spawn(...wrapped(binary, '--port', '0'), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error('no listening line')), process.env.WISP_EXE_WRAPPER ? 60000 : 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[^:\s]+:\d+)/);
      if (m) { clearTimeout(timer); resolve({ proc, base: m[1] }); }
    });
    proc.on('error', (e) => { clearTimeout(timer); reject(e); });
    proc.on('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`server exited with ${code ?? signal}`)); });
  });
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

// ---- the chat page as its user sees it ----

/// Every `<li>` of #messages: {user, text, kind}; user is null for a "raw" line.
const messages = (page) => page.$$eval('#messages li', (lis) => lis.map((li) => ({
  user: li.querySelector('.user') ? li.querySelector('.user').textContent : null,
  text: li.querySelector('.text') ? li.querySelector('.text').textContent : null,
  kind: li.className,
})));
const statusOf = (page) => page.$eval('#status', (s) => s.textContent);
const count = (list, user, text) => list.filter((m) => m.user === user && m.text === text).length;
const welcomes = (list) => list.filter((m) => m.user === 'server' && /^Welcome .+!$/.test(m.text))
  .map((m) => m.text.slice('Welcome '.length, -1));

/// Waits until `page` shows `text` from `user` at least once; returns the messages.
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
  assert(await chat.page.inputValue('#input') === '', `${chat.name}: the input is cleared after sending`);
}

let browser = null;
let server = null;

/// Opens the chat at `/` in a context of its own, records what the page fetches, waits for
/// "connected" and the Welcome; returns {name, page, id, requests, sockets, frames, errors}.
async function openChat(name, base) {
  const context = await browser.newContext();
  context.setDefaultTimeout(WAIT);
  // A request off the origin is recorded (and fails the test) but never waited for: offline,
  // a CDN would otherwise only show up as a page-load timeout.
  const origin = new URL(base).origin;
  await context.route((url) => url.origin !== origin, (route) => route.abort());
  const page = await context.newPage();
  const chat = { name, page, context, requests: [], sockets: [], frames: [], errors: [], handshakes: [] };
  // The WebSocket handshake as Chromium's network stack saw it (DevTools protocol): the
  // request's Sec-WebSocket-Extensions offer and the response's answer.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.webSocketHandshakeResponseReceived', (e) => {
    const lower = (h) => Object.fromEntries(Object.entries(h || {}).map(([k, v]) => [k.toLowerCase(), v]));
    chat.handshakes.push({ status: e.response.status, response: lower(e.response.headers),
      request: lower(e.response.requestHeaders) });
  });
  page.on('request', (r) => chat.requests.push(r.url()));
  page.on('websocket', (ws) => {
    chat.sockets.push(ws.url());
    ws.on('framereceived', (f) => chat.frames.push(String(f.payload)));
  });
  page.on('pageerror', (e) => chat.errors.push(String(e)));
  const response = await page.goto(`${base}/`);
  assert(response.status() === 200, `${name}: GET / status ${response.status()}`);
  assert(/^text\/html\b/.test(response.headers()['content-type'] || ''),
    `${name}: GET / content-type ${response.headers()['content-type']}`);
  await until(async () => (await statusOf(page)) === 'connected', `${name}: status "connected"`,
    () => statusOf(page));
  const list = await until(async () => {
    const l = await messages(page);
    return l.length > 0 && l;
  }, `${name}: a first message`);
  assert(list[0].user === 'server' && /^Welcome .+!$/.test(list[0].text),
    `${name}: the first message is the server's Welcome, got ${JSON.stringify(list[0])}`);
  chat.id = welcomes(list)[0];
  return chat;
}

/// Every URL a chat page asked for is on the server's origin (http:// and ws://).
function checkOrigins(chat, base) {
  const origin = new URL(base);
  for (const u of chat.requests)
    assert(new URL(u).origin === origin.origin, `${chat.name} requested ${u} outside ${origin.origin}`);
  for (const u of chat.sockets) {
    const w = new URL(u);
    assert(w.protocol === 'ws:' && w.host === origin.host, `${chat.name} opened a WebSocket to ${u}`);
  }
}

// Text that JSON, HTML and UTF-8 handling could each get wrong (and no "ping" in it: that
// word makes the server answer "pong" instead of relaying).
const TRICKY = `say "hi" \\ back\\\\slash <b>not bold</b> &amp; </script> héllo ✓ 😀`;
const TRICKY_SSE = `over SSE: "quoted" \\ <i>x</i> ü 😀 {"user":"fake"}`;
const PUBLISHED = `from http: line one\nline "two"\r\n\ttab \\ <b>b</b> héllo ✓ 😀`;

const s = {};   // state shared by the cases, in order: a, b, sse page, ...

const tests = {
  async 'GET / loads from the server alone, connects and greets with "Welcome <id>!"'(base) {
    s.a = await openChat('A', base);
    checkOrigins(s.a, base);
    assert(s.a.requests.length >= 1 && s.a.requests[0] === `${base}/`, `A's first request ${s.a.requests[0]}`);
    assert(s.a.sockets.length === 1 && s.a.sockets[0] === `${base.replace('http:', 'ws:')}/_ws`,
      `A's WebSockets: ${JSON.stringify(s.a.sockets)}`);
    assert(s.a.errors.length === 0, `A's script errors: ${s.a.errors}`);
    console.log(`# A is ${s.a.id}`);
  },

  async 'the WebSocket handshake: Chromium offers permessage-deflate and the server answers it'() {
    const h = await until(async () => s.a.handshakes[0], "A's handshake response");
    assert(h.status === 101, `status ${h.status}`);
    const offer = h.request['sec-websocket-extensions'] || '';
    const answer = h.response['sec-websocket-extensions'];
    console.log(`# offer: ${offer}; answer: ${answer}`);
    if (!expectDeflate) {
      assert(answer === undefined, `no extension without WISP_DEFLATE, got ${answer}`);
      return;
    }
    assert(/permessage-deflate/.test(offer), `Chromium offers permessage-deflate: ${offer}`);
    assert(answer === 'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
      `the shared-mode answer, got ${answer}`);
  },

  async 'a typed message reaches both pages once, from the sender\'s id, shown as text'(base) {
    s.b = await openChat('B', base);
    console.log(`# B is ${s.b.id}`);
    assert(s.b.id !== s.a.id, `A and B have different ids (${s.a.id})`);
    await seen(s.a, 'server', `${s.b.id} joined!`);
    await say(s.a, TRICKY);
    for (const chat of [s.a, s.b]) {
      const first = await until(async () => (await messages(chat.page)).find((m) => m.user === s.a.id),
        `${chat.name} to show a message from ${s.a.id}`, async () => JSON.stringify(await messages(chat.page)));
      assert(first.text === TRICKY, `${chat.name} shows ${JSON.stringify(first.text)}, not ${JSON.stringify(TRICKY)}`);
    }
    // Barrier: anything the server sent for TRICKY is queued before this on both sockets.
    await say(s.a, 'barrier 1');
    const la = await seen(s.a, s.a.id, 'barrier 1');
    const lb = await seen(s.b, s.a.id, 'barrier 1');
    assert(count(la, s.a.id, TRICKY) === 1, `A shows it ${count(la, s.a.id, TRICKY)} times`);
    assert(count(lb, s.a.id, TRICKY) === 1, `B shows it ${count(lb, s.a.id, TRICKY)} times`);
    for (const chat of [s.a, s.b]) {
      const bold = await chat.page.$$eval('#messages b, #messages script, #messages i', (e) => e.length);
      assert(bold === 0, `${chat.name}: no markup from a message became an element (${bold})`);
      const raw = (await messages(chat.page)).filter((m) => m.kind === 'raw');
      assert(raw.length === 0, `${chat.name}: every frame was chat JSON: ${JSON.stringify(raw)}`);
    }
    assert(count(lb, 'server', `${s.b.id} joined!`) === 0, 'B is not told it joined itself');
    assert(count(la, 'server', `${s.a.id} joined!`) === 0, 'A is not told it joined itself');
  },

  async 'Ping answers "pong" on that page only'() {
    await s.a.page.click('#ping');
    await seen(s.a, 'server', 'pong');
    await say(s.a, 'barrier 2');
    const la = await seen(s.a, s.a.id, 'barrier 2');
    const lb = await seen(s.b, s.a.id, 'barrier 2');
    assert(count(la, 'server', 'pong') === 1, `A shows pong ${count(la, 'server', 'pong')} times`);
    assert(count(lb, 'server', 'pong') === 0, 'B shows no pong');
    assert(!s.b.frames.some((f) => f.includes('pong')), 'no frame to B carried pong');
    assert(count(lb, s.a.id, 'ping') === 0 && count(la, s.a.id, 'ping') === 0, '"ping" is not relayed');
  },

  async 'an EventSource on /chat/events gets the typed message as `event: chat`'(base) {
    const context = await browser.newContext();
    context.setDefaultTimeout(WAIT);
    const page = await context.newPage();
    s.sse = { name: 'SSE', page, context };
    await page.goto(`${base}/nonexistent`);   // any page on the server's origin (a 404 will do)
    await deadline(page.evaluate(() => new Promise((resolve) => {
      window.chatEvents = [];
      window.plainEvents = [];
      const es = new EventSource('/chat/events');
      es.addEventListener('chat', (e) => window.chatEvents.push(e.data));
      es.onmessage = (e) => window.plainEvents.push(e.data);
      es.onopen = () => resolve();
      window.es = es;
    })), WAIT, 'EventSource open');
    await say(s.a, TRICKY_SSE);
    const data = await until(async () => {
      const got = await page.evaluate(() => window.chatEvents);
      return got.find((d) => d.includes('over SSE'));
    }, 'the chat event', () => page.evaluate(() => JSON.stringify(window.chatEvents)));
    const m = JSON.parse(data);
    assert(m.user === s.a.id && m.message === TRICKY_SSE, `event data ${data}`);
    assert(Object.keys(m).sort().join() === 'message,user', `keys of ${data}`);
    const plain = await page.evaluate(() => window.plainEvents);
    assert(plain.length === 0, `no unnamed events: ${JSON.stringify(plain)}`);
  },

  async 'Reconnect gets a new id; the other page sees "<old> left!" and "<new> joined!"'() {
    const old = s.a.id;
    await s.a.page.click('#reconnect');
    const la = await until(async () => {
      const l = await messages(s.a.page);
      return welcomes(l).length === 2 && l;
    }, 'a second Welcome on A', async () => JSON.stringify(await messages(s.a.page)));
    s.a.id = welcomes(la)[1];
    console.log(`# A is now ${s.a.id}`);
    assert(s.a.id !== old, `the new id differs from ${old}`);
    await until(async () => (await statusOf(s.a.page)) === 'connected', 'A connected again',
      () => statusOf(s.a.page));
    await seen(s.b, 'server', `${old} left!`);
    await seen(s.b, 'server', `${s.a.id} joined!`);
    await say(s.a, 'after reconnect');
    const lb = await seen(s.b, s.a.id, 'after reconnect');
    assert(count(lb, old, 'after reconnect') === 0, 'the old id is gone');
    assert(s.a.sockets.length === 2, `A opened ${s.a.sockets.length} WebSockets`);
  },

  async 'POST /api/publish shows on both pages as user "http"'(base) {
    const r = await deadline(fetch(`${base}/api/publish`, {
      method: 'POST', body: PUBLISHED, headers: { 'content-type': 'text/plain; charset=utf-8' },
    }), WAIT, 'POST /api/publish');
    assert(r.status === 204, `status ${r.status}`);
    await seen(s.a, 'http', PUBLISHED);
    await seen(s.b, 'http', PUBLISHED);
    const r2 = await deadline(fetch(`${base}/api/publish`, { method: 'POST', body: 'barrier 3' }), WAIT, 'POST');
    assert(r2.status === 204, `status ${r2.status}`);
    for (const chat of [s.a, s.b]) {
      const l = await seen(chat, 'http', 'barrier 3');
      assert(count(l, 'http', PUBLISHED) === 1, `${chat.name} shows it ${count(l, 'http', PUBLISHED)} times`);
    }
  },

  async 'a full-page screenshot of A is saved'() {
    fs.mkdirSync(artifacts, { recursive: true });
    const file = path.join(artifacts, 'chat_browser.png');
    await s.a.page.screenshot({ path: file, fullPage: true });
    assert(fs.statSync(file).size > 1000, `${file} is a picture`);
    console.log(`# screenshot: ${file}`);
  },

  async 'Clear empties #messages and the chat goes on'() {
    const before = (await messages(s.b.page)).length;
    await s.a.page.click('#clear');
    await until(async () => (await messages(s.a.page)).length === 0, 'A to have no messages',
      async () => JSON.stringify(await messages(s.a.page)));
    assert(await s.a.page.$$eval('#messages > *', (e) => e.length) === 0, '#messages has no children');
    assert((await messages(s.b.page)).length === before, 'B keeps its messages');
    await say(s.b, 'after clear');
    const la = await seen(s.a, s.b.id, 'after clear');
    assert(la.length === 1, `A shows only the new message: ${JSON.stringify(la)}`);
  },

  async 'over the whole session: no request off the origin, no script error'(base) {
    for (const chat of [s.a, s.b]) {
      checkOrigins(chat, base);
      assert(chat.errors.length === 0, `${chat.name}'s script errors: ${chat.errors}`);
    }
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
  server = await startServer();
  server.proc.removeAllListeners('exit');
  server.exited = new Promise((resolve) => server.proc.on('exit', (code, signal) => resolve({ code, signal })));
  browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    headless: true,
    timeout: 30000,
  });
  for (const [name, fn] of Object.entries(tests)) {
    try {
      await deadline(fn(server.base), TEST, name);
      ok(name);
    } catch (e) {
      notOk(name, e);
    }
  }
} catch (e) {   // no server or no browser: nothing else can run
  for (const line of String((e && e.stack) || e).split('\n')) console.log(`# ${line}`);
  console.log(`Bail out! ${String((e && e.message) || e).split('\n')[0]}`);
  bailed = true;
} finally {
  if (browser) await deadline(browser.close(), 15000, 'browser close').catch((e) => console.log(`# ${e}`));
}

if (bailed) {
  if (server) server.proc.kill('SIGKILL');
  process.exit(1);
}
if (server) {
  const name = `the server exits with 0 on ${stopSignal}`;
  server.proc.kill(stopSignal);
  try {
    const { code, signal } = await deadline(server.exited, 10000, 'server exit');
    assert(code === 0, `exit ${code ?? signal}`);
    ok(name);
  } catch (e) {
    server.proc.kill('SIGKILL');
    notOk(name, e);
  }
}
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
