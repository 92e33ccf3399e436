/**
 * `wirecat connect` end to end: the built bin/wirecat against real sockets
 * on loopback (node:net servers started here, python3 -m http.server).
 * The contract is /work/shared/SPEC.md (streams, exit codes, `connect`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WIRECAT, wirecat } from './helpers.js';
import { canConnect, cleanup, closedPort, delay, sha256, startProgram, startServer, startWirecat, waitAccepting, within } from './net-helpers.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wirecat-connect-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await cleanup();
});

/**
 * A server that, per connection, sends `reply` (at once, or after the
 * client's EOF with `afterEof`), records everything the client sends and
 * ends its side once both are done.
 */
async function replyServer(reply: Buffer | string, opts: { afterEof?: boolean } = {}) {
  const received: Buffer[] = [];
  let resolveDone!: (b: Buffer) => void;
  const done = new Promise<Buffer>((r) => (resolveDone = r));
  const srv = await startServer((s: net.Socket) => {
    s.on('data', (b: Buffer) => received.push(b));
    s.on('error', () => {});
    if (!opts.afterEof) s.write(reply);
    s.on('end', () => {
      if (opts.afterEof) s.write(reply);
      s.end();
      resolveDone(Buffer.concat(received));
    });
  });
  return { port: srv.port, received: done };
}

/** An echo server: everything back, then EOF after the client's EOF. */
async function echoServer() {
  return startServer((s: net.Socket) => {
    s.on('error', () => {});
    s.pipe(s);
  });
}

describe('connect: data', () => {
  it('carries bytes both ways and exits 0 with nothing on stderr', async () => {
    const srv = await replyServer('hello from server\n');
    const r = await wirecat(['connect', '127.0.0.1', String(srv.port)], { input: 'hello from client\n' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hello from server\n');
    expect((await within(srv.received, 5000, 'the server to get EOF')).toString()).toBe('hello from client\n');
    expect(r.stderr).toBe('');
  });

  it('is binary-safe: every byte value, NUL, CR/LF and 0xff, survives a round trip', async () => {
    const srv = await echoServer();
    const payload = Buffer.concat([...Array.from({ length: 64 }, (_v, i) => Buffer.from(Array.from({ length: 256 }, (_w, j) => (i + j) & 0xff))), Buffer.from('\r\n\0\xff', 'latin1')]);
    const p = startWirecat(['connect', '127.0.0.1', String(srv.port)]);
    p.child.stdin!.end(payload);
    const exit = await p.waitExit();
    expect(exit.code).toBe(0);
    expect(p.stdout.length).toBe(payload.length);
    expect(p.stdout.equals(payload)).toBe(true);
    expect(p.stderr).toBe('');
  });

  it('moves 32 MiB each way (stdin from a file, stdout to the test) with SHA-256 equal on both ends', async () => {
    const size = 32 * 1024 * 1024;
    const upload = randomBytes(size);
    const download = randomBytes(size);
    const file = join(dir, 'upload.bin');
    writeFileSync(file, upload);
    let resolveHash!: (h: { hash: string; length: number }) => void;
    const serverGot = new Promise<{ hash: string; length: number }>((r) => (resolveHash = r));
    const srv = await startServer((s: net.Socket) => {
      const h = createHash('sha256');
      let length = 0;
      s.on('error', () => {});
      s.on('data', (b: Buffer) => {
        h.update(b);
        length += b.length;
      });
      // The server returns its own data while the client is still sending,
      // and ends its side once the client's EOF (the half-close) arrived.
      let sent = false;
      let eof = false;
      const finish = () => {
        if (sent && eof) s.end();
      };
      s.on('end', () => {
        eof = true;
        resolveHash({ hash: h.digest('hex'), length });
        finish();
      });
      void (async () => {
        for (let off = 0; off < download.length; off += 1 << 20) {
          if (!s.write(download.subarray(off, off + (1 << 20)))) await new Promise<void>((r) => s.once('drain', () => r()));
        }
        sent = true;
        finish();
      })();
    });
    const fd = openSync(file, 'r');
    const p = startWirecat(['connect', '127.0.0.1', String(srv.port)], { stdin: fd });
    closeSync(fd);
    const exit = await p.waitExit(25000);
    expect(exit.code).toBe(0);
    const got = await within(serverGot, 5000, 'the server to hash the upload');
    expect(got.length).toBe(size);
    expect(got.hash).toBe(sha256(upload));
    expect(p.stdoutLength).toBe(size);
    expect(sha256(p.stdout)).toBe(sha256(download));
    expect(p.stderr).toBe('');
  }, 30000);

  it('half-closes at stdin EOF: printf "GET / HTTP/1.0\\r\\n\\r\\n" | connect gets the whole page from python3 -m http.server', async () => {
    const www = join(dir, 'www');
    rmSync(www, { recursive: true, force: true });
    mkdirSync(www);
    // A few hundred KB of known text (printable, so the page is plain bytes).
    const page = Buffer.from(
      Array.from({ length: 7000 }, (_v, i) => `line ${String(i).padStart(5, '0')} of the wirecat test page ${'x'.repeat(i % 17)}\n`).join(''),
    );
    expect(page.length).toBeGreaterThan(300_000);
    writeFileSync(join(www, 'index.html'), page);
    const port = await closedPort();
    startProgram('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', www], { stdin: 'ignore' });
    await waitAccepting(port, 10000);
    const p = startWirecat(['connect', '127.0.0.1', String(port)]);
    p.child.stdin!.end('GET / HTTP/1.0\r\n\r\n');
    const exit = await p.waitExit(10000);
    expect(exit.code).toBe(0);
    const out = p.stdout;
    const sep = out.indexOf('\r\n\r\n');
    expect(sep).toBeGreaterThan(0);
    const head = out.subarray(0, sep).toString();
    expect(head).toMatch(/^HTTP\/1\.[01] 200 OK\r\n/);
    expect(head).toContain(`\r\nContent-Length: ${page.length}`);
    const body = out.subarray(sep + 4);
    expect(body.length).toBe(page.length);
    expect(body.equals(page)).toBe(true);
    expect(p.stderr).toBe('');
  });
});

describe('connect: stdin from a pipe', () => {
  // A generator writes SIZE bytes of numbered 32-bit words into a shell
  // pipe (a real pipe(2), as in `cmd | wirecat connect`), so a chunk
  // overwritten in wirecat's reused read buffer would show as words out of
  // order. The server reads slowly first (the socket backs up, so wirecat
  // must stop reading the pipe), then fast; every word must arrive in order.
  const gen = `const n=+process.argv[1],b=Buffer.alloc(1<<20);let w=0,o=0;const go=()=>{while(o<n){for(let i=0;i<b.length;i+=4)b.writeUInt32LE(w++>>>0,i);const c=b.subarray(0,Math.min(b.length,n-o));o+=c.length;if(!process.stdout.write(c))return void process.stdout.once('drain',go)}};go()`;

  function childOf(pid: number, marker: string): number | undefined {
    for (const c of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
      try {
        if (readFileSync(`/proc/${c}/cmdline`, 'utf8').includes(marker)) return Number(c);
      } catch {
        // gone already
      }
    }
    return undefined;
  }

  it('keeps wirecat under 150 MiB RSS while a slow server is fed 256 MiB through a pipe, and every byte arrives in order', async () => {
    const SIZE = 256 * 1024 * 1024;
    let sock!: net.Socket;
    let gotSock!: () => void;
    const connected = new Promise<void>((r) => (gotSock = r));
    const srv = await startServer((s: net.Socket) => {
      s.pause();
      s.on('error', () => {});
      sock = s;
      gotSock();
    });
    const sh = startProgram('sh', ['-c', `"$0" -e "$1" ${SIZE} | "$2" connect 127.0.0.1 ${srv.port}`, process.execPath, gen, WIRECAT], { stdin: 'ignore' });
    await within(connected, 10000, 'wirecat to connect');
    let pid: number | undefined;
    for (let i = 0; i < 50 && pid === undefined; i++) {
      pid = childOf(sh.child.pid!, 'connect');
      if (pid === undefined) await delay(20);
    }
    expect(pid).toBeDefined();
    // Slow phase: 16 KiB every 100 ms for 3 s.
    let expectWord = 0;
    let bad = -1;
    let n = 0;
    let carry = Buffer.alloc(0);
    const check = (b: Buffer) => {
      const buf = carry.length > 0 ? Buffer.concat([carry, b]) : b;
      const whole = buf.length - (buf.length % 4);
      for (let i = 0; i < whole && bad < 0; i += 4) {
        if (buf.readUInt32LE(i) !== expectWord >>> 0) bad = n + i - carry.length;
        expectWord++;
      }
      carry = Buffer.from(buf.subarray(whole));
      n += b.length;
    };
    let peakRss = 0;
    const rss = () => {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      peakRss = Math.max(peakRss, m ? Number(m[1]) * 1024 : 0);
    };
    const slowUntil = Date.now() + 3000;
    while (Date.now() < slowUntil) {
      await delay(100);
      const chunk = sock.read(Math.min(16 * 1024, sock.readableLength || 16 * 1024)) as Buffer | null;
      if (chunk) check(chunk);
      rss();
    }
    expect(n).toBeLessThan(1024 * 1024); // it really was slow
    expect(peakRss).toBeGreaterThan(0);
    expect(peakRss).toBeLessThan(150 * 1024 * 1024);
    // Fast phase: the rest, to EOF (wirecat's half-close).
    const ended = new Promise<void>((r) => sock.on('end', () => r()));
    sock.on('data', check);
    sock.resume();
    await within(ended, 60000, () => `the rest of ${SIZE} bytes (got ${n})`);
    sock.end();
    const exit = await sh.waitExit(10000);
    expect(exit.code).toBe(0);
    expect(bad).toBe(-1);
    expect(n).toBe(SIZE);
    expect(sh.stderr).toBe('');
  }, 90000);
});

describe('connect: -z port probes', () => {
  it('-z on an open port exits 0, prints nothing on stdout, and -v reports it the nc way', async () => {
    const srv = await startServer((s) => s.destroy());
    const r = await wirecat(['-v', 'connect', '-z', '127.0.0.1', String(srv.port)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`wirecat: Connection to 127.0.0.1 ${srv.port} port [tcp/*] succeeded!\n`);
  });

  it('-z on a closed port exits 1 with nothing on stdout', async () => {
    const port = await closedPort();
    const r = await wirecat(['connect', '-z', '127.0.0.1', String(port)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toContain('succeeded');
  });

  it('-z over a range with one open and one closed port exits 1 and -v reports both in nc -zv words', async () => {
    // Find an open port P (ours) whose neighbour P+1 is closed (bounded tries).
    let open: number | undefined;
    for (let i = 0; i < 20 && open === undefined; i++) {
      const srv = await startServer((s) => s.destroy());
      const next = srv.port + 1;
      if (next <= 65535 && !(await canConnect(next))) open = srv.port;
      if (open === undefined) await srv.close();
    }
    expect(open, 'an open port with a closed neighbour').toBeDefined();
    const r = await wirecat(['-v', 'connect', '-z', '127.0.0.1', `${open}-${open! + 1}`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([
      `wirecat: Connection to 127.0.0.1 ${open} port [tcp/*] succeeded!`,
      `wirecat: connect to 127.0.0.1 port ${open! + 1} (tcp) failed: Connection refused`,
    ]);
  });
});

describe('connect: --wait', () => {
  it('--wait 5 succeeds when the server appears after 1 s, then carries data as usual', async () => {
    const port = await closedPort();
    const started = Date.now();
    const p = startWirecat(['-v', 'connect', '--wait', '5', '127.0.0.1', String(port)]);
    p.child.stdin!.end('ping\n');
    // It must be retrying (a `not ready` line) before the server exists.
    await p.waitStderr(/^wirecat: 127\.0\.0\.1:\d+ not ready /, 4000);
    const left = 1000 - (Date.now() - started);
    if (left > 0) await delay(left);
    let got = '';
    const srv = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('data', (b: Buffer) => (got += b.toString()));
      s.on('end', () => s.end('pong\n'));
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => resolve());
    });
    try {
      const exit = await p.waitExit(8000);
      expect(exit.code).toBe(0);
      expect(p.stdout.toString()).toBe('pong\n');
      expect(got).toBe('ping\n');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    } finally {
      srv.close();
    }
  });

  it('--wait 1 on a port that never opens exits 3 after about a second with one error line', async () => {
    const port = await closedPort();
    const started = Date.now();
    const r = await wirecat(['connect', '--wait', '1', '127.0.0.1', String(port)], { timeoutMs: 8000 });
    const took = Date.now() - started;
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toMatch(/^wirecat: connect: /);
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(6000);
  });
});

describe('connect: errors', () => {
  it('a refused connection exits 1 with exactly one stderr line', async () => {
    const port = await closedPort();
    const r = await wirecat(['connect', '127.0.0.1', String(port)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`wirecat: connect: Connection refused (attempted address: 127.0.0.1:${port})\n`);
  });

  for (const bad of ['99999', '0', 'http', '-1', '80x']) {
    it(`a bad port (${bad}) exits 2 with one line and nothing on stdout`, async () => {
      const r = await wirecat(['connect', '127.0.0.1', bad]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.stderr).toMatch(/^wirecat: connect: /);
    });
  }

  it('an unknown flag exits 2 with one line naming it', async () => {
    const r = await wirecat(['connect', '--frobnicate', '127.0.0.1', '80']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toMatch(/^wirecat: connect: .*frobnicate/);
  });
});

describe('connect: --json, --stats, -x', () => {
  it('--json writes one JSON event a line: connected, then closed with the byte counts', async () => {
    const srv = await replyServer('0123456789', { afterEof: true });
    const r = await wirecat(['--json', 'connect', '127.0.0.1', String(srv.port)], { input: 'abc' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('0123456789');
    const lines = r.stderr.split('\n').filter(Boolean);
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const ev of events) {
      expect(typeof ev.ts).toBe('string');
      expect(Number.isNaN(Date.parse(ev.ts as string))).toBe(false);
    }
    expect(events.map((e) => e.event)).toEqual(['connected', 'closed']);
    const [connected, closed] = events as [Record<string, unknown>, Record<string, unknown>];
    expect(connected).toMatchObject({ event: 'connected', proto: 'tcp', peer: `127.0.0.1:${srv.port}` });
    expect(typeof connected.id).toBe('number');
    expect(connected.local).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(typeof connected.connectMs).toBe('number');
    expect(closed).toMatchObject({ event: 'closed', id: connected.id, peer: `127.0.0.1:${srv.port}`, bytesIn: 10, bytesOut: 3 });
    expect(typeof closed.durationMs).toBe('number');
    expect(closed.durationMs as number).toBeGreaterThanOrEqual(0);
  });

  // The global option is documented before the subcommand (`wirecat --stats json connect ...`)
  // and must work after it too.
  it.each([
    ['before the subcommand', (port: number) => ['--stats', 'json', 'connect', '127.0.0.1', String(port)]],
    ['after the subcommand', (port: number) => ['connect', '127.0.0.1', String(port), '--stats', 'json']],
  ])('--stats json (%s) prints one JSON object on stderr at exit with the bytes actually moved', async (_where, argv) => {
    const reply = randomBytes(70_000);
    const input = randomBytes(50_000);
    const srv = await replyServer(reply, { afterEof: true });
    const p = startWirecat(argv(srv.port));
    p.child.stdin!.end(input);
    const exit = await p.waitExit();
    expect(exit.code, `stderr: ${p.stderr}`).toBe(0);
    expect(p.stdout.equals(reply)).toBe(true);
    expect((await srv.received).equals(input)).toBe(true);
    const lines = p.stderrLines;
    expect(lines).toHaveLength(1);
    const snap = JSON.parse(lines[0]!) as {
      connections: { kind: string; peer: string; bytesIn: number; bytesOut: number; direction: string }[];
      totals: { bytesIn: number; bytesOut: number };
      loop: Record<string, unknown>;
    };
    const tcp = snap.connections.filter((c) => c.kind === 'tcp');
    expect(tcp).toHaveLength(1);
    expect(tcp[0]).toMatchObject({ peer: `127.0.0.1:${srv.port}`, bytesIn: reply.length, bytesOut: input.length });
    expect(snap.totals.bytesIn).toBe(reply.length);
    expect(snap.totals.bytesOut).toBe(input.length);
    expect(snap.loop).toHaveProperty('peakRssBytes');
  });

  it.each([
    ['before the subcommand', (port: number, file: string) => ['--stats-file', file, 'connect', '127.0.0.1', String(port)]],
    ['after the subcommand', (port: number, file: string) => ['connect', '--stats-file', file, '127.0.0.1', String(port)]],
  ])('--stats-file PATH (%s) writes the JSON there and keeps stderr clean', async (where, argv) => {
    const srv = await replyServer('twelve bytes', { afterEof: true });
    const statsFile = join(dir, `stats-${where.split(' ')[0]}.json`);
    rmSync(statsFile, { force: true });
    const r = await wirecat(argv(srv.port, statsFile), { input: 'seven b' });
    expect(r.code, `stderr: ${r.stderr}`).toBe(0);
    expect(r.stdout).toBe('twelve bytes');
    expect(r.stderr).toBe('');
    const snap = JSON.parse(readFileSync(statsFile, 'utf8')) as { connections: { kind: string; bytesIn: number; bytesOut: number }[]; totals: { bytesIn: number; bytesOut: number } };
    const tcp = snap.connections.filter((c) => c.kind === 'tcp');
    expect(tcp).toHaveLength(1);
    expect(tcp[0]).toMatchObject({ bytesIn: 12, bytesOut: 7 });
    expect(snap.totals).toMatchObject({ bytesIn: 12, bytesOut: 7 });
  });

  it('-w SECS before the subcommand is taken as the global option, not as the subcommand', async () => {
    const srv = await replyServer('ok\n', { afterEof: true });
    const r = await wirecat(['-w', '5', 'connect', '127.0.0.1', String(srv.port)], { input: 'x' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('ok\n');
  });

  it('-x dumps both directions on stderr: a header with direction and size, then hexdump -C lines', async () => {
    const srv = await replyServer('GET / HTTP/1.0\r\n\r\n', { afterEof: true });
    const r = await wirecat(['-x', 'connect', '127.0.0.1', String(srv.port)], { input: 'hello' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('GET / HTTP/1.0\r\n\r\n');
    const lines = r.stderr.split('\n').filter(Boolean);
    const ts = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(new RegExp(`^> ${ts} 5 bytes$`));
    expect(lines[1]).toBe('00000000  68 65 6c 6c 6f                                    |hello|');
    expect(lines[2]).toMatch(new RegExp(`^< ${ts} 18 bytes$`));
    expect(lines[3]).toBe('00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 30 0d 0a  |GET / HTTP/1.0..|');
    expect(lines[4]).toBe('00000010  0d 0a                                             |..|');
  });
});

