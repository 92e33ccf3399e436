// stdin to TCP, side by side in one run: `head -c SIZE /dev/zero | CLIENT
// 127.0.0.1 PORT` into a sink in this process, for wirecat connect, nc.openbsd
// -N, ncat --send-only, socat (8 KiB and -b 131072) and a bare-Node client.
//
//   node bench/connect.mjs [--size BYTES] [--rounds N] [--json]
//
// Throughput = SIZE / (pipeline start -> the client exited and the sink saw EOF).
// Ratios are per round, to nc.openbsd -N (the target's floor).
import net from 'node:net';
import { WIRECAT, available, here, opt, report, rounds, start } from './lib/common.mjs';

const SIZE = Number(opt('--size', String(2 * 1024 ** 3)));
const ROUNDS = Number(opt('--rounds', '5'));
const tools = available([
  { name: 'wirecat', cmd: `${WIRECAT} connect 127.0.0.1 {P}` },
  { name: 'nc-openbsd', needs: ['nc.openbsd'], cmd: 'nc.openbsd -N 127.0.0.1 {P}' },
  { name: 'ncat', needs: ['ncat'], cmd: 'ncat --send-only 127.0.0.1 {P}' },
  { name: 'socat', needs: ['socat'], cmd: 'socat - TCP:127.0.0.1:{P}' },
  { name: 'socat-b128k', needs: ['socat'], cmd: 'socat -b 131072 - TCP:127.0.0.1:{P}' },
  { name: 'node', cmd: `${process.execPath} ${here}lib/node-connect.mjs 127.0.0.1 {P}` },
]).map((t) => ({ ...t, show: `head -c ${SIZE} /dev/zero | ${t.cmd.replace(here, 'bench/').replace(WIRECAT, 'bin/wirecat')}` }));

async function measure(t) {
  let received = 0;
  let sawEof;
  const eof = new Promise((r) => (sawEof = r));
  const sink = net.createServer((s) => {
    s.on('data', (b) => (received += b.length));
    s.on('end', () => { s.end(); sawEof(); });
    s.on('error', () => sawEof());
  });
  await new Promise((r) => sink.listen(0, '127.0.0.1', r));
  const cmd = `head -c ${SIZE} /dev/zero | ${t.cmd.replace('{P}', sink.address().port)}`;
  const t0 = performance.now();
  const child = start('sh', ['-c', cmd], { maxMs: 120_000 });
  try {
    const code = await child.exited;
    await Promise.race([eof, new Promise((r) => setTimeout(r, 10_000))]);
    const secs = (performance.now() - t0) / 1000;
    if (received !== SIZE) throw new Error(`sink got ${received} of ${SIZE} bytes (exit ${code}) ${child.stderrText.trim()}`);
    return { MBps: SIZE / 1e6 / secs };
  } finally {
    await child.stop();
    sink.close();
  }
}

const rows = await rounds(tools, { rounds: ROUNDS, ref: 'nc-openbsd', measure });
await report('stdin-to-tcp', { sizeBytes: SIZE, rounds: ROUNDS }, rows);
