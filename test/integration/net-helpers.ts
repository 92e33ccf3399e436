/**
 * Helpers for the `connect` / `listen` integration tests: a long-running
 * bin/wirecat child whose stdout is kept as bytes and whose stderr can be
 * waited on line by line, node:net clients and servers that record what
 * they receive, and bounded waits for all of them.
 *
 * Every wait here has a deadline; nothing sleeps and hopes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { ROOT, WIRECAT } from './helpers.js';

/** Reject with a clear message when `p` does not settle within `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`)), ms);
    }),
  ]);
}

/** Wait `ms` (only where the scenario itself asks for a delay). */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** SHA-256 of a buffer, hex. */
export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Something with a `data` log and a way to wait for a condition on it. */
class Waiters {
  private readonly _waiters = new Set<() => void>();
  protected _poke(): void {
    for (const w of [...this._waiters]) w();
  }
  /** Resolve once `cond()` is true (checked now and on every change); reject if it throws. */
  protected _until<T>(cond: () => T | undefined | false, ms: number, what: string | (() => string)): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = () => {
        this._waiters.delete(check);
        clearTimeout(timer);
      };
      const check = () => {
        let v: T | undefined | false;
        try {
          v = cond();
        } catch (e) {
          done();
          reject(e);
          return;
        }
        if (v !== undefined && v !== false) {
          done();
          resolve(v);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`));
      }, ms);
      this._waiters.add(check);
      check();
    });
  }
}

/** How a child ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running bin/wirecat. */
export class Proc extends Waiters {
  readonly child: ChildProcess;
  private readonly _out: Buffer[] = [];
  private _outLen = 0;
  private _err = '';
  /** Settles when the process has exited and its streams are closed. */
  readonly exited: Promise<Exit>;
  private _exit: Exit | undefined;
  private readonly _label: string;

  constructor(file: string, args: string[], opts: { stdin?: 'pipe' | 'ignore' | number; stdout?: 'pipe' | number; env?: Record<string, string> } = {}) {
    super();
    this._label = `${file === WIRECAT ? 'wirecat' : file} ${args.join(' ')}`;
    this.child = spawn(file, args, {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: [opts.stdin ?? 'pipe', opts.stdout ?? 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (b: Buffer) => {
      this._out.push(b);
      this._outLen += b.length;
      this._poke();
    });
    this.child.stderr!.on('data', (b: Buffer) => {
      this._err += b.toString();
      this._poke();
    });
    // A test may end a stdin the child already closed; that is not the test's failure.
    this.child.stdin?.on('error', () => {});
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (code, signal) => {
        this._exit = { code, signal };
        this._poke();
        resolve({ code, signal });
      });
    });
  }

  get stdout(): Buffer {
    if (this._out.length > 1) {
      const all = Buffer.concat(this._out);
      this._out.length = 0;
      this._out.push(all);
    }
    return this._out[0] ?? Buffer.alloc(0);
  }
  get stdoutLength(): number {
    return this._outLen;
  }
  get stderr(): string {
    return this._err;
  }
  get exit(): Exit | undefined {
    return this._exit;
  }
  /** stderr as lines (without the last empty one). */
  get stderrLines(): string[] {
    return this._err.split('\n').filter((l, i, a) => !(i === a.length - 1 && l === ''));
  }

  /** Wait for a stderr line matching `re`; resolves with the match. */
  waitStderr(re: RegExp, ms = 5000): Promise<RegExpMatchArray> {
    return this._until(
      () => {
        for (const line of this._err.split('\n')) {
          const m = re.exec(line);
          if (m) return m;
        }
        if (this._exit) throw new Error(`${this._label} exited (${JSON.stringify(this._exit)}) before printing ${re}; stderr:\n${this._err}`);
        return undefined;
      },
      ms,
      () => `stderr line ${re} from ${this._label}; stderr so far:\n${this._err}`,
    );
  }

  /** Wait until `n` stderr lines match `re`. */
  waitStderrCount(re: RegExp, n: number, ms = 5000): Promise<RegExpMatchArray[]> {
    return this._until(
      () => {
        const ms_ = this._err.split('\n').map((l) => re.exec(l)).filter((m): m is RegExpExecArray => m !== null);
        if (ms_.length >= n) return ms_;
        if (this._exit) throw new Error(`${this._label} exited before ${n} lines ${re}; stderr:\n${this._err}`);
        return undefined;
      },
      ms,
      () => `${n} stderr lines ${re} from ${this._label}; stderr so far:\n${this._err}`,
    );
  }

  /** Wait until stdout contains `s`. */
  waitStdout(s: string | Buffer, ms = 5000): Promise<void> {
    return this._until(
      () => this.stdout.includes(s) || undefined,
      ms,
      () => `stdout to contain ${JSON.stringify(String(s))} from ${this._label}; stdout so far: ${JSON.stringify(this.stdout.toString())}`,
    ).then(() => undefined);
  }

  /** The `--json` events printed so far (every stderr line must parse). */
  events(): Record<string, unknown>[] {
    return this.stderrLines.map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`stderr line is not JSON: ${JSON.stringify(l)}\nstderr:\n${this._err}`);
      }
    });
  }

  /** Wait for the `count`-th `--json` event named `name`. */
  waitEvent(name: string, ms = 5000, count = 1): Promise<Record<string, unknown>> {
    return this._until(
      () => {
        const lines = this._err.split('\n').filter((l) => l.startsWith('{'));
        const evs = lines
          .map((l) => {
            try {
              return JSON.parse(l) as Record<string, unknown>;
            } catch {
              return undefined;
            }
          })
          .filter((e) => e?.event === name);
        if (evs.length >= count) return evs[count - 1];
        if (this._exit) throw new Error(`${this._label} exited before event ${name}; stderr:\n${this._err}`);
        return undefined;
      },
      ms,
      () => `--json event ${name} (#${count}) from ${this._label}; stderr so far:\n${this._err}`,
    );
  }

  /** The port from `wirecat: Listening on 127.0.0.1:PORT` (needs -v). */
  async listeningPort(ms = 5000): Promise<number> {
    const m = await this.waitStderr(/^wirecat: Listening on (?:127\.0\.0\.1|\[::1\]):(\d+)$/, ms);
    return Number(m[1]);
  }

  /** Wait for the exit, bounded. */
  waitExit(ms = 10000): Promise<Exit> {
    return within(this.exited, ms, () => `${this._label} to exit; stderr so far:\n${this._err}`);
  }

  /** Kill it if still running (cleanup). */
  kill(): void {
    if (this._exit === undefined && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Processes started by a test, killed in afterEach. */
export const started: { kill(): void }[] = [];

/** Start bin/wirecat (or $WIRECAT_BIN, see helpers.ts) with `args`. */
export function startWirecat(args: string[], opts: ConstructorParameters<typeof Proc>[2] = {}): Proc {
  const p = new Proc(WIRECAT, args, opts);
  started.push(p);
  return p;
}

/** Start another program. */
export function startProgram(file: string, args: string[], opts: ConstructorParameters<typeof Proc>[2] = {}): Proc {
  const p = new Proc(file, args, opts);
  started.push(p);
  return p;
}

/** A node:net socket that records what it receives. */
export class Client extends Waiters {
  readonly socket: net.Socket;
  private readonly _in: Buffer[] = [];
  private _len = 0;
  ended = false;
  closed = false;
  readonly connected: Promise<void>;
  readonly closedP: Promise<void>;

  constructor(socket: net.Socket) {
    super();
    this.socket = socket;
    this.connected = new Promise((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    socket.on('error', () => {
      // recorded as a close; the tests check what they expect.
    });
    socket.on('data', (b: Buffer) => {
      this._in.push(b);
      this._len += b.length;
      this._poke();
    });
    socket.on('end', () => {
      this.ended = true;
      this._poke();
    });
    this.closedP = new Promise((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        this._poke();
        resolve();
      });
    });
  }

  get data(): Buffer {
    if (this._in.length > 1) {
      const all = Buffer.concat(this._in);
      this._in.length = 0;
      this._in.push(all);
    }
    return this._in[0] ?? Buffer.alloc(0);
  }
  get length(): number {
    return this._len;
  }

  /** Wait until what arrived contains `s`. */
  waitData(s: string | Buffer, ms = 5000): Promise<void> {
    return this._until(
      () => this.data.includes(s) || undefined,
      ms,
      () => `client to receive ${JSON.stringify(String(s))}; got so far ${JSON.stringify(this.data.toString())}`,
    ).then(() => undefined);
  }
  /** Wait until at least `n` bytes arrived. */
  waitLength(n: number, ms = 5000): Promise<void> {
    return this._until(() => this._len >= n || undefined, ms, () => `client to receive ${n} bytes (got ${this._len})`).then(() => undefined);
  }
  /** Wait for the peer's EOF (or close). */
  waitEnd(ms = 5000): Promise<void> {
    return this._until(() => this.ended || this.closed || undefined, ms, () => `the server to end the connection; got ${JSON.stringify(this.data.toString())}`).then(
      () => undefined,
    );
  }
  waitClose(ms = 5000): Promise<void> {
    return within(this.closedP, ms, 'the connection to close');
  }
}

/** Clients opened by a test, destroyed in afterEach. */
export const clients: Client[] = [];

/**
 * Connect to 127.0.0.1:`port`. Half-open is allowed by default, so the test
 * ends its side itself; with `allowHalfOpen: false` the socket ends its side
 * as soon as the peer's EOF arrives (node's default), so a server that closes
 * the connection shows as `close`.
 */
export async function connectTo(port: number, host = '127.0.0.1', opts: { allowHalfOpen?: boolean } = {}): Promise<Client> {
  const c = new Client(net.connect({ host, port, allowHalfOpen: opts.allowHalfOpen ?? true }));
  clients.push(c);
  await within(c.connected, 5000, `a connection to ${host}:${port}`);
  return c;
}

/** A node:net server on 127.0.0.1 with a port picked by the system. */
export async function startServer(onConnection: (s: net.Socket) => void, host = '127.0.0.1'): Promise<{ server: net.Server; port: number; close(): Promise<void> }> {
  const server = net.createServer({ allowHalfOpen: true }, onConnection);
  await within(
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    }),
    5000,
    'a test server to listen',
  );
  const port = (server.address() as net.AddressInfo).port;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Do not let an open connection hold the close up.
      (server as net.Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    });
  servers.push({ close });
  return { server, port, close };
}

/**
 * A server that collects what its (first) client sends up to the client's
 * EOF: `got` resolves with it as text, and `onEnd` decides what the server
 * does then (answer and end, destroy...).
 *
 * @param onEnd Called at the client's EOF with the socket and the text.
 * @param onConnection Called first, for each connection (e.g. to send a banner).
 * @returns The port, and what arrived.
 */
export async function startEofServer(
  onEnd: (s: net.Socket, text: string) => void,
  onConnection?: (s: net.Socket) => void,
): Promise<{ port: number; got: Promise<string> }> {
  let resolveGot!: (s: string) => void;
  const got = new Promise<string>((r) => (resolveGot = r));
  const srv = await startServer((s) => {
    const parts: Buffer[] = [];
    s.on('error', () => {});
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => {
      const text = Buffer.concat(parts).toString();
      resolveGot(text);
      onEnd(s, text);
    });
    onConnection?.(s);
  });
  return { port: srv.port, got };
}

/** Servers opened by a test, closed in afterEach. */
export const servers: { close(): Promise<void> }[] = [];

/**
 * A port on 127.0.0.1 that nothing listens on now: bound by us then
 * released (the kernel does not hand out the same ephemeral port again at
 * once).
 */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Try once to connect: true when something accepts. */
export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Poll until `port` accepts connections, at most `ms`. */
export async function waitAccepting(port: number, ms = 10000, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; Date.now() < deadline && i < 1000; i++) {
    if (await canConnect(port, host)) return;
    await delay(25);
  }
  throw new Error(`nothing accepted connections on ${host}:${port} within ${ms} ms`);
}

/** Cleanup for afterEach. */
export async function cleanup(): Promise<void> {
  for (const c of clients.splice(0)) c.socket.destroy();
  for (const p of started.splice(0)) p.kill();
  await Promise.all(servers.splice(0).map((s) => within(s.close(), 2000, 'a server to close').catch(() => undefined)));
}

/** Write `data` to a socket in pieces with backpressure, then end it. */
export async function writeAll(sock: net.Socket | NodeJS.WritableStream, data: Buffer, piece = 1 << 20): Promise<void> {
  for (let off = 0; off < data.length; off += piece) {
    const ok = sock.write(data.subarray(off, off + piece));
    if (!ok) await within(new Promise<void>((r) => sock.once('drain', () => r())), 20000, 'drain');
  }
  await new Promise<void>((r) => sock.end(() => r()));
}
