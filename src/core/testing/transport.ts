/**
 * Test doubles for transports and the reactor, after Twisted's
 * `twisted.internet.testing`: protocol code is tested against these first,
 * without the network, then once over real sockets.
 *
 * @module
 */

import { Deferred, Failure, succeed } from '../defer.js';
import { ConnectionDone } from '../errors.js';
import type {
  Address,
  ClientFactory,
  DatagramProtocol,
  Factory,
  IConnector,
  IListeningPort,
  IPushProducer,
  ITransport,
  Protocol,
} from '../protocol.js';
import { Clock, type IDelayedCall, type IReactorTime } from '../task.js';

/**
 * A transport that records what is written, for protocol tests.
 *
 * @example
 * const t = new StringTransport();
 * proto.makeConnection(t);
 * proto.dataReceived(Buffer.from('PING\r\n'));
 * t.value().toString(); // 'PONG\r\n'
 */
export class StringTransport implements ITransport {
  /** True once `loseConnection()` was called. */
  disconnecting = false;
  /** True once `abortConnection()` was called. */
  aborting = false;
  /** True once `loseWriteConnection()` was called (half-close). */
  writeDisconnecting = false;
  /** The registered producer. */
  producer: IPushProducer | undefined = undefined;
  /** Whether the registered producer is a streaming one. */
  streaming: boolean | undefined = undefined;
  /** What `pauseProducing()` and friends did to this transport as a producer. */
  producerState: 'producing' | 'paused' | 'stopped' = 'producing';

  private _chunks: Buffer[] = [];

  /**
   * @param host The address `getHost()` returns.
   * @param peer The address `getPeer()` returns.
   */
  constructor(
    readonly host: Address = { type: 'TCP', host: '10.0.0.1', port: 12345 },
    readonly peer: Address = { type: 'TCP', host: '192.168.1.1', port: 54321 },
  ) {}

  /** @returns Everything written so far, as one Buffer. */
  value(): Buffer {
    return Buffer.concat(this._chunks);
  }

  /** Forget what was written. */
  clear(): void {
    this._chunks = [];
  }

  /**
   * Record bytes.
   *
   * @param data Bytes or a UTF-8 string.
   * @throws {Error} After `loseWriteConnection()`.
   */
  write(data: Buffer | string): void {
    if (this.writeDisconnecting) throw new Error('write() after loseWriteConnection()');
    this._chunks.push(typeof data === 'string' ? Buffer.from(data) : Buffer.from(data));
  }

  /** @param chunks Recorded in order. */
  writeSequence(chunks: (Buffer | string)[]): void {
    for (const c of chunks) this.write(c);
  }

  /** Mark the transport as disconnecting. */
  loseConnection(): void {
    this.disconnecting = true;
  }

  /** Mark the write side closed; further writes throw. */
  loseWriteConnection(): void {
    this.writeDisconnecting = true;
  }

  /** Mark the transport as aborted (and disconnecting). */
  abortConnection(): void {
    this.aborting = true;
    this.disconnecting = true;
  }

  /** @returns The peer address given to the constructor. */
  getPeer(): Address {
    return this.peer;
  }

  /** @returns The host address given to the constructor. */
  getHost(): Address {
    return this.host;
  }

  /** @throws {Error} When a producer is registered already. */
  registerProducer(producer: IPushProducer, streaming: boolean): void {
    if (this.producer !== undefined) throw new Error('a producer is already registered');
    this.producer = producer;
    this.streaming = streaming;
    if (!streaming) producer.resumeProducing();
  }

  /** @throws {Error} When no producer is registered. */
  unregisterProducer(): void {
    if (this.producer === undefined) throw new Error('no producer is registered');
    this.producer = undefined;
    this.streaming = undefined;
  }

  /** Record that the reader was paused. */
  pauseProducing(): void {
    this._checkState();
    this.producerState = 'paused';
  }

  /** Record that the reader was resumed. */
  resumeProducing(): void {
    this._checkState();
    this.producerState = 'producing';
  }

  /** Record that the reader was stopped. */
  stopProducing(): void {
    this.producerState = 'stopped';
  }

  private _checkState(): void {
    if (this.disconnecting) throw new Error('cannot pause or resume producing after loseConnection()');
    if (this.producerState === 'stopped') throw new Error('cannot resume a stopped producer');
  }
}

/**
 * A {@link StringTransport} that delivers `connectionLost` to its protocol
 * when closed, like a real connection would.
 */
export class StringTransportWithDisconnection extends StringTransport {
  /** The protocol told of the close. */
  protocol: Protocol | undefined = undefined;
  private _lost = false;

  override loseConnection(): void {
    super.loseConnection();
    this._lose(new Failure(new ConnectionDone()));
  }

  override abortConnection(): void {
    super.abortConnection();
    this._lose(new Failure(new ConnectionDone('Connection was aborted')));
  }

  private _lose(reason: Failure): void {
    if (this._lost || this.protocol === undefined) return;
    this._lost = true;
    this.protocol.connected = false;
    this.protocol.connectionLost(reason);
  }
}

/** A listening port recorded by {@link MemoryReactor}. */
export class FakePort implements IListeningPort {
  /** True once `stopListening()` was called. */
  stopped = false;
  constructor(private readonly _host: Address) {}
  getHost(): Address {
    return this._host;
  }
  stopListening(): Deferred<void> {
    this.stopped = true;
    return succeed(undefined);
  }
}

/** A connector recorded by {@link MemoryReactor}. */
export class FakeConnector implements IConnector {
  /** Calls of `connect()` (one by the reactor itself). */
  connectCalls = 0;
  /** True once `stopConnecting()` was called. */
  stoppedConnecting = false;
  /** True once `disconnect()` was called. */
  disconnected = false;
  /** `connecting` until a test says otherwise. */
  state: 'disconnected' | 'connecting' | 'connected' = 'disconnected';
  constructor(private readonly _dest: Address) {}
  connect(): void {
    this.connectCalls++;
    this.state = 'connecting';
  }
  disconnect(): void {
    this.disconnected = true;
    this.state = 'disconnected';
  }
  stopConnecting(): void {
    if (this.state !== 'connecting') throw new Error('not connecting');
    this.stoppedConnecting = true;
    this.state = 'disconnected';
  }
  getDestination(): Address {
    return this._dest;
  }
}

/** A `listenTCP` call recorded by {@link MemoryReactor}. */
export interface RecordedTCPServer {
  port: number;
  factory: Factory;
  backlog: number | undefined;
  host: string | undefined;
  listeningPort: FakePort;
}

/** A `connectTCP` call recorded by {@link MemoryReactor}. */
export interface RecordedTCPClient {
  host: string;
  port: number;
  factory: ClientFactory;
  timeoutMs: number | undefined;
  bindAddress: { host?: string; port?: number } | undefined;
  connector: FakeConnector;
}

/** A `listenUDP`/`listenMulticast` call recorded by {@link MemoryReactor}. */
export interface RecordedUDPPort {
  port: number;
  protocol: DatagramProtocol;
  host: string | undefined;
  multicast: boolean;
}

/** A `listenUNIX` call recorded by {@link MemoryReactor}. */
export interface RecordedUnixServer {
  path: string;
  factory: Factory;
  mode: number | undefined;
  unlinkStale: boolean | undefined;
  listeningPort: FakePort;
}

/** A `connectUNIX` call recorded by {@link MemoryReactor}. */
export interface RecordedUnixClient {
  path: string;
  factory: ClientFactory;
  timeoutMs: number | undefined;
  connector: FakeConnector;
}

/**
 * A reactor that records what it is asked to do and touches no network.
 * Tests then drive the recorded factories by hand.
 *
 * @example
 * const r = new MemoryReactor();
 * r.connectTCP('example.com', 80, factory);
 * r.tcpClients[0].host; // 'example.com'
 */
export class MemoryReactor {
  readonly tcpServers: RecordedTCPServer[] = [];
  readonly tcpClients: RecordedTCPClient[] = [];
  readonly udpPorts: RecordedUDPPort[] = [];
  readonly unixServers: RecordedUnixServer[] = [];
  readonly unixClients: RecordedUnixClient[] = [];
  readonly triggers: { phase: string; event: string; fn: (...a: any[]) => unknown }[] = [];
  readonly whenRunning: (() => unknown)[] = [];
  running = false;
  hasStopped = false;

  listenTCP(port: number, factory: Factory, opts: { host?: string; backlog?: number } = {}): Deferred<FakePort> {
    const listeningPort = new FakePort({ type: 'TCP', host: opts.host ?? '0.0.0.0', port: port === 0 ? 30000 + this.tcpServers.length : port });
    this.tcpServers.push({ port, factory, backlog: opts.backlog, host: opts.host, listeningPort });
    return succeed(listeningPort);
  }

  connectTCP(
    host: string,
    port: number,
    factory: ClientFactory,
    opts: { timeoutMs?: number; bindAddress?: { host?: string; port?: number } } = {},
  ): FakeConnector {
    const connector = new FakeConnector({ type: 'TCP', host, port });
    this.tcpClients.push({ host, port, factory, timeoutMs: opts.timeoutMs, bindAddress: opts.bindAddress, connector });
    connector.connect();
    factory.startedConnecting(connector);
    return connector;
  }

  listenUDP(port: number, protocol: DatagramProtocol, opts: { host?: string } = {}): Deferred<FakePort> {
    this.udpPorts.push({ port, protocol, host: opts.host, multicast: false });
    return succeed(new FakePort({ type: 'UDP', host: opts.host ?? '0.0.0.0', port }));
  }

  listenMulticast(port: number, protocol: DatagramProtocol): Deferred<FakePort> {
    this.udpPorts.push({ port, protocol, host: undefined, multicast: true });
    return succeed(new FakePort({ type: 'UDP', host: '0.0.0.0', port }));
  }

  listenUNIX(path: string, factory: Factory, opts: { mode?: number; unlinkStale?: boolean } = {}): Deferred<FakePort> {
    const listeningPort = new FakePort({ type: 'UNIX', path });
    this.unixServers.push({ path, factory, mode: opts.mode, unlinkStale: opts.unlinkStale, listeningPort });
    return succeed(listeningPort);
  }

  connectUNIX(path: string, factory: ClientFactory, opts: { timeoutMs?: number } = {}): FakeConnector {
    const connector = new FakeConnector({ type: 'UNIX', path });
    this.unixClients.push({ path, factory, timeoutMs: opts.timeoutMs, connector });
    connector.connect();
    factory.startedConnecting(connector);
    return connector;
  }

  callWhenRunning(fn: (...args: any[]) => unknown, ...args: unknown[]): void {
    if (this.running) fn(...args);
    else this.whenRunning.push(() => fn(...args));
  }

  addSystemEventTrigger(phase: string, event: string, fn: (...a: any[]) => unknown): number {
    this.triggers.push({ phase, event, fn });
    return this.triggers.length;
  }

  run(): Promise<void> {
    this.running = true;
    for (const f of this.whenRunning.splice(0)) f();
    return Promise.resolve();
  }

  stop(): Deferred<void> {
    if (!this.running) throw new Error("Can't stop reactor that isn't running");
    this.running = false;
    this.hasStopped = true;
    return succeed(undefined);
  }
}

/**
 * A {@link MemoryReactor} with a {@link Clock}: `callLater` and
 * `advance()` drive time by hand.
 */
export class MemoryReactorClock extends MemoryReactor implements IReactorTime {
  /** The clock behind `now()`, `callLater()` and `advance()`. */
  readonly clock = new Clock();

  now(): number {
    return this.clock.now();
  }

  callLater<A extends unknown[]>(ms: number, fn: (...args: A) => unknown, ...args: A): IDelayedCall {
    return this.clock.callLater(ms, fn, ...args);
  }

  getDelayedCalls(): IDelayedCall[] {
    return this.clock.getDelayedCalls();
  }

  /** @param ms Move time forward and run what is due. */
  advance(ms: number): void {
    this.clock.advance(ms);
  }

  /** @param msList Steps to advance by. */
  pump(msList: number[]): void {
    this.clock.pump(msList);
  }
}
