// Start-up time, exec to exit: `wirecat --version` against `node -e 0` (the
// floor for any Node CLI), `node -e "require('node:net')"` and the peers'
// version flags. Each round runs every command RUNS times, order rotated by
// round; a sample is one round's median. Ratios per round, to node -e 0.
//
//   node bench/startup.mjs [--rounds N] [--runs N] [--json]
import { spawnSync } from 'node:child_process';
import { WIRECAT, available, median, opt, report, rounds } from './lib/common.mjs';

const ROUNDS = Number(opt('--rounds', '5'));
const RUNS = Number(opt('--runs', '20'));
const tools = available([
  { name: 'node-e0', argv: [process.execPath, '-e', '0'], show: 'node -e 0' },
  { name: 'wirecat', argv: [WIRECAT, '--version'], show: 'bin/wirecat --version' },
  { name: 'wirecat-help', argv: [WIRECAT, 'connect', '--help'], show: 'bin/wirecat connect --help (loads the CLI bundle)' },
  { name: 'node-net', argv: [process.execPath, '-e', "require('node:net')"], show: `node -e "require('node:net')"` },
  { name: 'socat', needs: ['socat'], argv: ['socat', '-V'], show: 'socat -V' },
  { name: 'nc-openbsd', needs: ['nc.openbsd'], argv: ['nc.openbsd', '-h'], show: 'nc.openbsd -h' },
]);

function measure(t) {
  const ms = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const t0 = performance.now();
    spawnSync(t.argv[0], t.argv.slice(1), { stdio: 'ignore', timeout: 10_000 });
    if (i >= 2) ms.push(performance.now() - t0); // two warm-up runs
  }
  return { ms: median(ms) };
}

const rows = await rounds(tools, { rounds: ROUNDS, ref: 'node-e0', measure: async (t) => measure(t) });
await report('startup', { rounds: ROUNDS, runsPerRound: RUNS }, rows);
