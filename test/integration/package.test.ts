import { describe, expect, it } from 'vitest';
import { ROOT, run } from './helpers.js';

// These run the *built* package in a fresh Node process, resolving
// 'wirecat' and 'wirecat/testing' through package.json "exports" exactly as
// a user's program would.
function node(source: string, flags: string[] = []) {
  return run(process.execPath, [...flags, '--input-type=module', '-e', source], { cwd: ROOT });
}

describe('package entry points', () => {
  it('"wirecat" exports the Deferred API and Clock, and importing it starts nothing', async () => {
    const r = await node(`
      const before = new Set(process.getActiveResourcesInfo());
      const lib = await import('wirecat');
      // File reads of the module loader may still be closing; anything else
      // (a timer, a socket, a signal handler) would be the library's doing.
      const after = process.getActiveResourcesInfo().filter((x) => !before.has(x) && !/^(CloseReq|FSReq)/.test(x));
      const d = new lib.Deferred();
      let seen;
      d.addCallback((x) => x * 2).addCallback((x) => { seen = x; });
      d.callback(21);
      console.log(JSON.stringify({ seen, clock: typeof lib.Clock, after, names: ['succeed', 'DeferredList', 'LoopingCall', 'CancelledError'].map((n) => typeof lib[n]) }));
    `);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ seen: 42, clock: 'function', after: [], names: ['function', 'function', 'function', 'function'] });
  });

  it('"wirecat/testing" exports Clock and the Deferred assertions', async () => {
    const r = await node(`
      const { Clock, successResultOf } = await import('wirecat/testing');
      const { deferLater } = await import('wirecat');
      const clock = new Clock();
      const d = deferLater(clock, 1500, () => 'done');
      clock.advance(1499);
      const early = d.called;
      clock.advance(1);
      console.log(JSON.stringify({ early, result: successResultOf(d), now: clock.now() }));
    `);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ early: false, result: 'done', now: 1500 });
  });

  it('a failed Deferred garbage-collected unhandled is reported on stderr', async () => {
    const r = await node(
      `
      const { Deferred } = await import('wirecat');
      (() => { new Deferred().errback(new Error('nobody handled me')); })();
      for (let i = 0; i < 50; i++) {
        globalThis.gc();
        await new Promise((r) => setTimeout(r, 10));
      }
    `,
      ['--expose-gc'],
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^Unhandled error in Deferred:\nError: nobody handled me\n/);
  });

  it('a failure handed to await is handled and never reported', async () => {
    const r = await node(
      `
      const { fail } = await import('wirecat');
      await (async () => { try { await fail(new Error('caught')); } catch (e) { console.log(e.message); } })();
      for (let i = 0; i < 20; i++) {
        globalThis.gc();
        await new Promise((r) => setTimeout(r, 10));
      }
    `,
      ['--expose-gc'],
    );
    expect(r.stdout).toBe('caught\n');
    expect(r.stderr).toBe('');
  });
});
