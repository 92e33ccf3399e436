/**
 * Test doubles for code written on wirecat's core: a deterministic
 * `Clock`, and assertions that keep Deferred tests synchronous.
 * (`StringTransport` and `MemoryReactor` arrive with the reactor.)
 *
 * @example
 * import { Clock, successResultOf } from 'wirecat/testing';
 * const clock = new Clock();
 * const d = deferLater(clock, 1000, () => 'done');
 * clock.advance(1000);
 * successResultOf(d); // 'done'
 *
 * @module
 */

export { Clock } from './core/task.js';
export { assertNoResult, failureResultOf, successResultOf } from './core/testing/deferred.js';
