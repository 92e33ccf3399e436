/**
 * The proxy client and server against real peer proxies installed by
 * .ci/run: microsocks (SOCKS5), tinyproxy (HTTP CONNECT), ncat (an HTTP
 * proxy with `-l --proxy-type http`, and a SOCKS4/SOCKS5/HTTP client with
 * `--proxy`), socat 1.7.4 (`SOCKS4A:` and `PROXY:` clients), curl and
 * `openssl s_server`, mixed in chains with wirecat's own proxy. Origins are
 * Node servers on loopback. Each peer runs in the foreground on a free
 * loopback port and is killed after its test.
 * Contracts: /work/shared/SPEC.md (`connect --proxy`, `proxy`, Addresses,
 * exit codes) and /work/shared/research/proxy.md (what the peers do).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { wirecat } from './helpers.js';
import { type Proc, cleanup, closedPort, delay, sha256, startEofServer, startProgram, startServer, startWirecat, waitAccepting, within } from './net-helpers.js';
import { assertRunnable, missingProgram, runProgram, shouldSkip } from './requirements.js';
import { type SServer, issue, sServer } from './tls-certs.js';

const LABEL = 'proxy interoperability with microsocks, tinyproxy, ncat, socat, curl and openssl';
const missing =
  missingProgram('microsocks', 'microsocks') ??
  missingProgram('tinyproxy', 'tinyproxy-bin') ??
  missingProgram('ncat', 'ncat') ??
  missingProgram('socat', 'socat') ??
  missingProgram('curl', 'curl') ??
  missingProgram('openssl', 'openssl');
const noIPv6 = Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === '::1')) ? undefined : 'no ::1 on this machine';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wirecat-proxy-peers-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
const stops: (() => void)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) s();
  await cleanup();
});

// ---------------------------------------------------------------- peers

interface Peer {
  proc: Proc;
  port: number;
}

/** A port on `host` that nothing listens on now (as closedPort(), for ::1). */
async function freePort(host: string): Promise<number> {
  const s = net.createServer();
  await within(new Promise<void>((resolve, reject) => s.once('error', reject).listen(0, host, () => resolve())), 5000, `a free port on ${host}`);
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * Start a peer that takes its port on the command line (none of them
 * accepts port 0): a port that is free now, then wait until it accepts.
 * A peer that exits first (the port was taken meanwhile) is tried again on
 * another port, three times at most.
 */
async function startPeer(file: string, argsFor: (port: number) => string[], host = '127.0.0.1'): Promise<Peer> {
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = host === '127.0.0.1' ? await closedPort() : await freePort(host);
    const proc = startProgram(file, argsFor(port), { stdin: 'ignore' });
    const up = await Promise.race([waitAccepting(port, 5000, host).then(() => true), proc.exited.then(() => false)]);
    if (up && proc.exit === undefined) return { proc, port };
    proc.kill();
    last = `${file} ${argsFor(port).join(' ')} exited ${JSON.stringify(proc.exit)}; stderr:\n${proc.stderr}`;
  }
  throw new Error(`could not start ${last}`);
}

/** `microsocks -i 127.0.0.1 -p PORT` (with `-u USER -P PASS` when given). */
function microsocks(auth?: { user: string; pass: string }): Promise<Peer> {
  return startPeer('microsocks', (port) => ['-i', '127.0.0.1', '-p', String(port), ...(auth ? ['-u', auth.user, '-P', auth.pass] : [])]);
}

let confs = 0;
/**
 * `tinyproxy -d -c FILE` in the foreground with its own configuration:
 * loopback only, every port allowed for CONNECT unless `extra` lists
 * `ConnectPort` lines.
 */
function tinyproxy(extra: string[] = []): Promise<Peer> {
  return startPeer('tinyproxy', (port) => {
    const file = join(dir, `tinyproxy-${++confs}.conf`);
    writeFileSync(file, [`Port ${port}`, 'Listen 127.0.0.1', 'Timeout 10', 'Allow 127.0.0.1', 'MaxClients 50', 'LogLevel Info', ...extra, ''].join('\n'));
    return ['-d', '-c', file];
  });
}

/** `ncat -l -k --proxy-type http 127.0.0.1 PORT` (with `--proxy-auth` when given). */
function ncatProxy(auth?: string): Promise<Peer> {
  return startPeer('ncat', (port) => ['-l', '-k', '--proxy-type', 'http', ...(auth ? ['--proxy-auth', auth] : []), '127.0.0.1', String(port)]);
}

/** `wirecat --json proxy --listen 127.0.0.1:0 ARGS`; resolves with its real port. */
async function wirecatProxy(args: string[] = []): Promise<Peer> {
  const proc = startWirecat(['--json', 'proxy', '--listen', '127.0.0.1:0', ...args], { stdin: 'ignore' });
  const ev = await proc.waitEvent('listening', 10000);
  return { proc, port: ev.port as number };
}

// ---------------------------------------------------------------- origins

/** A TCP echo server: each connection gets back what it sends, and an EOF after the client's. */
async function echoOrigin(host = '127.0.0.1'): Promise<number> {
  const srv = await startServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  }, host);
  return srv.port;
}

/** A TCP server that reads to the client's EOF, then answers `reply:<what it got>` and ends. */
function eofReplyOrigin(): Promise<{ port: number; got: Promise<string> }> {
  return startEofServer((s, text) => setTimeout(() => s.end(`reply:${text}`), 50));
}

// ---------------------------------------------------------------- the client side

/** Wait until `p` has written at least `n` bytes on stdout. */
async function waitStdoutLength(p: Proc, n: number, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (p.stdoutLength < n) {
    if (p.exit !== undefined) throw new Error(`exited ${JSON.stringify(p.exit)} after ${p.stdoutLength} of ${n} bytes; stderr:\n${p.stderr}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${p.stdoutLength} of ${n} bytes on stdout; stderr:\n${p.stderr}`);
    await delay(10);
  }
}

/**
 * Run wirecat with `args` against an echo origin: send `payload`, wait for
 * all of it to come back, then end stdin. The peers close both ways at the
 * client's EOF (research/proxy.md), so the EOF comes last. Expects exit 0,
 * nothing on stderr and the bytes equal.
 */
async function echoThrough(args: string[], payload: Buffer = randomBytes(256 << 10), env: Record<string, string> = {}): Promise<void> {
  const p = startWirecat(args, { env });
  p.child.stdin!.write(payload);
  await waitStdoutLength(p, payload.length);
  p.child.stdin!.end();
  const exit = await p.waitExit(5000);
  expect({ exit, stderr: p.stderr, length: p.stdoutLength }).toEqual({ exit: { code: 0, signal: null }, stderr: '', length: payload.length });
  expect(sha256(p.stdout)).toBe(sha256(payload));
}

describe.skipIf(shouldSkip(LABEL, missing))('peers', () => {
  beforeAll(() => assertRunnable(LABEL, missing));

  describe('connect --proxy through microsocks (SOCKS5)', () => {
    it('socks5:// with remote and local DNS: bytes round-trip equal, and microsocks is sent the name or the address', async () => {
      const origin = await echoOrigin();
      const ms = await microsocks();
      await echoThrough(['connect', '--proxy', `socks5://127.0.0.1:${ms.port}`, 'localhost', String(origin)]);
      await echoThrough(['connect', '--proxy', `socks5h://127.0.0.1:${ms.port}`, 'localhost', String(origin)]);
      await echoThrough(['connect', '--proxy-dns', 'local', '--proxy', `socks5://127.0.0.1:${ms.port}`, 'localhost', String(origin)]);
      // microsocks logs `client[FD] PEER: connected to DEST` on stderr.
      await ms.proc.waitStderrCount(/connected to /, 3);
      const dests = ms.proc.stderrLines.filter((l) => l.includes('connected to ')).map((l) => l.replace(/^.*connected to /, ''));
      expect(dests).toEqual([`localhost:${origin}`, `localhost:${origin}`, expect.stringMatching(new RegExp(`^(127\\.0\\.0\\.1|::1):${origin}$`))]);
    });

    it('user/password (microsocks -u -P): right ones pass, from the URL and from WIRECAT_PROXY_AUTH; wrong or none exit 5 with one line naming the proxy', async () => {
      const origin = await echoOrigin();
      const ms = await microsocks({ user: 'ann', pass: 's3cr:et' });
      await echoThrough(['connect', '--proxy', `socks5://ann:s3cr%3Aet@127.0.0.1:${ms.port}`, '127.0.0.1', String(origin)]);
      await echoThrough(['connect', '--proxy', `socks5://127.0.0.1:${ms.port}`, '127.0.0.1', String(origin)], randomBytes(1000), { WIRECAT_PROXY_AUTH: 'ann:s3cr:et' });
      // RFC 1929's longest: 255-byte user and password (ncat corrupts long ones, nmap#981).
      const long = await microsocks({ user: 'u'.repeat(255), pass: 'p'.repeat(255) });
      await echoThrough(['connect', '--proxy', `socks5://127.0.0.1:${long.port}`, '127.0.0.1', String(origin)], randomBytes(1000), {
        WIRECAT_PROXY_AUTH: `${'u'.repeat(255)}:${'p'.repeat(255)}`,
      });
      const wrong = await wirecat(['connect', '--proxy', `socks5://ann:nope@127.0.0.1:${ms.port}`, '127.0.0.1', String(origin)], { input: 'x' });
      // microsocks answers status 2 (any non-zero status is a refusal, RFC 1929).
      expect({ code: wrong.code, stderr: wrong.stderr, stdout: wrong.stdout }).toEqual({
        code: 5,
        stderr: `wirecat: connect: proxy 127.0.0.1:${ms.port} refused the credentials of user 'ann' (SOCKS5 RFC 1929 status 2)\n`,
        stdout: '',
      });
      const none = await wirecat(['connect', '--proxy', `socks5://127.0.0.1:${ms.port}`, '127.0.0.1', String(origin)], { input: 'x' });
      expect(none.code).toBe(5);
      expect(none.stderr).toBe(`wirecat: connect: proxy 127.0.0.1:${ms.port} requires authentication (SOCKS5 method 0xff)\n`);
    });

    it('relay with a socks5: address, and tcp:...,proxy=socks5://: bytes round-trip equal', async () => {
      const origin = await echoOrigin();
      const ms = await microsocks({ user: 'ann', pass: 'pw' });
      await echoThrough(['relay', '-', `socks5:127.0.0.1:${ms.port}:localhost:${origin},proxyauth=ann:pw`]);
      await echoThrough(['relay', '-', `tcp:localhost:${origin},proxy=socks5://ann:pw@127.0.0.1:${ms.port}`]);
      await echoThrough(['relay', '-', `SOCKS5-CONNECT:127.0.0.1:localhost:${origin},socksport=${ms.port},resolve=local`], randomBytes(1000), { WIRECAT_PROXY_AUTH: 'ann:pw' });
    });

    it("half-close: wirecat sends the client's EOF on; microsocks then closes both ways, so the origin's late reply is lost (man page), and wirecat exits 0", async () => {
      const origin = await eofReplyOrigin();
      const ms = await microsocks();
      const r = await wirecat(['connect', '--proxy', `socks5://127.0.0.1:${ms.port}`, '127.0.0.1', String(origin.port)], { input: 'question', timeoutMs: 5000 });
      // The origin saw every byte and the EOF: wirecat carried the half-close to microsocks.
      expect(await within(origin.got, 5000, "the origin to see the client's EOF")).toBe('question');
      // If this fails with 'reply:question', microsocks now carries half-close: update the man page (proxy section).
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: '', stderr: '' });
      // Through wirecat's own proxy in front of the same origin the reply arrives.
      const again = await eofReplyOrigin();
      const wp = await wirecatProxy();
      const r2 = await wirecat(['connect', '--proxy', `socks5://127.0.0.1:${wp.port}`, '127.0.0.1', String(again.port)], { input: 'question' });
      expect({ code: r2.code, stdout: r2.stdout }).toEqual({ code: 0, stdout: 'reply:question' });
    });

    it('a destination that refuses behind microsocks exits 1 as a direct connection would', async () => {
      const ms = await microsocks();
      const closed = await closedPort();
      const r = await wirecat(['connect', '--proxy', `socks5://127.0.0.1:${ms.port}`, '127.0.0.1', String(closed)], { input: '' });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`wirecat: connect: Connection refused (attempted address: 127.0.0.1:${closed} via proxy 127.0.0.1:${ms.port})\n`);
    });
  });

  it.skipIf(shouldSkip('IPv6 through microsocks and tinyproxy', noIPv6))('IPv6: a [::1] destination through microsocks (ATYP 4) and tinyproxy (CONNECT [::1]:PORT), and microsocks listening on ::1', async () => {
    assertRunnable('IPv6 through microsocks and tinyproxy', noIPv6);
    const origin = await echoOrigin('::1');
    const ms = await microsocks();
    const tp = await tinyproxy();
    await echoThrough(['connect', '--proxy', `socks5://127.0.0.1:${ms.port}`, '::1', String(origin)], randomBytes(1000));
    await echoThrough(['connect', '--proxy', `http://127.0.0.1:${tp.port}`, '::1', String(origin)], randomBytes(1000));
    await echoThrough(['relay', '-', `tcp:[::1]:${origin},proxy=http://127.0.0.1:${tp.port}`], randomBytes(1000));
    await tp.proc.waitStdout(`CONNECT [::1]:${origin} HTTP/1.1`); // tinyproxy -d logs each request on stdout
    await ms.proc.waitStderr(new RegExp(`connected to ::1:${origin}$`));
    const ms6 = await startPeer('microsocks', (port) => ['-i', '::1', '-p', String(port)], '::1');
    const origin4 = await echoOrigin();
    await echoThrough(['connect', '--proxy', `socks5://[::1]:${ms6.port}`, '127.0.0.1', String(origin4)], randomBytes(1000));
  });

  describe('connect --proxy through tinyproxy (HTTP CONNECT)', () => {
    it('http:// CONNECT: bytes round-trip equal, by name and by address', async () => {
      const origin = await echoOrigin();
      const tp = await tinyproxy();
      await echoThrough(['connect', '--proxy', `http://127.0.0.1:${tp.port}`, 'localhost', String(origin)]);
      await echoThrough(['relay', '-', `http-proxy:127.0.0.1:${tp.port}:127.0.0.1:${origin}`]);
      await echoThrough(['relay', '-', `PROXY:127.0.0.1:localhost:${origin},proxyport=${tp.port}`], randomBytes(1000));
    });

    it('tinyproxy errors map to exit 5: ConnectPort (403), no credentials (407), wrong ones (401), a refused destination (500); one line each', async () => {
      const origin = await echoOrigin();
      const tp = await tinyproxy([`ConnectPort ${origin}`, 'BasicAuth ann pw']);
      await echoThrough(['connect', '--proxy', `http://ann:pw@127.0.0.1:${tp.port}`, '127.0.0.1', String(origin)], randomBytes(1000));
      const other = await closedPort();
      const cases: [string[], Record<string, string>, RegExp][] = [
        [['--proxy', `http://ann:pw@127.0.0.1:${tp.port}`, '127.0.0.1', String(other)], {}, /^proxy 127\.0\.0\.1:\d+ refused: Access violation \(HTTP 403\)$/],
        [['--proxy', `http://127.0.0.1:${tp.port}`, '127.0.0.1', String(origin)], {}, /^proxy 127\.0\.0\.1:\d+ requires authentication \(HTTP 407 Proxy Authentication Required\)$/],
        [['--proxy', `http://127.0.0.1:${tp.port}`, '127.0.0.1', String(origin)], { WIRECAT_PROXY_AUTH: 'ann:bad' }, /^proxy 127\.0\.0\.1:\d+ refused the credentials of user 'ann' \(HTTP 401 Unauthorized\)$/],
      ];
      const open = await tinyproxy();
      // tinyproxy answers "500 Unable to connect" where a 502 would exit 1 (man page).
      cases.push([['--proxy', `http://127.0.0.1:${open.port}`, '127.0.0.1', String(other)], {}, /^proxy 127\.0\.0\.1:\d+ failed: Unable to connect \(HTTP 500\)$/]);
      for (const [args, env, message] of cases) {
        const r = await wirecat(['connect', ...args], { input: 'x', env });
        const lines = r.stderr.split('\n');
        expect({ args, code: r.code, lines: lines.length, stdout: r.stdout }).toEqual({ args, code: 5, lines: 2, stdout: '' });
        expect(lines[0]!.replace(/^wirecat: connect: /, '')).toMatch(message);
        expect(r.stderr).not.toContain('bad');
      }
    });
  });

  describe('connect --proxy through ncat -l --proxy-type http', () => {
    it('http:// CONNECT: bytes round-trip equal; --proxy-auth: right credentials pass, none or wrong ones exit 5', async () => {
      const origin = await echoOrigin();
      const open = await ncatProxy();
      await echoThrough(['connect', '--proxy', `http://127.0.0.1:${open.port}`, 'localhost', String(origin)]);
      const authed = await ncatProxy('ann:pw');
      await echoThrough(['connect', '--proxy', `http://ann:pw@127.0.0.1:${authed.port}`, '127.0.0.1', String(origin)]);
      const none = await wirecat(['connect', '--proxy', `http://127.0.0.1:${authed.port}`, '127.0.0.1', String(origin)], { input: 'x' });
      expect({ code: none.code, stderr: none.stderr }).toEqual({
        code: 5,
        stderr: `wirecat: connect: proxy 127.0.0.1:${authed.port} requires authentication (HTTP 407 Proxy Authentication Required)\n`,
      });
      const wrong = await wirecat(['connect', '--proxy', `http://ann:bad@127.0.0.1:${authed.port}`, '127.0.0.1', String(origin)], { input: 'x' });
      expect({ code: wrong.code, stderr: wrong.stderr }).toEqual({
        code: 5,
        stderr: `wirecat: connect: proxy 127.0.0.1:${authed.port} refused the credentials of user 'ann' (HTTP 407 Proxy Authentication Required)\n`,
      });
    });

    it('a refused destination: ncat answers 504, so the client exits 3 (man page)', async () => {
      const open = await ncatProxy();
      const closed = await closedPort();
      const r = await wirecat(['connect', '--proxy', `http://127.0.0.1:${open.port}`, '127.0.0.1', String(closed)], { input: '' });
      expect({ code: r.code, stderr: r.stderr }).toEqual({
        code: 3,
        stderr: `wirecat: connect: proxy 127.0.0.1:${open.port} timed out reaching 127.0.0.1:${closed}: Gateway Timeout (HTTP 504)\n`,
      });
    });
  });

  describe('two-hop chains mixing peers and wirecat', () => {
    it('wirecat -> microsocks -> tinyproxy -> origin, and wirecat -> tinyproxy -> microsocks -> origin', async () => {
      const origin = await echoOrigin();
      const ms = await microsocks();
      const tp = await tinyproxy();
      await echoThrough(['connect', '--proxy', `socks5://127.0.0.1:${ms.port}`, '--proxy', `http://127.0.0.1:${tp.port}`, 'localhost', String(origin)]);
      await echoThrough(['connect', '--proxy', `http://127.0.0.1:${tp.port}`, '--proxy', `socks5://127.0.0.1:${ms.port}`, 'localhost', String(origin)]);
      const r = await wirecat(['-v', 'connect', '--proxy', `socks5://127.0.0.1:${ms.port}`, '--proxy', `http://127.0.0.1:${tp.port}`, 'localhost', String(origin)], {
        input: '',
      });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`Connected to localhost:${origin} via socks5://127.0.0.1:${ms.port} -> http://127.0.0.1:${tp.port}`);
    });

    it("--json: the closed event counts the payload only, not the proxies' handshakes, through one hop and two", async () => {
      const origin = await echoOrigin();
      const ms = await microsocks();
      const tp = await tinyproxy();
      const payload = randomBytes(1000);
      for (const chain of [[`socks5://127.0.0.1:${ms.port}`], [`http://127.0.0.1:${tp.port}`], [`socks5://127.0.0.1:${ms.port}`, `http://127.0.0.1:${tp.port}`]]) {
        const p = startWirecat(['--json', 'connect', ...chain.flatMap((u) => ['--proxy', u]), '127.0.0.1', String(origin)]);
        p.child.stdin!.write(payload);
        await waitStdoutLength(p, payload.length);
        p.child.stdin!.end();
        expect(await p.waitExit(5000)).toEqual({ code: 0, signal: null });
        const closed = p.events().find((e) => e.event === 'closed');
        expect({ chain, bytesIn: closed?.bytesIn, bytesOut: closed?.bytesOut }).toEqual({ chain, bytesIn: payload.length, bytesOut: payload.length });
      }
    });

    it('wirecat -> tinyproxy -> wirecat proxy -> origin; the last hop refusing (502) exits 1', async () => {
      const origin = await echoOrigin();
      const tp = await tinyproxy();
      const wp = await wirecatProxy();
      await echoThrough(['connect', '--proxy', `http://127.0.0.1:${tp.port}`, '--proxy', `socks5://127.0.0.1:${wp.port}`, 'localhost', String(origin)]);
      await echoThrough(['connect', '--proxy', `http://127.0.0.1:${tp.port}`, '--proxy', `http://127.0.0.1:${wp.port}`, 'localhost', String(origin)]);
      await wp.proc.waitEvent('proxied', 2000, 2);
      expect(wp.proc.events().filter((e) => e.event === 'proxied').map((e) => [e.protocol, e.destination])).toEqual([
        ['socks5', `localhost:${origin}`],
        ['http-connect', `localhost:${origin}`],
      ]);
      const closed = await closedPort();
      const r = await wirecat(['connect', '--proxy', `http://127.0.0.1:${tp.port}`, '--proxy', `http://127.0.0.1:${wp.port}`, '127.0.0.1', String(closed)], { input: '' });
      expect({ code: r.code, stderr: r.stderr }).toEqual({
        code: 1,
        stderr: `wirecat: connect: Connection refused (attempted address: 127.0.0.1:${closed} via proxy 127.0.0.1:${wp.port})\n`,
      });
    });

    it('wirecat proxy --upstream to microsocks and to tinyproxy: a wirecat client and ncat reach the origin', async () => {
      const origin = await echoOrigin();
      const ms = await microsocks();
      const tp = await tinyproxy();
      const viaMs = await wirecatProxy(['--upstream', `socks5://127.0.0.1:${ms.port}`]);
      const viaTp = await wirecatProxy(['--upstream', `http://127.0.0.1:${tp.port}`]);
      await echoThrough(['connect', '--proxy', `http://127.0.0.1:${viaMs.port}`, 'localhost', String(origin)]);
      await echoThrough(['connect', '--proxy', `socks5://127.0.0.1:${viaTp.port}`, 'localhost', String(origin)]);
      // curl's absolute-URI GET, forwarded by wirecat through each peer.
      const web = await startServer((sock) => {
        sock.on('error', () => {});
        sock.once('data', (d: Buffer) => sock.end(`HTTP/1.1 200 OK\r\nContent-Length: ${d.indexOf('\r\n')}\r\nConnection: close\r\n\r\n${d.subarray(0, d.indexOf('\r\n'))}`));
      });
      for (const via of [viaMs, viaTp]) {
        const r = await runProgram('curl', ['-sS', '--max-time', '5', '--proxy', `http://127.0.0.1:${via.port}`, `http://localhost:${web.port}/through?peer`]);
        expect({ code: r.code, out: r.stdout }).toEqual({ code: 0, out: 'GET /through?peer HTTP/1.1' });
      }
      await ms.proc.waitStderr(new RegExp(`connected to localhost:${origin}$`));
      await tp.proc.waitStdout(`CONNECT localhost:${origin} HTTP/1.1`); // tinyproxy -d logs each request on stdout
    });
  });

  describe('peers as clients of wirecat proxy', () => {
    /** ncat/socat as a client: stdin `input`, to an origin that answers after the EOF. */
    async function peerClient(file: string, args: (originPort: number) => string[], input: string): Promise<string> {
      const origin = await eofReplyOrigin();
      const r = await runProgram(file, args(origin.port), { input, timeoutMs: 8000 });
      expect({ file, code: r.code, stderr: r.stderr }).toEqual({ file, code: 0, stderr: '' });
      expect(await within(origin.got, 2000, 'the origin to read to EOF')).toBe(input);
      return r.stdout;
    }

    it('ncat --proxy-type socks4, socks5 and http (with --proxy-dns remote, and --proxy-auth): the reply after the EOF arrives', async () => {
      const wp = await wirecatProxy();
      for (const [type, dns] of [
        ['socks4', 'local'],
        ['socks4', 'remote'],
        ['socks5', 'local'],
        ['socks5', 'remote'],
        ['http', 'remote'],
      ] as const) {
        const input = `ncat ${type} ${dns}`;
        const out = await peerClient('ncat', (o) => ['--proxy', `127.0.0.1:${wp.port}`, '--proxy-type', type, '--proxy-dns', dns, 'localhost', String(o)], input);
        expect({ type, dns, out }).toEqual({ type, dns, out: `reply:${input}` });
      }
      await wp.proc.waitEvent('proxied', 2000, 5);
      const protocols = wp.proc.events().filter((e) => e.event === 'proxied').map((e) => [e.protocol, String(e.destination).replace(/:\d+$/, '')]);
      expect(protocols).toEqual([
        ['socks4', '127.0.0.1'],
        ['socks4a', 'localhost'],
        ['socks5', expect.stringMatching(/^(127\.0\.0\.1|\[::1\])$/)],
        ['socks5', 'localhost'],
        ['http-connect', 'localhost'],
      ]);
      const authed = await wirecatProxy(['--auth', 'ann:pw']);
      for (const type of ['socks5', 'http']) {
        const input = `ncat auth ${type}`;
        const out = await peerClient('ncat', (o) => ['--proxy', `127.0.0.1:${authed.port}`, '--proxy-type', type, '--proxy-auth', 'ann:pw', '127.0.0.1', String(o)], input);
        expect(out).toBe(`reply:${input}`);
      }
      await authed.proc.waitEvent('proxied', 2000, 2);
      expect(authed.proc.events().filter((e) => e.event === 'proxied').map((e) => [e.protocol, e.user])).toEqual([
        ['socks5', 'ann'],
        ['http-connect', 'ann'],
      ]);
      const wrong = await runProgram('ncat', ['--proxy', `127.0.0.1:${authed.port}`, '--proxy-type', 'socks5', '--proxy-auth', 'ann:bad', '127.0.0.1', '9'], { timeoutMs: 8000 });
      expect(wrong.code).not.toBe(0);
      // ncat's HTTP client asks without credentials first and answers the 407 challenge.
      await authed.proc.waitEvent('refused', 2000, 2);
      expect(authed.proc.events().filter((e) => e.event === 'refused').map((e) => e.reason)).toEqual([
        'no Proxy-Authorization: Basic credentials',
        "authentication failed for user 'ann'",
      ]);
    });

    it("socat 1.7.4's SOCKS4A: and PROXY: (with proxyauth=) addresses: the reply after the EOF arrives", async () => {
      const wp = await wirecatProxy();
      const s4 = await peerClient('socat', (o) => ['-t', '5', '-', `SOCKS4A:127.0.0.1:localhost:${o},socksport=${wp.port}`], 'socat socks4a');
      expect(s4).toBe('reply:socat socks4a');
      const s4plain = await peerClient('socat', (o) => ['-t', '5', '-', `SOCKS4:127.0.0.1:localhost:${o},socksport=${wp.port}`], 'socat socks4');
      expect(s4plain).toBe('reply:socat socks4');
      const http = await peerClient('socat', (o) => ['-t', '5', '-', `PROXY:127.0.0.1:localhost:${o},proxyport=${wp.port}`], 'socat proxy');
      expect(http).toBe('reply:socat proxy');
      const authed = await wirecatProxy(['--auth', 'ann:pw']);
      const withAuth = await peerClient('socat', (o) => ['-t', '5', '-', `PROXY:127.0.0.1:127.0.0.1:${o},proxyport=${authed.port},proxyauth=ann:pw`], 'socat auth');
      expect(withAuth).toBe('reply:socat auth');
      await wp.proc.waitEvent('proxied', 2000, 3);
      await authed.proc.waitEvent('proxied', 2000, 1);
      expect(wp.proc.events().filter((e) => e.event === 'proxied').map((e) => e.protocol)).toEqual(['socks4a', 'socks4', 'http-connect']);
      expect(authed.proc.events().filter((e) => e.event === 'proxied').map((e) => [e.protocol, e.user])).toEqual([['http-connect', 'ann']]);
    });

    it('bulk through wirecat proxy with ncat as the SOCKS5 client: 4 MiB to an echo and back, SHA-256 equal', async () => {
      const origin = await echoOrigin();
      const wp = await wirecatProxy();
      const data = randomBytes(4 << 20);
      const p = startProgram('ncat', ['--proxy', `127.0.0.1:${wp.port}`, '--proxy-type', 'socks5', '127.0.0.1', String(origin)]);
      p.child.stdin!.end(data);
      expect(await p.waitExit(15000)).toEqual({ code: 0, signal: null });
      expect(p.stdoutLength).toBe(data.length);
      expect(sha256(p.stdout)).toBe(sha256(data));
    });
  });

  describe('TLS end to end through peer chains', () => {
    let ca: ReturnType<typeof issue>;
    let caFile: string;
    let server: SServer;
    beforeAll(async () => {
      ca = issue({ cn: 'Peers Test CA', fromDays: -1, toDays: 30, ca: true });
      const leaf = issue({ cn: 'localhost', dns: ['localhost'], ips: ['127.0.0.1'], fromDays: -1, toDays: 30, issuer: ca });
      caFile = join(dir, 'ca.pem');
      writeFileSync(caFile, ca.cert);
      writeFileSync(join(dir, 'leaf.pem'), leaf.cert);
      writeFileSync(join(dir, 'leaf.key'), leaf.key);
    });

    it('connect --tls through microsocks, and through microsocks -> tinyproxy, to openssl s_server: verified, lines answered', async () => {
      server = await sServer(['-cert', join(dir, 'leaf.pem'), '-key', join(dir, 'leaf.key')]);
      stops.push(() => server.stop());
      const ms = await microsocks();
      const tp = await tinyproxy();
      for (const chain of [[`socks5://127.0.0.1:${ms.port}`], [`socks5://127.0.0.1:${ms.port}`, `http://127.0.0.1:${tp.port}`]]) {
        const p = startWirecat(['connect', '--tls', '--ca', caFile, ...chain.flatMap((u) => ['--proxy', u]), 'localhost', String(server.port)]);
        p.child.stdin!.write('hello through the chain\n');
        // s_server -rev answers each line reversed.
        await p.waitStdout('niahc eht hguorht olleh', 8000);
        p.child.stdin!.end();
        expect(await p.waitExit(5000)).toEqual({ code: 0, signal: null });
        expect(p.stderr).toBe('');
      }
      const unverified = await wirecat(['connect', '--tls', '--proxy', `socks5://127.0.0.1:${ms.port}`, 'localhost', String(server.port)], { input: '' });
      expect(unverified.code).toBe(4);
    });

    it('ncat --ssl --ssl-verify through wirecat proxy (SOCKS5 and HTTP CONNECT) to openssl s_server: the proxy relays TLS records untouched', async () => {
      server = await sServer(['-cert', join(dir, 'leaf.pem'), '-key', join(dir, 'leaf.key')]);
      stops.push(() => server.stop());
      const wp = await wirecatProxy();
      for (const type of ['socks5', 'http']) {
        const p = startProgram('ncat', ['--ssl', '--ssl-verify', '--ssl-trustfile', caFile, '--proxy', `127.0.0.1:${wp.port}`, '--proxy-type', type, 'localhost', String(server.port)]);
        p.child.stdin!.write(`ncat over ${type}\n`);
        await p.waitStdout(`${[...type].reverse().join('')} revo tacn`, 8000);
        p.kill();
      }
      await wp.proc.waitEvent('proxied', 2000, 2);
      expect(wp.proc.events().filter((e) => e.event === 'proxied').map((e) => [e.protocol, e.destination])).toEqual([
        ['socks5', `localhost:${server.port}`],
        ['http-connect', `localhost:${server.port}`],
      ]);
    });
  });
});
