/**
 * Reading a pipe or a socket (the process's stdin) without a buffer per
 * read: each read lands in a reused slab, and the consumer says whether it
 * kept the chunk.
 *
 * `process.stdin` reads 64 KiB at a time into a newly allocated buffer.
 * For `head -c 2G /dev/zero | wirecat connect ...` that is one fresh,
 * cache-cold 64 KiB buffer per read, which the kernel copies into and then
 * out of again: the 2 GiB stream walks 2 GiB of memory twice. Here a read
 * goes into the slab where the previous one went as long as the consumer
 * did not keep the previous chunk (a socket that took it in one `write`),
 * so the same 64-256 KiB stay in the CPU's cache, as with nc's or socat's
 * one buffer. A chunk the consumer keeps (its socket is backed up, or it
 * queues data) is left alone: the next read goes after it in the slab, or
 * into a new slab.
 *
 * A consumer that takes chunks of any size (a relay) gets the reads of one
 * event-loop turn as one chunk, so they go out in one socket write.
 * Regular files (for such consumers) are read with `fs.read`, 256 KiB at a
 * time into two buffers in turn.
 *
 * The reading itself is libuv's, through `net.Socket`'s `onread` option
 * (no Readable stream, no 'data' events): non-blocking, so it can stop at
 * any time and never holds the process open at exit. (A worker thread
 * doing blocking reads could not: `process.exit()` waits for a thread
 * blocked in `read(2)` on a pipe until the writer closes it.)
 *
 * @module
 */

import { fstatSync, read } from 'node:fs';
import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';

/** What the reader calls; all three are set by the consumer. */
export interface PipeConsumer {
  /**
   * A chunk arrived. It is a view into the reader's slab.
   *
   * @returns True when nothing refers to `chunk` any more (its bytes were
   *   copied or written out), so the next read may overwrite them; false
   *   when the chunk was kept.
   */
  chunk(chunk: Buffer): boolean;
  /** EOF. */
  end(): void;
  /** A read failed (reading has stopped). */
  error(err: Error): void;
  /**
   * Chunks of any size are fine: the reads of one event-loop turn (libuv
   * reads a pipe again while each read fills its 64 KiB) are delivered as
   * one chunk at the end of the turn, so a relay writes them with one
   * syscall. Without it, each read is a chunk of at most `readBytes`.
   */
  anySize?: boolean;
}

/** Options of {@link PipeReader}. */
export interface PipeReaderOptions {
  /** Size of each slab (default 256 KiB). */
  slabBytes?: number;
  /**
   * Most bytes per read, and the smallest room left in a slab worth a read
   * (below it a new slab is taken); default 64 KiB, what `process.stdin`
   * reads, so protocols see the same chunks as before.
   */
  readBytes?: number;
  /**
   * The descriptor is a regular file: read it with `fs.read` (on libuv's
   * thread pool) instead of a stream handle, which cannot poll a file.
   */
  file?: boolean;
}

/**
 * A pipe, socket or file descriptor read into reused buffers.
 *
 * Reading starts with `resume()` once a consumer is attached, and stops
 * with `pause()` (the consumer's backpressure) or at EOF.
 */
export class PipeReader {
  /** Whether EOF (or an error) was seen. */
  ended = false;

  private readonly _fd: number;
  private readonly _slabBytes: number;
  private readonly _readBytes: number;
  private readonly _file: boolean;
  private _fileReading = false;
  private _fileBufs: Buffer[] = [];
  private _fileNext = 0;
  private _fileDone: { err: NodeJS.ErrnoException | null; n: number; i: number; buf: Buffer } | undefined = undefined;
  private _socket: Socket | undefined = undefined;
  private _slab: Buffer;
  /** Where the read in progress writes (the buffer libuv holds). */
  private _readAt = 0;
  /** Start of the bytes read but not yet delivered (they end at `_readAt`). */
  private _pendAt = 0;
  /** Whether a chunk of the current slab was kept (then the slab is never wrapped). */
  private _kept = false;
  private _flushQueued = false;
  /** Every consumer gets every chunk (transports reading stdin at once, as `relay tcp-listen:..,fork -` makes). */
  private _consumers: PipeConsumer[] = [];
  private _paused = true;
  private _unref = false;
  private _error: Error | undefined = undefined;

  /**
   * @param fd The descriptor (a pipe, FIFO or socket).
   * @param opts Slab sizes.
   */
  constructor(fd: number, opts: PipeReaderOptions = {}) {
    this._fd = fd;
    this._slabBytes = opts.slabBytes ?? 256 * 1024;
    this._readBytes = Math.min(opts.readBytes ?? 64 * 1024, this._slabBytes);
    this._file = opts.file ?? false;
    if (this._file) {
      this._slab = Buffer.alloc(0);
      this._fileBufs = [Buffer.allocUnsafeSlow(this._readBytes), Buffer.allocUnsafeSlow(this._readBytes)];
    } else this._slab = Buffer.allocUnsafeSlow(this._slabBytes);
  }

  /**
   * Deliver to `consumer` too from now on (each chunk goes to every
   * consumer, as 'data' events of a stream do); reading stays paused until
   * `resume()`. A consumer attached after EOF gets `end()` (or the error)
   * on the next turn.
   *
   * @param consumer The callbacks.
   */
  attach(consumer: PipeConsumer): void {
    if (!this._consumers.includes(consumer)) this._consumers.push(consumer);
    if (this._unref) {
      this._unref = false;
      this._socket?.ref();
    }
    if (this.ended) {
      queueMicrotask(() => {
        if (!this._consumers.includes(consumer)) return;
        if (this._error !== undefined) consumer.error(this._error);
        else consumer.end();
      });
    }
  }

  /**
   * Stop delivering to `consumer`; with no consumer left, pause, and let
   * the process exit although the descriptor is still open (until the
   * next `attach()`).
   *
   * @param consumer The callbacks given to `attach()`.
   */
  detach(consumer: PipeConsumer): void {
    const i = this._consumers.indexOf(consumer);
    if (i < 0) return;
    this._consumers.splice(i, 1);
    if (this._consumers.length === 0) {
      this.pause();
      this.unref();
    }
  }

  /** Stop reading (data stays in the pipe). */
  pause(): void {
    if (this._paused) return;
    this._paused = true;
    this._socket?.pause();
  }

  /** Read (again). */
  resume(): void {
    if (!this._paused || this.ended || this._consumers.length === 0) return;
    this._paused = false;
    if (this._file) {
      this._deliverFile();
      this._readFile();
    } else if (this._socket === undefined) this._open();
    else this._socket.resume();
  }

  /** Let the process exit although the descriptor is still open. */
  unref(): void {
    this._unref = true;
    this._socket?.unref();
  }

  private _open(): void {
    // `onread` works for any stream handle, though the typings only list it for connect().
    const opts: SocketConstructorOpts & { onread: OnReadOpts } = {
      fd: this._fd,
      readable: true,
      writable: false,
      allowHalfOpen: true,
      onread: {
        buffer: () => this._nextBuffer(),
        callback: (n: number, buf: Uint8Array) => this._onRead(n, buf),
      },
    };
    const s = new Socket(opts);
    this._socket = s;
    if (this._unref) s.unref();
    s.on('end', () => this._onEnd(undefined));
    s.on('error', (err: Error) => this._onEnd(err));
  }

  /**
   * Files: two buffers in turn, one `fs.read` in flight. When a read
   * completes, the next one (into the other buffer) starts before the chunk
   * is delivered, so the thread pool reads while the consumer writes.
   */
  private _readFile(): void {
    if (this._fileReading || this._paused || this.ended || this._fileDone !== undefined) return;
    this._fileReading = true;
    const i = this._fileNext;
    this._fileNext = 1 - i;
    const buf = this._fileBufs[i]!;
    read(this._fd, buf, 0, buf.length, null, (err, n) => {
      this._fileReading = false;
      this._fileDone = { err, n, i, buf };
      this._deliverFile();
    });
  }

  private _deliverFile(): void {
    const done = this._fileDone;
    if (done === undefined || this._paused) return;
    this._fileDone = undefined;
    if (done.err !== null) return this._onEnd(done.err);
    if (done.n === 0) return this._onEnd(undefined);
    this._readFile();
    const reusable = this._deliver(done.buf.subarray(0, done.n));
    // A kept chunk keeps its buffer: the next read into that slot gets a new one.
    if (!reusable) this._fileBufs[done.i] = Buffer.allocUnsafeSlow(this._readBytes);
  }

  /**
   * The buffer for the next read (libuv asks right after each read): the
   * slab from `_readAt`. Near the slab's end, whatever is pending is
   * delivered first; then the slab starts over if nothing in it was kept,
   * else a new slab is taken.
   */
  private _nextBuffer(): Buffer {
    if (this._slabBytes - this._readAt < this._readBytes) {
      this._flush();
      if (this._kept) {
        this._slab = Buffer.allocUnsafeSlow(this._slabBytes);
        this._kept = false;
      }
      this._readAt = this._pendAt = 0;
    }
    return this._slab.subarray(this._readAt, this._readAt + this._readBytes);
  }

  private _onRead(n: number, _buf: Uint8Array): boolean {
    const start = this._pendAt;
    this._readAt += n;
    if (!this._anySize()) {
      // The next buffer is not handed out yet: a released chunk's bytes are
      // read into again at once (the same 64 KiB, hot in the cache).
      if (this._flush()) this._readAt = this._pendAt = start;
    } else if (!this._flushQueued) {
      this._flushQueued = true;
      setImmediate(this._onFlushQueued);
    }
    // pause() inside the consumer stopped the handle already.
    return true;
  }

  private readonly _onFlushQueued = () => {
    this._flushQueued = false;
    this._flush();
  };

  /**
   * Deliver the bytes read since the last delivery. A released chunk's
   * bytes are read into again once the slab starts over; a kept one's never.
   *
   * @returns Whether the consumer released the chunk (true when there was none).
   */
  private _flush(): boolean {
    const start = this._pendAt;
    const end = this._readAt;
    if (end === start) return true;
    this._pendAt = end;
    const reusable = this._deliver(this._slab.subarray(start, end));
    if (!reusable) this._kept = true;
    return reusable;
  }

  /** @returns Whether no consumer kept `chunk`. */
  private _deliver(chunk: Buffer): boolean {
    const cs = this._consumers;
    if (cs.length === 1) return cs[0]!.chunk(chunk);
    let reusable = true;
    for (const c of cs.slice()) if (!c.chunk(chunk)) reusable = false;
    return reusable;
  }

  /** Whether every consumer takes chunks of any size. */
  private _anySize(): boolean {
    const cs = this._consumers;
    if (cs.length === 0) return false;
    for (const c of cs) if (c.anySize !== true) return false;
    return true;
  }

  private _onEnd(err: Error | undefined): void {
    if (this.ended) return;
    // Bytes read in this turn come before the EOF.
    if (!this._file) this._flush();
    this.ended = true;
    this._error = err;
    for (const c of this._consumers.slice()) {
      if (err !== undefined) c.error(err);
      else c.end();
    }
  }
}

let _stdin: PipeReader | null | undefined;
let _stdinIsFile = false;

/**
 * The process's stdin as a {@link PipeReader}: when it is a pipe, FIFO or
 * socket (64 KiB reads, the chunks `process.stdin` would give), or a
 * regular file and the consumer takes chunks of any size (`anySize`: 256 KiB
 * reads). `undefined` otherwise: a terminal, /dev/null, or a file for a
 * consumer that is not a relay are read through `process.stdin`. One
 * reader per process, shared by the transports that read stdin one after
 * another.
 *
 * @param anySize Whether the consumer is fine with chunks over 64 KiB.
 * @returns The reader, or `undefined`.
 */
export function stdinReader(anySize = false): PipeReader | undefined {
  if (_stdin === undefined) {
    let st;
    try {
      st = fstatSync(0);
    } catch {
      st = undefined;
    }
    if (st !== undefined && (st.isFIFO() || st.isSocket())) _stdin = new PipeReader(0);
    else if (st?.isFile() === true) {
      _stdin = new PipeReader(0, { file: true, slabBytes: 256 * 1024, readBytes: 256 * 1024 });
      _stdinIsFile = true;
    } else _stdin = null;
  }
  if (_stdin === null || (_stdinIsFile && !anySize)) return undefined;
  return _stdin;
}
