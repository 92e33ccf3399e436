/**
 * Stream sockets over `node:net`: TCP and Unix listening ports and
 * connectors, and (through a `connect`/`createServer` hook) TLS.
 *
 * @module
 */

import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { Deferred, Failure } from './defer.js';
import { type ConnectionStats, newConnectionStats, counters, recordingConnections, setAddressTexts } from './diagnostics.js';
import { CancelledError, CannotListenError, TimeoutError, connectErrorFrom } from './errors.js';
import type { Address, ClientFactory, Factory, IConnector, IListeningPort, InetAddress, Protocol } from './protocol.js';
import { SlotSet } from './slotset.js';
import { StreamTransport, logProtocolError } from './stream.js';
import type { IDelayedCall, IReactorTime } from './task.js';

/** `host:port`, with brackets around an IPv6 host. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Node's notation for a Linux abstract socket: a leading NUL instead of `@`. */
export function nodeUnixPath(path: string): string {
  return path.startsWith('@') ? `\0${path.slice(1)}` : path;
}

/** The address of a socket's end, from Node's socket fields. */
export function socketAddress(kind: 'TCP' | 'UNIX', address: string | undefined, port: number | undefined, path?: string): Address {
  if (kind === 'UNIX') return { type: 'UNIX', path: path ?? '' };
  return { type: 'TCP', host: address ?? '', port: port ?? 0 };
}

/**
 * A TCP socket's own or peer's address, read from the socket when first
 * used: each lookup is a system call, which a busy relay that reports
 * nothing need not make. Read after the socket closed, it is empty (`''`,
 * port 0). `describe()` gives `host:port` (a lazy text for the statistics).
 */
export class LazySocketAddress implements InetAddress {
  readonly type = 'TCP' as const;
  private _a: { host: string; port: number } | undefined = undefined;

  /**
   * @param _socket The socket.
   * @param _remote The peer's address (else ours).
   */
  constructor(
    private readonly _socket: net.Socket,
    private readonly _remote: boolean,
  ) {}

  private _get(): { host: string; port: number } {
    if (this._a !== undefined) return this._a;
    const s = this._socket;
    return (this._a = this._remote ? { host: s.remoteAddress ?? '', port: s.remotePort ?? 0 } : { host: s.localAddress ?? '', port: s.localPort ?? 0 });
  }

  get host(): string {
    return this._get().host;
  }

  get port(): number {
    return this._get().port;
  }

  /** @returns `host:port`. */
  describe(): string {
    return formatHostPort(this.host, this.port);
  }

  /** @returns The plain address. */
  toJSON(): InetAddress {
    return { type: 'TCP', host: this.host, port: this.port };
  }
}

/** An address as text: `host:port`, a path, or the kind of endpoint. */
export function addressText(a: Address): string {
  if (a.type === 'TCP' || a.type === 'UDP') return formatHostPort(a.host, a.port);
  return ('path' in a && a.path) || a.type.toLowerCase();
}

/**
 * `factory.buildProtocol(peer)`, where a throw refuses the connection (and
 * is logged) instead of escaping an event handler.
 *
 * @param factory The factory.
 * @param peer The peer's address.
 * @returns The protocol, or undefined to refuse.
 */
export function buildProtocolSafely(factory: Factory, peer: Address): Protocol | undefined {
  try {
    return factory.buildProtocol(peer);
  } catch (e) {
    logProtocolError(`${factory.constructor.name}.buildProtocol`, e);
    return undefined;
  }
}

/** Everything a connector needs to make one socket and describe it. */
export interface StreamConnectParams {
  /** `tcp`, `unix` or `tls`, for the statistics. */
  kind: string;
  /** The destination, for `getDestination()`. */
  destination: Address;
  /** Text of the destination for messages. */
  destinationText: string;
  /** Make the socket and start connecting; the event that means "up" is `readyEvent`. */
  connect: () => net.Socket;
  /** `connect` for plain sockets, `secureConnect` for TLS. */
  readyEvent: string;
  /** Translate a failure before the connection was up. */
  failure?: (err: unknown, socket: net.Socket) => Error;
  /** Called when up, before the protocol is built (TLS: record handshake data). */
  onReady?: (socket: net.Socket, transport: { stats: import('./diagnostics.js').ConnectionStats }) => void;
  /** Connect timeout (ms). */
  timeoutMs?: number;
  /** Where timeouts are scheduled. */
  clock: IReactorTime;
  /** Called when the connector's socket opens and closes (for shutdown). */
  track?: (socket: net.Socket, open: boolean) => void;
  /** The destination is an address (no name lookup to time). */
  numericHost?: boolean;
  /**
   * Look the socket's addresses up only when asked (`getHost()`, `getPeer()`,
   * `stats.peer`/`local`), not as it connects: for callers that report no
   * addresses. Ignored while connection records are kept (`--stats`).
   */
  lazyAddresses?: boolean;
}

/**
 * An outgoing stream connection attempt, retryable with `connect()`.
 */
export class StreamConnector implements IConnector {
  /** `disconnected`, `connecting` or `connected`. */
  state: 'disconnected' | 'connecting' | 'connected' = 'disconnected';
  /** The transport, once connected. */
  transport: StreamTransport | undefined = undefined;

  private readonly _factory: ClientFactory;
  private readonly _params: StreamConnectParams;
  private _socket: net.Socket | undefined = undefined;
  private _timer: IDelayedCall | undefined = undefined;
  private _factoryStarted = false;

  /**
   * @param factory Told of the attempt's progress; builds the protocol.
   * @param params How to make the socket.
   */
  constructor(factory: ClientFactory, params: StreamConnectParams) {
    this._factory = factory;
    this._params = params;
  }

  /** Start an attempt (again). */
  connect(): void {
    if (this.state !== 'disconnected') throw new Error(`cannot connect in state ${this.state}`);
    this.state = 'connecting';
    if (!this._factoryStarted) {
      this._factory.doStart();
      this._factoryStarted = true;
    }
    this._factory.startedConnecting(this);
    if (this.state !== 'connecting') return; // stopConnecting() from startedConnecting
    const p = this._params;
    const stats = newConnectionStats(p.kind, 'connected', p.destinationText);
    let socket: net.Socket;
    try {
      socket = p.connect();
    } catch (e) {
      this._failed(connectErrorFrom(e, p.destinationText));
      return;
    }
    this._socket = socket;
    p.track?.(socket, true);
    if (p.timeoutMs !== undefined && p.timeoutMs > 0) {
      this._timer = p.clock.callLater(p.timeoutMs, () => {
        this._timer = undefined;
        this._abandon(new TimeoutError(`Connection timed out after ${p.timeoutMs} ms (attempted address: ${p.destinationText})`, p.timeoutMs));
      });
    }
    if (p.numericHost !== true) {
      socket.once('lookup', () => {
        stats.extra.dnsMs = performance.now() - stats.startedAt;
      });
    }
    if (p.readyEvent !== 'connect') {
      socket.once('connect', () => {
        stats.connectedAt = performance.now();
      });
    }
    const onError = (err: Error) => {
      this._abandon(p.failure ? p.failure(err, socket) : connectErrorFrom(err, p.destinationText));
    };
    socket.once('error', onError);
    socket.once(p.readyEvent, () => {
      socket.removeListener('error', onError);
      this._cancelTimer();
      const now = performance.now();
      stats.connectedAt ??= now;
      if (p.readyEvent !== 'connect') stats.secureAt = now;
      let host: Address;
      let peer: Address;
      if (p.lazyAddresses === true && p.kind === 'tcp' && !recordingConnections()) {
        const h = (host = new LazySocketAddress(socket, false));
        const q = (peer = new LazySocketAddress(socket, true));
        setAddressTexts(stats, q, h);
      } else {
        host = socket.remoteFamily === undefined && p.kind === 'unix'
          ? socketAddress('UNIX', undefined, undefined, '')
          : socketAddress(p.kind === 'unix' ? 'UNIX' : 'TCP', socket.localAddress, socket.localPort);
        peer = p.kind === 'unix' ? p.destination : socketAddress('TCP', socket.remoteAddress, socket.remotePort);
        stats.peer = addressText(peer);
        stats.local = addressText(host);
      }
      p.onReady?.(socket, { stats });
      this.state = 'connected';
      const protocol = buildProtocolSafely(this._factory, peer);
      if (protocol === undefined) {
        socket.destroy();
        return;
      }
      this.transport = new StreamTransport(socket, protocol, {
        host,
        peer,
        stats,
        peerText: p.destinationText,
        closeHook: this,
      });
    });
  }

  /** Stop the attempt or close the connection. */
  disconnect(): void {
    if (this.state === 'connecting') this.stopConnecting();
    else if (this.state === 'connected') this.transport?.loseConnection();
  }

  /**
   * Stop an attempt in progress; the factory hears `clientConnectionFailed`
   * with a `CancelledError`-like failure.
   *
   * @throws {Error} When not connecting.
   */
  stopConnecting(): void {
    if (this.state !== 'connecting') throw new Error('not connecting');
    this._abandon(new ConnectionAttemptStopped(this._params.destinationText));
  }

  /** @returns The destination. */
  getDestination(): Address {
    return this._params.destination;
  }

  private _cancelTimer(): void {
    if (this._timer !== undefined && this._timer.active()) this._timer.cancel();
    this._timer = undefined;
  }

  private _abandon(err: Error): void {
    if (this.state !== 'connecting') return;
    const s = this._socket;
    if (s !== undefined) {
      s.removeAllListeners(this._params.readyEvent);
      s.on('error', () => undefined);
      s.destroy();
    }
    this._failed(err);
  }

  private _failed(err: Error): void {
    this._cancelTimer();
    const s = this._socket;
    if (s !== undefined) this._params.track?.(s, false);
    this._socket = undefined;
    this.state = 'disconnected';
    counters.connectionsFailed++;
    try {
      this._factory.clientConnectionFailed(this, new Failure(err));
    } catch (e) {
      logProtocolError(`${this._factory.constructor.name}.clientConnectionFailed`, e);
    }
    if (this.state === 'disconnected') this._stopFactory();
  }

  /** @internal The connection closed. */
  transportClosed(_t: StreamTransport, reason: Failure): void {
    this._lost(reason);
  }

  private _lost(reason: Failure): void {
    const s = this._socket;
    if (s !== undefined) this._params.track?.(s, false);
    this._socket = undefined;
    this.transport = undefined;
    this.state = 'disconnected';
    try {
      this._factory.clientConnectionLost(this, reason);
    } catch (e) {
      logProtocolError(`${this._factory.constructor.name}.clientConnectionLost`, e);
    }
    if (this.state === 'disconnected') this._stopFactory();
  }

  private _stopFactory(): void {
    if (this._factoryStarted) {
      this._factoryStarted = false;
      this._factory.doStop();
    }
  }
}

/** An attempt stopped by `stopConnecting()`: a `CancelledError` naming the address. */
export class ConnectionAttemptStopped extends CancelledError {
  /** @param address The address that was being connected to. */
  constructor(address: string) {
    super(`Connection attempt stopped (attempted address: ${address})`);
  }
}

/** The longest Unix socket path Linux takes (sun_path is 108 bytes with the NUL). */
export const MAX_UNIX_PATH_BYTES = 107;

/**
 * Check a Unix socket path's length: Node would silently cut a longer one.
 *
 * @param path The path (`@name` for an abstract socket).
 * @returns An error message, or undefined when the path fits.
 */
export function unixPathProblem(path: string): string | undefined {
  const n = Buffer.byteLength(path);
  if (n > MAX_UNIX_PATH_BYTES) return `Unix socket path too long (${n} bytes, at most ${MAX_UNIX_PATH_BYTES})`;
  if (n === 0 || path === '@') return 'empty Unix socket path';
  return undefined;
}

/** What a listening stream port needs. */
export interface StreamListenParams {
  /** `tcp`, `unix` or `tls`. */
  kind: 'tcp' | 'unix' | 'tls';
  /** Make the (not yet listening) server. */
  createServer: (onSocket: (socket: net.Socket) => void) => net.Server;
  /** The event of a connection ready for the protocol (`connection`, `secureConnection`). */
  connectionEvent: string;
  /** Arguments of `server.listen()`. */
  listenOptions: net.ListenOptions;
  /** Text of what is bound, for error messages. */
  addressText: string;
  /** Called for each socket ready, before the protocol is built (TLS: handshake data). */
  onReady?: (socket: net.Socket, transport: { stats: import('./diagnostics.js').ConnectionStats }) => void;
  /** Called when the port is listening (Unix: chmod). */
  afterListen?: () => void;
  /** Called after the port closed (Unix: unlink the path). */
  afterClose?: () => void;
  /** Called with each connection's socket as it opens and closes (for shutdown). */
  track?: (socket: net.Socket, open: boolean) => void;
  /** TCP: look each connection's addresses up only when asked (see {@link StreamConnectParams.lazyAddresses}). */
  lazyAddresses?: boolean;
}

/**
 * A listening TCP, Unix or TLS port: builds a protocol per accepted connection.
 */
export class StreamListeningPort implements IListeningPort {
  /** The Node server. */
  readonly server: net.Server;
  /** Transports of the connections accepted and still open. */
  readonly connections = new SlotSet<StreamTransport>();
  private readonly _factory: Factory;
  private readonly _params: StreamListenParams;
  private _closed: Deferred<void> | undefined;

  private constructor(factory: Factory, params: StreamListenParams) {
    this._factory = factory;
    this._params = params;
    this.server = params.createServer((socket) => this._accept(socket));
  }

  /**
   * Bind and listen.
   *
   * @param factory Builds a protocol per connection.
   * @param params How to make and bind the server.
   * @returns A Deferred of the port, or a `CannotListenError` Failure.
   */
  static listen(factory: Factory, params: StreamListenParams): Deferred<StreamListeningPort> {
    const port = new StreamListeningPort(factory, params);
    const d = new Deferred<StreamListeningPort>();
    const onError = (err: NodeJS.ErrnoException) => {
      d.errback(new CannotListenError(_listenMessage(err), params.addressText, err.code));
    };
    port.server.once('error', onError);
    port.server.listen(params.listenOptions, () => {
      port.server.removeListener('error', onError);
      port.server.on('error', (err) => logProtocolError('listening port', err));
      try {
        params.afterListen?.();
      } catch (e) {
        port.server.close();
        d.errback(new CannotListenError(_listenMessage(e as NodeJS.ErrnoException), params.addressText));
        return;
      }
      factory.doStart();
      d.callback(port);
    });
    return d;
  }

  /** @returns The bound address, with the real port when 0 was asked for. */
  getHost(): Address {
    const a = this.server.address();
    if (a === null) return this._params.kind === 'unix' ? { type: 'UNIX', path: this._params.addressText } : { type: 'TCP', host: '', port: 0 };
    if (typeof a === 'string') return { type: 'UNIX', path: this._params.addressText };
    return { type: 'TCP', host: a.address, port: a.port };
  }

  /**
   * Stop accepting connections (those accepted carry on).
   *
   * @returns A Deferred fired once the listening socket is closed.
   */
  stopListening(): Deferred<void> {
    if (this._closed !== undefined) return this._closed;
    const d = (this._closed = new Deferred<void>());
    if (!this.server.listening) {
      d.callback(undefined);
      return d;
    }
    // server.close() closes the listening handle at once; its callback waits
    // for every accepted connection, which is not what stopping means here.
    this.server.close();
    setImmediate(() => {
      try {
        this._params.afterClose?.();
      } finally {
        this._factory.doStop();
        d.callback(undefined);
      }
    });
    return d;
  }

  private _accept(socket: net.Socket): void {
    const p = this._params;
    let host: Address;
    let peer: Address;
    let stats: ConnectionStats;
    if (p.kind === 'unix') {
      host = { type: 'UNIX', path: p.addressText };
      peer = { type: 'UNIX', path: '' };
      stats = newConnectionStats(p.kind, 'accepted', addressText(peer) || 'unix peer', addressText(host));
    } else if (p.lazyAddresses === true && !recordingConnections()) {
      const h = (host = new LazySocketAddress(socket, false));
      const q = (peer = new LazySocketAddress(socket, true));
      stats = newConnectionStats(p.kind, 'accepted', q, h);
    } else {
      host = socketAddress('TCP', socket.localAddress, socket.localPort);
      peer = socketAddress('TCP', socket.remoteAddress, socket.remotePort);
      stats = newConnectionStats(p.kind, 'accepted', addressText(peer), addressText(host));
    }
    stats.connectedAt = stats.startedAt;
    p.onReady?.(socket, { stats });
    const protocol = buildProtocolSafely(this._factory, peer);
    if (protocol === undefined) {
      socket.destroy();
      return;
    }
    p.track?.(socket, true);
    const t: StreamTransport = new StreamTransport(socket, protocol, {
      host,
      peer,
      stats,
      closeHook: this,
    });
    if (t.connected) this.connections.add(t);
  }

  /** @internal A connection accepted here closed. */
  transportClosed(t: StreamTransport): void {
    this.connections.delete(t);
    this._params.track?.(t.socket as net.Socket, false);
  }
}

function _listenMessage(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return 'Address already in use';
    case 'EACCES':
      return 'Permission denied';
    case 'EADDRNOTAVAIL':
      return 'Address not available';
    default:
      return err.message;
  }
}
