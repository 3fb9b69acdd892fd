// SPDX-License-Identifier: MIT
// examples/echo's /_ws driven by an independent client: Node's `ws` package (npm, pinned in
// tests/node/package-lock.json). Prints TAP. Usage: node ws_node.mjs --server BINARY
import { spawn } from 'node:child_process';
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
const WebSocket = require('ws');

const binary = process.argv[process.argv.indexOf('--server') + 1];

function startServer() {
  return new Promise((resolve, reject) => {
    const proc = spawn(...wrapped(binary, '--port', '0'), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error('no listening line')), process.env.WISP_EXE_WRAPPER ? 60000 : 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on http:\/\/([^:]+):(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: `ws://${m[1]}:${m[2]}/_ws` });
      }
    });
    proc.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

function open(url, opts = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function next(ws) {
  return new Promise((resolve, reject) => {
    const onClose = (code) => reject(new Error(`closed with ${code}`));
    ws.once('message', (data, isBinary) => {
      ws.off('close', onClose);
      resolve({ data, isBinary });
    });
    ws.once('close', onClose);
  });
}

function closed(ws) {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
}

function assert(cond, what) {
  if (!cond) throw new Error(`assertion failed: ${what}`);
}

const tests = {
  async 'text and binary keep their type'(url) {
    const ws = await open(url);
    ws.send('grüße ✓');
    let m = await next(ws);
    assert(!m.isBinary && m.data.toString() === 'grüße ✓', 'text echo');
    ws.send(Buffer.from([0, 1, 254, 255]));
    m = await next(ws);
    assert(m.isBinary && Buffer.compare(m.data, Buffer.from([0, 1, 254, 255])) === 0, 'binary echo');
    ws.close();
    await closed(ws);
  },
  async 'permessage-deflate offer is declined and messages still flow'(url) {
    const ws = await open(url, { perMessageDeflate: true });
    assert(ws.extensions === '', `no extension negotiated (got "${ws.extensions}")`);
    ws.send('x'.repeat(10000));
    const m = await next(ws);
    assert(m.data.toString() === 'x'.repeat(10000), 'echo');
    ws.close();
    await closed(ws);
  },
  async 'fragmented message comes back whole'(url) {
    const ws = await open(url);
    ws.send('one ', { fin: false });
    ws.send('two ', { fin: false });
    ws.send('three', { fin: true });
    const m = await next(ws);
    assert(m.data.toString() === 'one two three', `got ${m.data}`);
    ws.close();
    await closed(ws);
  },
  async 'ping is answered with the same payload'(url) {
    const ws = await open(url);
    const pong = new Promise((resolve) => ws.once('pong', resolve));
    ws.ping(Buffer.from('abc'));
    const payload = await pong;
    assert(payload.toString() === 'abc', 'pong payload');
    ws.close();
    await closed(ws);
  },
  async 'every length form, text and binary, up to 16 MiB'(url) {
    const ws = await open(url, { maxPayload: 0 });
    for (const n of [0, 125, 126, 65535, 65536, 1 << 20, 16 << 20]) {
      const bin = Buffer.alloc(n);
      for (let i = 0; i < n; i++) bin[i] = (i * 7) & 0xff;
      ws.send(bin);
      let m = await next(ws);
      assert(m.isBinary && Buffer.compare(m.data, bin) === 0, `binary ${n}`);
      const text = 'é'.repeat(n >> 1) + 'x'.repeat(n & 1);   // n bytes of UTF-8
      ws.send(text);
      m = await next(ws);
      assert(!m.isBinary && m.data.toString() === text, `text ${n}`);
    }
    ws.close();
    await closed(ws);
  },
  async '1 MiB binary messages in order'(url) {
    const ws = await open(url, { maxPayload: 0 });
    const bufs = [];
    for (let i = 0; i < 8; i++) bufs.push(Buffer.alloc(1 << 20, i));
    const got = [];
    const done = new Promise((resolve) => ws.on('message', (d) => { got.push(d); if (got.length === 8) resolve(); }));
    for (const b of bufs) ws.send(b);
    await done;
    for (let i = 0; i < 8; i++) assert(Buffer.compare(got[i], bufs[i]) === 0, `message ${i}`);
    ws.close();
    await closed(ws);
  },
  async 'close code and reason are echoed'(url) {
    const ws = await open(url);
    const c = closed(ws);
    ws.close(4500, 'see you');
    const { code } = await c;
    assert(code === 4500, `close code ${code}`);
  },
};

const { proc, url } = await startServer();
let n = 0;
let failed = 0;
for (const [name, fn] of Object.entries(tests)) {
  n += 1;
  try {
    await Promise.race([fn(url), new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 20000))]);
    console.log(`ok ${n} - ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`not ok ${n} - ${name}`);
    for (const line of String(e.stack || e).split('\n')) console.log(`# ${line}`);
  }
}
console.log(`1..${n}`);
proc.kill(stopSignal);
process.exit(failed ? 1 : 0);
