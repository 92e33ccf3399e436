/**
 * `wirecat unix PATH` / `wirecat unix --listen PATH` (nc -U) end to end: the
 * built bin/wirecat with socket files in a temporary directory and Linux
 * abstract names, peers that are wirecat itself, node:net, and socat where
 * it is installed. The contract is /work/shared/SPEC.md (`unix`, exit codes).
 *
 * The listener's readiness is learnt from `-v` (`wirecat: Listening on PATH`)
 * or `--json` (`listening`); every wait is bounded.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { wirecat } from './helpers.js';
import { Client, type Proc, cleanup, sha256, startProgram, startWirecat, within, writeAll } from './net-helpers.js';
import { IN_CI, assertRunnable, missingProgram } from './requirements.js';

let dir: string;
let n = 0;
/** A fresh socket path in the temporary directory. */
const sockPath = (name = 's') => join(dir, `${name}-${++n}.sock`);
/** A fresh abstract name. */
const abstractName = () => `@wirecat-test-${process.pid}-${++n}-${Date.now()}`;
const socatMissing = missingProgram('socat', 'socat');
const notLinux = process.platform === 'linux' ? undefined : `abstract Unix socket names exist only on Linux (this is ${process.platform})`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wc-unix-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await cleanup();
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `wirecat -v unix --listen ARGS PATH`, once it prints `Listening on PATH`. */
async function unixListen(path: string, args: string[] = [], opts: Parameters<typeof startWirecat>[1] = {}): Promise<Proc> {
  const p = startWirecat(['-v', 'unix', '--listen', ...args, path], opts);
  await p.waitStderr(new RegExp(`^wirecat: Listening on ${escapeRe(path)}$`));
  return p;
}

/** A node:net client on a Unix path (`@name`: abstract), half-open allowed. */
async function connectUnix(path: string): Promise<Client> {
  const c = new Client(net.connect({ path: path.startsWith('@') ? `\0${path.slice(1)}` : path, allowHalfOpen: true }));
  await within(c.connected, 5000, `a connection to ${path}`);
  return c;
}

/** The non-empty lines of a stderr. */
function lines(s: string): string[] {
  return s.split('\n').filter((l) => l !== '');
}

/** Exactly one stderr line, `wirecat: unix: ...`. */
function expectOneErrorLine(stderr: string, re?: RegExp): string {
  const ls = lines(stderr);
  expect(ls, `stderr: ${JSON.stringify(stderr)}`).toHaveLength(1);
  expect(ls[0]).toMatch(/^wirecat: unix: /);
  if (re) expect(ls[0]).toMatch(re);
  return ls[0]!;
}

/** The names of abstract sockets bound on this machine, from /proc/net/unix. */
function abstractNames(): string[] {
  return readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/)[7])
    .filter((p): p is string => p !== undefined && p.startsWith('@'));
}

describe('unix --listen + unix', () => {
  it('data both ways; the client\'s EOF is a half-close: the listener\'s late reply still arrives; both exit 0; the socket file is removed', async () => {
    const path = sockPath();
    const srv = await unixListen(path);
    expect(lstatSync(path).isSocket()).toBe(true);
    const cli = startWirecat(['unix', path]);
    cli.child.stdin!.end('hello from client\n'); // EOF right after: a half-close
    await srv.waitStdout('hello from client\n');
    expect(cli.exit).toBeUndefined(); // still waiting for the reply
    srv.child.stdin!.end('late reply from listener\n');
    await cli.waitStdout('late reply from listener\n');
    const [ce, se] = await Promise.all([cli.waitExit(), srv.waitExit()]);
    expect(ce.code, cli.stderr).toBe(0);
    expect(se.code, srv.stderr).toBe(0);
    expect(cli.stdout.toString()).toBe('late reply from listener\n');
    expect(srv.stdout.toString()).toBe('hello from client\n');
    expect(existsSync(path)).toBe(false);
  });

  it('1 MiB of random bytes each way, SHA-256 equal', async () => {
    const path = sockPath();
    const up = randomBytes(1024 * 1024);
    const down = randomBytes(1024 * 1024);
    const srv = await unixListen(path);
    const c = await connectUnix(path);
    const sending = writeAll(c.socket, up);
    await writeAll(srv.child.stdin!, down);
    await within(sending, 10000, 'the client to send');
    await srv.waitExit(10000);
    await c.waitEnd();
    expect(sha256(srv.stdout)).toBe(sha256(up));
    expect(sha256(c.data)).toBe(sha256(down));
  });

  it('-k: two clients at once, each heard; stdin goes to both; the listener stays', async () => {
    const path = sockPath();
    const srv = await unixListen(path, ['-k']);
    const a = await connectUnix(path);
    const b = await connectUnix(path);
    await srv.waitStderrCount(/^wirecat: Connection from /, 2);
    a.socket.write('from a\n');
    await srv.waitStdout('from a\n');
    b.socket.write('from b\n');
    await srv.waitStdout('from b\n');
    srv.child.stdin!.write('to all\n');
    await a.waitData('to all\n');
    await b.waitData('to all\n');
    a.socket.end();
    await a.waitEnd();
    const c = await connectUnix(path);
    c.socket.write('from c\n');
    await srv.waitStdout('from c\n');
    expect(srv.exit).toBeUndefined();
    expect(lines(srv.stdout.toString()).sort()).toEqual(['from a', 'from b', 'from c']);
  });

  it('--exec cat: an echo per connection, half-close carried (cat\'s output after the EOF arrives)', async () => {
    const path = sockPath();
    const srv = await unixListen(path, ['-k', '--exec', 'cat']);
    for (const word of ['first', 'second']) {
      const c = await connectUnix(path);
      c.socket.end(`${word}\n`);
      await c.waitEnd();
      expect(c.data.toString()).toBe(`${word}\n`);
    }
    // and through the wirecat client, to its exit
    const r = await wirecat(['unix', path], { input: 'via wirecat\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('via wirecat\n');
    expect(srv.exit).toBeUndefined();
  });

  it('--mode 0600 sets the socket file\'s permissions (and 0666 too, whatever the umask)', async () => {
    for (const mode of [0o600, 0o666]) {
      const path = sockPath();
      const srv = await unixListen(path, ['--mode', `0${mode.toString(8)}`]);
      expect(statSync(path).mode & 0o777).toBe(mode);
      srv.kill();
    }
  });

  it('--mode with a bad value, or without --listen, or on @name: exit 2, one line, no socket file', async () => {
    const paths: string[] = [];
    const fresh = () => {
      paths.push(sockPath('bad'));
      return paths[paths.length - 1]!;
    };
    for (const args of [
      ['unix', '--listen', '--mode', '999', fresh()],
      ['unix', '--mode', '0600', fresh()],
      ['unix', '-k', fresh()],
      ['unix', '--listen', '--mode', '0600', abstractName()],
      ['unix', '--listen', '--exec', 'cat', '--sh-exec', 'cat', fresh()],
    ]) {
      const r = await wirecat(args);
      expect(r.code, args.join(' ')).toBe(2);
      expectOneErrorLine(r.stderr);
    }
    for (const path of paths) expect(existsSync(path), path).toBe(false);
  });

  it('SIGTERM: exit 143 and the socket file is gone', async () => {
    const path = sockPath();
    const srv = await unixListen(path, ['-k']);
    const c = await connectUnix(path);
    await srv.waitStderr(/^wirecat: Connection from /);
    srv.child.kill('SIGTERM');
    const exit = await srv.waitExit();
    expect(exit.code).toBe(143);
    expect(existsSync(path)).toBe(false);
    await c.waitEnd();
  });

  it('SIGINT: exit 130 and the socket file is gone', async () => {
    const path = sockPath();
    const srv = await unixListen(path, ['-k']);
    srv.child.kill('SIGINT');
    const exit = await srv.waitExit();
    expect(exit.code).toBe(130);
    expect(existsSync(path)).toBe(false);
  });
});

describe('unix --unlink-stale', () => {
  /** A socket file left behind by a SIGKILLed listener. */
  async function staleSocket(): Promise<string> {
    const path = sockPath('stale');
    const srv = await unixListen(path);
    srv.child.kill('SIGKILL');
    await srv.waitExit();
    expect(lstatSync(path).isSocket()).toBe(true);
    return path;
  }

  it('without it, a stale socket file makes --listen fail: exit 1, one line, the file left alone', async () => {
    const path = await staleSocket();
    const r = await wirecat(['unix', '--listen', path]);
    expect(r.code).toBe(1);
    expectOneErrorLine(r.stderr, /in use|EADDRINUSE|exists/i);
    expect(lstatSync(path).isSocket()).toBe(true);
  });

  it('with it, the stale socket of a SIGKILLed listener is replaced and the new listener serves', async () => {
    const path = await staleSocket();
    const srv = await unixListen(path, ['--unlink-stale']);
    const cli = startWirecat(['unix', path]);
    cli.child.stdin!.end('after stale\n');
    await srv.waitStdout('after stale\n');
    srv.child.stdin!.end('answer\n');
    const [ce, se] = await Promise.all([cli.waitExit(), srv.waitExit()]);
    expect(ce.code, cli.stderr).toBe(0);
    expect(se.code, srv.stderr).toBe(0);
    expect(cli.stdout.toString()).toBe('answer\n');
    expect(existsSync(path)).toBe(false);
  });

  it('never removes a regular file: exit 1, one line saying why, the file intact', async () => {
    const path = join(dir, 'precious.txt');
    writeFileSync(path, 'precious data\n');
    const r = await wirecat(['unix', '--listen', '--unlink-stale', path]);
    expect(r.code).toBe(1);
    expectOneErrorLine(r.stderr, /not a socket/);
    expect(lstatSync(path).isFile()).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('precious data\n');
  });

  it('never steals a live listener\'s socket: exit 1, and the first listener keeps serving', async () => {
    const path = sockPath();
    const first = await unixListen(path, ['-k']);
    const r = await wirecat(['unix', '--listen', '--unlink-stale', path]);
    expect(r.code).toBe(1);
    expectOneErrorLine(r.stderr, /in use|listening/i);
    const c = await connectUnix(path);
    c.socket.write('still the first\n');
    await first.waitStdout('still the first\n');
  });
});

describe('unix @name (abstract namespace)', () => {
  const skip = notLinux !== undefined && !IN_CI;

  /**
   * How the kernel lists `name`: `exact` (the name's own length, as socat
   * and nc bind it) or `padded` (NUL-padded to the whole sun_path, as Node
   * binds it), or undefined when it is not bound.
   */
  function abstractForm(name: string): 'exact' | 'padded' | undefined {
    const all = abstractNames();
    if (all.includes(name)) return 'exact';
    if (all.includes(name + '@'.repeat(108 - name.length))) return 'padded';
    return undefined;
  }

  it.skipIf(skip)('works both ways and creates no file; bound exactly or NUL-padded, nothing else', async () => {
    assertRunnable('abstract sockets', notLinux);
    const name = abstractName();
    const before = readdirSync(process.cwd());
    const srv = await unixListen(name);
    expect(abstractForm(name), `entries: ${abstractNames().filter((x) => x.includes('wirecat-test')).join(' ')}`).toBeDefined();
    const cli = startWirecat(['unix', name]);
    cli.child.stdin!.end('abstract hello\n');
    await srv.waitStdout('abstract hello\n');
    srv.child.stdin!.end('abstract reply\n');
    const [ce, se] = await Promise.all([cli.waitExit(), srv.waitExit()]);
    expect(ce.code, cli.stderr).toBe(0);
    expect(se.code, srv.stderr).toBe(0);
    expect(cli.stdout.toString()).toBe('abstract reply\n');
    expect(readdirSync(process.cwd())).toEqual(before);
    expect(existsSync(name)).toBe(false);
    expect(abstractForm(name)).toBeUndefined();
  });

  it.skipIf(skip)('when Node pads abstract names, the man page says so (SPEC: `unix`)', async () => {
    assertRunnable('abstract sockets', notLinux);
    const name = abstractName();
    const srv = await unixListen(name);
    const form = abstractForm(name);
    srv.kill();
    expect(form).toBeDefined();
    if (form === 'padded') {
      const man = readFileSync(join(process.cwd(), 'man', 'wirecat.1'), 'utf8');
      expect(man).toMatch(/abstract/i);
      expect(man).toMatch(/pad/i);
    }
  });

  it.skipIf(skip || (socatMissing !== undefined && !IN_CI))('interoperates with socat ABSTRACT-CONNECT / ABSTRACT-LISTEN (matching socat\'s unix-tightsocklen to the form wirecat binds)', async () => {
    assertRunnable('abstract sockets', notLinux);
    assertRunnable('socat interop', socatMissing);
    const name = abstractName();
    const srv = await unixListen(name, ['-k', '--exec', 'cat']);
    const form = abstractForm(name);
    expect(form).toBeDefined();
    const tight = form === 'exact' ? '' : ',unix-tightsocklen=0';
    const { runProgram } = await import('./requirements.js');
    const s = await runProgram('socat', ['-', `ABSTRACT-CONNECT:${name.slice(1)}${tight}`], { input: 'from socat\n' });
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toBe('from socat\n');
    expect(srv.exit).toBeUndefined();

    const other = abstractName();
    const sl = startProgram('socat', [`ABSTRACT-LISTEN:${other.slice(1)}${tight}`, 'EXEC:cat']);
    // Bounded poll for socat's bind (socat prints nothing when it is ready).
    const deadline = Date.now() + 5000;
    for (let i = 0; i < 200 && Date.now() < deadline && abstractForm(other) === undefined; i++) await new Promise((res) => setTimeout(res, 25));
    expect(abstractForm(other), sl.stderr).toBe(form);
    const r = await wirecat(['unix', other], { input: 'to socat\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('to socat\n');
  });

  it.skipIf(skip)('`unix @` alone is a usage error (exit 2)', async () => {
    const r = await wirecat(['unix', '@']);
    expect(r.code).toBe(2);
    expectOneErrorLine(r.stderr);
  });
});

describe('unix errors', () => {
  it('connecting to a missing path: exit 1, one line naming the path', async () => {
    const path = join(dir, 'nobody-here.sock');
    const r = await wirecat(['unix', path]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expectOneErrorLine(r.stderr, new RegExp(escapeRe(path)));
  });

  it('connecting to a missing path says the path does not exist (as nc -U and socat do), not "Connection refused"', async () => {
    const path = join(dir, 'nobody-here-either.sock');
    const r = await wirecat(['unix', path]);
    expect(r.code).toBe(1);
    expectOneErrorLine(r.stderr, /no such file|does not exist|ENOENT/i);
  });

  it('connecting to a socket file nobody listens on: exit 1, "Connection refused"', async () => {
    const path = sockPath('dead');
    const srv = await unixListen(path);
    srv.child.kill('SIGKILL');
    await srv.waitExit();
    const r = await wirecat(['unix', path]);
    expect(r.code).toBe(1);
    expectOneErrorLine(r.stderr, /refused/i);
  });

  it('a path longer than 107 bytes fails with a clear message, client and listener; no truncated file is created (bad address: exit 2)', async () => {
    const long = join(dir, 'x'.repeat(120 - dir.length));
    expect(Buffer.byteLength(long)).toBeGreaterThan(107);
    for (const args of [['unix', long], ['unix', '--listen', long]]) {
      const r = await wirecat(args);
      expectOneErrorLine(r.stderr, /too long.*107/);
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(readdirSync(dir).filter((f) => f.startsWith('xxx'))).toEqual([]);
  });

  it('a path of exactly 107 bytes works', async () => {
    const path = join(dir, 'y'.repeat(107 - dir.length - 1));
    expect(Buffer.byteLength(path)).toBe(107);
    const srv = await unixListen(path, ['--exec', 'cat']);
    const r = await wirecat(['unix', path], { input: 'edge\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('edge\n');
    await srv.waitExit();
  });

  it('--listen in a directory that does not exist: exit 1, one line', async () => {
    const r = await wirecat(['unix', '--listen', join(dir, 'no', 'such', 'dir.sock')]);
    expect(r.code).toBe(1);
    expectOneErrorLine(r.stderr);
  });
});

describe('unix --json', () => {
  it('listening with the path, accepted, closed with byte counts', async () => {
    const path = sockPath();
    const srv = startWirecat(['--json', 'unix', '--listen', path]);
    const ev = await srv.waitEvent('listening');
    expect(ev).toMatchObject({ proto: 'unix', address: path });
    const c = await connectUnix(path);
    c.socket.end('12345');
    await srv.waitStdout('12345');
    srv.child.stdin!.end('abc');
    await c.waitData('abc');
    expect((await srv.waitExit()).code).toBe(0);
    const names = srv.events().map((e) => e.event);
    expect(names).toEqual(['listening', 'accepted', 'closed']);
    expect(srv.events()[2]).toMatchObject({ bytesIn: 5, bytesOut: 3 });
  });
});
