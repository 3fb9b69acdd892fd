// SPDX-License-Identifier: MIT
// HTTPS and wss:// with Node's clients: `ws` trusting the test CA through its `ca` option
// (tests/support/tls_server's echo), and a headless Chromium (playwright-core) that loads
// examples/chat over https:// and chats over wss:// (the page picks wss: by itself). Chromium
// trusts the test server's key through --ignore-certificate-errors-spki-list, for this key only.
// Prints TAP. Usage: node tls_node.mjs --tls-server BIN --chat BIN --certs DIR [--artifacts DIR]
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../node/package.json'));
const WebSocket = require('ws');
const { chromium } = require('playwright-core');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
};
const certs = arg('--certs');
const cert = (name) => path.join(certs, name);
const artifacts = path.resolve(arg('--artifacts', process.cwd()));
const WAIT = 10000;
// Built with WISP_DEFLATE: the chat's room negotiates permessage-deflate (shared mode) over wss too.
const expectDeflate = process.argv.includes('--expect-deflate');

function assert(cond, what) { if (!cond) throw new Error(`assertion failed: ${what}`); }

function deadline(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/// Starts `bin` with `args` and resolves with its https base URL once it prints it.
function start(bin, args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${bin}: no listening line`)), 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on https:\/\/([^:\s]+):(\d+)/);
      if (m) { clearTimeout(timer); resolve({ proc, port: Number(m[2]) }); }
    });
    proc.on('error', (e) => { clearTimeout(timer); reject(e); });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${bin} exited with ${code}`)); });
  });
}

function open(url, opts) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}
const next = (ws) => new Promise((resolve, reject) => {
  ws.once('message', (data, isBinary) => resolve({ data, isBinary }));
  ws.once('close', (code) => reject(new Error(`closed with ${code}`)));
});
const closed = (ws) => new Promise((resolve) => ws.once('close', (code) => resolve(code)));

async function until(check, what, ms = WAIT) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ca = fs.readFileSync(cert('ca.pem'));
let echo = null, chat = null, browser = null;

const tests = {
  async 'ws with the test CA as `ca`: text, binary and 1 MiB echo over wss'() {
    const ws = await open(`wss://localhost:${echo.port}/_ws`, { ca });
    ws.send('grüße über tls ✓');
    let m = await next(ws);
    assert(!m.isBinary && m.data.toString() === 'grüße über tls ✓', 'text echo');
    const big = crypto.randomBytes(1 << 20);
    ws.send(big);
    m = await next(ws);
    assert(m.isBinary && Buffer.compare(m.data, big) === 0, '1 MiB binary echo');
    ws.close(4001, 'done');
    assert(await closed(ws) === 4001, 'close code echoed');
  },
  async 'ws without the CA refuses the server'() {
    let err = null;
    try { await open(`wss://localhost:${echo.port}/_ws`, {}); } catch (e) { err = e; }
    assert(err && /self.signed|unable to (verify|get local issuer)/i.test(String(err)), `refused: ${err}`);
  },
  async 'Chromium loads the chat over https and two pages chat over wss'() {
    const pages = [];
    for (const name of ['A', 'B']) {
      const context = await browser.newContext();
      context.setDefaultTimeout(WAIT);
      const page = await context.newPage();
      const sockets = [];
      page.on('websocket', (w) => sockets.push(w.url()));
      // The handshake as Chromium's network stack saw it (DevTools protocol): the extension answer.
      const answers = [];
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      cdp.on('Network.webSocketHandshakeResponseReceived', (e) => {
        const h = Object.fromEntries(Object.entries(e.response.headers || {})
          .map(([k, v]) => [k.toLowerCase(), v]));
        answers.push(h['sec-websocket-extensions'] || '');
      });
      const res = await page.goto(`https://localhost:${chat.port}/`);
      assert(res.status() === 200, `${name}: GET / ${res.status()}`);
      assert(res.url().startsWith('https://'), `${name}: loaded over https`);
      await until(async () => (await page.$eval('#status', (s) => s.textContent)) === 'connected',
        `${name} connected`);
      assert(sockets.length === 1 && sockets[0] === `wss://localhost:${chat.port}/_ws`,
        `${name}: the page opened ${JSON.stringify(sockets)}`);
      const answer = await until(async () => answers[0], `${name}'s handshake response`);
      const want = expectDeflate ? 'permessage-deflate; server_no_context_takeover; client_no_context_takeover' : '';
      assert(answer === want, `${name}: Sec-WebSocket-Extensions over wss: '${answer}', want '${want}'`);
      pages.push(page);
    }
    // Over the deflate min_size (64 B), so with WISP_DEFLATE it travels compressed inside TLS records.
    const text = `over wss ✓ ${Date.now()} ${'compressible '.repeat(12)}`.trim();
    await pages[0].fill('#input', text);
    await pages[0].press('#input', 'Enter');
    for (const page of pages) {
      await until(async () => (await page.$$eval('#messages li .text', (l) => l.map((e) => e.textContent)))
        .includes(text), 'the message on both pages');
    }
    fs.mkdirSync(artifacts, { recursive: true });
    await pages[1].screenshot({ path: path.join(artifacts, 'tls_browser.png'), fullPage: true });
  },
};

let n = 0, failed = 0;
try {
  echo = await start(arg('--tls-server'), ['--cert', cert('fullchain.pem'), '--key', cert('server.key')]);
  chat = await start(arg('--chat'), ['--tls-cert', cert('fullchain.pem'), '--tls-key', cert('server.key')]);
  // The base64 SHA-256 of the server key's SubjectPublicKeyInfo: what the switch names.
  const spki = crypto.createPublicKey(fs.readFileSync(cert('server.key')))
    .export({ type: 'spki', format: 'der' });
  const pin = crypto.createHash('sha256').update(spki).digest('base64');
  browser = await chromium.launch({
    executablePath: arg('--chromium', '/usr/bin/chromium'),
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      `--ignore-certificate-errors-spki-list=${pin}`],
    headless: true,
    timeout: 30000,
  });
  for (const [name, fn] of Object.entries(tests)) {
    try {
      await deadline(fn(), 30000, name);
      console.log(`ok ${++n} - ${name}`);
    } catch (e) {
      failed += 1;
      console.log(`not ok ${++n} - ${name}`);
      for (const line of String((e && e.stack) || e).split('\n')) console.log(`# ${line}`);
    }
  }
} catch (e) {
  console.log(`Bail out! ${String((e && e.message) || e).split('\n')[0]}`);
  failed += 1;
} finally {
  if (browser) await deadline(browser.close(), 15000, 'browser close').catch(() => {});
  for (const s of [echo, chat]) {
    if (!s) continue;
    s.proc.removeAllListeners('exit');
    const exited = new Promise((resolve) => s.proc.once('exit', (code) => resolve(code)));
    s.proc.kill('SIGTERM');
    const code = await deadline(exited, 10000, 'server exit').catch(() => { s.proc.kill('SIGKILL'); return -1; });
    const name = `${path.basename(s.proc.spawnargs[0])} exits with 0 on SIGTERM`;
    if (code === 0) console.log(`ok ${++n} - ${name}`);
    else { failed += 1; console.log(`not ok ${++n} - ${name} (${code})`); }
  }
}
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
