/**
 * The process's stdin and stdout as one transport: what the network sends
 * goes to stdout, what stdin gives is the protocol's data, and EOF on
 * stdin is a half-close (`readConnectionLost`).
 *
 * @module
 */

import { performance } from 'node:perf_hooks';
import type { Readable, Writable } from 'node:stream';
import { Failure } from './defer.js';
import { newConnectionStats, type ConnectionStats } from './diagnostics.js';
import { ConnectionDone, ConnectionLostError } from './errors.js';
import { stdinReader, type PipeConsumer, type PipeReader } from './pipereader.js';
import type { Address, IPushProducer, ITransport, Protocol } from './protocol.js';
import { logProtocolError, readConnectionLost, writeConnectionLost } from './stream.js';

const _guarded = new WeakSet<object>();

/**
 * One permanent no-op 'error' listener per shared stream, so that an error
 * arriving after a transport has taken its own listener off (an EPIPE for
 * an earlier write) is not an unhandled 'error' that ends the process.
 */
function _guardErrors(stream: Readable | Writable): void {
  if (_guarded.has(stream)) return;
  _guarded.add(stream);
  stream.on('error', () => undefined);
}

/** Options of {@link StdioTransport}. */
export interface StdioOptions {
  /** Where data comes from (default `process.stdin`). */
  stdin?: Readable;
  /** Where data goes (default `process.stdout`). */
  stdout?: Writable;
  /** Do not read stdin at all (stdin is treated as at EOF from the start). */
  noInput?: boolean;
  /** End (close) the output stream when the write side closes: for files, not for the process's stdout. */
  closeOutput?: boolean;
  /** The kind in the statistics (default `stdio`). */
  kind?: string;
  /** The name of the endpoint in the statistics (default `stdio`). */
  name?: string;
}

/**
 * A protocol that can be handed data in a buffer it does not own.
 *
 * `dataReceivedBorrowed(data)` is `dataReceived(data)` plus an answer: true
 * when nothing refers to `data` any more (it was copied, or written out in
 * full), so the caller may reuse its memory; false when `data` was kept
 * (queued in a socket's buffer, stored). The relay's sides do this, so
 * stdin read into a reused buffer goes to a socket without a new buffer
 * per read.
 */
export interface BorrowingProtocol {
  /**
   * @param data The bytes, valid until this returns true.
   * @returns Whether `data` may be overwritten now.
   */
  dataReceivedBorrowed(data: Buffer): boolean;
}

/**
 * stdin and stdout driving a protocol.
 *
 * The process's own stdin, when it is a pipe or a socket (or a regular
 * file, for a {@link BorrowingProtocol}), is read by a {@link PipeReader}:
 * one reused buffer while the protocol does not keep the chunks. A
 * terminal, /dev/null, or streams given in the options go through Node's
 * streams.
 */
export class StdioTransport implements ITransport {
  /** True until both stdin has ended and stdout was closed. */
  connected = true;
  /** True once `loseConnection()` was called. */
  disconnecting = false;
  /** This transport's figures (bytesIn: read from stdin; bytesOut: written to stdout). */
  readonly stats: ConnectionStats;

  private readonly _protocol: Protocol;
  private readonly _in: Readable | undefined;
  private readonly _reader: PipeReader | undefined;
  private readonly _consumer: PipeConsumer | undefined;
  private readonly _out: Writable;
  private _producer: IPushProducer | undefined = undefined;
  private _producerPaused = false;
  private _readDone = false;
  private _inPaused = false;
  private _writeDone = false;
  /** Our EOF (or the flush of what was written) is on its way: the end waits for it. */
  private _flushing = false;
  private _error: Error | undefined = undefined;
  private readonly _closeOutput: boolean;
  private readonly _onDrain: () => void;
  private readonly _onOutError: (err: NodeJS.ErrnoException) => void;
  private readonly _onInData = (b: Buffer | string) => this._onData(typeof b === 'string' ? Buffer.from(b) : b);
  private readonly _onInEnd = () => this._onEnd();
  private readonly _onInError = (err: Error) => {
    this._error ??= err;
    this._onEnd();
  };

  /**
   * Wire stdin/stdout to `protocol` and call `protocol.makeConnection(this)`.
   *
   * @param protocol The protocol.
   * @param opts Other streams than the process's, or no input.
   */
  constructor(protocol: Protocol, opts: StdioOptions = {}) {
    this._protocol = protocol;
    const borrowing = typeof (protocol as Partial<BorrowingProtocol>).dataReceivedBorrowed === 'function';
    this._reader = opts.stdin === undefined && !opts.noInput ? stdinReader(borrowing) : undefined;
    // With no input, process.stdin is never touched: resuming it would read
    // (and drop) bytes of the descriptor that the pipe reader also reads.
    this._in = this._reader !== undefined || opts.noInput === true ? undefined : (opts.stdin ?? process.stdin);
    if (this._reader !== undefined) {
      this._consumer = {
        chunk: (b) => this._onChunk(b, borrowing),
        end: this._onInEnd,
        error: this._onInError,
        anySize: borrowing,
      };
    }
    this._out = opts.stdout ?? process.stdout;
    this.stats = newConnectionStats(opts.kind ?? 'stdio', 'local', opts.name ?? 'stdio');
    this._closeOutput = opts.closeOutput ?? false;
    this.stats.connectedAt = this.stats.startedAt;
    this._onDrain = () => {
      if (this._producer !== undefined && this._producerPaused) {
        this._producerPaused = false;
        this._producer.resumeProducing();
      }
    };
    this._onOutError = (err: NodeJS.ErrnoException) => {
      // EPIPE: whoever read our stdout has gone; nothing more can be delivered.
      this._error ??= err;
      this._writeDone = true;
      this._flushing = false;
      this._finish();
    };
    _guardErrors(this._out);
    if (this._in !== undefined) _guardErrors(this._in);
    this._out.on('drain', this._onDrain);
    this._out.on('error', this._onOutError);
    try {
      protocol.makeConnection(this);
    } catch (e) {
      logProtocolError(`${protocol.constructor.name}.connectionMade`, e);
    }
    if (opts.noInput) {
      queueMicrotask(() => this._onEnd());
    } else if (this._reader !== undefined) {
      this._reader.attach(this._consumer!);
      // connectionMade() may have paused us already (a relay waiting for its other side).
      if (!this._inPaused) this._reader.resume();
    } else if (this._in !== undefined) {
      this._in.on('data', this._onInData);
      this._in.on('end', this._onInEnd);
      this._in.on('error', this._onInError);
    }
  }

  write(data: Buffer | string): void {
    if (this._writeDone) return;
    const n = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (n === 0) return;
    this.stats.bytesOut += n;
    if (!this._out.write(data) && this._producer !== undefined && !this._producerPaused) {
      this._producerPaused = true;
      this._producer.pauseProducing();
    }
  }

  writeSequence(chunks: (Buffer | string)[]): void {
    for (const c of chunks) this.write(c);
  }

  /** Flush stdout and stop reading stdin. */
  loseConnection(): void {
    if (this.disconnecting) return;
    this.disconnecting = true;
    if (!this._readDone) {
      this._readDone = true;
      this._stopInput();
    }
    this.loseWriteConnection();
    // The write side may have been closed already: finish now if so.
    this._finish();
  }

  /** Flush stdout; it is not closed (other writers may share it), but nothing more is written. */
  loseWriteConnection(): void {
    if (this._writeDone) return;
    this._writeDone = true;
    this._flushing = true;
    const done = () => {
      this._flushing = false;
      writeConnectionLost(this, this._protocol);
      this._finish();
    };
    if (this._closeOutput) this._out.end(done);
    else if (this._out.writableNeedDrain) this._out.once('drain', done);
    else this._out.write('', done);
  }

  abortConnection(): void {
    this.disconnecting = true;
    this._readDone = true;
    this._writeDone = true;
    this._flushing = false;
    this._stopInput();
    this._finish();
  }

  getPeer(): Address {
    return { type: 'STDIO', path: 'stdin' };
  }

  getHost(): Address {
    return { type: 'STDIO', path: 'stdout' };
  }

  pauseProducing(): void {
    this._inPaused = true;
    if (this._reader !== undefined) this._reader.pause();
    else this._in?.pause();
  }

  resumeProducing(): void {
    if (this._readDone) return;
    this._inPaused = false;
    if (this._reader !== undefined) this._reader.resume();
    else this._in?.resume();
  }

  stopProducing(): void {
    this.loseConnection();
  }

  registerProducer(producer: IPushProducer, streaming: boolean): void {
    if (this._producer !== undefined) throw new Error('a producer is already registered');
    this._producer = producer;
    this._producerPaused = false;
    if (!streaming) producer.resumeProducing();
    else if (this._out.writableNeedDrain) {
      this._producerPaused = true;
      producer.pauseProducing();
    }
  }

  unregisterProducer(): void {
    this._producer = undefined;
  }

  /** Stop reading stdin, and let the process exit although it is still open. */
  private _stopInput(): void {
    if (this._reader !== undefined) {
      // Other transports may still read stdin (relay tcp-listen:..,fork -).
      this._reader.detach(this._consumer!);
      return;
    }
    this._in?.pause();
    (this._in as { unref?: () => void } | undefined)?.unref?.();
  }

  /** A chunk from the pipe reader; true when its buffer may be reused. */
  private _onChunk(b: Buffer, borrowing: boolean): boolean {
    if (this._readDone) return true;
    const st = this.stats;
    if (st.firstByteAt === undefined) st.firstByteAt = performance.now();
    st.bytesIn += b.length;
    try {
      if (borrowing) return (this._protocol as unknown as BorrowingProtocol).dataReceivedBorrowed(b);
      this._protocol.dataReceived(b);
    } catch (e) {
      logProtocolError(`${this._protocol.constructor.name}.dataReceived`, e);
      this.abortConnection();
    }
    return false;
  }

  private _onData(b: Buffer): void {
    if (this._readDone) return;
    const st = this.stats;
    if (st.firstByteAt === undefined) st.firstByteAt = performance.now();
    st.bytesIn += b.length;
    try {
      this._protocol.dataReceived(b);
    } catch (e) {
      logProtocolError(`${this._protocol.constructor.name}.dataReceived`, e);
      this.abortConnection();
    }
  }

  private _onEnd(): void {
    if (this._readDone && this.disconnecting) return;
    this._readDone = true;
    readConnectionLost(this, this._protocol);
    this._finish();
  }

  private _finish(): void {
    if (!this.connected || !this._readDone || !this._writeDone || this._flushing) return;
    this.connected = false;
    // Shared streams (the process's stdin/stdout) outlive this transport:
    // take our listeners off them (many forked pairs would pile them up).
    this._out.removeListener('drain', this._onDrain);
    this._out.removeListener('error', this._onOutError);
    if (this._reader !== undefined) this._reader.detach(this._consumer!);
    this._in?.removeListener('data', this._onInData);
    this._in?.removeListener('end', this._onInEnd);
    this._in?.removeListener('error', this._onInError);
    this.stats.closedAt = performance.now();
    const producer = this._producer;
    this._producer = undefined;
    producer?.stopProducing();
    const reason =
      this._error !== undefined
        ? new Failure(new ConnectionLostError(this._error.message, this.stats.peer, (this._error as NodeJS.ErrnoException).code))
        : new Failure(new ConnectionDone());
    this._protocol.connected = false;
    try {
      this._protocol.connectionLost(reason);
    } catch (e) {
      logProtocolError(`${this._protocol.constructor.name}.connectionLost`, e);
    }
  }
}
