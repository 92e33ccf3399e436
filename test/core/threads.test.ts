import { describe, expect, it } from 'vitest';
import { CancelledError, Deferred, ThreadPool, deferToThread, deferToThreadPool, reactor } from 'wirecat';
import { ROOT, run } from '../integration/helpers.js';

/** A busy wait on the worker, so calls overlap deterministically. */
const busy = (ms: number, value: unknown) => {
  const end = Date.now() + ms;
  while (Date.now() < end);
  return value;
};

describe('deferToThreadPool()', () => {
  it('runs a self-contained function on a worker and fires with its result', async () => {
    const pool = new ThreadPool({ maxThreads: 2 });
    try {
      const r = await deferToThreadPool(pool, (a: number, b: number) => a * b, 6, 7);
      expect(r).toBe(42);
      expect(pool.size).toBe(1);
    } finally {
      await pool.stop();
    }
  });

  it('a throw in the worker becomes the Failure, keeping name and message', async () => {
    const pool = new ThreadPool();
    try {
      const d = deferToThreadPool(pool, () => {
        throw new RangeError('out of range on the worker');
      });
      const f = await new Promise<unknown>((resolve) => d.addErrback((fl) => resolve(fl.value)));
      expect(f).toBeInstanceOf(Error);
      expect((f as Error).name).toBe('RangeError');
      expect((f as Error).message).toBe('out of range on the worker');
    } finally {
      await pool.stop();
    }
  });

  it('arguments and results are structured clones (a Buffer arrives as a Uint8Array)', async () => {
    const pool = new ThreadPool();
    try {
      const r = await deferToThreadPool(pool, (b: Uint8Array) => ({ isBuffer: Buffer.isBuffer(b), len: b.length, first: b[0] }), Buffer.from([9, 8, 7]));
      expect(r).toEqual({ isBuffer: false, len: 3, first: 9 });
    } finally {
      await pool.stop();
    }
  });

  it('cancelling a queued call removes it: CancelledError, and it never runs', async () => {
    const pool = new ThreadPool({ maxThreads: 1 });
    try {
      const first = deferToThreadPool(pool, busy, 150, 'first');
      const second = deferToThreadPool(pool, (v: string) => v, 'second');
      expect(pool.queued).toBe(1);
      second.cancel();
      expect(pool.queued).toBe(0);
      const reason = await new Promise<unknown>((resolve) => second.addErrback((f) => resolve(f.value)));
      expect(reason).toBeInstanceOf(CancelledError);
      expect(await first).toBe('first');
      expect(pool.completed).toBe(1);
    } finally {
      await pool.stop();
    }
  });

  it('cancelling a running call lets it finish and drops its result', async () => {
    const pool = new ThreadPool({ maxThreads: 1 });
    try {
      const running = deferToThreadPool(pool, busy, 100, 'dropped');
      const results: unknown[] = [];
      running.addBoth((r: unknown) => {
        results.push(r);
        return undefined;
      });
      running.cancel();
      // The next call runs after the cancelled one finished on the same worker.
      expect(await deferToThreadPool(pool, () => 'next')).toBe('next');
      expect(pool.completed).toBe(2);
      expect(results).toHaveLength(1);
      expect((results[0] as { value: unknown }).value).toBeInstanceOf(CancelledError);
    } finally {
      await pool.stop();
    }
  });

  it('the event loop keeps serving while a call runs', async () => {
    const pool = new ThreadPool();
    try {
      const d = deferToThreadPool(pool, busy, 300, 'done');
      let ticks = 0;
      const t = setInterval(() => ticks++, 10);
      await d;
      clearInterval(t);
      expect(ticks).toBeGreaterThan(5);
    } finally {
      await pool.stop();
    }
  });

  it('stop() fails queued calls with CancelledError and fires once every worker exited', async () => {
    const pool = new ThreadPool({ maxThreads: 1 });
    const running = deferToThreadPool(pool, busy, 100, 'ran');
    const queued = deferToThreadPool(pool, () => 'never');
    const queuedReason = new Promise<unknown>((resolve) => queued.addErrback((f) => resolve(f.value)));
    const stopped = pool.stop();
    expect(await queuedReason).toBeInstanceOf(CancelledError);
    expect(await running).toBe('ran');
    await stopped;
    expect(pool.size).toBe(0);
    const after = deferToThreadPool(pool, () => 1);
    expect(await new Promise<unknown>((resolve) => after.addErrback((f) => resolve(f.value)))).toBeInstanceOf(CancelledError);
  });
});

describe('deferToThread() and the reactor pool', () => {
  it('runs on the reactor pool, started on first use', async () => {
    const d: Deferred<number> = deferToThread((n: number) => n + 1, 41);
    expect(await d).toBe(42);
    expect(reactor.getThreadPool().size).toBeGreaterThanOrEqual(1);
  });

  it('a program that used it exits by itself, and shutdown stops the pool', async () => {
    const r = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { deferToThread, react } from 'wirecat';
         react(async (r) => {
           const v = await deferToThread((x) => x * 2, 21);
           console.log('value', v, 'pool', r.getThreadPool().size);
           r.addSystemEventTrigger('after', 'shutdown', () => console.log('pool after shutdown', r.getThreadPool().size));
         });`,
      ],
      { cwd: ROOT, timeoutMs: 10_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('value 42 pool 1\npool after shutdown 0\n');
  });
});
