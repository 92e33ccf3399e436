/**
 * The transport for byte streams: a Node `net.Socket` (TCP, Unix, TLS) or
 * any Duplex with the same events, driving one {@link Protocol}.
 *
 * It carries Twisted's transport semantics over Node's streams:
 * backpressure through registered producers, half-close, a flushing
 * `loseConnection()` and a resetting `abortConnection()`, and typed
 * reasons for `connectionLost`.
 *
 * @module
 */

import type { Duplex } from 'node:stream';
import type { CipherNameAndProtocol, DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { Failure } from './defer.js';
import type { Hash } from 'node:crypto';
import { type ConnectionStats, counters } from './diagnostics.js';
import { loadCrypto } from './lazy.js';
import { ConnectionDone, ConnectionLostError } from './errors.js';
import { logMessage } from './log.js';
import type { Address, IPushProducer, ITransport, Protocol } from './protocol.js';

/**
 * The reason of every clean close, shared as Twisted shares its
 * `connectionDone`: a Failure is immutable, and making one (with its Error)
 * per close costs more than the close.
 */
const CONNECTION_DONE = new Failure(new ConnectionDone());

/** A Duplex with the socket methods the transport uses when present. */
type SocketLike = Duplex & {
  resetAndDestroy?: () => unknown;
  setNoDelay?: (on?: boolean) => unknown;
  writableNeedDrain?: boolean;
};

/** An object told when a {@link StreamTransport} closes (see {@link StreamTransportOptions.closeHook}). */
export interface StreamCloseHook {
  /**
   * @param transport The transport that closed.
   * @param reason Why.
   */
  transportClosed(transport: StreamTransport, reason: Failure): void;
}

/** Options of {@link StreamTransport}. */
export interface StreamTransportOptions {
  /** This end's address. */
  host: Address;
  /** The other end's address. */
  peer: Address;
  /** The connection's figures, updated as bytes move. */
  stats: ConnectionStats;
  /** Called once, after the protocol's `connectionLost`. */
  onClose?: (reason: Failure) => void;
  /**
   * Told once, after the protocol's `connectionLost` (and after `onClose`):
   * a method on an object that exists anyway (a listening port, a
   * connector) instead of a closure kept per connection.
   */
  closeHook?: StreamCloseHook;
  /** Text of the peer for error messages (`host:port` or a path). */
  peerText?: string;
}

/**
 * Report an exception a protocol threw from an event handler: the
 * connection cannot trust the protocol's state after it.
 *
 * @param where Which handler threw.
 * @param err What it threw.
 */
export function logProtocolError(where: string, err: unknown): void {
  logMessage(`Unhandled error in ${where}:\n${new Failure(err).getTraceback()}`);
}

/**
 * The peer's EOF: tell a half-closing protocol (`readConnectionLost`), or
 * close the connection for one that cannot half-close, as Twisted does. A
 * throw from the protocol aborts the connection.
 *
 * @param t The transport.
 * @param p Its protocol.
 */
export function readConnectionLost(t: ITransport, p: Protocol): void {
  if (typeof p.readConnectionLost !== 'function') {
    t.loseConnection();
    return;
  }
  try {
    p.readConnectionLost();
  } catch (e) {
    logProtocolError(`${p.constructor.name}.readConnectionLost`, e);
    t.abortConnection();
  }
}

/**
 * Our EOF went out: tell a protocol that defines `writeConnectionLost`
 * (not when the whole connection is closing). A throw aborts the connection.
 *
 * @param t The transport.
 * @param p Its protocol.
 */
export function writeConnectionLost(t: ITransport & { disconnecting: boolean }, p: Protocol): void {
  if (typeof p.writeConnectionLost !== 'function' || t.disconnecting) return;
  try {
    p.writeConnectionLost();
  } catch (e) {
    logProtocolError(`${p.constructor.name}.writeConnectionLost`, e);
    t.abortConnection();
  }
}

/** Where a socket keeps its transport, for the shared listeners below. */
const kTransport = Symbol('wirecat.transport');
type _Owned = { [kTransport]: StreamTransport };

function _onSocketData(this: _Owned, chunk: Buffer): void {
  this[kTransport]._onData(chunk);
}

function _onSocketEnd(this: _Owned): void {
  this[kTransport]._onEnd();
}

function _onSocketDrain(this: _Owned): void {
  this[kTransport]._onDrain();
}

function _onSocketFinish(this: _Owned): void {
  this[kTransport]._onFinish();
}

function _onSocketError(this: _Owned, err: Error): void {
  this[kTransport]._onError(err);
}

function _onSocketClose(this: _Owned): void {
  this[kTransport]._onSocketClose();
}

/**
 * A connected byte stream driving a protocol.
 */
export class StreamTransport implements ITransport {
  /** True until the connection is fully closed. */
  connected = true;
  /** True once `loseConnection()` or `abortConnection()` was called. */
  disconnecting = false;
  /** The figures of this connection. */
  readonly stats: ConnectionStats;
  /** The Node stream underneath. */
  readonly socket: SocketLike;

  private readonly _protocol: Protocol;
  private readonly _host: Address;
  private readonly _peer: Address;
  private readonly _onClose: ((reason: Failure) => void) | undefined;
  private readonly _closeHook: StreamCloseHook | undefined;
  private readonly _peerText: string | undefined;
  private _producer: IPushProducer | undefined = undefined;
  private _streaming = false;
  private _producerPaused = false;
  private _writeClosed = false;
  private _readClosed = false;
  private _aborted = false;
  private _error: Error | undefined = undefined;
  private _stopReading = false;
  private _hashIn: Hash | undefined = undefined;
  private _hashOut: Hash | undefined = undefined;
  private _closeOnUnregister = false;

  /**
   * Wire `socket` to `protocol` and call `protocol.makeConnection(this)`.
   *
   * @param socket A connected socket (or Duplex).
   * @param protocol The protocol to drive.
   * @param opts Addresses, statistics and a close hook.
   */
  constructor(socket: Duplex, protocol: Protocol, opts: StreamTransportOptions) {
    this.socket = socket as SocketLike;
    this._protocol = protocol;
    this._host = opts.host;
    this._peer = opts.peer;
    this.stats = opts.stats;
    this._onClose = opts.onClose;
    this._closeHook = opts.closeHook;
    this._peerText = opts.peerText;
    if (this.stats.connectedAt === undefined) this.stats.connectedAt = performance.now();
    counters.connectionsOpened++;


    // One set of listener functions for every socket (no closures per
    // connection): each finds its transport through kTransport.
    // A socket that had a transport before gets its own bound listeners.
    const s = this.socket as SocketLike & { [kTransport]?: StreamTransport };
    const owner: _Owned = s[kTransport] === undefined ? (s as _Owned) : { [kTransport]: this };
    owner[kTransport] = this;
    s.on('data', owner === s ? _onSocketData : _onSocketData.bind(owner));
    s.on('end', owner === s ? _onSocketEnd : _onSocketEnd.bind(owner));
    s.on('drain', owner === s ? _onSocketDrain : _onSocketDrain.bind(owner));
    s.on('finish', owner === s ? _onSocketFinish : _onSocketFinish.bind(owner));
    s.on('error', owner === s ? _onSocketError : _onSocketError.bind(owner));
    s.on('close', owner === s ? _onSocketClose : _onSocketClose.bind(owner));

    try {
      protocol.makeConnection(this);
    } catch (e) {
      logProtocolError(`${protocol.constructor.name}.connectionMade`, e);
      this.abortConnection();
    }
  }

  /**
   * Hash the bytes sent and received from now on (`--checksum`); the
   * SHA-256 digests land in `stats.extra.sha256Sent`/`sha256Received` at
   * close. A relay hashes its two directions itself instead, once.
   */
  enableChecksum(): void {
    if (this._hashIn !== undefined) return;
    const crypto = loadCrypto();
    this._hashIn = crypto.createHash('sha256');
    this._hashOut = crypto.createHash('sha256');
  }

  // ------------------------------------------------------------ TLS

  /** TLS only: the protocol ALPN settled on (`false` when none). */
  get alpnProtocol(): string | false | undefined {
    return (this.socket as Partial<TLSSocket>).alpnProtocol ?? undefined;
  }

  /**
   * TLS only: the peer's certificate (with `detailed`, the chain through `issuerCertificate`).
   *
   * @param detailed Include the issuer chain.
   * @returns The certificate, or `undefined` for plain sockets.
   */
  getPeerCertificate(detailed = false): PeerCertificate | DetailedPeerCertificate | undefined {
    const s = this.socket as Partial<TLSSocket>;
    return s.getPeerCertificate?.(detailed);
  }

  /** TLS only: the negotiated version (`TLSv1.3`...). */
  getProtocol(): string | null | undefined {
    return (this.socket as Partial<TLSSocket>).getProtocol?.();
  }

  /** TLS only: the negotiated cipher. */
  getCipher(): CipherNameAndProtocol | undefined {
    return (this.socket as Partial<TLSSocket>).getCipher?.();
  }

  /** TLS only: milliseconds from TCP connect to the end of the handshake. */
  get handshakeMs(): number | undefined {
    const st = this.stats;
    return st.secureAt !== undefined && st.connectedAt !== undefined ? st.secureAt - st.connectedAt : undefined;
  }

  // ------------------------------------------------------------ ITransport

  /**
   * Write bytes; when the socket's buffer is over its high-water mark, a
   * registered streaming producer is paused until it drains.
   *
   * @param data Bytes (a string is written as UTF-8).
   */
  write(data: Buffer | string): void {
    if (this._writeClosed || !this.connected) return;
    const n = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (n === 0) return;
    this.stats.bytesOut += n;
    counters.bytesOut += n;
    this._hashOut?.update(data);
    if (!this.socket.write(data)) this._pauseProducer();
  }

  /** @param chunks Written in order. */
  writeSequence(chunks: (Buffer | string)[]): void {
    if (chunks.length === 1) this.write(chunks[0]!);
    else if (chunks.length > 1) this.write(Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))));
  }

  /**
   * Close once everything written so far is flushed. Reading stops now (no
   * more `dataReceived`). With a pull (non-streaming) producer registered,
   * the close waits until it is unregistered, as in Twisted.
   */
  loseConnection(): void {
    if (this.disconnecting || !this.connected) return;
    this.disconnecting = true;
    this._stopReading = true;
    this.socket.pause();
    if (this._producer !== undefined && !this._streaming) {
      this._closeOnUnregister = true;
      return;
    }
    this._close();
  }

  private _close(): void {
    const s = this.socket;
    if (this._writeClosed) {
      // Our FIN is out already; stop reading too.
      if (s.writableFinished) s.destroy();
      else s.once('finish', () => s.destroy());
      return;
    }
    this._writeClosed = true;
    s.end(() => s.destroy());
  }

  /** Send EOF after what was written; keep reading. */
  loseWriteConnection(): void {
    if (this._writeClosed || !this.connected) return;
    this._writeClosed = true;
    this.socket.end();
  }

  /** Close now, dropping unsent data: a TCP reset where the socket supports it. */
  abortConnection(): void {
    if (!this.connected || this._aborted) return;
    this._aborted = true;
    this.disconnecting = true;
    this._writeClosed = true;
    const s = this.socket;
    // After end(), Node's resetAndDestroy() fails with EINVAL and never
    // emits 'close': a plain destroy() is all that is left to do then.
    if (!s.writableEnded && typeof s.resetAndDestroy === 'function' && (s as { _handle?: unknown })._handle) {
      try {
        s.resetAndDestroy();
      } catch {
        // Only plain TCP handles can reset (a TLS socket throws ERR_INVALID_HANDLE_TYPE).
        s.destroy();
      }
    } else s.destroy();
  }

  /** @returns The peer's address. */
  getPeer(): Address {
    return this._peer;
  }

  /** @returns Our address. */
  getHost(): Address {
    return this._host;
  }

  /** Stop reading from the socket. */
  pauseProducing(): void {
    this.socket.pause();
  }

  /** Read again. */
  resumeProducing(): void {
    if (!this._readClosed && !this._stopReading) this.socket.resume();
  }

  /** Stop for good: close the connection. */
  stopProducing(): void {
    this.loseConnection();
  }

  /**
   * Attach a producer of the data written here. A streaming producer is
   * paused while the socket's buffer is full; a pull producer is asked for
   * more each time it drains.
   *
   * @param producer The producer.
   * @param streaming Push (true) or pull (false).
   * @throws {Error} When a producer is registered already.
   */
  registerProducer(producer: IPushProducer, streaming: boolean): void {
    if (this._producer !== undefined) throw new Error('a producer is already registered');
    this._producer = producer;
    this._streaming = streaming;
    this._producerPaused = false;
    if (!this.connected) {
      producer.stopProducing();
    } else if (streaming) {
      if (this.socket.writableNeedDrain) this._pauseProducer();
    } else {
      producer.resumeProducing();
    }
  }

  /** Detach the producer (and close now if `loseConnection()` was waiting for that). */
  unregisterProducer(): void {
    this._producer = undefined;
    this._producerPaused = false;
    if (this._closeOnUnregister) {
      this._closeOnUnregister = false;
      if (this.connected) this._close();
    }
  }

  // ------------------------------------------------------------ events

  /** @internal A socket error: kept as the reason, and the socket closed. */
  _onError(err: Error): void {
    this._error ??= err;
    // A TLS socket emits some errors (a TLS 1.3 alert after the handshake)
    // without destroying itself; with allowHalfOpen it would then never
    // close. Any socket error ends the connection.
    const s = this.socket;
    if (!s.destroyed) s.destroy();
  }

  /** @internal */
  _onData(chunk: Buffer): void {
    if (this._stopReading) return;
    const st = this.stats;
    if (st.firstByteAt === undefined) st.firstByteAt = performance.now();
    st.bytesIn += chunk.length;
    counters.bytesIn += chunk.length;
    this._hashIn?.update(chunk);
    try {
      this._protocol.dataReceived(chunk);
    } catch (e) {
      logProtocolError(`${this._protocol.constructor.name}.dataReceived`, e);
      this.abortConnection();
    }
  }

  /** @internal */
  _onEnd(): void {
    this._readClosed = true;
    readConnectionLost(this, this._protocol);
  }

  /** @internal */
  _onFinish(): void {
    writeConnectionLost(this, this._protocol);
  }

  /** @internal */
  _onDrain(): void {
    const producer = this._producer;
    if (producer === undefined) return;
    if (this._streaming) {
      if (this._producerPaused) {
        this._producerPaused = false;
        producer.resumeProducing();
      }
    } else {
      producer.resumeProducing();
    }
  }

  private _pauseProducer(): void {
    const producer = this._producer;
    if (producer !== undefined && this._streaming && !this._producerPaused) {
      this._producerPaused = true;
      producer.pauseProducing();
    }
  }

  /** @internal */
  _onSocketClose(): void {
    if (!this.connected) return;
    this.connected = false;
    this._writeClosed = true;
    this._readClosed = true;
    const st = this.stats;
    st.closedAt = performance.now();
    counters.connectionsClosed++;
    if (this._hashIn !== undefined && this._hashOut !== undefined) {
      st.extra.sha256Sent = this._hashOut.digest('hex');
      st.extra.sha256Received = this._hashIn.digest('hex');
    }
    let reason: Failure;
    if (this._aborted) {
      reason = new Failure(new ConnectionLostError('Connection was aborted', this._peerText ?? st.peer));
      st.error = 'aborted';
    } else if (this._error !== undefined) {
      const code = (this._error as NodeJS.ErrnoException).code;
      const what = code === 'ECONNRESET' ? 'Connection reset by peer' : code === 'EPIPE' ? 'Broken pipe' : this._error.message;
      reason = new Failure(new ConnectionLostError(what, this._peerText ?? st.peer, code));
      st.error = code ?? this._error.message;
    } else {
      reason = CONNECTION_DONE;
    }
    const producer = this._producer;
    if (producer !== undefined) {
      this._producer = undefined;
      try {
        producer.stopProducing();
      } catch (e) {
        logProtocolError('producer.stopProducing', e);
      }
    }
    const p = this._protocol;
    p.connected = false;
    try {
      p.connectionLost(reason);
    } catch (e) {
      logProtocolError(`${p.constructor.name}.connectionLost`, e);
    }
    this._onClose?.(reason);
    this._closeHook?.transportClosed(this, reason);
  }
}
