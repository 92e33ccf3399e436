/**
 * Blocking work on worker threads, handed back as Deferreds: Twisted's
 * `deferToThread` over Node's `worker_threads`.
 *
 * Workers share no closures with the main thread, so the function is sent
 * as source and must be self-contained (no variables from outside it, no
 * `this`); arguments and results are structured clones (a Buffer arrives as
 * a Uint8Array). The worker is started from source (`eval`), not from a
 * file, so this works from the standalone binary too.
 *
 * No library is used: the well-kept pools (piscina, workerpool) run a
 * module file's exports rather than functions sent as source, and load that
 * file from disk, which a single executable does not have.
 *
 * @module
 */

import type { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { Deferred } from './defer.js';
import { CancelledError } from './errors.js';

const _require = createRequire(import.meta.url);

/** The worker's program: compile each function once, run it, post the outcome. */
const _WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
// Functions run in the global scope: let them require() built-ins.
globalThis.require = require;
const compiled = new Map();
parentPort.on('message', async (job) => {
  try {
    let fn = compiled.get(job.source);
    if (fn === undefined) {
      fn = (0, eval)('(' + job.source + ')');
      if (typeof fn !== 'function') throw new TypeError('deferToThread() needs a function');
      compiled.set(job.source, fn);
    }
    const value = await fn(...job.args);
    parentPort.postMessage({ id: job.id, ok: true, value });
  } catch (e) {
    const err = e instanceof Error
      ? { name: e.name, message: e.message, stack: e.stack, code: e.code }
      : { name: 'Error', message: String(e), value: (() => { try { return structuredClone(e); } catch { return String(e); } })() };
    parentPort.postMessage({ id: job.id, ok: false, error: err });
  }
});
`;

interface _Job {
  id: number;
  source: string;
  args: unknown[];
  deferred: Deferred<unknown>;
  cancelled: boolean;
}

interface _Slot {
  worker: Worker;
  job: _Job | undefined;
}

/** Options of {@link ThreadPool}. */
export interface ThreadPoolOptions {
  /** Workers kept even when idle (default 0). */
  minThreads?: number;
  /** Most workers at once (default 4). */
  maxThreads?: number;
}

/**
 * A pool of worker threads running functions sent as source.
 *
 * Workers start on demand up to `maxThreads` and do not keep the process
 * alive while idle, so a program that used the pool exits by itself.
 *
 * @example
 * const pool = new ThreadPool({ maxThreads: 2 });
 * deferToThreadPool(pool, (n: number) => n * 2, 21).addCallback(console.log); // 42
 */
export class ThreadPool {
  /** Workers kept even when idle. */
  minThreads: number;
  /** Most workers at once. */
  maxThreads: number;
  /** False once `stop()` was called. */
  running = true;
  /** Calls completed (for the diagnostics). */
  completed = 0;

  private readonly _slots: _Slot[] = [];
  private readonly _queue: _Job[] = [];
  private _nextId = 1;
  private _stopped: Deferred<void> | undefined;

  /** @param opts Pool size. */
  constructor(opts: ThreadPoolOptions = {}) {
    this.minThreads = opts.minThreads ?? 0;
    this.maxThreads = Math.max(1, opts.maxThreads ?? 4);
    if (this.minThreads > this.maxThreads) throw new RangeError('minThreads must not exceed maxThreads');
  }

  /** Workers alive now. */
  get size(): number {
    return this._slots.length;
  }

  /** Calls waiting for a worker. */
  get queued(): number {
    return this._queue.length;
  }

  /**
   * Run `fn(...args)` on a worker.
   *
   * @param fn A self-contained function (it is sent as source).
   * @param args Structured-cloneable arguments.
   * @returns A Deferred of the result; cancelling it removes a queued call
   *   (`CancelledError`), or drops a running call's result.
   */
  run<R>(fn: (...args: any[]) => R | Promise<R>, ...args: unknown[]): Deferred<Awaited<R>> {
    const job: _Job = {
      id: this._nextId++,
      source: fn.toString(),
      args,
      cancelled: false,
      deferred: undefined as unknown as Deferred<unknown>,
    };
    job.deferred = new Deferred<unknown>(() => {
      job.cancelled = true;
      const i = this._queue.indexOf(job);
      if (i >= 0) this._queue.splice(i, 1);
      // A running call is left to finish; its result is dropped.
    });
    if (!this.running) {
      job.deferred.errback(new CancelledError('the thread pool is stopped'));
      return job.deferred as Deferred<Awaited<R>>;
    }
    this._queue.push(job);
    this._dispatch();
    return job.deferred as Deferred<Awaited<R>>;
  }

  /**
   * Stop: queued calls fail with `CancelledError`, running ones finish,
   * then every worker exits.
   *
   * @returns A Deferred fired once every worker has exited.
   */
  stop(): Deferred<void> {
    if (this._stopped !== undefined) return this._stopped;
    this.running = false;
    const d = (this._stopped = new Deferred<void>());
    for (const job of this._queue.splice(0)) job.deferred.errback(new CancelledError('the thread pool was stopped'));
    this._maybeFinishStop();
    return d;
  }

  private _dispatch(): void {
    while (this._queue.length > 0) {
      let slot = this._slots.find((s) => s.job === undefined);
      if (slot === undefined) {
        if (this._slots.length >= this.maxThreads) return;
        slot = this._spawn();
      }
      const job = this._queue.shift()!;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage({ id: job.id, source: job.source, args: job.args });
    }
  }

  private _spawn(): _Slot {
    const { Worker: W } = _require('node:worker_threads') as typeof import('node:worker_threads');
    // The worker's source is a CommonJS script: drop an inherited
    // --input-type=module, which would make Node read it as ESM.
    const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
    const worker = new W(_WORKER_SOURCE, { eval: true, execArgv });
    const slot: _Slot = { worker, job: undefined };
    worker.on('message', (m: { id: number; ok: boolean; value?: unknown; error?: { name: string; message: string; stack?: string; code?: string; value?: unknown } }) =>
      this._done(slot, m),
    );
    worker.on('error', (err) => {
      // The worker died (out of memory, a crash): fail its call, replace it.
      const job = slot.job;
      slot.job = undefined;
      this._remove(slot);
      if (job && !job.cancelled) job.deferred.errback(err);
      this._dispatch();
    });
    worker.on('exit', () => {
      this._remove(slot);
      this._maybeFinishStop();
    });
    this._slots.push(slot);
    return slot;
  }

  private _done(slot: _Slot, m: { id: number; ok: boolean; value?: unknown; error?: { name: string; message: string; stack?: string; code?: string; value?: unknown } }): void {
    const job = slot.job;
    slot.job = undefined;
    this.completed++;
    if (!this.running) void slot.worker.terminate();
    // An idle worker waits for the next call without keeping the process alive.
    else slot.worker.unref();
    if (job !== undefined && job.id === m.id && !job.cancelled) {
      if (m.ok) job.deferred.callback(m.value);
      else job.deferred.errback(_rebuildError(m.error!));
    }
    this._dispatch();
    this._maybeFinishStop();
  }

  private _remove(slot: _Slot): void {
    const i = this._slots.indexOf(slot);
    if (i >= 0) this._slots.splice(i, 1);
  }

  private _maybeFinishStop(): void {
    if (this.running || this._stopped === undefined || this._stopped.called) return;
    for (const s of this._slots) if (s.job === undefined) void s.worker.terminate();
    if (this._slots.length === 0) this._stopped.callback(undefined);
  }
}

function _rebuildError(e: { name: string; message: string; stack?: string; code?: string; value?: unknown }): unknown {
  if ('value' in e && e.value !== undefined && e.stack === undefined) return e.value;
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack !== undefined) err.stack = e.stack;
  if (e.code !== undefined) (err as NodeJS.ErrnoException).code = e.code;
  return err;
}

/**
 * Run `fn(...args)` on `pool`.
 *
 * @param pool The pool.
 * @param fn A self-contained function (sent as source).
 * @param args Structured-cloneable arguments.
 * @returns A Deferred of the result (or the worker's error, name and message kept).
 */
export function deferToThreadPool<R>(pool: ThreadPool, fn: (...args: any[]) => R | Promise<R>, ...args: unknown[]): Deferred<Awaited<R>> {
  return pool.run(fn, ...args);
}

let _defaultPool: (() => ThreadPool) | undefined;

/** @internal The reactor registers how to get its pool. */
export function _setDefaultPool(get: () => ThreadPool): void {
  _defaultPool = get;
}

/**
 * Run `fn(...args)` on the reactor's worker pool (started on first use,
 * stopped at the reactor's shutdown).
 *
 * @param fn A self-contained function (sent as source: no outside variables, no `this`).
 * @param args Structured-cloneable arguments.
 * @returns A Deferred of the result, delivered on the reactor's thread.
 * @example
 * const digest = await deferToThread((data: Uint8Array) => {
 *   return require('node:crypto').createHash('sha256').update(data).digest('hex');
 * }, bytes);
 */
export function deferToThread<R>(fn: (...args: any[]) => R | Promise<R>, ...args: unknown[]): Deferred<Awaited<R>> {
  if (_defaultPool === undefined) throw new Error('deferToThread() needs the reactor module (import it from wirecat)');
  return _defaultPool().run(fn, ...args);
}
