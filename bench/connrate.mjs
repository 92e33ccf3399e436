// Relay connections per second, side by side in one run: N connections (20,000),
// CONC (50) at a time, each connect + 16-byte echo + close, through a relay to
// an echo backend: wirecat relay fork, the bare-Node relay, socat fork
// (backlog=1024, and its default backlog 5).
//
//   node bench/connrate.mjs [--n N] [--conc C] [--rounds N] [--json]
//
// The load generator and backend are the shared harness's C connrate / echod,
// built into a temp dir when gcc and ../shared/bench/c exist ($BENCH_C), else
// bench/lib/loadgen.mjs and bench/lib/echo.mjs (Node; fine below ~6k conn/s).
// Ratios per round, to the bare-Node relay.
import { spawnSync } from 'node:child_process';
import { WIRECAT, available, cHelper, freePort, here, log, opt, report, rounds, start, waitListening } from './lib/common.mjs';
import { rate } from './lib/loadgen.mjs';

const N = Number(opt('--n', '20000'));
const CONC = Number(opt('--conc', '50'));
const ROUNDS = Number(opt('--rounds', '5'));
const connrate = cHelper('connrate');
const echod = cHelper('echod');
log(`load generator: ${connrate ?? 'bench/lib/loadgen.mjs'}; backend: ${echod ?? 'bench/lib/echo.mjs'}`);

const tools = available([
  { name: 'node-relay', argv: (a, b) => [process.execPath, `${here}lib/node-relay.mjs`, a, b, '--many'], show: 'node bench/lib/node-relay.mjs {A} {B} --many' },
  { name: 'wirecat', argv: (a, b) => [WIRECAT, 'relay', `TCP-LISTEN:${a},bind=127.0.0.1,fork,reuseaddr`, `TCP:127.0.0.1:${b}`], show: 'bin/wirecat relay TCP-LISTEN:{A},bind=127.0.0.1,fork,reuseaddr TCP:127.0.0.1:{B}' },
  { name: 'socat-fork-bl1024', needs: ['socat'], argv: (a, b) => ['socat', `TCP-LISTEN:${a},bind=127.0.0.1,fork,reuseaddr,backlog=1024`, `TCP:127.0.0.1:${b}`], show: 'socat TCP-LISTEN:{A},bind=127.0.0.1,fork,reuseaddr,backlog=1024 TCP:127.0.0.1:{B}' },
]);

const bport = await freePort();
const backend = echod ? start(echod, ['-p', String(bport), '-b', '1024', '-T', '1800'], { maxMs: 1_800_000 }) : start(process.execPath, [`${here}lib/echo.mjs`, String(bport)], { maxMs: 1_800_000 });
await waitListening(bport);

async function measure(t) {
  const a = await freePort();
  const [file, ...argv] = t.argv(String(a), String(bport));
  const relay = start(file, argv, { maxMs: 300_000 });
  try {
    await waitListening(a);
    if (!connrate) {
      const r = await rate(a, N, CONC);
      return { connPerSec: r.rate, failed: r.fail };
    }
    const out = spawnSync(connrate, ['-p', String(a), '-n', String(N), '-c', String(CONC), '-s', '16', '-m', 'close', '-T', '120'], { encoding: 'utf8', timeout: 150_000 });
    const kv = Object.fromEntries([...out.stdout.matchAll(/(\w+)=([\d.]+)/g)].map((m) => [m[1], Number(m[2])]));
    if (!kv.rate) throw new Error(`connrate: ${out.stdout}${out.stderr}`);
    return { connPerSec: kv.rate, failed: kv.fail, p50ms: kv.p50_ms, p99ms: kv.p99_ms };
  } finally {
    await relay.stop();
  }
}

try {
  const rows = await rounds(tools, { rounds: ROUNDS, ref: 'node-relay', measure });
  await report('relay-conn-rate', { connections: N, concurrent: CONC, rounds: ROUNDS, loadgen: connrate ? 'C connrate' : 'node' }, rows);
} finally {
  await backend.stop();
}
