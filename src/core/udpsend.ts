/**
 * `udp-send`: datagrams from the command line or stdin to a UDP peer,
 * paced against the clock, with backpressure, and the replies to stdout.
 *
 * The pieces are separate so that each can be tested without a socket:
 * {@link decodeHex} and {@link LineSplitter} turn input into datagrams,
 * {@link SendPacer} decides when each goes (driven by any `IReactorTime`,
 * the test `Clock` included), and {@link udpSend} wires them to a socket.
 *
 * @module
 */

import { lookup } from 'node:dns';
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { Deferred, type Failure } from './defer.js';
import { counters } from './diagnostics.js';
import { ConnectError, ConnectionRefusedError, DNSLookupError, TimeoutError, UsageError } from './errors.js';
import { type EventSink, nullSink } from './events.js';
import { interfaceAddress } from './multicast.js';
import { DatagramProtocol, type InetAddress, Protocol } from './protocol.js';
import type { Reactor } from './reactor.js';
import type { RelayOptions } from './relay.js';
import { StdioTransport } from './stdio.js';
import type { IDelayedCall, IReactorTime } from './task.js';
import { formatHostPort } from './tcp.js';
import { MAX_UDP_PAYLOAD_V4, MAX_UDP_PAYLOAD_V6, type UDPPort, isMulticastAddress } from './udp.js';

// ---------------------------------------------------------------- input

/**
 * Decode hex text into bytes: pairs of hex digits, with any whitespace or
 * colons between them and an optional `0x` in front (`de ad be ef`,
 * `de:ad:be:ef`, `0xdeadbeef`).
 *
 * @param text The hex text.
 * @param what What it is, for the error (`argument 2`, `line 7 of stdin`).
 * @returns The bytes.
 * @throws {UsageError} For a character that is not a hex digit, or an odd
 *   number of digits.
 */
export function decodeHex(text: string, what = 'input'): Buffer {
  const digits = text.replace(/^\s*0x/i, '').replace(/[\s:]+/g, '');
  if (!/^[0-9a-fA-F]*$/.test(digits)) {
    const bad = /[^0-9a-fA-F]/.exec(digits)![0];
    throw new UsageError(`--hex: ${what} has '${bad}', which is not a hex digit (give pairs like 'de ad be ef')`);
  }
  if (digits.length % 2 !== 0) throw new UsageError(`--hex: ${what} has an odd number of hex digits (${digits.length})`);
  return Buffer.from(digits, 'hex');
}

/**
 * Split a byte stream into lines without their endings (`\n` or `\r\n`),
 * in whatever chunks it arrives. A line still incomplete is kept until the
 * next chunk (or `end()`); one longer than `maxLength` is an error, so a
 * stream without newlines cannot fill memory.
 *
 * @example
 * const s = new LineSplitter(65_507);
 * const send = (line: Buffer) => console.log(line.toString());
 * s.push(Buffer.from('a\r\nb'), send); // a
 * s.push(Buffer.from('c\n'), send);    // bc
 * s.end();                            // undefined
 */
export class LineSplitter {
  /** Lines given out so far (for error messages). */
  lines = 0;
  private _partial: Buffer[] = [];
  private _partialLength = 0;

  /**
   * @param maxLength The longest line accepted, in bytes (without its ending).
   * @param limitText The limit as the error states it (default `N bytes`).
   */
  constructor(
    readonly maxLength: number,
    readonly limitText = `${maxLength} bytes`,
  ) {}

  /**
   * Add a chunk.
   *
   * @param chunk The bytes.
   * @param onLine Called with each line the chunk completes, in order
   *   (sub-arrays of the input where possible).
   * @throws {UsageError} When a line is longer than `maxLength` (after
   *   `onLine` was given the lines before it).
   */
  push(chunk: Buffer, onLine: (line: Buffer) => void): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      let line: Buffer = chunk.subarray(start, nl);
      if (this._partialLength > 0) {
        line = Buffer.concat([...this._partial, line]);
        this._partial = [];
        this._partialLength = 0;
      }
      if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
      this._check(line.length, true);
      this.lines++;
      start = nl + 1;
      onLine(line);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this._partial.push(rest);
      this._partialLength += rest.length;
      // One byte over: the `\r` of a `\r\n` may still come.
      if (this._partialLength > this.maxLength + 1) this._check(this._partialLength, false);
    }
  }

  /**
   * The input ended.
   *
   * @returns The last line when it had no line ending, else `undefined`.
   * @throws {UsageError} When that line is too long.
   */
  end(): Buffer | undefined {
    if (this._partialLength === 0) return undefined;
    const line = Buffer.concat(this._partial);
    this._partial = [];
    this._partialLength = 0;
    this._check(line.length, true);
    this.lines++;
    return line;
  }

  private _check(length: number, complete: boolean): void {
    if (length <= this.maxLength) return;
    const size = complete ? `is ${length} bytes, larger` : 'is longer';
    throw new UsageError(`line ${this.lines + 1} of stdin ${size} than a UDP datagram can be (${this.limitText})`);
  }
}

// ---------------------------------------------------------------- pacing

/** Where a {@link SendPacer} takes datagrams from. */
export interface DatagramSource {
  /** The next datagram, or `undefined` when none is ready now. */
  shift(): Buffer | undefined;
  /** True once no datagram will ever come again (and none is left). */
  readonly exhausted: boolean;
}

/** Options of {@link SendPacer}. */
export interface SendPacerOptions {
  /** Where time comes from (the reactor, or a test `Clock`). */
  clock: IReactorTime;
  /** Milliseconds between datagrams (`--interval`, or 1000 / `--rate`); unpaced when omitted. */
  periodMs?: number;
  /** At most this many sends not yet confirmed by the socket (default 64). */
  window?: number;
  /**
   * Ask for a confirmation only every N-th datagram, and for the last of
   * each burst (default 1: every datagram). The socket finishes sends in
   * order, so one confirmation covers the sends before it; an error on a
   * send without its own confirmation goes unnoticed unless it happens
   * again on a later one (a refused port, an unreachable network do).
   */
  confirmEvery?: number;
  /** With `confirmEvery`, still confirm each of the first N datagrams (default 0). */
  confirmEachFirst?: number;
  /**
   * Send one datagram; call `done` (with an error, if it failed) when the
   * socket is finished with it and with every send before it. `done` is
   * `undefined` when no confirmation is wanted for this one (see `confirmEvery`).
   */
  send: (datagram: Buffer, done: ((err?: Error | null) => void) | undefined) => void;
}

/**
 * Decides when datagrams go.
 *
 * Paced (`periodMs`), datagram `n` (from 0) is due at `start + n ×
 * periodMs`; each wake-up sends every datagram due by the clock's time
 * (so a late timer, a slow event loop or a full window is made up for, and
 * the rate holds over the run), then sleeps until the next one is due. A
 * source that ran dry (stdin with nothing to read) moves the schedule
 * along instead: datagrams are never sent faster than the rate to catch
 * up on time spent waiting for input.
 *
 * Whether paced or not, at most `window` sends are in flight: the socket's
 * send callbacks open the window again, so memory stays bounded however
 * fast the input comes.
 *
 * `done` fires once the source is exhausted and every send is confirmed;
 * it fails with the first send error (nothing more is sent after it).
 *
 * @example
 * const pacer = new SendPacer({ clock: reactor, periodMs: 1, send: (b, done) => socket.send(b, done) }, source);
 * pacer.kick();
 * pacer.done.addCallback(() => console.log(pacer.sent, 'sent'));
 */
export class SendPacer {
  /** Fires when everything was sent and confirmed. */
  readonly done = new Deferred<void>();
  /** Datagrams handed to `send`. */
  sent = 0;
  /** Sends confirmed by a callback (their own, or a later send's). */
  confirmed = 0;
  /** Bytes handed to `send`. */
  bytes = 0;
  /** The clock's time of the first send, once there was one. */
  startedAt: number | undefined = undefined;
  /** The clock's time of the last confirmation. */
  finishedAt: number | undefined = undefined;

  private readonly _opts: SendPacerOptions;
  private readonly _source: DatagramSource;
  private readonly _window: number;
  private readonly _confirmEvery: number;
  private readonly _confirmEachFirst: number;
  /** For each send with a callback not yet called: `sent` after it (a FIFO from `_marksHead`). */
  private readonly _marks: number[] = [];
  private _marksHead = 0;
  /** `sent` after the last send that had a callback. */
  private _lastMark = 0;
  /** A datagram taken from the source to see whether another follows, not sent yet. */
  private _peeked: Buffer | undefined = undefined;
  private _anchor = 0;
  private _timer: IDelayedCall | undefined = undefined;
  private _failed = false;
  private _starved = false;
  private _inKick = false;
  private readonly _onSent = (err?: Error | null): void => this._confirm(err);

  /**
   * @param opts Clock, pace, window and the send function.
   * @param source Where datagrams come from.
   */
  constructor(opts: SendPacerOptions, source: DatagramSource) {
    if (opts.periodMs !== undefined && !(Number.isFinite(opts.periodMs) && opts.periodMs >= 0)) throw new RangeError(`bad send period '${opts.periodMs}'`);
    this._opts = opts;
    this._source = source;
    this._window = Math.max(1, opts.window ?? 64);
    this._confirmEvery = Math.max(1, Math.floor(opts.confirmEvery ?? 1));
    this._confirmEachFirst = opts.confirmEachFirst ?? 0;
  }

  /**
   * How many datagrams are due by `now` in all: `floor(elapsed / period) + 1`.
   *
   * @param now The clock's time.
   * @returns The count (`Infinity` when unpaced).
   */
  dueBy(now: number): number {
    const p = this._opts.periodMs;
    if (p === undefined || p === 0) return Infinity;
    if (this.startedAt === undefined) return 1;
    return Math.floor((now - this._anchor) / p + 1e-9) + 1;
  }

  /**
   * Send what is due and allowed now, then arrange to be called again: by
   * a timer when the next datagram is due later, by a send callback when
   * the window is full. Call it again when the source has new datagrams.
   */
  kick(): void {
    // A send callback that runs at once (a test double) re-enters here; the loop below goes on by itself.
    if (this._inKick || this._failed || this.done.called) return;
    this._inKick = true;
    try {
      this._kick();
    } finally {
      this._inKick = false;
    }
  }

  private _kick(): void {
    if (this._timer !== undefined && this._timer.active()) this._timer.cancel();
    this._timer = undefined;
    const clock = this._opts.clock;
    const p = this._opts.periodMs;
    const paced = p !== undefined && p > 0;
    let now = clock.now();
    if (this._starved && paced && this.startedAt !== undefined) {
      // The source ran dry: the next datagram is due now, not in the past.
      this._anchor = Math.max(this._anchor, now - this.sent * p);
    }
    this._starved = false;
    let due = this.dueBy(now);
    const every = this._confirmEvery;
    while (this.sent - this.confirmed < this._window && this.sent < due) {
      let datagram = this._peeked;
      this._peeked = undefined;
      datagram ??= this._source.shift();
      if (datagram === undefined) {
        this._starved = !this._source.exhausted;
        break;
      }
      if (this.startedAt === undefined) {
        this.startedAt = this._anchor = now;
        due = this.dueBy(now);
      }
      this.sent++;
      this.bytes += datagram.length;
      // Unconfirmed sends end where the window fills, every `every` sends, and where the source has no next one now.
      let confirm =
        every === 1 ||
        this.sent <= this._confirmEachFirst ||
        this.sent - this._lastMark >= every ||
        this.sent - this.confirmed >= this._window ||
        this.sent >= due;
      if (!confirm) {
        this._peeked = this._source.shift();
        confirm = this._peeked === undefined;
      }
      if (confirm) {
        this._lastMark = this.sent;
        if (every > 1) this._marks.push(this.sent);
        this._opts.send(datagram, this._onSent);
      } else {
        this._opts.send(datagram, undefined);
      }
      if (this._failed || this.done.called) return;
    }
    this._maybeDone();
    if (this.done.called || this._starved || !paced || this.startedAt === undefined) return;
    if (this.sent - this.confirmed >= this._window) return; // a callback kicks
    now = clock.now();
    const next = this._anchor + this.sent * p;
    this._timer = clock.callLater(Math.max(0, next - now), () => {
      this._timer = undefined;
      this.kick();
    });
  }

  /**
   * Stop sending and fail `done` with `err` (unless it fired already).
   *
   * @param err Why.
   */
  fail(err: Error): void {
    if (this._failed || this.done.called) return;
    this.stop();
    this.done.errback(err);
  }

  /** Stop: no more sends; `done` does not fire. */
  stop(): void {
    this._failed = true;
    if (this._timer !== undefined && this._timer.active()) this._timer.cancel();
    this._timer = undefined;
  }

  private _confirm(err?: Error | null): void {
    if (this._confirmEvery === 1) this.confirmed++;
    else {
      this.confirmed = this._marks[this._marksHead++]!;
      if (this._marksHead >= 1024 && this._marksHead * 2 >= this._marks.length) {
        this._marks.splice(0, this._marksHead);
        this._marksHead = 0;
      }
    }
    if (this._failed) return;
    if (err) {
      this.fail(err);
      return;
    }
    this.finishedAt = this._opts.clock.now();
    if (this._maybeDone()) return;
    // The window opened, or input may have come: send what is due (unless a timer waits for it).
    if (this._timer === undefined) this.kick();
  }

  private _maybeDone(): boolean {
    if (this.done.called || this._failed) return this.done.called;
    if (this.sent === this.confirmed && this._peeked === undefined && this._source.exhausted) {
      if (this._timer !== undefined && this._timer.active()) this._timer.cancel();
      this._timer = undefined;
      this.finishedAt ??= this._opts.clock.now();
      this.done.callback(undefined);
      return true;
    }
    return false;
  }
}

// ---------------------------------------------------------------- sources

/** The given datagrams, `count` times over. */
class _RepeatSource implements DatagramSource {
  private _i = 0;
  private readonly _total: number;
  constructor(
    private readonly _datagrams: Buffer[],
    count: number,
  ) {
    this._total = _datagrams.length * count;
  }
  shift(): Buffer | undefined {
    if (this._i >= this._total) return undefined;
    return this._datagrams[this._i++ % this._datagrams.length];
  }
  get exhausted(): boolean {
    return this._i >= this._total;
  }
}

/** The stdio side of a session: replies go out through its transport; `onLost` when stdio is gone. */
class _StdioSide extends Protocol {
  /** stdin and stdout are both finished (stdout closed by the reader, or by us). */
  onLost: () => void = () => undefined;
  override readConnectionLost(): void {}
  override connectionLost(): void {
    this.onLost();
  }
}

/**
 * stdin as datagrams: one a line (empty lines skipped), or all of it as one
 * (`whole`). With `count` 1 lines go as they arrive and stdin is paused
 * while many wait; with more, stdin is read to its end first.
 */
class _StdinSource extends _StdioSide implements DatagramSource {
  /** Pause stdin with this many datagrams waiting; resume below a quarter of it. */
  static readonly HIGH_WATER = 4096;
  /** Datagrams became ready, or stdin ended (or turned out malformed). */
  onReady: () => void = () => undefined;
  /** Why the input stopped early: what came before it is still sent, then the session fails with it. */
  error: Error | undefined = undefined;
  private readonly _onLine = (line: Buffer): void => this._add(line, this._splitter.lines);
  private readonly _queue: Buffer[] = [];
  private _head = 0;
  private readonly _all: Buffer[] = [];
  private _ended = false;
  private _paused = false;
  private _repeat: _RepeatSource | undefined;
  private readonly _splitter: LineSplitter;
  private readonly _inputLimit: number;
  private readonly _whole: Buffer[] = [];
  private _wholeLength = 0;

  constructor(private readonly _opts: { whole: boolean; hex: boolean; count: number; maxLength: number }) {
    super();
    // Hex text takes two digits a byte, and may have a separator between pairs.
    this._inputLimit = _opts.hex ? _opts.maxLength * 3 + 2 : _opts.maxLength;
    this._splitter = new LineSplitter(this._inputLimit, _opts.hex ? `${_opts.maxLength} bytes, ${this._inputLimit} characters of hex` : undefined);
  }

  override dataReceived(data: Buffer): void {
    if (this._ended) return;
    try {
      if (this._opts.whole) {
        this._whole.push(data);
        this._wholeLength += data.length;
        if (this._wholeLength > this._inputLimit) {
          throw new UsageError(
            `stdin is longer than a UDP datagram can be (${this._opts.maxLength} bytes); without --whole each line is a datagram`,
          );
        }
        return;
      }
      this._splitter.push(data, this._onLine);
    } catch (e) {
      this._stop(e as Error);
      return;
    }
    if (this._opts.count === 1 && this._queue.length - this._head >= _StdinSource.HIGH_WATER && !this._paused) {
      this._paused = true;
      this.transport?.pauseProducing();
    }
    this.onReady();
  }

  override readConnectionLost(): void {
    if (this._ended) return;
    try {
      if (this._opts.whole) {
        const all = Buffer.concat(this._whole);
        this._whole.length = 0;
        this._add(this._opts.hex ? decodeHex(all.toString('latin1'), 'stdin') : all, 0, true);
      } else {
        const last = this._splitter.end();
        if (last !== undefined) this._add(last, this._splitter.lines);
      }
    } catch (e) {
      this._stop(e as Error);
      return;
    }
    this._ended = true;
    if (this._opts.count > 1) this._repeat = new _RepeatSource(this._all, this._opts.count);
    this.onReady();
  }

  shift(): Buffer | undefined {
    if (this._repeat !== undefined) return this._repeat.shift();
    if (this._opts.count > 1 || this._head >= this._queue.length) return undefined;
    const d = this._queue[this._head]!;
    this._queue[this._head++] = _EMPTY;
    if (this._head >= 1024 && this._head * 2 >= this._queue.length) {
      this._queue.splice(0, this._head);
      this._head = 0;
    }
    if (this._paused && this._queue.length - this._head < _StdinSource.HIGH_WATER / 4) {
      this._paused = false;
      this.transport?.resumeProducing();
    }
    return d;
  }

  get exhausted(): boolean {
    if (!this._ended) return false;
    if (this._repeat !== undefined) return this._repeat.exhausted;
    return this._head >= this._queue.length;
  }

  /** Queue a datagram: line `lineNo` of stdin, or all of it (`whole`). */
  private _add(line: Buffer, lineNo: number, whole = false): void {
    if (line.length === 0 && !whole) return;
    const d = this._opts.hex && !whole ? decodeHex(line.toString('latin1'), `line ${lineNo} of stdin`) : line;
    if (d.length > this._opts.maxLength) {
      throw new UsageError(`${whole ? 'stdin' : `line ${lineNo} of stdin`} is ${d.length} bytes, larger than a UDP datagram can be (${this._opts.maxLength} bytes)`);
    }
    if (this._opts.count > 1) this._all.push(d);
    else this._queue.push(d);
  }

  private _stop(err: Error): void {
    this.error = err;
    this._ended = true;
    if (this._opts.count > 1) this._all.length = 0; // a set with a bad line is not repeated
    this.transport?.pauseProducing();
    this.onReady();
  }
}

const _EMPTY = Buffer.alloc(0);

// ---------------------------------------------------------------- the session

/** Options of {@link udpSend}. */
export interface UDPSendOptions {
  /** The destination host (a name is looked up once). */
  host: string;
  port: number;
  /** `-4`/`-6`. */
  family?: 4 | 6;
  /** Datagrams from the command line, one each; omitted: read stdin. */
  messages?: string[];
  /** stdin as one datagram instead of one a line. */
  whole?: boolean;
  /** The messages (or stdin lines) are hex, decoded before sending. */
  hex?: boolean;
  /** Send the whole set this many times (default 1). */
  count?: number;
  /** Milliseconds between datagrams. */
  intervalMs?: number;
  /** Datagrams per second. */
  rate?: number;
  /** Allow broadcast destinations (SO_BROADCAST). */
  broadcast?: boolean;
  /** IP TTL (the multicast TTL for a multicast destination). */
  ttl?: number;
  /** The local port to send from. */
  sourcePort?: number;
  /** The interface multicast goes out on: an address or a name. */
  multicastInterface?: string;
  /** After the last datagram, wait this long (ms) for replies; none at all: `TimeoutError`. */
  waitReplyMs?: number;
  /** Sends in flight at most (default 64). */
  window?: number;
  /** Where events go. */
  events?: EventSink;
  /** `-x`: `'a'` each datagram sent, `'b'` each reply. */
  tap?: RelayOptions['tap'];
  /** Other stdio streams (tests). */
  stdin?: Readable;
  stdout?: Writable;
}

/**
 * Look a host up once (a literal address is returned as is).
 *
 * @param host A name or an address.
 * @param family 4, 6, or any.
 * @returns A Deferred of the address and its family; fails with
 *   `DNSLookupError`, or `UsageError` for a literal of the other family.
 */
export function resolveHost(host: string, family?: 4 | 6): Deferred<{ address: string; family: 4 | 6 }> {
  const d = new Deferred<{ address: string; family: 4 | 6 }>();
  const literal = net.isIP(host.replace(/%.*$/, ''));
  if (literal !== 0) {
    if (family !== undefined && literal !== family) d.errback(new UsageError(`-${family} given, but ${host} is an IPv${literal} address`));
    else d.callback({ address: host, family: literal as 4 | 6 });
    return d;
  }
  lookup(host, { family: family ?? 0 }, (err, address, fam) => {
    if (err) d.errback(new DNSLookupError(host, (err as NodeJS.ErrnoException).code));
    else d.callback({ address, family: fam === 6 ? 6 : 4 });
  });
  return d;
}

/**
 * Check the options of {@link udpSend} that need no network, and turn the
 * command-line messages into datagrams.
 *
 * @param opts The options.
 * @param maxLength The largest datagram of the destination's family.
 * @returns The datagrams of `messages` (empty when stdin is read).
 * @throws {UsageError} For a bad count, interval, rate or TTL, a message
 *   that is not hex with `hex`, or one larger than a datagram can be.
 */
export function checkUDPSendOptions(opts: UDPSendOptions, maxLength: number): Buffer[] {
  const count = opts.count ?? 1;
  if (!(Number.isInteger(count) && count >= 1)) throw new UsageError(`--count needs a whole number >= 1, not '${opts.count}'`);
  if (opts.intervalMs !== undefined && opts.rate !== undefined) throw new UsageError('--interval and --rate are two ways to say the same thing: give one');
  if (opts.intervalMs !== undefined && !(Number.isFinite(opts.intervalMs) && opts.intervalMs >= 0)) {
    throw new UsageError(`--interval needs a number of milliseconds >= 0, not '${opts.intervalMs}'`);
  }
  if (opts.rate !== undefined && !(Number.isFinite(opts.rate) && opts.rate > 0)) throw new UsageError(`--rate needs a number of datagrams per second > 0, not '${opts.rate}'`);
  if (opts.ttl !== undefined && !(Number.isInteger(opts.ttl) && opts.ttl >= 0 && opts.ttl <= 255)) throw new UsageError(`--ttl needs a whole number from 0 to 255, not '${opts.ttl}'`);
  if (opts.waitReplyMs !== undefined && !(Number.isFinite(opts.waitReplyMs) && opts.waitReplyMs > 0)) {
    throw new UsageError(`--wait-reply needs a number of seconds > 0, not '${opts.waitReplyMs / 1000}'`);
  }
  if (opts.whole && opts.messages !== undefined) throw new UsageError('--whole reads stdin as one datagram; it takes no MESSAGE arguments');
  if (opts.messages === undefined) return [];
  if (opts.messages.length === 0) throw new UsageError('no message to send (give MESSAGE arguments, or none at all to read stdin)');
  return opts.messages.map((m, i) => {
    const d = opts.hex ? decodeHex(m, `message ${i + 1}`) : Buffer.from(m);
    if (d.length > maxLength) throw new UsageError(`message ${i + 1} is ${d.length} bytes, larger than a UDP datagram can be (${maxLength} bytes)`);
    return d;
  });
}

/**
 * `wirecat udp-send`: send datagrams to `host:port` and print replies.
 *
 * The socket is connected to a unicast destination, so only that peer's
 * replies are read and an ICMP "port unreachable" is noticed; it is left
 * unconnected for a broadcast (`broadcast`) or multicast destination,
 * whose replies come from other addresses.
 *
 * Replies go to stdout whenever they arrive. With `waitReplyMs` the
 * program waits after the last datagram: it ends as soon as a unicast peer
 * has answered every datagram sent, otherwise `waitReplyMs` after the last
 * datagram or reply; it fails with `TimeoutError` when no reply came at
 * all, or with `ConnectionRefusedError` when the peer's port is closed.
 *
 * Events: `datagram` for each reply; `info` with the totals at the end.
 *
 * @param reactor The reactor.
 * @param opts Destination, datagrams, pace and reply handling.
 * @returns A Deferred of the exit code; fails with `UsageError` (bad input,
 *   a datagram too large), `DNSLookupError`, `ConnectError` (a send failed),
 *   `ConnectionRefusedError` or `TimeoutError`.
 * @example
 * udpSend(reactor, { host: '127.0.0.1', port: 8125, messages: ['deploys:1|c'] });
 */
export function udpSend(reactor: Reactor, opts: UDPSendOptions): Deferred<number> {
  return new _UDPSendSession(reactor, opts).result;
}

/** What a failed send means, in words. */
const _SEND_ERRORS: Record<string, string> = {
  EACCES: 'permission denied',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'no route to host',
  EMSGSIZE: 'message too long for the path',
  EADDRNOTAVAIL: 'address not available',
};

/** One `udp-send`: the socket, the pacer, stdio and the reply wait. */
class _UDPSendSession {
  readonly result = new Deferred<number>();
  private readonly _events: EventSink;
  private _port: UDPPort | undefined;
  private _stdio: StdioTransport | undefined;
  private _pacer: SendPacer | undefined;
  private _stdin: _StdinSource | undefined;
  private _unicast = false;
  private _address = '';
  private _destination = '';
  private _replies = 0;
  private _refusedSeen = false;
  private _waitTimer: IDelayedCall | undefined;
  private _waiting = false;
  private _finished = false;

  constructor(
    private readonly _reactor: Reactor,
    private readonly _opts: UDPSendOptions,
  ) {
    this._events = _opts.events ?? nullSink;
    try {
      checkUDPSendOptions(_opts, Infinity); // sizes once the family is known
    } catch (e) {
      this.result.errback(e);
      return;
    }
    resolveHost(_opts.host, _opts.family).addCallbacks(
      (r: { address: string; family: 4 | 6 }) => {
        this._start(r.address, r.family);
        return undefined;
      },
      (f: Failure) => {
        this._finish(f.value as Error);
        return undefined;
      },
    );
  }

  private _start(address: string, family: 4 | 6): void {
    const o = this._opts;
    const maxLength = family === 6 ? MAX_UDP_PAYLOAD_V6 : MAX_UDP_PAYLOAD_V4;
    const multicast = isMulticastAddress(address);
    let datagrams: Buffer[];
    let multicastIface: string | undefined;
    try {
      datagrams = checkUDPSendOptions(o, maxLength);
      if (o.multicastInterface !== undefined) multicastIface = interfaceAddress(o.multicastInterface, family, '--multicast-interface');
      if (o.ttl === 0 && !multicast) throw new UsageError('--ttl 0 only makes sense for a multicast destination (1 to 255 otherwise)');
    } catch (e) {
      this._finish(e as Error);
      return;
    }
    this._unicast = !multicast && !o.broadcast;
    this._address = address;
    this._destination = formatHostPort(address, o.port);
    const session = this;
    class Replies extends DatagramProtocol {
      override datagramReceived(data: Buffer, addr: InetAddress): void {
        session._reply(data, addr);
      }
      override connectionRefused(): void {
        session._refused();
      }
    }
    this._reactor.listenUDP(o.sourcePort ?? 0, new Replies(), { family }).addCallbacks(
      (p: UDPPort) => {
        this._port = p;
        if (o.broadcast) p.setBroadcastAllowed(true);
        if (o.ttl !== undefined) {
          if (multicast) p.setMulticastTTL(o.ttl);
          else p.setTTL(o.ttl);
        }
        if (multicastIface !== undefined) {
          try {
            p.setOutgoingInterface(multicastIface);
          } catch (e) {
            const err = e as NodeJS.ErrnoException;
            const why = err.code === 'EADDRNOTAVAIL' || err.code === 'EINVAL' ? 'not an address of a local interface' : err.message;
            this._finish(new UsageError(`--multicast-interface ${o.multicastInterface}: ${why}`));
            return undefined;
          }
        }
        if (!this._unicast) {
          this._go(datagrams, maxLength);
          return undefined;
        }
        // Node hands a failed connect to the callback (typed without it).
        const connected = (err?: NodeJS.ErrnoException) => {
          if (err) this._sendFailed(err);
          else this._go(datagrams, maxLength);
        };
        p.socket.connect(o.port, address, connected as () => void);
        return undefined;
      },
      (f: Failure) => {
        this._finish(f.value as Error);
        return undefined;
      },
    );
  }

  private _go(datagrams: Buffer[], maxLength: number): void {
    if (this._finished) return;
    const o = this._opts;
    const socket = this._port!.socket;
    let source: DatagramSource;
    let side: _StdioSide;
    if (o.messages !== undefined) {
      source = new _RepeatSource(datagrams, o.count ?? 1);
      side = new _StdioSide();
    } else {
      const s = new _StdinSource({ whole: o.whole === true, hex: o.hex === true, count: o.count ?? 1, maxLength });
      s.onReady = () => this._pacer?.kick();
      source = this._stdin = s;
      side = s;
    }
    // stdout closed under us (EPIPE), with stdin done: nobody reads replies any more.
    side.onLost = () => this._finish(0);
    const tap = o.tap;
    const unicast = this._unicast;
    const port = o.port;
    const address = this._address;
    const periodMs = o.intervalMs ?? (o.rate !== undefined ? 1000 / o.rate : undefined);
    // The pacer hands the same `done` every time: one callback for the socket, made once.
    let done: ((err?: Error | null) => void) | undefined;
    let sent: ((err: Error | null) => void) | undefined;
    const confirmed = (err: Error | null) => {
      if (err !== null && (err as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
        // An earlier datagram met an ICMP "port unreachable"; this one went out regardless.
        this._refused();
        done!(null);
      } else done!(err);
    };
    this._pacer = new SendPacer(
      {
        clock: this._reactor,
        periodMs,
        window: o.window,
        // Unpaced to one peer, a confirmation every 32 datagrams: a callback
        // per datagram costs about a tenth of the send rate. A refused port
        // or an unreachable network fails every send, so it is still seen;
        // each of the first 64 is confirmed, so a short input sees a refusal
        // (ICMP's error comes with the next send) exactly as before.
        confirmEvery: unicast && periodMs === undefined ? 32 : 1,
        confirmEachFirst: 64,
        send: (d, cb) => {
          if (tap !== undefined) tap('a', d);
          counters.datagramsOut++;
          counters.datagramBytesOut += d.length;
          if (cb !== undefined && sent === undefined) {
            done = cb;
            sent = confirmed;
          }
          const callback = cb === undefined ? undefined : sent;
          try {
            if (unicast) socket.send(d, callback);
            else socket.send(d, port, address, callback);
          } catch (e) {
            // Thrown before anything was queued (the socket is closed, say): no callback will come.
            this._pacer!.fail(e as Error);
          }
        },
      },
      source,
    );
    this._pacer.done.addCallbacks(
      () => {
        this._sent();
        return undefined;
      },
      (f: Failure) => {
        this._sendFailed(f.value as NodeJS.ErrnoException);
        return undefined;
      },
    );
    this._stdio = new StdioTransport(side, { stdin: o.stdin, stdout: o.stdout, noInput: o.messages !== undefined });
    this._pacer.kick();
  }

  /** Every datagram went out. */
  private _sent(): void {
    if (this._stdin?.error !== undefined) {
      this._finish(this._stdin.error);
      return;
    }
    const pacer = this._pacer!;
    const secs = ((pacer.finishedAt ?? 0) - (pacer.startedAt ?? 0)) / 1000;
    const rate = pacer.sent > 1 && secs >= 0.05 ? ` (${Math.round((pacer.sent - 1) / secs)} datagrams/s)` : '';
    const s = pacer.sent === 1 ? '' : 's';
    this._events.emit({ event: 'info', message: `Sent ${pacer.sent} datagram${s} (${pacer.bytes} bytes) to ${this._destination} in ${secs.toFixed(3)} s${rate}` });
    if (this._opts.waitReplyMs === undefined) {
      this._finish(0);
      return;
    }
    this._waiting = true;
    if (this._refusedSeen) this._finish(new ConnectionRefusedError(this._destination));
    else if (this._unicast && this._replies > 0 && this._replies >= pacer.sent) this._finish(0);
    else this._armWait();
  }

  private _armWait(): void {
    const ms = this._opts.waitReplyMs!;
    if (this._waitTimer !== undefined && this._waitTimer.active()) {
      this._waitTimer.reset(ms);
      return;
    }
    this._waitTimer = this._reactor.callLater(ms, () => {
      if (this._replies > 0) this._finish(0);
      else this._finish(new TimeoutError(`no reply from ${this._destination} within ${ms / 1000} s`, ms));
    });
  }

  private _reply(data: Buffer, addr: InetAddress): void {
    if (this._finished) return;
    this._replies++;
    this._events.emit({ event: 'datagram', from: formatHostPort(addr.host, addr.port), bytes: data.length });
    this._opts.tap?.('b', data);
    this._stdio?.write(data);
    if (!this._waiting) return;
    if (this._unicast && this._replies >= this._pacer!.sent) this._finish(0);
    else this._armWait();
  }

  /** ICMP "port unreachable" on the connected socket: nothing listens there. */
  private _refused(): void {
    if (this._refusedSeen) return;
    this._refusedSeen = true;
    this._events.emit({ event: 'info', message: `${this._destination} refused a datagram (ICMP port unreachable): nothing listens there` });
    if (this._waiting) this._finish(new ConnectionRefusedError(this._destination));
  }

  private _sendFailed(err: NodeJS.ErrnoException): void {
    const what = _SEND_ERRORS[err.code ?? ''] ?? err.message;
    const hint = err.code === 'EACCES' && !this._opts.broadcast ? ' (a broadcast address needs --broadcast)' : '';
    this._finish(new ConnectError(`cannot send: ${what}${hint}`, this._destination, err.code));
  }

  /** Stop sending, close the socket, flush stdout, then fire. */
  private _finish(outcome: number | Error): void {
    if (this._finished) return;
    this._finished = true;
    this._pacer?.stop();
    if (this._waitTimer !== undefined && this._waitTimer.active()) this._waitTimer.cancel();
    const fire = () => {
      if (typeof outcome === 'number') this.result.callback(outcome);
      else this.result.errback(outcome);
    };
    const closing = this._port?.stopListening();
    const after = () => {
      if (closing !== undefined) closing.addBoth(() => fire());
      else fire();
    };
    const stdio = this._stdio;
    if (stdio !== undefined && stdio.connected && !stdio.disconnecting) {
      stdio.loseConnection();
      (this._opts.stdout ?? process.stdout).write('', () => after());
    } else {
      after();
    }
  }
}
