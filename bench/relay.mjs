// Relay throughput, side by side in one run: wirecat relay (plain, --stats,
// --checksum), a bare-Node pipe relay, and socat when installed.
//
//   node bench/relay.mjs [--size BYTES] [--rounds N] [--json] [--only a,b] [--ref NAME]
//
// Each round measures every variant once, in an order rotated by round; the
// summary gives medians and the per-round ratio to the bare-Node relay.
// Loopback only; every wait is bounded. Source and sink run in this process.
// For wirecat with --stats the event loop's p99 delay is read from its JSON.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const WIRECAT = process.env.WIRECAT ?? fileURLToPath(new URL('../bin/wirecat', import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const SIZE = Number(opt('--size', String(1024 ** 3)));
const ROUNDS = Number(opt('--rounds', '5'));
const ONLY = opt('--only', '')?.split(',').filter(Boolean) ?? [];
const asJson = args.includes('--json');
const REF = opt('--ref', 'node-relay');
const LIMIT_MS = 120_000;

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Each variant: how to start a relay from `lport` to `tport`, and whether it reports stats. */
const variants = [
  { name: 'node-relay', cmd: (l, t) => [process.execPath, [`${here}lib/node-relay.mjs`, String(l), String(t)]] },
  { name: 'wirecat', cmd: (l, t) => [WIRECAT, ['relay', `tcp-listen:${l},bind=127.0.0.1,reuseaddr`, `tcp:127.0.0.1:${t}`]] },
  { name: 'wirecat --stats', stats: true, cmd: (l, t) => [WIRECAT, ['--stats=json', 'relay', `tcp-listen:${l},bind=127.0.0.1,reuseaddr`, `tcp:127.0.0.1:${t}`]] },
  { name: 'wirecat --checksum', stats: true, cmd: (l, t) => [WIRECAT, ['--stats=json', '--checksum', 'relay', `tcp-listen:${l},bind=127.0.0.1,reuseaddr`, `tcp:127.0.0.1:${t}`]] },
  { name: 'socat', needs: 'socat', cmd: (l, t) => ['socat', [`TCP-LISTEN:${l},bind=127.0.0.1,reuseaddr`, `TCP:127.0.0.1:${t}`]] },
  { name: 'socat -b131072', needs: 'socat', cmd: (l, t) => ['socat', ['-b131072', `TCP-LISTEN:${l},bind=127.0.0.1,reuseaddr`, `TCP:127.0.0.1:${t}`]] },
].filter((v) => (ONLY.length === 0 || ONLY.includes(v.name)) && (!v.needs || has(v.needs) || (console.error(`skip ${v.name}: ${v.needs} not installed (apt-get install -y ${v.needs})`), false)));

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function waitListening(port, deadline) {
  for (let i = 0; i < 400 && Date.now() < deadline; i++) {
    const r = spawnSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' });
    if (r.stdout.trim()) return;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`relay never listened on ${port}`);
}

async function measure(v) {
  const block = Buffer.alloc(1024 * 1024, 7);
  let received = 0;
  let done;
  const finished = new Promise((res) => (done = res));
  const sink = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (b) => (received += b.length));
    s.on('end', () => {
      s.end();
      done();
    });
  });
  await new Promise((res) => sink.listen(0, '127.0.0.1', res));
  const tport = sink.address().port;
  const lport = await freePort();
  const [file, argv] = v.cmd(lport, tport);
  const child = spawn(file, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b) => (stderr += b));
  const deadline = Date.now() + LIMIT_MS;
  try {
    await waitListening(lport, deadline);
    const c = net.connect({ port: lport, host: '127.0.0.1', allowHalfOpen: true });
    await once(c, 'connect');
    c.resume();
    const t0 = process.hrtime.bigint();
    let sent = 0;
    while (sent < SIZE) {
      const n = Math.min(block.length, SIZE - sent);
      sent += n;
      if (!c.write(n === block.length ? block : block.subarray(0, n))) await once(c, 'drain');
    }
    c.end();
    const timer = setTimeout(() => done(), LIMIT_MS);
    await finished;
    clearTimeout(timer);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    c.destroy();
    if (received !== SIZE) throw new Error(`${v.name}: sink got ${received} of ${SIZE} bytes`);
    const exited = once(child, 'exit');
    if (!v.name.startsWith('wirecat')) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((res) => setTimeout(res, 5000))]);
    let p99;
    if (v.stats) {
      const line = stderr.trim().split('\n').reverse().find((l) => l.startsWith('{'));
      p99 = line ? JSON.parse(line).loop?.delayMs?.p99 : undefined;
    }
    return { mbps: SIZE / 1e6 / secs, p99 };
  } finally {
    child.kill('SIGKILL');
    sink.close();
  }
}

const median = (xs) => {
  const s = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const samples = Object.fromEntries(variants.map((v) => [v.name, { mbps: [], p99: [], ratio: [] }]));
for (let r = 0; r < ROUNDS; r++) {
  const order = variants.map((_, i) => variants[(i + r) % variants.length]);
  const round = {};
  for (const v of order) {
    const res = await measure(v);
    round[v.name] = res;
    samples[v.name].mbps.push(res.mbps);
    samples[v.name].p99.push(res.p99);
    if (!asJson) console.error(`round ${r + 1} ${v.name}: ${res.mbps.toFixed(0)} MB/s${res.p99 !== undefined ? `, loop p99 ${res.p99.toFixed(2)} ms` : ''}`);
  }
  const ref = round[REF]?.mbps;
  for (const v of variants) if (ref) samples[v.name].ratio.push(round[v.name].mbps / ref);
}

const rows = variants.map((v) => ({
  variant: v.name,
  medianMBps: median(samples[v.name].mbps),
  minMBps: Math.min(...samples[v.name].mbps),
  maxMBps: Math.max(...samples[v.name].mbps),
  ratioToRef: median(samples[v.name].ratio),
  loopP99Ms: median(samples[v.name].p99),
  rounds: ROUNDS,
}));
if (asJson) {
  process.stdout.write(`${JSON.stringify({ benchmark: 'relay', sizeBytes: SIZE, ref: REF, node: process.version, rows }, null, 2)}\n`);
} else {
  const { default: Table } = await import('cli-table3');
  const t = new Table({ style: { head: [], border: [] }, head: ['variant', 'MB/s (median)', 'min-max', `× ${REF} (per round)`, 'loop p99 ms'] });
  for (const r of rows) {
    t.push([r.variant, r.medianMBps.toFixed(0), `${r.minMBps.toFixed(0)}-${r.maxMBps.toFixed(0)}`, r.ratioToRef?.toFixed(3) ?? '-', r.loopP99Ms?.toFixed(2) ?? '-']);
  }
  process.stdout.write(`relay throughput, ${(SIZE / 1024 ** 3).toFixed(2)} GiB per run, ${ROUNDS} rounds, node ${process.version}\n${t.toString()}\n`);
}
