// UDP datagrams per second from stdin lines, side by side in one run:
// `wirecat udp-send` against `socat -u -b 64` (the same 64-byte lines) and a
// bare-Node dgram sender, into a counting receiver: the shared harness's C
// udprecv (recvmmsg) built into a temp dir when possible, else a Node socket
// in this process.
// Sent = the kernel's Udp OutDatagrams delta (/proc/net/snmp); rate = sent /
// sender wall time. Ratios per round, to socat.
//
//   node bench/udp.mjs [--count N] [--rounds N] [--json]
import dgram from 'node:dgram';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { WIRECAT, available, cHelper, freePort, here, log, opt, report, rounds, sleep, start, waitListening } from './lib/common.mjs';

const COUNT = Number(opt('--count', '200000'));
const ROUNDS = Number(opt('--rounds', '5'));
const udprecv = cHelper('udprecv');
log(`receiver: ${udprecv ?? 'node:dgram in this process'}`);
const input = `${os.tmpdir()}/wirecat-bench-udp-${process.pid}.in`;
writeFileSync(input, `${'x'.repeat(63)}\n`.repeat(COUNT)); // 64-byte lines

const tools = available([
  { name: 'socat', needs: ['socat'], cmd: 'socat -u -b 64 - UDP:127.0.0.1:{P}' },
  { name: 'wirecat', cmd: `${WIRECAT} udp-send 127.0.0.1 {P}` },
  { name: 'node', cmd: `${process.execPath} ${here}lib/node-udp-send.mjs 127.0.0.1 {P}` },
]).map((t) => ({ ...t, show: `${t.cmd.replace(here, 'bench/').replace(WIRECAT, 'bin/wirecat')} < ${COUNT} lines of 64 bytes` }));

const outDatagrams = () => {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  return Number(lines[1].split(/\s+/)[lines[0].split(/\s+/).indexOf('OutDatagrams')]);
};

/** A receiver on a free port: { port, received(): Promise<count>, close() }. */
async function receiver() {
  if (udprecv) {
    const port = await freePort();
    const rx = start(udprecv, ['-p', String(port), '-e', String(COUNT), '-i', '1000', '-T', '120'], { stdio: ['ignore', 'pipe', 'pipe'], maxMs: 130_000 });
    let out = '';
    rx.stdout.on('data', (b) => (out += b));
    await waitListening(port, 'u');
    return { port, received: async () => (await rx.exited, Number(/dgrams=(\d+)/.exec(out)?.[1] ?? 0)), close: () => rx.stop() };
  }
  const rx = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  let n = 0;
  rx.on('message', () => n++);
  await new Promise((r) => rx.bind(0, '127.0.0.1', r));
  return { port: rx.address().port, received: async () => (await sleep(300), n), close: () => rx.close() };
}

async function measure(t) {
  const rx = await receiver();
  const before = outDatagrams();
  const t0 = performance.now();
  const child = start('sh', ['-c', `exec ${t.cmd.replace('{P}', rx.port)} < ${input}`], { maxMs: 120_000 });
  try {
    const code = await child.exited;
    const secs = (performance.now() - t0) / 1000;
    const sent = outDatagrams() - before;
    if (code !== 0) throw new Error(`exit ${code}: ${child.stderrText.trim()}`);
    return { dgramPerSec: sent / secs, sent, received: await rx.received() };
  } finally {
    await child.stop();
    await rx.close();
  }
}

try {
  const rows = await rounds(tools, { rounds: ROUNDS, ref: 'socat', measure });
  await report('udp-send-rate', { datagrams: COUNT, bytes: 64, rounds: ROUNDS }, rows);
} finally {
  rmSync(input, { force: true });
}
