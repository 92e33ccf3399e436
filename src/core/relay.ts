/**
 * The relay: joins two connections and copies bytes both ways with
 * backpressure and half-close, counting each direction.
 *
 * `relay`, `connect`, `listen` with stdio and `proxy` all use it.
 *
 * @module
 */

import { performance } from 'node:perf_hooks';
import { Deferred, Failure } from './defer.js';
import { ConnectionDone, ConnectionLostError, ProcessDone, ProcessTerminated, TimeoutError } from './errors.js';
import type { Hash } from 'node:crypto';
import { type ConnectionStats, diagnosticsOptions } from './diagnostics.js';
import { loadCrypto } from './lazy.js';
import { type ITransport, Protocol } from './protocol.js';
import type { IDelayedCall, IReactorTime } from './task.js';

/** Which way bytes may flow. */
export type RelayDirection = 'both' | 'a-to-b' | 'b-to-a';

/** Whether two buffers share memory (one is a view into the other, say). */
function _overlap(x: Buffer, y: Buffer): boolean {
  return x.buffer === y.buffer && x.byteOffset < y.byteOffset + y.length && y.byteOffset < x.byteOffset + x.length;
}

/** A rewrite of one direction's bytes (see `RelayOptions.transform`). */
export type RelayTransform = ((chunk: Buffer) => Buffer) & { flush?: () => Buffer | undefined };

/** Options of {@link Relay}. */
export interface RelayOptions {
  /** Where the idle timer runs (the reactor, or a test's Clock). */
  clock: IReactorTime;
  /** Close both sides after this long with no data either way (ms); the relay then fails with `TimeoutError`. */
  idleTimeoutMs?: number;
  /** Copy both ways (default), or one way only (socat's `-u` / `-U`); bytes the other way are discarded. */
  direction?: RelayDirection;
  /** Called with each chunk copied (hex dumps, checksums). Not called when omitted. */
  tap?: (from: 'a' | 'b', chunk: Buffer) => void;
  /**
   * When side `a` (or `b`) reaches EOF, close the whole relay instead of
   * passing the EOF on and waiting for the other direction.
   */
  closeOnEof?: { a?: boolean; b?: boolean };
  /** Pass side `a`'s (or `b`'s) EOF on as a half-close (default true); false keeps the other side's writing end open. */
  forwardEof?: { a?: boolean; b?: boolean };
  /** After side `a`'s (or `b`'s) EOF, close the relay this many ms later (nc's `-q`). */
  closeAfterEofMs?: { a?: number; b?: number };
  /** SHA-256 of each direction, into both sides' `stats.extra` (default: `--checksum`'s global switch). */
  checksum?: boolean;
  /**
   * Rewrite the bytes read on side `a` (or `b`) before they are written to
   * the other side (`--crlf`). A transform may return a view of its input;
   * one that holds bytes back gives them from `flush()` at that side's EOF.
   */
  transform?: { a?: RelayTransform; b?: RelayTransform };
}

/** How a relay ended. */
export interface RelayResult {
  /** Bytes copied from a to b. */
  bytesAtoB: number;
  /** Bytes copied from b to a. */
  bytesBtoA: number;
  /** Milliseconds from both sides being connected to the end. */
  durationMs: number;
  /** Why it ended: both sides finished, or one side closed it. */
  endedBy: 'eof' | 'closed';
}

/**
 * One side of a relay: a Protocol to connect to any transport.
 */
export class RelaySide extends Protocol {
  /** Which side this is. */
  readonly name: 'a' | 'b';
  /** Bytes received on this side (and written to the other, unless discarded). */
  bytesIn = 0;
  /** Whether this side's peer sent EOF. */
  eof = false;
  /** Why this side's connection ended, once it has. */
  lostReason: Failure | undefined = undefined;

  /** @internal */
  constructor(
    private readonly _relay: Relay,
    name: 'a' | 'b',
  ) {
    super();
    this.name = name;
  }

  override connectionMade(): void {
    this._relay._sideConnected(this);
  }

  override dataReceived(data: Buffer): void {
    this._relay._data(this, data);
  }

  /**
   * `dataReceived`, for a caller that reuses `data`'s memory (stdin read
   * into one buffer, see `BorrowingProtocol` in stdio.ts).
   *
   * @param data The bytes.
   * @returns True when nothing refers to `data` any more: the other side's
   *   socket took it all in its write (or it was discarded or transformed
   *   into a copy, and no tap saw it).
   */
  dataReceivedBorrowed(data: Buffer): boolean {
    return this._relay._data(this, data);
  }

  override readConnectionLost(): void {
    this.eof = true;
    this._relay._eof(this);
  }

  override writeConnectionLost(): void {}

  override connectionLost(reason: Failure): void {
    this.lostReason = reason;
    this._relay._lost(this, reason);
  }
}

/**
 * Two connections joined: bytes from one are written to the other, a
 * full write buffer pauses the reader on the far side, an EOF on one side
 * becomes a half-close (`loseWriteConnection()`) on the other, and the
 * relay ends when both directions have ended or either side is lost.
 *
 * @example
 * const relay = new Relay({ clock: reactor });
 * listenFactory.buildProtocol = () => relay.a;
 * clientFactory.buildProtocol = () => relay.b;
 * relay.done.addCallback((r) => console.log(r.bytesAtoB, r.bytesBtoA));
 */
export class Relay {
  /** Side a (usually the accepted or first connection). */
  readonly a: RelaySide;
  /** Side b. */
  readonly b: RelaySide;
  /** Fires with the byte counts when the relay ends; fails with the error of a side lost uncleanly, or `TimeoutError` when idle. */
  readonly done: Deferred<RelayResult>;
  /** When both sides were connected. */
  startedAt: number | undefined = undefined;
  /** When data last moved. */
  lastActivity = 0;

  private readonly _opts: RelayOptions;
  private _hashAtoB: Hash | undefined = undefined;
  private _hashBtoA: Hash | undefined = undefined;
  private _idleCall: IDelayedCall | undefined = undefined;
  private _failure: Failure | undefined = undefined;
  private _finished = false;

  /** @param opts Clock, idle timeout, direction, tap. */
  constructor(opts: RelayOptions) {
    this._opts = opts;
    this.a = new RelaySide(this, 'a');
    this.b = new RelaySide(this, 'b');
    this.done = new Deferred<RelayResult>();
    if (opts.checksum ?? diagnosticsOptions.checksums) {
      // One hash per direction: what a received is what b sent, and back.
      const crypto = loadCrypto();
      this._hashAtoB = crypto.createHash('sha256');
      this._hashBtoA = crypto.createHash('sha256');
    }
  }

  /**
   * End the relay early: close whatever side is connected, and fail `done`
   * with `reason` (e.g. the other side could not connect).
   *
   * @param reason Why.
   */
  abort(reason: unknown): void {
    this._failure ??= reason instanceof Failure ? reason : new Failure(reason);
    for (const side of [this.a, this.b]) {
      if (side.connected) side.transport?.abortConnection();
    }
    this._maybeFinish(true);
  }

  /** @returns The other side. */
  other(side: RelaySide): RelaySide {
    return side === this.a ? this.b : this.a;
  }

  // ------------------------------------------------------------ side events

  /** @internal */
  _sideConnected(side: RelaySide): void {
    const other = this.other(side);
    if (!other.connected) {
      // Hold this side's data until the other side is there.
      side.transport!.pauseProducing();
      return;
    }
    this._start();
  }

  /**
   * @internal
   * @returns Whether `data` is free again (see `RelaySide.dataReceivedBorrowed`).
   */
  _data(side: RelaySide, data: Buffer): boolean {
    side.bytesIn += data.length;
    this.lastActivity = performance.now();
    const dir = this._opts.direction ?? 'both';
    if ((side === this.a && dir === 'b-to-a') || (side === this.b && dir === 'a-to-b')) return true;
    const t = this._opts.transform?.[side.name];
    const out = t === undefined ? data : t(data);
    const transport = this._forward(side, out);
    // A socket that wrote the chunk at once has no bytes left queued; a
    // transform's output in memory of its own is not `data`'s (a view of
    // `data` is).
    return (
      this._opts.tap === undefined &&
      (transport === undefined || !_overlap(out, data) || (transport as { socket?: { writableLength?: number } }).socket?.writableLength === 0)
    );
  }

  /** Tap, hash and write `out`, read on `side`, to the other side; its transport when it was written. */
  private _forward(side: RelaySide, out: Buffer): ITransport | undefined {
    this._opts.tap?.(side.name, out);
    if (this._hashAtoB !== undefined) (side === this.a ? this._hashAtoB : this._hashBtoA!).update(out);
    const other = this.other(side);
    if (!other.connected) return undefined;
    const transport = other.transport!;
    transport.write(out);
    return transport;
  }

  /** @internal */
  _eof(side: RelaySide): void {
    // What the transform held back (a CR whose LF never came) goes out before the EOF.
    const dir = this._opts.direction ?? 'both';
    const forwarding = !((side === this.a && dir === 'b-to-a') || (side === this.b && dir === 'a-to-b'));
    const tail = forwarding ? this._opts.transform?.[side.name]?.flush?.() : undefined;
    if (tail !== undefined && tail.length > 0) this._forward(side, tail);
    if (this._opts.closeOnEof?.[side.name]) {
      this._closeBoth();
      return;
    }
    const other = this.other(side);
    if (this._opts.forwardEof?.[side.name] !== false && other.connected) other.transport!.loseWriteConnection();
    if (other.eof) {
      this._closeBoth();
      return;
    }
    const after = this._opts.closeAfterEofMs?.[side.name];
    if (after !== undefined) {
      this._opts.clock.callLater(after, () => {
        if (!this._finished) this._closeBoth();
      });
    }
  }

  /** @internal */
  _lost(side: RelaySide, reason: Failure): void {
    // A clean close, or a child process that ended (whatever its status,
    // which the caller reports), is not a failure of the relay.
    const clean = reason.check(ConnectionDone, ProcessDone, ProcessTerminated) !== undefined;
    if (this._failure === undefined && !clean) this._failure = reason;
    const other = this.other(side);
    if (other.connected) {
      if (reason.check(ConnectionLostError)) other.transport!.abortConnection();
      else other.transport!.loseConnection();
    }
    this._maybeFinish(false);
  }

  // ------------------------------------------------------------ internals

  private _start(): void {
    const { a, b } = this;
    this.startedAt = this.lastActivity = performance.now();
    // Each side's transport is the producer of what is written to the other.
    b.transport!.registerProducer(a.transport!, true);
    a.transport!.registerProducer(b.transport!, true);
    a.transport!.resumeProducing();
    b.transport!.resumeProducing();
    const idle = this._opts.idleTimeoutMs;
    if (idle !== undefined && idle > 0) this._armIdle(idle);
  }

  private _armIdle(idleMs: number): void {
    // One timer, re-armed for the remainder rather than reset per chunk.
    const wait = Math.max(0, this.lastActivity + idleMs - performance.now());
    this._idleCall = this._opts.clock.callLater(wait, () => {
      this._idleCall = undefined;
      if (this._finished) return;
      if (performance.now() - this.lastActivity >= idleMs - 1) {
        this._failure ??= new Failure(new TimeoutError(`idle for ${idleMs / 1000} s: no data either way`, idleMs));
        this._closeBoth();
      } else {
        this._armIdle(idleMs);
      }
    });
  }

  private _closeBoth(): void {
    for (const side of [this.a, this.b]) if (side.connected) side.transport!.loseConnection();
    this._maybeFinish(false);
  }

  private _maybeFinish(force: boolean): void {
    if (this._finished) return;
    const aOpen = this.a.connected;
    const bOpen = this.b.connected;
    if (!force && (aOpen || bOpen)) return;
    this._finished = true;
    if (this._hashAtoB !== undefined && this._hashBtoA !== undefined) {
      const aToB = this._hashAtoB.digest('hex');
      const bToA = this._hashBtoA.digest('hex');
      const aStats = (this.a.transport as { stats?: ConnectionStats } | undefined)?.stats;
      const bStats = (this.b.transport as { stats?: ConnectionStats } | undefined)?.stats;
      if (aStats) Object.assign(aStats.extra, { sha256Sent: bToA, sha256Received: aToB });
      if (bStats) Object.assign(bStats.extra, { sha256Sent: aToB, sha256Received: bToA });
    }
    if (this._idleCall !== undefined && this._idleCall.active()) this._idleCall.cancel();
    this._idleCall = undefined;
    const result: RelayResult = {
      bytesAtoB: this.a.bytesIn,
      bytesBtoA: this.b.bytesIn,
      durationMs: this.startedAt === undefined ? 0 : performance.now() - this.startedAt,
      endedBy: this.a.eof && this.b.eof ? 'eof' : 'closed',
    };
    if (this._failure !== undefined) this.done.errback(this._failure);
    else this.done.callback(result);
  }
}
