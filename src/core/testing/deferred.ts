/**
 * Assertions that keep Deferred tests synchronous, after Twisted's
 * `SynchronousTestCase`: no await, no sleeping, just "what is the result now".
 *
 * @module
 */

import { Deferred, Failure, ensureDeferred } from '../defer.js';

/**
 * The result a Deferred has now; it is consumed (the Deferred's result
 * becomes `undefined`), as in Twisted.
 *
 * @param d A Deferred (or Promise, which never has a result synchronously).
 * @returns The result.
 * @throws {Error} When there is no result yet, or the result is a Failure.
 */
export function successResultOf<T>(d: Deferred<T> | PromiseLike<T>): T {
  const results: unknown[] = [];
  ensureDeferred(d).addBoth((r: unknown) => {
    results.push(r);
    return undefined;
  });
  if (results.length === 0) throw new Error(`success result expected on ${String(d)}, found no result instead`);
  const r = results[0];
  if (r instanceof Failure) {
    throw new Error(`success result expected on ${String(d)}, found failure result instead:\n${r.getTraceback()}`);
  }
  return r as T;
}

/**
 * The Failure a Deferred has now; it is consumed (handled).
 *
 * @param d A Deferred.
 * @param types When given, the Failure must match one of them.
 * @returns The Failure.
 * @throws {Error} When there is no result, a success, or a Failure of another type.
 */
export function failureResultOf(d: Deferred<unknown> | PromiseLike<unknown>, ...types: Function[]): Failure {
  const results: unknown[] = [];
  ensureDeferred(d).addBoth((r: unknown) => {
    results.push(r);
    return undefined;
  });
  if (results.length === 0) throw new Error(`failure result expected on ${String(d)}, found no result instead`);
  const r = results[0];
  if (!(r instanceof Failure)) throw new Error(`failure result expected on ${String(d)}, found success result (${String(r)}) instead`);
  if (types.length > 0 && r.check(...types) === undefined) {
    const names = types.map((t) => t.name).join(', ');
    throw new Error(`failure of type ${names} expected on ${String(d)}, found type ${r.type?.name ?? typeof r.value} instead:\n${r.getTraceback()}`);
  }
  return r;
}

/**
 * Assert that a Deferred has no result yet. The Deferred is left as it was
 * (a failure found here is consumed so that it is not reported twice).
 *
 * @param d A Deferred.
 * @throws {Error} When it has a result.
 */
export function assertNoResult(d: Deferred<unknown> | PromiseLike<unknown>): void {
  const results: unknown[] = [];
  const dd = ensureDeferred(d);
  dd.addBoth((r: unknown) => {
    results.push(r);
    return r;
  });
  if (results.length > 0) {
    dd.addErrback(() => undefined);
    throw new Error(`no result expected on ${String(d)}, found ${String(results[0])} instead`);
  }
}
