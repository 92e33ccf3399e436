/**
 * Deferreds with Twisted's semantics: a result that may not be there yet,
 * and a chain of callbacks and errbacks that runs synchronously when it is.
 *
 * Unlike a Promise, a Deferred runs its callbacks at `callback()` (or at
 * `addCallback()` when it has fired already): no microtask is involved, so a
 * protocol's reaction to data happens in the same tick as the data.
 *
 * @module
 */

import {
  AlreadyCalledError,
  CancelledError,
  FailureGroup,
  FirstError,
  QueueOverflow,
  QueueUnderflow,
  TimeoutError,
} from './errors.js';
import { logMessage } from './log.js';
import type { IReactorTime } from './task.js';

export {
  AlreadyCalledError,
  AlreadyCancelledError,
  CancelledError,
  FailureGroup,
  FirstError,
  QueueOverflow,
  QueueUnderflow,
  TimeoutError,
} from './errors.js';

// ---------------------------------------------------------------- Failure

/**
 * An error on its way down a Deferred's errback chain: wraps whatever was
 * thrown or passed to `errback()`, Error or not.
 *
 * @example
 * d.addErrback((f: Failure) => {
 *   f.trap(ConnectionRefusedError);
 *   return 'fallback';
 * });
 */
export class Failure {
  /** What was thrown or passed to `errback()`. */
  readonly value: unknown;
  /** The value's constructor; `undefined` for primitives, `null` and `undefined`. */
  readonly type: Function | undefined;
  private readonly _stack: string | undefined;

  /**
   * @param value The error or any other value that was thrown.
   */
  constructor(value: unknown) {
    this.value = value;
    if (value !== null && typeof value === 'object') {
      this.type = (value as object).constructor as Function | undefined;
    } else if (typeof value === 'function') {
      this.type = Function;
    } else {
      this.type = undefined;
    }
    // Read the stack now: V8 formats it lazily and, until then, keeps the
    // frames (and everything they reference, a Deferred included) alive.
    this._stack = value instanceof Error ? String(value.stack ?? `${value.name}: ${value.message}`) : undefined;
  }

  /**
   * The error's message: an Error's `message`, else `String(value)`.
   *
   * @returns One line describing the error.
   */
  getErrorMessage(): string {
    const v = this.value;
    if (v instanceof Error) return v.message;
    try {
      return String(v);
    } catch {
      return Object.prototype.toString.call(v);
    }
  }

  /**
   * The error's stack as captured when this Failure was made, or a
   * description of a non-Error value.
   *
   * @returns A multi-line string for logs.
   */
  getTraceback(): string {
    if (this._stack !== undefined) return this._stack;
    const type = this.type?.name ?? typeof this.value;
    return `${type}: ${this.getErrorMessage()}`;
  }

  /**
   * Which of `types` the value is an instance of.
   *
   * @param types Error classes (or any constructors) to test against.
   * @returns The first matching class, or `undefined`.
   */
  check(...types: Function[]): Function | undefined {
    const v = this.value;
    for (const t of types) {
      if (this.type === t) return t;
      if (v !== null && typeof v === 'object' && v instanceof (t as new (...a: never[]) => unknown)) return t;
    }
    return undefined;
  }

  /**
   * Like {@link Failure.check}, but rethrows this Failure when nothing
   * matches, so an errback passes on errors it does not handle.
   *
   * @param types Error classes to handle.
   * @returns The matching class.
   * @throws {Failure} This same Failure when no class matches.
   */
  trap(...types: Function[]): Function {
    const t = this.check(...types);
    if (t === undefined) throw this;
    return t;
  }

  /**
   * Throw the wrapped value.
   *
   * @throws The value this Failure wraps.
   */
  raiseException(): never {
    throw this.value;
  }

  /** @returns `[Failure <type>: <message>]`. */
  toString(): string {
    return `[Failure ${this.type?.name ?? typeof this.value}: ${this.getErrorMessage()}]`;
  }
}

// ---------------------------------------------------------------- counters

/**
 * Counters of every Deferred in the process, read by the diagnostics.
 * Cheap integer increments; never reset by the core.
 */
export const deferredStats = {
  /** Deferreds constructed. */
  created: 0,
  /** Deferreds given a result (`callback` or `errback`). */
  fired: 0,
  /** Deferreds given a Failure as their first result. */
  failed: 0,
  /** Failed Deferreds garbage-collected with their Failure unhandled. */
  unhandled: 0,
};

// ---------------------------------------------------------------- unhandled errors

/** What the finalizer needs to know once the Deferred itself is gone. */
class _DebugInfo {
  failResult: Failure | undefined = undefined;
  paused = false;
}

const _unhandledRegistry = new FinalizationRegistry<_DebugInfo>((info) => {
  if (info.failResult === undefined || info.paused) return;
  deferredStats.unhandled++;
  logMessage(`Unhandled error in Deferred:\n${info.failResult.getTraceback()}`);
});

// ---------------------------------------------------------------- Deferred

/** A callback or errback: the current result first, then the extra arguments. */
export type ChainFunction = (result: any, ...args: any[]) => unknown;

/** One step of a callback chain with arguments or an errback (a bare callback is stored as the function). */
class _Link {
  constructor(
    readonly cb: ChainFunction | undefined,
    readonly cbArgs: unknown[] | undefined,
    readonly eb: ChainFunction | undefined,
    readonly ebArgs: unknown[] | undefined,
  ) {}
}

/**
 * True for Promises and any other object with a `then` method (Deferreds included).
 *
 * @param value Anything.
 * @returns Whether `value` is a thenable.
 */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * A result that is not there yet, with a chain of callbacks and errbacks
 * run synchronously when it arrives.
 *
 * @example
 * const d = new Deferred<number>();
 * d.addCallback((n) => n * 2).addCallback((n) => console.log(n));
 * d.callback(21); // prints 42, now
 */
export class Deferred<T = unknown> implements PromiseLike<T> {
  /** Pause depth: callbacks do not run while it is above zero. */
  paused = 0;
  /** The current result: a value, a {@link Failure}, or a Deferred being waited on. */
  result: unknown = undefined;

  private _called = false;
  private _suppressAlreadyCalled = false;
  private _runningCallbacks = false;
  private readonly _canceller: ((d: Deferred<any>) => void) | undefined;
  // Each entry: a bare callback, a _Link, or a Deferred waiting for this one's result.
  private _callbacks: (_Link | ChainFunction | Deferred<any>)[] | undefined = undefined;
  private _head = 0;
  private _info: _DebugInfo | undefined = undefined;

  /**
   * @param canceller Called by {@link Deferred.cancel} before the Deferred
   *   has fired; it should stop the operation and may fire the Deferred
   *   itself (else it fails with `CancelledError`).
   */
  constructor(canceller?: (d: Deferred<T>) => void) {
    this._canceller = canceller;
    deferredStats.created++;
  }

  /** Whether `callback()` or `errback()` has been called. */
  get called(): boolean {
    return this._called;
  }

  /**
   * Fire the Deferred with a result and run the callback chain now.
   *
   * @param result The result; a {@link Failure} takes the error path.
   * @throws {AlreadyCalledError} When the Deferred has fired already.
   * @throws {TypeError} When `result` is a Deferred, a Promise or another thenable.
   */
  callback(result: T): void {
    if (isThenable(result)) {
      throw new TypeError('Deferred.callback() takes a result, not a Deferred, Promise or other thenable');
    }
    this._startRunCallbacks(result);
  }

  /**
   * Fire the Deferred with an error and run the errback chain now.
   *
   * @param reason Anything; wrapped in a {@link Failure} unless it is one.
   *   Without a reason the Failure holds a generic `Error`.
   * @throws {AlreadyCalledError} When the Deferred has fired already.
   */
  errback(reason?: unknown): void {
    let failure: Failure;
    if (reason instanceof Failure) failure = reason;
    else if (reason === undefined) failure = new Failure(new Error('Deferred.errback() called without a reason'));
    else failure = new Failure(reason);
    this._startRunCallbacks(failure);
  }

  /**
   * Add a callback, run with the result (and `args`) on the success path.
   *
   * @param fn Its return value becomes the next result; a throw or a
   *   returned Failure moves the chain to the error path; a returned
   *   Deferred or Promise pauses the chain until it settles.
   * @param args Extra arguments passed after the result.
   * @returns This Deferred.
   */
  addCallback<A extends unknown[]>(fn: (result: any, ...args: A) => unknown, ...args: A): this {
    // The common case, a callback without arguments, is stored as the bare
    // function: no allocation per callback.
    return this._add(args.length ? new _Link(fn as ChainFunction, args, undefined, undefined) : (fn as ChainFunction));
  }

  /**
   * Add an errback, run with the {@link Failure} (and `args`) on the error path.
   *
   * @param fn Returning a non-Failure value moves the chain back to success.
   * @param args Extra arguments passed after the Failure.
   * @returns This Deferred.
   */
  addErrback<A extends unknown[]>(fn: (failure: Failure, ...args: A) => unknown, ...args: A): this {
    return this._add(new _Link(undefined, undefined, fn as ChainFunction, args.length ? args : undefined));
  }

  /**
   * Add the same function as both callback and errback.
   *
   * @param fn Called with the result or the Failure.
   * @param args Extra arguments.
   * @returns This Deferred.
   */
  addBoth<A extends unknown[]>(fn: (resultOrFailure: any, ...args: A) => unknown, ...args: A): this {
    const a = args.length ? args : undefined;
    return this._add(new _Link(fn as ChainFunction, a, fn as ChainFunction, a));
  }

  /**
   * Add a callback and an errback at the same point of the chain: only
   * one of them runs, and the errback does not see the callback's throw.
   *
   * @param cb The callback.
   * @param eb The errback; when missing, failures pass through.
   * @param opts Extra arguments for each.
   * @returns This Deferred.
   */
  addCallbacks(
    cb: ((result: any, ...args: any[]) => unknown) | undefined,
    eb?: (failure: Failure, ...args: any[]) => unknown,
    opts?: { callbackArgs?: unknown[]; errbackArgs?: unknown[] },
  ): this {
    const ca = opts?.callbackArgs;
    const ea = opts?.errbackArgs;
    return this._add(
      new _Link(
        cb as ChainFunction | undefined,
        ca && ca.length ? ca : undefined,
        eb as ChainFunction | undefined,
        ea && ea.length ? ea : undefined,
      ),
    );
  }

  /**
   * Cancel this Deferred if it has not fired after `ms` on `clock`.
   *
   * A timed-out Deferred fails with `TimeoutError` rather than
   * `CancelledError`. The timer stops when the result reaches this point
   * of the chain, so it covers the callbacks added before the call.
   *
   * @param ms The limit in milliseconds.
   * @param clock Where time comes from (the reactor, or a test's `Clock`).
   * @param onTimeoutCancel Called with the result (usually a
   *   `CancelledError` Failure) and `ms` when the timeout fired; its return
   *   value replaces the result.
   * @returns This Deferred.
   */
  addTimeout(ms: number, clock: IReactorTime, onTimeoutCancel?: (result: unknown, ms: number) => unknown): this {
    let timedOut = false;
    const delayedCall = clock.callLater(ms, () => {
      timedOut = true;
      this.cancel();
    });
    this.addBoth((value: unknown) => {
      if (!timedOut) return value;
      if (onTimeoutCancel) return onTimeoutCancel(value, ms);
      if (value instanceof Failure) {
        value.trap(CancelledError);
        throw new TimeoutError(`Deferred timed out after ${ms} ms`, ms);
      }
      return value;
    });
    this.addBoth((value: unknown) => {
      if (delayedCall.active()) delayedCall.cancel();
      return value;
    });
    return this;
  }

  /**
   * Fire `d` with this Deferred's result when it arrives (result or
   * Failure); this chain continues with `undefined`.
   *
   * @param d The Deferred to fire.
   * @returns This Deferred.
   */
  chainDeferred(d: Deferred<T>): this {
    return this.addCallbacks(
      (r: T) => d.callback(r),
      (f: Failure) => d.errback(f),
    );
  }

  /** Stop running callbacks until a matching {@link Deferred.unpause}. Nests. */
  pause(): void {
    this.paused++;
    if (this._info !== undefined) this._info.paused = true;
  }

  /** Undo one {@link Deferred.pause}; the last one runs the callbacks added meanwhile. */
  unpause(): void {
    this.paused--;
    if (this._info !== undefined) this._info.paused = this.paused > 0;
    if (this.paused) return;
    if (this._called) this._runCallbacks();
  }

  /**
   * Cancel the operation behind this Deferred.
   *
   * Before it fired: calls the canceller; if that did not fire the
   * Deferred, it fails with `CancelledError`. Without a canceller, the
   * operation's own later `callback()`/`errback()` is ignored once. After
   * it fired: does nothing, unless the chain is waiting on a Deferred that
   * a callback returned, which is then cancelled instead.
   */
  cancel(): void {
    if (!this._called) {
      const canceller = this._canceller;
      if (canceller !== undefined) canceller(this);
      else this._suppressAlreadyCalled = true;
      if (!this._called) this.errback(new Failure(new CancelledError()));
    } else if (this.result instanceof Deferred) {
      this.result.cancel();
    }
  }

  /**
   * A Promise of the result. Consumes it, as Twisted's `asFuture` does:
   * this Deferred's result is `undefined` afterwards, so a failure handed
   * to the Promise counts as handled.
   *
   * @returns A Promise that resolves with the result or rejects with the Failure's `value`.
   */
  asPromise(): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.addCallbacks(
        (r: T) => {
          resolve(r);
          return undefined;
        },
        (f: Failure) => {
          reject(f.value);
          return undefined;
        },
      );
    });
  }

  /**
   * So that `await d` works: the same as `d.asPromise().then(...)`.
   *
   * @param onfulfilled Called with the result.
   * @param onrejected Called with the Failure's `value`.
   * @returns A Promise.
   */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.asPromise().then(onfulfilled, onrejected);
  }

  /**
   * A Deferred that fires when `p` settles (a rejection becomes a Failure).
   * Cancelling it fails it with `CancelledError` and ignores the later
   * settlement; a Promise itself cannot be stopped.
   *
   * @param p A Promise or any thenable.
   * @returns A new Deferred.
   */
  static fromPromise<T>(p: PromiseLike<T>): Deferred<T> {
    const d = new Deferred<T>();
    p.then(
      (value) => {
        if (isThenable(value)) d.errback(new TypeError('a thenable resolved to another thenable'));
        else d.callback(value);
      },
      (reason: unknown) => {
        d.errback(reason instanceof Failure ? reason : new Failure(reason));
      },
    );
    return d;
  }

  /** @returns A short description with the state. */
  toString(): string {
    if (!this._called) return '<Deferred>';
    if (this.result instanceof Deferred) return '<Deferred waiting on Deferred>';
    if (this.result instanceof Failure) return `<Deferred current result: ${this.result.toString()}>`;
    return `<Deferred current result: ${String(this.result)}>`;
  }

  // -------------------------------------------------------------- internals

  private _add(link: _Link | ChainFunction): this {
    this._push(link);
    if (this._called) this._runCallbacks();
    return this;
  }

  private _push(link: _Link | ChainFunction | Deferred<any>): void {
    // Most Deferreds carry one or two links: size the array for that rather
    // than let push() grow it to V8's default of 17. Replacing the array is
    // safe unless this Deferred's own callback is running (a running loop
    // re-reads `_callbacks` whenever it comes back to a Deferred).
    const links = this._callbacks;
    if (links === undefined) this._callbacks = [link];
    else if (links.length === 1 && !this._runningCallbacks) this._callbacks = [links[0]!, link];
    else links.push(link);
  }

  private _startRunCallbacks(result: unknown): void {
    if (this._called) {
      if (this._suppressAlreadyCalled) {
        this._suppressAlreadyCalled = false;
        return;
      }
      throw new AlreadyCalledError();
    }
    this._called = true;
    this.result = result;
    deferredStats.fired++;
    if (result instanceof Failure) deferredStats.failed++;
    this._runCallbacks();
  }

  /**
   * Run callbacks until the chain ends or waits. Chains of Deferreds
   * returned from callbacks are walked with an explicit stack, never by
   * recursion, so any depth works.
   */
  private _runCallbacks(): void {
    if (this._runningCallbacks) return;
    // `current` is the Deferred being processed; `below` holds the ones
    // whose results handed it its own, to resume once it is done. The stack
    // is allocated only when a chain is walked.
    let current: Deferred<any> = this;
    let below: Deferred<any>[] | undefined;
    for (;;) {
      if (current.paused) return;
      let finished = true;
      const links = current._callbacks;
      while (links !== undefined && current._head < links.length) {
        const link = links[current._head++]!;
        let fn: ChainFunction | undefined;
        let args: unknown[] | undefined;
        if (typeof link === 'function') {
          if (current.result instanceof Failure) continue;
          fn = link;
        } else if (link instanceof Deferred) {
          // A Deferred waiting on this one: hand it our result, process it
          // next, and come back here afterwards.
          const chainee: Deferred<any> = link;
          chainee.result = current.result;
          current.result = undefined;
          if (current._info !== undefined) current._info.failResult = undefined;
          chainee.paused--;
          if (chainee._info !== undefined) chainee._info.paused = chainee.paused > 0;
          (below ??= []).push(current);
          current = chainee;
          finished = false;
          break;
        } else {
          const failed = current.result instanceof Failure;
          fn = failed ? link.eb : link.cb;
          if (fn === undefined) continue;
          args = failed ? link.ebArgs : link.cbArgs;
        }
        let out: unknown;
        current._runningCallbacks = true;
        try {
          out = args === undefined ? fn(current.result) : fn(current.result, ...args);
        } catch (e) {
          out = e instanceof Failure ? e : new Failure(e);
        } finally {
          current._runningCallbacks = false;
        }
        if (out !== null && typeof out === 'object') {
          let inner: Deferred<any> | undefined;
          if (out instanceof Deferred) {
            inner = out;
            if (inner === current) {
              out = new Failure(new TypeError('a callback returned the Deferred it was attached to'));
              inner = undefined;
            }
          } else if (typeof (out as { then?: unknown }).then === 'function') {
            inner = Deferred.fromPromise(out as PromiseLike<unknown>);
          }
          if (inner !== undefined) {
            if (!inner._called || inner.result instanceof Deferred || inner.paused) {
              // No result yet: wait for it.
              current.result = inner;
              current.pause();
              inner._push(current);
              break;
            }
            // It has a result already: take it.
            out = inner.result;
            inner.result = undefined;
            if (inner._info !== undefined) inner._info.failResult = undefined;
          }
        }
        current.result = out;
      }
      if (finished) {
        if (links !== undefined && current._head === links.length) {
          current._callbacks = undefined;
          current._head = 0;
        }
        if (current.result instanceof Failure) {
          let info = current._info;
          if (info === undefined) {
            info = current._info = new _DebugInfo();
            info.paused = current.paused > 0;
            _unhandledRegistry.register(current, info);
          }
          info.failResult = current.result;
        } else if (current._info !== undefined) {
          current._info.failResult = undefined;
        }
        if (below === undefined || below.length === 0) return;
        current = below.pop()!;
      }
    }
  }
}

// ---------------------------------------------------------------- helpers

/**
 * A Deferred that has fired with `value` already.
 *
 * @param value The result.
 * @returns A fired Deferred.
 */
export function succeed<T>(value: T): Deferred<T> {
  const d = new Deferred<T>();
  d.callback(value);
  return d;
}

/**
 * A Deferred that has failed with `reason` already.
 *
 * @param reason The error (wrapped in a Failure unless it is one).
 * @returns A failed Deferred.
 */
export function fail<T = never>(reason?: unknown): Deferred<T> {
  const d = new Deferred<T>();
  d.errback(reason);
  return d;
}

/**
 * Call a synchronous function and wrap its outcome in a fired Deferred.
 *
 * @param fn A function that returns a plain value or throws.
 * @param args Its arguments.
 * @returns A Deferred with the return value, or the throw as a Failure; a
 *   returned Deferred or thenable fails it with `TypeError` (use
 *   {@link maybeDeferred} for those).
 */
export function execute<R, A extends unknown[]>(fn: (...args: A) => R, ...args: A): Deferred<R> {
  let r: R;
  try {
    r = fn(...args);
  } catch (e) {
    return fail(e instanceof Failure ? e : new Failure(e));
  }
  if (isThenable(r)) return fail(new TypeError('execute() takes a synchronous function; use maybeDeferred() for one that returns a Deferred or Promise'));
  return succeed(r);
}

/**
 * Call `fn` and give its outcome as a Deferred, whatever it returns: a
 * value, a throw, a Failure, a Deferred or a Promise.
 *
 * @param fn The function.
 * @param args Its arguments.
 * @returns A Deferred of its outcome (the same Deferred when it returned one).
 */
export function maybeDeferred<R>(fn: (...args: any[]) => R | Deferred<R> | PromiseLike<R>, ...args: unknown[]): Deferred<R> {
  let r: unknown;
  try {
    r = fn(...args);
  } catch (e) {
    return fail(e instanceof Failure ? e : new Failure(e));
  }
  if (r instanceof Deferred) return r as Deferred<R>;
  if (r instanceof Failure) return fail(r);
  if (isThenable(r)) return Deferred.fromPromise(r as PromiseLike<R>);
  return succeed(r as R);
}

/**
 * A Deferred for a Deferred or a Promise.
 *
 * @param value A Deferred (returned as is) or a thenable.
 * @returns A Deferred.
 * @throws {TypeError} When `value` is neither.
 */
export function ensureDeferred<T>(value: Deferred<T> | PromiseLike<T>): Deferred<T> {
  if (value instanceof Deferred) return value;
  if (isThenable(value)) return Deferred.fromPromise(value);
  throw new TypeError(`ensureDeferred() takes a Deferred or a Promise, not ${typeof value}`);
}

// ---------------------------------------------------------------- DeferredList and friends

/** Options of {@link DeferredList}. */
export interface DeferredListOptions {
  /** Fire with `[result, index]` at the first success. */
  fireOnOneCallback?: boolean;
  /** Fail with `FirstError` at the first failure. */
  fireOnOneErrback?: boolean;
  /** Turn the inputs' failures into `undefined` for their later callbacks. */
  consumeErrors?: boolean;
}

/**
 * Waits for several Deferreds; fires with `[success, result]` pairs in
 * input order once all have fired.
 *
 * @example
 * new DeferredList([a, b]).addCallback((pairs) => {
 *   for (const [ok, value] of pairs) console.log(ok, value);
 * });
 */
export class DeferredList extends Deferred<any> {
  /** `[success, result]` per input, in input order, filled as they fire. */
  readonly resultList: ([boolean, unknown] | undefined)[];
  /** How many inputs have fired. */
  finishedCount = 0;
  private readonly _inputs: Deferred<any>[];
  private readonly _opts: DeferredListOptions;

  /**
   * @param deferreds The Deferreds to wait for.
   * @param options When to fire early, and whether to consume the inputs' errors.
   */
  constructor(deferreds: Iterable<Deferred<any>>, options: DeferredListOptions = {}) {
    super();
    this._inputs = Array.from(deferreds);
    this._opts = options;
    this.resultList = new Array(this._inputs.length).fill(undefined);
    if (this._inputs.length === 0 && !options.fireOnOneCallback) this.callback([]);
    this._inputs.forEach((d, index) => {
      d.addCallbacks(
        (r: unknown) => this._fired(r, index, true),
        (f: Failure) => this._fired(f, index, false),
      );
    });
  }

  /** Cancel every input that has not fired yet (this list then fires as they fail). */
  override cancel(): void {
    if (this.called) return;
    for (const d of this._inputs) {
      try {
        d.cancel();
      } catch (e) {
        logMessage(`Exception raised from user supplied canceller:\n${new Failure(e).getTraceback()}`);
      }
    }
  }

  private _fired(result: unknown, index: number, succeeded: boolean): unknown {
    this.resultList[index] = [succeeded, result];
    this.finishedCount++;
    if (!this.called) {
      if (succeeded && this._opts.fireOnOneCallback) this.callback([result, index]);
      else if (!succeeded && this._opts.fireOnOneErrback) this.errback(new FirstError(result as Failure, index));
      else if (this.finishedCount === this.resultList.length) this.callback(this.resultList);
    }
    if (!succeeded && this._opts.consumeErrors) return undefined;
    return result;
  }
}

/**
 * The results of several Deferreds as one list, or the first failure.
 *
 * @param deferreds The Deferreds.
 * @param consumeErrors Turn the inputs' failures into `undefined` for their later callbacks.
 * @returns A Deferred of the results in input order; fails with `FirstError`.
 */
export function gatherResults<T = unknown>(deferreds: Iterable<Deferred<T>>, consumeErrors = false): Deferred<T[]> {
  const d = new DeferredList(deferreds, { fireOnOneErrback: true, consumeErrors });
  return d.addCallback((pairs: [boolean, T][]) => pairs.map((p) => p[1])) as unknown as Deferred<T[]>;
}

/**
 * The first of several Deferreds to succeed; the others are cancelled.
 *
 * @param deferreds The competitors.
 * @returns A Deferred of `[index, result]`; fails with `FailureGroup` when
 *   every input fails. Cancelling it cancels every input.
 */
export function race<T = unknown>(deferreds: Iterable<Deferred<T>>): Deferred<[number, T]> {
  const inputs = Array.from(deferreds);
  let winner: Deferred<T> | undefined;
  const failures: [number, Failure][] = [];
  const final = new Deferred<[number, T]>(() => {
    for (const d of inputs) d.cancel();
  });
  inputs.forEach((d, index) => {
    d.addCallbacks(
      (r: T) => {
        if (winner === undefined) {
          winner = d;
          for (const other of inputs) if (other !== winner) other.cancel();
          final.callback([index, r]);
        }
        return undefined;
      },
      (f: Failure) => {
        failures.push([index, f]);
        if (failures.length === inputs.length) {
          failures.sort((a, b) => a[0] - b[0]);
          final.errback(new FailureGroup(failures.map((x) => x[1])));
        }
        return undefined;
      },
    );
  });
  return final;
}

// ---------------------------------------------------------------- concurrency primitives

abstract class _ConcurrencyPrimitive {
  /** Deferreds of the callers waiting, in arrival order. */
  readonly waiting: Deferred<this>[] = [];

  abstract acquire(): Deferred<this>;
  abstract release(): void;

  /**
   * Acquire, call `fn`, release when its outcome is known.
   *
   * @param fn The function to run while holding the primitive.
   * @param args Its arguments.
   * @returns A Deferred of `fn`'s outcome.
   */
  run<R>(fn: (...args: any[]) => R | Deferred<R> | PromiseLike<R>, ...args: unknown[]): Deferred<R> {
    return this.acquire().addCallback(() =>
      maybeDeferred(fn, ...args).addBoth((r: unknown) => {
        this.release();
        return r;
      }),
    ) as unknown as Deferred<R>;
  }

  protected _cancelWaiter(d: Deferred<this>): void {
    const i = this.waiting.indexOf(d);
    if (i >= 0) this.waiting.splice(i, 1);
  }
}

/**
 * A lock for code that runs across several callbacks.
 */
export class DeferredLock extends _ConcurrencyPrimitive {
  /** Whether someone holds the lock. */
  locked = false;

  /**
   * @returns A Deferred that fires with the lock once it is this caller's;
   *   cancelling it before then removes the caller from the waiters.
   */
  acquire(): Deferred<this> {
    const d: Deferred<this> = new Deferred<this>((x) => this._cancelWaiter(x));
    if (this.locked) {
      this.waiting.push(d);
    } else {
      this.locked = true;
      d.callback(this);
    }
    return d;
  }

  /**
   * Release the lock, handing it to the next waiter.
   *
   * @throws {Error} When the lock is not held.
   */
  release(): void {
    if (!this.locked) throw new Error('DeferredLock.release(): the lock is not held');
    this.locked = false;
    const next = this.waiting.shift();
    if (next !== undefined) {
      this.locked = true;
      next.callback(this);
    }
  }
}

/**
 * A semaphore: at most `tokens` holders at once.
 */
export class DeferredSemaphore extends _ConcurrencyPrimitive {
  /** Tokens free now. */
  tokens: number;
  /** Tokens in all. */
  readonly limit: number;

  /**
   * @param tokens How many may hold the semaphore at once (at least 1).
   * @throws {RangeError} When `tokens` is below 1.
   */
  constructor(tokens: number) {
    super();
    if (!(tokens >= 1)) throw new RangeError('DeferredSemaphore requires tokens >= 1');
    this.tokens = tokens;
    this.limit = tokens;
  }

  /**
   * @returns A Deferred that fires with the semaphore once a token is this
   *   caller's; cancelling it before then removes the caller from the waiters.
   */
  acquire(): Deferred<this> {
    const d: Deferred<this> = new Deferred<this>((x) => this._cancelWaiter(x));
    if (this.tokens <= 0) {
      this.waiting.push(d);
    } else {
      this.tokens--;
      d.callback(this);
    }
    return d;
  }

  /**
   * Give a token back, handing it to the next waiter.
   *
   * @throws {Error} When more tokens are released than were acquired.
   */
  release(): void {
    if (this.tokens >= this.limit) throw new Error('DeferredSemaphore.release(): released more times than acquired');
    this.tokens++;
    const next = this.waiting.shift();
    if (next !== undefined) {
      this.tokens--;
      next.callback(this);
    }
  }
}

/**
 * A queue whose `get()` gives a Deferred, fired when an item is there.
 */
export class DeferredQueue<T = unknown> {
  /** Deferreds of the getters waiting for an item. */
  readonly waiting: Deferred<T>[] = [];
  /** Items put while nobody was waiting. */
  readonly pending: T[] = [];

  /**
   * @param size Most items held at once (`undefined`: unbounded).
   * @param backlog Most getters waiting at once (`undefined`: unbounded).
   */
  constructor(
    readonly size?: number,
    readonly backlog?: number,
  ) {}

  /**
   * Hand `item` to the first waiting getter, or keep it.
   *
   * @param item The item.
   * @throws {QueueOverflow} When `size` items are held already.
   */
  put(item: T): void {
    const next = this.waiting.shift();
    if (next !== undefined) next.callback(item);
    else if (this.size === undefined || this.pending.length < this.size) this.pending.push(item);
    else throw new QueueOverflow();
  }

  /**
   * @returns A Deferred of the next item; cancelling it before it fires
   *   removes the getter.
   * @throws {QueueUnderflow} When `backlog` getters are waiting already.
   */
  get(): Deferred<T> {
    if (this.pending.length > 0) return succeed(this.pending.shift() as T);
    if (this.backlog === undefined || this.waiting.length < this.backlog) {
      const d: Deferred<T> = new Deferred<T>((x) => {
        const i = this.waiting.indexOf(x);
        if (i >= 0) this.waiting.splice(i, 1);
      });
      this.waiting.push(d);
      return d;
    }
    throw new QueueUnderflow();
  }
}
