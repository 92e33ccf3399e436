// Helpers shared by the bench/ scripts: options, peers, ports, process groups,
// interleaved rounds, medians, same-run ratios, and the table / JSON output.
// Loopback only; every wait is counted and has a deadline.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

export const here = fileURLToPath(new URL('..', import.meta.url));
export const WIRECAT = process.env.WIRECAT ?? fileURLToPath(new URL('../../bin/wirecat', import.meta.url));
export const args = process.argv.slice(2);
export const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
export const asJson = args.includes('--json');
export const log = (...a) => asJson || console.error(...a);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Debian packages for the peers: a missing peer is skipped with this note. */
const PKG = { socat: 'socat', ncat: 'ncat', 'nc.openbsd': 'netcat-openbsd', gcc: 'gcc', ss: 'iproute2' };
export const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
/** Keep the tools whose `needs` are installed; say how to install the others. */
export function available(tools) {
  return tools.filter((t) => {
    const missing = (t.needs ?? []).filter((c) => !has(c));
    if (missing.length) console.error(`skip ${t.name}: ${missing.join(', ')} not installed (apt-get install -y ${missing.map((c) => PKG[c] ?? c).join(' ')})`);
    return missing.length === 0;
  });
}

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** Wait (at most ~10 s) until something listens on 127.0.0.1:port; `ss`, never a probe connection. */
export async function waitListening(port, proto = 't') {
  for (let i = 0; i < 400; i++) {
    const r = spawnSync('ss', [`-l${proto}nH`, `sport = :${port}`], { encoding: 'utf8' });
    if (r.stdout.trim()) return;
    await sleep(25);
  }
  throw new Error(`nothing listened on ${port}`);
}

/**
 * Start a process in its own process group (so stop() reaches its forked
 * children too). `ulimit` raises the soft limit of open files first.
 */
export function start(file, argv, { ulimit, stdio = ['ignore', 'ignore', 'pipe'], maxMs = 600_000 } = {}) {
  const [f, a] = ulimit ? ['sh', ['-c', `ulimit -n ${ulimit} && exec "$0" "$@"`, file, ...argv]] : [file, argv];
  const child = spawn(f, a, { stdio, detached: true });
  child.stderrText = '';
  child.stderr?.on('data', (b) => (child.stderrText += b));
  child.exited = new Promise((r) => child.on('exit', (code, sig) => r(code ?? sig)));
  const timer = setTimeout(() => child.stop(), maxMs);
  child.stop = async () => {
    clearTimeout(timer);
    if (child.exitCode !== null || child.signalCode !== null) return;
    try { process.kill(-child.pid, 'SIGTERM'); } catch {}
    if ((await Promise.race([child.exited, sleep(3000).then(() => 'timeout')])) === 'timeout') {
      try { process.kill(-child.pid, 'SIGKILL'); } catch {}
      await child.exited;
    }
  };
  return child;
}

/** Proportional set size (KiB) summed over a process group: fair to fork-per-connection servers. */
export function groupPssKiB(pgid) {
  let kib = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue;
      const m = /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${d}/smaps_rollup`, 'utf8'));
      if (m) kib += Number(m[1]);
    } catch {}
  }
  return kib;
}

/**
 * Build a C helper of the shared harness (../shared/bench/c, or $BENCH_C) into
 * a temp dir, once. Returns its path, or null (no gcc or no source): the
 * caller then uses its bare-Node fallback.
 */
export function cHelper(name) {
  const src = `${process.env.BENCH_C ?? fileURLToPath(new URL('../../../shared/bench/c', import.meta.url))}/${name}.c`;
  if (!existsSync(src) || !has('gcc')) return null;
  const dir = `${os.tmpdir()}/wirecat-bench-c`;
  const bin = `${dir}/${name}`;
  mkdirSync(dir, { recursive: true });
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) return bin;
  const r = spawnSync('gcc', ['-O2', '-o', bin, src], { stdio: 'inherit' });
  return r.status === 0 ? bin : null;
}

export const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * ROUNDS rounds; in each, every tool is measured once, the order rotated by
 * round. measure(tool) returns an object of metrics; the first metric is the
 * main one. Ratios are tool / ref inside the same round, then their median.
 */
export async function rounds(tools, { rounds: n, ref, measure }) {
  const samples = new Map(tools.map((t) => [t.name, []]));
  const ratios = new Map(tools.map((t) => [t.name, []]));
  for (let r = 0; r < n; r++) {
    const got = {};
    for (let i = 0; i < tools.length; i++) {
      const t = tools[(i + r) % tools.length];
      try {
        got[t.name] = await measure(t);
        samples.get(t.name).push(got[t.name]);
        log(`round ${r + 1}/${n} ${t.name}: ${Object.entries(got[t.name]).map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toFixed(3) : v}`).join(' ')}`);
      } catch (e) {
        console.error(`round ${r + 1} ${t.name}: failed: ${e.message}`);
      }
    }
    const main = (o) => o && Object.values(o)[0];
    for (const t of tools) if (got[t.name] && got[ref]) ratios.get(t.name).push(main(got[t.name]) / main(got[ref]));
  }
  return tools.map((t) => {
    const s = samples.get(t.name);
    const keys = s.length ? Object.keys(s[0]) : [];
    const main = keys[0];
    const row = { tool: t.name };
    if (main) row[main] = median(s.map((x) => x[main]));
    row[`x${ref}`] = median(ratios.get(t.name));
    row['min-max'] = main && `${fmt(Math.min(...s.map((x) => x[main])))}-${fmt(Math.max(...s.map((x) => x[main])))}`;
    for (const k of keys.slice(1)) row[k] = median(s.map((x) => x[k]));
    row.n = s.length;
    row.command = (t.show ?? '').replaceAll(process.execPath, 'node');
    return row;
  });
}

const fmt = (v) => (v === undefined || Number.isNaN(v) ? '-' : typeof v !== 'number' || Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3));

/** Print rows as a cli-table3 table (stdout) or, with --json, as JSON. */
export async function report(benchmark, meta, rows) {
  if (asJson) {
    process.stdout.write(`${JSON.stringify({ benchmark, node: process.version, ...meta, rows }, null, 2)}\n`);
    return;
  }
  const { default: Table } = await import('cli-table3');
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => k !== 'command');
  const t = new Table({ style: { head: [], border: [] }, head: [...cols, 'command'] });
  for (const r of rows) t.push([...cols.map((c) => fmt(r[c])), r.command]);
  process.stdout.write(`${benchmark}: ${Object.entries(meta).map(([k, v]) => `${k}=${v}`).join(' ')}, node ${process.version} (medians; x<ref> = median of same-round ratios)\n${t.toString()}\n`);
}
