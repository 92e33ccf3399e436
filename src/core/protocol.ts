/**
 * Protocols, factories and the interfaces transports offer them, after
 * Twisted's `twisted.internet.protocol`.
 *
 * A Protocol reacts to events (`connectionMade`, `dataReceived`,
 * `connectionLost`); a Factory builds one per connection; a transport (TCP,
 * Unix, TLS, a process, stdio, or a test's `StringTransport`) delivers the
 * events and carries the writes.
 *
 * @module
 */

import { Failure } from './defer.js';
import { ConnectionDone, ProcessDone } from './errors.js';
import { type IDelayedCall, type IReactorTime, realClock } from './task.js';

// ---------------------------------------------------------------- interfaces

/** A TCP or UDP endpoint address. */
export interface InetAddress {
  type: 'TCP' | 'UDP';
  host: string;
  port: number;
}

/** A Unix socket address; `path` starts with `@` for a Linux abstract name. */
export interface UnixAddress {
  type: 'UNIX';
  path: string;
}

/** The address of one end of a connection. */
export type Address = InetAddress | UnixAddress | { type: 'PROCESS' | 'STDIO'; path?: string };

/** Something that produces data and can be told to hold it back. */
export interface IPushProducer {
  /** Stop producing until `resumeProducing()`. */
  pauseProducing(): void;
  /** Start producing again. */
  resumeProducing(): void;
  /** Stop for good. */
  stopProducing(): void;
}

/** Something that data is written to and that tells its producer when to hold back. */
export interface IConsumer {
  /**
   * Attach a producer: with `streaming` true it is paused when the
   * consumer's buffer is full and resumed when it drains.
   */
  registerProducer(producer: IPushProducer, streaming: boolean): void;
  /** Detach the producer. */
  unregisterProducer(): void;
  /** Write bytes. */
  write(data: Buffer | string): void;
}

/** What a protocol writes to and controls its connection with. */
export interface ITransport extends IConsumer, IPushProducer {
  /** Write several chunks at once. */
  writeSequence(chunks: (Buffer | string)[]): void;
  /** Close after everything written so far has been sent. */
  loseConnection(): void;
  /** Send EOF (a TCP FIN) after what was written; keep reading. */
  loseWriteConnection(): void;
  /** Close now, dropping unsent data (a TCP reset). */
  abortConnection(): void;
  /** @returns The other end's address. */
  getPeer(): Address;
  /** @returns This end's address. */
  getHost(): Address;
}

/** A listening port. */
export interface IListeningPort {
  /** @returns The address bound, with the real port when 0 was asked for. */
  getHost(): Address;
  /** Stop accepting; fires when the port is closed. */
  stopListening(): import('./defer.js').Deferred<void>;
}

/** An outgoing connection attempt, retryable. */
export interface IConnector {
  /** (Re)start connecting. */
  connect(): void;
  /** Close the connection, or stop the attempt. */
  disconnect(): void;
  /** Stop an attempt in progress. */
  stopConnecting(): void;
  /** @returns Where it connects to. */
  getDestination(): Address;
}

// ---------------------------------------------------------------- Protocol

/**
 * Reacts to one connection's events. Subclass and override what you need.
 *
 * To be told of each direction's close separately (half-close), define
 * `readConnectionLost()` (the peer sent EOF; writing still works) and/or
 * `writeConnectionLost()` (our EOF went out). Without `readConnectionLost`,
 * the peer's EOF closes the connection, as in Twisted.
 *
 * @example
 * class Echo extends Protocol {
 *   override dataReceived(data: Buffer) { this.transport!.write(data); }
 * }
 */
export class Protocol {
  /** The connection; set by `makeConnection`. */
  transport: ITransport | undefined = undefined;
  /** The factory that built this protocol, if any. */
  factory: Factory | undefined = undefined;
  /** Whether the connection is up. */
  connected = false;

  /** Called with `readConnectionLost` when defined: the peer sent EOF. */
  readConnectionLost?(): void;
  /** Called with `writeConnectionLost` when defined: our EOF went out, or writing failed. */
  writeConnectionLost?(): void;

  /**
   * Attach the transport and call `connectionMade()`. Transports call this.
   *
   * @param transport The connection.
   */
  makeConnection(transport: ITransport): void {
    this.connected = true;
    this.transport = transport;
    this.connectionMade();
  }

  /** The connection is up; `this.transport` is set. */
  connectionMade(): void {}

  /**
   * Bytes arrived, in whatever chunks the network gave.
   *
   * @param _data The bytes.
   */
  dataReceived(_data: Buffer): void {}

  /**
   * The connection is gone.
   *
   * @param _reason `ConnectionDone` for a clean close, else the error.
   */
  connectionLost(_reason: Failure): void {}
}

/**
 * Builds a protocol for each connection. Set `protocol`, or override
 * `buildProtocol`.
 */
export class Factory {
  /** The protocol class to build. */
  protocol: (new () => Protocol) | undefined = undefined;
  /** How many ports/connectors use this factory; `startFactory` runs at the first. */
  numPorts = 0;

  /**
   * A factory building `protocolClass`.
   *
   * @param protocolClass The protocol to build for each connection.
   * @returns The factory.
   */
  static forProtocol<F extends Factory>(this: new () => F, protocolClass: new () => Protocol): F {
    const f = new this();
    f.protocol = protocolClass;
    return f;
  }

  /** Called by ports and connectors when they start using this factory. */
  doStart(): void {
    // Counted after startFactory(), as Twisted does: a start that throws is retried next time.
    if (this.numPorts === 0) this.startFactory();
    this.numPorts++;
  }

  /** Called by ports and connectors when they stop using this factory. */
  doStop(): void {
    if (this.numPorts === 0) return;
    if (--this.numPorts === 0) this.stopFactory();
  }

  /** First port or connector started. */
  startFactory(): void {}

  /** Last port or connector stopped. */
  stopFactory(): void {}

  /**
   * Build the protocol for a new connection.
   *
   * @param _addr The peer's address.
   * @returns The protocol, or `undefined` to refuse the connection.
   */
  buildProtocol(_addr: Address): Protocol | undefined {
    if (this.protocol === undefined) throw new TypeError(`${this.constructor.name} has no protocol to build`);
    const p = new this.protocol();
    p.factory = this;
    return p;
  }
}

/** A factory for outgoing connections, told how each attempt went. */
export class ClientFactory extends Factory {
  /**
   * An attempt started.
   *
   * @param _connector The attempt.
   */
  startedConnecting(_connector: IConnector): void {}

  /**
   * An attempt failed.
   *
   * @param _connector The attempt.
   * @param _reason Why (`ConnectionRefusedError`, `DNSLookupError`, `TimeoutError`, `TLSError`...).
   */
  clientConnectionFailed(_connector: IConnector, _reason: Failure): void {}

  /**
   * An established connection ended.
   *
   * @param _connector The attempt.
   * @param _reason Why (`ConnectionDone` for a clean close).
   */
  clientConnectionLost(_connector: IConnector, _reason: Failure): void {}
}

function _normal(mean: number, sd: number): number {
  // Box-Muller; 1 - random() keeps log() away from 0.
  const u = 1 - Math.random();
  const v = Math.random();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * A client factory that reconnects after a lost or failed connection, with
 * exponential back-off and jitter (milliseconds throughout).
 */
export class ReconnectingClientFactory extends ClientFactory {
  /** Longest wait between attempts (ms). */
  maxDelay = 3_600_000;
  /** First wait (ms). */
  initialDelay = 1_000;
  /** Growth of the wait per attempt. */
  factor = 2.718281828459045;
  /** Standard deviation of the wait, as a fraction of it. */
  jitter = 0.11962656472;
  /** Give up after this many retries (`undefined`: never). */
  maxRetries: number | undefined = undefined;
  /** The current wait (ms). */
  delay = this.initialDelay;
  /** Retries so far. */
  retries = 0;
  /** False once `stopTrying()` was called. */
  continueTrying = true;
  /** Where time comes from: the reactor's real clock unless set. */
  clock: IReactorTime = realClock;
  /** The connector being retried. */
  connector: IConnector | undefined = undefined;
  private _callID: IDelayedCall | undefined = undefined;

  override clientConnectionFailed(connector: IConnector, _reason: Failure): void {
    if (this.continueTrying) {
      this.connector = connector;
      this.retry();
    }
  }

  override clientConnectionLost(connector: IConnector, _reason: Failure): void {
    if (this.continueTrying) {
      this.connector = connector;
      this.retry();
    }
  }

  /**
   * Schedule the next attempt.
   *
   * @param connector The attempt to retry; the last one when omitted.
   * @throws {Error} When there is no connector to retry.
   */
  retry(connector?: IConnector): void {
    if (!this.continueTrying) return;
    const c = connector ?? this.connector;
    if (c === undefined) throw new Error('ReconnectingClientFactory.retry(): no connector to retry');
    this.retries++;
    if (this.maxRetries !== undefined && this.retries > this.maxRetries) return;
    this.delay = Math.min(this.delay * this.factor, this.maxDelay);
    if (this.jitter) this.delay = Math.max(0, _normal(this.delay, this.delay * this.jitter));
    this._callID = this.clock.callLater(this.delay, () => {
      this._callID = undefined;
      c.connect();
    });
  }

  /** Stop retrying, and stop an attempt in progress. */
  stopTrying(): void {
    if (this._callID !== undefined) {
      if (this._callID.active()) this._callID.cancel();
      this._callID = undefined;
    }
    this.continueTrying = false;
    if (this.connector !== undefined) {
      try {
        this.connector.stopConnecting();
      } catch {
        // not connecting: nothing to stop
      }
    }
  }

  /** Back to the first delay and zero retries (call it when a connection succeeds). */
  resetDelay(): void {
    this.delay = this.initialDelay;
    this.retries = 0;
    this._callID = undefined;
    this.continueTrying = true;
  }
}

// ---------------------------------------------------------------- datagrams and processes

/** A UDP transport, with Twisted's method names. */
export interface IUDPTransport {
  /** Send a datagram, to `addr` or to the connected peer. */
  write(data: Buffer | string, addr?: { host: string; port: number }): void;
  /** Only exchange datagrams with this peer. */
  connect(host: string, port: number): void;
  /** Allow sending to broadcast addresses. */
  setBroadcastAllowed(on: boolean): void;
  /** Set the unicast TTL. */
  setTTL(n: number): void;
  /** @returns The bound address. */
  getHost(): InetAddress;
  /** Close the socket. */
  stopListening(): import('./defer.js').Deferred<void>;
  /** Close the socket (same as `stopListening`). */
  loseConnection(): void;
}

/** A multicast-capable UDP transport. */
export interface IMulticastTransport extends IUDPTransport {
  /** Join `group` (on `iface`; only from `source` when given: source-specific). */
  joinGroup(group: string, iface?: string, source?: string): void;
  /** Leave `group`. */
  leaveGroup(group: string, iface?: string, source?: string): void;
  /** Receive our own multicast datagrams or not. */
  setLoopbackMode(on: boolean): void;
  /** The interface multicast datagrams go out on. */
  setOutgoingInterface(addr: string): void;
  /** The multicast TTL. */
  setMulticastTTL(n: number): void;
}

/** Reacts to datagrams. */
export class DatagramProtocol {
  /** The socket, once listening. */
  transport: IUDPTransport | IMulticastTransport | undefined = undefined;

  /** @internal Attach the transport and call `startProtocol()`. */
  makeConnection(transport: IUDPTransport | IMulticastTransport): void {
    this.transport = transport;
    this.startProtocol();
  }

  /** The socket is bound. */
  startProtocol(): void {}

  /** The socket is closed. */
  stopProtocol(): void {}

  /**
   * A datagram arrived.
   *
   * @param _data Its bytes.
   * @param _addr Its sender.
   */
  datagramReceived(_data: Buffer, _addr: InetAddress): void {}

  /**
   * A connected socket's datagram was refused by the peer (ICMP port unreachable).
   */
  connectionRefused(): void {}
}

/** A child process's transport. */
export interface IProcessTransport {
  /** The child's process id. */
  readonly pid: number | undefined;
  /** Write to the child's stdin. */
  write(data: Buffer | string): void;
  /** Close the child's stdin (EOF). */
  closeStdin(): void;
  /** Send a signal (`'TERM'`, `'KILL'`, `'SIGINT'`...). */
  signalProcess(sig: NodeJS.Signals | string | number): void;
  /** Close stdin and let the child finish. */
  loseConnection(): void;
  /** Stop reading the child's stdout/stderr until `resumeProducing()`. */
  pauseProducing(): void;
  /** Read again. */
  resumeProducing(): void;
  /** Attach a producer feeding stdin (paused when the pipe is full). */
  registerProducer(producer: IPushProducer, streaming: boolean): void;
  /** Detach it. */
  unregisterProducer(): void;
}

/** Reacts to a child process's output and end. */
export class ProcessProtocol {
  /** The child, once spawned. */
  transport: IProcessTransport | undefined = undefined;

  /** @internal Attach the transport and call `connectionMade()`. */
  makeConnection(transport: IProcessTransport): void {
    this.transport = transport;
    this.connectionMade();
  }

  /** The child was started. */
  connectionMade(): void {}

  /** @param _data Bytes from the child's stdout. */
  outReceived(_data: Buffer): void {}

  /** @param _data Bytes from the child's stderr. */
  errReceived(_data: Buffer): void {}

  /** The child's stdin was closed. */
  inConnectionLost(): void {}

  /** The child's stdout reached EOF. */
  outConnectionLost(): void {}

  /** The child's stderr reached EOF. */
  errConnectionLost(): void {}

  /**
   * The child exited (its pipes may still hold data).
   *
   * @param _reason `ProcessDone` (status 0) or `ProcessTerminated`.
   */
  processExited(_reason: Failure): void {}

  /**
   * The child exited and every pipe is closed: nothing more will arrive.
   *
   * @param _reason `ProcessDone` (status 0) or `ProcessTerminated`.
   */
  processEnded(_reason: Failure): void {}
}

/** The Failure of a clean close. */
export function connectionDone(): Failure {
  return new Failure(new ConnectionDone());
}

/** The Failure of a process that exited with status 0. */
export function processDone(): Failure {
  return new Failure(new ProcessDone());
}
