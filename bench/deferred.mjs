// Deferred microbenchmarks, each against the equivalent native Promise code
// in the same process: interleaved rounds, medians, same-run ratios.
//
//   node bench/deferred.mjs [--rounds N] [--json]
//
// "callback chain": one Deferred with 1,000,000 callbacks, fired once,
//   against one Promise with 1,000,000 chained .then() calls.
// "returned chain": 100,000 Deferreds, each returned from the previous one's
//   callback, against 100,000 Promises each returned from the previous .then().
import { Deferred } from '../dist/index.js';

const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf('--rounds') + 1]) > 0 ? Number(args[args.indexOf('--rounds') + 1]) : 7;
const asJson = args.includes('--json');

const CHAIN = 1_000_000;
const NESTED = 100_000;
const inc = (x) => x + 1;

function deferredChain() {
  const d = new Deferred();
  for (let i = 0; i < CHAIN; i++) d.addCallback(inc);
  d.callback(0);
  if (d.result !== CHAIN) throw new Error(`deferred chain gave ${d.result}`);
}

async function promiseChain() {
  let p = Promise.resolve(0);
  for (let i = 0; i < CHAIN; i++) p = p.then(inc);
  const r = await p;
  if (r !== CHAIN) throw new Error(`promise chain gave ${r}`);
}

function deferredNested() {
  // Each callback returns a new Deferred that fires later (from a queue), so
  // every level really waits and hands its result up the chain.
  const queue = [];
  let n = 0;
  const step = () => {
    if (++n >= NESTED) return n;
    const next = new Deferred();
    next.addCallback(step);
    queue.push(next);
    return next;
  };
  const root = new Deferred();
  root.addCallback(step);
  root.callback(0);
  for (let i = 0; i < queue.length; i++) queue[i].callback(0);
  if (root.result !== NESTED) throw new Error(`deferred nesting gave ${root.result}`);
}

async function promiseNested() {
  let n = 0;
  const step = () => {
    if (++n >= NESTED) return n;
    return Promise.resolve(0).then(step);
  };
  const r = await Promise.resolve(0).then(step);
  if (r !== NESTED) throw new Error(`promise nesting gave ${r}`);
}

async function time(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const cases = [
  { name: 'callback chain (1,000,000 callbacks)', ops: CHAIN, deferred: deferredChain, promise: promiseChain },
  { name: 'returned chain (100,000 Deferreds)', ops: NESTED, deferred: deferredNested, promise: promiseNested },
];

const results = [];
for (const c of cases) {
  // One warm-up of each, then interleaved rounds.
  await time(c.deferred);
  await time(c.promise);
  const d = [];
  const p = [];
  const ratios = [];
  for (let r = 0; r < rounds; r++) {
    const td = await time(c.deferred);
    const tp = await time(c.promise);
    d.push(td);
    p.push(tp);
    ratios.push(tp / td);
  }
  results.push({
    case: c.name,
    rounds,
    deferredMs: median(d),
    promiseMs: median(p),
    deferredOpsPerSec: Math.round(c.ops / (median(d) / 1000)),
    promiseOpsPerSec: Math.round(c.ops / (median(p) / 1000)),
    ratio: Number(median(ratios).toFixed(2)),
  });
}

if (asJson) {
  process.stdout.write(`${JSON.stringify({ benchmark: 'deferred', node: process.version, results }, null, 2)}\n`);
} else {
  const { default: Table } = await import('cli-table3');
  const plain = !process.stdout.isTTY || 'NO_COLOR' in process.env;
  const t = new Table({
    style: plain ? { head: [], border: [] } : undefined,
    head: ['case', 'Deferred ops/s', 'Promise ops/s', 'Deferred ms', 'Promise ms', 'speed-up (median of ratios)'],
  });
  for (const r of results) {
    t.push([r.case, r.deferredOpsPerSec.toLocaleString('en'), r.promiseOpsPerSec.toLocaleString('en'), r.deferredMs.toFixed(1), r.promiseMs.toFixed(1), `${r.ratio}x`]);
  }
  process.stdout.write(`Deferred vs Promise, node ${process.version}, ${rounds} rounds\n${t.toString()}\n`);
}
