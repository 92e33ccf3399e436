/**
 * `wirecat listen` end to end: the built bin/wirecat on loopback, port 0,
 * the real port learnt from `-v` (`wirecat: Listening on 127.0.0.1:PORT`)
 * or `--json` (`listening`), and real peers: node:net / node:tls / node:dgram
 * sockets, `openssl s_client`, and `wirecat connect` itself.
 * The contract is /work/shared/SPEC.md (streams, exit codes, `listen`).
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { wirecat } from './helpers.js';
import { type Client, type Proc, canConnect, cleanup, connectTo, sha256, startProgram, startWirecat, within, writeAll } from './net-helpers.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wirecat-listen-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await cleanup();
});

/** `wirecat -v listen ARGS 127.0.0.1 0`, and its port. */
async function listenV(args: string[], opts: Parameters<typeof startWirecat>[1] = {}): Promise<{ p: Proc; port: number }> {
  const p = startWirecat(['-v', 'listen', ...args, '127.0.0.1', '0'], opts);
  const port = await p.listeningPort();
  return { p, port };
}

/** `wirecat --json listen ARGS 127.0.0.1 0`, and the port of its `listening` event. */
async function listenJson(args: string[], opts: Parameters<typeof startWirecat>[1] = {}): Promise<{ p: Proc; port: number }> {
  const p = startWirecat(['--json', 'listen', ...args, '127.0.0.1', '0'], opts);
  const ev = await p.waitEvent('listening');
  expect(typeof ev.port).toBe('number');
  return { p, port: ev.port as number };
}

/** The `Connection from` lines (-v) so far must reach `n`. */
function accepted(p: Proc, n: number): Promise<RegExpMatchArray[]> {
  return p.waitStderrCount(/^wirecat: Connection from 127\.0\.0\.1:\d+$/, n);
}

describe('listen: one connection', () => {
  it('-v reports the real port of port 0; bytes go both ways; it exits 0 when its one connection ends', async () => {
    const { p, port } = await listenV([]);
    expect(port).toBeGreaterThan(0);
    const c = await connectTo(port);
    await accepted(p, 1);
    c.socket.write('hello from client\n');
    await p.waitStdout('hello from client\n');
    p.child.stdin!.end('hello from listener\n');
    await c.waitData('hello from listener\n');
    await c.waitEnd(); // stdin EOF is carried to the client as a half-close
    c.socket.end();
    const exit = await p.waitExit();
    expect(exit.code).toBe(0);
    expect(p.stdout.toString()).toBe('hello from client\n');
    expect(c.data.toString()).toBe('hello from listener\n');
    // One connection only: the port is closed now.
    expect(await canConnect(port)).toBe(false);
  });

  it('without -k and with stdin on /dev/null, exits 0 after its one connection ends (binary-safe)', async () => {
    const { p, port } = await listenV([], { stdin: 'ignore' });
    const c = await connectTo(port);
    const payload = Buffer.from(Array.from({ length: 4096 }, (_v, i) => (i * 7) & 0xff));
    await writeAll(c.socket, payload);
    const exit = await p.waitExit();
    expect(exit.code).toBe(0);
    expect(p.stdout.equals(payload)).toBe(true);
  });

  it('receives 32 MiB into a file (`listen PORT > file`) with the same SHA-256', async () => {
    const size = 32 * 1024 * 1024;
    const payload = randomBytes(size);
    const out = join(dir, 'received.bin');
    const fd = openSync(out, 'w');
    let started;
    try {
      started = await listenV([], { stdin: 'ignore', stdout: fd });
    } finally {
      closeSync(fd);
    }
    const { p, port } = started;
    const c = await connectTo(port);
    await writeAll(c.socket, payload);
    const exit = await p.waitExit(25000);
    expect(exit.code).toBe(0);
    const got = readFileSync(out);
    expect(got.length).toBe(size);
    expect(sha256(got)).toBe(sha256(payload));
    expect(p.stderr).not.toMatch(/error/i);
  }, 30000);

  it('--json: every stderr line is a JSON event; listening has the real port; accepted; closed with byte counts', async () => {
    const { p, port } = await listenJson([]);
    const c = await connectTo(port);
    const acc = await p.waitEvent('accepted');
    const clientPort = c.socket.localPort!;
    expect(acc).toMatchObject({ event: 'accepted', proto: 'tcp', peer: `127.0.0.1:${clientPort}`, local: `127.0.0.1:${port}` });
    expect(typeof acc.id).toBe('number');
    c.socket.write('12345');
    await p.waitStdout('12345');
    p.child.stdin!.end('abc');
    await c.waitData('abc');
    c.socket.end();
    const exit = await p.waitExit();
    expect(exit.code).toBe(0);
    const events = p.events();
    expect(events.map((e) => e.event)).toEqual(['listening', 'accepted', 'closed']);
    expect(events[0]).toMatchObject({ event: 'listening', proto: 'tcp', address: '127.0.0.1', port });
    for (const e of events) expect(Number.isNaN(Date.parse(e.ts as string))).toBe(false);
    const closed = events[2]!;
    expect(closed).toMatchObject({ event: 'closed', id: acc.id, peer: `127.0.0.1:${clientPort}`, bytesIn: 5, bytesOut: 3 });
    expect(typeof closed.durationMs).toBe('number');
  });

  it('IPv6 loopback: listen ::1 0 reports [::1]:PORT and `connect ::1 PORT` talks to it', async () => {
    const p = startWirecat(['-v', 'listen', '::1', '0']);
    const m = await p.waitStderr(/^wirecat: Listening on \[::1\]:(\d+)$/);
    const port = Number(m[1]);
    const c = startWirecat(['connect', '::1', String(port)]);
    c.child.stdin!.end('over v6\n');
    await p.waitStdout('over v6\n');
    p.child.stdin!.end('back over v6\n');
    const [ce, pe] = await Promise.all([c.waitExit(), p.waitExit()]);
    expect(ce.code).toBe(0);
    expect(pe.code).toBe(0);
    expect(c.stdout.toString()).toBe('back over v6\n');
    expect(p.stderr).toMatch(/^wirecat: Connection from \[::1\]:\d+$/m);
  });

  it('a bad port exits 2 with one line and nothing on stdout', async () => {
    for (const bad of ['70000', 'http', '-5']) {
      const r = await wirecat(['listen', '127.0.0.1', bad]);
      expect(r.code, `listen 127.0.0.1 ${bad}`).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.stderr).toMatch(/^wirecat: listen: /);
    }
  });
});

describe('listen -k: many clients', () => {
  it('stdin (a pipe) reaches all three clients; each client\'s data reaches stdout', async () => {
    const { p, port } = await listenV(['-k']);
    const cs = [await connectTo(port), await connectTo(port), await connectTo(port)];
    await accepted(p, 3);
    p.child.stdin!.write('to everyone\n');
    await Promise.all(cs.map((c) => c.waitData('to everyone\n')));
    cs.forEach((c, i) => c.socket.write(`from client ${i}\n`));
    for (let i = 0; i < 3; i++) await p.waitStdout(`from client ${i}\n`);
    const lines = p.stdout.toString().split('\n').filter(Boolean).sort();
    expect(lines).toEqual(['from client 0', 'from client 1', 'from client 2']);
    for (const c of cs) expect(c.data.toString()).toBe('to everyone\n');
    expect(p.exit).toBeUndefined();
  });

  it('stdin at EOF (/dev/null) keeps the listener and its clients open and serving', async () => {
    const { p, port } = await listenV(['-k'], { stdin: 'ignore' });
    const first = await connectTo(port);
    await accepted(p, 1);
    first.socket.write('first 1\n');
    await p.waitStdout('first 1\n');
    const second = await connectTo(port);
    await accepted(p, 2);
    second.socket.write('second 1\n');
    await p.waitStdout('second 1\n');
    // The first client is still there and still heard.
    first.socket.write('first 2\n');
    await p.waitStdout('first 2\n');
    expect(first.ended).toBe(false);
    expect(first.closed).toBe(false);
    expect(second.closed).toBe(false);
    expect(p.exit).toBeUndefined();
    // And a third arrives after both leave.
    first.socket.end();
    second.socket.end();
    await first.waitClose();
    await second.waitClose();
    const third = await connectTo(port);
    third.socket.write('third\n');
    await p.waitStdout('third\n');
    expect(p.exit).toBeUndefined();
  });

  it('--max-conns 1: a second concurrent client is closed (refused event); after the first leaves a new one is accepted', async () => {
    const { p, port } = await listenJson(['-k', '--max-conns', '1']);
    const first = await connectTo(port);
    await p.waitEvent('accepted');
    const second = await connectTo(port, '127.0.0.1', { allowHalfOpen: false });
    second.socket.write('should go nowhere\n');
    const refused = await p.waitEvent('refused');
    expect(refused).toMatchObject({ event: 'refused', peer: `127.0.0.1:${second.socket.localPort}` });
    expect(String(refused.reason)).toMatch(/max-conns/);
    await second.waitClose();
    expect(second.length).toBe(0);
    // The first is unaffected.
    p.child.stdin!.write('to the first\n');
    await first.waitData('to the first\n');
    first.socket.end();
    await p.waitEvent('closed');
    const third = await connectTo(port);
    await p.waitEvent('accepted', 5000, 2);
    p.child.stdin!.write('to the third\n');
    await third.waitData('to the third\n');
    third.socket.write('third here\n');
    await p.waitStdout('third here\n');
    expect(p.stdout.toString()).toBe('third here\n');
    expect(third.closed).toBe(false);
  });

  it('--allow 127.0.0.1 accepts the client and carries data', async () => {
    const { p, port } = await listenJson(['-k', '--allow', '127.0.0.1']);
    const c = await connectTo(port);
    await p.waitEvent('accepted');
    p.child.stdin!.write('welcome\n');
    await c.waitData('welcome\n');
    c.socket.write('thanks\n');
    await p.waitStdout('thanks\n');
    expect(p.events().some((e) => e.event === 'refused')).toBe(false);
  });

  for (const [name, args] of [
    ['--deny 127.0.0.1', ['--deny', '127.0.0.1']],
    ['--allow 127.0.0.0/8 --deny 127.0.0.1 (deny wins)', ['--allow', '127.0.0.0/8', '--deny', '127.0.0.1']],
    ['--allow 10.0.0.0/8 (not in the list)', ['--allow', '10.0.0.0/8']],
  ] as const) {
    it(`${name}: the client is closed without data and a refused event is emitted`, async () => {
      const { p, port } = await listenJson(['-k', ...args]);
      const c = await connectTo(port, '127.0.0.1', { allowHalfOpen: false });
      c.socket.write('let me in\n');
      const refused = await p.waitEvent('refused');
      expect(refused).toMatchObject({ event: 'refused', peer: `127.0.0.1:${c.socket.localPort}` });
      expect(typeof refused.reason).toBe('string');
      await c.waitClose();
      expect(c.length).toBe(0);
      // Still listening, and nothing of the refused client went to stdout.
      p.child.stdin!.write('late\n');
      const again = await connectTo(port, '127.0.0.1', { allowHalfOpen: false });
      await p.waitEvent('refused', 5000, 2);
      await again.waitClose();
      expect(again.length).toBe(0);
      expect(p.stdout.length).toBe(0);
      expect(p.events().some((e) => e.event === 'accepted')).toBe(false);
    });
  }
});

describe('listen: --exec, --sh-exec', () => {
  it('--exec cat echoes; the child\'s output after the client\'s EOF still reaches the client; closed has exitCode 0', async () => {
    const { p, port } = await listenJson(['--exec', 'cat']);
    const c = await connectTo(port);
    const payload = Buffer.concat([Buffer.from('hello\n'), randomBytes(100_000)]);
    // Everything and EOF at once: cat's output comes after the client's EOF.
    await writeAll(c.socket, payload);
    await c.waitEnd();
    expect(c.data.equals(payload)).toBe(true);
    const closed = await p.waitEvent('closed');
    expect(closed.exitCode).toBe(0);
    expect(closed).toMatchObject({ bytesIn: payload.length, bytesOut: payload.length });
    const exit = await p.waitExit();
    expect(exit.code).toBe(0);
    expect(p.stdout.length).toBe(0);
  });

  it('--sh-exec: output written only after the client\'s EOF reaches the client', async () => {
    const { p, port } = await listenJson(['--sh-exec', 'wc -c; echo after-eof']);
    const c = await connectTo(port);
    await writeAll(c.socket, Buffer.from('12345678'));
    await c.waitEnd();
    expect(c.data.toString().replace(/^\s+/, '')).toBe('8\nafter-eof\n');
    const closed = await p.waitEvent('closed');
    expect(closed.exitCode).toBe(0);
    expect((await p.waitExit()).code).toBe(0);
  });

  it("--sh-exec 'echo hi; cat': the greeting, then an echo", async () => {
    const { p, port } = await listenV(['--sh-exec', 'echo hi; cat']);
    const c = await connectTo(port);
    await c.waitData('hi\n');
    c.socket.write('ping\n');
    await c.waitData('hi\nping\n');
    c.socket.end();
    await c.waitEnd();
    expect(c.data.toString()).toBe('hi\nping\n');
    expect((await p.waitExit()).code).toBe(0);
    expect(p.stderr).toMatch(/^wirecat: Closed 127\.0\.0\.1:\d+: .*exit status 0/m);
  });

  it('--sh-exec: a child\'s non-zero exit status is in the closed event', async () => {
    const { p, port } = await listenJson(['--sh-exec', 'echo bye; exit 3']);
    const c = await connectTo(port);
    await c.waitData('bye\n');
    c.socket.end();
    const closed = await p.waitEvent('closed');
    expect(closed.exitCode).toBe(3);
    await p.waitExit();
  });
});

describe('listen: --broker, --chat, --echo', () => {
  it('--broker -k: a client\'s data reaches the other two (and stdout), not itself', async () => {
    const { p, port } = await listenV(['-k', '--broker']);
    const [a, b, c] = [await connectTo(port), await connectTo(port), await connectTo(port)] as [Client, Client, Client];
    await accepted(p, 3);
    a.socket.write('from a\n');
    await b.waitData('from a\n');
    await c.waitData('from a\n');
    await p.waitStdout('from a\n');
    // Had a's data come back to a, it would precede this on a's connection.
    b.socket.write('from b\n');
    await a.waitData('from b\n');
    await c.waitData('from b\n');
    expect(a.data.toString()).toBe('from b\n');
    expect(b.data.toString()).toBe('from a\n');
    expect(c.data.toString()).toBe('from a\nfrom b\n');
    expect(p.stdout.toString()).toBe('from a\nfrom b\n');
  });

  it('--broker without -k brokers between several clients (as ncat --broker does)', async () => {
    const { p, port } = await listenV(['--broker']);
    const a = await connectTo(port);
    await accepted(p, 1);
    const b = await connectTo(port).catch((e: Error) => {
      throw new Error(`a second client could not connect (${e.message}): the broker stopped listening after its first client`);
    });
    b.socket.write('from b\n');
    await a.waitData('from b\n', 3000);
    expect(b.closed).toBe(false);
  });

  it('--chat -k: lines are relayed with <userN> prefixes, not to the sender', async () => {
    const { p, port } = await listenV(['-k', '--chat']);
    const [a, b, c] = [await connectTo(port), await connectTo(port), await connectTo(port)] as [Client, Client, Client];
    await accepted(p, 3);
    a.socket.write('hello all\n');
    await b.waitData('> hello all\n');
    await c.waitData('> hello all\n');
    const line = /^<user(\d+)> hello all$/m;
    const nb = line.exec(b.data.toString());
    const nc = line.exec(c.data.toString());
    expect(nb, b.data.toString()).not.toBeNull();
    expect(nc, c.data.toString()).not.toBeNull();
    expect(nb![1]).toBe(nc![1]);
    await p.waitStdout(`<user${nb![1]}> hello all\n`);
    b.socket.write('hi a\n');
    await a.waitData('> hi a\n');
    expect(a.data.toString()).toMatch(/^<user\d+> hi a$/m);
    expect(a.data.toString()).not.toContain('hello all');
    // The listener's own stdin takes part too, with a prefix.
    p.child.stdin!.write('from the host\n');
    for (const x of [a, b, c]) {
      await x.waitData('from the host\n');
      expect(x.data.toString()).toMatch(/^<user\d+> from the host$/m);
    }
  });

  it('--echo: each client gets its own bytes back (binary-safe); stdout stays empty', async () => {
    const { p, port } = await listenV(['--echo']);
    const c = await connectTo(port);
    const payload = randomBytes(200_000);
    await writeAll(c.socket, payload, 16384);
    await c.waitEnd();
    expect(c.length).toBe(payload.length);
    expect(c.data.equals(payload)).toBe(true);
    expect((await p.waitExit()).code).toBe(0);
    expect(p.stdout.length).toBe(0);
  });
});

describe('listen -u (UDP)', () => {
  it('datagrams go to stdout; stdin goes back to the last sender', async () => {
    const { p, port } = await listenV(['-u']);
    const sockets: dgram.Socket[] = [];
    const open = async () => {
      const s = dgram.createSocket('udp4');
      sockets.push(s);
      const got: { data: string; port: number }[] = [];
      const waiters: (() => void)[] = [];
      s.on('message', (m, rinfo) => {
        got.push({ data: m.toString(), port: rinfo.port });
        for (const w of waiters.splice(0)) w();
      });
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      /** Wait (bounded) for a datagram with exactly `text`. */
      const waitFor = (text: string) =>
        within(
          new Promise<void>((resolve) => {
            const check = () => (got.some((g) => g.data === text) ? resolve() : waiters.push(check));
            check();
          }),
          5000,
          `a datagram ${JSON.stringify(text)} (got ${JSON.stringify(got)})`,
        );
      return { s, got, waitFor };
    };
    try {
      const a = await open();
      a.s.send('ping from a\n', port, '127.0.0.1');
      await p.waitStdout('ping from a\n');
      p.child.stdin!.write('pong to a\n');
      await a.waitFor('pong to a\n');
      expect(a.got[0]!.port).toBe(port);
      const b = await open();
      b.s.send('ping from b\n', port, '127.0.0.1');
      await p.waitStdout('ping from b\n');
      p.child.stdin!.write('pong to b\n');
      await b.waitFor('pong to b\n');
      expect(a.got.map((g) => g.data)).toEqual(['pong to a\n']);
      expect(p.stdout.toString()).toBe('ping from a\nping from b\n');
    } finally {
      for (const s of sockets) s.close();
    }
  });
});

describe('listen --tls', () => {
  const FPR = /^wirecat: warning: .*SHA-256 fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})$/i;

  it('without a cert: an ephemeral one, its SHA-256 fingerprint on stderr; openssl s_client -quiet talks both ways', async () => {
    const { p, port } = await listenV(['--tls']);
    expect(p.stderr).toMatch(new RegExp(FPR.source, 'im'));
    const s = startProgram('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-quiet']);
    await accepted(p, 1);
    s.child.stdin!.write('from s_client\n');
    await p.waitStdout('from s_client\n');
    p.child.stdin!.write('from wirecat\n');
    await s.waitStdout('from wirecat\n');
    expect(s.stdout.toString()).toBe('from wirecat\n');
    expect(p.stdout.toString()).toBe('from s_client\n');
  });

  it('the printed fingerprint is the certificate the server presents', async () => {
    const { p, port } = await listenV(['--tls']);
    const printed = (await p.waitStderr(FPR))[1]!.toUpperCase();
    const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    try {
      await within(new Promise<void>((r, j) => (sock.once('secureConnect', () => r()), sock.once('error', j))), 5000, 'a TLS handshake');
      expect(sock.getPeerCertificate().fingerprint256.toUpperCase()).toBe(printed);
    } finally {
      sock.destroy();
    }
  });

  it('connect --tls --insecure to it: a warning, data both ways, both exit 0', async () => {
    const { p, port } = await listenV(['--tls']);
    const c = startWirecat(['connect', '--tls', '--insecure', '127.0.0.1', String(port)]);
    await accepted(p, 1);
    c.child.stdin!.end('hi over tls\n');
    await p.waitStdout('hi over tls\n');
    p.child.stdin!.end('hello back\n');
    const [ce, pe] = await Promise.all([c.waitExit(), p.waitExit()]);
    expect(ce.code).toBe(0);
    expect(pe.code).toBe(0);
    expect(c.stdout.toString()).toBe('hello back\n');
    expect(p.stdout.toString()).toBe('hi over tls\n');
    expect(c.stderrLines).toHaveLength(1);
    expect(c.stderr).toMatch(/^wirecat: warning: .*insecure/);
  });

  it('connect --tls WITHOUT --insecure fails verification: exit 4, one line mentioning self-signed', async () => {
    const { port } = await listenV(['-k', '--tls']);
    const r = await wirecat(['connect', '--tls', '127.0.0.1', String(port)], { input: 'x' });
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toMatch(/^wirecat: connect: .*self[- ]signed/i);
  });
});

describe('listen: signals', () => {
  it('SIGINT to listen -k --stats exits 130 with the statistics table on stderr', async () => {
    const p = startWirecat(['-v', '--stats', 'listen', '-k', '127.0.0.1', '0']);
    const port = await p.listeningPort();
    const c = await connectTo(port);
    await accepted(p, 1);
    c.socket.write('abcd');
    await p.waitStdout('abcd');
    p.child.kill('SIGINT');
    const exit = await p.waitExit();
    expect(exit.code).toBe(130);
    await c.waitEnd();
    const err = p.stderr;
    expect(err).toContain('bytes in / out');
    expect(err).toMatch(/bytes in\s*│\s*bytes out|bytes in.*bytes out/);
    expect(err).toMatch(new RegExp(`127\\.0\\.0\\.1:${c.socket.localPort}`));
    expect(err).toMatch(/bytes in \/ out\s*│?\s*4 B \/ 0 B/);
  });

  it('SIGTERM to listen -k exits 143', async () => {
    const { p, port } = await listenV(['-k']);
    const c = await connectTo(port);
    await accepted(p, 1);
    p.child.kill('SIGTERM');
    const exit = await p.waitExit();
    expect(exit.code).toBe(143);
    await c.waitEnd();
  });
});

