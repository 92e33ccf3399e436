/**
 * The reactor: one object through which the program listens, connects,
 * schedules and shuts down, over Node's own event loop (libuv is the
 * select/epoll loop; there is no second one).
 *
 * Importing this module starts nothing: no socket, timer or signal handler
 * exists until a method is called.
 *
 * @module
 */

import { lstatSync, unlinkSync, chmodSync } from 'node:fs';
import net from 'node:net';
import { Deferred, DeferredList, Failure, maybeDeferred } from './defer.js';
import { CannotListenError, ConnectError, ExitCode, ReactorNotRunning, UsageError, exitCodeFor } from './errors.js';
import { logMessage } from './log.js';
import { ProcessTransport, type SpawnOptions } from './process.js';
import type { ClientFactory, DatagramProtocol, Factory, IConnector, ProcessProtocol } from './protocol.js';
import { SlotSet } from './slotset.js';
import { ThreadPool, _setDefaultPool } from './threads.js';
import { type TLSOptions, connectTLS, listenTLS } from './tls.js';
import { UDPPort } from './udp.js';
import { StreamConnector, StreamListeningPort, formatHostPort, nodeUnixPath, unixPathProblem } from './tcp.js';
import { type IDelayedCall, type IReactorTime, realClock } from './task.js';

/** Options of {@link Reactor.listenTCP}. */
export interface ListenTCPOptions {
  /** Address to bind (default: every IPv4 and IPv6 address). */
  host?: string;
  /** Listen backlog (default 511). */
  backlog?: number;
  /** Only IPv6 when binding `::`. */
  ipv6Only?: boolean;
  /**
   * Look each connection's addresses up (system calls) only when asked
   * (`getHost()`, `getPeer()`, `stats.peer`/`local`) while it is open,
   * instead of as it is accepted: for servers that report no addresses.
   */
  lazyAddresses?: boolean;
}

/** Options of {@link Reactor.connectTCP}. */
export interface ConnectTCPOptions {
  /** Give up after this long (ms). */
  timeoutMs?: number;
  /** Local address to bind: `{ host, port }` (either may be omitted). */
  bindAddress?: { host?: string; port?: number };
  /** Address family for name resolution. */
  family?: 4 | 6;
  /** Disable Nagle's algorithm (default true). */
  noDelay?: boolean;
  /** Look the connection's addresses up only when asked (see {@link ListenTCPOptions.lazyAddresses}). */
  lazyAddresses?: boolean;
}

/** Options of {@link Reactor.listenUNIX}. */
export interface ListenUNIXOptions {
  /** Permissions of the socket file, e.g. `0o600`. */
  mode?: number;
  /** Remove a stale socket left at the path (never a file that is not a socket). */
  unlinkStale?: boolean;
  /** Listen backlog. */
  backlog?: number;
}

type Phase = 'before' | 'during' | 'after';
type SystemEvent = 'startup' | 'shutdown';
interface Trigger {
  id: number;
  phase: Phase;
  event: SystemEvent;
  fn: (...args: any[]) => unknown;
  args: unknown[];
}

/**
 * The reactor: networking, time and life cycle. Use the exported
 * {@link reactor}; tests use `MemoryReactor` from `wirecat/testing`.
 */
export class Reactor implements IReactorTime {
  /** Whether `run()` has been called and shutdown has not finished. */
  running = false;
  /** The signal that stopped the reactor, if one did. */
  stoppedBySignal: NodeJS.Signals | undefined = undefined;

  private readonly _clock = realClock;
  private _triggers: Trigger[] = [];
  private _nextTriggerId = 1;
  private _whenRunning: [(...args: any[]) => unknown, unknown[]][] = [];
  private _stopping: Deferred<void> | undefined = undefined;
  private _runResolve: (() => void) | undefined;
  private _runPromise: Promise<void> | undefined;
  /** Open sockets, destroyed at shutdown (a SlotSet: see slotset.ts for why not a Set). */
  private readonly _sockets = new SlotSet<net.Socket>();
  /** `_track`, bound once (connectors take it per connection). */
  private readonly _trackSocket = (socket: net.Socket, open: boolean): void => this._track(socket, open);
  private readonly _processes = new Set<ProcessTransport>();
  private readonly _ports = new Set<{ stopListening(): Deferred<void> }>();
  private _signalHandlers: [NodeJS.Signals, () => void][] = [];
  private _keepAlive: NodeJS.Timeout | undefined = undefined;
  private _threadPool: ThreadPool | undefined = undefined;
  private _threadPoolSize = 4;

  // ------------------------------------------------------------ time

  /** @returns Monotonic milliseconds. */
  now(): number {
    return this._clock.now();
  }

  /**
   * Call `fn(...args)` `ms` from now.
   *
   * @param ms Delay in milliseconds.
   * @param fn The function.
   * @param args Its arguments.
   * @returns The delayed call.
   */
  callLater<A extends unknown[]>(ms: number, fn: (...args: A) => unknown, ...args: A): IDelayedCall {
    return this._clock.callLater(ms, fn, ...args);
  }

  /** @returns Calls scheduled and not yet run or cancelled. */
  getDelayedCalls(): IDelayedCall[] {
    return this._clock.getDelayedCalls();
  }

  // ------------------------------------------------------------ TCP

  /**
   * Listen for TCP connections.
   *
   * @param port The port (0: any free port; `getHost()` tells which).
   * @param factory Builds a protocol per connection.
   * @param opts Host, backlog.
   * @returns A Deferred of the listening port; fails with `CannotListenError`.
   */
  listenTCP(port: number, factory: Factory, opts: ListenTCPOptions = {}): Deferred<StreamListeningPort> {
    const listenOptions: net.ListenOptions = { port, backlog: opts.backlog ?? 511 };
    if (opts.host !== undefined && opts.host !== '') listenOptions.host = opts.host;
    if (opts.ipv6Only) listenOptions.ipv6Only = true;
    return this._trackPort(
      StreamListeningPort.listen(factory, {
        kind: 'tcp',
        createServer: (onSocket) => net.createServer({ allowHalfOpen: true, noDelay: true }, onSocket),
        connectionEvent: 'connection',
        listenOptions,
        addressText: formatHostPort(opts.host || '*', port),
        track: (s, open) => this._track(s, open),
        lazyAddresses: opts.lazyAddresses,
      }),
    );
  }

  /**
   * Connect to a TCP server.
   *
   * @param host Host name or address (IPv6 with a scope: `fe80::1%eth0`).
   * @param port The port.
   * @param factory Told of progress; builds the protocol.
   * @param opts Timeout, local bind address, family.
   * @returns The connector (already connecting).
   */
  connectTCP(host: string, port: number, factory: ClientFactory, opts: ConnectTCPOptions = {}): StreamConnector {
    const destinationText = formatHostPort(host, port);
    const c = new StreamConnector(factory, {
      kind: 'tcp',
      destination: { type: 'TCP', host, port },
      destinationText,
      readyEvent: 'connect',
      timeoutMs: opts.timeoutMs,
      clock: this,
      track: this._trackSocket,
      numericHost: net.isIP(host) !== 0,
      lazyAddresses: opts.lazyAddresses,
      connect: () =>
        net.connect({
          host,
          port,
          allowHalfOpen: true,
          noDelay: opts.noDelay ?? true,
          localAddress: opts.bindAddress?.host,
          localPort: opts.bindAddress?.port,
          family: opts.family,
          autoSelectFamily: opts.family === undefined,
        } as net.NetConnectOpts),
    });
    c.connect();
    return c;
  }

  // ------------------------------------------------------------ Unix

  /**
   * Listen on a Unix stream socket. A path starting with `@` is a Linux
   * abstract name (no file). The socket file is removed when the port stops.
   *
   * @param path The socket's path.
   * @param factory Builds a protocol per connection.
   * @param opts Mode, stale-socket removal, backlog.
   * @returns A Deferred of the port; fails with `CannotListenError` (path
   *   in use, not a socket, permission denied).
   */
  listenUNIX(path: string, factory: Factory, opts: ListenUNIXOptions = {}): Deferred<StreamListeningPort> {
    const problem = unixPathProblem(path);
    if (problem !== undefined) {
      const d = new Deferred<StreamListeningPort>();
      d.errback(new CannotListenError(problem, path, 'ENAMETOOLONG'));
      return d;
    }
    const abstract = path.startsWith('@');
    const start = abstract || !opts.unlinkStale ? new Deferred<void>() : _removeStaleSocket(path);
    if (abstract || !opts.unlinkStale) start.callback(undefined);
    return this._trackPort(
      start.addCallback(() =>
        StreamListeningPort.listen(factory, {
          kind: 'unix',
          createServer: (onSocket) => net.createServer({ allowHalfOpen: true }, onSocket),
          connectionEvent: 'connection',
          listenOptions: { path: nodeUnixPath(path), backlog: opts.backlog ?? 511 },
          addressText: path,
          track: (s, open) => this._track(s, open),
          afterListen: () => {
            if (!abstract && opts.mode !== undefined) chmodSync(path, opts.mode);
          },
          afterClose: () => {
            if (!abstract) _unlinkIfSocket(path);
          },
        }),
      ) as unknown as Deferred<StreamListeningPort>,
    );
  }

  /**
   * Connect to a Unix stream socket (`@name`: abstract).
   *
   * @param path The socket's path.
   * @param factory Told of progress; builds the protocol.
   * @param opts Timeout.
   * @returns The connector (already connecting).
   */
  connectUNIX(path: string, factory: ClientFactory, opts: { timeoutMs?: number } = {}): StreamConnector {
    const problem = unixPathProblem(path);
    const c = new StreamConnector(factory, {
      kind: 'unix',
      destination: { type: 'UNIX', path },
      destinationText: path,
      readyEvent: 'connect',
      timeoutMs: opts.timeoutMs,
      clock: this,
      track: (s, open) => this._track(s, open),
      connect: () => {
        if (problem !== undefined) throw new ConnectError(problem, path, 'ENAMETOOLONG');
        return net.connect({ path: nodeUnixPath(path), allowHalfOpen: true });
      },
    });
    c.connect();
    return c;
  }

  // ------------------------------------------------------------ TLS

  /**
   * Listen for TLS connections; the protocol is built after the handshake.
   *
   * @param port The port (0: any).
   * @param factory Builds a protocol per connection.
   * @param tlsOptions `cert`, `key` and Node's TLS server options, plus `host`, `backlog`.
   * @param onClientError Told of each failed handshake.
   * @returns A Deferred of the port.
   */
  listenTLS(
    port: number,
    factory: Factory,
    tlsOptions: TLSOptions & { host?: string; backlog?: number },
    onClientError?: (err: Error) => void,
  ): Deferred<StreamListeningPort> {
    return this._trackPort(listenTLS(port, factory, tlsOptions, (s, open) => this._track(s, open), onClientError));
  }

  /**
   * Connect with TLS; verification is on unless `rejectUnauthorized: false`.
   * A failed handshake or verification reaches `clientConnectionFailed` as a
   * `TLSError` with OpenSSL's reason.
   *
   * @param host The server (and the name verified and sent as SNI).
   * @param port The port.
   * @param factory Told of progress; builds the protocol.
   * @param tlsOptions Node's TLS client options, plus `timeoutMs`, `bindAddress`, `family`.
   * @returns The connector (already connecting).
   */
  connectTLS(host: string, port: number, factory: ClientFactory, tlsOptions: TLSOptions = {}): StreamConnector {
    return connectTLS(host, port, factory, tlsOptions, this, (s, open) => this._track(s, open));
  }

  // ------------------------------------------------------------ UDP

  /**
   * Bind a UDP socket.
   *
   * @param port The port (0: any).
   * @param protocol Receives datagrams.
   * @param opts Host (its family picks IPv4 or IPv6), or `family`.
   * @returns A Deferred of the port.
   */
  listenUDP(port: number, protocol: DatagramProtocol, opts: { host?: string; family?: 4 | 6 } = {}): Deferred<UDPPort> {
    return this._trackPort(UDPPort.listen(port, protocol, opts));
  }

  /**
   * Bind a UDP socket for multicast (join groups with `joinGroup`).
   *
   * @param port The port.
   * @param protocol Receives datagrams.
   * @param opts `listenMultiple` lets other sockets bind the same port; `family` 6 for IPv6 groups.
   * @returns A Deferred of the port.
   */
  listenMulticast(
    port: number,
    protocol: DatagramProtocol,
    opts: { listenMultiple?: boolean; family?: 4 | 6; host?: string } = {},
  ): Deferred<UDPPort> {
    return this._trackPort(
      UDPPort.listen(port, protocol, { host: opts.host, family: opts.family, reuseAddr: opts.listenMultiple ?? false, multicast: true }),
    );
  }

  // ------------------------------------------------------------ processes

  /**
   * Start a child process wired to `processProtocol`.
   *
   * @param processProtocol Receives output and the exit.
   * @param file The program (looked up in PATH).
   * @param args Its arguments, without argv[0].
   * @param opts Environment and working directory.
   * @returns The process transport.
   */
  spawnProcess(processProtocol: ProcessProtocol, file: string, args: readonly string[] = [], opts: SpawnOptions = {}): ProcessTransport {
    const t = ProcessTransport.spawn(processProtocol, file, args, opts);
    this._processes.add(t);
    t.child.once('close', () => this._processes.delete(t));
    return t;
  }

  // ------------------------------------------------------------ threads

  /**
   * The reactor's worker pool, started on first use and stopped at shutdown.
   *
   * @returns The pool.
   */
  getThreadPool(): ThreadPool {
    if (this._threadPool === undefined) {
      this._threadPool = new ThreadPool({ maxThreads: this._threadPoolSize });
      const pool = this._threadPool;
      this.addSystemEventTrigger('during', 'shutdown', () => {
        if (this._threadPool === pool) this._threadPool = undefined;
        return pool.stop();
      });
    }
    return this._threadPool;
  }

  /**
   * Set the most workers the reactor's pool may run.
   *
   * @param n At least 1.
   */
  suggestThreadPoolSize(n: number): void {
    if (!(Number.isInteger(n) && n >= 1)) throw new RangeError('thread pool size must be a whole number >= 1');
    this._threadPoolSize = n;
    if (this._threadPool !== undefined) {
      this._threadPool.maxThreads = n;
      if (this._threadPool.minThreads > n) this._threadPool.minThreads = n;
    }
  }

  // ------------------------------------------------------------ life cycle

  /**
   * Call `fn` once the reactor runs (now, if it does).
   *
   * @param fn The function.
   * @param args Its arguments.
   */
  callWhenRunning(fn: (...args: any[]) => unknown, ...args: unknown[]): void {
    if (this.running) fn(...args);
    else this._whenRunning.push([fn, args]);
  }

  /**
   * Run `fn` at a phase of startup or shutdown. Shutdown triggers may
   * return Deferreds or Promises: the reactor waits for them (a graceful
   * drain) before the next phase.
   *
   * @param phase `before`, `during` or `after`.
   * @param event `startup` or `shutdown`.
   * @param fn The trigger.
   * @param args Its arguments.
   * @returns An id for `removeSystemEventTrigger`.
   */
  addSystemEventTrigger(phase: Phase, event: SystemEvent, fn: (...args: any[]) => unknown, ...args: unknown[]): number {
    if (!['before', 'during', 'after'].includes(phase)) throw new UsageError(`bad trigger phase '${phase}'`);
    const id = this._nextTriggerId++;
    this._triggers.push({ id, phase, event, fn, args });
    return id;
  }

  /** @param id A trigger's id. */
  removeSystemEventTrigger(id: number): void {
    this._triggers = this._triggers.filter((t) => t.id !== id);
  }

  /**
   * Run: fire the startup triggers and `callWhenRunning` calls, and handle
   * SIGINT/SIGTERM with a graceful shutdown.
   *
   * @returns A Promise resolved once shutdown has finished.
   */
  run(): Promise<void> {
    if (this._runPromise !== undefined) return this._runPromise;
    this.running = true;
    this._runPromise = new Promise<void>((resolve) => {
      this._runResolve = resolve;
    });
    // Like Twisted's run(), keep running until stop(), even with nothing to do.
    this._keepAlive = setInterval(() => undefined, 0x7fffffff);
    for (const sig of ['SIGINT', 'SIGTERM'] as NodeJS.Signals[]) {
      const handler = () => this._onSignal(sig);
      process.on(sig, handler);
      this._signalHandlers.push([sig, handler]);
    }
    void this._fireEvent('startup').addCallback(() => {
      const calls = this._whenRunning;
      this._whenRunning = [];
      for (const [fn, args] of calls) {
        try {
          fn(...args);
        } catch (e) {
          logMessage(`Unhandled error in callWhenRunning:\n${new Failure(e).getTraceback()}`);
        }
      }
    });
    return this._runPromise;
  }

  /**
   * Shut down: 'before' triggers (awaited), then close every listening
   * port and connection, then 'during' and 'after' triggers.
   *
   * @returns A Deferred fired when shutdown is done.
   * @throws {ReactorNotRunning} When the reactor is not running.
   */
  stop(): Deferred<void> {
    if (!this.running) throw new ReactorNotRunning();
    if (this._stopping !== undefined) return this._stopping;
    const done = (this._stopping = new Deferred<void>());
    this._fireEvent('shutdown', 'before')
      .addBoth(() => this._disconnectAll())
      .addBoth(() => this._fireEvent('shutdown', 'during'))
      .addBoth(() => this._fireEvent('shutdown', 'after'))
      .addBoth(() => {
        this.running = false;
        clearInterval(this._keepAlive);
        this._keepAlive = undefined;
        for (const [sig, h] of this._signalHandlers) process.removeListener(sig, h);
        this._signalHandlers = [];
        const resolve = this._runResolve;
        this._runPromise = undefined;
        this._runResolve = undefined;
        this._stopping = undefined;
        done.callback(undefined);
        resolve?.();
        return undefined;
      });
    return done;
  }

  // ------------------------------------------------------------ internals

  private _onSignal(sig: NodeJS.Signals): void {
    if (this.stoppedBySignal !== undefined || !this.running) {
      // A second signal: the user means it.
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    this.stoppedBySignal = sig;
    this.stop();
  }

  private _fireEvent(event: SystemEvent, onlyPhase?: Phase): Deferred<unknown> {
    const phases: Phase[] = onlyPhase ? [onlyPhase] : ['before', 'during', 'after'];
    let d: Deferred<unknown> = new Deferred<unknown>();
    d.callback(undefined);
    for (const phase of phases) {
      d = d.addBoth(() => {
        const ds = this._triggers
          .filter((t) => t.event === event && t.phase === phase)
          .map((t) =>
            maybeDeferred(t.fn, ...t.args).addErrback((f: Failure) => {
              logMessage(`Unhandled error in ${event} trigger:\n${f.getTraceback()}`);
              return undefined;
            }),
          );
        return ds.length ? new DeferredList(ds) : undefined;
      });
    }
    return d;
  }

  private _disconnectAll(): Deferred<unknown> {
    const waits: Deferred<unknown>[] = [...this._ports].map((p) => p.stopListening());
    this._ports.clear();
    for (const s of this._sockets) {
      // Wait for 'close', so that every protocol has had connectionLost
      // before the 'during' and 'after' shutdown triggers run.
      if (!s.destroyed || !s.closed) {
        const closed = new Deferred<unknown>();
        s.once('close', () => closed.callback(undefined));
        waits.push(closed);
      }
      s.destroy();
    }
    this._sockets.clear();
    for (const p of this._processes) p.stopProducing();
    return new DeferredList(waits, { consumeErrors: true });
  }

  private _track(socket: net.Socket, open: boolean): void {
    if (open) this._sockets.add(socket);
    else this._sockets.delete(socket);
  }

  private _trackPort<P extends { stopListening(): Deferred<void> }>(d: Deferred<P>): Deferred<P> {
    return d.addCallback((port: P) => {
      this._ports.add(port);
      const stop = port.stopListening.bind(port);
      port.stopListening = () => {
        this._ports.delete(port);
        return stop();
      };
      return port;
    });
  }
}

function _unlinkIfSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // gone already
  }
}

/**
 * Remove a socket file nobody listens on; refuse to touch anything that is
 * not a socket.
 */
function _removeStaleSocket(path: string): Deferred<void> {
  const d = new Deferred<void>();
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    d.callback(undefined); // nothing there
    return d;
  }
  if (!isSocket) {
    d.errback(new CannotListenError('Path exists and is not a socket; not removing it', path, 'EEXIST'));
    return d;
  }
  const probe = net.connect({ path });
  probe.once('connect', () => {
    probe.destroy();
    d.errback(new CannotListenError('Address already in use: another process is listening', path, 'EADDRINUSE'));
  });
  probe.once('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ECONNREFUSED') {
      _unlinkIfSocket(path);
      d.callback(undefined);
    } else {
      d.errback(new CannotListenError(err.message, path, err.code));
    }
  });
  return d;
}

/** The process's reactor. */
export const reactor: Reactor = new Reactor();
_setDefaultPool(() => reactor.getThreadPool());

/** Re-exported for callers that only know the reactor module. */
export type { IConnector };

/** Options of {@link react}. */
export interface ReactOptions {
  /** The reactor to run (default: the process's). */
  reactor?: Reactor;
  /** How to end the process (default `process.exit`, after stdout and stderr are flushed). */
  exit?: (code: number) => void;
}

/**
 * Run `main(reactor, argv)` on a running reactor, wait for the Deferred or
 * Promise it returns, shut the reactor down and exit with the code the
 * outcome maps to: a number result is the code, any other success is 0, a
 * failure maps through {@link exitCodeFor} (its traceback goes to the core
 * logger), and SIGINT/SIGTERM give 130/143 after the graceful shutdown.
 *
 * @param main The program.
 * @param argv Its arguments.
 * @param opts Another reactor, or another way to exit.
 * @returns A Promise that settles only if `exit` returns.
 * @example
 * react(async (reactor) => {
 *   const port = await reactor.listenTCP(0, Factory.forProtocol(Echo));
 *   ...
 * });
 */
export async function react(
  main: (reactor: Reactor, argv: string[]) => unknown,
  argv: string[] = [],
  opts: ReactOptions = {},
): Promise<void> {
  const r = opts.reactor ?? reactor;
  const exit = opts.exit ?? _exitAfterFlush;
  const stopped = r.run();
  let code: number;
  const outcome = new Promise<number>((resolve) => {
    r.callWhenRunning(() => {
      maybeDeferred(main, r, argv).addCallbacks(
        (result: unknown) => {
          resolve(typeof result === 'number' ? result : ExitCode.OK);
          return undefined;
        },
        (f: Failure) => {
          logMessage(`main function encountered error:\n${f.getTraceback()}`);
          resolve(exitCodeFor(f.value));
          return undefined;
        },
      );
    });
  });
  code = await Promise.race([outcome, stopped.then(() => -1)]);
  if (code === -1) {
    // Stopped from outside (a signal) before main finished.
    code = r.stoppedBySignal === 'SIGINT' ? ExitCode.SIGINT : r.stoppedBySignal === 'SIGTERM' ? ExitCode.SIGTERM : ExitCode.OK;
  } else {
    if (r.running) r.stop();
    await stopped;
    if (r.stoppedBySignal === 'SIGINT') code = ExitCode.SIGINT;
    else if (r.stoppedBySignal === 'SIGTERM') code = ExitCode.SIGTERM;
  }
  exit(code);
}

function _exitAfterFlush(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}
