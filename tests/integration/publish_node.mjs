// SPDX-License-Identifier: MIT
// Topics seen by an independent client, Node's `ws` (pinned in tests/node): a publication that
// is not UTF-8 is refused once and no subscriber is closed (issue 16 B6). Prints TAP.
// Usage: node publish_node.mjs --server PUBSUB_SERVER_BINARY
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
const WebSocket = require('ws');
const arg = (name) => process.argv[process.argv.indexOf(name) + 1];

function start(binary) {
  return new Promise((resolve, reject) => {
    const proc = spawn(...wrapped(binary, '--port', '0'), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error('no listening line')), 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on http:\/\/([^\s]+)/);
      if (m) { clearTimeout(timer); resolve({ proc, hostport: m[1] }); }
    });
  });
}

/// A client whose messages are awaited one at a time, each with a deadline.
function client(url) {
  const ws = new WebSocket(url);
  const queue = [];
  const waiters = [];
  let closed = null;
  ws.on('message', (data, isBinary) => {
    const m = isBinary ? data : data.toString();
    if (waiters.length) waiters.shift()(m); else queue.push(m);
  });
  ws.on('close', (code) => { closed = code; });
  return {
    ws,
    closed: () => closed,
    next: (ms = 5000) => new Promise((resolve, reject) => {
      if (queue.length) return resolve(queue.shift());
      const t = setTimeout(() => reject(new Error('no message in time')), ms);
      waiters.push((m) => { clearTimeout(t); resolve(m); });
    }),
    open: () => new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }),
  };
}

function assert(cond, what) { if (!cond) throw new Error(`assertion failed: ${what}`); }

const { proc, hostport } = await start(arg('--server'));
let failed = 0;
try {
  const url = `ws://${hostport}/_ws`;
  const a = client(url), b = client(url);
  await Promise.all([a.open(), b.open()]);
  assert(await a.next() === 'joined' && await b.next() === 'joined', 'both joined');
  for (const bad of [[0xff], [0x6f, 0x6b, 0xc0, 0xaf], [0xed, 0xa0, 0x80]]) {
    a.ws.send(Buffer.from(bad));
    assert(await a.next() === 'invalid', `refused ${bad}`);
  }
  a.ws.send(Buffer.from('é✓'));
  assert(await a.next() === 'sent', 'the good one is sent');
  assert(await b.next() === 'é✓', 'the subscriber gets only the good one');
  assert(b.closed() === null, 'the subscriber is still open');
  b.ws.send('still here');
  assert(await b.next() === 'still here', 'and answers');
  a.ws.close(); b.ws.close();
  console.log('ok 1 - a publication that is not UTF-8 is refused; ws subscribers stay open');
} catch (e) {
  failed = 1;
  console.log('not ok 1 - a publication that is not UTF-8 is refused; ws subscribers stay open');
  console.log(`# ${e.stack}`);
}
console.log('1..1');
proc.kill('SIGTERM');
process.exitCode = failed;
