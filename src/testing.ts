/**
 * Test doubles for code written on wirecat's core: a deterministic
 * `Clock`, transports and a reactor that touch no network, and assertions
 * that keep Deferred tests synchronous.
 *
 * @example
 * import { Clock, StringTransport, successResultOf } from 'wirecat/testing';
 * const clock = new Clock();
 * const d = deferLater(clock, 1000, () => 'done');
 * clock.advance(1000);
 * successResultOf(d); // 'done'
 *
 * @module
 */

export { Clock } from './core/task.js';
export { assertNoResult, failureResultOf, successResultOf } from './core/testing/deferred.js';
export {
  FakeConnector,
  FakePort,
  MemoryReactor,
  MemoryReactorClock,
  StringTransport,
  StringTransportWithDisconnection,
} from './core/testing/transport.js';
export type {
  RecordedTCPClient,
  RecordedTCPServer,
  RecordedUDPPort,
  RecordedUnixClient,
  RecordedUnixServer,
} from './core/testing/transport.js';
