// SPDX-License-Identifier: MIT
// Event streams read by an independent client: the npm `eventsource` package (pinned in
// tests/node/package-lock.json). Prints TAP.
// Usage: node sse_node.mjs --echo ECHO_BINARY --sse-server SSE_SERVER_BINARY
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
const EventSource = require('eventsource');

const arg = (name) => process.argv[process.argv.indexOf(name) + 1];

function start(binary) {
  return new Promise((resolve, reject) => {
    const proc = spawn(...wrapped(binary, '--port', '0'), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error('no listening line')), process.env.WISP_EXE_WRAPPER ? 60000 : 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[^\s]+)/);
      if (m) { clearTimeout(timer); resolve({ proc, base: m[1] }); }
    });
  });
}

function assert(cond, what) { if (!cond) throw new Error(`assertion failed: ${what}`); }

/// Collects `n` message events (id and data) from `url`, then closes the source.
function collect(url, n, opts = {}) {
  return new Promise((resolve, reject) => {
    const es = new EventSource(url, opts);
    const got = [];
    let opens = 0;
    es.onopen = () => { opens += 1; };
    es.onmessage = (e) => {
      got.push({ id: e.lastEventId, data: e.data });
      if (got.length === n) { es.close(); resolve({ got, opens }); }
    };
    es.onerror = () => {};   // reconnects are expected; the deadline catches real failures
  });
}

const echo = await start(arg('--echo'));
const sse = await start(arg('--sse-server'));

const tests = {
  async 'echo: 1000 events in order with their ids'() {
    const { got } = await collect(`${echo.base}/sse?count=1000`, 1000);
    for (let i = 0; i < 1000; i++) {
      assert(got[i].data === String(i + 1), `data ${i}: ${got[i].data}`);
      assert(got[i].id === String(i + 1), `id ${i}: ${got[i].id}`);
    }
  },
  async 'echo: Last-Event-ID sent by the client resumes the stream'() {
    const { got } = await collect(`${echo.base}/sse?count=10`, 3, { headers: { 'Last-Event-ID': '7' } });
    assert(got.map((e) => e.data).join(',') === '8,9,10', got.map((e) => e.data).join(','));
  },
  async 'reconnects carry Last-Event-ID: 12 events over 4 connections, none twice'() {
    const { got, opens } = await collect(`${sse.base}/sse?count=12&per=3`, 12);
    assert(got.map((e) => e.data).join(',') === '1,2,3,4,5,6,7,8,9,10,11,12', got.map((e) => e.data).join(','));
    assert(opens >= 4, `opened ${opens} times`);
  },
};

let n = 0;
let failed = 0;
for (const [name, fn] of Object.entries(tests)) {
  n += 1;
  try {
    await Promise.race([fn(), new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 20000))]);
    console.log(`ok ${n} - ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`not ok ${n} - ${name}`);
    for (const line of String(e.stack || e).split('\n')) console.log(`# ${line}`);
  }
}
console.log(`1..${n}`);
echo.proc.kill(stopSignal);
sse.proc.kill(stopSignal);
process.exit(failed ? 1 : 0);
