// Tests for protocols and factories (src/core/protocol.ts): Protocol, Factory,
// ClientFactory and ReconnectingClientFactory, the latter ported from
// Twisted's src/twisted/test/test_factories.py (seconds there are
// milliseconds here) plus one case per bullet of CORE-API.md's "Protocols"
// section. Time is always an injected Clock; no socket is opened.
import { describe, it, expect } from 'vitest';
import {
  ClientFactory,
  ConnectionDone,
  ConnectionRefusedError,
  DatagramProtocol,
  Factory,
  Failure,
  ProcessProtocol,
  Protocol,
  ReconnectingClientFactory,
  reactor,
  type Address,
  type IConnector,
} from 'wirecat';
import { Clock, FakeConnector, MemoryReactorClock, StringTransport } from 'wirecat/testing';

const ADDR: Address = { type: 'TCP', host: '127.0.0.1', port: 4321 };

function refused(): Failure {
  return new Failure(new ConnectionRefusedError('127.0.0.1:4321'));
}

/** A connector that counts what the factory asks of it. */
class CountingConnector implements IConnector {
  connects = 0;
  stops = 0;
  disconnects = 0;
  connect(): void {
    this.connects++;
  }
  disconnect(): void {
    this.disconnects++;
  }
  stopConnecting(): void {
    this.stops++;
  }
  getDestination(): Address {
    return ADDR;
  }
}

/** A ReconnectingClientFactory on `clock` with deterministic delays. */
function reconnecting(
  clock: Clock | MemoryReactorClock,
  opts: { initialDelay?: number; factor?: number; maxDelay?: number; maxRetries?: number } = {},
): ReconnectingClientFactory {
  const f = new ReconnectingClientFactory();
  f.clock = clock;
  f.jitter = 0;
  if (opts.initialDelay !== undefined) f.initialDelay = opts.initialDelay;
  if (opts.factor !== undefined) f.factor = opts.factor;
  if (opts.maxDelay !== undefined) f.maxDelay = opts.maxDelay;
  if (opts.maxRetries !== undefined) f.maxRetries = opts.maxRetries;
  // `delay` starts at the initialDelay the factory was built with (as in
  // Twisted, where it is a class attribute); resetDelay() picks up the new one.
  f.resetDelay();
  return f;
}

/** The delay of the one pending call on `clock`, relative to now. */
function pendingDelay(clock: Clock | MemoryReactorClock): number {
  const calls = clock.getDelayedCalls();
  expect(calls.length).toBe(1);
  return calls[0]!.getTime() - clock.now();
}

// ---------------------------------------------------------------------------
// Protocol
// ---------------------------------------------------------------------------

describe('Protocol', () => {
  it('a new Protocol has no transport, no factory and is not connected', () => {
    const p = new Protocol();
    expect(p.transport).toBeUndefined();
    expect(p.factory).toBeUndefined();
    expect(p.connected).toBe(false);
  });

  it('makeConnection() sets transport and connected, then calls connectionMade() once', () => {
    const seen: { transport: unknown; connected: boolean }[] = [];
    class P extends Protocol {
      override connectionMade(): void {
        seen.push({ transport: this.transport, connected: this.connected });
      }
    }
    const p = new P();
    const t = new StringTransport();
    p.makeConnection(t);
    expect(seen).toEqual([{ transport: t, connected: true }]);
    expect(p.transport).toBe(t);
    expect(p.connected).toBe(true);
  });

  it('the default dataReceived() and connectionLost() do nothing', () => {
    const p = new Protocol();
    const t = new StringTransport();
    p.makeConnection(t);
    expect(() => p.dataReceived(Buffer.from('ignored'))).not.toThrow();
    expect(() => p.connectionLost(new Failure(new ConnectionDone()))).not.toThrow();
    expect(t.value().length).toBe(0);
    expect(t.disconnecting).toBe(false);
  });

  it('a Protocol has no readConnectionLost/writeConnectionLost unless a subclass defines them', () => {
    const p = new Protocol();
    expect(typeof p.readConnectionLost).toBe('undefined');
    expect(typeof p.writeConnectionLost).toBe('undefined');
    class Half extends Protocol {
      override readConnectionLost(): void {}
      override writeConnectionLost(): void {}
    }
    expect(typeof new Half().readConnectionLost).toBe('function');
  });

  it('DatagramProtocol.makeConnection() sets the transport and calls startProtocol()', () => {
    const calls: string[] = [];
    class D extends DatagramProtocol {
      override startProtocol(): void {
        calls.push(`start:${this.transport !== undefined}`);
      }
    }
    const d = new D();
    d.makeConnection({} as never);
    expect(calls).toEqual(['start:true']);
  });

  it('ProcessProtocol.makeConnection() sets the transport and calls connectionMade()', () => {
    const calls: string[] = [];
    class P extends ProcessProtocol {
      override connectionMade(): void {
        calls.push(`made:${this.transport !== undefined}`);
      }
    }
    new P().makeConnection({ pid: 1 } as never);
    expect(calls).toEqual(['made:true']);
  });
});

// ---------------------------------------------------------------------------
// Factory
// ---------------------------------------------------------------------------

describe('Factory', () => {
  class Echo extends Protocol {
    override dataReceived(data: Buffer): void {
      this.transport!.write(data);
    }
  }

  it('Factory.forProtocol() returns a factory whose protocol is the given class', () => {
    const f = Factory.forProtocol(Echo);
    expect(f).toBeInstanceOf(Factory);
    expect(f.protocol).toBe(Echo);
  });

  it('Factory.forProtocol() called on a subclass builds that subclass (classmethod, as in Twisted)', () => {
    class MyFactory extends ClientFactory {
      marker = 'mine';
    }
    const f = MyFactory.forProtocol(Echo);
    expect(f).toBeInstanceOf(MyFactory);
    expect(f.marker).toBe('mine');
    expect(f.protocol).toBe(Echo);
    const c = ClientFactory.forProtocol(Echo);
    expect(c).toBeInstanceOf(ClientFactory);
  });

  it('buildProtocol() builds a new instance of the protocol class each time, with factory set', () => {
    const f = Factory.forProtocol(Echo);
    const p1 = f.buildProtocol(ADDR);
    const p2 = f.buildProtocol(ADDR);
    expect(p1).toBeInstanceOf(Echo);
    expect(p2).toBeInstanceOf(Echo);
    expect(p1).not.toBe(p2);
    expect(p1!.factory).toBe(f);
    expect(p2!.factory).toBe(f);
  });

  it('a protocol built by buildProtocol() works over a transport', () => {
    const p = Factory.forProtocol(Echo).buildProtocol(ADDR)!;
    const t = new StringTransport();
    p.makeConnection(t);
    p.dataReceived(Buffer.from('ping'));
    expect(t.value().toString()).toBe('ping');
  });

  it('buildProtocol() without a protocol class throws a TypeError naming the factory', () => {
    class Bare extends Factory {}
    expect(() => new Bare().buildProtocol(ADDR)).toThrow(TypeError);
    expect(() => new Bare().buildProtocol(ADDR)).toThrow(/Bare/);
  });

  it('doStart() calls startFactory() only for the first port, doStop() calls stopFactory() only after the last', () => {
    const calls: string[] = [];
    class Counted extends Factory {
      override startFactory(): void {
        calls.push('start');
      }
      override stopFactory(): void {
        calls.push(`stop@${this.numPorts}`);
      }
    }
    const f = new Counted();
    expect(f.numPorts).toBe(0);
    f.doStart();
    f.doStart();
    f.doStart();
    expect(f.numPorts).toBe(3);
    expect(calls).toEqual(['start']);
    f.doStop();
    f.doStop();
    expect(calls).toEqual(['start']);
    expect(f.numPorts).toBe(1);
    f.doStop();
    expect(f.numPorts).toBe(0);
    expect(calls).toEqual(['start', 'stop@0']);
    // Started again after a full stop: startFactory runs again.
    f.doStart();
    expect(calls).toEqual(['start', 'stop@0', 'start']);
  });

  it('a startFactory() that throws leaves the factory unstarted, so the next doStart() calls it again (Twisted counts the port after startFactory)', () => {
    let attempts = 0;
    class Flaky extends Factory {
      override startFactory(): void {
        attempts++;
        if (attempts === 1) throw new Error('database not reachable');
      }
    }
    const f = new Flaky();
    expect(() => f.doStart()).toThrow('database not reachable');
    expect(f.numPorts).toBe(0);
    f.doStart();
    expect(attempts).toBe(2);
    expect(f.numPorts).toBe(1);
  });

  it('doStop() with no ports is a no-op (Twisted: "this shouldn\'t happen, but does sometimes")', () => {
    let stops = 0;
    class F extends Factory {
      override stopFactory(): void {
        stops++;
      }
    }
    const f = new F();
    f.doStop();
    expect(f.numPorts).toBe(0);
    expect(stops).toBe(0);
  });

  it("ClientFactory's notifications are no-ops by default", () => {
    const f = ClientFactory.forProtocol(Protocol);
    const c = new CountingConnector();
    expect(() => f.startedConnecting(c)).not.toThrow();
    expect(() => f.clientConnectionFailed(c, refused())).not.toThrow();
    expect(() => f.clientConnectionLost(c, new Failure(new ConnectionDone()))).not.toThrow();
    expect(c.connects).toBe(0);
  });
});

// ---------------------------------------------------------------------------
// ReconnectingClientFactory
// ---------------------------------------------------------------------------

describe('ReconnectingClientFactory', () => {
  it("has Twisted's defaults, in milliseconds", () => {
    const f = new ReconnectingClientFactory();
    expect(f.initialDelay).toBe(1000);
    expect(f.maxDelay).toBe(3_600_000);
    expect(f.factor).toBeCloseTo(Math.E, 12);
    expect(f.jitter).toBeCloseTo(0.1196, 4);
    expect(f.maxRetries).toBeUndefined();
    expect(f.delay).toBe(1000);
    expect(f.retries).toBe(0);
    expect(f.continueTrying).toBeTruthy();
    expect(f.connector).toBeUndefined();
  });

  // test_parametrizedClock
  it('clientConnectionLost() schedules one retry on the parametrized clock (test_parametrizedClock)', () => {
    const clock = new Clock();
    const f = new ReconnectingClientFactory();
    f.clock = clock;
    f.clientConnectionLost(new CountingConnector(), new Failure(new ConnectionDone()));
    expect(clock.getDelayedCalls().length).toBe(1);
  });

  it('without a clock set, retries are scheduled on the reactor\'s clock', () => {
    const f = new ReconnectingClientFactory();
    const before = new Set(reactor.getDelayedCalls());
    f.clientConnectionFailed(new CountingConnector(), refused());
    try {
      const added = reactor.getDelayedCalls().filter((c) => !before.has(c));
      expect(added.length).toBe(1);
      expect(added[0]!.active()).toBe(true);
    } finally {
      f.stopTrying();
    }
    expect(reactor.getDelayedCalls().filter((c) => !before.has(c))).toEqual([]);
  });

  // test_stopTryingWhenConnected
  it('stopTrying() while connected means a later lost connection does not reconnect (test_stopTryingWhenConnected)', () => {
    class NoConnectConnector extends CountingConnector {
      override stopConnecting(): void {
        throw new Error("Shouldn't be called, we're connected.");
      }
      override connect(): void {
        throw new Error("Shouldn't be reconnecting.");
      }
    }
    const clock = new Clock();
    const c = new ReconnectingClientFactory();
    c.clock = clock;
    c.protocol = Protocol;
    // Pretend we connected:
    c.buildProtocol(ADDR);
    // Stop trying, then disconnect:
    c.stopTrying();
    c.clientConnectionLost(new NoConnectConnector(), new Failure(new ConnectionDone()));
    expect(c.continueTrying).toBeFalsy();
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  // test_stopTryingDoesNotReconnect
  it('stopTrying() does not retry the active connector even when stopConnecting() reports a failure (test_stopTryingDoesNotReconnect)', () => {
    const f = new ReconnectingClientFactory();
    const clock = new Clock();
    f.clock = clock;
    class FactoryAwareFakeConnector extends CountingConnector {
      attemptedRetry = false;
      override stopConnecting(): void {
        // Behave as though the ongoing attempt now failed, and tell the factory.
        super.stopConnecting();
        f.clientConnectionFailed(this, refused());
      }
      override connect(): void {
        this.attemptedRetry = true;
      }
    }
    const connector = new FactoryAwareFakeConnector();
    f.connector = connector;
    f.stopTrying();
    expect(connector.stops).toBe(1);
    expect(connector.attemptedRetry).toBe(false);
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it('retry() with no connector given and none remembered throws (Twisted: "no connector to retry")', () => {
    const f = reconnecting(new Clock());
    expect(() => f.retry()).toThrow(/no connector to retry/);
  });

  it('a failed attempt is retried after initialDelay * factor, and the retry calls connector.connect()', () => {
    const r = new MemoryReactorClock();
    const f = reconnecting(r, { initialDelay: 100, factor: 2, maxDelay: 10_000 });
    const connector = r.connectTCP('127.0.0.1', 4321, f);
    expect(connector.connectCalls).toBe(1);
    f.clientConnectionFailed(connector, refused());
    expect(f.connector).toBe(connector);
    expect(f.retries).toBe(1);
    expect(pendingDelay(r)).toBe(200);
    r.advance(199);
    expect(connector.connectCalls).toBe(1);
    r.advance(1);
    expect(connector.connectCalls).toBe(2);
    expect(r.getDelayedCalls()).toEqual([]);
  });

  it('delays grow by factor on each failure and are capped at maxDelay', () => {
    const clock = new Clock();
    const f = reconnecting(clock, { initialDelay: 100, factor: 2, maxDelay: 1000 });
    const connector = new CountingConnector();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      f.clientConnectionFailed(connector, refused());
      const d = pendingDelay(clock);
      delays.push(d);
      clock.advance(d);
      expect(connector.connects).toBe(i + 1);
    }
    expect(delays).toEqual([200, 400, 800, 1000, 1000, 1000, 1000]);
    expect(f.retries).toBe(7);
    expect(f.delay).toBe(1000);
  });

  it('clientConnectionLost() backs off the same way as clientConnectionFailed()', () => {
    const clock = new Clock();
    const f = reconnecting(clock, { initialDelay: 50, factor: 3, maxDelay: 1000 });
    const connector = new CountingConnector();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      f.clientConnectionLost(connector, new Failure(new ConnectionDone()));
      const d = pendingDelay(clock);
      delays.push(d);
      clock.advance(d);
    }
    expect(delays).toEqual([150, 450, 1000, 1000]);
    expect(connector.connects).toBe(4);
  });

  it('maxRetries stops retrying once that many retries have been made', () => {
    const clock = new Clock();
    const f = reconnecting(clock, { initialDelay: 10, factor: 2, maxRetries: 3 });
    const connector = new CountingConnector();
    for (let i = 0; i < 3; i++) {
      f.clientConnectionFailed(connector, refused());
      clock.advance(pendingDelay(clock));
    }
    expect(connector.connects).toBe(3);
    // The fourth failure exceeds maxRetries: nothing is scheduled.
    f.clientConnectionFailed(connector, refused());
    expect(clock.getDelayedCalls()).toEqual([]);
    clock.advance(1_000_000);
    expect(connector.connects).toBe(3);
  });

  it('maxRetries = 0 never retries', () => {
    const clock = new Clock();
    const f = reconnecting(clock, { maxRetries: 0 });
    f.clientConnectionFailed(new CountingConnector(), refused());
    expect(clock.getDelayedCalls()).toEqual([]);
  });

  it('stopTrying() cancels the pending retry', () => {
    const r = new MemoryReactorClock();
    const f = reconnecting(r, { initialDelay: 100, factor: 2 });
    const connector = r.connectTCP('127.0.0.1', 4321, f);
    // The attempt failed: the connector is no longer connecting.
    connector.state = 'disconnected';
    f.clientConnectionFailed(connector, refused());
    const [call] = r.getDelayedCalls();
    expect(call!.active()).toBe(true);
    f.stopTrying();
    expect(call!.active()).toBe(false);
    expect(r.getDelayedCalls()).toEqual([]);
    expect(f.continueTrying).toBeFalsy();
    r.advance(10_000);
    expect(connector.connectCalls).toBe(1);
  });

  it('stopTrying() during an attempt calls the connector\'s stopConnecting(), and the resulting failure is not retried', () => {
    const r = new MemoryReactorClock();
    const f = reconnecting(r, { initialDelay: 100, factor: 2 });
    const connector = r.connectTCP('127.0.0.1', 4321, f);
    connector.state = 'disconnected';
    f.clientConnectionFailed(connector, refused());
    r.advance(200); // the retry runs: the connector is connecting again
    expect(connector.connectCalls).toBe(2);
    expect(connector.state).toBe('connecting');
    f.stopTrying();
    expect(connector.stoppedConnecting).toBe(true);
    // The stopped attempt is reported as failed; no retry follows.
    f.clientConnectionFailed(connector, refused());
    expect(r.getDelayedCalls()).toEqual([]);
    r.advance(1_000_000);
    expect(connector.connectCalls).toBe(2);
  });

  it("stopTrying() tolerates a connector that is not connecting (Twisted ignores NotConnectingError)", () => {
    const r = new MemoryReactorClock();
    const f = reconnecting(r);
    const connector = r.connectTCP('127.0.0.1', 4321, f);
    connector.state = 'connected';
    f.connector = connector;
    expect(() => f.stopTrying()).not.toThrow();
    expect(connector.stoppedConnecting).toBe(false);
  });

  it('retry() after stopTrying() does nothing', () => {
    const clock = new Clock();
    const f = reconnecting(clock);
    const connector = new CountingConnector();
    f.stopTrying();
    f.retry(connector);
    f.clientConnectionFailed(connector, refused());
    expect(clock.getDelayedCalls()).toEqual([]);
    expect(f.retries).toBe(0);
  });

  it('resetDelay() goes back to initialDelay and zero retries, so the next retry waits initialDelay * factor', () => {
    const clock = new Clock();
    const f = reconnecting(clock, { initialDelay: 100, factor: 2, maxDelay: 100_000 });
    const connector = new CountingConnector();
    for (let i = 0; i < 4; i++) {
      f.clientConnectionFailed(connector, refused());
      clock.advance(pendingDelay(clock));
    }
    expect(f.delay).toBe(1600);
    expect(f.retries).toBe(4);
    f.resetDelay();
    expect(f.delay).toBe(100);
    expect(f.retries).toBe(0);
    f.clientConnectionLost(connector, new Failure(new ConnectionDone()));
    expect(pendingDelay(clock)).toBe(200);
  });

  it('resetDelay() also resets the retry budget of maxRetries', () => {
    const clock = new Clock();
    const f = reconnecting(clock, { initialDelay: 10, factor: 2, maxRetries: 1 });
    const connector = new CountingConnector();
    f.clientConnectionFailed(connector, refused());
    clock.advance(pendingDelay(clock));
    f.clientConnectionFailed(connector, refused());
    expect(clock.getDelayedCalls()).toEqual([]);
    f.resetDelay();
    f.clientConnectionFailed(connector, refused());
    expect(clock.getDelayedCalls().length).toBe(1);
  });

  it('resetDelay() after stopTrying() makes the factory try again (continueTrying, as in Twisted)', () => {
    const clock = new Clock();
    const f = reconnecting(clock);
    f.stopTrying();
    expect(f.continueTrying).toBeFalsy();
    f.resetDelay();
    expect(f.continueTrying).toBeTruthy();
    f.clientConnectionFailed(new CountingConnector(), refused());
    expect(clock.getDelayedCalls().length).toBe(1);
  });

  it('jitter spreads the delays around delay * factor and never makes them negative', () => {
    const clock = new Clock();
    const f = new ReconnectingClientFactory();
    f.clock = clock;
    f.initialDelay = 1000;
    f.factor = 1;
    f.jitter = 0.5;
    const connector = new CountingConnector();
    const delays = new Set<number>();
    for (let i = 0; i < 50; i++) {
      f.resetDelay();
      f.clientConnectionFailed(connector, refused());
      const d = pendingDelay(clock);
      expect(d).toBeGreaterThanOrEqual(0);
      delays.add(d);
      clock.advance(d);
    }
    expect(connector.connects).toBe(50);
    expect(delays.size).toBeGreaterThan(1);
  });
});
