/**
 * Not a vitest file: the program of the standalone binary's smoke test
 * (.ci/smoke). bin/build-binary.mjs --entry test/sea/threads-check.ts builds
 * it as a single executable exactly as the wirecat binary is built (one
 * CommonJS bundle, code cache, Node 26), to check that deferToThread's
 * workers, started from source, run inside a SEA. It prints one JSON line.
 */
import { createHash } from 'node:crypto';
import { react, deferToThread, deferToThreadPool, ThreadPool } from '../../src/index.js';

void react(async () => {
  const data = new TextEncoder().encode('wirecat threads in a single executable');
  const sha = await deferToThread((bytes: Uint8Array) => {
    // Runs on the worker: built-ins through the worker's own require.
    return (require('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(bytes).digest('hex');
  }, data);
  const pool = new ThreadPool({ maxThreads: 2 });
  const sums = await Promise.all([1, 2, 3, 4].map((n) => deferToThreadPool(pool, (k: number) => k * 10 + 2, n)));
  let error = '';
  try {
    await deferToThreadPool(pool, () => {
      throw new RangeError('from the worker');
    });
  } catch (e) {
    error = `${(e as Error).name}: ${(e as Error).message}`;
  }
  await pool.stop();
  const sea = (process as { getBuiltinModule?: (id: string) => { isSea(): boolean } | undefined }).getBuiltinModule?.('node:sea')?.isSea() ?? false;
  const ok = sha === createHash('sha256').update(data).digest('hex') && sums.join(',') === '12,22,32,42' && error === 'RangeError: from the worker';
  process.stdout.write(`${JSON.stringify({ ok, sea, runtime: process.version, sha, sums, error })}\n`);
  return ok ? 0 : 1;
});
