/**
 * `wirecat relay ADDRESS ADDRESS` (socat's two-address relay) end to end:
 * the built bin/wirecat on loopback, listening addresses on port 0 with the
 * real port learnt from `-v` (`wirecat: Listening on 127.0.0.1:PORT`) or
 * `--json` (`listening`), and real peers: node:net / node:dgram sockets,
 * `openssl s_server` / `s_client`, child processes, files, and wirecat
 * itself. The contract is /work/shared/SPEC.md ("Addresses", `relay`, exit
 * codes); where it is silent, socat's behaviour.
 *
 * Every wait is bounded and waits on an event (a stderr line, a JSON event,
 * bytes arriving, a close); nothing sleeps and hopes.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type Socket as NetSocket, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WIRECAT, run, wirecat } from './helpers.js';
import {
  Client,
  type Proc,
  canConnect,
  cleanup,
  closedPort,
  connectTo,
  sha256,
  startProgram,
  startServer,
  startWirecat,
  within,
  writeAll,
} from './net-helpers.js';
import { IN_CI, assertRunnable, missingProgram } from './requirements.js';

let dir: string;
let cert: string;
let key: string;
const opensslMissing = missingProgram('openssl', 'openssl');
const socatMissing = missingProgram('socat', 'socat');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wc-relay-'));
  cert = join(dir, 'cert.pem');
  key = join(dir, 'key.pem');
  if (opensslMissing === undefined) {
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore', timeout: 10_000 },
    );
  }
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await cleanup();
});

// ------------------------------------------------------------------ helpers

/** A node:net backend on 127.0.0.1 that records every connection it accepts. */
class Backend {
  readonly conns: Client[] = [];
  private readonly _ee = new EventEmitter();
  port = 0;

  /** @param onConn What to do with each accepted connection (default: echo, EOF passed back). */
  static async start(onConn: (c: Client) => void = (c) => c.socket.pipe(c.socket)): Promise<Backend> {
    const b = new Backend();
    const { port } = await startServer((s: NetSocket) => {
      const c = new Client(s);
      // An accepted socket never emits 'connect'; its `connected` would only ever reject.
      c.connected.catch(() => undefined);
      b.conns.push(c);
      onConn(c);
      b._ee.emit('conn');
    });
    b.port = port;
    return b;
  }

  /** Wait until `n` connections were accepted; resolves with the n-th. */
  waitConns(n: number, ms = 5000): Promise<Client> {
    if (this.conns.length >= n) return Promise.resolve(this.conns[n - 1]!);
    let on: () => void = () => undefined;
    const p = new Promise<Client>((resolve) => {
      on = () => {
        if (this.conns.length >= n) resolve(this.conns[n - 1]!);
      };
      this._ee.on('conn', on);
    });
    return within(p, ms, () => `backend to accept ${n} connections (got ${this.conns.length})`).finally(() => this._ee.off('conn', on));
  }
}

/** `wirecat -v relay ARGS...`, and the port of its `Listening on 127.0.0.1:PORT` line. */
async function relayV(args: string[], opts: Parameters<typeof startWirecat>[1] = {}): Promise<{ p: Proc; port: number }> {
  const p = startWirecat(['-v', 'relay', ...args], opts);
  const port = await p.listeningPort();
  return { p, port };
}

/** `wirecat --json relay ARGS...`, and the port of its `listening` event. */
async function relayJson(args: string[], opts: Parameters<typeof startWirecat>[1] = {}): Promise<{ p: Proc; port: number }> {
  const p = startWirecat(['--json', 'relay', ...args], opts);
  const ev = await p.waitEvent('listening');
  expect(typeof ev.port, `listening event ${JSON.stringify(ev)}`).toBe('number');
  return { p, port: ev.port as number };
}

/** The non-empty lines of a stderr. */
function lines(s: string): string[] {
  return s.split('\n').filter((l) => l !== '');
}

/** Exactly one stderr line, in SPEC's `wirecat: relay: ...` form. */
function expectOneErrorLine(stderr: string, re?: RegExp): string {
  const ls = lines(stderr);
  expect(ls, `stderr: ${JSON.stringify(stderr)}`).toHaveLength(1);
  expect(ls[0]).toMatch(/^wirecat: relay: /);
  if (re) expect(ls[0]).toMatch(re);
  return ls[0]!;
}

const LOCAL = 'tcp-listen:0,bind=127.0.0.1';

// ------------------------------------------------------------------ tcp-listen <-> tcp

describe('relay TCP-LISTEN,fork <-> TCP', () => {
  it('3 concurrent clients each get their own backend connection; bytes both ways are equal', async () => {
    const be = await Backend.start();
    const { p, port } = await relayV([`${LOCAL},fork`, `tcp:127.0.0.1:${be.port}`]);
    const cs = await Promise.all([connectTo(port), connectTo(port), connectTo(port)]);
    await be.waitConns(3);
    const payloads = cs.map((_c, i) => Buffer.concat([Buffer.from(`client ${i}:`), randomBytes(64 * 1024 + i)]));
    await Promise.all(cs.map((c, i) => writeAll(c.socket, payloads[i]!)));
    await Promise.all(cs.map((c, i) => c.waitLength(payloads[i]!.length, 10000)));
    await Promise.all(cs.map((c) => c.waitEnd())); // the echo's EOF comes back through the relay
    cs.forEach((c, i) => expect(c.data.equals(payloads[i]!), `client ${i} got its own bytes back`).toBe(true));
    // Three backend connections, each carrying exactly one client's bytes.
    expect(be.conns).toHaveLength(3);
    const seen = be.conns.map((b) => sha256(b.data)).sort();
    expect(seen).toEqual(payloads.map((x) => sha256(x)).sort());
    expect(p.exit).toBeUndefined(); // fork keeps serving
    await p.waitStderrCount(/^wirecat: Connection from 127\.0\.0\.1:\d+$/, 3);
  });

  it('50 concurrent clients each send 1 MiB of random data and get it back intact (issue 5)', async () => {
    const be = await Backend.start();
    const { p, port } = await relayV([`${LOCAL},fork,backlog=128`, `tcp:127.0.0.1:${be.port}`]);
    const cs = await Promise.all(Array.from({ length: 50 }, () => connectTo(port)));
    const payloads = cs.map(() => randomBytes(1024 * 1024));
    await Promise.all(cs.map((c, i) => writeAll(c.socket, payloads[i]!)));
    await Promise.all(cs.map((c) => c.waitLength(1024 * 1024, 20000)));
    await Promise.all(cs.map((c) => c.waitEnd(10000)));
    cs.forEach((c, i) => expect(sha256(c.data), `client ${i}`).toBe(sha256(payloads[i]!)));
    expect(be.conns).toHaveLength(50);
    expect(p.exit).toBeUndefined();
  }, 30000);

  it('16 MiB of random data each way at once: SHA-256 equal at both ends', async () => {
    const size = 16 * 1024 * 1024;
    const up = randomBytes(size);
    const down = randomBytes(size);
    const be = await Backend.start((c) => void writeAll(c.socket, down));
    const { port } = await relayV([`${LOCAL},fork`, `tcp:127.0.0.1:${be.port}`]);
    const c = await connectTo(port);
    const sending = writeAll(c.socket, up);
    const b = await be.waitConns(1);
    await within(sending, 20000, 'the client to send 16 MiB');
    await b.waitLength(size, 20000);
    await c.waitLength(size, 20000);
    await c.waitEnd();
    await b.waitEnd();
    expect(b.length).toBe(size);
    expect(c.length).toBe(size);
    expect(sha256(b.data)).toBe(sha256(up));
    expect(sha256(c.data)).toBe(sha256(down));
  }, 30000);

  it('tcp-listen,fork with `-`: stdin goes to every connected client, and still to the others after one leaves', async () => {
    const { p, port } = await relayJson([`${LOCAL},fork`, '-']);
    const c1 = await connectTo(port);
    const c2 = await connectTo(port);
    await p.waitEvent('accepted', 5000, 2);
    p.child.stdin!.write('hello\n');
    await c1.waitData('hello\n');
    await c2.waitData('hello\n');
    c1.socket.destroy();
    await c1.waitClose();
    await new Promise((r) => setTimeout(r, 300)); // the first pair winds down
    p.child.stdin!.write('again\n');
    await c2.waitData('hello\nagain\n');
    expect(c2.data.toString()).toBe('hello\nagain\n');
  });

  it("half-close client→backend: the client's EOF reaches the backend, whose late reply still reaches the client, then the pair closes", async () => {
    const be = await Backend.start(() => undefined);
    const { p, port } = await relayJson([`${LOCAL},fork`, `tcp:127.0.0.1:${be.port}`]);
    const c = await connectTo(port);
    c.socket.end('question');
    const b = await be.waitConns(1);
    await b.waitEnd(); // the backend saw EOF
    expect(b.data.toString()).toBe('question');
    expect(c.ended).toBe(false); // the backend has not ended: nothing closed the client yet
    b.socket.end('late reply');
    await c.waitData('late reply');
    await c.waitEnd();
    await c.waitClose();
    await b.waitClose();
    expect(c.data.toString()).toBe('late reply');
    const closed = await p.waitEvent('closed');
    expect(closed).toMatchObject({ bytesIn: 8, bytesOut: 10 });
    expect(closed.error).toBeUndefined();
  });

  it("half-close backend→client: the backend's EOF reaches the client, whose late data still reaches the backend", async () => {
    const be = await Backend.start((c) => c.socket.end('early bye'));
    const { p, port } = await relayJson([`${LOCAL},fork`, `tcp:127.0.0.1:${be.port}`]);
    const c = await connectTo(port);
    await c.waitData('early bye');
    await c.waitEnd();
    const b = await be.waitConns(1);
    expect(b.closed).toBe(false);
    c.socket.end('late data');
    await b.waitData('late data');
    await b.waitEnd();
    await c.waitClose();
    await b.waitClose();
    const closed = await p.waitEvent('closed');
    expect(closed).toMatchObject({ bytesIn: 9, bytesOut: 9 });
  });

  it('without fork: serves one pair and exits 0; the port is closed afterwards', async () => {
    const be = await Backend.start();
    const { p, port } = await relayV([LOCAL, `tcp:127.0.0.1:${be.port}`]);
    const c = await connectTo(port);
    c.socket.end('only one\n');
    await c.waitEnd();
    expect(c.data.toString()).toBe('only one\n');
    const exit = await p.waitExit();
    expect(exit.code).toBe(0);
    expect(p.stdout.length).toBe(0);
    expect(await canConnect(port)).toBe(false);
    expect(be.conns).toHaveLength(1);
  });

  it('max-conns=1 with fork: a second client waits (its data is delivered only after the first pair ends), never dropped', async () => {
    const be = await Backend.start();
    const { p, port } = await relayJson([`${LOCAL},fork,max-conns=1`, `tcp:127.0.0.1:${be.port}`]);
    const c1 = await connectTo(port);
    c1.socket.write('one;');
    await c1.waitData('one;');
    const c2 = await connectTo(port);
    c2.socket.write('two;');
    await p.waitEvent('accepted', 5000, 2); // the relay has the second client in hand
    // A full round trip through the first pair after that: the relay has
    // had every chance to open a second backend connection by now.
    c1.socket.write('again;');
    await c1.waitData('one;again;');
    expect(be.conns).toHaveLength(1);
    expect(c2.length).toBe(0);
    expect(c2.ended || c2.closed).toBe(false);
    // The first pair ends; the second gets its backend connection and its data through.
    c1.socket.end();
    await c1.waitClose();
    const b2 = await be.waitConns(2);
    await b2.waitData('two;');
    await c2.waitData('two;');
    c2.socket.end();
    await c2.waitClose();
    expect(c2.data.toString()).toBe('two;');
    expect(p.exit).toBeUndefined();
  });

  it('a backend reset ends only that pair: `closed` has an error, the other pair carries on', async () => {
    const be = await Backend.start((c) =>
      c.socket.on('data', (d: Buffer) => {
        if (d.toString().includes('RESET')) c.socket.resetAndDestroy();
        else c.socket.write(d);
      }),
    );
    const { p, port } = await relayJson([`${LOCAL},fork`, `tcp:127.0.0.1:${be.port}`]);
    const good = await connectTo(port);
    good.socket.write('hello;');
    await good.waitData('hello;');
    // A client that closes fully once it sees EOF, so nothing on its side holds the pair open.
    const bad = await connectTo(port, '127.0.0.1', { allowHalfOpen: false });
    await be.waitConns(2);
    bad.socket.write('RESET');
    await bad.waitEnd(); // closed (FIN or RST) by the relay
    const closed = await p.waitEvent('closed', 3000);
    expect(typeof closed.error, `closed event ${JSON.stringify(closed)}`).toBe('string');
    expect(closed.error).toMatch(/reset|ECONNRESET/i);
    good.socket.write('still here;');
    await good.waitData('hello;still here;');
    expect(good.closed).toBe(false);
    expect(p.exit).toBeUndefined();
    // and a new client is served too
    const third = await connectTo(port);
    third.socket.write('third;');
    await third.waitData('third;');
  });

  it('a backend reset is reported with -v (a Closed line with the error), and the relay keeps serving', async () => {
    const be = await Backend.start((c) => c.socket.once('data', () => c.socket.resetAndDestroy()));
    const { p, port } = await relayV([`${LOCAL},fork`, `tcp:127.0.0.1:${be.port}`]);
    const c = await connectTo(port, '127.0.0.1', { allowHalfOpen: false });
    c.socket.write('x');
    await c.waitEnd();
    const m = await p.waitStderr(/^wirecat: Closed .*error: (.+)$/, 3000);
    expect(m[1]).toMatch(/reset|ECONNRESET/i);
    expect(p.exit).toBeUndefined();
    expect(await canConnect(port)).toBe(true);
  });

  it('a backend that refuses: the client connection is closed, the error is in `closed`, the relay keeps serving', async () => {
    const dead = await closedPort();
    const { p, port } = await relayJson([`${LOCAL},fork`, `tcp:127.0.0.1:${dead}`]);
    for (let i = 1; i <= 2; i++) {
      // The relay may close (or reset) the client before node reports 'connect'.
      const c = new Client(netConnect({ host: '127.0.0.1', port, allowHalfOpen: false }));
      c.connected.catch(() => undefined);
      await c.waitClose();
      c.socket.destroy();
      expect(c.length).toBe(0);
      const closed = await p.waitEvent('closed', 5000, i);
      expect(closed.error).toMatch(/refused/i);
    }
    expect(p.exit).toBeUndefined();
  });

  it('--json: `accepted`, then `closed` with the byte counts moved each way and a duration', async () => {
    const reply = randomBytes(2500);
    const be = await Backend.start((c) => c.socket.once('end', () => c.socket.end(reply)));
    const { p, port } = await relayJson([`${LOCAL},fork`, `tcp:127.0.0.1:${be.port}`]);
    const c = await connectTo(port);
    const clientPort = c.socket.localPort!;
    await writeAll(c.socket, randomBytes(1000));
    await c.waitEnd();
    await c.waitClose();
    expect(c.data.equals(reply)).toBe(true);
    const acc = await p.waitEvent('accepted');
    expect(acc).toMatchObject({ proto: 'tcp', peer: `127.0.0.1:${clientPort}` });
    const closed = await p.waitEvent('closed');
    expect(closed).toMatchObject({ event: 'closed', bytesIn: 1000, bytesOut: 2500 });
    expect(typeof closed.durationMs).toBe('number');
    expect(closed.durationMs as number).toBeGreaterThanOrEqual(0);
    expect(String(closed.peer)).toContain(`127.0.0.1:${clientPort}`);
    expect(String(closed.peer)).toContain(`127.0.0.1:${be.port}`);
    for (const e of p.events()) expect(typeof e.ts).toBe('string');
  });

  it('--stats json: one JSON object on stderr at exit with totals and the pair\'s connections', async () => {
    const be = await Backend.start((c) => c.socket.once('end', () => c.socket.end(Buffer.alloc(3000, 0x62))));
    // -v only adds its lines before the statistics; it gives the port.
    const q = startWirecat(['-v', '--stats', 'json', 'relay', `${LOCAL}`, `tcp:127.0.0.1:${be.port}`]);
    const port = await q.listeningPort();
    const c = await connectTo(port);
    await writeAll(c.socket, Buffer.alloc(1200, 0x61));
    await c.waitEnd();
    const exit = await q.waitExit();
    expect(exit.code).toBe(0);
    const jsonLines = lines(q.stderr).filter((l) => l.startsWith('{'));
    expect(jsonLines, q.stderr).toHaveLength(1);
    const snap = JSON.parse(jsonLines[0]!) as {
      totals: Record<string, number>;
      connections: { kind: string; bytesIn: number; bytesOut: number; peer: string; durationMs: number | null }[];
      loop: Record<string, unknown>;
    };
    // Two TCP connections: the accepted one (1200 in, 3000 out) and the backend one (3000 in, 1200 out).
    expect(snap.totals.bytesIn).toBe(4200);
    expect(snap.totals.bytesOut).toBe(4200);
    expect(snap.totals.connectionsOpened).toBe(2);
    expect(snap.totals.connectionsClosed).toBe(2);
    const tcp = snap.connections.filter((x) => x.kind === 'tcp');
    expect(tcp.map((x) => [x.bytesIn, x.bytesOut]).sort()).toEqual([
      [1200, 3000],
      [3000, 1200],
    ]);
    for (const x of tcp) expect(typeof x.durationMs).toBe('number');
    expect(snap.loop).toHaveProperty('peakRssBytes');
  });
});

// ------------------------------------------------------------------ -u / -U / -T

describe('relay -u, -U, -T', () => {
  it('-u: left→right only; the backend\'s bytes never reach the client; exits 0 when both ended', async () => {
    const be = await Backend.start((c) => c.socket.write('to-client'));
    const { p, port } = await relayV(['-u', LOCAL, `tcp:127.0.0.1:${be.port}`]);
    const c = await connectTo(port);
    const b = await be.waitConns(1);
    c.socket.end('to-backend');
    await b.waitData('to-backend');
    await b.waitEnd();
    b.socket.end();
    const exit = await p.waitExit();
    expect(exit.code).toBe(0);
    await c.waitClose();
    expect(b.data.toString()).toBe('to-backend');
    expect(c.length).toBe(0);
  });

  it('-U: right→left only; the client\'s bytes never reach the backend', async () => {
    const be = await Backend.start(() => undefined);
    const { p, port } = await relayV(['-U', LOCAL, `tcp:127.0.0.1:${be.port}`]);
    const c = await connectTo(port);
    const b = await be.waitConns(1);
    c.socket.write('to-backend');
    b.socket.end('to-client');
    await c.waitData('to-client');
    await c.waitEnd();
    c.socket.end();
    const exit = await p.waitExit();
    expect(exit.code).toBe(0);
    await b.waitClose();
    expect(c.data.toString()).toBe('to-client');
    expect(b.length).toBe(0);
  });

  it('-u and -U together are a usage error (exit 2, one line)', async () => {
    const r = await wirecat(['relay', '-u', '-U', '-', 'tcp:127.0.0.1:9']);
    expect(r.code).toBe(2);
    expectOneErrorLine(r.stderr);
  });

  it('-T 1: an idle pair is closed after about 1 s and the non-fork relay exits 3', async () => {
    const be = await Backend.start();
    const { p, port } = await relayV(['-T', '1', LOCAL, `tcp:127.0.0.1:${be.port}`]);
    const c = await connectTo(port);
    c.socket.write('ping');
    await c.waitData('ping');
    const idleFrom = Date.now();
    await c.waitEnd(5000); // the client stays half-open: the relay must not wait for it
    const exit = await p.waitExit(5000);
    const idle = Date.now() - idleFrom;
    expect(exit.code).toBe(3);
    expect(idle).toBeGreaterThanOrEqual(900);
    expect(idle).toBeLessThan(4000);
    expect(lines(p.stderr).filter((l) => !/^wirecat: (Listening on|Connection from|Closed) /.test(l))).toHaveLength(1);
    expect(p.stderr).toMatch(/^wirecat: relay: .*idle/m);
  });

  it('-T 1 with fork: the idle pair is closed, the relay keeps serving new clients', async () => {
    const be = await Backend.start();
    const { p, port } = await relayV(['-T', '1', `${LOCAL},fork`, `tcp:127.0.0.1:${be.port}`]);
    const c = await connectTo(port);
    c.socket.write('ping');
    await c.waitData('ping');
    await c.waitEnd(5000);
    expect(p.exit).toBeUndefined();
    const d = await connectTo(port);
    d.socket.write('pong');
    await d.waitData('pong');
    expect(p.exit).toBeUndefined();
  });

  it('-T with a bad value is a usage error (exit 2)', async () => {
    const r = await wirecat(['relay', '-T', '-1', '-', 'tcp:127.0.0.1:9']);
    expect(r.code).toBe(2);
    expectOneErrorLine(r.stderr);
  });
});

// ------------------------------------------------------------------ stdio, exec, system, file

describe('relay with stdio, exec, system, file', () => {
  it('`relay - tcp:HOST:PORT`: stdin to the server, the server\'s reply to stdout, exit 0', async () => {
    const be = await Backend.start((c) => c.socket.once('end', () => c.socket.end(`got ${c.data.length} bytes: ${c.data.toString()}`)));
    const r = await wirecat(['relay', '-', `tcp:127.0.0.1:${be.port}`], { input: 'hello relay\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('got 12 bytes: hello relay\n');
    expect(r.stderr).toBe('');
  });

  it('`relay stdio exec:\'tr a-z A-Z\'` and `EXEC:` (socat spelling)', async () => {
    for (const addr of ["exec:tr a-z A-Z", "EXEC:'tr' a-z A-Z"]) {
      const r = await wirecat(['relay', 'stdio', addr], { input: 'hello world\n' });
      expect(r.code, `${addr}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toBe('HELLO WORLD\n');
    }
  });

  it('`system:` and `SYSTEM:` run a shell pipeline', async () => {
    for (const addr of ['system:tr a-z A-Z | rev', 'SYSTEM:tr a-z A-Z | rev']) {
      const r = await wirecat(['relay', '-', addr], { input: 'abc\nxyz\n' });
      expect(r.code, `${addr}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toBe('CBA\nZYX\n');
    }
  });

  it('exec: a child that exits without reading stdin ends the relay (at the latest at stdin\'s EOF); its output arrives', async () => {
    // socat - 'exec:echo hi' prints hi and exits. The child prints its pid,
    // so the test can wait until it has exited and been reaped before it
    // ends stdin (the order in which the hang shows).
    const p = startWirecat(['relay', '-', 'system:echo $$; exec echo hi']);
    await p.waitStdout('hi\n');
    const pid = Number(p.stdout.toString().split('\n')[0]);
    expect(pid).toBeGreaterThan(1);
    const deadline = Date.now() + 3000;
    for (let i = 0; i < 300 && Date.now() < deadline && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 10));
    expect(existsSync(`/proc/${pid}`), 'the child was reaped').toBe(false);
    p.child.stdin!.end('late input\n');
    const exit = await p.waitExit(3000);
    expect(exit.code).toBe(0);
    expect(p.stdout.toString()).toBe(`${pid}\nhi\n`);
  });

  it('exec: a child that reads all input before answering (sort) gets the EOF and its output still arrives', async () => {
    const r = await wirecat(['relay', '-', 'exec:sort'], { input: 'c\na\nb\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('a\nb\nc\n');
  });

  it('`relay tcp-listen:0,bind=127.0.0.1 file:PATH,create` receives a file (bytes equal), exit 0', async () => {
    const out = join(dir, 'received.bin');
    const payload = randomBytes(3 * 1024 * 1024 + 17);
    const { p, port } = await relayV([LOCAL, `file:${out},create`]);
    const c = await connectTo(port);
    await writeAll(c.socket, payload);
    const exit = await p.waitExit(15000);
    expect(exit.code, p.stderr).toBe(0);
    const got = readFileSync(out);
    expect(got.length).toBe(payload.length);
    expect(sha256(got)).toBe(sha256(payload));
  });

  it('`relay - tcp:..,crlf`: a CR ending one read of stdin and the LF starting the next go out as one CRLF', async () => {
    let got = Buffer.alloc(0);
    const ev = new EventEmitter();
    const srv = await startServer((s) => {
      s.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        ev.emit('data');
      });
      s.on('end', () => {
        s.end();
        ev.emit('end');
      });
    });
    const until = (what: string, ok: () => boolean) =>
      within(
        new Promise<void>((r) => {
          const f = () => {
            if (!ok()) return;
            ev.off('data', f);
            ev.off('end', f);
            r();
          };
          ev.on('data', f);
          ev.on('end', f);
          f();
        }),
        5000,
        what,
      );
    const p = startWirecat(['relay', '-', `tcp:127.0.0.1:${srv.port},crlf`]);
    p.child.stdin!.write('a\r');
    await until('the first chunk', () => got.length >= 2);
    p.child.stdin!.end('\nb\n');
    await until('the rest', () => got.length >= 6);
    expect((await p.waitExit(10000)).code, p.stderr).toBe(0);
    expect(got.toString()).toBe('a\r\nb\r\n');
  });

  it('`relay - tcp:..,crlf`: a CRLF the server sends in two reads arrives as one LF; a CR ending the stream still arrives', async () => {
    let sock: NetSocket | undefined;
    const conn = new EventEmitter();
    const srv = await startServer((s) => {
      sock = s;
      s.on('data', () => undefined);
      conn.emit('up');
    });
    const p = startWirecat(['relay', '-', `tcp:127.0.0.1:${srv.port},crlf`]);
    let out = '';
    p.child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      conn.emit('out');
    });
    const until = (what: string, ok: () => boolean) =>
      within(
        new Promise<void>((r) => {
          const f = () => {
            if (!ok()) return;
            conn.off('up', f);
            conn.off('out', f);
            r();
          };
          conn.on('up', f);
          conn.on('out', f);
          f();
        }),
        5000,
        what,
      );
    await until('the connection', () => sock !== undefined);
    sock!.write('a\r');
    await until('the first line', () => out.startsWith('a'));
    sock!.write('\nb\r\n');
    await until('the second line', () => out.includes('b'));
    sock!.end('c\r');
    p.child.stdin!.end();
    expect((await p.waitExit(10000)).code, p.stderr).toBe(0);
    expect(out).toBe('a\nb\nc\r');
  });

  it('`relay - file:PATH,create` with stdin a regular file or a pipe writes every byte of stdin, in order', async () => {
    // The file address reads no input: it must not start reading the
    // process's stdin (Node's process.stdin) beside the relay's own reader.
    const src = join(dir, 'stdin.bin');
    const payload = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(src, payload);
    const out = join(dir, 'from-stdin.bin');
    const fromFile = await run('sh', ['-c', '"$0" relay - "file:$2,create" < "$1"', WIRECAT, src, out], { timeoutMs: 20000 });
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(sha256(readFileSync(out)), 'stdin a regular file').toBe(sha256(payload));
    const fromPipe = await run('sh', ['-c', 'cat "$1" | "$0" relay - "file:$2,create"', WIRECAT, src, out], { timeoutMs: 20000 });
    expect(fromPipe.code, fromPipe.stderr).toBe(0);
    expect(sha256(readFileSync(out)), 'stdin a pipe').toBe(sha256(payload));
  });

  it('`CREATE:PATH` (socat) writes a file the same way, truncating what was there', async () => {
    const out = join(dir, 'created.txt');
    writeFileSync(out, 'old content that is longer than the new one\n');
    const { p, port } = await relayV([`TCP-L:127.0.0.1:0`, `CREATE:${out}`]);
    const c = await connectTo(port);
    c.socket.end('new\n');
    expect((await p.waitExit()).code, p.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('new\n');
  });

  it('`file:,append` appends', async () => {
    const out = join(dir, 'appended.txt');
    writeFileSync(out, 'first\n');
    const { p, port } = await relayV([LOCAL, `file:${out},append`]);
    const c = await connectTo(port);
    c.socket.end('second\n');
    expect((await p.waitExit()).code, p.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('first\nsecond\n');
  });

  it('`relay file:PATH tcp:127.0.0.1:PORT` sends a file (bytes equal) and `OPEN:` does the same', async () => {
    const src = join(dir, 'send.bin');
    const payload = randomBytes(2 * 1024 * 1024 + 5);
    writeFileSync(src, payload);
    for (const type of ['file', 'OPEN']) {
      const be = await Backend.start((c) => c.socket.once('end', () => c.socket.end()));
      const r = await wirecat(['relay', `${type}:${src}`, `tcp:127.0.0.1:${be.port}`]);
      expect(r.code, `${type}: ${r.stderr}`).toBe(0);
      const b = await be.waitConns(1);
      await b.waitClose();
      expect(b.length).toBe(payload.length);
      expect(sha256(b.data)).toBe(sha256(payload));
    }
  });

  it('a file that does not exist is one error line (not a stack), non-zero exit', async () => {
    const r = await wirecat(['relay', `file:${join(dir, 'nope.bin')}`, 'tcp:127.0.0.1:9']);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expectOneErrorLine(r.stderr, /nope\.bin/);
  });
});

// ------------------------------------------------------------------ unix

describe('relay with Unix sockets', () => {
  it('`unix-listen:PATH,fork exec:cat` serves `relay - unix:PATH` and `UNIX-CONNECT:` clients; the socket file is removed at exit', async () => {
    const sdir = join(dir, 'u1');
    mkdirSync(sdir);
    const sock = join(sdir, 's.sock');
    const srv = startWirecat(['-v', 'relay', `unix-listen:${sock},fork`, 'exec:cat']);
    await srv.waitStderr(new RegExp(`^wirecat: Listening on ${sock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    expect(existsSync(sock)).toBe(true);
    const [a, b] = await Promise.all([
      wirecat(['relay', '-', `unix:${sock}`], { input: 'first client\n' }),
      wirecat(['relay', '-', `UNIX-CONNECT:${sock}`], { input: 'second client\n' }),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toBe('first client\n');
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toBe('second client\n');
    expect(srv.exit).toBeUndefined();
    srv.child.kill('SIGTERM');
    const exit = await srv.waitExit();
    expect(exit.code).toBe(143);
    expect(existsSync(sock)).toBe(false);
  });

  it('tcp-listen → unix and unix-listen → tcp chained: bytes equal end to end', async () => {
    const be = await Backend.start();
    const sock = join(dir, 'chain.sock');
    const u = startWirecat(['-v', 'relay', `unix-listen:${sock},fork`, `tcp:127.0.0.1:${be.port}`]);
    await u.waitStderr(/^wirecat: Listening on /);
    const { port } = await relayV([`${LOCAL},fork`, `unix:${sock}`]);
    const c = await connectTo(port);
    const payload = randomBytes(512 * 1024);
    await writeAll(c.socket, payload);
    await c.waitLength(payload.length, 10000);
    await c.waitEnd();
    expect(sha256(c.data)).toBe(sha256(payload));
  });

  it('unix-listen with mode=0600 sets the socket file\'s permissions', async () => {
    const sock = join(dir, 'mode.sock');
    const srv = startWirecat(['-v', 'relay', `unix-listen:${sock},mode=0600`, 'exec:cat']);
    await srv.waitStderr(/^wirecat: Listening on /);
    const { statSync } = await import('node:fs');
    expect(statSync(sock).mode & 0o777).toBe(0o600);
  });

  it('abstract `unix-listen:@name` works and creates no file', async () => {
    const name = `wc-relay-${process.pid}-${Date.now()}`;
    const srv = startWirecat(['-v', 'relay', `unix-listen:@${name},fork`, 'exec:cat']);
    await srv.waitStderr(/^wirecat: Listening on /);
    const r = await wirecat(['relay', '-', `unix:@${name}`], { input: 'abstract\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('abstract\n');
    expect(existsSync(join(process.cwd(), `@${name}`))).toBe(false);
  });

  it('connecting to a missing socket path exits 1 with one line naming it', async () => {
    const r = await wirecat(['relay', '-', `unix:${join(dir, 'missing.sock')}`]);
    expect(r.code).toBe(1);
    expectOneErrorLine(r.stderr, /missing\.sock/);
  });
});

// ------------------------------------------------------------------ udp

describe('relay UDP', () => {
  async function udpBackend(): Promise<{ sock: dgram.Socket; port: number; got: string[] }> {
    const sock = dgram.createSocket('udp4');
    const got: string[] = [];
    sock.on('message', (m, rinfo) => {
      got.push(m.toString());
      sock.send(Buffer.from(m.toString().toUpperCase()), rinfo.port, rinfo.address);
    });
    await within(new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r())), 5000, 'a UDP backend to bind');
    return { sock, port: sock.address().port, got };
  }

  /** A client socket whose datagrams can be awaited one by one. */
  async function udpClient(): Promise<{ sock: dgram.Socket; next(ms?: number): Promise<string>; all: string[] }> {
    const sock = dgram.createSocket('udp4');
    const all: string[] = [];
    const queue: string[] = [];
    const ee = new EventEmitter();
    sock.on('message', (m) => {
      all.push(m.toString());
      queue.push(m.toString());
      ee.emit('m');
    });
    await within(new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r())), 5000, 'a UDP client to bind');
    const next = (ms = 3000) => {
      let done = false;
      let take: () => void = () => undefined;
      const p = new Promise<string>((resolve) => {
        take = () => {
          if (!done && queue.length > 0) {
            done = true;
            resolve(queue.shift()!);
          }
        };
        ee.on('m', take);
        take();
      });
      return within(p, ms, 'a datagram').finally(() => {
        done = true; // a timed-out wait must not swallow a later datagram
        ee.off('m', take);
      });
    };
    return { sock, next, all };
  }

  it('udp-listen:0 reports its real port (`--json` listening with proto udp)', async () => {
    const p = startWirecat(['--json', 'relay', 'udp-listen:0,bind=127.0.0.1', 'udp:127.0.0.1:9']);
    const ev = await p.waitEvent('listening', 2000);
    expect(ev).toMatchObject({ proto: 'udp', address: '127.0.0.1' });
    expect(ev.port as number).toBeGreaterThan(0);
  });

  it('udp-listen ↔ udp relays datagrams both ways, one datagram each, boundaries kept', async () => {
    const be = await udpBackend();
    // The relay's port: from its `listening` event when it has one, else a
    // free port chosen here (see the test above for the missing event).
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    const chosen = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    const p = startWirecat(['--json', 'relay', `udp-listen:127.0.0.1:${chosen}`, `udp:127.0.0.1:${be.port}`]);
    const cl = await udpClient();
    // Wait for the relay to be bound: send probes, bounded, until one answer comes back.
    let ready = false;
    for (let i = 0; i < 100 && !ready && p.exit === undefined; i++) {
      cl.sock.send('probe', chosen, '127.0.0.1');
      ready = await cl.next(100).then(
        () => true,
        () => false,
      );
    }
    expect(ready, `relay never answered; stderr: ${p.stderr}`).toBe(true);
    for (const word of ['one', 'two two', 'three three three']) {
      cl.sock.send(word, chosen, '127.0.0.1');
      let reply = await cl.next();
      for (let k = 0; k < 100 && reply === 'PROBE'; k++) reply = await cl.next(); // late answers to extra probes
      expect(reply).toBe(word.toUpperCase());
    }
    expect(be.got.filter((g) => g !== 'probe')).toEqual(['one', 'two two', 'three three three']);
    cl.sock.close();
    be.sock.close();
  });
});

// ------------------------------------------------------------------ tls

describe('relay TLS', () => {
  const skipTls = !IN_CI && opensslMissing !== undefined;

  it.skipIf(skipTls)('tls-listen:0,cert=,key= ↔ tls:127.0.0.1:PORT,cafile=,servername=localhost end to end (bytes equal)', async () => {
    assertRunnable('TLS relay', opensslMissing);
    const be = await Backend.start();
    const { port: tlsPort } = await relayV([`tls-listen:0,bind=127.0.0.1,fork,cert=${cert},key=${key}`, `tcp:127.0.0.1:${be.port}`]);
    const { port } = await relayV([`${LOCAL},fork`, `tls:127.0.0.1:${tlsPort},cafile=${cert},servername=localhost`]);
    const cs = await Promise.all([connectTo(port), connectTo(port)]);
    const payloads = [randomBytes(300 * 1024), randomBytes(7)];
    await Promise.all(cs.map((c, i) => writeAll(c.socket, payloads[i]!)));
    await Promise.all(cs.map((c, i) => c.waitLength(payloads[i]!.length, 10000)));
    await Promise.all(cs.map((c) => c.waitEnd()));
    cs.forEach((c, i) => expect(sha256(c.data)).toBe(sha256(payloads[i]!)));
  });

  it.skipIf(skipTls)('`relay - OPENSSL:HOST:PORT,cafile=,servername=` (socat spelling) talks to tls-listen; exit 0', async () => {
    assertRunnable('TLS relay', opensslMissing);
    const be = await Backend.start();
    const { port } = await relayV([`OPENSSL-LISTEN:0,bind=127.0.0.1,fork,cert=${cert},key=${key}`, `tcp:127.0.0.1:${be.port}`]);
    const r = await wirecat(['relay', '-', `OPENSSL:127.0.0.1:${port},cafile=${cert},servername=localhost`], { input: 'over tls\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('over tls\n');
  });

  it.skipIf(skipTls)('tls: verifies by default: an untrusted server certificate exits 4 with one line', async () => {
    assertRunnable('TLS relay', opensslMissing);
    const be = await Backend.start();
    const { port } = await relayV([`tls-listen:0,bind=127.0.0.1,fork,cert=${cert},key=${key}`, `tcp:127.0.0.1:${be.port}`]);
    const r = await wirecat(['relay', '-', `tls:127.0.0.1:${port},servername=localhost`], { input: 'x' });
    expect(r.code).toBe(4);
    expectOneErrorLine(r.stderr);
    expect(r.stdout).toBe('');
  });

  it.skipIf(skipTls)('tls-listen ↔ tcp against `openssl s_client`; tcp-listen ↔ tls against `openssl s_server -rev`', async () => {
    assertRunnable('TLS relay with openssl', opensslMissing);
    const be = await Backend.start();
    const { port } = await relayV([`tls-listen:0,bind=127.0.0.1,fork,cert=${cert},key=${key}`, `tcp:127.0.0.1:${be.port}`]);
    const sc = startProgram('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-quiet', '-verify_return_error', '-CAfile', cert, '-servername', 'localhost', '-ign_eof']);
    sc.child.stdin!.write('through s_client\n');
    await sc.waitStdout('through s_client\n');
    sc.kill();

    const ss = startProgram('openssl', ['s_server', '-rev', '-accept', '127.0.0.1:0', '-cert', cert, '-key', key]);
    const m = await ss.waitStdout('ACCEPT').then(() => /ACCEPT 127\.0\.0\.1:(\d+)/.exec(ss.stdout.toString()));
    const ssPort = Number(m![1]);
    const { port: rport } = await relayV([`${LOCAL},fork`, `tls:127.0.0.1:${ssPort},cafile=${cert},servername=localhost`]);
    const c = await connectTo(rport);
    c.socket.write('hello\n');
    await c.waitData('olleh\n');
  });

  it('tls-listen without cert= behaves as `relay --help` says (an ephemeral self-signed certificate)', async () => {
    const help = await wirecat(['relay', '--help']);
    expect(help.code).toBe(0);
    // The address table in the help (wrapped): tls-listen's row promises an ephemeral certificate.
    expect(help.stdout.replace(/\s+/g, ' ')).toMatch(/tls-listen:\[HOST:\]PORT TLS server \(without cert=: an ephemeral self-signed certificate\)/);
    // ...so it must listen, not fail:
    const be = await Backend.start();
    const p = startWirecat(['--json', 'relay', 'tls-listen:0,bind=127.0.0.1,fork', `tcp:127.0.0.1:${be.port}`]);
    const ev = await p.waitEvent('listening');
    expect(ev.port as number).toBeGreaterThan(0);
    // as `listen --tls`: the fingerprint is told, so a client can check it
    const warn = await p.waitEvent('warning');
    expect(String(warn.message)).toMatch(/ephemeral self-signed.*[0-9A-F]{2}(:[0-9A-F]{2}){31}/i);
    // an unverifying client gets through, a verifying one is refused (exit 4)
    const ok = await wirecat(['relay', '-', `tls:127.0.0.1:${ev.port as number},verify=0`], { input: 'ephemeral\n' });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('ephemeral\n');
    const strict = await wirecat(['relay', '-', `tls:127.0.0.1:${ev.port as number},servername=localhost`], { input: 'x' });
    expect(strict.code).toBe(4);
  });
});

// ------------------------------------------------------------------ aliases and --dump-address

describe('socat aliases and --dump-address', () => {
  it('TCP4-LISTEN and TCP-L listen like tcp-listen; TCP4 connects like tcp', async () => {
    const be = await Backend.start();
    for (const left of ['TCP4-LISTEN:0,bind=127.0.0.1,fork', 'TCP-L:0,bind=127.0.0.1,fork', 'tcp-l:127.0.0.1:0,FORK']) {
      const { p, port } = await relayV([left, `TCP4:127.0.0.1:${be.port}`]);
      const c = await connectTo(port);
      c.socket.end(`via ${left}`);
      await c.waitEnd();
      expect(c.data.toString()).toBe(`via ${left}`);
      expect(p.exit).toBeUndefined();
      p.kill();
    }
  });

  it('--dump-address prints JSON with the canonical forms of socat spellings, and exits 0 without opening anything', async () => {
    const cases: [string, Record<string, unknown>][] = [
      ['TCP4-LISTEN:8080,fork,reuseaddr', { type: 'tcp-listen', port: 8080, family: 4, canonical: 'tcp-listen:8080,fork,reuseaddr,pf=ip4', listens: true }],
      ['TCP-L:127.0.0.1:80', { type: 'tcp-listen', host: '127.0.0.1', port: 80, canonical: 'tcp-listen:127.0.0.1:80', listens: true }],
      ['OPENSSL:example.com:443,verify=0', { type: 'tls', host: 'example.com', port: 443, canonical: 'tls:example.com:443,verify=0', listens: false }],
      ['UNIX-CONNECT:/tmp/x.sock', { type: 'unix', path: '/tmp/x.sock', canonical: 'unix:/tmp/x.sock', listens: false }],
      ['UNIX-L:/tmp/x.sock,fork', { type: 'unix-listen', canonical: 'unix-listen:/tmp/x.sock,fork', listens: true }],
      ['SYSTEM:tr a-z A-Z | rev', { type: 'exec', shell: true, canonical: 'system:tr a-z A-Z | rev', listens: false }],
      ['EXEC:cat -n', { type: 'exec', shell: false, argv: ['cat', '-n'], canonical: 'exec:cat -n', listens: false }],
      ['OPEN:/tmp/in.bin', { type: 'file', path: '/tmp/in.bin', canonical: 'file:/tmp/in.bin', listens: false }],
      ['CREATE:/tmp/out.bin', { type: 'file', path: '/tmp/out.bin', canonical: 'file:/tmp/out.bin,create', listens: false }],
      ['UDP-RECVFROM:5353', { type: 'udp-listen', port: 5353, canonical: 'udp-listen:5353', listens: true }],
      ['-', { type: 'stdio', canonical: 'stdio', listens: false }],
    ];
    const results = await Promise.all(cases.map(([text]) => wirecat(['relay', '--dump-address', text, 'STDIO'])));
    for (const [i, [text, want]] of cases.entries()) {
      const r = results[i]!;
      expect(r.code, `${text}: ${r.stderr}`).toBe(0);
      expect(r.stderr).toBe('');
      const j = JSON.parse(r.stdout) as { left: Record<string, unknown>; right: Record<string, unknown> };
      expect(j.left, text).toMatchObject(want);
      expect(j.right).toMatchObject({ type: 'stdio', canonical: 'stdio' });
    }
    // The canonical form parses back to the same thing.
    const r = await wirecat(['relay', '--dump-address', 'tcp-listen:8080,fork,reuseaddr,pf=ip4', 'stdio']);
    const back = JSON.parse(r.stdout) as { left: Record<string, unknown> };
    expect(back.left.canonical).toBe('tcp-listen:8080,fork,reuseaddr,pf=ip4');
    // Nothing listens on 8080 because of this (it did not open anything): not asserted, 8080 may be in use.
  });
});

// ------------------------------------------------------------------ errors

describe('relay errors', () => {
  it('an unknown type: exit 2, one line naming it and listing the valid types', async () => {
    const r = await wirecat(['relay', 'tpc:127.0.0.1:80', '-']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const l = expectOneErrorLine(r.stderr, /'tpc'/);
    for (const t of ['stdio', 'tcp', 'tcp-listen', 'udp', 'udp-listen', 'unix', 'unix-listen', 'tls', 'tls-listen', 'exec', 'file']) expect(l).toContain(t);
  });

  it('an unknown option: exit 2, one line naming it and the valid ones', async () => {
    const r = await wirecat(['relay', 'tcp-listen:0,forkk', '-']);
    expect(r.code).toBe(2);
    expectOneErrorLine(r.stderr, /'forkk'.*fork/);
  });

  it('an option that does not belong to the type: exit 2', async () => {
    const r = await wirecat(['relay', 'tcp:127.0.0.1:80,mode=0600', '-']);
    expect(r.code).toBe(2);
    expectOneErrorLine(r.stderr, /mode/);
  });

  it('bad ports: exit 2, one line each', async () => {
    const addrs = ['tcp:127.0.0.1:99999', 'tcp:127.0.0.1:0', 'tcp:127.0.0.1:http', 'tcp:127.0.0.1', 'tcp-listen:70000'];
    const rs = await Promise.all(addrs.map((a) => wirecat(['relay', '-', a])));
    for (const [i, a] of addrs.entries()) {
      const r = rs[i]!;
      expect(r.code, a).toBe(2);
      expectOneErrorLine(r.stderr);
    }
  });

  it('a refused second address: exit 1, one line naming the address', async () => {
    const dead = await closedPort();
    const r = await wirecat(['relay', '-', `tcp:127.0.0.1:${dead}`], { input: 'x' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expectOneErrorLine(r.stderr, new RegExp(`refused.*127\\.0\\.0\\.1:${dead}`, 'i'));
  });

  it('exec of a missing program: exit 1, one line with "cannot run"', async () => {
    const r = await wirecat(['relay', '-', 'exec:/nonexistent/wirecat-nothing --flag'], { input: '', timeoutMs: 3000 });
    expect(r.code).toBe(1);
    expectOneErrorLine(r.stderr, /cannot run '\/nonexistent\/wirecat-nothing'/);
  });

  it('exec of a missing program while stdin carries data: still exit 1 with "cannot run" (no hang)', async () => {
    const r = await wirecat(['relay', '-', 'exec:/nonexistent/wirecat-nothing'], { input: 'some input\n', timeoutMs: 3000 });
    expect(r.code).toBe(1);
    expectOneErrorLine(r.stderr, /cannot run/);
  });

  it('fork on the wrong side or a non-listening address: exit 2', async () => {
    for (const args of [
      ['tcp-listen:0,bind=127.0.0.1', 'exec:cat,fork'],
      [`tcp-listen:0,bind=127.0.0.1`, `unix-listen:${join(dir, 'nofork.sock')},fork`],
      ['exec:cat,fork', 'tcp-listen:0'],
    ]) {
      const r = await wirecat(['relay', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expectOneErrorLine(r.stderr, /fork/);
    }
    expect(existsSync(join(dir, 'nofork.sock'))).toBe(false);
  });

  it('both addresses stdio, a missing address, an empty address: exit 2', async () => {
    const argss = [['-', '-'], ['stdio', 'STDIN'], ['-'], ['', '-']];
    const rs = await Promise.all(argss.map((args) => wirecat(['relay', ...args])));
    for (const [i, args] of argss.entries()) {
      const r = rs[i]!;
      expect(r.code, JSON.stringify(args)).toBe(2);
      expectOneErrorLine(r.stderr);
    }
  });

  it('a listening port already in use: exit 1, one line', async () => {
    const { port } = await startServer(() => undefined);
    const r = await wirecat(['relay', `tcp-listen:127.0.0.1:${port}`, '-']);
    expect(r.code).toBe(1);
    expectOneErrorLine(r.stderr, /in use|EADDRINUSE/i);
  });
});

// ------------------------------------------------------------------ socat parity

describe('same bytes as socat', () => {
  const skip = !IN_CI && socatMissing !== undefined;

  it.skipIf(skip)('stdio ↔ system pipeline and stdio ↔ tcp give what socat gives', async () => {
    assertRunnable('socat comparison', socatMissing);
    const input = 'Hello, Relay!\nsecond line\n';
    const { runProgram } = await import('./requirements.js');
    const s = await runProgram('socat', ['-', 'SYSTEM:tr a-z A-Z | rev'], { input });
    const w = await wirecat(['relay', '-', 'SYSTEM:tr a-z A-Z | rev'], { input });
    expect(w.code).toBe(0);
    expect(s.code).toBe(0);
    expect(w.stdout).toBe(s.stdout);

    const be = await Backend.start((c) => c.socket.once('end', () => c.socket.end(`reply to ${c.data.length}\n`)));
    const s2 = await runProgram('socat', ['-', `TCP:127.0.0.1:${be.port}`], { input });
    const w2 = await wirecat(['relay', '-', `TCP:127.0.0.1:${be.port}`], { input });
    expect(w2.code).toBe(0);
    expect(s2.code).toBe(0);
    expect(w2.stdout).toBe(s2.stdout);
    expect(be.conns.map((c) => c.data.toString())).toEqual([input, input]);
  });
});
