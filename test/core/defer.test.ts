// Tests for the Deferred core (src/core/defer.ts), ported in large part from
// Twisted's src/twisted/test/test_defer.py, plus one case per semantic bullet
// of CORE-API.md ("Deferred", "Failure", "Helpers and errors").
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, it, expect } from 'vitest';
import {
  Deferred,
  Failure,
  succeed,
  fail,
  execute,
  maybeDeferred,
  ensureDeferred,
  DeferredList,
  gatherResults,
  race,
  DeferredLock,
  DeferredSemaphore,
  DeferredQueue,
  AlreadyCalledError,
  CancelledError,
  TimeoutError,
  FirstError,
  FailureGroup,
  AlreadyCancelledError,
  QueueOverflow,
  QueueUnderflow,
  setLogger,
} from 'wirecat';
import { Clock, successResultOf, failureResultOf, assertNoResult } from 'wirecat/testing';

class GenericError extends Error {
  constructor(message = 'generic') {
    super(message);
    this.name = 'GenericError';
  }
}

class SubGenericError extends GenericError {}

/** Lets pending promise reactions (and anything queued before) run. */
function flush(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** A canceller that fires the Deferred with a success, like Twisted's fakeCallbackCanceller. */
function fakeCallbackCanceller(d: Deferred<any>): void {
  d.callback('Callback Result');
}

/** Runs `fn` with the core logger replaced by one that records messages. */
function withCapturedLog<R>(fn: (messages: string[]) => R): R {
  const messages: string[] = [];
  const previous = setLogger((message: string) => {
    messages.push(message);
  });
  let result: R;
  try {
    result = fn(messages);
  } catch (e) {
    setLogger(previous);
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => setLogger(previous)) as R;
  }
  setLogger(previous);
  return result;
}

// ---------------------------------------------------------------------------
// Deferred: firing and the callback chain
// ---------------------------------------------------------------------------

describe('Deferred callbacks', () => {
  it('callback() runs callbacks synchronously, with no microtask in between', () => {
    const d = new Deferred<string>();
    const seen: unknown[] = [];
    d.addCallback((r: string) => {
      seen.push(r);
    });
    expect(seen).toEqual([]);
    d.callback('hello');
    expect(seen).toEqual(['hello']);
  });

  it('addCallback() on an already-fired Deferred runs the callback at once', () => {
    const d = succeed('success');
    const seen: unknown[] = [];
    d.addCallback((r: unknown) => {
      seen.push(r);
    });
    expect(seen).toEqual(['success']);
  });

  it('addCallback() passes extra arguments after the result', () => {
    const d = new Deferred<string>();
    const seen: unknown[][] = [];
    d.addCallback((...args: unknown[]) => {
      seen.push(args);
      return args[0];
    }, 'world', 42);
    d.callback('hello');
    expect(seen).toEqual([['hello', 'world', 42]]);
  });

  it('addErrback() passes extra arguments after the failure', () => {
    const d = new Deferred<string>();
    const seen: unknown[][] = [];
    d.addErrback((...args: unknown[]) => {
      seen.push(args);
    }, 'extra');
    const err = new GenericError('oops');
    d.errback(err);
    expect(seen.length).toBe(1);
    expect(seen[0]![0]).toBeInstanceOf(Failure);
    expect((seen[0]![0] as Failure).value).toBe(err);
    expect(seen[0]!.slice(1)).toEqual(['extra']);
  });

  it('addBoth() runs the same function on success and on failure, with arguments', () => {
    const seen: unknown[][] = [];
    const record = (...args: unknown[]) => {
      seen.push(args);
      return null;
    };
    succeed(1).addBoth(record, 'a');
    const f = new Failure(new GenericError('x'));
    fail(f).addBoth(record, 'b');
    expect(seen).toEqual([
      [1, 'a'],
      [f, 'b'],
    ]);
  });

  it('addCallbacks() passes callbackArgs and errbackArgs to the right function', () => {
    const seen: unknown[][] = [];
    const cb = (...args: unknown[]) => {
      seen.push(['cb', ...args]);
    };
    const eb = (...args: unknown[]) => {
      seen.push(['eb', ...args]);
    };
    succeed('ok').addCallbacks(cb, eb, { callbackArgs: [1, 2], errbackArgs: [3] });
    const f = new Failure(new GenericError('bad'));
    fail(f).addCallbacks(cb, eb, { callbackArgs: [1, 2], errbackArgs: [3] });
    expect(seen).toEqual([
      ['cb', 'ok', 1, 2],
      ['eb', f, 3],
    ]);
  });

  it('addCallbacks() without an errback passes a failure through', () => {
    const d = new Deferred<any>();
    const called: unknown[] = [];
    d.addCallbacks((r: unknown) => {
      called.push(r);
    });
    const error = new GenericError('oopsie');
    d.errback(error);
    expect(called).toEqual([]);
    expect(failureResultOf(d, GenericError).value).toBe(error);
  });

  it("addCallbacks() does not pass its own callback's throw to its errback", () => {
    const d = new Deferred<number>();
    const seen: string[] = [];
    d.addCallbacks(
      () => {
        seen.push('cb');
        throw new GenericError('from cb');
      },
      () => {
        seen.push('same-link eb');
      },
    );
    d.addErrback((f: Failure) => {
      seen.push(`next eb: ${f.getErrorMessage()}`);
    });
    d.callback(1);
    expect(seen).toEqual(['cb', 'next eb: from cb']);
  });

  it('addCallback() returns the Deferred itself', () => {
    const d = new Deferred<number>();
    expect(d.addCallback((x: number) => x)).toBe(d);
    expect(d.addErrback(() => 0)).toBe(d);
    expect(d.addBoth((x: unknown) => x)).toBe(d);
    expect(d.addCallbacks((x: unknown) => x)).toBe(d);
  });

  it("a callback's return value becomes the next callback's result", () => {
    const d = new Deferred<number>();
    d.addCallback((x: number) => x + 1).addCallback((x: number) => x * 10);
    d.callback(1);
    expect(successResultOf(d)).toBe(20);
  });

  it('two callbacks both see the chain result in order', () => {
    const d = new Deferred<string>();
    const order: string[] = [];
    d.addCallback((r: string) => {
      order.push(`1:${r}`);
      return r;
    });
    d.addCallback((r: string) => {
      order.push(`2:${r}`);
    });
    d.callback('hello');
    expect(order).toEqual(['1:hello', '2:hello']);
  });

  it('a callback that throws moves the chain to the error path', () => {
    const d = new Deferred<number>();
    const errors: Failure[] = [];
    const skipped: unknown[] = [];
    const boom = new RangeError('boom');
    d.addCallback(() => {
      throw boom;
    })
      .addCallback((r: unknown) => {
        skipped.push(r);
      })
      .addErrback((f: Failure) => {
        errors.push(f);
      });
    d.callback(1);
    expect(skipped).toEqual([]);
    expect(errors.length).toBe(1);
    expect(errors[0]).toBeInstanceOf(Failure);
    expect(errors[0]!.value).toBe(boom);
    expect(errors[0]!.type).toBe(RangeError);
  });

  it('a callback that returns a Failure moves the chain to the error path', () => {
    const d = new Deferred<number>();
    const rte = new GenericError('rte');
    const f = new Failure(rte);
    const seen: Failure[] = [];
    d.addCallback(() => f).addErrback((x: Failure) => {
      seen.push(x);
    });
    d.callback(6);
    expect(seen.length).toBe(1);
    expect(seen[0]).toBe(f);
  });

  it('a callback may return a Failure or a value (test_callbackMaybeReturnsFailure)', () => {
    let shouldFail = false;
    const rte = new GenericError('maybe');
    const maybeFail = (result: number) => (shouldFail ? new Failure(rte) : result + 1);
    const d1 = new Deferred<number>();
    d1.callback(6);
    expect(successResultOf(d1.addCallback(maybeFail))).toBe(7);
    shouldFail = true;
    const d2 = new Deferred<number>();
    d2.callback(6);
    expect(failureResultOf(d2.addCallback(maybeFail).addCallback(maybeFail), GenericError).value).toBe(rte);
  });

  it('an errback that returns a non-Failure value moves the chain back to the success path', () => {
    const d = new Deferred<number>();
    const seen: unknown[] = [];
    d.addErrback(() => 'recovered').addCallback((r: unknown) => {
      seen.push(r);
      return r;
    });
    d.errback(new GenericError());
    expect(seen).toEqual(['recovered']);
    expect(successResultOf(d)).toBe('recovered');
  });

  it('an errback that returns undefined recovers with undefined', () => {
    const d = fail(new GenericError());
    d.addErrback(() => undefined);
    expect(d.result).toBeUndefined();
    const seen: unknown[] = [];
    d.addCallback((r: unknown) => {
      seen.push(r);
    });
    expect(seen).toEqual([undefined]);
  });

  it('an errback that throws keeps the chain on the error path with the new error', () => {
    const d = new Deferred<number>();
    const second = new SubGenericError('second');
    d.addErrback(() => {
      throw second;
    });
    d.errback(new GenericError('first'));
    expect(failureResultOf(d, SubGenericError).value).toBe(second);
  });

  it('errback callbacks are skipped on the success path', () => {
    const d = new Deferred<number>();
    const seen: string[] = [];
    d.addErrback(() => {
      seen.push('eb');
    }).addCallback((r: number) => {
      seen.push(`cb:${r}`);
    });
    d.callback(3);
    expect(seen).toEqual(['cb:3']);
  });

  it('called is false until callback() or errback() runs, then true', () => {
    const d = new Deferred<number>();
    expect(d.called).toBe(false);
    d.callback(1);
    expect(d.called).toBe(true);
    const e = new Deferred<number>();
    e.errback(new GenericError());
    expect(e.called).toBe(true);
    e.addErrback(() => null);
  });

  it('result holds the current result, a Failure on the error path', () => {
    const d = new Deferred<number>();
    d.callback(5);
    expect(d.result).toBe(5);
    d.addCallback(() => {
      throw new GenericError('now failing');
    });
    expect(d.result).toBeInstanceOf(Failure);
    expect((d.result as Failure).value).toBeInstanceOf(GenericError);
    d.addErrback(() => 'fine');
    expect(d.result).toBe('fine');
  });

  it('succeed() matches a manually fired Deferred', () => {
    const d = new Deferred<string>();
    d.callback('success');
    const d2 = succeed('success');
    expect(d2).toBeInstanceOf(Deferred);
    expect(d2.called).toBe(d.called);
    expect(d2.result).toBe(d.result);
    expect(d2.paused).toBe(0);
  });
});

describe('Deferred firing twice and bad values', () => {
  it('callback() then callback() throws AlreadyCalledError', () => {
    const d = new Deferred<string>();
    d.addCallbacks(
      () => undefined,
      () => undefined,
    );
    d.callback('hello');
    expect(() => d.callback('twice')).toThrow(AlreadyCalledError);
  });

  it('callback() then errback() throws AlreadyCalledError', () => {
    const d = new Deferred<string>();
    d.callback('hello');
    expect(() => d.errback(new GenericError())).toThrow(AlreadyCalledError);
  });

  it('errback() then errback() throws AlreadyCalledError', () => {
    const d = new Deferred<string>();
    d.addErrback(() => undefined);
    d.errback(new GenericError());
    expect(() => d.errback(new GenericError())).toThrow(AlreadyCalledError);
  });

  it('errback() then callback() throws AlreadyCalledError', () => {
    const d = new Deferred<string>();
    d.addErrback(() => undefined);
    d.errback(new GenericError());
    expect(() => d.callback('x')).toThrow(AlreadyCalledError);
  });

  it('callback() with a Deferred as the value throws TypeError and leaves the Deferred unfired', () => {
    const d = new Deferred<any>();
    expect(() => d.callback(new Deferred())).toThrow(TypeError);
    expect(d.called).toBe(false);
    d.callback('ok');
    expect(successResultOf(d)).toBe('ok');
  });

  it('callback() with a Promise as the value throws TypeError', () => {
    const d = new Deferred<any>();
    expect(() => d.callback(Promise.resolve(1))).toThrow(TypeError);
    expect(d.called).toBe(false);
  });

  it('callback() with a non-Promise thenable as the value throws TypeError', () => {
    const d = new Deferred<any>();
    const thenable = { then(): void {} };
    expect(() => d.callback(thenable)).toThrow(TypeError);
    expect(d.called).toBe(false);
  });

  it('errback() with no argument fails with a generic Error', () => {
    const d = new Deferred<any>();
    d.errback();
    const f = failureResultOf(d);
    expect(f).toBeInstanceOf(Failure);
    expect(f.value).toBeInstanceOf(Error);
    expect(f.check(Error)).toBe(Error);
  });

  it('errback() wraps an Error in a Failure whose value is that Error', () => {
    const d = new Deferred<any>();
    const err = new GenericError('wrapped');
    d.errback(err);
    const f = failureResultOf(d, GenericError);
    expect(f.value).toBe(err);
    expect(f.type).toBe(GenericError);
  });

  it('errback() with a string wraps it in a Failure with that value and no type', () => {
    const d = new Deferred<any>();
    d.errback('just a string');
    const seen: Failure[] = [];
    d.addErrback((f: Failure) => {
      seen.push(f);
    });
    expect(seen.length).toBe(1);
    expect(seen[0]).toBeInstanceOf(Failure);
    expect(seen[0]!.value).toBe('just a string');
    expect(seen[0]!.type).toBeUndefined();
    expect(seen[0]!.getErrorMessage()).toBe('just a string');
  });

  it('errback() with a number or a plain object still takes the error path', () => {
    const d = new Deferred<any>();
    d.errback(42);
    const f = failureResultOf(d);
    expect(f.value).toBe(42);
    expect(f.type).toBeUndefined();
    expect(f.getErrorMessage()).toBe('42');

    const obj = { reason: 'object' };
    const e = new Deferred<any>();
    e.errback(obj);
    const g = failureResultOf(e);
    expect(g.value).toBe(obj);
    expect(g.type).toBe(Object);
  });

  it('errback() with a Failure uses that same Failure', () => {
    const d = new Deferred<any>();
    const f = new Failure(new GenericError('given'));
    d.errback(f);
    expect(failureResultOf(d, GenericError)).toBe(f);
  });

  it('callback() with a Failure takes the error path, as errback() would', () => {
    const d = new Deferred<any>();
    const f = new Failure(new GenericError('via callback'));
    const seen: string[] = [];
    d.addCallback(() => {
      seen.push('cb');
    });
    d.addErrback((x: Failure) => {
      seen.push('eb');
      return x;
    });
    d.callback(f);
    expect(seen).toEqual(['eb']);
    expect(failureResultOf(d, GenericError)).toBe(f);
  });

  it('a thrown Failure is not wrapped in a second Failure', () => {
    const d = new Deferred<any>();
    const inner = new GenericError('thrown failure');
    const f = new Failure(inner);
    d.addCallback(() => {
      throw f;
    });
    d.callback(1);
    const got = failureResultOf(d, GenericError);
    expect(got.value).toBe(inner);
    expect(got.value).not.toBeInstanceOf(Failure);
  });

  it('an errback that rethrows the Failure it got keeps that Failure unwrapped', () => {
    const d = new Deferred<any>();
    const inner = new GenericError('rethrown');
    d.addErrback((f: Failure) => {
      throw f;
    });
    d.errback(inner);
    const got = failureResultOf(d, GenericError);
    expect(got.value).toBe(inner);
  });
});

// ---------------------------------------------------------------------------
// Chaining: callbacks returning Deferreds and Promises
// ---------------------------------------------------------------------------

describe('Deferred chaining', () => {
  it('a callback returning an unfired Deferred pauses the chain until it fires (test_asynchronousImplicitChain)', () => {
    const first = new Deferred<any>();
    const second = new Deferred<any>();
    second.addCallback(() => first);
    second.callback(undefined);

    const firstResult: unknown[] = [];
    first.addCallback((r: unknown) => {
      firstResult.push(r);
    });
    const secondResult: unknown[] = [];
    second.addCallback((r: unknown) => {
      secondResult.push(r);
    });

    expect(firstResult).toEqual([]);
    expect(secondResult).toEqual([]);

    const result = { token: 'result' };
    first.callback(result);

    // The inner Deferred's result went to the outer chain; inner's own is undefined.
    expect(firstResult).toEqual([undefined]);
    expect(secondResult.length).toBe(1);
    expect(secondResult[0]).toBe(result);
  });

  it("a returned Deferred hands its result over and its own result becomes undefined", () => {
    const inner = new Deferred<string>();
    const outer = new Deferred<any>();
    outer.addCallback(() => inner);
    outer.callback(undefined);
    inner.callback('inner value');
    expect(inner.result).toBeUndefined();
    expect(outer.result).toBe('inner value');
  });

  it('a callback returning an already-fired Deferred hands its result over at once (test_synchronousImplicitChain)', () => {
    const result = { token: 'sync' };
    const first = succeed(result);
    const second = new Deferred<any>();
    second.addCallback(() => first);
    second.callback(undefined);

    const results: unknown[] = [];
    first.addCallback((r: unknown) => {
      results.push(r);
    });
    expect(results[0]).toBeUndefined();
    second.addCallback((r: unknown) => {
      results.push(r);
    });
    expect(results[1]).toBe(result);
  });

  it('a callback returning an already-failed Deferred takes its failure and leaves it undefined (test_synchronousImplicitErrorChain)', () => {
    const first = fail(new GenericError("First Deferred's Failure"));
    const second = new Deferred<any>();
    second.addCallback(() => first);
    second.callback(undefined);
    const firstResult: unknown[] = [];
    first.addCallback((r: unknown) => {
      firstResult.push(r);
    });
    expect(firstResult).toEqual([undefined]);
    failureResultOf(second, GenericError);
  });

  it('a returned Deferred that later fails moves the outer chain to the error path (test_asynchronousImplicitErrorChain)', () => {
    const first = new Deferred<any>();
    const second = new Deferred<any>();
    second.addCallback(() => first);
    second.callback(undefined);
    const secondError: Failure[] = [];
    second.addErrback((f: Failure) => {
      secondError.push(f);
    });
    const firstResult: unknown[] = [];
    first.addCallback((r: unknown) => {
      firstResult.push(r);
    });
    const secondResult: unknown[] = [];
    second.addCallback((r: unknown) => {
      secondResult.push(r);
    });

    expect(firstResult).toEqual([]);
    expect(secondResult).toEqual([]);

    first.errback(new GenericError("First Deferred's Failure"));
    expect(secondError.length).toBe(1);
    expect(secondError[0]!.check(GenericError)).toBe(GenericError);
    expect(firstResult).toEqual([undefined]);
    expect(secondResult.length).toBe(1);
  });

  it('an errback may return a Deferred just as a callback can (test_errbackReturnsDeferred)', () => {
    const d = new Deferred<any>();
    const d2 = new Deferred<string>();
    const values: unknown[] = [];
    d.addErrback(() => d2).addCallback((r: unknown) => {
      values.push(r);
    });
    d.errback(new RangeError());
    assertNoResult(d);
    expect(values).toEqual([]);
    d2.callback('result');
    expect(values).toEqual(['result']);
  });

  it('a returned Deferred that is paused holds the outer chain until unpaused (test_callbackReturnsDeferred)', () => {
    const d1 = new Deferred<number>();
    const d2 = new Deferred<number>();
    d2.pause();
    const seen: unknown[] = [];
    d1.addCallback(() => d2);
    d1.addCallback((r: unknown) => {
      seen.push(r);
    });
    d1.callback(1);
    expect(seen).toEqual([]);
    d2.callback(2);
    expect(seen).toEqual([]);
    d2.unpause();
    expect(seen).toEqual([2]);
  });

  it('a paused Deferred with a result returned from a callback waits for unpause (test_chainedPausedDeferredWithResult)', () => {
    const expected = { token: 'expected' };
    const paused = new Deferred<any>();
    paused.callback(expected);
    paused.pause();
    const chained = new Deferred<any>();
    chained.addCallback(() => paused);
    chained.callback(undefined);
    const result: unknown[] = [];
    chained.addCallback((r: unknown) => {
      result.push(r);
    });
    expect(result).toEqual([]);
    paused.unpause();
    expect(result).toEqual([expected]);
  });

  it('pausing the outer Deferred does not stop the inner one from running its callbacks (test_pausedDeferredChained)', () => {
    const first = new Deferred<any>();
    const second = new Deferred<any>();
    first.addCallback(() => second);
    first.callback(undefined);
    first.pause();
    second.callback(null);
    const result: unknown[] = [];
    second.addCallback((r: unknown) => {
      result.push(r);
    });
    expect(result).toEqual([undefined]);
  });

  it('chaining is transitive: C returned from B returned from A fires A (test_doubleAsynchronousImplicitChaining)', () => {
    const first = new Deferred<any>();
    const second = new Deferred<any>();
    second.addCallback(() => first);
    const third = new Deferred<any>();
    third.addCallback(() => second);
    const thirdResult: unknown[] = [];
    third.addCallback((r: unknown) => {
      thirdResult.push(r);
    });
    const result = { token: 'transitive' };
    second.callback(undefined);
    third.callback(undefined);
    expect(thirdResult).toEqual([]);
    first.callback(result);
    expect(thirdResult).toEqual([result]);
  });

  it('nested chained Deferreds continue the outer chain when the innermost fires (test_nestedAsynchronousChainedDeferreds)', () => {
    const results: unknown[] = [];
    const failures: Failure[] = [];
    const inner = new Deferred<string>();
    const cb = (result: string) => {
      results.push(['start-of-cb', result]);
      const d = succeed('inner');
      d.addCallback(() => {
        results.push(['firstCallback', 'inner']);
        return inner;
      }).addCallback((r: string) => {
        results.push(['secondCallback', r]);
        return r + r;
      });
      d.addErrback((f: Failure) => {
        failures.push(f);
      });
      return d;
    };
    const outer = succeed('outer')
      .addCallback(cb)
      .addCallback((r: unknown) => {
        results.push(r);
      });
    expect(results).toEqual([
      ['start-of-cb', 'outer'],
      ['firstCallback', 'inner'],
    ]);
    inner.callback('orange');
    inner.addErrback((f: Failure) => {
      failures.push(f);
    });
    outer.addErrback((f: Failure) => {
      failures.push(f);
    });
    expect(failures).toEqual([]);
    expect(results).toEqual([
      ['start-of-cb', 'outer'],
      ['firstCallback', 'inner'],
      ['secondCallback', 'orange'],
      'orangeorange',
    ]);
  });

  it('callbacks added to a returned Deferred before it is returned still run in order (test_nestedAsynchronousChainedDeferredsWithExtraCallbacks)', () => {
    const results: unknown[] = [];
    const failures: Failure[] = [];
    const inner = new Deferred<string>();
    const cb = (result: string) => {
      results.push(['start-of-cb', result]);
      const d = succeed('inner');
      return d
        .addCallback((r: string) => {
          results.push(['firstCallback', r]);
          return inner.addCallback((x: string) => [x]);
        })
        .addCallback((r: string[]) => {
          results.push(['secondCallback', r]);
          return [...r, ...r];
        })
        .addErrback((f: Failure) => {
          failures.push(f);
        });
    };
    const outer = succeed('outer');
    outer.addCallback(cb);
    outer.addCallback((r: unknown) => {
      results.push(r);
    });
    expect(results).toEqual([
      ['start-of-cb', 'outer'],
      ['firstCallback', 'inner'],
    ]);
    inner.callback('withers');
    outer.addErrback((f: Failure) => {
      failures.push(f);
    });
    inner.addErrback((f: Failure) => {
      failures.push(f);
    });
    expect(failures).toEqual([]);
    expect(results).toEqual([
      ['start-of-cb', 'outer'],
      ['firstCallback', 'inner'],
      ['secondCallback', ['withers']],
      ['withers', 'withers'],
    ]);
  });

  it("the middle Deferred's callbacks run after the innermost fires and before the outer gets a result (test_innerCallbacksPreserved)", () => {
    const results: unknown[] = [];
    const failures: Failure[] = [];
    const inner = new Deferred<string>();
    const cb = (result: string) => {
      results.push(['start-of-cb', result]);
      const d = succeed('inner');
      d.addCallback(() => {
        results.push(['firstCallback', 'inner']);
        return inner;
      }).addCallback((r: string) => {
        results.push(['secondCallback', r]);
        return r + r;
      });
      d.addErrback((f: Failure) => {
        failures.push(f);
      });
      return d;
    };
    const outer = succeed('outer');
    outer.addCallback(cb);
    inner.callback('orange');
    outer.addCallback((r: unknown) => {
      results.push(r);
    });
    inner.addErrback((f: Failure) => {
      failures.push(f);
    });
    outer.addErrback((f: Failure) => {
      failures.push(f);
    });
    expect(failures).toEqual([]);
    expect(results).toEqual([
      ['start-of-cb', 'outer'],
      ['firstCallback', 'inner'],
      ['secondCallback', 'orange'],
      'orangeorange',
    ]);
  });

  it('the continue step of a waiting Deferred need not be its first callback (test_continueCallbackNotFirst)', () => {
    const results: unknown[] = [];
    const failures: Failure[] = [];
    const a = new Deferred<string>();
    const cb = (result: string) => {
      results.push(['cb', result]);
      const d = new Deferred<any>();
      const returner = d
        .addCallback((r: unknown) => {
          results.push(['firstCallback', r]);
          return gatherResults([a]);
        })
        .addCallback((r: unknown) => {
          results.push(['secondCallback', r]);
        })
        .addErrback((f: Failure) => {
          failures.push(f);
        });
      d.callback(null);
      return returner;
    };
    succeed('outer')
      .addCallback(cb)
      .addErrback((f: Failure) => {
        failures.push(f);
      });
    expect(results).toEqual([
      ['cb', 'outer'],
      ['firstCallback', null],
    ]);
    a.callback('withers');
    expect(failures).toEqual([]);
    expect(results).toEqual([
      ['cb', 'outer'],
      ['firstCallback', null],
      ['secondCallback', ['withers']],
    ]);
  });

  it('a callback added after a chaining callback runs after the inner chain (test_callbackOrderPreserved)', () => {
    const results: unknown[] = [];
    const failures: Failure[] = [];
    const a = new Deferred<string>();
    const cb = (result: string) => {
      results.push(['cb', result]);
      const d = new Deferred<any>();
      const returner = d
        .addCallback((r: unknown) => {
          results.push(['firstCallback', r]);
          return gatherResults([a]);
        })
        .addCallback((r: unknown) => {
          results.push(['secondCallback', r]);
        })
        .addErrback((f: Failure) => {
          failures.push(f);
        });
      d.callback(null);
      return returner;
    };
    const outer = new Deferred<string>();
    outer.addCallback(cb);
    outer.addCallback(() => {
      results.push(['final', null]);
    });
    outer.addErrback((f: Failure) => {
      failures.push(f);
    });
    outer.callback('outer');
    expect(results).toEqual([
      ['cb', 'outer'],
      ['firstCallback', null],
    ]);
    a.callback('withers');
    expect(failures).toEqual([]);
    expect(results).toEqual([
      ['cb', 'outer'],
      ['firstCallback', null],
      ['secondCallback', ['withers']],
      ['final', null],
    ]);
  });

  it('callbacks added to a middle Deferred after chaining run once the last fires (test_resultOfDeferredResultOfDeferredOfFiredDeferredCalled)', () => {
    const first = new Deferred<any>();
    const second = new Deferred<any>();
    const third = new Deferred<any>();
    first.addCallback(() => second);
    second.addCallback(() => third);
    second.callback(undefined);
    first.callback(undefined);
    third.callback(null);
    const results: unknown[] = [];
    second.addCallback((r: unknown) => {
      results.push(r);
    });
    expect(results).toEqual([undefined]);
  });

  it('a callback added by a running callback is appended to the end of the chain (test_reentrantRunCallbacks)', () => {
    const d = new Deferred<any>();
    const called: number[] = [];
    d.addCallback(() => {
      called.push(1);
      d.addCallback(() => {
        called.push(3);
      });
    });
    d.addCallback(() => {
      called.push(2);
    });
    d.callback(null);
    expect(called).toEqual([1, 2, 3]);
  });

  it('a callback added by a running callback does not run until that callback returns (test_nonReentrantCallbacks)', () => {
    const d = new Deferred<any>();
    const called: number[] = [];
    let seenInside: number[] | undefined;
    d.addCallback(() => {
      called.push(1);
      d.addCallback(() => {
        called.push(2);
      });
      seenInside = [...called];
    });
    d.callback(null);
    expect(seenInside).toEqual([1]);
    expect(called).toEqual([1, 2]);
  });

  it('a throw from a callback added by a callback reaches the next errback (test_reentrantRunCallbacksWithFailure)', () => {
    const d = new Deferred<any>();
    d.addCallback(() => {
      d.addCallback(() => {
        throw new GenericError('callback raised exception');
      });
    });
    d.callback(null);
    expect(failureResultOf(d, GenericError).getErrorMessage()).toBe('callback raised exception');
  });

  it('a callback that returns its own Deferred fails the chain instead of hanging or throwing out of callback()', () => {
    const d = new Deferred<string>();
    d.addCallback(() => d);
    expect(() => d.callback('foo')).not.toThrow();
    const f = failureResultOf(d);
    expect(f).toBeInstanceOf(Failure);
  });

  it('a callback returning a Promise pauses the chain until it resolves', async () => {
    const d = new Deferred<number>();
    const seen: unknown[] = [];
    let resolve!: (v: number) => void;
    const p = new Promise<number>((r) => {
      resolve = r;
    });
    d.addCallback(() => p).addCallback((r: unknown) => {
      seen.push(r);
      return r;
    });
    d.callback(0);
    assertNoResult(d);
    expect(seen).toEqual([]);
    resolve(7);
    await flush();
    expect(seen).toEqual([7]);
    expect(successResultOf(d)).toBe(7);
  });

  it('a callback returning a rejected Promise enters the error path with the rejection reason', async () => {
    const d = new Deferred<number>();
    const reason = new GenericError('rejected');
    const skipped: unknown[] = [];
    d.addCallback(() => Promise.reject(reason)).addCallback((r: unknown) => {
      skipped.push(r);
    });
    d.callback(0);
    assertNoResult(d);
    await flush();
    expect(skipped).toEqual([]);
    expect(failureResultOf(d, GenericError).value).toBe(reason);
  });

  it('cancel() of a Deferred waiting on a Promise from a callback fails it with CancelledError and ignores the settlement', async () => {
    const d = new Deferred<number>();
    let resolve!: (v: number) => void;
    const p = new Promise<number>((r) => {
      resolve = r;
    });
    d.addCallback(() => p);
    d.callback(0);
    assertNoResult(d);
    d.cancel();
    failureResultOf(d, CancelledError);
    resolve(5);
    await flush();
    expect(d.result).toBeUndefined();
  });

  it('a callback returning a non-Promise thenable pauses the chain until it settles', async () => {
    const d = new Deferred<number>();
    let settle!: (v: string) => void;
    const thenable: PromiseLike<string> = {
      then(onFulfilled?: any) {
        settle = (v: string) => onFulfilled(v);
        return undefined as any;
      },
    };
    d.addCallback(() => thenable);
    d.callback(0);
    assertNoResult(d);
    await flush();
    assertNoResult(d);
    settle('from thenable');
    await flush();
    expect(successResultOf(d)).toBe('from thenable');
  });

  it('chainDeferred() makes the other Deferred fire with this one\u2019s result and returns this', () => {
    const d1 = new Deferred<string>();
    const d2 = new Deferred<string>();
    expect(d1.chainDeferred(d2)).toBe(d1);
    d1.callback('shared');
    expect(successResultOf(d2)).toBe('shared');
    // As in Twisted, d1's chain ends in d2.callback, which returns nothing.
    expect(d1.result).toBeUndefined();
  });

  it('chainDeferred() passes failures to the other Deferred', () => {
    const d1 = new Deferred<string>();
    const d2 = new Deferred<string>();
    d1.chainDeferred(d2);
    const err = new GenericError('chained failure');
    d1.errback(err);
    expect(failureResultOf(d2, GenericError).value).toBe(err);
  });
});

// ---------------------------------------------------------------------------
// Stack depth
// ---------------------------------------------------------------------------

describe('Deferred stack depth', () => {
  it('100,000 Deferreds each returned from the previous one\u2019s callback fire without overflowing the stack', () => {
    const N = 100_000;
    const top = new Deferred<any>();
    const inners: Deferred<any>[] = [];
    for (let i = 0; i < N; i++) inners.push(new Deferred<any>());
    const last = new Deferred<any>();
    top.addCallback(() => inners[0]);
    for (let i = 0; i < N - 1; i++) {
      const next = inners[i + 1]!;
      inners[i]!.addCallback(() => next);
    }
    inners[N - 1]!.addCallback(() => last);
    const results: unknown[] = [];
    top.addCallback((r: unknown) => {
      results.push(r);
    });

    top.callback(null);
    for (const inner of inners) inner.callback(null);
    expect(results).toEqual([]);

    last.callback('end of the chain');
    expect(results).toEqual(['end of the chain']);
    expect(inners[0]!.result).toBeUndefined();
  });

  it('100,000 chained Deferreds fired innermost-first carry a failure to the top without overflowing the stack', () => {
    const N = 100_000;
    const ds: Deferred<any>[] = [];
    for (let i = 0; i < N; i++) ds.push(new Deferred<any>());
    // Fire from the inside out: each one waits on the next, which is itself waiting.
    const last = new Deferred<any>();
    ds[N - 1]!.addCallback(() => last);
    ds[N - 1]!.callback(null);
    for (let i = N - 2; i >= 0; i--) {
      const next = ds[i + 1]!;
      ds[i]!.addCallback(() => next);
      ds[i]!.callback(null);
    }
    const failures: Failure[] = [];
    ds[0]!.addErrback((f: Failure) => {
      failures.push(f);
    });
    expect(failures).toEqual([]);
    last.errback(new GenericError('deep failure'));
    expect(failures.length).toBe(1);
    expect(failures[0]!.getErrorMessage()).toBe('deep failure');
  });

  it('100,000 callbacks on one Deferred run without overflowing the stack', () => {
    const N = 100_000;
    const d = new Deferred<number>();
    for (let i = 0; i < N; i++) d.addCallback((x: number) => x + 1);
    d.callback(0);
    expect(successResultOf(d)).toBe(N);
  });

  it('100,000 callbacks each returning an already-fired Deferred run without overflowing the stack', () => {
    const N = 100_000;
    const d = new Deferred<number>();
    for (let i = 0; i < N; i++) d.addCallback((x: number) => succeed(x + 1));
    d.callback(0);
    expect(successResultOf(d)).toBe(N);
  });

  it('callbacks at the end of a chain run at the same stack depth however many Deferreds are chained (test_boundedStackDepth)', () => {
    const chainDeferreds = (howMany: number): number => {
      const stack: number[] = [];
      const top = new Deferred<any>();
      const inners: Deferred<any>[] = [];
      for (let i = 0; i < howMany; i++) inners.push(new Deferred<any>());
      const last = new Deferred<any>();
      top.addCallback(() => inners[0]);
      top.addCallback(() => {
        stack.push((new Error().stack ?? '').split('\n').length);
      });
      for (let i = 0; i < howMany - 1; i++) {
        const next = inners[i + 1]!;
        inners[i]!.addCallback(() => next);
      }
      inners[howMany - 1]!.addCallback(() => last);
      top.callback(null);
      for (const inner of inners) inner.callback(null);
      expect(stack).toEqual([]);
      last.callback(null);
      return stack[0]!;
    };
    const saved = Error.stackTraceLimit;
    Error.stackTraceLimit = Infinity;
    try {
      const one = chainDeferreds(1);
      const two = chainDeferreds(2);
      const many = chainDeferreds(50);
      expect(two).toBe(one);
      expect(many).toBe(one);
    } finally {
      Error.stackTraceLimit = saved;
    }
  });
});

// ---------------------------------------------------------------------------
// pause / unpause
// ---------------------------------------------------------------------------

describe('Deferred pause and unpause', () => {
  it('pause() nests: callbacks run only at the final unpause()', () => {
    const d = new Deferred<number>();
    const seen: unknown[] = [];
    d.pause();
    d.pause();
    expect(d.paused).toBe(2);
    d.addCallback((r: number) => {
      seen.push(r);
    });
    d.callback(1);
    expect(seen).toEqual([]);
    d.unpause();
    expect(d.paused).toBe(1);
    expect(seen).toEqual([]);
    d.unpause();
    expect(d.paused).toBe(0);
    expect(seen).toEqual([1]);
  });

  it('callbacks added while a fired Deferred is paused run at unpause() (testPausedFailure)', () => {
    const d = fail(new GenericError('fail'));
    d.pause();
    const l: Failure[] = [];
    d.addErrback((f: Failure) => {
      l.push(f);
    });
    expect(l).toEqual([]);
    d.unpause();
    expect(l.length).toBe(1);
    expect(l[0]!.getErrorMessage()).toBe('fail');
  });

  it('unpause() before callback() leaves the callbacks to run at callback() (testUnpauseBeforeCallback)', () => {
    const d = new Deferred<number>();
    const seen: unknown[] = [];
    d.pause();
    d.addCallback((r: number) => {
      seen.push(r);
    });
    d.unpause();
    expect(seen).toEqual([]);
    d.callback(9);
    expect(seen).toEqual([9]);
  });

  it('a callback added during a paused chain runs after the earlier ones at unpause()', () => {
    const d = new Deferred<number>();
    const order: string[] = [];
    d.addCallback((r: number) => {
      order.push('first');
      return r;
    });
    d.pause();
    d.callback(1);
    d.addCallback(() => {
      order.push('second');
    });
    expect(order).toEqual([]);
    d.unpause();
    expect(order).toEqual(['first', 'second']);
  });
});

// ---------------------------------------------------------------------------
// cancel
// ---------------------------------------------------------------------------

describe('Deferred cancel', () => {
  it('cancel() without a canceller errbacks with CancelledError and does not call back (test_noCanceller)', () => {
    const d = new Deferred<any>();
    const cb: unknown[] = [];
    const eb: Failure[] = [];
    d.addCallbacks(
      (r: unknown) => {
        cb.push(r);
      },
      (f: Failure) => {
        eb.push(f);
      },
    );
    d.cancel();
    expect(cb).toEqual([]);
    expect(eb.length).toBe(1);
    expect(eb[0]!.type).toBe(CancelledError);
    expect(eb[0]!.value).toBeInstanceOf(CancelledError);
  });

  it('cancel() without a canceller lets one late callback() through silently, then throws AlreadyCalledError', () => {
    const d = new Deferred<any>();
    d.addErrback(() => null);
    d.cancel();
    expect(() => d.callback(null)).not.toThrow();
    expect(() => d.callback(null)).toThrow(AlreadyCalledError);
    expect(() => d.errback(new GenericError())).toThrow(AlreadyCalledError);
  });

  it('cancel() without a canceller lets one late errback() through silently, then throws AlreadyCalledError', () => {
    const d = new Deferred<any>();
    const eb: Failure[] = [];
    d.addErrback((f: Failure) => {
      eb.push(f);
    });
    d.cancel();
    expect(() => d.errback(new GenericError('late'))).not.toThrow();
    // The ignored errback did not replace the CancelledError.
    expect(eb.length).toBe(1);
    expect(eb[0]!.type).toBe(CancelledError);
    expect(() => d.callback(null)).toThrow(AlreadyCalledError);
    expect(() => d.errback(new GenericError())).toThrow(AlreadyCalledError);
  });

  it('cancel() repeated on a Deferred without a canceller is a no-op after the first (test_noCancellerMultipleCancel)', () => {
    const d = new Deferred<any>();
    const eb: Failure[] = [];
    d.addErrback((f: Failure) => {
      eb.push(f);
      return f;
    });
    d.cancel();
    const firstFailure = d.result;
    expect(() => d.cancel()).not.toThrow();
    d.callback(null); // swallowed once
    expect(() => d.cancel()).not.toThrow();
    expect(eb.length).toBe(1);
    expect(d.result).toBe(firstFailure);
    failureResultOf(d, CancelledError);
  });

  it('cancel() calls the canceller once, with the Deferred, and errbacks CancelledError if it did not fire it', () => {
    const calls: unknown[] = [];
    const d: Deferred<any> = new Deferred<any>((x) => {
      calls.push(x);
    });
    const eb: Failure[] = [];
    d.addErrback((f: Failure) => {
      eb.push(f);
      return f;
    });
    d.cancel();
    expect(calls).toEqual([d]);
    expect(eb.length).toBe(1);
    expect(eb[0]!.type).toBe(CancelledError);
    d.cancel();
    expect(calls.length).toBe(1);
    expect(eb.length).toBe(1);
    failureResultOf(d, CancelledError);
  });

  it('cancel() with a canceller does not swallow a later callback(): it throws AlreadyCalledError (test_simpleCanceller)', () => {
    const d = new Deferred<any>(() => undefined);
    d.addErrback(() => null);
    d.cancel();
    expect(() => d.callback(null)).toThrow(AlreadyCalledError);
    expect(() => d.errback(new GenericError())).toThrow(AlreadyCalledError);
  });

  it('cancel() with a canceller that errbacks uses that failure, not CancelledError (test_cancellerThatErrbacks)', () => {
    let count = 0;
    const d = new Deferred<any>((x) => {
      count++;
      x.errback(new GenericError('from canceller'));
    });
    d.cancel();
    expect(count).toBe(1);
    expect(failureResultOf(d, GenericError).getErrorMessage()).toBe('from canceller');
  });

  it('cancel() with a canceller that calls back leaves a success result (test_cancellerThatCallbacks)', () => {
    let count = 0;
    const d = new Deferred<any>((x) => {
      count++;
      x.callback('hello!');
    });
    const eb: Failure[] = [];
    d.addErrback((f: Failure) => {
      eb.push(f);
    });
    d.cancel();
    expect(count).toBe(1);
    expect(eb).toEqual([]);
    expect(successResultOf(d)).toBe('hello!');
  });

  it('cancel() after callback() is a no-op and does not call the canceller (test_cancelAfterCallback)', () => {
    let count = 0;
    const d = new Deferred<string>((x) => {
      count++;
      x.errback(new GenericError());
    });
    d.callback('biff!');
    d.cancel();
    expect(count).toBe(0);
    expect(successResultOf(d)).toBe('biff!');
  });

  it('cancel() after errback() is a no-op and keeps the original failure (test_cancelAfterErrback)', () => {
    let count = 0;
    const d = new Deferred<any>((x) => {
      count++;
      x.errback(new GenericError());
    });
    d.errback(new SubGenericError('original'));
    d.cancel();
    expect(count).toBe(0);
    expect(failureResultOf(d, SubGenericError).getErrorMessage()).toBe('original');
  });

  it('cancel() on a Deferred waiting on a chained inner Deferred forwards the cancel to it (test_cancelNestedDeferred)', () => {
    let innerCancels = 0;
    let outerCancels = 0;
    const b = new Deferred<any>(() => {
      innerCancels++;
    });
    const a = new Deferred<any>(() => {
      outerCancels++;
    });
    a.callback(null);
    a.addCallback(() => b);
    a.cancel();
    const eb: Failure[] = [];
    a.addErrback((f: Failure) => {
      eb.push(f);
    });
    expect(outerCancels).toBe(0);
    expect(innerCancels).toBe(1);
    expect(eb.length).toBe(1);
    expect(eb[0]!.type).toBe(CancelledError);
  });

  it('cancel() forwarding reaches a Deferred two chain links away', () => {
    let innermostCancels = 0;
    const innermost = new Deferred<any>(() => {
      innermostCancels++;
    });
    const middle = new Deferred<any>();
    middle.addCallback(() => innermost);
    middle.callback(null);
    const outer = new Deferred<any>();
    outer.addCallback(() => middle);
    outer.callback(null);
    outer.cancel();
    expect(innermostCancels).toBe(1);
    failureResultOf(outer, CancelledError);
  });

  it('cancel() on a fired Deferred that is not waiting on another does nothing', () => {
    const d = succeed('done');
    d.cancel();
    expect(successResultOf(d)).toBe('done');
  });

  it('cancel() before firing sets called', () => {
    const d = new Deferred<any>();
    d.cancel();
    expect(d.called).toBe(true);
    failureResultOf(d, CancelledError);
  });
});

// ---------------------------------------------------------------------------
// addTimeout
// ---------------------------------------------------------------------------

describe('Deferred.addTimeout', () => {
  const overrideFunc = () => 'OVERRIDDEN';

  it('addTimeout() returns the Deferred so it can be chained (test_timeoutChainable)', () => {
    const d = new Deferred<any>();
    expect(d.addTimeout(5, new Clock())).toBe(d);
    d.addCallback(() => 'done');
    d.callback(null);
    expect(successResultOf(d)).toBe('done');
  });

  it('addTimeout() fails with TimeoutError once the clock passes the deadline', () => {
    const clock = new Clock();
    const d = new Deferred<any>();
    d.addTimeout(10, clock);
    assertNoResult(d);
    clock.advance(9);
    assertNoResult(d);
    clock.advance(1);
    const f = failureResultOf(d, TimeoutError);
    expect(f.value).toBeInstanceOf(TimeoutError);
    expect(f.check(CancelledError)).toBeUndefined();
  });

  it('addTimeout() cancels its timer when the result reaches it before the deadline', () => {
    const clock = new Clock();
    const d = new Deferred<string>();
    d.addTimeout(10, clock);
    expect(clock.getDelayedCalls().length).toBe(1);
    d.callback('in time');
    expect(clock.getDelayedCalls()).toEqual([]);
    clock.advance(15);
    expect(successResultOf(d)).toBe('in time');
  });

  it('addTimeout() passes a failure that arrives before the deadline through unchanged and cancels its timer', () => {
    const clock = new Clock();
    const d = new Deferred<any>();
    d.addTimeout(10, clock);
    const error = new RangeError('fail');
    d.errback(error);
    expect(clock.getDelayedCalls()).toEqual([]);
    clock.advance(15);
    expect(failureResultOf(d, RangeError).value).toBe(error);
  });

  it('addTimeout() does not cancel a Deferred returned by a callback added after it (test_successResultBeforeTimeout)', () => {
    const clock = new Clock();
    const d = new Deferred<string>();
    d.addTimeout(10, clock);
    let innerCancels = 0;
    const innerDeferred = new Deferred<any>(() => {
      innerCancels++;
    });
    let callbacked: string | undefined;
    d.addCallback((r: string) => {
      callbacked = r;
      return innerDeferred;
    });
    d.callback('results');
    expect(callbacked).toBe('results');
    clock.advance(15);
    expect(innerCancels).toBe(0);
    assertNoResult(innerDeferred);
  });

  it('addTimeout() does not cancel a Deferred returned by an errback added after it (test_failureBeforeTimeout)', () => {
    const clock = new Clock();
    const d = new Deferred<any>();
    d.addTimeout(10, clock);
    const innerDeferred = new Deferred<any>();
    let errbacked: Failure | undefined;
    const error = new RangeError('fail');
    d.addErrback((f: Failure) => {
      errbacked = f;
      return innerDeferred;
    });
    d.errback(error);
    expect(errbacked).toBeInstanceOf(Failure);
    expect(errbacked!.value).toBe(error);
    clock.advance(15);
    assertNoResult(innerDeferred);
  });

  it('addTimeout() keeps running while an earlier callback waits on a returned Deferred, then cancels it', () => {
    const clock = new Clock();
    let innerCancels = 0;
    const inner = new Deferred<any>(() => {
      innerCancels++;
    });
    const d = new Deferred<any>();
    d.addCallback(() => inner);
    d.addTimeout(10, clock);
    d.callback('start');
    // The result has not reached the addTimeout point yet: the timer stays.
    expect(clock.getDelayedCalls().length).toBe(1);
    expect(clock.getDelayedCalls()[0]!.active()).toBe(true);
    clock.advance(10);
    expect(innerCancels).toBe(1);
    failureResultOf(d, TimeoutError);
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it('addTimeout() stops its timer once an earlier callback\u2019s returned Deferred fires in time', () => {
    const clock = new Clock();
    const inner = new Deferred<any>();
    const d = new Deferred<any>();
    d.addCallback(() => inner);
    d.addTimeout(10, clock);
    d.callback('start');
    clock.advance(5);
    inner.callback('inner done');
    expect(clock.getDelayedCalls()).toEqual([]);
    clock.advance(10);
    expect(successResultOf(d)).toBe('inner done');
  });

  it('addTimeout() errbacks earlier errbacks with CancelledError and turns it into TimeoutError (test_errbackAddedBeforeTimeout)', () => {
    const clock = new Clock();
    const d = new Deferred<any>();
    let seen: Failure | undefined;
    d.addErrback((f: Failure) => {
      seen = f;
      return f;
    });
    d.addTimeout(10, clock);
    clock.advance(15);
    expect(seen).toBeInstanceOf(Failure);
    expect(seen!.value).toBeInstanceOf(CancelledError);
    failureResultOf(d, TimeoutError);
  });

  it('addTimeout() lets an earlier errback suppress the cancellation (test_errbackAddedBeforeTimeoutSuppressesCancellation)', () => {
    const clock = new Clock();
    const d = new Deferred<any>();
    let seen: Failure | undefined;
    d.addErrback((f: Failure) => {
      seen = f;
      f.trap(CancelledError);
      return undefined;
    });
    d.addTimeout(10, clock);
    clock.advance(15);
    expect(seen!.value).toBeInstanceOf(CancelledError);
    expect(successResultOf(d)).toBeUndefined();
  });

  it('addTimeout() gives callbacks added after it a TimeoutError, not a CancelledError', () => {
    const clock = new Clock();
    const d = new Deferred<any>();
    d.addTimeout(10, clock);
    const seen: Failure[] = [];
    d.addErrback((f: Failure) => {
      seen.push(f);
    });
    clock.advance(10);
    expect(seen.length).toBe(1);
    expect(seen[0]!.check(TimeoutError)).toBe(TimeoutError);
    expect(seen[0]!.check(CancelledError)).toBeUndefined();
  });

  it('addTimeout() with a canceller that calls back gives that success, not TimeoutError (test_timedOutProvidedCancelSuccess)', () => {
    const clock = new Clock();
    const d = new Deferred<string>((c) => c.callback('I was cancelled!'));
    d.addTimeout(10, clock);
    assertNoResult(d);
    clock.advance(15);
    expect(successResultOf(d)).toBe('I was cancelled!');
  });

  it('addTimeout() with a canceller that errbacks keeps that failure (test_timedOutProvidedCancelFailure)', () => {
    const clock = new Clock();
    const error = new RangeError('what!');
    const d = new Deferred<any>((c) => c.errback(error));
    d.addTimeout(10, clock);
    assertNoResult(d);
    clock.advance(15);
    expect(failureResultOf(d, RangeError).value).toBe(error);
  });

  it('addTimeout() after a manual cancel() keeps the CancelledError and never re-cancels (test_cancelBeforeTimeout)', () => {
    const clock = new Clock();
    const d = new Deferred<any>();
    d.addTimeout(10, clock);
    let innerCancels = 0;
    const innerDeferred = new Deferred<any>(() => {
      innerCancels++;
    });
    let cancelled: Failure | undefined;
    d.addErrback((f: Failure) => {
      cancelled = f;
      return innerDeferred;
    });
    d.cancel();
    expect(cancelled).toBeInstanceOf(Failure);
    expect(cancelled!.type).toBe(CancelledError);
    clock.advance(15);
    expect(innerCancels).toBe(0);
    assertNoResult(innerDeferred);
  });

  it('addTimeout() calls onTimeoutCancel with the cancellation result and the timeout, and uses its return value', () => {
    const clock = new Clock();
    const d = new Deferred<any>();
    const calls: unknown[][] = [];
    d.addTimeout(10, clock, (result: unknown, ms: number) => {
      calls.push([result, ms]);
      return 'OVERRIDDEN';
    });
    assertNoResult(d);
    clock.advance(15);
    expect(calls.length).toBe(1);
    expect(calls[0]![0]).toBeInstanceOf(Failure);
    expect((calls[0]![0] as Failure).value).toBeInstanceOf(CancelledError);
    expect(calls[0]![1]).toBe(10);
    expect(successResultOf(d)).toBe('OVERRIDDEN');
  });

  it('addTimeout() does not call onTimeoutCancel when the result arrives in time (test_successResultBeforeTimeoutCustom)', () => {
    const clock = new Clock();
    const d = new Deferred<string>();
    let calls = 0;
    d.addTimeout(10, clock, () => {
      calls++;
      return 'OVERRIDDEN';
    });
    d.callback('results');
    clock.advance(15);
    expect(calls).toBe(0);
    expect(successResultOf(d)).toBe('results');
  });

  it('addTimeout() does not call onTimeoutCancel on a manual cancel() (test_cancelBeforeTimeoutCustom)', () => {
    const clock = new Clock();
    const d = new Deferred<any>();
    let calls = 0;
    d.addTimeout(10, clock, () => {
      calls++;
      return 'OVERRIDDEN';
    });
    d.cancel();
    clock.advance(15);
    expect(calls).toBe(0);
    failureResultOf(d, CancelledError);
  });

  it('addTimeout() lets onTimeoutCancel override a canceller\u2019s failure (test_providedCancelCalledBeforeTimeoutCustom)', () => {
    const clock = new Clock();
    const d = new Deferred<any>((c) => c.errback(new RangeError('what!')));
    d.addTimeout(10, clock, overrideFunc);
    clock.advance(15);
    expect(successResultOf(d)).toBe('OVERRIDDEN');
  });

  it('addTimeout() runs onTimeoutCancel even when an earlier errback recovered (test_errbackAddedBeforeTimeoutSuppressesCancellationCustom)', () => {
    const clock = new Clock();
    const d = new Deferred<any>();
    let seen: Failure | undefined;
    d.addErrback((f: Failure) => {
      seen = f;
    });
    d.addTimeout(10, clock, overrideFunc);
    clock.advance(15);
    expect(seen!.value).toBeInstanceOf(CancelledError);
    expect(successResultOf(d)).toBe('OVERRIDDEN');
  });

  it('addTimeout() with a canceller that resumes the chain runs earlier callbacks (test_callbackAddedToCancelerBeforeTimeout)', () => {
    const clock = new Clock();
    const d = new Deferred<string>((x) => x.callback('success'));
    let seen: string | undefined;
    d.addCallback((v: string) => {
      seen = v;
      return v;
    });
    d.addTimeout(10, clock);
    clock.advance(15);
    expect(seen).toBe('success');
    expect(successResultOf(d)).toBe('success');
  });
});

// ---------------------------------------------------------------------------
// Awaiting and Promises
// ---------------------------------------------------------------------------

describe('Deferred and Promises', () => {
  it('await d resolves with the result, and afterwards the result is undefined', async () => {
    const d = succeed('awaited');
    const value = await d;
    expect(value).toBe('awaited');
    expect(d.result).toBeUndefined();
    const later: unknown[] = [];
    d.addCallback((r: unknown) => {
      later.push(r);
    });
    expect(later).toEqual([undefined]);
  });

  it("await d rejects with the Failure's value, and afterwards the failure is handled", async () => {
    const err = new GenericError('awaited failure');
    const d = fail(err);
    let caught: unknown;
    try {
      await d;
    } catch (e) {
      caught = e;
    }
    expect(caught).toBe(err);
    expect(d.result).toBeUndefined();
  });

  it('await d waits for a Deferred that fires later', async () => {
    const d = new Deferred<number>();
    const p = (async () => d)();
    let settled = false;
    void p.then(() => {
      settled = true;
    });
    await flush();
    expect(settled).toBe(false);
    d.callback(99);
    expect(await p).toBe(99);
    expect(d.result).toBeUndefined();
  });

  it('await d rejects when a pending Deferred later fails with a non-Error value', async () => {
    const d = new Deferred<number>();
    const p = (async () => d)();
    d.errback('plain reason');
    await expect(p).rejects.toBe('plain reason');
  });

  it('asPromise() consumes the result at once and resolves with it', async () => {
    const d = succeed(5);
    const p = d.asPromise();
    expect(p).toBeInstanceOf(Promise);
    expect(d.result).toBeUndefined();
    expect(await p).toBe(5);
  });

  it("asPromise() rejects with the Failure's value and handles the failure", async () => {
    const err = new GenericError('asPromise');
    const d = fail(err);
    const p = d.asPromise();
    expect(d.result).toBeUndefined();
    await expect(p).rejects.toBe(err);
  });

  it('then() returns a Promise and behaves like asPromise().then()', async () => {
    const d = succeed(2);
    const p = d.then((x: number) => x * 21);
    expect(p).toBeInstanceOf(Promise);
    expect(await p).toBe(42);
    const e = fail(new GenericError('then'));
    const q = e.then(
      () => 'no',
      (reason: unknown) => (reason as Error).message,
    );
    expect(await q).toBe('then');
  });

  it('Deferred.fromPromise() fires with the resolved value', async () => {
    const p = Promise.resolve('resolved');
    const d = Deferred.fromPromise(p);
    expect(d).toBeInstanceOf(Deferred);
    await flush();
    expect(successResultOf(d)).toBe('resolved');
  });

  it('Deferred.fromPromise() fails with the rejection reason as the Failure value', async () => {
    const reason = new GenericError('rejected promise');
    const p = Promise.reject(reason);
    const d = Deferred.fromPromise(p);
    await flush();
    expect(failureResultOf(d, GenericError).value).toBe(reason);
  });

  it('Deferred.fromPromise() cancelled fails with CancelledError and ignores the later settlement', async () => {
    let reject!: (e: unknown) => void;
    const p = new Promise<number>((_r, j) => {
      reject = j;
    });
    const d = Deferred.fromPromise(p);
    d.cancel();
    failureResultOf(d, CancelledError);
    reject(new GenericError('too late'));
    await flush();
    expect(d.result).toBeUndefined();
  });

  it('Deferred.fromPromise() has no result until the Promise settles', async () => {
    let resolve!: (v: number) => void;
    const p = new Promise<number>((r) => {
      resolve = r;
    });
    const d = Deferred.fromPromise(p);
    await flush();
    assertNoResult(d);
    resolve(3);
    await flush();
    expect(successResultOf(d)).toBe(3);
  });
});

// ---------------------------------------------------------------------------
// Failure
// ---------------------------------------------------------------------------

describe('Failure', () => {
  it('Failure keeps the value and its constructor as type', () => {
    const err = new SubGenericError('sub');
    const f = new Failure(err);
    expect(f.value).toBe(err);
    expect(f.type).toBe(SubGenericError);
  });

  it('Failure.type is undefined for primitives', () => {
    expect(new Failure('text').type).toBeUndefined();
    expect(new Failure(7).type).toBeUndefined();
    expect(new Failure(undefined).type).toBeUndefined();
  });

  it("getErrorMessage() gives an Error's message, else String(value)", () => {
    expect(new Failure(new GenericError('the message')).getErrorMessage()).toBe('the message');
    expect(new Failure('text').getErrorMessage()).toBe('text');
    expect(new Failure(12).getErrorMessage()).toBe('12');
  });

  it('check() returns the first given type the value is an instance of, else undefined', () => {
    const f = new Failure(new SubGenericError('sub'));
    expect(f.check(RangeError)).toBeUndefined();
    expect(f.check(RangeError, GenericError)).toBe(GenericError);
    expect(f.check(SubGenericError)).toBe(SubGenericError);
    expect(f.check(Error)).toBe(Error);
    expect(new Failure('text').check(Error)).toBeUndefined();
  });

  it('trap() returns the matching type', () => {
    const f = new Failure(new SubGenericError('sub'));
    expect(f.trap(RangeError, GenericError)).toBe(GenericError);
  });

  it('trap() throws this same Failure when nothing matches', () => {
    const f = new Failure(new GenericError('untrapped'));
    let thrown: unknown;
    try {
      f.trap(RangeError, TypeError);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBe(f);
  });

  it('trap() in an errback passes an unmatched failure down the chain unchanged', () => {
    const d = new Deferred<any>();
    const err = new GenericError('passes');
    d.addErrback((f: Failure) => f.trap(RangeError));
    d.errback(err);
    expect(failureResultOf(d, GenericError).value).toBe(err);
  });

  it('raiseException() throws the value', () => {
    const err = new GenericError('raised');
    expect(() => new Failure(err).raiseException()).toThrow(err);
    let thrown: unknown;
    try {
      new Failure('primitive').raiseException();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBe('primitive');
  });
});

// ---------------------------------------------------------------------------
// Helpers: succeed, fail, execute, maybeDeferred, ensureDeferred
// ---------------------------------------------------------------------------

describe('succeed, fail, execute, maybeDeferred, ensureDeferred', () => {
  it('succeed() returns a fired Deferred whose callbacks run at once', () => {
    const l: unknown[] = [];
    succeed('success').addCallback((r: unknown) => {
      l.push(r);
    });
    expect(l).toEqual(['success']);
  });

  it('fail() returns a Deferred that has failed with the reason', () => {
    const l: Failure[] = [];
    const err = new GenericError('fail');
    fail(err).addErrback((f: Failure) => {
      l.push(f);
    });
    expect(l.length).toBe(1);
    expect(l[0]!.value).toBe(err);
  });

  it('fail() with a Failure uses that Failure', () => {
    const f = new Failure(new GenericError('given'));
    expect(failureResultOf(fail(f), GenericError)).toBe(f);
  });

  it('execute() fires with the return value of a synchronous function and its arguments', () => {
    const d = execute((a: number, b: number) => a + b, 2, 3);
    expect(successResultOf(d)).toBe(5);
  });

  it('execute() fails with what the function throws', () => {
    const err = new GenericError('thrown');
    const d = execute(() => {
      throw err;
    });
    expect(failureResultOf(d, GenericError).value).toBe(err);
  });

  it('execute() fails with TypeError when the function returns a Deferred', () => {
    const inner = new Deferred<number>();
    const d = execute(() => inner);
    failureResultOf(d, TypeError);
  });

  it('execute() fails with TypeError when the function returns a Promise', () => {
    const d = execute(() => Promise.resolve(1));
    failureResultOf(d, TypeError);
  });

  it('maybeDeferred() wraps a synchronous return value (test_maybeDeferredSync)', () => {
    const result = { token: 'sync' };
    const d = maybeDeferred(() => result);
    expect(successResultOf(d)).toBe(result);
  });

  it('maybeDeferred() passes arguments to the function (test_maybeDeferredSyncWithArgs)', () => {
    const d = maybeDeferred((x: number) => x + 5, 10);
    expect(successResultOf(d)).toBe(15);
  });

  it('maybeDeferred() turns a throw into a failure (test_maybeDeferredSyncException)', () => {
    const expected = new RangeError('that value is unacceptable');
    const d = maybeDeferred(() => {
      throw expected;
    });
    expect(failureResultOf(d, RangeError).value).toBe(expected);
  });

  it('maybeDeferred() errbacks with a returned Failure (test_maybeDeferredSyncFailure)', () => {
    const expected = new Failure(new TypeError('bad'));
    const d = maybeDeferred(() => expected);
    expect(failureResultOf(d, TypeError)).toBe(expected);
  });

  it('maybeDeferred() lets a returned Deferred\u2019s result through (test_maybeDeferredAsync)', () => {
    const d1 = new Deferred<string>();
    const d2 = maybeDeferred(() => d1);
    d1.callback('Success');
    expect(successResultOf(d2)).toBe('Success');
  });

  it('maybeDeferred() lets a returned Deferred\u2019s failure through (test_maybeDeferredAsyncError)', () => {
    const d1 = new Deferred<any>();
    const d2 = maybeDeferred(() => d1);
    d1.errback(new Failure(new RangeError()));
    failureResultOf(d2, RangeError);
  });

  it('maybeDeferred() follows a returned Promise to its value', async () => {
    const d = maybeDeferred(async () => 7);
    await flush();
    expect(successResultOf(d)).toBe(7);
  });

  it('maybeDeferred() turns a rejected Promise into a failure', async () => {
    class SomeException extends Error {}
    const d = maybeDeferred(async () => {
      throw new SomeException('async');
    });
    await flush();
    expect(failureResultOf(d, SomeException).type).toBe(SomeException);
  });

  it('ensureDeferred() returns a Deferred unchanged', () => {
    const d1 = new Deferred<any>();
    expect(ensureDeferred(d1)).toBe(d1);
  });

  it('ensureDeferred() turns a Promise into a Deferred with its value', async () => {
    const d = ensureDeferred(Promise.resolve('foo'));
    expect(d).toBeInstanceOf(Deferred);
    await flush();
    expect(successResultOf(d)).toBe('foo');
  });

  it('ensureDeferred() turns a rejected Promise into a failed Deferred', async () => {
    const err = new GenericError('ensure');
    const d = ensureDeferred(Promise.reject(err));
    await flush();
    expect(failureResultOf(d, GenericError).value).toBe(err);
  });

  it('ensureDeferred() of an async function awaiting a Deferred gets its result (test_ensureDeferredCoroutine)', async () => {
    const run = async () => {
      const res = await succeed('foo');
      return res;
    };
    const d = ensureDeferred(run());
    await flush();
    expect(successResultOf(d)).toBe('foo');
  });
});

// ---------------------------------------------------------------------------
// DeferredList, gatherResults, race
// ---------------------------------------------------------------------------

describe('DeferredList', () => {
  it('DeferredList fires with [success, result] pairs in input order (testDeferredList)', () => {
    const d1 = new Deferred<string>();
    const d2 = new Deferred<string>();
    const d3 = new Deferred<string>();
    const dl = new DeferredList([d1, d2, d3]);
    const result: any[] = [];
    dl.addCallbacks((r: any) => {
      result.push(...r);
    });
    d3.callback('3');
    d2.addErrback(() => null);
    d2.errback(new GenericError('2'));
    assertNoResult(dl);
    d1.callback('1');
    expect(result.length).toBe(3);
    expect(result[0]).toEqual([true, '1']);
    expect(result[1][0]).toBe(false);
    expect(result[1][1]).toBeInstanceOf(Failure);
    expect((result[1][1] as Failure).getErrorMessage()).toBe('2');
    expect(result[2]).toEqual([true, '3']);
  });

  it('DeferredList is a Deferred', () => {
    expect(new DeferredList([])).toBeInstanceOf(Deferred);
  });

  it('DeferredList of an empty list fires [] at once', () => {
    const dl = new DeferredList([]);
    expect(successResultOf(dl)).toEqual([]);
  });

  it('DeferredList of an empty list with fireOnOneCallback never fires', () => {
    const dl = new DeferredList([], { fireOnOneCallback: true });
    assertNoResult(dl);
  });

  it('DeferredList with already-fired inputs fires at once (testDeferredListWithAlreadyFiredDeferreds)', () => {
    const d1 = new Deferred<number>();
    const d2 = new Deferred<number>();
    d1.errback(new GenericError('Bang'));
    d2.callback(2);
    const dl = new DeferredList([d1, d2]);
    const result = successResultOf(dl) as any[];
    expect(result.length).toBe(2);
    expect(result[0][0]).toBe(false);
    expect(result[1]).toEqual([true, 2]);
    d1.addErrback(() => null);
  });

  it('DeferredList with fireOnOneCallback fires [result, index] on the first success', () => {
    const d1 = new Deferred<string>();
    const d2 = new Deferred<string>();
    const d3 = new Deferred<string>();
    const dl = new DeferredList([d1, d2, d3], { fireOnOneCallback: true });
    d1.addErrback(() => null);
    d1.errback(new GenericError('first fails'));
    assertNoResult(dl);
    d3.callback('three');
    expect(successResultOf(dl)).toEqual(['three', 2]);
    // Later inputs do not change anything.
    d2.callback('two');
  });

  it('DeferredList with fireOnOneCallback fires the full list when every input fails', () => {
    const d1 = new Deferred<string>();
    const d2 = new Deferred<string>();
    const dl = new DeferredList([d1, d2], { fireOnOneCallback: true, consumeErrors: true });
    d1.errback(new GenericError('a'));
    assertNoResult(dl);
    d2.errback(new GenericError('b'));
    const result = successResultOf(dl) as any[];
    expect(result.length).toBe(2);
    expect(result[0][0]).toBe(false);
    expect((result[0][1] as Failure).getErrorMessage()).toBe('a');
    expect(result[1][0]).toBe(false);
    expect((result[1][1] as Failure).getErrorMessage()).toBe('b');
  });

  it('DeferredList with fireOnOneErrback errbacks with FirstError carrying subFailure and index (testDeferredListFireOnOneError)', () => {
    const d1 = new Deferred<string>();
    const d2 = new Deferred<string>();
    const d3 = new Deferred<string>();
    const dl = new DeferredList([d1, d2, d3], { fireOnOneErrback: true });
    const result: Failure[] = [];
    dl.addErrback((f: Failure) => {
      result.push(f);
    });
    d2.addErrback(() => null);
    d1.callback('1');
    expect(result).toEqual([]);
    d2.errback(new GenericError('from def2'));
    expect(result.length).toBe(1);
    const aFailure = result[0]!;
    expect(aFailure.check(FirstError)).toBe(FirstError);
    const firstError = aFailure.value as FirstError;
    expect(firstError).toBeInstanceOf(FirstError);
    expect(firstError.subFailure).toBeInstanceOf(Failure);
    expect(firstError.subFailure.type).toBe(GenericError);
    expect(firstError.subFailure.getErrorMessage()).toBe('from def2');
    expect(firstError.index).toBe(1);
  });

  it('DeferredList with fireOnOneErrback fails at once for an input that already failed', () => {
    const d1 = new Deferred<any>();
    const d2 = new Deferred<any>();
    d1.errback(new GenericError('Bang'));
    const dl = new DeferredList([d1, d2], { fireOnOneErrback: true });
    const f = failureResultOf(dl, FirstError);
    expect((f.value as FirstError).index).toBe(0);
    d1.addErrback(() => null);
  });

  it('DeferredList without consumeErrors leaves the failure for errbacks added later (testDeferredListDontConsumeErrors)', () => {
    const d1 = new Deferred<any>();
    const dl = new DeferredList([d1]);
    const errorTrap: Failure[] = [];
    d1.addErrback((f: Failure) => {
      errorTrap.push(f);
    });
    const resultLists: any[] = [];
    dl.addCallback((r: any) => {
      resultLists.push(r);
    });
    d1.errback(new GenericError('Bang'));
    expect(errorTrap.length).toBe(1);
    expect(errorTrap[0]!.getErrorMessage()).toBe('Bang');
    expect(resultLists.length).toBe(1);
    expect((resultLists[0][0][1] as Failure).getErrorMessage()).toBe('Bang');
  });

  it('DeferredList with consumeErrors turns input failures into undefined for later callbacks (testDeferredListConsumeErrors)', () => {
    const d1 = new Deferred<any>();
    const dl = new DeferredList([d1], { consumeErrors: true });
    const errorTrap: Failure[] = [];
    const later: unknown[] = [];
    d1.addCallbacks(
      (r: unknown) => {
        later.push(r);
      },
      (f: Failure) => {
        errorTrap.push(f);
      },
    );
    const resultLists: any[] = [];
    dl.addCallback((r: any) => {
      resultLists.push(r);
    });
    d1.errback(new GenericError('Bang'));
    expect(errorTrap).toEqual([]);
    expect(later).toEqual([undefined]);
    expect(resultLists.length).toBe(1);
    expect((resultLists[0][0][1] as Failure).getErrorMessage()).toBe('Bang');
  });

  it('DeferredList.cancel() cancels every input that has not fired (test_cancelDeferredList)', () => {
    const d1 = new Deferred<any>();
    const d2 = new Deferred<any>();
    const d3 = succeed('already');
    const dl = new DeferredList([d1, d2, d3]);
    dl.cancel();
    failureResultOf(d1, CancelledError);
    failureResultOf(d2, CancelledError);
    const result = successResultOf(dl) as any[];
    expect(result[0][0]).toBe(false);
    expect(result[2]).toEqual([true, 'already']);
  });

  it('DeferredList.cancel() reports an input whose canceller calls back as a success (test_cancelDeferredListCallback)', () => {
    const d1 = new Deferred<string>(fakeCallbackCanceller);
    const d2 = new Deferred<string>();
    const dl = new DeferredList([d1, d2]);
    dl.cancel();
    failureResultOf(d2, CancelledError);
    const result = successResultOf(dl) as any[];
    expect(result[0]).toEqual([true, 'Callback Result']);
    expect(result[1][0]).toBe(false);
    expect((result[1][1] as Failure).check(CancelledError)).toBe(CancelledError);
  });

  it('DeferredList.cancel() with fireOnOneCallback cancels every input (test_cancelDeferredListWithFireOnOneCallback)', () => {
    const d1 = new Deferred<any>();
    const d2 = new Deferred<any>();
    const dl = new DeferredList([d1, d2], { fireOnOneCallback: true });
    dl.cancel();
    failureResultOf(d1, CancelledError);
    failureResultOf(d2, CancelledError);
  });

  it('DeferredList.cancel() with fireOnOneCallback fires [result, index] if a canceller calls back', () => {
    const d1 = new Deferred<string>(fakeCallbackCanceller);
    const d2 = new Deferred<string>();
    const dl = new DeferredList([d1, d2], { fireOnOneCallback: true });
    dl.cancel();
    failureResultOf(d2, CancelledError);
    expect(successResultOf(dl)).toEqual(['Callback Result', 0]);
  });

  it('DeferredList.cancel() with fireOnOneErrback fails with FirstError wrapping CancelledError', () => {
    const d1 = new Deferred<any>();
    const d2 = new Deferred<any>();
    const dl = new DeferredList([d1, d2], { fireOnOneErrback: true });
    dl.cancel();
    failureResultOf(d1, CancelledError);
    failureResultOf(d2, CancelledError);
    const f = failureResultOf(dl, FirstError);
    expect((f.value as FirstError).subFailure.check(CancelledError)).toBe(CancelledError);
  });

  it('DeferredList.cancel() with fireOnOneErrback succeeds if every canceller calls back', () => {
    const d1 = new Deferred<string>(fakeCallbackCanceller);
    const d2 = new Deferred<string>(fakeCallbackCanceller);
    const dl = new DeferredList([d1, d2], { fireOnOneErrback: true });
    dl.cancel();
    expect(successResultOf(dl)).toEqual([
      [true, 'Callback Result'],
      [true, 'Callback Result'],
    ]);
  });

  it('DeferredList.cancel() cancels only the Deferreds passed in, not ones added to the array later', () => {
    const d1 = new Deferred<any>();
    const d2 = new Deferred<any>();
    const args = [d1, d2];
    const dl = new DeferredList(args);
    const d3 = new Deferred<any>();
    args.push(d3);
    dl.cancel();
    failureResultOf(d1, CancelledError);
    failureResultOf(d2, CancelledError);
    assertNoResult(d3);
  });

  it('DeferredList.cancel() still cancels the rest when one canceller throws, and logs the error (test_cancelDeferredListWithException)', () => {
    withCapturedLog((messages) => {
      const d1 = new Deferred<any>(() => {
        throw new GenericError('canceller raises');
      });
      const d2 = new Deferred<any>();
      const dl = new DeferredList([d1, d2]);
      expect(() => dl.cancel()).not.toThrow();
      failureResultOf(d2, CancelledError);
      expect(messages.filter((m) => m.includes('canceller raises')).length).toBe(1);
    });
  });

  it('DeferredList.cancel() after fireOnOneCallback fired does nothing (test_cancelFiredOnOneCallbackDeferredList)', () => {
    const d1 = new Deferred<any>();
    const d2 = new Deferred<any>();
    const dl = new DeferredList([d1, d2], { fireOnOneCallback: true });
    d1.callback(null);
    dl.cancel();
    assertNoResult(d2);
  });

  it('DeferredList.cancel() after fireOnOneErrback fired does nothing (test_cancelFiredOnOneErrbackDeferredList)', () => {
    const d1 = new Deferred<any>();
    const d2 = new Deferred<any>();
    const dl = new DeferredList([d1, d2], { fireOnOneErrback: true });
    d1.errback(new GenericError('test'));
    dl.cancel();
    assertNoResult(d2);
    failureResultOf(d1, GenericError);
    failureResultOf(dl, FirstError);
  });
});

describe('gatherResults', () => {
  it('gatherResults() fires with the list of results (test_gatherResults)', () => {
    const d = gatherResults([succeed(1), succeed(2)]);
    expect(successResultOf(d)).toEqual([1, 2]);
  });

  it('gatherResults() keeps input order regardless of firing order', () => {
    const a = new Deferred<string>();
    const b = new Deferred<string>();
    const d = gatherResults([a, b]);
    b.callback('b');
    assertNoResult(d);
    a.callback('a');
    expect(successResultOf(d)).toEqual(['a', 'b']);
  });

  it('gatherResults() of an empty list fires [] at once', () => {
    expect(successResultOf(gatherResults([]))).toEqual([]);
  });

  it('gatherResults() fails with FirstError when an input fails', () => {
    const bad = fail(new RangeError('bad input'));
    const d = gatherResults([succeed(1), bad]);
    const f = failureResultOf(d, FirstError);
    const firstError = f.value as FirstError;
    expect(firstError.index).toBe(1);
    expect(firstError.subFailure.check(RangeError)).toBe(RangeError);
    bad.addErrback(() => 1);
  });

  it('gatherResults() with consumeErrors turns input failures into undefined (test_gatherResultsWithConsumeErrors)', () => {
    const dgood = succeed(1);
    const dbad = fail(new RangeError('oh noes'));
    const d = gatherResults([dgood, dbad], true);
    const unconsumed: Failure[] = [];
    dbad.addErrback((f: Failure) => {
      unconsumed.push(f);
    });
    const gathered: Failure[] = [];
    d.addErrback((f: Failure) => {
      gathered.push(f);
    });
    expect(unconsumed.length).toBe(0);
    expect(gathered.length).toBe(1);
    expect(gathered[0]!.value).toBeInstanceOf(FirstError);
    expect((gathered[0]!.value as FirstError).subFailure.value).toBeInstanceOf(RangeError);
  });

  it('gatherResults().cancel() cancels every input and fails with FirstError (test_cancelGatherResults)', () => {
    const d1 = new Deferred<any>();
    const d2 = new Deferred<any>();
    const result = gatherResults([d1, d2]);
    result.cancel();
    failureResultOf(d1, CancelledError);
    failureResultOf(d2, CancelledError);
    const f = failureResultOf(result, FirstError);
    expect((f.value as FirstError).subFailure.check(CancelledError)).toBe(CancelledError);
  });

  it('gatherResults().cancel() succeeds if every canceller calls back (test_cancelGatherResultsWithAllDeferredsCallback)', () => {
    const d1 = new Deferred<string>(fakeCallbackCanceller);
    const d2 = new Deferred<string>(fakeCallbackCanceller);
    const result = gatherResults([d1, d2]);
    result.cancel();
    expect(successResultOf(result)).toEqual(['Callback Result', 'Callback Result']);
  });
});

describe('race', () => {
  function setupRaceState(n: number): { cancelledState: number[]; ds: Deferred<any>[] } {
    const cancelledState = new Array<number>(n).fill(0);
    const ds: Deferred<any>[] = [];
    for (let i = 0; i < n; i++) {
      ds.push(
        new Deferred<any>(() => {
          cancelledState[i]!++;
        }),
      );
    }
    return { cancelledState, ds };
  }

  for (const [before, after] of [
    [0, 0],
    [0, 3],
    [2, 1],
    [3, 0],
  ] as const) {
    it(`race() fires [index, result] of the first success and cancels the rest (${before} before, ${after} after)`, () => {
      const { cancelledState, ds } = setupRaceState(before + 1 + after);
      const raceResult = race(ds);
      const expected = { token: 'winner' };
      ds[before]!.callback(expected);
      const got = successResultOf(raceResult) as [number, unknown];
      expect(got[0]).toBe(before);
      expect(got[1]).toBe(expected);
      expect(cancelledState).toEqual([...new Array(before).fill(1), 0, ...new Array(after).fill(1)]);
    });
  }

  it('race() fails with FailureGroup holding every failure in input order when all fail', () => {
    const { cancelledState, ds } = setupRaceState(3);
    const raceResult = race(ds);
    const failures = [new Failure(new GenericError('0')), new Failure(new GenericError('1')), new Failure(new GenericError('2'))];
    ds[2]!.errback(failures[2]);
    ds[0]!.errback(failures[0]);
    assertNoResult(raceResult);
    ds[1]!.errback(failures[1]);
    const f = failureResultOf(raceResult, FailureGroup);
    const group = f.value as FailureGroup;
    expect(group).toBeInstanceOf(FailureGroup);
    expect(group.failures).toEqual(failures);
    expect(group.failures[0]).toBe(failures[0]);
    expect(group.failures[1]).toBe(failures[1]);
    expect(group.failures[2]).toBe(failures[2]);
    expect(cancelledState).toEqual([0, 0, 0]);
  });

  it('race() ignores a result that arrives after cancellation (test_resultAfterCancel)', () => {
    withCapturedLog((messages) => {
      const ds = [new Deferred<any>(), new Deferred<any>(), new Deferred<any>()];
      const raceResult = race(ds);
      ds[0]!.callback(null);
      expect(() => ds[1]!.callback(null)).not.toThrow();
      expect(successResultOf(raceResult)).toEqual([0, null]);
      expect(messages).toEqual([]);
    });
  });

  it('race() copes with a loser whose canceller fires it with a success (test_resultFromCancel)', () => {
    const winner = new Deferred<any>();
    const ds = [winner, new Deferred<any>((d) => d.callback({ token: 'loser' }))];
    const raceResult = race(ds);
    const expected = { token: 'expected' };
    winner.callback(expected);
    const got = successResultOf(raceResult) as [number, unknown];
    expect(got[0]).toBe(0);
    expect(got[1]).toBe(expected);
  });

  it('race().cancel() cancels every input and fails with FailureGroup (test_cancel)', () => {
    const { cancelledState, ds } = setupRaceState(3);
    const raceResult = race(ds);
    raceResult.cancel();
    expect(cancelledState).toEqual([1, 1, 1]);
    failureResultOf(raceResult, FailureGroup);
  });
});

// ---------------------------------------------------------------------------
// Lock, semaphore, queue
// ---------------------------------------------------------------------------

describe('DeferredLock', () => {
  it('DeferredLock.acquire() fires at once when free, and waiters fire in order on release()', () => {
    const lock = new DeferredLock();
    let counter = 0;
    const incr = () => {
      counter++;
    };
    const first = lock.acquire();
    expect(successResultOf(first)).toBe(lock);
    expect(lock.locked).toBe(true);
    counter = 1;
    lock.acquire().addCallback(incr);
    expect(lock.locked).toBe(true);
    expect(counter).toBe(1);
    lock.release();
    expect(lock.locked).toBe(true);
    expect(counter).toBe(2);
    lock.release();
    expect(lock.locked).toBe(false);
    expect(counter).toBe(2);
  });

  it('DeferredLock.run() runs the function with arguments under the lock and releases when its Deferred fires', () => {
    const lock = new DeferredLock();
    const controlDeferred = new Deferred<any>();
    const seenArgs: unknown[] = [];
    const resultDeferred = lock.run((a: unknown, b: unknown) => {
      seenArgs.push(a, b);
      return controlDeferred;
    }, 'first', 'second');
    expect(seenArgs).toEqual(['first', 'second']);
    expect(lock.locked).toBe(true);
    const results: unknown[] = [];
    resultDeferred.addCallback((r: unknown) => {
      results.push(r);
    });
    let counter = 0;
    lock.acquire().addCallback(() => {
      counter++;
    });
    expect(counter).toBe(0);
    controlDeferred.callback('secondUnique');
    expect(results).toEqual(['secondUnique']);
    expect(lock.locked).toBe(true);
    expect(counter).toBe(1);
    lock.release();
    expect(lock.locked).toBe(false);
  });

  it('DeferredLock.run() releases the lock when the function throws', () => {
    const lock = new DeferredLock();
    const d = lock.run(() => {
      throw new GenericError('in run');
    });
    failureResultOf(d, GenericError);
    expect(lock.locked).toBe(false);
  });

  it('DeferredLock: cancelling a pending acquire() fails it with CancelledError and removes the waiter', () => {
    const lock = new DeferredLock();
    lock.acquire();
    const d = lock.acquire();
    const third = lock.acquire();
    d.cancel();
    failureResultOf(d, CancelledError);
    assertNoResult(third);
    lock.release();
    // The lock went to the next real waiter, not the cancelled one.
    expect(successResultOf(third)).toBe(lock);
    expect(lock.locked).toBe(true);
    lock.release();
    expect(lock.locked).toBe(false);
  });

  it('DeferredLock: cancelling the only pending acquire() leaves the lock free after release()', () => {
    const lock = new DeferredLock();
    lock.acquire();
    const d = lock.acquire();
    d.cancel();
    failureResultOf(d, CancelledError);
    lock.release();
    expect(lock.locked).toBe(false);
  });

  it('DeferredLock: cancelling an acquire() that already has the lock has no effect (test_cancelLockAfterAcquired)', () => {
    const lock = new DeferredLock();
    const d = lock.acquire();
    const errors: Failure[] = [];
    d.addErrback((f: Failure) => {
      errors.push(f);
    });
    d.cancel();
    expect(errors).toEqual([]);
    expect(lock.locked).toBe(true);
  });
});

describe('DeferredSemaphore', () => {
  it('DeferredSemaphore hands out its tokens at once, then makes acquirers wait for release()', () => {
    const N = 13;
    const sem = new DeferredSemaphore(N);
    let counter = 0;
    for (let i = 1; i <= N; i++) {
      sem.acquire().addCallback(() => {
        counter++;
      });
      expect(counter).toBe(i);
    }
    const waiter = sem.acquire();
    waiter.addCallback(() => {
      counter++;
    });
    expect(counter).toBe(N);
    sem.release();
    expect(counter).toBe(N + 1);
    for (let i = 1; i <= N; i++) {
      sem.release();
      expect(counter).toBe(N + 1);
    }
  });

  it('DeferredSemaphore: cancelling a pending acquire() fails it and removes the waiter (testSemaphore)', () => {
    const N = 2;
    const sem = new DeferredSemaphore(N);
    sem.acquire();
    sem.acquire();
    const outcome: boolean[] = [];
    const d = sem.acquire().addCallbacks(
      () => {
        outcome.push(false);
      },
      () => {
        outcome.push(true);
      },
    );
    d.cancel();
    expect(outcome).toEqual([true]);
    let counter = 0;
    sem.acquire().addCallback(() => {
      counter++;
    });
    expect(counter).toBe(0);
    sem.release();
    expect(counter).toBe(1);
  });

  it('DeferredSemaphore.run() passes arguments and releases its token when the returned Deferred fires', () => {
    const sem = new DeferredSemaphore(1);
    const controlDeferred = new Deferred<any>();
    let helperArg: unknown;
    const results: unknown[] = [];
    sem
      .run((arg: unknown) => {
        helperArg = arg;
        return controlDeferred;
      }, 'unique')
      .addCallback((r: unknown) => {
        results.push(r);
      });
    expect(helperArg).toBe('unique');
    const next = sem.acquire();
    assertNoResult(next);
    controlDeferred.callback('done');
    expect(results).toEqual(['done']);
    expect(successResultOf(next)).toBe(sem);
  });

  it('DeferredSemaphore with fewer than one token throws', () => {
    expect(() => new DeferredSemaphore(0)).toThrow();
    expect(() => new DeferredSemaphore(-1)).toThrow();
  });

  it('DeferredSemaphore: cancelling an acquire() that already has a token has no effect', () => {
    const sem = new DeferredSemaphore(1);
    const d = sem.acquire();
    const errors: Failure[] = [];
    d.addErrback((f: Failure) => {
      errors.push(f);
    });
    d.cancel();
    expect(errors).toEqual([]);
  });
});

describe('DeferredQueue', () => {
  it('DeferredQueue.get() waits for put(), and put() feeds waiting getters first-come first-served', () => {
    const queue = new DeferredQueue<number>();
    const gotten: number[] = [];
    queue.get().addCallback((x: number) => {
      gotten.push(x);
    });
    queue.get().addCallback((x: number) => {
      gotten.push(x);
    });
    expect(gotten).toEqual([]);
    queue.put(0);
    expect(gotten).toEqual([0]);
    queue.put(1);
    expect(gotten).toEqual([0, 1]);
  });

  it('DeferredQueue.get() returns pending items at once, in order', () => {
    const queue = new DeferredQueue<string>();
    queue.put('a');
    queue.put('b');
    expect(successResultOf(queue.get())).toBe('a');
    expect(successResultOf(queue.get())).toBe('b');
    assertNoResult(queue.get());
  });

  it('DeferredQueue(size, backlog) raises QueueOverflow and QueueUnderflow at its limits (testQueue)', () => {
    const N = 2;
    const M = 2;
    const queue = new DeferredQueue<number>(N, M);
    let gotten: number[] = [];
    for (let i = 0; i < M; i++) {
      queue.get().addCallback((x: number) => {
        gotten.push(x);
      });
    }
    expect(() => queue.get()).toThrow(QueueUnderflow);
    for (let i = 0; i < M; i++) {
      queue.put(i);
      expect(gotten).toEqual([...Array(i + 1).keys()]);
    }
    for (let i = 0; i < N; i++) {
      queue.put(N + i);
      expect(gotten).toEqual([0, 1]);
    }
    expect(() => queue.put(99)).toThrow(QueueOverflow);
    gotten = [];
    for (let i = 0; i < N; i++) {
      queue.get().addCallback((x: number) => {
        gotten.push(x);
      });
      expect(gotten).toEqual([...Array(i + 1).keys()].map((k) => N + k));
    }
  });

  it('DeferredQueue with size 0 throws QueueOverflow on put()', () => {
    const queue = new DeferredQueue<any>(0);
    expect(() => queue.put(null)).toThrow(QueueOverflow);
  });

  it('DeferredQueue with backlog 0 throws QueueUnderflow on get()', () => {
    const queue = new DeferredQueue<any>(undefined, 0);
    expect(() => queue.get()).toThrow(QueueUnderflow);
  });

  it('DeferredQueue: cancelling a pending get() fails it and removes the waiter (test_cancelQueueAfterGet)', () => {
    const queue = new DeferredQueue<any>();
    const d = queue.get();
    d.cancel();
    failureResultOf(d, CancelledError);
    // The cancelled getter is gone: put() neither throws nor feeds it.
    expect(() => queue.put('item')).not.toThrow();
    expect(successResultOf(queue.get())).toBe('item');
  });

  it('DeferredQueue: a cancelled getter does not count against the backlog', () => {
    const queue = new DeferredQueue<any>(undefined, 1);
    const d = queue.get();
    d.cancel();
    failureResultOf(d, CancelledError);
    const d2 = queue.get();
    queue.put('next');
    expect(successResultOf(d2)).toBe('next');
  });

  it('DeferredQueue: cancelling a get() that already has its item has no effect', () => {
    const queue = new DeferredQueue<any>();
    const d = queue.get();
    queue.put('x');
    d.cancel();
    expect(successResultOf(d)).toBe('x');
  });
});

describe('error classes', () => {
  it('FirstError carries the failure and index given to its constructor', () => {
    const f = new Failure(new RangeError('some text'));
    const e = new FirstError(f, 3);
    expect(e).toBeInstanceOf(Error);
    expect(e.subFailure).toBe(f);
    expect(e.index).toBe(3);
  });

  it('FailureGroup carries the failures given to its constructor', () => {
    const fs = [new Failure(new RangeError('a')), new Failure('b')];
    const g = new FailureGroup(fs);
    expect(g).toBeInstanceOf(Error);
    expect(g.failures).toEqual(fs);
  });

  it('every core error class is an Error subclass', () => {
    for (const E of [AlreadyCalledError, CancelledError, TimeoutError, AlreadyCancelledError, QueueOverflow, QueueUnderflow]) {
      expect(new E()).toBeInstanceOf(Error);
      expect(new E()).toBeInstanceOf(E);
    }
  });
});

// ---------------------------------------------------------------------------
// Testing helpers (as Twisted's SynchronousTestCase has them)
// ---------------------------------------------------------------------------

describe('wirecat/testing result helpers', () => {
  it('successResultOf() returns the result of a fired Deferred', () => {
    expect(successResultOf(succeed(3))).toBe(3);
  });

  it('successResultOf() throws for a Deferred without a result or with a failure', () => {
    expect(() => successResultOf(new Deferred<any>())).toThrow();
    const failed = fail(new GenericError('x'));
    expect(() => successResultOf(failed)).toThrow();
  });

  it('failureResultOf() returns the Failure, and throws on success, no result or a type mismatch', () => {
    const err = new GenericError('f');
    expect(failureResultOf(fail(err)).value).toBe(err);
    expect(failureResultOf(fail(err), RangeError, GenericError).value).toBe(err);
    expect(() => failureResultOf(succeed(1))).toThrow();
    expect(() => failureResultOf(new Deferred<any>())).toThrow();
    expect(() => failureResultOf(fail(new GenericError('g')), RangeError)).toThrow();
  });

  it('assertNoResult() passes for an unfired Deferred and throws for a fired one', () => {
    expect(() => assertNoResult(new Deferred<any>())).not.toThrow();
    expect(() => assertNoResult(succeed(1))).toThrow();
  });
});

// ---------------------------------------------------------------------------
// Unhandled errors, reported when a failed Deferred is garbage-collected
// ---------------------------------------------------------------------------

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const REPORT_PREFIX = 'Unhandled error in Deferred:';

/**
 * Runs gc() and yields to the event loop until `done()` or the bound is hit.
 *
 * `WeakRef.prototype.deref()` keeps its target alive until the current job
 * ends, so `done()` and `gc()` never run in the same turn of the event loop.
 */
async function collectUntil(done: () => boolean, maxIterations = 50): Promise<boolean> {
  for (let i = 0; i < maxIterations; i++) {
    if (done()) return true;
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return done();
}

function isReportOf(message: string, marker: string): boolean {
  return message.startsWith(REPORT_PREFIX) && message.includes(marker);
}

// Each helper builds Deferreds that become unreachable when it returns.
function dropThrowingCallback(marker: string): WeakRef<object> {
  const d = new Deferred<number>();
  d.addCallback(() => {
    throw new GenericError(marker);
  });
  d.callback(1);
  return new WeakRef(d);
}

function dropFailed(marker: string): WeakRef<object> {
  return new WeakRef(fail(new GenericError(marker)));
}

function dropFailedWithString(marker: string): WeakRef<object> {
  const d = new Deferred<any>();
  d.errback(marker);
  return new WeakRef(d);
}

function dropFailedAgainAfterHandled(marker: string): WeakRef<object> {
  const d = fail(new GenericError('first, handled'));
  d.addErrback(() => null);
  d.addCallback(() => {
    throw new GenericError(marker);
  });
  return new WeakRef(d);
}

function dropPausedThenUnpaused(marker: string): WeakRef<object> {
  const d = new Deferred<any>();
  d.pause();
  d.errback(new GenericError(marker));
  d.unpause();
  return new WeakRef(d);
}

function dropFailedInCycle(marker: string): WeakRef<object> {
  // test_errorLogWithInnerFrameCycle: the Deferred refers to itself.
  const d = new Deferred<number>() as Deferred<number> & { self?: unknown };
  d.self = d;
  d.addCallback(() => {
    void d;
    throw new GenericError(marker);
  });
  d.callback(1);
  return new WeakRef(d);
}

function dropHandled(marker: string): WeakRef<object>[] {
  const d = fail(new GenericError(marker));
  d.addErrback(() => null);
  return [new WeakRef(d)];
}

function dropPaused(marker: string): WeakRef<object>[] {
  const d = new Deferred<any>();
  d.pause();
  d.errback(new GenericError(marker));
  return [new WeakRef(d)];
}

function dropAwaited(marker: string): WeakRef<object>[] {
  const d = fail(new GenericError(marker));
  d.then(
    () => undefined,
    () => undefined,
  );
  return [new WeakRef(d)];
}

function dropChainedInnerFailure(marker: string): WeakRef<object>[] {
  // test_chainedErrorCleanup: the inner Deferred's failure is handed to the outer.
  const inner = fail(new GenericError(marker));
  const outer = new Deferred<any>();
  outer.addCallback(() => inner);
  outer.callback(null);
  outer.addErrback(() => null);
  return [new WeakRef(inner), new WeakRef(outer)];
}

function dropErrbackChainedToPending(marker: string): WeakRef<object>[] {
  // test_errorClearedByChaining: the failure is replaced by a wait on another Deferred.
  const bad = fail(new GenericError(marker));
  const good = new Deferred<any>();
  bad.addErrback(() => good);
  return [new WeakRef(bad), new WeakRef(good)];
}

async function expectNotReported(drop: (marker: string) => WeakRef<object>[]): Promise<void> {
  const messages: string[] = [];
  const previous = setLogger((message: string) => {
    messages.push(message);
  });
  try {
    const marker = `not-reported-${Math.random().toString(36).slice(2)}`;
    const control = `control-${Math.random().toString(36).slice(2)}`;
    const refs = drop(marker);
    dropFailed(control);
    const collected = await collectUntil(
      () => refs.every((r) => r.deref() === undefined) && messages.some((m) => isReportOf(m, control)),
    );
    expect(refs.every((r) => r.deref() === undefined)).toBe(true);
    expect(collected).toBe(true);
    // A few more rounds for any finalizer still queued.
    await collectUntil(() => false, 3);
    expect(messages.filter((m) => m.includes(marker))).toEqual([]);
  } finally {
    setLogger(previous);
  }
}

describe('unhandled errors in garbage-collected Deferreds', () => {
  it('setLogger() returns the previous logger', () => {
    const first = (_m: string) => undefined;
    const original = setLogger(first);
    try {
      expect(typeof original).toBe('function');
      expect(setLogger(original)).toBe(first);
    } finally {
      setLogger(original);
    }
  });

  it('the default logger writes to stderr', () => {
    const defaultLogger = setLogger(() => undefined);
    setLogger(defaultLogger);
    const written: string[] = [];
    const originalWrite = process.stderr.write;
    process.stderr.write = ((chunk: unknown) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      defaultLogger('wirecat logger probe');
    } finally {
      process.stderr.write = originalWrite;
    }
    expect(written.join('')).toContain('wirecat logger probe');
  });

  it('a Deferred garbage-collected with a failure from a callback logs "Unhandled error in Deferred:" and the error', async () => {
    const messages: string[] = [];
    const previous = setLogger((message: string) => {
      messages.push(message);
    });
    try {
      const marker = `unhandled-cb-${Math.random().toString(36).slice(2)}`;
      dropThrowingCallback(marker);
      const found = await collectUntil(() => messages.some((m) => isReportOf(m, marker)));
      expect(found).toBe(true);
      expect(messages.filter((m) => isReportOf(m, marker)).length).toBe(1);
    } finally {
      setLogger(previous);
    }
  });

  it('a fail() Deferred garbage-collected unhandled logs "Unhandled error in Deferred:" and the error', async () => {
    const messages: string[] = [];
    const previous = setLogger((message: string) => {
      messages.push(message);
    });
    try {
      const marker = `unhandled-fail-${Math.random().toString(36).slice(2)}`;
      dropFailed(marker);
      const found = await collectUntil(() => messages.some((m) => isReportOf(m, marker)));
      expect(found).toBe(true);
    } finally {
      setLogger(previous);
    }
  });

  it('a Deferred failed with a non-Error value is reported with that value when garbage-collected', async () => {
    const messages: string[] = [];
    const previous = setLogger((message: string) => {
      messages.push(message);
    });
    try {
      const marker = `unhandled-string-${Math.random().toString(36).slice(2)}`;
      dropFailedWithString(marker);
      const found = await collectUntil(() => messages.some((m) => isReportOf(m, marker)));
      expect(found).toBe(true);
    } finally {
      setLogger(previous);
    }
  });

  for (const [name, drop] of [
    ['a failure raised again after an earlier one was handled', dropFailedAgainAfterHandled],
    ['a failed Deferred paused and then unpaused', dropPausedThenUnpaused],
    ['a failed Deferred in a reference cycle (test_errorLogWithInnerFrameCycle)', dropFailedInCycle],
  ] as const) {
    it(`${name} is reported when garbage-collected`, async () => {
      const messages: string[] = [];
      const previous = setLogger((message: string) => {
        messages.push(message);
      });
      try {
        const marker = `reported-${Math.random().toString(36).slice(2)}`;
        drop(marker);
        const found = await collectUntil(() => messages.some((m) => isReportOf(m, marker)));
        expect(found).toBe(true);
      } finally {
        setLogger(previous);
      }
    });
  }

  it('a handled failure is not reported when its Deferred is garbage-collected', async () => {
    await expectNotReported(dropHandled);
  });

  it('a paused Deferred with a failure is not reported when garbage-collected', async () => {
    await expectNotReported(dropPaused);
  });

  it('an awaited failure is not reported when its Deferred is garbage-collected', async () => {
    await expectNotReported(dropAwaited);
  });

  it("an inner Deferred whose failure was handed to the outer chain is not reported (test_chainedErrorCleanup)", async () => {
    await expectNotReported(dropChainedInnerFailure);
  });

  it('a failure cleared by an errback that chains to another Deferred is not reported (test_errorClearedByChaining)', async () => {
    await expectNotReported(dropErrbackChainedToPending);
  });
});
