// SPDX-License-Identifier: MIT
// permessage-deflate (RFC 7692) against tests/support/deflate_server.cpp with Node's `ws` (npm,
// pinned in tests/node/package-lock.json) and its perMessageDeflate: every combination of its
// options on the shared and dedicated routes, context takeover on and off, the bytes that cross
// the wire, fragmented compressed messages with pings between them, fan-out. Prints TAP.
// Usage: node ws_deflate_node.mjs --server DEFLATE_SERVER_BINARY
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const wrapped = (bin, ...args) => {
  const w = (process.env.WISP_EXE_WRAPPER || '').split(/\s+/).filter(Boolean);
  return w.length ? [w[0], [...w.slice(1), bin, ...args]] : [bin, args];
};
const stopSignal = process.env.WISP_STOP_SIGNAL || 'SIGTERM';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../node/package.json'));
const WebSocket = require('ws');

const binary = process.argv[process.argv.indexOf('--server') + 1];

function startServer() {
  return new Promise((resolve, reject) => {
    const proc = spawn(...wrapped(binary, '--port', '0'), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error('no listening line')), 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on http:\/\/([^:]+):(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, base: `ws://${m[1]}:${m[2]}` });
      }
    });
    proc.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

/// Opens `url` with these perMessageDeflate options; resolves {ws, header} (the response's
/// Sec-WebSocket-Extensions) or rejects with the handshake's error.
function open(url, pmd) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: pmd, maxPayload: 0 });
    let header;
    ws.once('upgrade', (res) => { header = res.headers['sec-websocket-extensions']; });
    ws.once('open', () => resolve({ ws, header }));
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
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

function assert(cond, what) {
  if (!cond) throw new Error(`assertion failed: ${what}`);
}

function jsonMessage(seed) {
  const items = [];
  for (let i = 0; i < 14; i++) {
    items.push({ id: seed * 100 + i, name: `item-${i}`, price: 10 + ((seed + i) % 90) + 0.5, tags: ['a', 'b'] });
  }
  return JSON.stringify({ type: 'update', items });
}

/// What the server must answer (ws_deflate.hpp's rules) to ws's offer for these options.
function expected(shared, bits, o) {
  const out = ['permessage-deflate'];
  if (o.serverNoContextTakeover || shared) out.push('server_no_context_takeover');
  const cnct = o.clientNoContextTakeover || shared;
  if (cnct) out.push('client_no_context_takeover');
  const smwb = typeof o.serverMaxWindowBits === 'number' ? o.serverMaxWindowBits : undefined;
  const w = smwb === undefined ? bits : Math.min(bits, smwb);
  if (smwb !== undefined || w < 15) out.push(`server_max_window_bits=${w}`);
  // ws offers client_max_window_bits (no value) unless the option is false; a number offers it.
  const cmwb = o.clientMaxWindowBits === false ? undefined
    : typeof o.clientMaxWindowBits === 'number' ? o.clientMaxWindowBits : 15;
  if (cmwb !== undefined && !cnct && bits < cmwb) out.push(`client_max_window_bits=${bits}`);
  return out.join('; ');
}

const routes = { '/shared': [true, 15], '/shared10': [true, 10], '/dedicated': [false, 15], '/dedicated10': [false, 10] };

async function roundTrips(ws) {
  for (const seed of [1, 1, 2]) {
    const m = jsonMessage(seed);
    ws.send(m);
    const r = await next(ws);
    assert(!r.isBinary && r.data.toString() === m, `json ${seed}`);
  }
  const bin = Buffer.alloc(3000);
  for (let i = 0; i < bin.length; i++) bin[i] = (i * 31) & 0xff;
  ws.send(bin);
  const r = await next(ws);
  assert(r.isBinary && Buffer.compare(r.data, bin) === 0, 'binary');
  const text = 'grüße ✓ 😀 '.repeat(300);
  ws.send(text);
  assert((await next(ws)).data.toString() === text, 'text');
}

const tests = {
  async 'every perMessageDeflate combination on every route: the answer, then round trips'(base) {
    const bools = [undefined, false, true];
    let count = 0;
    for (const [route, [shared, bits]] of Object.entries(routes)) {
      for (const serverNoContextTakeover of bools) {
        for (const clientNoContextTakeover of bools) {
          for (const serverMaxWindowBits of [undefined, 9, 12, 15]) {
            for (const clientMaxWindowBits of [undefined, false, 9, 15]) {
              const o = { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits,
                clientMaxWindowBits, threshold: 0 };
              const what = `${route} ${JSON.stringify(o)}`;
              // ws as a client refuses client_no_context_takeover when told
              // clientNoContextTakeover: false; shared routes always say it (they keep no
              // window between messages), so that client fails the handshake by its choice.
              if (shared && clientNoContextTakeover === false) {
                let refused = false;
                try {
                  const { ws } = await open(base + route, o);
                  ws.terminate();
                } catch (e) {
                  refused = /Sec-WebSocket-Extensions/.test(String(e));
                }
                assert(refused, `${what}: ws refuses the answer`);
                continue;
              }
              const { ws, header } = await open(base + route, o);
              try {
                assert(header === expected(shared, bits, o), `${what}: answer ${header}`);
                assert(ws.extensions === 'permessage-deflate', `${what}: ws.extensions ${ws.extensions}`);
                ws.send('?extensions');
                assert((await next(ws)).data.toString() === header, `${what}: peer.extensions()`);
                await roundTrips(ws);
              } catch (e) {
                throw new Error(`${what}: ${e.message}`);
              }
              ws.close();
              await closed(ws);
              count += 1;
            }
          }
        }
      }
    }
    console.log(`# ${count} combinations negotiated and exchanged messages`);
  },

  async 'context takeover on and off on the dedicated route: both work, takeover sends fewer bytes'(base) {
    const bytes = {};
    for (const takeover of [true, false]) {
      const { ws, header } = await open(`${base}/dedicated`, {
        serverNoContextTakeover: !takeover, clientNoContextTakeover: !takeover, threshold: 0 });
      assert(header.includes('server_no_context_takeover') === !takeover, `answer ${header}`);
      const m = jsonMessage(3);
      const read0 = ws._socket.bytesRead;
      for (let i = 0; i < 20; i++) {
        ws.send(m);
        assert((await next(ws)).data.toString() === m, `echo ${i}`);
      }
      bytes[takeover] = ws._socket.bytesRead - read0;
      ws.close();
      await closed(ws);
    }
    console.log(`# 20 echoes of 1 KiB: ${bytes[true]} bytes read with context takeover, ${bytes[false]} without`);
    assert(bytes[true] * 2 < bytes[false], 'takeover compresses repeats better');
    assert(bytes[false] * 3 < 20 * jsonMessage(3).length, 'even without it, 3x fewer bytes');
  },

  async 'a large compressible message crosses the wire compressed both ways'(base) {
    const { ws } = await open(`${base}/shared`, { threshold: 0 });
    const m = jsonMessage(4).repeat(100);   // about 100 KiB
    const read0 = ws._socket.bytesRead;
    const written0 = ws._socket.bytesWritten;
    ws.send(m);
    assert((await next(ws)).data.toString() === m, 'echo');
    const read = ws._socket.bytesRead - read0, written = ws._socket.bytesWritten - written0;
    console.log(`# ${m.length} bytes echoed: ${written} written, ${read} read`);
    assert(read * 10 < m.length && written * 10 < m.length, 'both ways compressed');
    ws.close();
    await closed(ws);
  },

  async 'fragmented compressed messages with pings between the fragments'(base) {
    for (const route of ['/shared', '/dedicated']) {
      const { ws } = await open(base + route, { threshold: 0 });
      let pongs = 0;
      ws.on('pong', () => { pongs += 1; });
      const parts = [jsonMessage(5), jsonMessage(6), jsonMessage(7)];
      ws.send(parts[0], { fin: false, compress: true });
      ws.ping('a');
      ws.send(parts[1], { fin: false, compress: true });
      ws.ping('b');
      ws.send(parts[2], { fin: true, compress: true });
      const r = await next(ws);
      assert(r.data.toString() === parts.join(''), `${route}: whole message`);
      assert(pongs === 2, `${route}: ${pongs} pongs before the echo`);
      ws.close();
      await closed(ws);
    }
  },

  async 'publications reach ws clients on every route, compressed or not'(base) {
    const subs = [];
    for (const r of ['/shared', '/shared', '/shared10', '/dedicated', '/dedicated10', '/off']) {
      subs.push((await open(base + r, { threshold: 0 })).ws);
    }
    const { ws: pub } = await open(`${base}/shared`, { threshold: 0 });
    for (const ws of [...subs, pub]) {   // each has joined the room once it answers
      ws.send('?extensions');
      await next(ws);
    }
    for (const seed of [8, 8, 9]) {
      const m = jsonMessage(seed);
      const got = subs.map((ws) => next(ws));
      pub.send(`pub:${m}`);
      for (const r of await Promise.all(got)) assert(r.data.toString() === m, `publication ${seed}`);
    }
    for (const ws of [...subs, pub]) {
      ws.close();
      await closed(ws);
    }
  },

  async 'a message sent with SendOptions{false} arrives uncompressed and intact'(base) {
    const { ws } = await open(`${base}/shared`, { threshold: 0 });
    const m = jsonMessage(10).repeat(20);
    const read0 = ws._socket.bytesRead;
    ws.send(`raw:${m}`);
    assert((await next(ws)).data.toString() === m, 'raw echo');
    assert(ws._socket.bytesRead - read0 >= m.length, 'not compressed');
    ws.close();
    await closed(ws);
  },
};

const { proc, base } = await startServer();
let n = 0;
let failed = 0;
for (const [name, fn] of Object.entries(tests)) {
  n += 1;
  try {
    await Promise.race([fn(base), new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 120000))]);
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
