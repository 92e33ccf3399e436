// A small Node load generator (used when the C connrate cannot be built).
// rate(): N connections, CONC at a time: connect, send 16 bytes, read the
// echo, close. hold(): open N (CONC at a time), check the echo, keep them.
import net from 'node:net';

const PAYLOAD = Buffer.from('0123456789abcdef');

function one(port, keep) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let got = 0;
    const t = setTimeout(() => { s.destroy(); resolve(null); }, 10_000);
    s.on('connect', () => s.write(PAYLOAD));
    s.on('data', (b) => {
      got += b.length;
      if (got >= PAYLOAD.length) { clearTimeout(t); if (!keep) s.destroy(); resolve(s); }
    });
    s.on('error', () => { clearTimeout(t); resolve(null); });
  });
}

async function pool(n, conc, task) {
  let next = 0, ok = 0;
  const kept = [];
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < n) { next++; const s = await task(); if (s) { ok++; kept.push(s); } }
  }));
  return { ok, fail: n - ok, kept };
}

export async function rate(port, n, conc) {
  const t0 = performance.now();
  const r = await pool(n, conc, () => one(port, false));
  const elapsed = (performance.now() - t0) / 1000;
  return { ok: r.ok, fail: r.fail, elapsed, rate: r.ok / elapsed };
}

export async function hold(port, n, conc) {
  const r = await pool(n, conc, () => one(port, true));
  return { established: r.ok, close: () => r.kept.forEach((s) => s.destroy()) };
}
