// Memory per idle relayed connection, side by side in one run: N (5,000)
// connections opened through the relay to an echo backend (100 at a time,
// each checked with a 16-byte echo), then held idle; per connection =
// (PSS loaded - PSS idle) / established, PSS summed over the relay's process
// group (fair to socat's fork-per-connection). Tools: wirecat relay fork,
// the bare-Node relay, socat fork (backlog=1024).
//
//   node bench/memory.mjs [--n N] [--rounds N] [--json] [--only a,b]
//
// Needs `ulimit -n` >= 2N+512 (raised for the children; hard limit permitting).
import { WIRECAT, available, cHelper, freePort, groupPssKiB, here, log, opt, report, rounds, sleep, start, waitListening } from './lib/common.mjs';
import { hold } from './lib/loadgen.mjs';

const N = Number(opt('--n', '5000'));
const ROUNDS = Number(opt('--rounds', '5'));
const ONLY = opt('--only', '').split(',').filter(Boolean);
const UL = 2 * N + 512;
const connrate = cHelper('connrate');
const echod = cHelper('echod');
log(`holder: ${connrate ?? 'bench/lib/loadgen.mjs'}; backend: ${echod ?? 'bench/lib/echo.mjs'}`);

const tools = available([
  { name: 'node-relay', argv: (a, b) => [process.execPath, `${here}lib/node-relay.mjs`, a, b, '--many'], show: 'node bench/lib/node-relay.mjs {A} {B} --many' },
  { name: 'wirecat', argv: (a, b) => [WIRECAT, 'relay', `TCP-LISTEN:${a},bind=127.0.0.1,fork,reuseaddr`, `TCP:127.0.0.1:${b}`], show: 'bin/wirecat relay TCP-LISTEN:{A},bind=127.0.0.1,fork,reuseaddr TCP:127.0.0.1:{B}' },
  { name: 'socat-fork', needs: ['socat'], argv: (a, b) => ['socat', `TCP-LISTEN:${a},bind=127.0.0.1,fork,reuseaddr,backlog=1024`, `TCP:127.0.0.1:${b}`], show: 'socat TCP-LISTEN:{A},bind=127.0.0.1,fork,reuseaddr,backlog=1024 TCP:127.0.0.1:{B}' },
]).filter((t) => ONLY.length === 0 || ONLY.includes(t.name));

const bport = await freePort();
const backend = echod ? start(echod, ['-p', String(bport), '-b', '1024', '-T', '3600'], { ulimit: UL, maxMs: 3_600_000 }) : start(process.execPath, [`${here}lib/echo.mjs`, String(bport)], { maxMs: 3_600_000 });
await waitListening(bport);

async function measure(t) {
  const a = await freePort();
  const [file, ...argv] = t.argv(String(a), String(bport));
  const relay = start(file, argv, { ulimit: UL, maxMs: 300_000 });
  let holder;
  try {
    await waitListening(a);
    await sleep(500);
    const idle = groupPssKiB(relay.pid);
    let established, release;
    if (connrate) {
      holder = start(connrate, ['-p', String(a), '-n', String(N), '-c', '100', '-m', 'hold', '-h', '60', '-T', '120'], { ulimit: UL, stdio: ['ignore', 'pipe', 'pipe'], maxMs: 150_000 });
      let out = '';
      holder.stdout.on('data', (b) => (out += b));
      for (let i = 0; i < 1200 && !/READY|ok=/.test(out); i++) await sleep(50);
      established = Number(/established=(\d+)/.exec(out)?.[1] ?? 0);
    } else {
      const h = await hold(a, N, 100);
      established = h.established;
      release = h.close;
    }
    await sleep(2000); // let the relay settle (lazy allocations, GC)
    const loaded = groupPssKiB(relay.pid);
    release?.();
    if (established < N) throw new Error(`only ${established} of ${N} connections established`);
    return { KiBPerConn: (loaded - idle) / established, idleMiB: idle / 1024, loadedMiB: loaded / 1024, established };
  } finally {
    await holder?.stop();
    await relay.stop();
  }
}

try {
  const rows = await rounds(tools, { rounds: ROUNDS, ref: 'node-relay', measure });
  await report('memory-per-idle-connection', { connections: N, rounds: ROUNDS }, rows);
} finally {
  await backend.stop();
}
