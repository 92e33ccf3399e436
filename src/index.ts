/**
 * wirecat's core library: Deferreds with Twisted's semantics, time, and
 * (as later modules land) the reactor, protocols and transports.
 *
 * Importing it starts no socket, timer, thread or signal handler.
 *
 * @example
 * import { Deferred } from 'wirecat';
 * const d = new Deferred<string>();
 * d.addCallback((s) => s.toUpperCase()).addCallback(console.log);
 * d.callback('hello'); // prints HELLO
 *
 * @module
 */

export {
  Deferred,
  DeferredList,
  DeferredLock,
  DeferredQueue,
  DeferredSemaphore,
  Failure,
  deferredStats,
  ensureDeferred,
  execute,
  fail,
  gatherResults,
  isThenable,
  maybeDeferred,
  race,
  succeed,
} from './core/defer.js';
export type { ChainFunction, DeferredListOptions } from './core/defer.js';
export {
  AlreadyCalledError,
  AlreadyCancelledError,
  CancelledError,
  FailureGroup,
  FirstError,
  QueueOverflow,
  QueueUnderflow,
  TimeoutError,
  UsageError,
  WirecatError,
} from './core/errors.js';
export { setLogger } from './core/log.js';
export type { Logger } from './core/log.js';
export { Clock, LoopingCall, RealClock, deferLater, realClock } from './core/task.js';
export type { IDelayedCall, IReactorTime } from './core/task.js';
