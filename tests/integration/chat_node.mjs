// SPDX-License-Identifier: MIT
// examples/chat driven by independent clients: Node's `ws` and `eventsource` packages (npm,
// pinned in tests/node/package-lock.json), node:http and a hand-made WebSocket over node:net.
// Checks the contract of DESIGN.md section 3 ("examples/chat"). Every test case gets a fresh
// server (so no notice of one case reaches another). Prints TAP.
// Usage: node chat_node.mjs --server BINARY [--only REGEX-OF-TEST-NAMES]
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
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
const EventSource = require('eventsource');

const serverArg = process.argv.indexOf('--server');
const binary = serverArg > 0 ? process.argv[serverArg + 1] : undefined;
if (!binary) {
  console.error('usage: node chat_node.mjs --server BINARY');
  process.exit(2);
}

// ---- helpers ------------------------------------------------------------------------------

function assert(cond, what) {
  if (!cond) throw new Error(`assertion failed: ${what}`);
}

/// The JSON text the chat sends: {"user":...,"message":...}, keys in that order.
const say = (user, message) => JSON.stringify({ user, message });
const short = (s) => (s.length > 160 ? `${JSON.stringify(s.slice(0, 160))}... (${s.length} chars)` : JSON.stringify(s));
const utf8Bytes = (s) => Buffer.byteLength(s, 'utf8');

/// Rejects `promise` after `ms` with "timeout: what".
function within(ms, what, promise) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/// Every client event goes through this bus, so `until` re-checks its condition on each one.
const bus = new EventEmitter();
bus.setMaxListeners(0);

function until(pred, ms, what) {
  return new Promise((resolve, reject) => {
    if (pred()) return resolve();
    const check = () => {
      if (!pred()) return;
      clearTimeout(timer);
      bus.off('change', check);
      resolve();
    };
    const timer = setTimeout(() => {
      bus.off('change', check);
      reject(new Error(`timeout after ${ms} ms waiting for ${typeof what === 'function' ? what() : what}`));
    }, ms);
    bus.on('change', check);
  });
}

function startServer() {
  return new Promise((resolve, reject) => {
    const proc = spawn(...wrapped(binary, '--port', '0'), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error('no listening line')); }, process.env.WISP_EXE_WRAPPER ? 60000 : 15000);
    proc.exited = new Promise((res) => proc.once('exit', (code, signal) => res({ code, signal })));
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on http:\/\/([^:\s]+):(\d+)/);
      if (m) {
        clearTimeout(timer);
        const host = m[1];
        const port = Number(m[2]);
        resolve({ proc, host, port, base: `http://${host}:${port}`, wsUrl: `ws://${host}:${port}/_ws` });
      }
    });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}`)); });
    proc.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

async function stopServer(srv) {
  if (srv.proc.exitCode !== null || srv.proc.signalCode !== null) return;
  srv.proc.kill(stopSignal);
  let timer;
  const done = await Promise.race([
    srv.proc.exited.then(() => true),
    new Promise((res) => { timer = setTimeout(() => res(false), 12000); }),
  ]);
  clearTimeout(timer);
  if (!done) {
    console.log(`# server did not exit within 12 s of ${stopSignal}: killed`);
    srv.proc.kill('SIGKILL');
    await srv.proc.exited;
  }
}

/// A `ws` client that keeps every message in order until the test takes it.
class Peer {
  constructor(ctx, url, name, opts = {}) {
    this.name = name;
    this.id = null;
    this.queue = [];
    this.received = 0;
    this.closeInfo = null;
    this.ws = new WebSocket(url, opts);
    ctx.cleanup.push(() => this.ws.terminate());
    this.ws.on('message', (data, isBinary) => {
      this.queue.push({ text: data.toString('utf8'), isBinary });
      this.received += 1;
      this.wake?.();
      bus.emit('change');
    });
    this.ws.on('error', (e) => { this.error = e; });
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => {
      this.closeInfo = { code, reason: String(reason) };
      this.wake?.();
      bus.emit('change');
      resolve(this.closeInfo);
    }));
    this.opened = within(10000, `${name} opens`, new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
      this.ws.once('close', (code) => reject(new Error(`${name} closed with ${code} before opening`)));
    }));
  }

  /// The next message (text or binary), within `ms`.
  async next(what = 'a message', ms = 10000) {
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.queue.length) return this.queue.shift();
      if (this.closeInfo) throw new Error(`${this.name}: closed (${this.closeInfo.code}) while waiting for ${what}`);
      const rest = deadline - Date.now();
      if (rest <= 0) throw new Error(`${this.name}: timeout waiting for ${what}`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, rest);
        this.wake = () => { clearTimeout(timer); this.wake = null; resolve(); };
      });
    }
  }

  /// The next message must be the text `raw`, byte for byte.
  async expect(raw, what) {
    const m = await this.next(what);
    assert(!m.isBinary, `${this.name}: ${what}: got a binary message`);
    assert(m.text === raw, `${this.name}: ${what}: expected ${short(raw)}, got ${short(m.text)}`);
    return m.text;
  }

  /// Nothing is queued (call after a marker proved the stream caught up).
  assertIdle(what) {
    assert(this.queue.length === 0, `${this.name}: ${what}: unexpected ${short(this.queue[0]?.text ?? '')}`);
  }

  send(data) { this.ws.send(data); }
}

/// Connects a peer and checks its first message is exactly its welcome; sets peer.id.
async function join(ctx, name, opts) {
  const p = new Peer(ctx, ctx.srv.wsUrl, name, opts);
  await p.opened;
  const m = await p.next('the welcome');
  const match = /^\{"user":"server","message":"Welcome (.+)!"\}$/.exec(m.text);
  assert(!m.isBinary && match, `${name}: first message is the welcome, got ${short(m.text)}`);
  p.id = JSON.parse(m.text).message.slice('Welcome '.length, -1);
  assert(m.text === say('server', `Welcome ${p.id}!`), `${name}: welcome text ${short(m.text)}`);
  return p;
}

const joined = (p) => say('server', `${p.id} joined!`);
const left = (p) => say('server', `${p.id} left!`);
const PONG = say('server', 'pong');

/// An HTTP request with node:http (no keep-alive agent). `chunks` sends a chunked body.
function request(ctx, { method = 'GET', path: target, headers = {}, body, chunks }) {
  return within(15000, `${method} ${target}`, new Promise((resolve, reject) => {
    const req = http.request({
      host: ctx.srv.host, port: ctx.srv.port, path: target, method, headers, agent: false,
    }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (chunks) {
      for (const c of chunks) req.write(c);
      req.end();
    } else {
      req.end(body);
    }
  }));
}

function post(ctx, body) {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  return request(ctx, {
    method: 'POST', path: '/api/publish', body: buf,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': buf.length },
  });
}

function postChunked(ctx, chunks) {
  return request(ctx, {
    method: 'POST', path: '/api/publish', chunks,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'transfer-encoding': 'chunked' },
  });
}

/// `/chat/events` through the `eventsource` package: every `chat` event's data, in order.
async function chatEvents(ctx) {
  const es = new EventSource(`${ctx.srv.base}/chat/events`);
  ctx.cleanup.push(() => es.close());
  const s = { es, events: [], other: [], errors: 0 };
  es.addEventListener('chat', (e) => { s.events.push(e.data); bus.emit('change'); });
  es.onmessage = (e) => { s.other.push(e.data); };   // unnamed events: none expected
  es.onerror = () => { s.errors += 1; bus.emit('change'); };
  await within(10000, '/chat/events opens', new Promise((resolve) => { es.onopen = resolve; }));
  s.expect = async (raw, what) => {
    const i = s.taken ?? 0;
    await until(() => s.events.length > i || s.errors > 0, 10000, `/chat/events: ${what}`);
    assert(s.errors === 0, `/chat/events: the stream failed (${s.errors} errors) waiting for ${what}`);
    s.taken = i + 1;
    assert(s.events[i] === raw, `/chat/events: ${what}: expected ${short(raw)}, got ${short(s.events[i])}`);
  };
  return s;
}

/// A WebSocket client written by hand over node:net, so the test decides when (if ever) it
/// reads. Resolves after the 101 and the welcome frame; the socket is then paused.
function rawStalledPeer(ctx) {
  return within(10000, 'raw WebSocket handshake', new Promise((resolve, reject) => {
    const sock = net.connect(ctx.srv.port, ctx.srv.host);
    ctx.cleanup.push(() => sock.destroy());
    const key = crypto.randomBytes(16).toString('base64');
    const accept = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    let buf = Buffer.alloc(0);
    let head = null;
    sock.on('error', reject);
    sock.on('connect', () => sock.write(
      `GET /_ws HTTP/1.1\r\nHost: ${ctx.srv.host}:${ctx.srv.port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      if (head === null) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
        if (!/^HTTP\/1\.1 101 /.test(head)) return reject(new Error(`handshake: ${head.split('\r\n')[0]}`));
        if (!new RegExp(`\r\nsec-websocket-accept: *${accept.replace(/[+/]/g, '\\$&')}`, 'i').test(head))
          return reject(new Error('handshake: wrong Sec-WebSocket-Accept'));
      }
      if (buf.length < 2) return;
      const op = buf[0] & 0x0f;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
      if (buf.length < off + len) return;
      sock.pause();   // from here on the client never reads
      sock.off('data', onData);
      sock.off('error', reject);
      if (op !== 1 || (buf[1] & 0x80)) return reject(new Error(`first frame: opcode ${op}`));
      const text = buf.subarray(off, off + len).toString('utf8');
      const m = /^\{"user":"server","message":"Welcome (.+)!"\}$/.exec(text);
      if (!m) return reject(new Error(`raw peer: first message ${short(text)}`));
      resolve({ sock, id: JSON.parse(text).message.slice('Welcome '.length, -1) });
    };
    sock.on('data', onData);
  }));
}

/// Resolves when the server has ended the raw connection. The client still never reads: it
/// writes a masked ping every 100 ms, and a write fails (EPIPE/ECONNRESET) once the server's
/// socket is gone.
function serverEnds(sock, ms) {
  return within(ms, 'the server ends the stalled connection', new Promise((resolve) => {
    const t0 = Date.now();
    let timer = null;
    const done = (how) => { clearInterval(timer); resolve({ how, ms: Date.now() - t0 }); };
    sock.once('error', (e) => done(e.code || String(e)));
    sock.once('close', () => done('close'));
    const ping = Buffer.from([0x89, 0x80, 1, 2, 3, 4]);   // FIN ping, masked, empty
    timer = setInterval(() => { if (!sock.destroyed) sock.write(ping, () => {}); }, 100);
  }));
}

/// Reads a (paused) raw WebSocket until the server ends it; returns its frames.
function readToEnd(sock, ms) {
  return within(ms, 'the stalled connection ends', new Promise((resolve) => {
    const chunks = [];
    const frames = [];
    let done = false;
    const finish = (how) => {
      if (done) return;
      done = true;
      let buf = Buffer.concat(chunks);
      for (;;) {   // whatever complete frames are buffered
        if (buf.length < 2) break;
        let len = buf[1] & 0x7f;
        let off = 2;
        if (len === 126) { if (buf.length < 4) break; len = buf.readUInt16BE(2); off = 4; }
        else if (len === 127) { if (buf.length < 10) break; len = Number(buf.readBigUInt64BE(2)); off = 10; }
        if (buf.length < off + len) break;
        frames.push({ fin: (buf[0] & 0x80) !== 0, op: buf[0] & 0x0f, payload: buf.subarray(off, off + len) });
        buf = buf.subarray(off + len);
      }
      resolve({ frames, how: `${how}${buf.length ? `, ${buf.length} bytes of a partial frame` : ''}` });
    };
    sock.on('data', (d) => chunks.push(d));
    sock.once('end', () => finish('FIN'));
    sock.once('error', (e) => finish(e.code || String(e)));
    sock.once('close', () => finish('closed'));
    sock.resume();
  }));
}

/// A stalled reader among three reading peers: a raw WebSocket that never reads, then 60 KiB
/// messages from a publisher, at most 8 ahead of the slowest reader (so no reader nears the
/// 1 MiB cap: one Node process reads them all, and a socket whose receive buffer the kernel did
/// not grow reads slowly), until the server has dropped the stalled peer and at least 200 went
/// out (at most 600 = 36 MiB). Checks every reader got every message once, in order, plus one
/// leave notice for the stalled peer.
async function stall(ctx) {
  const readers = await Promise.all([1, 2, 3].map((i) => join(ctx, `R${i}`)));
  const pub = await join(ctx, 'Pub');
  const stalled = await rawStalledPeer(ctx);
  const s = { id: stalled.id };
  const all = [...readers, pub];
  // Their "joined" for the stalled peer: it is subscribed from here on.
  await until(() => all.every((p) => p.queue.some((m) => m.text === joined(s))), 10000, 'joined of the stalled peer');
  for (const p of all) p.queue.length = 0;
  const filler = 'x'.repeat(60 * 1024 - 16);
  const text = (i) => `${String(i).padStart(6, '0')} ${filler}`;
  let leftTime = 0;
  const leftSeen = () => {
    if (!leftTime && readers.some((r) => r.queue.some((m) => m.text === left(s)))) leftTime = Date.now();
    return readers.every((r) => r.queue.some((m) => m.text === left(s)));
  };
  const slowest = () => Math.min(...readers.map((r) => r.queue.length));   // counts the leave too
  const t0 = Date.now();
  let sent = 0;
  let own = 0;
  let leftAt = -1;
  const takeOwn = () => {   // the publisher's own copies, in order (and the leave notice)
    leftSeen();
    while (pub.queue.length) {
      const m = pub.queue.shift();
      if (m.text === left(s)) { if (leftAt < 0) leftAt = own; continue; }
      assert(m.text === say(pub.id, text(own)), `publisher: own message ${own}: ${short(m.text)}`);
      own += 1;
    }
    return pub.closeInfo !== null || readers.some((r) => r.closeInfo);
  };
  while (sent < 600 && (sent < 200 || !leftSeen())) {
    while (sent - slowest() < 8 && sent < 600) pub.send(text(sent++));
    const before = slowest();
    await until(() => takeOwn() || slowest() > before, 20000,
      () => `every reader's message ${before} (${readers.map((r) => r.queue.length)})`);
    assert(!pub.closeInfo, `the publisher was closed (${pub.closeInfo?.code})`);
    for (const r of readers) assert(!r.closeInfo, `${r.name} was closed (${r.closeInfo?.code})`);
  }
  await until(() => takeOwn() || own === sent, 20000, () => `the publisher's copies (${own} of ${sent})`);
  await until(() => readers.every((r) => r.queue.length >= sent + 1) || readers.some((r) => r.closeInfo), 20000,
    () => `${sent} messages and the stalled peer's leave at every reader (${readers.map((r) => r.queue.length)})`);
  const ms = Date.now() - t0;
  for (const r of readers) {
    assert(!r.closeInfo, `${r.name} closed (${r.closeInfo?.code})`);
    let i = 0;
    let leaves = 0;
    for (const m of r.queue.splice(0)) {
      if (m.text === left(s)) { leaves += 1; continue; }
      assert(m.text === say(pub.id, text(i)), `${r.name}: message ${i}: ${short(m.text)}`);
      i += 1;
    }
    assert(i === sent && leaves === 1, `${r.name}: ${i} of ${sent} messages, ${leaves} leaves`);
  }
  assert(leftTime > 0, 'the stalled peer left');
  return { readers, pub, sock: stalled.sock, sent, ms, leftAt, leftTime };
}

// ---- the contract -------------------------------------------------------------------------

const CONTROL = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join('');
const TRICKY = [
  'hello, world',
  'say "hi" to \'them\'',
  'back\\slash \\" \\\\ \\u0041 \\n',
  CONTROL,
  'nul\u0000in the middle',
  '\u007f delete',
  'grüße, 日本語, Ελληνικά, עברית',
  'astral: 😀🎉 𝄞 \u{10FFFF}',
  'line\u2028separator\u2029paragraph',
  '</script>',
  '<script>alert(1)</script><!--',
  '{"user":"server","message":"fake"}',
  '',
  ' ',
  '\r\n\r\n',
  'data: not an event\n\nevent: chat',
  '/',
];
/// A message of exactly 65536 bytes of UTF-8 built from the tricky pieces.
function fullMessage() {
  let s = '';
  for (let i = 0; utf8Bytes(s) < 65536 - 200; i++) s += TRICKY[i % TRICKY.length];
  while (utf8Bytes(s) < 65536) s += utf8Bytes(s) <= 65536 - 4 ? '😀' : 'x';
  return s;
}

const tests = {
  async 'open: the welcome first, joined to those already in the room, not to oneself'(ctx) {
    const a = await join(ctx, 'A');
    const b = await join(ctx, 'B');
    assert(a.id !== b.id, `distinct ids (${a.id})`);
    await a.expect(joined(b), 'B joined');
    const c = await join(ctx, 'C');
    assert(new Set([a.id, b.id, c.id]).size === 3, 'distinct ids');
    await a.expect(joined(c), 'C joined');
    await b.expect(joined(c), 'C joined');
    // A marker proves what came before it: C never sees its own joined, nobody sees twice.
    a.send('marker');
    for (const p of [a, b, c]) await p.expect(say(a.id, 'marker'), 'the marker after the joins');
    for (const p of [a, b, c]) p.assertIdle('after the marker');
  },

  async 'open is atomic: concurrent openers never get the joined notice of an earlier peer'(ctx) {
    // Welcome, publish "joined", subscribe: a peer is in the room only after its own notice, so
    // of two peers exactly one (the first) sees the other join, however close their opens are.
    const N = 60;
    const peers = Array.from({ length: N }, (_, i) => new Peer(ctx, ctx.srv.wsUrl, `P${i}`));
    await within(20000, `${N} opens`, Promise.all(peers.map((p) => p.opened)));
    await until(() => peers.every((p) => p.received > 0 || p.closeInfo), 20000, 'every welcome');
    for (const p of peers) {
      const w = p.queue.shift();
      assert(w && /^\{"user":"server","message":"Welcome (.+)!"\}$/.test(w.text), `${p.name}: welcome first`);
      p.id = JSON.parse(w.text).message.slice('Welcome '.length, -1);
    }
    // Every "joined" was published before its welcome went out, so before this marker.
    const r = await post(ctx, 'marker');
    assert(r.status === 204, `POST: status ${r.status}`);
    const marker = say('http', 'marker');
    await until(() => peers.every((p) => p.queue.at(-1)?.text === marker || p.closeInfo), 20000, 'the marker');
    const sees = new Map();
    for (const p of peers) {
      const seen = new Set();
      assert(!p.closeInfo, `${p.name} closed (${p.closeInfo?.code})`);
      for (let m = p.queue.shift(); m.text !== marker; m = p.queue.shift()) {
        const j = /^\{"user":"server","message":"(.+) joined!"\}$/.exec(m.text);
        assert(j, `${p.name}: unexpected ${short(m.text)}`);
        const id = JSON.parse(m.text).message.slice(0, -' joined!'.length);
        assert(id !== p.id && !seen.has(id), `${p.name}: "${id} joined!" (own or twice)`);
        seen.add(id);
      }
      sees.set(p, seen);
    }
    const both = [];
    for (let i = 0; i < N; i++) {
      for (let k = i + 1; k < N; k++) {
        const ab = sees.get(peers[i]).has(peers[k].id);
        const ba = sees.get(peers[k]).has(peers[i].id);
        assert(ab || ba, `${peers[i].name} and ${peers[k].name}: neither saw the other join`);
        if (ab && ba) both.push(`${peers[i].id}<->${peers[k].id}`);
      }
    }
    assert(both.length === 0, `${both.length} pairs saw each other join (e.g. ${both.slice(0, 5).join(', ')})`);
  },

  async 'text: the sender gets it once, every other peer once; JSON is valid and round-trips'(ctx) {
    const a = await join(ctx, 'A');
    const b = await join(ctx, 'B');
    const c = await join(ctx, 'C');
    await a.expect(joined(b), 'B joined');
    await a.expect(joined(c), 'C joined');
    await b.expect(joined(c), 'C joined');
    const texts = [...TRICKY, 'é'.repeat(32768), fullMessage()];
    for (const t of texts) assert(!t.includes('ping'), 'no test text says ping');
    assert(utf8Bytes(texts.at(-1)) === 65536 && utf8Bytes(texts.at(-2)) === 65536, '64 KiB texts');
    for (const [i, text] of texts.entries()) {
      const sender = [a, b, c][i % 3];
      sender.send(text);
      const own = await sender.next(`own message ${i}`);
      assert(!own.isBinary, `message ${i} comes back as text`);
      let parsed;
      try { parsed = JSON.parse(own.text); } catch (e) { throw new Error(`message ${i}: invalid JSON ${short(own.text)}: ${e.message}`); }
      assert(Object.keys(parsed).join() === 'user,message', `message ${i}: keys ${Object.keys(parsed)}`);
      assert(parsed.user === sender.id, `message ${i}: user ${parsed.user}`);
      assert(parsed.message === text, `message ${i}: round trip: sent ${short(text)}, got back ${short(parsed.message)}`);
      assert(own.text.startsWith(`{"user":${JSON.stringify(sender.id)},"message":"`), `message ${i}: ${short(own.text)}`);
      // Not required by the contract, but worth knowing: the same escaping as JSON.stringify.
      if (own.text !== say(sender.id, text)) console.log(`# note: message ${i} escapes differently from JSON.stringify: ${short(own.text)}`);
      for (const p of [a, b, c]) if (p !== sender) await p.expect(own.text, `message ${i} from ${sender.name}`);
    }
    c.send('marker');
    for (const p of [a, b, c]) await p.expect(say(c.id, 'marker'), 'the marker (no message came twice)');
    for (const p of [a, b, c]) p.assertIdle('after the marker');
  },

  async 'size: 65536 bytes are accepted, 65537 close the sender with 1009 and reach nobody'(ctx) {
    const a = await join(ctx, 'A');
    const b = await join(ctx, 'B');
    await a.expect(joined(b), 'B joined');
    const max = 'x'.repeat(65536);
    a.send(max);
    await a.expect(say(a.id, max), 'own 65536-byte message');
    await b.expect(say(a.id, max), '65536-byte message');
    a.send('é'.repeat(32768) + 'x');   // 65537 bytes
    const { code } = await within(10000, 'A closed', a.closed);
    assert(code === 1009, `close code ${code}`);
    a.assertIdle('after the oversized message');
    await b.expect(left(a), 'A left (and not its oversized message)');
    b.send('marker');
    await b.expect(say(b.id, 'marker'), 'marker');
    b.assertIdle('after the marker');
  },

  async 'ping: any text containing "ping" gets pong, to the sender only'(ctx) {
    const a = await join(ctx, 'A');
    const b = await join(ctx, 'B');
    await a.expect(joined(b), 'B joined');
    for (const t of ['xpingx', 'ping', 'pingping', 'a "ping" in quotes']) {
      a.send(t);
      await a.expect(PONG, `pong for ${short(t)}`);
    }
    a.send('after');
    await a.expect(say(a.id, 'after'), 'own marker');
    await b.expect(say(a.id, 'after'), 'the marker is the next thing B sees (no ping, no pong)');
    b.assertIdle('after the marker');
  },

  async 'binary: the sender is closed with 1003, the others see it leave'(ctx) {
    const a = await join(ctx, 'A');
    const b = await join(ctx, 'B');
    await a.expect(joined(b), 'B joined');
    a.send(Buffer.from([0x7b, 0x7d, 0x00, 0xff]));
    const { code } = await within(10000, 'A closed', a.closed);
    assert(code === 1003, `close code ${code}`);
    a.assertIdle('after its binary message');
    await b.expect(left(a), 'A left');
    b.send('marker');
    await b.expect(say(b.id, 'marker'), 'marker');
  },

  async 'close: the others get "<id> left!"'(ctx) {
    const a = await join(ctx, 'A');
    const b = await join(ctx, 'B');
    const c = await join(ctx, 'C');
    await a.expect(joined(b), 'B joined');
    await a.expect(joined(c), 'C joined');
    await b.expect(joined(c), 'C joined');
    b.ws.close(1000, 'bye');
    const { code } = await within(10000, 'B closed', b.closed);
    assert(code === 1000, `B's close code ${code}`);
    await a.expect(left(b), 'B left');
    await c.expect(left(b), 'B left');
    c.ws.terminate();   // no close frame at all: still a leave
    await a.expect(left(c), 'C left (TCP dropped)');
    a.send('marker');
    await a.expect(say(a.id, 'marker'), 'marker');
    a.assertIdle('after the marker');
  },

  async '200 clients: welcomes, each joined exactly once, 3x50 broadcasts exactly once and in order'(ctx) {
    const N = 200;
    const peers = Array.from({ length: N }, (_, i) => new Peer(ctx, ctx.srv.wsUrl, `P${i}`));
    await within(30000, `${N} opens`, Promise.all(peers.map((p) => p.opened)));
    await until(() => peers.every((p) => p.received > 0 || p.closeInfo), 30000,
      () => `every welcome (${peers.filter((p) => p.received > 0).length} of ${N})`);
    const ids = new Map();
    for (const p of peers) {
      assert(!p.closeInfo, `${p.name} closed (${p.closeInfo?.code})`);
      const w = p.queue.shift();
      const m = w && /^\{"user":"server","message":"Welcome (.+)!"\}$/.exec(w.text);
      assert(m, `${p.name}: first message is the welcome: ${short(w?.text ?? '')}`);
      p.id = JSON.parse(w.text).message.slice('Welcome '.length, -1);
      assert(!ids.has(p.id), `id ${p.id} given twice`);
      ids.set(p.id, p);
    }
    // Settled: every "joined" was published before its welcome went out, so before this marker
    // (at least N(N-1)/2 of them: of each pair, the first to open sees the other).
    const r = await post(ctx, 'settled');
    assert(r.status === 204, `POST: status ${r.status}`);
    const marker = say('http', 'settled');
    await until(() => peers.every((p) => p.queue.at(-1)?.text === marker || p.closeInfo), 30000,
      () => `the room to settle (${peers.filter((p) => p.queue.at(-1)?.text === marker).length} of ${N} peers)`);
    const sees = new Map();   // peer -> Set of ids whose joined it saw
    for (const p of peers) {
      const seen = new Set();
      assert(!p.closeInfo, `${p.name} closed (${p.closeInfo?.code})`);
      for (let m = p.queue.shift(); m.text !== marker; m = p.queue.shift()) {
        const j = /^\{"user":"server","message":"(.+) joined!"\}$/.exec(m.text);
        assert(j && ids.has(JSON.parse(m.text).message.slice(0, -' joined!'.length)),
          `${p.name}: unexpected ${short(m.text)} while the room fills`);
        const id = JSON.parse(m.text).message.slice(0, -' joined!'.length);
        assert(id !== p.id, `${p.name} saw its own joined`);
        assert(!seen.has(id), `${p.name} saw "${id} joined!" twice`);
        seen.add(id);
      }
      sees.set(p, seen);
    }
    // Of two peers, the one that opened first sees the other join. (That it does not also see
    // the earlier ones is the "open is atomic" case's business.)
    let bothWays = 0;
    for (let i = 0; i < N; i++) {
      for (let k = i + 1; k < N; k++) {
        const ab = sees.get(peers[i]).has(peers[k].id);
        const ba = sees.get(peers[k]).has(peers[i].id);
        assert(ab || ba, `${peers[i].name} and ${peers[k].name}: neither saw the other join`);
        if (ab && ba) bothWays += 1;
      }
    }
    if (bothWays) console.log(`# ${bothWays} pairs saw each other join`);

    const pubs = [peers[0], peers[N >> 1], peers[N - 1]];
    const M = 50;
    for (let i = 0; i < M; i++) for (const [k, p] of pubs.entries()) p.send(`publisher ${k} seq ${i}`);
    await until(() => peers.every((p) => p.queue.length >= pubs.length * M) || peers.some((p) => p.closeInfo),
      30000, () => `${pubs.length * M} broadcasts at every peer (${peers.filter((p) => p.queue.length >= pubs.length * M).length} of ${N} done)`);
    pubs[0].send('the end');   // a last marker: nothing comes twice after the count was reached
    const endText = say(pubs[0].id, 'the end');
    await until(() => peers.every((p) => p.queue.at(-1)?.text === endText) || peers.some((p) => p.closeInfo),
      30000, 'the end marker at every peer');
    for (const p of peers) {
      assert(!p.closeInfo, `${p.name} closed (${p.closeInfo?.code})`);
      const nextSeq = pubs.map(() => 0);
      const msgs = p.queue.splice(0);
      assert(msgs.pop().text === endText, `${p.name}: the end marker comes last`);
      for (const m of msgs) {
        const o = JSON.parse(m.text);
        const seq = /^publisher (\d) seq (\d+)$/.exec(o.message);
        assert(seq, `${p.name}: unexpected ${short(m.text)}`);
        const k = Number(seq[1]);
        assert(o.user === pubs[k].id, `${p.name}: user ${o.user} for publisher ${k}`);
        assert(Number(seq[2]) === nextSeq[k], `${p.name}: publisher ${k}: seq ${seq[2]}, expected ${nextSeq[k]}`);
        nextSeq[k] += 1;
      }
      assert(nextSeq.every((n) => n === M), `${p.name}: got ${nextSeq} of ${M} per publisher`);
    }
    for (const p of peers) p.ws.terminate();
  },

  async 'stalled reader: the others get every message; the server closes it (1008 at its cap) and goes on'(ctx) {
    const st = await stall(ctx);
    console.log(`# ${st.sent} x 60 KiB to 3 readers in ${st.ms} ms; the stalled peer left after ~${st.leftAt} messages`);
    // The server ends the TCP connection itself (the client sends nothing and reads nothing). The
    // slowest bound: Limits::send_timeout (30 s without write progress).
    const end = await serverEnds(st.sock, 45000);
    console.log(`# the stalled connection ended (${end.how}) ${Date.now() - st.leftTime} ms after its leave notice`);
    const n = await join(ctx, 'New');
    for (const r of st.readers) await r.expect(joined(n), 'the new peer joined');
    n.send('still here');
    await n.expect(say(n.id, 'still here'), 'own message');
    for (const r of st.readers) await r.expect(say(n.id, 'still here'), 'the new peer\'s message');
  },

  async 'stalled reader that reads again: a prefix of the messages, then close 1008, then the end'(ctx) {
    const st = await stall(ctx);
    const { frames, how } = await readToEnd(st.sock, 15000);
    const close = frames.at(-1);
    assert(close && close.op === 8, `the last frame is a close frame (got ${frames.length} frames, last opcode ${close?.op}; ${how})`);
    const code = close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 1005;
    assert(code === 1008, `close code ${code} (${close.payload.subarray(2).toString()})`);
    const texts = frames.slice(0, -1);
    assert(texts.length < st.sent, `it got fewer than the ${st.sent} messages (${texts.length})`);
    for (const [i, f] of texts.entries()) {
      assert(f.op === 1 && f.fin, `frame ${i}: opcode ${f.op}, fin ${f.fin}`);
      const o = JSON.parse(f.payload.toString('utf8'));
      assert(o.user === st.pub.id && o.message.startsWith(`${String(i).padStart(6, '0')} `), `message ${i} in order`);
    }
    const bytes = texts.reduce((n, f) => n + f.payload.length, 0);
    console.log(`# the stalled peer got ${texts.length} of ${st.sent} messages (${(bytes / 1048576).toFixed(1)} MiB), then 1008; ${how}`);
  },

  async 'stalled reader: its connection ends within ws_close_timeout (5 s) of the 1008 close'(ctx) {
    const st = await stall(ctx);
    // The 1008 close frame waits behind a full queue that the client never reads, so it stays
    // unanswered: Limits::ws_close_timeout ("our close frame unanswered: closed") should end the
    // connection, not only Limits::send_timeout (no write progress for 30 s).
    const rest = 8000 - (Date.now() - st.leftTime);
    try {
      const end = await serverEnds(st.sock, Math.max(rest, 0));
      console.log(`# ended (${end.how}) ${Date.now() - st.leftTime} ms after the close decision`);
    } catch (e) {
      throw new Error(`still open 8 s after the close decision (its leave notice): ${e.message}`);
    }
  },

  async '/chat/events (eventsource): every chat publication as one `chat` event with the same JSON'(ctx) {
    const ev = await chatEvents(ctx);
    const a = await join(ctx, 'A');
    await ev.expect(joined(a), 'A joined');
    const b = await join(ctx, 'B');
    const j = await a.expect(joined(b), 'B joined');
    await ev.expect(j, 'B joined');
    const t = 'to the stream: "quoted", \\, \n, \r\n, \u2028, 😀, data: x';
    a.send(t);
    const own = await a.expect(say(a.id, t), 'own message');
    await b.expect(own, 'A\'s message');
    await ev.expect(own, 'A\'s message');
    a.send('ping');
    await a.expect(PONG, 'pong');
    b.ws.close();
    await a.expect(left(b), 'B left');
    await ev.expect(left(b), 'B left (and no ping or pong before it)');
    assert(ev.other.length === 0, `no unnamed events (got ${ev.other.length})`);
    assert(ev.errors === 0, 'the stream never failed');
  },

  async 'POST /api/publish: plain and chunked bodies -> 204, to WS peers and /chat/events'(ctx) {
    const ev = await chatEvents(ctx);
    const a = await join(ctx, 'A');
    await ev.expect(joined(a), 'A joined');
    const plain = 'from http: "quoted" \\ ✓ 😀\n</script>';
    let r = await post(ctx, plain);
    assert(r.status === 204 && r.body.length === 0, `plain: status ${r.status}, ${r.body.length} body bytes`);
    await a.expect(say('http', plain), 'the plain body');
    await ev.expect(say('http', plain), 'the plain body');
    const emoji = Buffer.from('😀', 'utf8');
    const chunks = [Buffer.from('chunk one, '), Buffer.from('chunk two '), emoji.subarray(0, 2), emoji.subarray(2), Buffer.from(' end')];
    r = await postChunked(ctx, chunks);
    assert(r.status === 204, `chunked: status ${r.status}`);
    const whole = Buffer.concat(chunks).toString('utf8');
    await a.expect(say('http', whole), 'the chunked body');
    await ev.expect(say('http', whole), 'the chunked body');
    r = await post(ctx, '');
    assert(r.status === 204, `empty: status ${r.status}`);
    await a.expect(say('http', ''), 'the empty body');
    await ev.expect(say('http', ''), 'the empty body');
    const max = 'ü'.repeat(32768);   // 65536 bytes
    r = await post(ctx, max);
    assert(r.status === 204, `65536 bytes: status ${r.status}`);
    await a.expect(say('http', max), 'the 64 KiB body');
    await ev.expect(say('http', max), 'the 64 KiB body');
    const maxChunks = Array.from({ length: 16 }, () => 'ü'.repeat(2048));   // 16 x 4096 bytes
    r = await postChunked(ctx, maxChunks);
    assert(r.status === 204, `65536 bytes chunked: status ${r.status}`);
    await a.expect(say('http', maxChunks.join('')), 'the 64 KiB chunked body');
    await ev.expect(say('http', maxChunks.join('')), 'the 64 KiB chunked body');
  },

  async 'POST /api/publish: over 64 KiB -> 413, not UTF-8 -> 400, nothing published'(ctx) {
    const ev = await chatEvents(ctx);
    const a = await join(ctx, 'A');
    await ev.expect(joined(a), 'A joined');
    let r = await post(ctx, 'y'.repeat(65537));
    assert(r.status === 413, `65537 bytes: status ${r.status}`);
    r = await postChunked(ctx, [...Array.from({ length: 16 }, () => 'y'.repeat(4096)), 'y']);
    assert(r.status === 413, `65537 bytes chunked: status ${r.status}`);
    for (const bad of [[0xff, 0xfe, 0x41], [0x61, 0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf4, 0x90, 0x80, 0x80]]) {
      r = await post(ctx, Buffer.from(bad));
      assert(r.status === 400, `body ${Buffer.from(bad).toString('hex')}: status ${r.status}`);
    }
    r = await post(ctx, 'marker');
    assert(r.status === 204, `marker: status ${r.status}`);
    await a.expect(say('http', 'marker'), 'the marker is the first thing published');
    await ev.expect(say('http', 'marker'), 'the marker is the first thing published');
    a.assertIdle('after the marker');
  },

  async 'GET /api/publish -> 405 with Allow: POST; unknown paths -> 404'(ctx) {
    let r = await request(ctx, { path: '/api/publish' });
    assert(r.status === 405, `GET /api/publish: status ${r.status}`);
    const allow = (r.headers.allow ?? '').split(',').map((m) => m.trim()).filter(Boolean);
    assert(allow.includes('POST') && !allow.includes('GET'), `Allow: ${r.headers.allow}`);
    if (r.headers.allow !== 'POST') console.log(`# note: Allow is "${r.headers.allow}"`);
    r = await request(ctx, { method: 'PUT', path: '/api/publish', body: 'x', headers: { 'content-length': 1 } });
    assert(r.status === 405, `PUT /api/publish: status ${r.status}`);
    r = await request(ctx, { method: 'POST', path: '/sse', body: 'x', headers: { 'content-length': 1 } });
    assert(r.status === 405 && /GET/.test(r.headers.allow ?? ''), `POST /sse: status ${r.status}, Allow ${r.headers.allow}`);
    for (const p of ['/nope', '/api', '/api/publish/x', '/chat', '/index.html']) {
      r = await request(ctx, { path: p });
      assert(r.status === 404, `GET ${p}: status ${r.status}`);
    }
    r = await request(ctx, { method: 'POST', path: '/nope', body: 'x', headers: { 'content-length': 1 } });
    assert(r.status === 404, `POST /nope: status ${r.status}`);
  },

  async 'GET /sse: text/event-stream with "Message @ HH:MM:SS" about every second'(ctx) {
    const got = await within(5000, 'two clock events', new Promise((resolve, reject) => {
      const req = http.get({ host: ctx.srv.host, port: ctx.srv.port, path: '/sse', agent: false }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
        const type = res.headers['content-type'] ?? '';
        if (!type.startsWith('text/event-stream')) return reject(new Error(`content-type ${type}`));
        let buf = '';
        const events = [];
        res.setEncoding('utf8');
        res.on('data', (d) => {
          buf += d;
          let end;
          while ((end = buf.search(/\r\n\r\n|\n\n|\r\r/)) >= 0) {
            const block = buf.slice(0, end);
            buf = buf.slice(end + (buf.startsWith('\r\n\r\n', end) ? 4 : 2));
            const data = block.split(/\r\n|\n|\r/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, ''));
            if (data.length === 0) continue;   // a comment (heartbeat)
            events.push({ data: data.join('\n'), at: Date.now(), local: new Date() });
            if (events.length === 2) { req.destroy(); resolve(events); }
          }
        });
        res.on('end', () => reject(new Error('the stream ended')));
      });
      ctx.cleanup.push(() => req.destroy());
      req.on('error', (e) => { if (!req.destroyed || e.code !== 'ECONNRESET') reject(e); });
    }));
    const secs = got.map((e) => {
      const m = /^Message @ (\d\d):(\d\d):(\d\d)$/.exec(e.data);
      assert(m, `event data ${short(e.data)}`);
      const s = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
      const local = e.local.getHours() * 3600 + e.local.getMinutes() * 60 + e.local.getSeconds();
      const skew = Math.min((s - local + 86400) % 86400, (local - s + 86400) % 86400);
      assert(skew <= 2, `${e.data} is the local time (${e.local.toTimeString()})`);
      return s;
    });
    const step = (secs[1] - secs[0] + 86400) % 86400;
    const gap = got[1].at - got[0].at;
    assert(step >= 1 && step <= 2, `clock step ${step} s`);
    assert(gap >= 500 && gap <= 1600, `${gap} ms between events`);
  },

  async 'GET /: a self-contained chat page'(ctx) {
    const r = await request(ctx, { path: '/' });
    assert(r.status === 200, `status ${r.status}`);
    assert((r.headers['content-type'] ?? '').startsWith('text/html'), `content-type ${r.headers['content-type']}`);
    const page = r.body.toString('utf8');
    assert(page.includes('<ul id="messages"'), 'has <ul id="messages"');
    assert(page.includes('/_ws'), 'connects to /_ws');
    const ext = /\bhttps?:\/\/[^\s"'<>)]*/i.exec(page);
    assert(!ext, `no reference to another host (found ${ext?.[0]})`);
    const proto = /(?:src|href|action)\s*=\s*["']?\s*\/\/|url\(\s*["']?\/\/|@import/i.exec(page);
    assert(!proto, `no protocol-relative or imported resource (found ${proto?.[0]})`);
  },

  async [`${stopSignal}: peers get 1001, streams end, the server exits 0`](ctx) {
    const a = await join(ctx, 'A');
    const streams = ['/chat/events', '/sse'].map((p) => new Promise((resolve, reject) => {
      const req = http.get({ host: ctx.srv.host, port: ctx.srv.port, path: p, agent: false }, (res) => {
        res.resume();
        resolve({ path: p, ended: new Promise((res2) => { res.on('end', () => res2('end')); res.on('close', () => res2(res.complete ? 'end' : 'cut')); }) });
      });
      ctx.cleanup.push(() => req.destroy());
      req.on('error', reject);
    }));
    const open = await within(10000, 'streams open', Promise.all(streams));
    ctx.srv.proc.kill(stopSignal);
    const { code } = await within(12000, 'A closed', a.closed);
    assert(code === 1001, `close code ${code}`);
    for (const s of open) {
      const how = await within(12000, `${s.path} ends`, s.ended);
      assert(how === 'end', `${s.path}: the stream was cut, not ended`);
    }
    const exit = await within(12000, 'the server exits', ctx.srv.proc.exited);
    assert(exit.code === 0, `exit ${exit.code} ${exit.signal ?? ''}`);
  },
};

// ---- runner -------------------------------------------------------------------------------

process.on('unhandledRejection', (e) => console.log(`# unhandled: ${String(e?.stack || e).split('\n')[0]}`));

const t00 = Date.now();
let n = 0;
let failed = 0;
const onlyArg = process.argv.indexOf('--only');   // --only REGEX: run the matching cases
const only = new RegExp(onlyArg > 0 ? process.argv[onlyArg + 1] : '');
for (const [name, fn] of Object.entries(tests)) {
  if (!only.test(name)) continue;
  n += 1;
  const ctx = { cleanup: [] };
  const t0 = Date.now();
  try {
    ctx.srv = await startServer();
    await within(/^200|stalled/.test(name) ? 60000 : 30000, name, fn(ctx));
    console.log(`ok ${n} - ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`not ok ${n} - ${name}`);
    for (const line of String(e.stack || e).split('\n')) console.log(`# ${line}`);
  } finally {
    for (const c of ctx.cleanup) { try { c(); } catch { /* already gone */ } }
    if (ctx.srv) await stopServer(ctx.srv);
  }
  console.log(`# ${Date.now() - t0} ms`);
}
console.log(`1..${n}`);
console.log(`# total ${Date.now() - t00} ms`);
process.exit(failed ? 1 : 0);
