// --checksum: SHA-256 on the event loop versus on a worker thread.
//
//   node bench/checksum.mjs [--size BYTES] [--rounds N] [--json]
//
// Feeds SIZE bytes in 64 KiB chunks (what a socket read gives) to a hash,
// one chunk per event-loop turn (setImmediate), as a relay would, and
// measures the throughput and the loop's delay p99 (perf_hooks histogram).
// "worker" posts each chunk (a copy) to a worker that hashes it. The
// interleaved rounds give same-run medians.
import { createHash } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(n) ? args[args.indexOf(n) + 1] : d);
const SIZE = Number(opt('--size', String(1024 ** 3)));
const ROUNDS = Number(opt('--rounds', '5'));
const CHUNK = 64 * 1024;
const chunk = Buffer.alloc(CHUNK, 0x5a);

const WORKER = `
const { parentPort } = require('node:worker_threads');
const h = require('node:crypto').createHash('sha256');
parentPort.on('message', (m) => { if (m === 'end') parentPort.postMessage(h.digest('hex')); else h.update(m); });
`;

function turns(fn) {
  // Run fn(i) once per event-loop turn until it returns false.
  return new Promise((resolve) => {
    let i = 0;
    const step = () => (fn(i++) ? setImmediate(step) : resolve());
    setImmediate(step);
  });
}

async function onLoop() {
  const h = createHash('sha256');
  const n = SIZE / CHUNK;
  await turns((i) => {
    if (i >= n) return false;
    h.update(chunk);
    return true;
  });
  return h.digest('hex');
}

async function offLoop() {
  const w = new Worker(WORKER, { eval: true });
  const n = SIZE / CHUNK;
  await turns((i) => {
    if (i >= n) return false;
    w.postMessage(chunk);
    return true;
  });
  w.postMessage('end');
  const [hex] = await new Promise((resolve) => w.once('message', (m) => resolve([m])));
  await w.terminate();
  return hex;
}

async function measure(fn) {
  const hist = monitorEventLoopDelay({ resolution: 1 });
  hist.enable();
  const t0 = process.hrtime.bigint();
  const hex = await fn();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  hist.disable();
  return { mbps: SIZE / 1e6 / secs, p99Ms: hist.percentile(99) / 1e6, hex };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const res = { 'on the loop': { mbps: [], p99: [] }, 'worker thread': { mbps: [], p99: [] } };
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 ? [['worker thread', offLoop], ['on the loop', onLoop]] : [['on the loop', onLoop], ['worker thread', offLoop]];
  const hexes = [];
  for (const [name, fn] of order) {
    const m = await measure(fn);
    res[name].mbps.push(m.mbps);
    res[name].p99.push(m.p99Ms);
    hexes.push(m.hex);
  }
  if (hexes[0] !== hexes[1]) throw new Error('the two ways disagree on the digest');
}
const rows = Object.entries(res).map(([name, v]) => ({ way: name, medianMBps: median(v.mbps), loopP99Ms: median(v.p99) }));
if (args.includes('--json')) {
  process.stdout.write(`${JSON.stringify({ benchmark: 'checksum', sizeBytes: SIZE, rounds: ROUNDS, rows }, null, 2)}\n`);
} else {
  const { default: Table } = await import('cli-table3');
  const t = new Table({ style: { head: [], border: [] }, head: ['SHA-256 of 64 KiB chunks', 'MB/s (median)', 'loop p99 ms (median)'] });
  for (const r of rows) t.push([r.way, r.medianMBps.toFixed(0), r.loopP99Ms.toFixed(3)]);
  process.stdout.write(`--checksum: hashing ${(SIZE / 1024 ** 3).toFixed(2)} GiB, ${ROUNDS} rounds, node ${process.version}\n${t.toString()}\n`);
}
