// Tests for the time module (src/core/task.ts): Clock, LoopingCall and
// deferLater, ported in large part from Twisted's src/twisted/test/test_task.py
// (seconds there are milliseconds here), plus one case per bullet of
// CORE-API.md's "Time" section.
import { describe, it, expect } from 'vitest';
import {
  Deferred,
  Failure,
  LoopingCall,
  deferLater,
  Clock as LibraryClock,
  AlreadyCalledError,
  AlreadyCancelledError,
  CancelledError,
  TimeoutError,
} from 'wirecat';
import { Clock, successResultOf, failureResultOf, assertNoResult } from 'wirecat/testing';

class TestException extends Error {
  constructor(message = 'test exception') {
    super(message);
    this.name = 'TestException';
  }
}

/** A LoopingCall driven by the given clock. */
function loopingCall(clock: Clock, fn: (...args: any[]) => unknown, ...args: unknown[]): LoopingCall {
  const lc = new LoopingCall(fn, ...args);
  lc.clock = clock;
  return lc;
}

// ---------------------------------------------------------------------------
// Clock
// ---------------------------------------------------------------------------

describe('Clock', () => {
  it('Clock is exported by both wirecat and wirecat/testing as the same class', () => {
    expect(LibraryClock).toBe(Clock);
  });

  it('Clock.now() starts at 0', () => {
    expect(new Clock().now()).toBe(0);
  });

  it('Clock.getDelayedCalls() is empty on a new Clock', () => {
    expect(new Clock().getDelayedCalls()).toEqual([]);
  });

  it('Clock.callLater() returns an active delayed call due at now() + ms', () => {
    const c = new Clock();
    c.advance(5);
    const call = c.callLater(1000, () => undefined);
    expect(call.getTime()).toBe(1005);
    expect(call.active()).toBe(true);
  });

  it('Clock.callLater() returns a new delayed call each time', () => {
    const c = new Clock();
    const call1 = c.callLater(10, () => undefined);
    const call2 = c.callLater(1, () => undefined);
    expect(call1).not.toBe(call2);
  });

  it('Clock.getDelayedCalls() lists the pending calls', () => {
    const c = new Clock();
    const call = c.callLater(1, () => undefined);
    const call2 = c.callLater(2, () => undefined);
    expect(new Set(c.getDelayedCalls())).toEqual(new Set([call, call2]));
    expect(c.getDelayedCalls().length).toBe(2);
  });

  it('Clock.advance() runs a call once its time comes, and not before (testAdvance)', () => {
    const events: unknown[] = [];
    const c = new Clock();
    const call = c.callLater(2, () => {
      events.push(null);
    });
    c.advance(1);
    expect(events).toEqual([]);
    c.advance(1);
    expect(events).toEqual([null]);
    expect(call.active()).toBe(false);
    expect(c.getDelayedCalls()).toEqual([]);
  });

  it('Clock.advance() passes the callLater() arguments to the function', () => {
    const c = new Clock();
    const seen: unknown[][] = [];
    c.callLater(
      1,
      (...args: unknown[]) => {
        seen.push(args);
      },
      1,
      'two',
      { three: 3 },
    );
    c.advance(1);
    expect(seen).toEqual([[1, 'two', { three: 3 }]]);
  });

  it('Clock.advance() sets now() to the new time before running due calls', () => {
    const c = new Clock();
    const seen: number[] = [];
    c.callLater(5, () => {
      seen.push(c.now());
    });
    c.callLater(7, () => {
      seen.push(c.now());
    });
    c.advance(10);
    expect(seen).toEqual([10, 10]);
    expect(c.now()).toBe(10);
  });

  it('Clock.advance() runs due calls earliest first', () => {
    const c = new Clock();
    const order: string[] = [];
    c.callLater(3, () => order.push('c'));
    c.callLater(1, () => order.push('a'));
    c.callLater(2, () => order.push('b'));
    c.advance(5);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('Clock.advance() runs same-time calls in the order they were scheduled', () => {
    const c = new Clock();
    const order: string[] = [];
    c.callLater(5, () => order.push('first'));
    c.callLater(3, () => order.push('earlier'));
    c.callLater(5, () => order.push('second'));
    c.callLater(5, () => order.push('third'));
    c.advance(5);
    expect(order).toEqual(['earlier', 'first', 'second', 'third']);
  });

  it('Clock.advance() runs calls scheduled by running calls when they are already due, in the same advance', () => {
    const c = new Clock();
    const order: string[] = [];
    c.callLater(1, () => {
      order.push('a');
      c.callLater(0, () => {
        order.push('a-child');
        c.callLater(0, () => order.push('a-grandchild'));
      });
    });
    c.advance(1);
    expect(order).toEqual(['a', 'a-child', 'a-grandchild']);
    expect(c.getDelayedCalls()).toEqual([]);
  });

  it('Clock.advance() runs a newly due call after already-due calls that are earlier', () => {
    const c = new Clock();
    const order: string[] = [];
    c.callLater(1, () => {
      order.push('a@1');
      // Due at 5 (now), after b which is due at 3.
      c.callLater(0, () => order.push('c@5'));
    });
    c.callLater(3, () => order.push('b@3'));
    c.advance(5);
    expect(order).toEqual(['a@1', 'b@3', 'c@5']);
  });

  it('Clock.advance() does not run a call scheduled by a running call for after the new time', () => {
    const c = new Clock();
    const order: string[] = [];
    c.callLater(1, () => {
      order.push('a');
      c.callLater(10, () => order.push('later'));
    });
    c.advance(5);
    expect(order).toEqual(['a']);
    expect(c.getDelayedCalls().length).toBe(1);
    expect(c.getDelayedCalls()[0]!.getTime()).toBe(15);
    c.advance(10);
    expect(order).toEqual(['a', 'later']);
  });

  it('Clock.advance(0) runs calls scheduled with a delay of 0', () => {
    const c = new Clock();
    const seen: number[] = [];
    c.callLater(0, () => seen.push(c.now()));
    expect(seen).toEqual([]);
    c.advance(0);
    expect(seen).toEqual([0]);
  });

  it('Clock.pump() advances by each amount in turn', () => {
    const c = new Clock();
    const seen: number[] = [];
    c.callLater(10, () => seen.push(c.now()));
    c.callLater(25, () => seen.push(c.now()));
    c.pump([5, 5, 5, 5, 5]);
    expect(seen).toEqual([10, 25]);
    expect(c.now()).toBe(25);
  });

  it('Clock calls keep their order when one is reset to a later time before another is scheduled (test_callLaterKeepsCallsOrdered)', () => {
    const result: [string, number][] = [];
    const clock = new Clock();
    const logtime = (n: string) => {
      result.push([n, clock.now()]);
    };
    const callA = clock.callLater(1000, logtime, 'a');
    callA.reset(3000);
    clock.callLater(2000, logtime, 'b');
    clock.pump([1000, 1000, 1000]);
    expect(result).toEqual([
      ['b', 2000],
      ['a', 3000],
    ]);
  });

  it('Clock calls keep their order when one is reset past another (test_callLaterResetKeepsCallsOrdered)', () => {
    const result: [string, number][] = [];
    const clock = new Clock();
    const logtime = (n: string) => {
      result.push([n, clock.now()]);
    };
    const callA = clock.callLater(1000, logtime, 'a');
    clock.callLater(2000, logtime, 'b');
    callA.reset(3000);
    clock.pump([1000, 1000, 1000]);
    expect(result).toEqual([
      ['b', 2000],
      ['a', 3000],
    ]);
  });

  it('Clock calls keep their order when reset from inside another call (test_callLaterResetInsideCallKeepsCallsOrdered)', () => {
    const result: [string, number][] = [];
    const clock = new Clock();
    const logtime = (n: string) => {
      result.push([n, clock.now()]);
    };
    const callB = clock.callLater(2000, logtime, 'b');
    clock.callLater(1000, () => {
      callB.reset(3000);
    });
    clock.callLater(3000, logtime, 'c');
    clock.pump(new Array(10).fill(500));
    expect(result).toEqual([
      ['c', 3000],
      ['b', 4000],
    ]);
  });

  it('Clock: a call reset() onto the time of a later-scheduled call runs first, as it was scheduled first', () => {
    const c = new Clock();
    const order: string[] = [];
    const a = c.callLater(1, () => order.push('a'));
    c.callLater(2, () => order.push('b'));
    a.reset(2);
    c.advance(2);
    expect(order).toEqual(['a', 'b']);
  });

  it('Clock: a call delay()ed onto the time of a later-scheduled call runs first, as it was scheduled first', () => {
    const c = new Clock();
    const order: string[] = [];
    const a = c.callLater(1, () => order.push('a'));
    c.callLater(3, () => order.push('b'));
    a.delay(2);
    c.advance(3);
    expect(order).toEqual(['a', 'b']);
  });

  it('Clock: a call scheduled second and delay()ed onto the time of a call scheduled first runs after it (CORE-API: "in the order they were first scheduled")', () => {
    const c = new Clock();
    const order: string[] = [];
    c.callLater(5, () => order.push('a'));
    const b = c.callLater(2, () => order.push('b'));
    b.delay(3);
    c.advance(5);
    expect(order).toEqual(['a', 'b']);
  });

  it('IDelayedCall.cancel() makes the call inactive, removes it and stops it from running (testCallLaterCancelled)', () => {
    const c = new Clock();
    const ran: unknown[] = [];
    const call = c.callLater(1, () => ran.push(1));
    call.cancel();
    expect(call.active()).toBe(false);
    expect(c.getDelayedCalls()).toEqual([]);
    c.advance(5);
    expect(ran).toEqual([]);
  });

  it('IDelayedCall.cancel() a second time throws AlreadyCancelledError', () => {
    const c = new Clock();
    const call = c.callLater(1, () => undefined);
    call.cancel();
    expect(() => call.cancel()).toThrow(AlreadyCancelledError);
  });

  it('IDelayedCall.cancel() after the call ran throws AlreadyCalledError', () => {
    const c = new Clock();
    const call = c.callLater(1, () => undefined);
    c.advance(1);
    expect(() => call.cancel()).toThrow(AlreadyCalledError);
  });

  it('IDelayedCall.cancel() from inside its own call throws AlreadyCalledError (testAdvanceCancel)', () => {
    const c = new Clock();
    let thrown: unknown;
    const call = c.callLater(1, () => {
      try {
        call.cancel();
      } catch (e) {
        thrown = e;
      }
    });
    c.advance(1);
    expect(thrown).toBeInstanceOf(AlreadyCalledError);
    expect(c.getDelayedCalls()).toEqual([]);
  });

  it('Clock.getDelayedCalls() no longer lists a call while it runs', () => {
    const c = new Clock();
    let listed: unknown[] | undefined;
    const call = c.callLater(1, () => {
      listed = [...c.getDelayedCalls()];
    });
    const other = c.callLater(5, () => undefined);
    c.advance(1);
    expect(listed).toEqual([other]);
    expect(listed).not.toContain(call);
  });

  it('IDelayedCall.delay() moves an active call later (testCallLaterDelayed)', () => {
    const events: unknown[][] = [];
    const c = new Clock();
    const call = c.callLater(
      1000,
      (a: unknown, b: unknown) => {
        events.push([a, b]);
      },
      1,
      2,
    );
    call.delay(1000);
    expect(call.getTime()).toBe(2000);
    c.advance(1500);
    expect(events).toEqual([]);
    c.advance(1000);
    expect(events).toEqual([[1, 2]]);
  });

  it('IDelayedCall.reset() moves an active call to now() + ms, later (testCallLaterResetLater)', () => {
    const events: unknown[] = [];
    const c = new Clock();
    const call = c.callLater(2000, () => events.push('x'));
    c.advance(1000);
    call.reset(3000);
    expect(call.getTime()).toBe(4000);
    c.advance(2000);
    expect(events).toEqual([]);
    c.advance(1000);
    expect(events).toEqual(['x']);
  });

  it('IDelayedCall.reset() moves an active call to now() + ms, sooner (testCallLaterResetSooner)', () => {
    const events: unknown[] = [];
    const c = new Clock();
    const call = c.callLater(4000, () => events.push('x'));
    call.reset(3000);
    expect(call.getTime()).toBe(3000);
    c.advance(3000);
    expect(events).toEqual(['x']);
  });

  it('IDelayedCall.delay() and reset() on a called call throw AlreadyCalledError', () => {
    const c = new Clock();
    const call = c.callLater(1, () => undefined);
    c.advance(1);
    expect(() => call.delay(1)).toThrow(AlreadyCalledError);
    expect(() => call.reset(1)).toThrow(AlreadyCalledError);
  });

  it('IDelayedCall.delay() and reset() on a cancelled call throw AlreadyCancelledError', () => {
    const c = new Clock();
    const call = c.callLater(1, () => undefined);
    call.cancel();
    expect(() => call.delay(1)).toThrow(AlreadyCancelledError);
    expect(() => call.reset(1)).toThrow(AlreadyCancelledError);
  });
});

// ---------------------------------------------------------------------------
// LoopingCall
// ---------------------------------------------------------------------------

describe('LoopingCall', () => {
  it('LoopingCall.start() calls the function now and every interval with its arguments, and stop() fires the start() Deferred with the LoopingCall (testBasicFunction)', () => {
    const clock = new Clock();
    const calls: unknown[][] = [];
    const lc = loopingCall(
      clock,
      (...args: unknown[]) => {
        calls.push(args);
      },
      'a',
      'b',
    );
    const d = lc.start(100);
    expect(lc.running).toBe(true);
    const theResult: unknown[] = [];
    d.addCallback((r: unknown) => {
      theResult.push(r);
    });
    clock.pump([50, 100, 100]);
    expect(calls.length).toBe(3);
    for (const args of calls) expect(args).toEqual(['a', 'b']);
    expect(theResult).toEqual([]);
    lc.stop();
    expect(lc.running).toBe(false);
    expect(theResult.length).toBe(1);
    expect(theResult[0]).toBe(lc);
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it('LoopingCall.start(interval, false) waits one interval before the first call (testDelayedStart)', () => {
    const clock = new Clock();
    const calls: unknown[] = [];
    const lc = loopingCall(clock, () => {
      calls.push(clock.now());
    });
    const d = lc.start(100, false);
    expect(calls).toEqual([]);
    clock.pump([50, 100, 100]);
    expect(calls).toEqual([150, 250]);
    lc.stop();
    expect(successResultOf(d)).toBe(lc);
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  for (const delay of [0, 10_000]) {
    it(`LoopingCall.stop() before a delayed first call prevents any call (interval ${delay})`, () => {
      const clock = new Clock();
      const ran: unknown[] = [];
      const lc = loopingCall(clock, () => {
        ran.push(null);
      });
      const d = lc.start(delay, false);
      lc.stop();
      expect(ran).toEqual([]);
      expect(clock.getDelayedCalls()).toEqual([]);
      clock.advance(delay + 1);
      expect(ran).toEqual([]);
      expect(successResultOf(d)).toBe(lc);
    });
  }

  it('LoopingCall.start() with a negative interval throws', () => {
    const lc = loopingCall(new Clock(), () => undefined);
    expect(() => lc.start(-1)).toThrow();
  });

  it('LoopingCall skips intervals missed while the clock jumped (test_reactorTimeSkips)', () => {
    const clock = new Clock();
    const times: number[] = [];
    const lc = loopingCall(clock, () => {
      times.push(clock.now());
    });
    lc.start(500);
    expect(times).toEqual([0]);
    clock.advance(2000);
    expect(times).toEqual([0, 2000]);
    clock.advance(1000);
    expect(times).toEqual([0, 2000, 3000]);
    clock.advance(0);
    expect(times).toEqual([0, 2000, 3000]);
    lc.stop();
  });

  it('LoopingCall schedules the next interval still in the future after a slow call (test_callbackTimeSkips)', () => {
    const clock = new Clock();
    const times: number[] = [];
    let callDuration = 0;
    const lc = loopingCall(clock, () => {
      times.push(clock.now());
      clock.advance(callDuration);
    });
    callDuration = 2000;
    lc.start(500);
    expect(times).toEqual([0]);
    expect(clock.now()).toBe(2000);
    // A call at 2000 would be the present, not the future: it is skipped.
    clock.advance(0);
    expect(times).toEqual([0]);
    callDuration = 1000;
    clock.advance(500);
    expect(times).toEqual([0, 2500]);
    expect(clock.now()).toBe(3500);
    clock.advance(0);
    expect(times).toEqual([0, 2500]);
    callDuration = 0;
    clock.advance(500);
    expect(times).toEqual([0, 2500, 4000]);
    expect(clock.now()).toBe(4000);
    lc.stop();
  });

  it('LoopingCall.withCount() passes how many intervals elapsed since the last call (test_reactorTimeCountSkips)', () => {
    const clock = new Clock();
    const times: [number, number][] = [];
    const lc = LoopingCall.withCount((count: number) => {
      times.push([clock.now(), count]);
    });
    lc.clock = clock;
    const INTERVAL = 500;
    const REALISTIC_DELAY = 10;
    lc.start(INTERVAL);
    expect(times).toEqual([[0, 1]]);
    clock.advance(INTERVAL + REALISTIC_DELAY);
    expect(times).toEqual([
      [0, 1],
      [INTERVAL + REALISTIC_DELAY, 1],
    ]);
    clock.advance(3 * INTERVAL + REALISTIC_DELAY);
    expect(times).toEqual([
      [0, 1],
      [INTERVAL + REALISTIC_DELAY, 1],
      [4 * INTERVAL + 2 * REALISTIC_DELAY, 3],
    ]);
    clock.advance(0);
    expect(times.length).toBe(3);
    lc.stop();
  });

  it('LoopingCall.withCount() counts only whole intervals, not time since the last call (test_countLengthyIntervalCounts)', () => {
    const clock = new Clock();
    const times: [number, number][] = [];
    const lc = LoopingCall.withCount((count: number) => {
      times.push([clock.now(), count]);
    });
    lc.clock = clock;
    const INTERVAL = 500;
    const REALISTIC_DELAY = 10;
    lc.start(INTERVAL);
    expect(times.pop()).toEqual([0, 1]);
    clock.advance(INTERVAL + REALISTIC_DELAY);
    expect(times.pop()).toEqual([INTERVAL + REALISTIC_DELAY, 1]);
    clock.advance(INTERVAL * 1.75);
    expect(times.pop()).toEqual([2.75 * INTERVAL + REALISTIC_DELAY, 1]);
    clock.advance(INTERVAL * 0.25);
    expect(times.pop()).toEqual([3 * INTERVAL + REALISTIC_DELAY, 1]);
    lc.stop();
  });

  it('LoopingCall.withCount() never passes 0 and its counts add up to the elapsed intervals (test_withCountFloatingPointBoundary)', () => {
    const clock = new Clock();
    const accumulator: number[] = [];
    const lc = LoopingCall.withCount((count: number) => {
      accumulator.push(count);
    });
    lc.clock = clock;
    const count = 10;
    const timespan = 1;
    const interval = timespan / count;
    lc.start(interval, false);
    for (let i = 0; i < count; i++) clock.advance(interval);
    let total = 0;
    for (let i = 0; i < count; i++) total += interval;
    const epsilon = timespan - total;
    clock.advance(epsilon);
    expect(Math.abs(epsilon)).toBeGreaterThan(0);
    expect(clock.now()).toBeGreaterThanOrEqual(timespan);
    expect(accumulator.reduce((a, b) => a + b, 0)).toBe(count);
    expect(accumulator).not.toContain(0);
    lc.stop();
  });

  it('LoopingCall.withCount() with interval 0 always passes 1 (test_withCountIntervalZero)', () => {
    const clock = new Clock();
    const accumulator: number[] = [];
    const lc: LoopingCall = LoopingCall.withCount((cnt: number) => {
      accumulator.push(cnt);
      if (accumulator.length > 4) lc.stop();
    });
    lc.clock = clock;
    const d = lc.start(0, false);
    clock.pump([0, 0, 0, 0, 0]);
    expect(successResultOf(d)).toBe(lc);
    expect(accumulator).toEqual([1, 1, 1, 1, 1]);
  });

  it('LoopingCall.withCount() counts the intervals skipped while a returned Deferred was pending (test_deferredWithCount)', () => {
    const testClock = new Clock();
    const pending = new Deferred<any>();
    const deferredCounts: number[] = [];
    const lc = LoopingCall.withCount((possibleCount: number) => {
      deferredCounts.push(possibleCount);
      return deferredCounts.length === 1 ? pending : undefined;
    });
    lc.clock = testClock;
    lc.start(200, false);
    expect(deferredCounts).toEqual([]);
    testClock.pump([200, 400]);
    expect(deferredCounts.length).toBe(1);
    pending.callback(null);
    testClock.pump([200]);
    expect(deferredCounts).toEqual([1, 3]);
    lc.stop();
  });

  it('LoopingCall waits for a Deferred returned by the function before scheduling the next call', () => {
    const clock = new Clock();
    const pending = new Deferred<any>();
    let calls = 0;
    const lc = loopingCall(clock, () => {
      calls++;
      return calls === 1 ? pending : undefined;
    });
    lc.start(100);
    expect(calls).toBe(1);
    clock.pump([100, 100, 100, 100]);
    expect(calls).toBe(1);
    expect(clock.getDelayedCalls()).toEqual([]);
    pending.callback('ignored');
    expect(clock.getDelayedCalls().length).toBe(1);
    clock.advance(100);
    expect(calls).toBe(2);
    lc.stop();
  });

  it('LoopingCall stopped from a returned Deferred fires start() and schedules nothing more (testWaitDeferred)', () => {
    const clock = new Clock();
    let calls = 0;
    const lc = loopingCall(clock, () => {
      calls++;
      const d = new Deferred<any>();
      d.addCallback(() => lc.stop());
      clock.callLater(1000, (x: unknown) => d.callback(x), null);
      return d;
    });
    const started = lc.start(200);
    clock.pump([200, 800]);
    expect(calls).toBe(1);
    expect(clock.getDelayedCalls()).toEqual([]);
    expect(successResultOf(started)).toBe(lc);
  });

  it('LoopingCall.stop() while a returned Deferred is pending fires start() once that Deferred fires', () => {
    const clock = new Clock();
    const pending = new Deferred<any>();
    const lc = loopingCall(clock, () => pending);
    const started = lc.start(100);
    lc.stop();
    expect(lc.running).toBe(false);
    assertNoResult(started);
    pending.callback(null);
    expect(successResultOf(started)).toBe(lc);
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it('LoopingCall.stop() from inside the function fires start() after the function returns (testEveryIteration)', () => {
    const clock = new Clock();
    const ran: unknown[] = [];
    const lc: LoopingCall = loopingCall(clock, () => {
      ran.push(null);
      if (ran.length > 5) lc.stop();
    });
    const d = lc.start(0);
    for (let i = 0; i < 10 && ran.length < 6; i++) clock.advance(0);
    expect(ran.length).toBe(6);
    expect(successResultOf(d)).toBe(lc);
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it('LoopingCall stops and errbacks start() when the function throws (testFailure)', () => {
    const clock = new Clock();
    const lc = loopingCall(
      clock,
      (x: string) => {
        throw new TestException(x);
      },
      'bar',
    );
    const d = lc.start(100);
    const f = failureResultOf(d, TestException);
    expect(f.getErrorMessage()).toBe('bar');
    expect(lc.running).toBe(false);
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it('LoopingCall stops and errbacks start() when a later call throws', () => {
    const clock = new Clock();
    let calls = 0;
    const lc = loopingCall(clock, () => {
      calls++;
      if (calls === 3) throw new TestException('third');
    });
    const d = lc.start(100);
    clock.advance(100);
    assertNoResult(d);
    clock.advance(100);
    expect(failureResultOf(d, TestException).getErrorMessage()).toBe('third');
    expect(lc.running).toBe(false);
    clock.advance(1000);
    expect(calls).toBe(3);
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it('LoopingCall errbacks start() when the function stops the loop and then throws (testFailAndStop)', () => {
    const clock = new Clock();
    const lc: LoopingCall = loopingCall(
      clock,
      (x: string) => {
        lc.stop();
        throw new TestException(x);
      },
      'bar',
    );
    const d = lc.start(100);
    failureResultOf(d, TestException);
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it("LoopingCall stops and errbacks start() when the function's Deferred fails (testFailurePropagation)", () => {
    const clock = new Clock();
    const lc = loopingCall(clock, () => {
      const d = new Deferred<any>();
      clock.callLater(300, () => d.errback(new TestException()));
      return d;
    });
    const d = lc.start(1000);
    assertNoResult(d);
    clock.pump([300]);
    failureResultOf(d, TestException);
    expect(lc.running).toBe(false);
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it('LoopingCall.running is false before start(), true while running and false after stop()', () => {
    const clock = new Clock();
    const lc = loopingCall(clock, () => undefined);
    expect(lc.running).toBe(false);
    lc.start(10);
    expect(lc.running).toBe(true);
    lc.stop();
    expect(lc.running).toBe(false);
  });
});

// ---------------------------------------------------------------------------
// deferLater
// ---------------------------------------------------------------------------

describe('deferLater', () => {
  it('deferLater() fires with the result of the function after the delay, passing its arguments (test_callback)', () => {
    const results: unknown[][] = [];
    const flag = { token: 'flag' };
    const clock = new Clock();
    const d = deferLater(
      clock,
      3000,
      (foo: unknown, bar: unknown) => {
        results.push([foo, bar]);
        return flag;
      },
      'foo',
      'bar',
    );
    clock.advance(2000);
    expect(results).toEqual([]);
    assertNoResult(d);
    clock.advance(1000);
    expect(results).toEqual([['foo', 'bar']]);
    expect(successResultOf(d)).toBe(flag);
  });

  it('deferLater() fails with what the function throws (test_errback)', () => {
    const clock = new Clock();
    const d = deferLater(clock, 1000, () => {
      throw new TestException();
    });
    clock.advance(1000);
    failureResultOf(d, TestException);
  });

  it('deferLater() without a function fires with undefined after the delay (test_noCallback)', () => {
    const clock = new Clock();
    const d = deferLater(clock, 2000);
    assertNoResult(d);
    clock.advance(2000);
    expect(successResultOf(d)).toBeUndefined();
  });

  it('deferLater() cancelled fails with CancelledError, removes its delayed call and never calls the function (test_cancel)', () => {
    const called: unknown[] = [];
    const clock = new Clock();
    const d = deferLater(clock, 1000, (x: unknown) => called.push(x), null);
    expect(clock.getDelayedCalls().length).toBe(1);
    d.cancel();
    const f = failureResultOf(d, CancelledError);
    expect(f).toBeInstanceOf(Failure);
    expect(clock.getDelayedCalls()).toEqual([]);
    clock.advance(2000);
    expect(called).toEqual([]);
  });

  it('deferLater() follows a Deferred returned by the function', () => {
    const clock = new Clock();
    const inner = new Deferred<string>();
    const d = deferLater(clock, 10, () => inner);
    clock.advance(10);
    assertNoResult(d);
    inner.callback('inner result');
    expect(successResultOf(d)).toBe('inner result');
  });

  it('deferLater() works with Deferred.addTimeout() on the same clock', () => {
    const clock = new Clock();
    const d = deferLater(clock, 100, () => 'late');
    d.addTimeout(50, clock);
    clock.advance(50);
    failureResultOf(d, TimeoutError);
    expect(clock.getDelayedCalls()).toEqual([]);
    clock.advance(100);
  });
});
