// The reactor's Unix stream sockets over real sockets in a temporary
// directory: src/core/reactor.ts (listenUNIX/connectUNIX), tcp.ts, stream.ts.
// Each test waits for events with a bounded timeout and closes what it opened.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CannotListenError, ConnectError, ConnectionDone, reactor } from 'wirecat';
import {
  Cleanup,
  CollectingFactory,
  closeProtocol,
  Echo,
  HalfCloseRecorder,
  Recorder,
  RecordingClientFactory,
  within,
} from './reactor-helpers.js';
import { assertRunnable, shouldSkip } from './requirements.js';

const abstractMissing = process.platform === 'linux' ? undefined : `abstract Unix socket names exist only on Linux (this is ${process.platform})`;
const dir = mkdtempSync(join(tmpdir(), 'wirecat-unix-'));
let n = 0;
/** A fresh socket path in the temporary directory. */
const sockPath = (name = 's') => join(dir, `${name}-${++n}.sock`);

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function listenUnix<P extends Recorder>(path: string, make: () => P, opts: Parameters<typeof reactor.listenUNIX>[2] = {}) {
  const factory = new CollectingFactory<P>(make);
  const port = cleanup.port(await within(reactor.listenUNIX(path, factory, opts), `listenUNIX ${path}`));
  // Runs before the port is stopped (cleanups run last-in first-out): close what it accepted.
  cleanup.add(() => Promise.all(factory.built.map(closeProtocol)));
  return { factory, port };
}

/** listenUNIX that is expected to fail: returns the error. */
async function listenUnixFails(path: string, opts: Parameters<typeof reactor.listenUNIX>[2] = {}): Promise<unknown> {
  const factory = new CollectingFactory(() => new Echo());
  try {
    const port = await within(reactor.listenUNIX(path, factory, opts), `listenUNIX ${path}`);
    cleanup.port(port);
  } catch (e) {
    expect(factory.numPorts).toBe(0);
    return e;
  }
  throw new Error(`listenUNIX(${path}) succeeded; it should have failed`);
}

function connectUnix<P extends Recorder>(path: string, make: () => P) {
  const factory = new RecordingClientFactory<P>(make);
  const connector = reactor.connectUNIX(path, factory);
  cleanup.add(() => {
    if (connector.state === 'connecting') connector.stopConnecting();
  });
  const connected = () => within(factory.connected.promise, `connection to ${path}`).then((p) => cleanup.protocol(p));
  return { factory, connector, connected };
}

/** Echo `payload` through the server at `path` and close. */
async function echoThrough(path: string, payload: Buffer): Promise<void> {
  const c = await connectUnix(path, () => new Recorder()).connected();
  c.transport!.write(payload);
  const got = await within(c.waitForBytes(payload.length), `echo through ${path}`);
  expect(got.equals(payload)).toBe(true);
  c.transport!.loseConnection();
  const reason = await within(c.lost.promise, 'client connectionLost');
  expect(reason.check(ConnectionDone)).toBe(ConnectionDone);
}

/** A socket file left behind by a process that was killed while listening. */
async function staleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('ready'))`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await within(new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', () => resolve());
  }), 'the child to listen');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await within(exited, 'the child to die');
  expect(lstatSync(path).isSocket()).toBe(true);
}

/** Whether something accepts connections at `path` (raw Node, not the reactor). */
function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

// ---------------------------------------------------------------------------

describe('reactor Unix sockets', () => {
  it('echoes bytes over a socket path; addresses are UNIX addresses', async () => {
    const path = sockPath('echo');
    const { port, factory } = await listenUnix(path, () => new Echo());
    expect(port.getHost()).toEqual({ type: 'UNIX', path });
    expect(lstatSync(path).isSocket()).toBe(true);
    expect(factory.starts).toBe(1);

    const client = connectUnix(path, () => new Recorder());
    const c = await client.connected();
    const s = await within(factory.nth(0), 'server protocol');
    expect(c.transport!.getPeer()).toEqual({ type: 'UNIX', path });
    expect(s.transport!.getHost()).toEqual({ type: 'UNIX', path });
    expect(client.connector.getDestination()).toEqual({ type: 'UNIX', path });

    const payload = randomBytes(300_000);
    c.transport!.write(payload);
    expect((await within(c.waitForBytes(payload.length), 'echo')).equals(payload)).toBe(true);
    c.transport!.loseConnection();
    expect((await within(c.lost.promise, 'client lost')).check(ConnectionDone)).toBe(ConnectionDone);
    expect((await within(s.lost.promise, 'server lost')).check(ConnectionDone)).toBe(ConnectionDone);
    expect((await within(client.factory.lostSignal.promise, 'clientConnectionLost')).check(ConnectionDone)).toBe(ConnectionDone);
  });

  it('half-close works over Unix sockets: the server replies after the client\'s EOF', async () => {
    const path = sockPath('half');
    class Replier extends HalfCloseRecorder {
      override readConnectionLost(): void {
        super.readConnectionLost();
        this.transport!.write(`${this.total} bytes`);
        this.transport!.loseConnection();
      }
    }
    class Client extends HalfCloseRecorder {
      override readConnectionLost(): void {
        super.readConnectionLost();
        this.transport!.loseConnection();
      }
    }
    await listenUnix(path, () => new Replier());
    const c = await connectUnix(path, () => new Client()).connected();
    c.transport!.write('twelve bytes');
    c.transport!.loseWriteConnection();
    await within(c.lost.promise, 'client lost');
    expect(c.received().toString()).toBe('12 bytes');
    expect(c.milestones()).toEqual(['connectionMade', 'writeConnectionLost', 'data', 'readConnectionLost', 'connectionLost:ConnectionDone']);
  });

  it('the socket file is removed on stopListening(), and the factory is stopped', async () => {
    const path = sockPath('stop');
    const { port, factory } = await listenUnix(path, () => new Echo());
    expect(existsSync(path)).toBe(true);
    await within(port.stopListening(), 'stopListening');
    expect(existsSync(path)).toBe(false);
    expect(factory.stops).toBe(1);
  });

  it('stopListening() leaves accepted connections working', async () => {
    const path = sockPath('keep');
    const { port } = await listenUnix(path, () => new Echo());
    const c = await connectUnix(path, () => new Recorder()).connected();
    await within(port.stopListening(), 'stopListening');
    c.transport!.write('still');
    expect((await within(c.waitForBytes(5), 'echo after stopListening')).toString()).toBe('still');
  });

  it("mode: 0o600 gives the socket file those permissions", async () => {
    const path = sockPath('mode');
    await listenUnix(path, () => new Echo(), { mode: 0o600 });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await echoThrough(path, Buffer.from('mode ok'));
  });

  it('mode: 0o660 is honoured too (not just the umask)', async () => {
    const path = sockPath('mode2');
    await listenUnix(path, () => new Echo(), { mode: 0o660 });
    expect(statSync(path).mode & 0o777).toBe(0o660);
  });

  it('connecting to a path that does not exist fails with clientConnectionFailed naming the path (ENOENT, as nc -U says)', async () => {
    const path = sockPath('nobody');
    const { factory } = connectUnix(path, () => new Recorder());
    const f = await within(factory.failed.promise, 'clientConnectionFailed');
    expect(f.value).toBeInstanceOf(ConnectError);
    expect((f.value as ConnectError).syscallCode).toBe('ENOENT');
    expect(f.getErrorMessage()).toBe(`No such file or directory (attempted address: ${path})`);
    expect(factory.built).toEqual([]);
  });
});

describe('reactor Unix sockets: abstract names (Linux)', () => {
  it.skipIf(shouldSkip('abstract Unix socket test', abstractMissing))('an @name listens in the abstract namespace, echoes, and creates no file', async () => {
    assertRunnable('the abstract Unix socket test', abstractMissing);
    const name = `@wirecat-test-${process.pid}-${randomBytes(4).toString('hex')}`;
    const cwdBefore = readdirSync(process.cwd());
    const dirBefore = readdirSync(dir);
    const { port } = await listenUnix(name, () => new Echo());
    expect(port.getHost()).toEqual({ type: 'UNIX', path: name });
    await echoThrough(name, Buffer.from('abstract hello'));
    // The kernel lists it as @name; no file appeared anywhere we look.
    expect(readFileSync('/proc/net/unix', 'utf8')).toContain(name);
    expect(existsSync(name)).toBe(false);
    expect(readdirSync(process.cwd())).toEqual(cwdBefore);
    expect(readdirSync(dir)).toEqual(dirBefore);
    await within(port.stopListening(), 'stopListening');
    expect(readFileSync('/proc/net/unix', 'utf8')).not.toContain(name);
  });
});

describe('reactor Unix sockets: what is at the path already', () => {
  it('a stale socket file (its process was killed) makes listenUNIX fail with CannotListenError without unlinkStale', async () => {
    const path = sockPath('stale1');
    await staleSocket(path);
    const err = await listenUnixFails(path);
    expect(err).toBeInstanceOf(CannotListenError);
    expect((err as CannotListenError).code).toBe('ERR_CANNOT_LISTEN');
    expect((err as CannotListenError).message).toContain(path);
    expect(lstatSync(path).isSocket()).toBe(true);
  });

  it('with unlinkStale: true, a stale socket file is removed and listening succeeds', async () => {
    const path = sockPath('stale2');
    await staleSocket(path);
    await listenUnix(path, () => new Echo(), { unlinkStale: true });
    expect(lstatSync(path).isSocket()).toBe(true);
    await echoThrough(path, Buffer.from('fresh listener'));
  });

  it('a regular file at the path is never removed, even with unlinkStale: the listen fails and the file keeps its content', async () => {
    const path = sockPath('regular');
    writeFileSync(path, 'precious data\n');
    for (const unlinkStale of [false, true]) {
      const err = await listenUnixFails(path, { unlinkStale });
      expect(err, `unlinkStale: ${unlinkStale}`).toBeInstanceOf(CannotListenError);
      expect((err as CannotListenError).message).toContain(path);
      expect(lstatSync(path).isFile()).toBe(true);
      expect(readFileSync(path, 'utf8')).toBe('precious data\n');
    }
  });

  it('a directory at the path is never removed', async () => {
    const path = sockPath('dir');
    mkdirSync(path);
    const err = await listenUnixFails(path, { unlinkStale: true });
    expect(err).toBeInstanceOf(CannotListenError);
    expect(lstatSync(path).isDirectory()).toBe(true);
  });

  it('a live listener at the path is not stolen, with or without unlinkStale; it keeps accepting', async () => {
    const path = sockPath('live');
    await listenUnix(path, () => new Echo());
    for (const unlinkStale of [false, true]) {
      const err = await listenUnixFails(path, { unlinkStale });
      expect(err, `unlinkStale: ${unlinkStale}`).toBeInstanceOf(CannotListenError);
      expect((err as CannotListenError).syscallCode).toBe('EADDRINUSE');
      expect(lstatSync(path).isSocket()).toBe(true);
      await echoThrough(path, Buffer.from(`still mine (${unlinkStale})`));
    }
  });

  it("a live listener of another kind (a raw net.Server) is not stolen by unlinkStale", async () => {
    const path = sockPath('raw');
    const server = net.createServer((s) => {
      s.on('error', () => undefined); // probes hang up without reading
      s.end('raw server\n');
    });
    await within(new Promise<void>((resolve) => server.listen(path, resolve)), 'raw listen');
    cleanup.add(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const err = await listenUnixFails(path, { unlinkStale: true });
    expect(err).toBeInstanceOf(CannotListenError);
    expect(await accepts(path)).toBe(true);
  });
});

describe('reactor Unix sockets: paths longer than sockaddr_un allows', () => {
  // sun_path holds 108 bytes on Linux (104 on BSDs); the kernel cannot bind
  // or connect to a longer path. Python's bind() raises "AF_UNIX path too
  // long", so Twisted's listenUNIX fails with CannotListenError.
  const longPathIn = (sub: string) => {
    const d = join(dir, sub);
    mkdirSync(d);
    return { d, path: join(d, `${'x'.repeat(150)}.sock`) };
  };

  it('listenUNIX on a too-long path fails with CannotListenError and creates no (truncated) file', async () => {
    const { d, path } = longPathIn('long-listen');
    const err = await listenUnixFails(path);
    expect(err).toBeInstanceOf(CannotListenError);
    expect(readdirSync(d)).toEqual([]);
  });

  it('connectUNIX to a too-long path fails; it does not connect to the socket whose name is its truncation', async () => {
    const { path } = longPathIn('long-connect');
    // A raw Node server given the same long path binds its truncated prefix.
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      s.end('wrong socket\n');
    });
    await within(new Promise<void>((resolve) => server.listen(path, resolve)), 'raw listen');
    cleanup.add(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const client = connectUnix(path, () => new Recorder());
    const outcome = await within(
      Promise.race([client.factory.failed.promise.then(() => 'failed'), client.factory.connected.promise.then(() => 'connected')]),
      'the attempt to end',
    );
    expect(outcome).toBe('failed');
  });
});
