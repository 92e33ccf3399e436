/**
 * Time: delayed calls, the deterministic `Clock` that tests drive by hand,
 * the real clock the reactor uses, `LoopingCall` and `deferLater`.
 *
 * Every duration is in milliseconds. Code that needs time takes an
 * {@link IReactorTime}, so a test can hand it a {@link Clock}.
 *
 * @module
 */

import { Deferred, Failure, maybeDeferred } from './defer.js';
import { AlreadyCalledError, AlreadyCancelledError } from './errors.js';
import { SlotSet } from './slotset.js';

/**
 * A call scheduled for later.
 */
export interface IDelayedCall {
  /** @returns When it is due, on its clock's `now()` scale (ms). */
  getTime(): number;
  /** Stop it. @throws {AlreadyCalledError} or {AlreadyCancelledError}. */
  cancel(): void;
  /** Move it `ms` later (negative: earlier). */
  delay(ms: number): void;
  /** Make it due `ms` from now. */
  reset(ms: number): void;
  /** @returns Whether it has been neither called nor cancelled. */
  active(): boolean;
}

/**
 * Something that tells the time and calls functions later: the reactor,
 * or a {@link Clock} in tests.
 */
export interface IReactorTime {
  /** @returns The current time in milliseconds. */
  now(): number;
  /**
   * Call `fn(...args)` once, `ms` from now.
   *
   * @returns The call, to cancel or move it.
   */
  callLater<A extends unknown[]>(ms: number, fn: (...args: A) => unknown, ...args: A): IDelayedCall;
  /** @returns The calls scheduled and not yet run or cancelled. */
  getDelayedCalls(): IDelayedCall[];
}

function _checkDelay(ms: number): number {
  if (typeof ms !== 'number' || Number.isNaN(ms)) throw new TypeError(`delay must be a number of milliseconds, not ${String(ms)}`);
  return ms;
}

// ---------------------------------------------------------------- Clock (deterministic)

class _ClockCall implements IDelayedCall {
  called = false;
  cancelled = false;

  constructor(
    private readonly _clock: Clock,
    public time: number,
    readonly seq: number,
    readonly fn: (...args: any[]) => unknown,
    readonly args: unknown[],
  ) {}

  getTime(): number {
    return this.time;
  }

  active(): boolean {
    return !this.called && !this.cancelled;
  }

  cancel(): void {
    this._check();
    this.cancelled = true;
    this._clock._remove(this);
  }

  delay(ms: number): void {
    this._check();
    this.time += _checkDelay(ms);
  }

  reset(ms: number): void {
    this._check();
    this.time = this._clock.now() + _checkDelay(ms);
  }

  private _check(): void {
    if (this.cancelled) throw new AlreadyCancelledError();
    if (this.called) throw new AlreadyCalledError('delayed call has already been called');
  }
}

/**
 * A clock that only moves when told to: the test double for time.
 *
 * It starts at 0. `advance(ms)` sets the time first, then runs every due
 * call, earliest first; calls due at the same time run in the order they
 * were first scheduled, including calls scheduled by those calls.
 *
 * @example
 * const clock = new Clock();
 * const d = new Deferred().addTimeout(1000, clock);
 * clock.advance(1000); // d fails with TimeoutError
 */
export class Clock implements IReactorTime {
  private _now = 0;
  private _seq = 0;
  /** Calls scheduled and not yet run or cancelled. */
  readonly calls: IDelayedCall[] = [];

  /** @returns The current time in milliseconds (starts at 0). */
  now(): number {
    return this._now;
  }

  /**
   * Schedule `fn(...args)` `ms` from now.
   *
   * @param ms Delay in milliseconds.
   * @param fn The function.
   * @param args Its arguments.
   * @returns The delayed call.
   */
  callLater<A extends unknown[]>(ms: number, fn: (...args: A) => unknown, ...args: A): IDelayedCall {
    const call = new _ClockCall(this, this._now + _checkDelay(ms), this._seq++, fn as (...a: any[]) => unknown, args);
    this.calls.push(call);
    return call;
  }

  /** @returns The calls not yet run or cancelled, earliest first. */
  getDelayedCalls(): IDelayedCall[] {
    return [...this.calls].sort(_byTime);
  }

  /**
   * Move time forward and run what is due.
   *
   * @param ms How far, in milliseconds.
   */
  advance(ms: number): void {
    this._now += _checkDelay(ms);
    for (;;) {
      const next = this._nextDue();
      if (next === undefined) return;
      this._remove(next);
      next.called = true;
      next.fn(...next.args);
    }
  }

  /**
   * `advance()` by each amount in turn.
   *
   * @param msList The steps, in milliseconds.
   */
  pump(msList: number[]): void {
    for (const ms of msList) this.advance(ms);
  }

  /** @internal */
  _remove(call: IDelayedCall): void {
    const i = this.calls.indexOf(call);
    if (i >= 0) this.calls.splice(i, 1);
  }

  private _nextDue(): _ClockCall | undefined {
    let best: _ClockCall | undefined;
    for (const c of this.calls as _ClockCall[]) {
      if (c.time > this._now) continue;
      if (best === undefined || _byTime(c, best) < 0) best = c;
    }
    return best;
  }
}

function _byTime(a: IDelayedCall, b: IDelayedCall): number {
  const d = a.getTime() - b.getTime();
  if (d !== 0) return d;
  return (a as _ClockCall).seq - (b as _ClockCall).seq;
}

// ---------------------------------------------------------------- real time

/** Node's timers take at most this many milliseconds; longer delays are re-armed. */
const _MAX_TIMER_MS = 0x7fffffff;

class _RealCall implements IDelayedCall {
  called = false;
  cancelled = false;
  private _timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly _clock: RealClock,
    private _time: number,
    private readonly _fn: (...args: any[]) => unknown,
    private readonly _args: unknown[],
  ) {
    this._arm();
  }

  getTime(): number {
    return this._time;
  }

  active(): boolean {
    return !this.called && !this.cancelled;
  }

  cancel(): void {
    this._check();
    this.cancelled = true;
    clearTimeout(this._timer);
    this._timer = undefined;
    this._clock._active.delete(this);
  }

  delay(ms: number): void {
    this._check();
    this._time += _checkDelay(ms);
    this._arm();
  }

  reset(ms: number): void {
    this._check();
    this._time = this._clock.now() + _checkDelay(ms);
    this._arm();
  }

  private _arm(): void {
    if (this._timer !== undefined) clearTimeout(this._timer);
    const wait = Math.max(0, this._time - this._clock.now());
    this._timer = setTimeout(() => this._fire(), Math.min(wait, _MAX_TIMER_MS));
  }

  private _fire(): void {
    this._timer = undefined;
    if (this._time - this._clock.now() > 1) {
      this._arm(); // a delay longer than one Node timer can hold
      return;
    }
    this.called = true;
    this._clock._active.delete(this);
    this._fn(...this._args);
  }

  private _check(): void {
    if (this.cancelled) throw new AlreadyCancelledError();
    if (this.called) throw new AlreadyCalledError('delayed call has already been called');
  }
}

/**
 * Real time on Node's event loop: `now()` is `performance.now()`
 * (monotonic milliseconds), `callLater()` a Node timer. The reactor keeps
 * time with one of these; nothing runs until a call is scheduled.
 */
export class RealClock implements IReactorTime {
  /** @internal Calls scheduled and not yet run or cancelled (a SlotSet: see slotset.ts for why not a Set). */
  readonly _active = new SlotSet<_RealCall>();
  /** Timers scheduled since start, for the diagnostics. */
  timersCreated = 0;

  /** @returns Monotonic milliseconds since the process started. */
  now(): number {
    return performance.now();
  }

  /**
   * Call `fn(...args)` once, `ms` from now, on Node's event loop.
   *
   * @param ms Delay in milliseconds.
   * @param fn The function.
   * @param args Its arguments.
   * @returns The delayed call.
   */
  callLater<A extends unknown[]>(ms: number, fn: (...args: A) => unknown, ...args: A): IDelayedCall {
    const call = new _RealCall(this, this.now() + _checkDelay(ms), fn as (...a: any[]) => unknown, args);
    this._active.add(call);
    this.timersCreated++;
    return call;
  }

  /** @returns The calls not yet run or cancelled. */
  getDelayedCalls(): IDelayedCall[] {
    return [...this._active];
  }
}

/** The process's real clock: the default time source of {@link LoopingCall}, and the reactor's. */
export const realClock: RealClock = new RealClock();

// ---------------------------------------------------------------- LoopingCall

/**
 * Call a function every `interval` milliseconds.
 *
 * If the function returns a Deferred (or Promise), the next call waits for
 * it. If it throws or its Deferred fails, the loop stops and the Deferred
 * from `start()` fails. Intervals missed because the process was busy are
 * skipped, not made up ({@link LoopingCall.withCount} tells how many).
 *
 * @example
 * const loop = new LoopingCall(() => console.log('tick'));
 * loop.clock = clock;
 * loop.start(1000);
 */
export class LoopingCall {
  /** Where time comes from; the real clock unless set. */
  clock: IReactorTime = realClock;
  /** Whether the loop is running. */
  running = false;
  /** The interval in milliseconds, once started. */
  interval: number | undefined = undefined;
  /** When the loop started, on `clock`'s scale. */
  starttime: number | undefined = undefined;

  private readonly _fn: (...args: any[]) => unknown;
  private readonly _args: unknown[];
  private _call: IDelayedCall | undefined = undefined;
  private _deferred: Deferred<LoopingCall> | undefined = undefined;
  private _runAtStart = false;
  /** @internal */
  _realLastTime: number | undefined = undefined;

  /**
   * @param fn The function to call each interval.
   * @param args Its arguments.
   */
  constructor(fn: (...args: any[]) => unknown, ...args: unknown[]) {
    this._fn = fn;
    this._args = args;
  }

  /** The Deferred returned by `start()`, while the loop runs. */
  get deferred(): Deferred<LoopingCall> | undefined {
    return this._deferred;
  }

  /**
   * A LoopingCall whose function is told how many intervals have elapsed
   * since its last call (more than 1 when intervals were skipped).
   *
   * @param fn Called with the count.
   * @returns The LoopingCall (not started).
   */
  static withCount(fn: (count: number) => unknown): LoopingCall {
    const loop: LoopingCall = new LoopingCall(() => {
      const now = loop.clock.now();
      const interval = loop.interval as number;
      if (interval === 0) {
        loop._realLastTime = now;
        return fn(1);
      }
      let last = loop._realLastTime;
      if (last === undefined) {
        last = loop.starttime as number;
        if (loop._runAtStart) last -= interval;
      }
      const count = loop._intervalOf(now) - loop._intervalOf(last);
      if (count > 0) {
        loop._realLastTime = now;
        return fn(count);
      }
      return undefined;
    });
    return loop;
  }

  /**
   * Start calling the function every `intervalMs`.
   *
   * @param intervalMs The interval in milliseconds (0: as fast as the clock allows).
   * @param now Call it at once as well (default), or first after one interval.
   * @returns A Deferred fired with this LoopingCall by `stop()`, or failed
   *   with the function's error.
   * @throws {Error} When already running. {@link RangeError} for a negative interval.
   */
  start(intervalMs: number, now = true): Deferred<LoopingCall> {
    if (this.running) throw new Error('LoopingCall.start(): already running');
    if (!(intervalMs >= 0)) throw new RangeError('LoopingCall interval must be >= 0');
    this.running = true;
    const deferred = (this._deferred = new Deferred<LoopingCall>());
    this.starttime = this.clock.now();
    this.interval = intervalMs;
    this._runAtStart = now;
    if (now) this._tick();
    else this._scheduleFrom(this.starttime);
    return deferred;
  }

  /**
   * Stop the loop; the Deferred from `start()` fires with this LoopingCall
   * (at once, or when a pending call's Deferred fires).
   *
   * @throws {Error} When not running.
   */
  stop(): void {
    if (!this.running) throw new Error('LoopingCall.stop(): not running');
    this.running = false;
    if (this._call !== undefined) {
      this._call.cancel();
      this._call = undefined;
      const d = this._deferred as Deferred<LoopingCall>;
      this._deferred = undefined;
      d.callback(this);
    }
  }

  /**
   * Restart the interval from now, without calling the function.
   *
   * @throws {Error} When not running.
   */
  reset(): void {
    if (!this.running) throw new Error('LoopingCall.reset(): not running');
    if (this._call !== undefined) {
      this._call.cancel();
      this._call = undefined;
      this.starttime = this.clock.now();
      this._scheduleFrom(this.starttime);
    }
  }

  /** @internal */
  _intervalOf(t: number): number {
    return Math.trunc((t - (this.starttime as number)) / (this.interval as number));
  }

  private _tick(): void {
    this._call = undefined;
    maybeDeferred(this._fn, ...this._args).addCallbacks(
      () => {
        if (this.running) {
          this._scheduleFrom(this.clock.now());
        } else {
          const d = this._deferred as Deferred<LoopingCall>;
          this._deferred = undefined;
          d.callback(this);
        }
        return undefined;
      },
      (failure: Failure) => {
        this.running = false;
        const d = this._deferred as Deferred<LoopingCall>;
        this._deferred = undefined;
        d.errback(failure);
        return undefined;
      },
    );
  }

  private _scheduleFrom(when: number): void {
    const interval = this.interval as number;
    let wait: number;
    if (interval === 0) {
      wait = 0;
    } else {
      const runningFor = when - (this.starttime as number);
      wait = interval - (runningFor % interval);
      if (when === when + wait) wait = interval;
    }
    this._call = this.clock.callLater(wait, () => this._tick());
  }
}

// ---------------------------------------------------------------- deferLater

/**
 * A Deferred that fires `ms` from now with `fn(...args)` (or `undefined`).
 *
 * @param clock Where time comes from.
 * @param ms The delay in milliseconds.
 * @param fn Called when the time comes; its outcome is the result.
 * @param args Its arguments.
 * @returns A Deferred; cancelling it cancels the delayed call.
 */
export function deferLater<R = undefined>(
  clock: IReactorTime,
  ms: number,
  fn?: (...args: any[]) => R,
  ...args: unknown[]
): Deferred<R> {
  const d: Deferred<R> = new Deferred<R>(() => {
    call.cancel();
  });
  d.addCallback(() => (fn === undefined ? undefined : fn(...args)));
  const call = clock.callLater(ms, () => d.callback(undefined as R));
  return d;
}
