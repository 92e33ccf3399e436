/**
 * `wirecat proxy` and the proxy client (`connect --proxy`, `socks5:` /
 * `http-proxy:` / `socks4a:` addresses, `proxy=` on `tcp:`/`tls:`) end to
 * end: the built bin/wirecat, curl, raw sockets and local origin servers on
 * loopback. Contracts: /work/shared/SPEC.md (`proxy`, `connect --proxy`,
 * Addresses, exit 5) and /work/shared/research/proxy.md (half-close).
 */
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ephemeralCertificate } from '../../src/core/tls.js';
import { run, wirecat } from './helpers.js';
import { type Client, type Proc, cleanup, closedPort, connectTo, delay, sha256, startEofServer, startServer, startWirecat, within } from './net-helpers.js';

let dir: string;
let hasIPv6 = false;
let cert: { cert: string; key: string };
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wirecat-proxy-'));
  hasIPv6 = await new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(0, '::1', () => s.close(() => resolve(true)));
  });
  cert = await ephemeralCertificate('localhost');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await cleanup();
  for (const c of closers.splice(0)) await c();
});

const closers: (() => Promise<void>)[] = [];
const b = (...bytes: number[]) => Buffer.from(bytes);

// ---------------------------------------------------------------- servers

/** Start `wirecat --json proxy --listen 127.0.0.1:0 ARGS`; resolves with its real port. */
async function startProxy(args: string[] = [], env: Record<string, string> = {}): Promise<{ proc: Proc; port: number }> {
  const proc = startWirecat(['--json', 'proxy', '--listen', '127.0.0.1:0', ...args], { stdin: 'ignore', env });
  const ev = await proc.waitEvent('listening', 10000);
  expect(ev).toMatchObject({ proto: 'tcp', address: '127.0.0.1' });
  return { proc, port: ev.port as number };
}

interface Origin {
  port: number;
  /** Connections accepted so far. */
  connections: () => number;
}

/** An HTTP origin answering `METHOD URL host=HOST sha=SHA256(body) len=N`. */
async function httpOrigin(host = '127.0.0.1'): Promise<Origin> {
  let conns = 0;
  const server = http.createServer((req, res) => {
    const h = createHash('sha256');
    let n = 0;
    req.on('data', (d: Buffer) => {
      h.update(d);
      n += d.length;
    });
    req.on('end', () => {
      const extra = req.headers['proxy-authorization'] !== undefined ? ' LEAKED-PROXY-AUTH' : '';
      res.end(`${req.method} ${req.url} host=${req.headers.host} sha=${h.digest('hex')} len=${n}${extra}\n`);
    });
  });
  server.on('connection', () => conns++);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, connections: () => conns };
}

/** A TCP server that reads to the client's EOF, then answers `reply:<what it got>` and ends. */
async function eofReplyServer(host = '127.0.0.1'): Promise<Origin> {
  let conns = 0;
  const srv = await startServer((s) => {
    conns++;
    const got: Buffer[] = [];
    s.on('error', () => {});
    s.on('data', (d: Buffer) => got.push(d));
    s.on('end', () => {
      setTimeout(() => s.end(`reply:${Buffer.concat(got).toString()}`), 50);
    });
  }, host);
  return { port: srv.port, connections: () => conns };
}

/** A TLS server with the test's self-signed certificate; `onEnd` answers after the client's EOF. */
async function tlsOrigin(onEnd: (s: tls.TLSSocket, got: string) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ cert: cert.cert, key: cert.key, allowHalfOpen: true }, (s) => {
    const got: Buffer[] = [];
    s.on('error', () => {});
    s.on('data', (d: Buffer) => got.push(d));
    s.on('end', () => onEnd(s, Buffer.concat(got).toString()));
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  closers.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

/** Run curl; resolves with its exit code and output. */
function curl(args: string[]) {
  return run('curl', ['-sS', '--max-time', '10', ...args], { timeoutMs: 15000 });
}

/** Read exactly `n` more bytes from a raw client, after `offset`. */
async function readAt(c: Client, offset: number, n: number, ms = 5000): Promise<Buffer> {
  await c.waitLength(offset + n, ms);
  return c.data.subarray(offset, offset + n);
}

/** Connect to the proxy and open a SOCKS5 CONNECT tunnel to `host:port` (no auth). */
async function socks5Tunnel(proxyPort: number, host: string, port: number): Promise<Client> {
  const c = await connectTo(proxyPort);
  const name = Buffer.from(host);
  c.socket.write(Buffer.concat([b(5, 1, 0), b(5, 1, 0, 3, name.length), name, b(port >> 8, port & 0xff)]));
  expect(await readAt(c, 0, 2)).toEqual(b(5, 0));
  const head = await readAt(c, 2, 4);
  expect(head[1]).toBe(0);
  await readAt(c, 6, head[3] === 4 ? 18 : 6);
  return c;
}

/** The bytes after the handshake reply of a SOCKS5 tunnel opened by {@link socks5Tunnel} to an IPv4 bound address. */
const SOCKS5_PREFIX = 12;

/** Connect to the proxy and open an HTTP CONNECT tunnel. */
async function connectTunnel(proxyPort: number, host: string, port: number): Promise<{ c: Client; prefix: number }> {
  const c = await connectTo(proxyPort);
  c.socket.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`);
  const reply = 'HTTP/1.1 200 Connection established\r\n\r\n';
  await c.waitData(reply);
  return { c, prefix: reply.length };
}

/** Connect to the proxy and open a SOCKS4a tunnel. */
async function socks4aTunnel(proxyPort: number, host: string, port: number): Promise<{ c: Client; prefix: number }> {
  const c = await connectTo(proxyPort);
  c.socket.write(Buffer.concat([b(4, 1, port >> 8, port & 0xff, 0, 0, 0, 1, 0), Buffer.from(host), b(0)]));
  const reply = await readAt(c, 0, 8);
  expect(reply[1]).toBe(0x5a);
  return { c, prefix: 8 };
}

// ---------------------------------------------------------------- curl through the proxy

describe('proxy: curl through every protocol', () => {
  it('--socks4, --socks4a, --socks5, --socks5-hostname, --proxy http:// GET and POST, -p CONNECT reach a local origin', async () => {
    const origin = await httpOrigin();
    const { proc, port } = await startProxy();
    const url = `http://localhost:${origin.port}/path?q=1`;
    for (const flag of ['--socks4', '--socks4a', '--socks5', '--socks5-hostname']) {
      const r = await curl([flag, `127.0.0.1:${port}`, url]);
      expect({ flag, code: r.code, out: r.stdout }).toMatchObject({ code: 0, out: expect.stringMatching(/^GET \/path\?q=1 host=localhost:\d+ sha=e3b0c442/) });
    }
    const get = await curl(['--proxy', `http://127.0.0.1:${port}`, url]);
    expect(get.stdout).toMatch(/^GET \/path\?q=1 host=localhost:\d+ sha=e3b0c442.* len=0\n$/);
    const body = randomBytes(300_000);
    const bodyFile = join(dir, 'body.bin');
    writeFileSync(bodyFile, body);
    const post = await curl(['--proxy', `http://127.0.0.1:${port}`, '--data-binary', `@${bodyFile}`, '-H', 'Content-Type: application/octet-stream', url]);
    expect(post.stdout).toBe(`POST /path?q=1 host=localhost:${origin.port} sha=${sha256(body)} len=${body.length}\n`);
    const chunked = await curl(['--proxy', `http://127.0.0.1:${port}`, '-H', 'Transfer-Encoding: chunked', '--data-binary', `@${bodyFile}`, url]);
    expect(chunked.stdout).toBe(`POST /path?q=1 host=localhost:${origin.port} sha=${sha256(body)} len=${body.length}\n`);
    const tunnel = await curl(['-p', '--proxy', `http://127.0.0.1:${port}`, url]);
    expect(tunnel.code).toBe(0);
    expect(tunnel.stdout).toMatch(/^GET \/path\?q=1 host=localhost:\d+ /);
    const protocols = proc.events().filter((e) => e.event === 'proxied').map((e) => e.protocol);
    expect(protocols).toEqual(['socks4', 'socks4a', 'socks5', 'socks5', 'http', 'http', 'http', 'http-connect']);
    await proc.waitEvent('closed', 5000, 8);
    const closed = proc.events().filter((e) => e.event === 'closed');
    expect(closed).toHaveLength(8);
    expect(closed.map((e) => e.bytesIn)).toContain(body.length);
  });

  it('reaches [::1] destinations over SOCKS5, HTTP forwarding and CONNECT', async (ctx) => {
    if (!hasIPv6) ctx.skip();
    const origin = await httpOrigin('::1');
    const { port } = await startProxy();
    const url = `http://[::1]:${origin.port}/six`;
    for (const args of [['--socks5-hostname', `127.0.0.1:${port}`], ['--socks5', `127.0.0.1:${port}`], ['--proxy', `http://127.0.0.1:${port}`], ['-p', '--proxy', `http://127.0.0.1:${port}`]]) {
      const r = await curl([...args, url]);
      expect({ args, out: r.stdout }).toEqual({ args, out: expect.stringMatching(/^GET \/six host=\[::1\]:\d+ /) });
    }
  });

  it('the proxy listens on [::1] too', async (ctx) => {
    if (!hasIPv6) ctx.skip();
    const origin = await httpOrigin();
    const proc = startWirecat(['--json', 'proxy', '--listen', '[::1]:0'], { stdin: 'ignore' });
    const ev = await proc.waitEvent('listening', 10000);
    expect(ev.address).toBe('::1');
    const r = await curl(['--socks5-hostname', `[::1]:${ev.port}`, `http://127.0.0.1:${origin.port}/`]);
    expect(r.stdout).toMatch(/^GET \/ /);
  });
});

// ---------------------------------------------------------------- authentication

describe('proxy: authentication', () => {
  it('SOCKS5 and HTTP: right credentials pass, wrong and missing ones are refused in each protocol', async () => {
    const origin = await httpOrigin();
    const { proc, port } = await startProxy(['--auth', 'alice:s3cr:et']);
    const url = `http://127.0.0.1:${origin.port}/a`;
    const ok5 = await curl(['--proxy', `socks5h://alice:s3cr%3Aet@127.0.0.1:${port}`, url]);
    expect(ok5.stdout).toMatch(/^GET \/a /);
    const okHttp = await curl(['--proxy', `http://127.0.0.1:${port}`, '--proxy-user', 'alice:s3cr:et', url]);
    expect(okHttp.stdout).toMatch(/^GET \/a .*len=0\n$/); // Proxy-Authorization is not passed on
    const okConnect = await curl(['-p', '--proxy', `http://127.0.0.1:${port}`, '--proxy-user', 'alice:s3cr:et', url]);
    expect(okConnect.stdout).toMatch(/^GET \/a /);

    const bad5 = await curl(['--proxy', `socks5h://alice:wrong@127.0.0.1:${port}`, url]);
    expect(bad5.code).not.toBe(0);
    const badHttp = await curl(['--proxy', `http://127.0.0.1:${port}`, '--proxy-user', 'alice:wrong', '-w', '%{http_code}', '-o', '/dev/null', url]);
    expect(badHttp.stdout).toBe('407');
    const noneHttp = await curl(['--proxy', `http://127.0.0.1:${port}`, '-D', '-', '-o', '/dev/null', url]);
    expect(noneHttp.stdout).toMatch(/^HTTP\/1.1 407 Proxy Authentication Required\r\n/);
    expect(noneHttp.stdout).toMatch(/\r\nProxy-Authenticate: Basic realm="wirecat"/);
    const noneConnect = await curl(['-p', '--proxy', `http://127.0.0.1:${port}`, '-w', '%{http_connect}', url]);
    expect(noneConnect.stdout).toBe('407');

    // Raw: no usable method → 05 FF; wrong password → 01 01 then close.
    const none = await connectTo(port);
    none.socket.write(b(5, 1, 0));
    expect(await readAt(none, 0, 2)).toEqual(b(5, 0xff));
    await none.waitEnd();
    const wrong = await connectTo(port);
    wrong.socket.write(Buffer.concat([b(5, 1, 2), b(1, 5), Buffer.from('alice'), b(1), Buffer.from('x')]));
    expect(await readAt(wrong, 0, 4)).toEqual(b(5, 2, 1, 1));
    await wrong.waitEnd();
    // SOCKS4 has no passwords: refused while --auth is on.
    const s4 = await curl(['--socks4a', `127.0.0.1:${port}`, url]);
    expect(s4.code).not.toBe(0);
    const refused = proc.events().filter((e) => e.event === 'refused');
    expect(refused.map((e) => e.reason)).toEqual(
      expect.arrayContaining([
        "authentication failed for user 'alice'",
        'no Proxy-Authorization: Basic credentials',
        'no usable authentication method offered (user/password required)',
        'SOCKS4 has no password authentication and --auth is on',
      ]),
    );
    expect(proc.events().filter((e) => e.event === 'proxied')).toEqual(
      expect.arrayContaining([expect.objectContaining({ user: 'alice', protocol: 'socks5' }), expect.objectContaining({ user: 'alice', protocol: 'http' })]),
    );
    expect(proc.stderr).not.toContain('s3cr');
  });

  it('--auth-file: comments, a 255-byte user, colons in passwords; the client takes WIRECAT_PROXY_AUTH', async () => {
    const srv = await eofReplyServer();
    const longUser = 'u'.repeat(255);
    const file = join(dir, 'users.txt');
    writeFileSync(file, `# users\n\nbob:pa:ss:word\r\n${longUser}:${'p'.repeat(255)}\n`);
    const { proc, port } = await startProxy(['--auth-file', file]);
    for (const [user, pass] of [
      ['bob', 'pa:ss:word'],
      [longUser, 'p'.repeat(255)],
    ] as const) {
      for (const scheme of ['socks5', 'http']) {
        const r = await wirecat(['connect', '--proxy', `${scheme}://127.0.0.1:${port}`, '127.0.0.1', String(srv.port)], {
          input: 'x',
          env: { WIRECAT_PROXY_AUTH: `${user}:${pass}` },
        });
        expect({ scheme, user: user.slice(0, 5), code: r.code, out: r.stdout, err: r.stderr }).toEqual({ scheme, user: user.slice(0, 5), code: 0, out: 'reply:x', err: '' });
      }
    }
    const bad = await wirecat(['connect', '--proxy', `socks5://bob:nope@127.0.0.1:${port}`, '127.0.0.1', String(srv.port)], { input: '' });
    expect(bad.code).toBe(5);
    expect(bad.stderr).toBe(`wirecat: connect: proxy 127.0.0.1:${port} refused the credentials of user 'bob' (SOCKS5 RFC 1929 status 1)\n`);
    const badHttp = await wirecat(['connect', '--proxy', `http://127.0.0.1:${port}`, '127.0.0.1', String(srv.port)], { input: '', env: { WIRECAT_PROXY_AUTH: 'bob:nope' } });
    expect(badHttp.code).toBe(5);
    expect(badHttp.stderr).toMatch(/proxy 127\.0\.0\.1:\d+ refused the credentials of user 'bob' \(HTTP 407 /);
    expect(badHttp.stderr).not.toContain('nope');
    const missing = await wirecat(['connect', '--proxy', `socks5://127.0.0.1:${port}`, '127.0.0.1', String(srv.port)], { input: '' });
    expect(missing.code).toBe(5);
    expect(missing.stderr).toMatch(/requires authentication \(SOCKS5 method 0xff\)/);
    expect(proc.stderr).not.toContain('pa:ss');
    expect(proc.stderr).not.toContain('p'.repeat(20));
  });

  it('a malformed --auth-file is a usage error (exit 2) naming the line', async () => {
    const file = join(dir, 'bad-users.txt');
    writeFileSync(file, 'ok:1\nnocolon\n');
    const r = await wirecat(['proxy', '--listen', '127.0.0.1:0', '--auth-file', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^wirecat: proxy: auth file '.*' line 2: expected USER:PASS\n$/);
  });
});

// ---------------------------------------------------------------- policy

describe('proxy: destination and client policy', () => {
  it('--deny-dest refuses in each protocol (REP 2, 0x5B, 403), by name and by resolved address, without contacting the destination', async () => {
    const origin = await httpOrigin();
    const { proc, port } = await startProxy(['--deny-dest', '127.0.0.0/8']);
    const o = origin.port;
    // SOCKS5 to the address, and to a name that resolves into the denied range.
    for (const host of ['127.0.0.1', 'localhost']) {
      const c = await connectTo(port);
      const name = Buffer.from(host);
      c.socket.write(Buffer.concat([b(5, 1, 0), b(5, 1, 0, 3, name.length), name, b(o >> 8, o & 0xff)]));
      expect(await readAt(c, 0, 12)).toEqual(b(5, 0, 5, 2, 0, 1, 0, 0, 0, 0, 0, 0));
      await c.waitEnd();
    }
    const s4 = await connectTo(port);
    s4.socket.write(b(4, 1, o >> 8, o & 0xff, 127, 0, 0, 1, 0));
    expect(await readAt(s4, 0, 8)).toEqual(b(0, 0x5b, 0, 0, 0, 0, 0, 0));
    const connect = await curl(['-p', '--proxy', `http://127.0.0.1:${port}`, '-w', '%{http_connect}', `http://localhost:${o}/`]);
    expect(connect.stdout).toBe('403');
    const forward = await curl(['--proxy', `http://127.0.0.1:${port}`, '-w', '%{http_code}', '-o', '/dev/null', `http://127.0.0.1:${o}/`]);
    expect(forward.stdout).toBe('403');
    const client = await wirecat(['connect', '--proxy', `socks5://127.0.0.1:${port}`, '127.0.0.1', String(o)], { input: '' });
    expect(client.code).toBe(5);
    expect(client.stderr).toBe(`wirecat: connect: proxy 127.0.0.1:${port} refused: not allowed by ruleset (SOCKS5 REP 2)\n`);
    expect(origin.connections()).toBe(0);
    const reasons = proc.events().filter((e) => e.event === 'refused').map((e) => e.reason);
    expect(reasons).toContain("denied by --deny-dest '127.0.0.0/8'");
    expect(reasons).toContain("localhost resolves to 127.0.0.1, denied by --deny-dest '127.0.0.0/8'");
  });

  it('--allow-dest allows only what it lists (names with ports), deny still wins', async () => {
    const origin = await httpOrigin();
    const other = await httpOrigin();
    const { port } = await startProxy(['--allow-dest', `localhost:${origin.port},*.example.invalid`, '--deny-dest', `localhost:${other.port}`]);
    const ok = await curl(['--socks5-hostname', `127.0.0.1:${port}`, `http://localhost:${origin.port}/`]);
    expect(ok.stdout).toMatch(/^GET \/ /);
    const notListed = await curl(['--socks5-hostname', `127.0.0.1:${port}`, `http://127.0.0.1:${origin.port}/`]);
    expect(notListed.code).not.toBe(0);
    const denied = await curl(['--proxy', `http://127.0.0.1:${port}`, '-w', '%{http_code}', '-o', '/dev/null', `http://localhost:${other.port}/`]);
    expect(denied.stdout).toBe('403');
    expect(other.connections()).toBe(0);
  });

  it('--allow-from closes other clients at once and reports them', async () => {
    const { proc, port } = await startProxy(['--allow-from', '10.0.0.0/8']);
    // The proxy closes the refused socket: a FIN, or a reset when our bytes
    // were already there. A client that does not stay half-open sees both as a close.
    const c = await connectTo(port, '127.0.0.1', { allowHalfOpen: false });
    c.socket.write(b(5, 1, 0));
    await c.waitClose();
    expect(c.length).toBe(0);
    const ev = await proc.waitEvent('refused');
    expect(ev).toMatchObject({ reason: 'not in --allow-from' });
  });

  it('binding a non-loopback address without --auth/--auth-file/--allow-from exits 2 naming --open', async () => {
    const r = await wirecat(['proxy', '--listen', '0.0.0.0:0']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(/^wirecat: proxy: refusing to run an open proxy on 0\.0\.0\.0:0: .*--open/);
    const p = startWirecat(['--json', 'proxy', '--listen', '0.0.0.0:0', '--auth', 'a:b'], { stdin: 'ignore' });
    expect(await p.waitEvent('listening', 10000)).toMatchObject({ address: '0.0.0.0' });
  });

  it('bad flags are usage errors: bad list entries, bad upstream scheme, port out of range', async () => {
    for (const args of [
      ['--deny-dest', '10.0.0.0/99'],
      ['--allow-dest', 'host:0'],
      ['--upstream', 'ftp://x'],
      ['--listen', '127.0.0.1:70000'],
      ['--max-conns', '0'],
      ['--auth', 'nocolon'],
    ]) {
      const r = await wirecat(['proxy', ...args]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(/^wirecat: proxy: /);
    }
  });
});

// ---------------------------------------------------------------- limits and robustness

describe('proxy: limits', () => {
  it('--max-conns: no tunnel over N; a slot frees when one ends', async () => {
    const hold = await startServer((s) => {
      s.on('error', () => {});
      s.resume();
      s.on('end', () => s.end());
    });
    const origin = await httpOrigin();
    const { proc, port } = await startProxy(['--max-conns', '1']);
    const first = await socks5Tunnel(port, '127.0.0.1', hold.port);
    const second = await connectTo(port);
    second.socket.write(Buffer.concat([b(5, 1, 0), b(5, 1, 0, 1, 127, 0, 0, 1, origin.port >> 8, origin.port & 0xff)]));
    expect(await readAt(second, 0, 4)).toEqual(b(5, 0, 5, 1));
    const http503 = await curl(['--proxy', `http://127.0.0.1:${port}`, '-w', '%{http_code}', '-o', '/dev/null', `http://127.0.0.1:${origin.port}/`]);
    expect(http503.stdout).toBe('503');
    first.socket.destroy();
    await proc.waitEvent('closed', 5000);
    const third = await curl(['--socks5', `127.0.0.1:${port}`, `http://127.0.0.1:${origin.port}/`]);
    expect(third.stdout).toMatch(/^GET \/ /);
    expect(proc.events().filter((e) => e.event === 'refused').map((e) => e.reason)).toContain('--max-conns 1 reached');
  });

  it('--handshake-timeout closes silent and slow clients (HTTP: 408)', async () => {
    const { proc, port } = await startProxy(['--handshake-timeout', '0.3']);
    const silent = await connectTo(port);
    const slowSocks = await connectTo(port);
    slowSocks.socket.write(b(5, 1));
    const slowHttp = await connectTo(port);
    slowHttp.socket.write('GET http://x/ HTTP/1.1\r\n');
    await Promise.all([silent.waitEnd(3000), slowSocks.waitEnd(3000), slowHttp.waitEnd(3000)]);
    expect(silent.length).toBe(0);
    expect(slowHttp.data.toString()).toMatch(/^HTTP\/1.1 408 Request Timeout\r\n/);
    expect(proc.events().filter((e) => e.event === 'refused').map((e) => e.reason)).toEqual(Array(3).fill('handshake not finished within 0.3 s'));
  });
});

describe('proxy: malformed requests while another client is served', () => {
  it('answers each malformed or truncated handshake (fed byte by byte) in its protocol, and the bulk transfer beside them is intact', async () => {
    const echo = await startServer((s) => {
      s.on('error', () => {});
      s.pipe(s);
    });
    const { proc, port } = await startProxy();
    const bulk = await socks5Tunnel(port, '127.0.0.1', echo.port);
    const data = randomBytes(16 << 20);
    const sending = (async () => {
      for (let off = 0; off < data.length; off += 1 << 20) {
        if (!bulk.socket.write(data.subarray(off, off + (1 << 20)))) await new Promise((r) => bulk.socket.once('drain', r));
      }
      bulk.socket.end();
    })();
    const cases: [string, Buffer, (got: Buffer) => void][] = [
      ['SOCKS5 unknown address type', b(5, 1, 0, 5, 1, 0, 9, 1, 2, 3), (g) => expect(g.subarray(0, 4)).toEqual(b(5, 0, 5, 8))],
      ['SOCKS5 bad request version', b(5, 1, 0, 4, 1, 0, 1, 1, 2, 3, 4, 0, 80), (g) => expect(g.subarray(0, 4)).toEqual(b(5, 0, 5, 1))],
      ['SOCKS5 BIND', b(5, 1, 0, 5, 2, 0, 1, 1, 2, 3, 4, 0, 80), (g) => expect(g.subarray(0, 4)).toEqual(b(5, 0, 5, 7))],
      ['SOCKS5 no methods', b(5, 0), (g) => expect(g).toEqual(b(5, 0xff))],
      ['SOCKS4 user id too long', Buffer.concat([b(4, 1, 0, 80, 1, 2, 3, 4), Buffer.alloc(300, 0x61)]), (g) => expect(g).toEqual(b(0, 0x5b, 0, 0, 0, 0, 0, 0))],
      ['SOCKS4 BIND', b(4, 2, 0, 80, 1, 2, 3, 4, 0), (g) => expect(g).toEqual(b(0, 0x5b, 0, 0, 0, 0, 0, 0))],
      ['HTTP garbage', Buffer.from('\x16\x03\x01 garbage\r\n\r\n'), (g) => expect(g.toString()).toMatch(/^HTTP\/1.1 400 Bad Request\r\n/)],
      ['HTTP CONNECT without port', Buffer.from('CONNECT example.com HTTP/1.1\r\n\r\n'), (g) => expect(g.toString()).toMatch(/^HTTP\/1.1 400 /)],
      ['HTTP origin-form request', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), (g) => expect(g.toString()).toMatch(/^HTTP\/1.1 400 /)],
      ['HTTP https:// URI', Buffer.from('GET https://x/ HTTP/1.1\r\n\r\n'), (g) => expect(g.toString()).toMatch(/^HTTP\/1.1 400 .*\r\n\r\nhttps:\/\/ URIs are not forwarded/s)],
      ['HTTP folded header', Buffer.from('GET http://x/ HTTP/1.1\r\nA: b\r\n c\r\n\r\n'), (g) => expect(g.toString()).toMatch(/^HTTP\/1.1 400 /)],
      ['HTTP head too large', Buffer.concat([Buffer.from('GET http://x/ HTTP/1.1\r\nX: '), Buffer.alloc(40_000, 0x61)]), (g) => expect(g.toString()).toMatch(/^HTTP\/1.1 431 /)],
    ];
    const malformed = cases.map(async ([name, bytes, check]) => {
      const c = await connectTo(port);
      const piece = bytes.length > 1000 ? 997 : 1;
      for (let i = 0; i < bytes.length && !c.ended && !c.closed; i += piece) {
        c.socket.write(bytes.subarray(i, i + piece));
        await delay(piece === 1 ? 2 : 0);
      }
      await within(c.waitEnd(5000), 6000, name);
      try {
        check(c.data);
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`);
      }
    });
    // Truncated handshakes that just stop: closed when the client gives up, nothing breaks.
    const truncated = [b(5), b(5, 1, 0, 5, 1, 0, 3, 20, 0x61), b(4, 1, 0), Buffer.from('CONNECT x:1 HTTP/1.1\r\n')].map(async (bytes) => {
      const c = await connectTo(port);
      for (const x of bytes) {
        c.socket.write(b(x));
        await delay(1);
      }
      c.socket.end();
      await c.waitEnd(5000);
    });
    await Promise.all([...malformed, ...truncated]);
    await sending;
    await bulk.waitEnd(20000);
    const echoed = bulk.data.subarray(SOCKS5_PREFIX);
    expect(echoed.length).toBe(data.length);
    expect(sha256(echoed)).toBe(sha256(data));
    // Still serving.
    const after = await socks5Tunnel(port, '127.0.0.1', echo.port);
    after.socket.write('still here');
    await after.waitData('still here');
    expect(proc.exit).toBeUndefined();
  }, 60_000);
});

// ---------------------------------------------------------------- half-close and bulk

describe('proxy: half-close and bulk', () => {
  const tunnels: [string, (port: number, host: string, dport: number) => Promise<{ c: Client; prefix: number }>][] = [
    ['SOCKS5', async (p, h, d) => ({ c: await socks5Tunnel(p, h, d), prefix: SOCKS5_PREFIX })],
    ['SOCKS4a', socks4aTunnel],
    ['HTTP CONNECT', connectTunnel],
  ];

  it.each(tunnels)("%s: the reply sent after the client's EOF reaches the client", async (_name, open) => {
    const srv = await eofReplyServer();
    const { port } = await startProxy();
    const { c, prefix } = await open(port, 'localhost', srv.port);
    c.socket.end('question');
    await c.waitEnd(5000);
    expect(c.data.subarray(prefix).toString()).toBe('reply:question');
  });

  it.each(tunnels)("%s: after the destination's EOF the client can still send, and it arrives", async (_name, open) => {
    const { port: originPort, got } = await startEofServer(
      (s) => s.destroy(),
      (s) => s.end('banner-then-eof'),
    );
    const { port } = await startProxy();
    const { c, prefix } = await open(port, '127.0.0.1', originPort);
    await c.waitEnd(5000);
    expect(c.data.subarray(prefix).toString()).toBe('banner-then-eof');
    c.socket.end('sent after the EOF');
    expect(await within(got, 5000, 'the destination to receive the late data')).toBe('sent after the EOF');
  });

  it.each([tunnels[0]!, tunnels[2]!])('%s: 64 MiB each way at once, SHA-256 equal', async (_name, open) => {
    const N = 64 << 20;
    const toServer = randomBytes(N);
    const toClient = randomBytes(N);
    let resolveServer!: (h: string) => void;
    const serverHash = new Promise<string>((r) => (resolveServer = r));
    const srv = await startServer((s) => {
      const h = createHash('sha256');
      let n = 0;
      s.on('error', () => {});
      s.on('data', (d: Buffer) => {
        h.update(d);
        n += d.length;
      });
      s.on('end', () => resolveServer(`${n}:${h.digest('hex')}`));
      void (async () => {
        for (let off = 0; off < N; off += 1 << 20) {
          if (!s.write(toClient.subarray(off, off + (1 << 20)))) await new Promise((r) => s.once('drain', r));
        }
        s.end();
      })();
    });
    const { port } = await startProxy();
    const { c, prefix } = await open(port, '127.0.0.1', srv.port);
    for (let off = 0; off < N; off += 1 << 20) {
      if (!c.socket.write(toServer.subarray(off, off + (1 << 20)))) await new Promise((r) => c.socket.once('drain', r));
    }
    c.socket.end();
    await c.waitEnd(60_000);
    const fromServer = c.data.subarray(prefix);
    expect(fromServer.length).toBe(N);
    expect(sha256(fromServer)).toBe(sha256(toClient));
    expect(await within(serverHash, 30_000, 'the server to read everything')).toBe(`${N}:${sha256(toServer)}`);
  }, 120_000);
});

// ---------------------------------------------------------------- UDP ASSOCIATE

describe('proxy: SOCKS5 UDP ASSOCIATE', () => {
  it('relays datagrams to a UDP echo with RFC 1928 headers, drops FRAG != 0, and ends with the TCP connection', async () => {
    const echo = dgram.createSocket('udp4');
    echo.on('message', (m, r) => echo.send(m, r.port, r.address));
    await new Promise<void>((r) => echo.bind(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise<void>((r) => echo.close(() => r())));
    const echoPort = echo.address().port;
    const { proc, port } = await startProxy();
    const c = await connectTo(port);
    c.socket.write(Buffer.concat([b(5, 1, 0), b(5, 3, 0, 1, 0, 0, 0, 0, 0, 0)]));
    const reply = await readAt(c, 0, 12);
    expect(reply.subarray(0, 4)).toEqual(b(5, 0, 5, 0));
    const relayHost = `${reply[6]}.${reply[7]}.${reply[8]}.${reply[9]}`;
    const relayPort = reply.readUInt16BE(10);
    expect(relayHost).toBe('127.0.0.1');
    const me = dgram.createSocket('udp4');
    closers.push(() => new Promise<void>((r) => me.close(() => r())));
    await new Promise<void>((r) => me.bind(0, '127.0.0.1', () => r()));
    const received: Buffer[] = [];
    me.on('message', (m) => received.push(m));
    const header = (frag: number) => b(0, 0, frag, 1, 127, 0, 0, 1, echoPort >> 8, echoPort & 0xff);
    me.send(Buffer.concat([header(1), Buffer.from('fragment')]), relayPort, relayHost);
    me.send(Buffer.concat([header(0), Buffer.from('ping')]), relayPort, relayHost);
    for (let i = 0; i < 100 && received.length === 0; i++) await delay(20);
    expect(received).toHaveLength(1);
    expect(received[0]).toEqual(Buffer.concat([header(0), Buffer.from('ping')]));
    // A name as destination.
    const name = Buffer.from('localhost');
    me.send(Buffer.concat([b(0, 0, 0, 3, name.length), name, b(echoPort >> 8, echoPort & 0xff), Buffer.from('by-name')]), relayPort, relayHost);
    for (let i = 0; i < 100 && received.length < 2; i++) await delay(20);
    expect(received[1]!.subarray(10).toString()).toBe('by-name');
    expect(await proc.waitEvent('proxied')).toMatchObject({ protocol: 'socks5', command: 'udp-associate' });
    c.socket.end();
    const closed = await proc.waitEvent('closed');
    expect(closed).toMatchObject({ bytesIn: 4 + 7, bytesOut: 4 + 7 });
    // The association is gone with its TCP connection.
    me.send(Buffer.concat([header(0), Buffer.from('late')]), relayPort, relayHost);
    await delay(200);
    expect(received).toHaveLength(2);
  });
});

// ---------------------------------------------------------------- lifecycle

describe('proxy: events and shutdown', () => {
  it('SIGTERM stops listening, drains and exits 143', async () => {
    const { proc, port } = await startProxy();
    const c = await connectTo(port);
    c.socket.destroy();
    proc.child.kill('SIGTERM');
    expect(await proc.waitExit(10000)).toEqual({ code: 143, signal: null });
  });

  it('-v prints a line per proxied request; --stats prints the totals', async () => {
    const origin = await httpOrigin();
    const proc = startWirecat(['-v', '--stats', 'json', 'proxy', '--listen', '127.0.0.1:0'], { stdin: 'ignore' });
    const m = await proc.waitStderr(/^wirecat: Listening on 127\.0\.0\.1:(\d+)$/, 10000);
    const r = await curl(['--socks5-hostname', `127.0.0.1:${m[1]}`, `http://localhost:${origin.port}/`]);
    expect(r.stdout).toMatch(/^GET \/ /);
    await proc.waitStderr(/^wirecat: Closed /);
    proc.child.kill('SIGTERM');
    await proc.waitExit(10000);
    expect(proc.stderr).toMatch(/^wirecat: Connection from 127\.0\.0\.1:\d+$/m);
    expect(proc.stderr).toMatch(/^wirecat: Proxied 127\.0\.0\.1:\d+ to localhost:\d+ \(socks5 connect\)$/m);
    const stats = proc.stderrLines.find((l) => l.startsWith('{'));
    expect(JSON.parse(stats!)).toHaveProperty('connections');
  });
});

// ---------------------------------------------------------------- the client side

describe('connect --proxy', () => {
  it.each(['socks5', 'socks5h', 'socks4a', 'socks4', 'http'])('%s:// carries data both ways with half-close', async (scheme) => {
    const srv = await eofReplyServer();
    const { proc, port } = await startProxy();
    const r = await wirecat(['connect', '--proxy', `${scheme}://127.0.0.1:${port}`, 'localhost', String(srv.port)], { input: 'over the proxy' });
    expect({ code: r.code, out: r.stdout, err: r.stderr }).toEqual({ code: 0, out: 'reply:over the proxy', err: '' });
    const ev = await proc.waitEvent('proxied');
    // socks4:// resolves locally; the others send the name.
    expect(ev.destination).toBe(scheme === 'socks4' ? `127.0.0.1:${srv.port}` : `localhost:${srv.port}`);
  });

  it('--proxy-dns local resolves the name first; remote (default) sends it', async () => {
    const srv = await eofReplyServer();
    const { proc, port } = await startProxy();
    for (const dns of ['local', 'remote']) {
      const r = await wirecat(['connect', '--proxy-dns', dns, '--proxy', `socks5://127.0.0.1:${port}`, 'localhost', String(srv.port)], { input: 'x' });
      expect(r.code).toBe(0);
    }
    const dests = proc.events().filter((e) => e.event === 'proxied').map((e) => e.destination);
    expect(dests).toEqual([expect.stringMatching(/^(127\.0\.0\.1|\[::1\]):\d+$/), `localhost:${srv.port}`]);
    const bad = await wirecat(['connect', '--proxy-dns', 'both', '--proxy', `socks5://127.0.0.1:${port}`, 'localhost', '1']);
    expect(bad.code).toBe(2);
  });

  it('two-hop chains, socks5 -> http and http -> socks5: each hop reaches the next', async () => {
    const srv = await eofReplyServer();
    const a = await startProxy();
    const b2 = await startProxy();
    for (const [first, second] of [
      ['socks5', 'http'],
      ['http', 'socks5'],
    ]) {
      const r = await wirecat(['-v', 'connect', '--proxy', `${first}://127.0.0.1:${a.port}`, '--proxy', `${second}://127.0.0.1:${b2.port}`, 'localhost', String(srv.port)], {
        input: `${first}-${second}`,
      });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`reply:${first}-${second}`);
      expect(r.stderr).toContain(`Connected to localhost:${srv.port} via ${first}://127.0.0.1:${a.port} -> ${second}://127.0.0.1:${b2.port}`);
    }
    expect(a.proc.events().filter((e) => e.event === 'proxied').map((e) => [e.protocol, e.destination])).toEqual([
      ['socks5', `127.0.0.1:${b2.port}`],
      ['http-connect', `127.0.0.1:${b2.port}`],
    ]);
    expect(b2.proc.events().filter((e) => e.event === 'proxied').map((e) => [e.protocol, e.destination])).toEqual([
      ['http-connect', `localhost:${srv.port}`],
      ['socks5', `localhost:${srv.port}`],
    ]);
  });

  it('exit codes: refused by policy 5, target refused 1, proxy unreachable 1, bad URL 2', async () => {
    const { port } = await startProxy(['--deny-dest', '*:9']);
    const denied = await wirecat(['connect', '--proxy', `http://127.0.0.1:${port}`, 'localhost', '9'], { input: '' });
    expect(denied.code).toBe(5);
    expect(denied.stderr).toBe(`wirecat: connect: proxy 127.0.0.1:${port} refused: Forbidden (HTTP 403)\n`);
    const s4 = await wirecat(['connect', '--proxy', `socks4a://127.0.0.1:${port}`, 'localhost', '9'], { input: '' });
    expect(s4.code).toBe(5);
    const closed = await closedPort();
    for (const scheme of ['socks5', 'http']) {
      const refused = await wirecat(['connect', '--proxy', `${scheme}://127.0.0.1:${port}`, '127.0.0.1', String(closed)], { input: '' });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(`wirecat: connect: Connection refused (attempted address: 127.0.0.1:${closed} via proxy 127.0.0.1:${port})\n`);
    }
    const unreachable = await wirecat(['connect', '--proxy', `socks5://127.0.0.1:${closed}`, 'localhost', '80'], { input: '' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toBe(`wirecat: connect: Connection refused (attempted address: 127.0.0.1:${closed})\n`);
    for (const url of ['ftp://127.0.0.1:1', 'socks5://127.0.0.1:99999', 'http://127.0.0.1:1/path']) {
      const bad = await wirecat(['connect', '--proxy', url, 'localhost', '80']);
      expect({ url, code: bad.code }).toEqual({ url, code: 2 });
    }
  });

  it('TTL expired (SOCKS5 REP 6) and HTTP 504 exit 3; REP 1/7/8 exit 5; a non-SOCKS peer exits 5', async () => {
    const fake = (answer: (req: Buffer) => Buffer | string) =>
      startServer((s) => {
        let got = Buffer.alloc(0);
        s.on('error', () => {});
        s.on('data', (d: Buffer) => {
          got = Buffer.concat([got, d]);
          if (got[0] === 5 && got.length === 3) s.write(b(5, 0));
          else if (got[0] === 5 && got.length > 3) s.end(answer(got));
          else if (got.includes('\r\n\r\n')) s.end(answer(got));
        });
      });
    const cases: [Buffer | string, string, number, RegExp][] = [
      [b(5, 6, 0, 1, 0, 0, 0, 0, 0, 0), 'socks5', 3, /timed out reaching localhost:80: TTL expired \(SOCKS5 REP 6\)/],
      ['HTTP/1.1 504 Gateway Timeout\r\n\r\n', 'http', 3, /timed out reaching localhost:80: Gateway Timeout \(HTTP 504\)/],
      [b(5, 1, 0, 1, 0, 0, 0, 0, 0, 0), 'socks5', 5, /failed: general SOCKS server failure \(SOCKS5 REP 1\)/],
      [b(5, 7, 0, 1, 0, 0, 0, 0, 0, 0), 'socks5', 5, /failed: command not supported \(SOCKS5 REP 7\)/],
      [b(5, 8, 0, 1, 0, 0, 0, 0, 0, 0), 'socks5', 5, /failed: address type not supported \(SOCKS5 REP 8\)/],
      [b(5, 4, 0, 1, 0, 0, 0, 0, 0, 0), 'socks5', 1, /Host unreachable behind proxy/],
      ['HTTP/1.1 502 Bad Gateway\r\n\r\n', 'http', 1, /Bad Gateway behind proxy/],
      ['HTTP/1.1 400 Bad Request\r\n\r\n', 'http', 5, /failed: Bad Request \(HTTP 400\)/],
    ];
    for (const [answer, scheme, code, message] of cases) {
      const srv = await fake(() => (typeof answer === 'string' ? answer : answer));
      const r = await wirecat(['connect', '--proxy', `${scheme}://127.0.0.1:${srv.port}`, 'localhost', '80'], { input: '' });
      expect({ scheme, answer: String(answer).slice(0, 20), code: r.code }).toEqual({ scheme, answer: String(answer).slice(0, 20), code });
      expect(r.stderr).toMatch(message);
      expect(r.stderr.split('\n')).toHaveLength(2);
    }
    const sshLike = await startServer((s) => s.end('SSH-2.0-OpenSSH_9.2\r\n'));
    const notSocks = await wirecat(['connect', '--proxy', `socks5://127.0.0.1:${sshLike.port}`, 'localhost', '80'], { input: '' });
    expect(notSocks.code).toBe(5);
    expect(notSocks.stderr).toMatch(/malformed SOCKS5 reply/);
    const silent = await startServer((s) => s.on('error', () => {}));
    const timeout = await wirecat(['-w', '0.5', 'connect', '--proxy', `http://127.0.0.1:${silent.port}`, 'localhost', '80'], { input: '' });
    expect(timeout.code).toBe(3);
    expect(timeout.stderr).toMatch(/Connection timed out after 500 ms \(attempted address: localhost:80 via http:\/\/127\.0\.0\.1:\d+\)/);
  });

  it('--tls runs end to end through a two-hop chain; a certificate it cannot verify exits 4', async () => {
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, cert.cert);
    const tport = await tlsOrigin((s, got) => s.end(`tls-reply:${got}:${s.getProtocol()}`));
    const a = await startProxy();
    const b2 = await startProxy();
    const args = ['--proxy', `socks5://127.0.0.1:${a.port}`, '--proxy', `http://127.0.0.1:${b2.port}`, 'localhost', String(tport)];
    const r = await wirecat(['connect', '--tls', '--ca', caFile, ...args], { input: 'secret payload' });
    expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: '' });
    expect(r.stdout).toMatch(/^tls-reply:secret payload:TLSv1\.[23]$/);
    // Neither proxy saw the plaintext: they only relayed TLS records.
    const bad = await wirecat(['connect', '--tls', ...args], { input: '' });
    expect(bad.code).toBe(4);
    expect(bad.stderr).toMatch(/^wirecat: connect: TLS certificate verification failed: self-signed certificate/);
  });
});

describe('relay: proxy addresses', () => {
  it('socks5:, socks4a: (socat form with socksport=), socks4:, http-proxy: and tcp:/tls: with proxy= reach the destination', async () => {
    const srv = await eofReplyServer();
    const caFile = join(dir, 'relay-ca.pem');
    writeFileSync(caFile, cert.cert);
    const tport = await tlsOrigin((s, got) => s.end(`tls:${got}`));
    const { proc, port } = await startProxy(['--auth', 'ann:pw']);
    const credFile = join(dir, 'proxy-cred');
    writeFileSync(credFile, '# for the proxy\nann:pw\n');
    const o = srv.port;
    const addresses: [string, string][] = [
      [`socks5:127.0.0.1:${port}:localhost:${o},proxyauth=ann:pw`, `reply:1`],
      [`SOCKS5-CONNECT:127.0.0.1:localhost:${o},socksport=${port},proxyauth-file=${credFile},resolve=local`, 'reply:2'],
      [`http-proxy:127.0.0.1:${port}:localhost:${o},proxyauth=ann:pw`, 'reply:3'],
      [`proxy:127.0.0.1:localhost:${o},proxyport=${port},proxyauth-file=${credFile}`, 'reply:4'],
      [`tcp:localhost:${o},proxy=socks5://ann:pw@127.0.0.1:${port},proxy=http://ann:pw@127.0.0.1:${port}`, 'reply:5'],
      [`tls:localhost:${tport},proxy=socks5h://ann:pw@127.0.0.1:${port},cafile=${caFile}`, 'tls:6'],
    ];
    let i = 0;
    for (const [address, expected] of addresses) {
      i++;
      const r = await wirecat(['relay', '-', address], { input: String(i) });
      expect({ address, code: r.code, out: r.stdout, err: r.stderr }).toEqual({ address, code: 0, out: expected, err: '' });
    }
    // SOCKS4 carries no password: this proxy refuses it; WIRECAT_PROXY_AUTH fills in for addresses without credentials.
    const s4 = await wirecat(['relay', '-', `socks4a:127.0.0.1:${port}:localhost:${o}`], { input: '' });
    expect(s4.code).toBe(5);
    const env = await wirecat(['relay', '-', `socks5:127.0.0.1:${port}:localhost:${o}`], { input: 'env', env: { WIRECAT_PROXY_AUTH: 'ann:pw' } });
    expect(env.stdout).toBe('reply:env');
    const dump = await wirecat(['relay', '--dump-address', '-', `socks5:127.0.0.1:${port}:h:1,proxyauth=ann:pw,resolve=local`]);
    expect(dump.stdout).toContain('"resolve": "local"');
    expect(dump.stdout).not.toContain('"pw"');
    expect(proc.stderr).not.toContain('pw"');
  });

  it('socks4: resolves locally and socks4a: remotely, through an open proxy', async () => {
    const srv = await eofReplyServer();
    const { proc, port } = await startProxy();
    expect((await wirecat(['relay', '-', `socks4:127.0.0.1:${port}:localhost:${srv.port}`], { input: 'a' })).stdout).toBe('reply:a');
    expect((await wirecat(['relay', '-', `socks4a:127.0.0.1:${port}:localhost:${srv.port},socksuser=carol`], { input: 'b' })).stdout).toBe('reply:b');
    const evs = proc.events().filter((e) => e.event === 'proxied');
    expect(evs.map((e) => [e.protocol, e.destination, e.user])).toEqual([
      ['socks4', `127.0.0.1:${srv.port}`, undefined],
      ['socks4a', `localhost:${srv.port}`, 'carol'],
    ]);
  });

  it('a bad resolve= value is a usage error', async () => {
    const r = await wirecat(['relay', '-', 'socks5:127.0.0.1:1:h:1,resolve=maybe']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad value 'maybe' for option 'resolve'/);
  });
});
