// The standalone binary's targets (issue #10), after `npm run build:binary`:
//
//   node bench/binary.mjs [--runs 40] [--json] [--loop]
//
// Start-up, as medians of one hyperfine run (`hyperfine -N --warmup 5
// --runs 40`; without hyperfine, a spawnSync loop with the same warm-up and
// runs): `wirecat-linux-x64 --version` and `connect --help` against
// `node -e 0` of the same Node 26 binary (the build folder's) and of the
// machine's Node; sizes raw, gzip -9 and xz. --loop uses the loop even when
// hyperfine is there (it interleaves the cases: fairer on a busy machine). Not run by CI (timings on a
// shared runner say little); see docs/release.md.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, constants } from 'node:zlib';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 40;
const WARMUP = 5;
const BIN = path.join(ROOT, 'dist', `wirecat-${process.platform}-${process.arch}`);
if (!existsSync(BIN)) {
  console.error(`${BIN} is missing: npm run build:binary first`);
  process.exit(1);
}
const nm = path.join(ROOT, 'node_modules', '.cache', 'wirecat-sea', 'node_modules');
const pkgDir = existsSync(nm) ? readdirSync(nm).find((d) => d.startsWith('node-')) : undefined;
const NODE26 = process.env.WIRECAT_NODE ?? (pkgDir ? path.join(nm, pkgDir, 'bin', 'node') : undefined);
const NODE_HOST = spawnSync('sh', ['-c', 'command -v node'], { encoding: 'utf8' }).stdout.trim() || process.execPath;
const ver = (n) => spawnSync(n, ['--version'], { encoding: 'utf8' }).stdout.trim();

const cases = [
  ...(NODE26 ? [{ name: `node ${ver(NODE26)} -e 0`, cmd: [NODE26, '-e', '0'], base26: true }] : []),
  { name: `node ${ver(NODE_HOST)} -e 0 (machine)`, cmd: [NODE_HOST, '-e', '0'], baseHost: true },
  { name: 'wirecat-linux-x64 --version', cmd: [BIN, '--version'] },
  { name: 'wirecat-linux-x64 connect --help', cmd: [BIN, 'connect', '--help'] },
  { name: 'bin/wirecat --version (machine node)', cmd: [path.join(ROOT, 'bin', 'wirecat'), '--version'] },
  { name: 'bin/wirecat connect --help (machine node)', cmd: [path.join(ROOT, 'bin', 'wirecat'), 'connect', '--help'] },
];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function measure() {
  const hf = spawnSync('hyperfine', ['--version'], { encoding: 'utf8' });
  if (hf.status === 0 && !process.argv.includes('--loop')) {
    const dir = mkdtempSync(path.join(tmpdir(), 'wirecat-bench-'));
    const out = path.join(dir, 'h.json');
    const quote = (a) => `'${a.replace(/'/g, `'\\''`)}'`;
    const r = spawnSync('hyperfine', ['-N', '--warmup', String(WARMUP), '--runs', String(RUNS), '--style', 'none', '--export-json', out, ...cases.map((c) => c.cmd.map(quote).join(' '))], {
      stdio: ['ignore', 'ignore', 'inherit'],
      cwd: dir,
    });
    if (r.status !== 0) throw new Error('hyperfine failed');
    const res = JSON.parse(readFileSync(out, 'utf8')).results;
    rmSync(dir, { recursive: true });
    return { tool: `${hf.stdout.trim()} -N --warmup ${WARMUP} --runs ${RUNS}`, ms: res.map((x) => median(x.times) * 1000) };
  }
  // No hyperfine: the same in a loop, interleaved so that drift hits every case alike.
  const times = cases.map(() => []);
  for (let i = 0; i < WARMUP + RUNS; i++) {
    cases.forEach((c, k) => {
      const t = process.hrtime.bigint();
      spawnSync(c.cmd[0], c.cmd.slice(1), { stdio: 'ignore' });
      if (i >= WARMUP) times[k].push(Number(process.hrtime.bigint() - t) / 1e6);
    });
  }
  return { tool: `spawnSync loop, warm-up ${WARMUP}, runs ${RUNS}`, ms: times.map(median) };
}

const { tool, ms } = measure();
const b26 = cases.findIndex((c) => c.base26);
const bHost = cases.findIndex((c) => c.baseHost);
const raw = statSync(BIN).size;
const gz = gzipSync(readFileSync(BIN), { level: constants.Z_BEST_COMPRESSION }).length;
const xz = existsSync(`${BIN}.tar.xz`) ? statSync(`${BIN}.tar.xz`).size : undefined;
const MiB = (n) => (n === undefined ? 'n/a' : `${(n / 1048576).toFixed(1)} MiB`);

const rows = cases.map((c, i) => ({
  name: c.name,
  medianMs: Number(ms[i].toFixed(1)),
  vsNode26: b26 >= 0 ? Number((ms[i] / ms[b26]).toFixed(2)) : undefined,
  vsMachineNode: Number((ms[i] / ms[bHost]).toFixed(2)),
}));
if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ tool, rows, size: { raw, gzip9: gz, tarXz: xz } }, null, 2));
} else {
  console.log(`start-up, medians (${tool})`);
  for (const r of rows) console.log(`  ${r.name.padEnd(44)} ${String(r.medianMs).padStart(7)} ms   x${r.vsNode26 ?? '-'} of node 26 -e 0   x${r.vsMachineNode} of the machine's node -e 0`);
  console.log(`size: ${MiB(raw)} raw, ${MiB(gz)} gzip -9, ${MiB(xz)} .tar.xz`);
}
