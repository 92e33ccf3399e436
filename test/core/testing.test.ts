// Tests for the shipped test doubles (src/core/testing/transport.ts):
// StringTransport, StringTransportWithDisconnection, MemoryReactor and
// MemoryReactorClock, ported in part from Twisted's
// src/twisted/internet/test/test_testing.py, plus what CORE-API.md's "Test
// doubles" section promises (records without touching the network,
// half-close support).
import { describe, it, expect } from 'vitest';
import {
  ClientFactory,
  ConnectionDone,
  DatagramProtocol,
  Deferred,
  Factory,
  Failure,
  LineReceiver,
  Protocol,
  TimeoutError,
  deferLater,
  type IPushProducer,
} from 'wirecat';
import {
  Clock,
  FakeConnector,
  FakePort,
  MemoryReactor,
  MemoryReactorClock,
  StringTransport,
  StringTransportWithDisconnection,
  assertNoResult,
  failureResultOf,
  successResultOf,
} from 'wirecat/testing';

class NullProducer implements IPushProducer {
  calls: string[] = [];
  pauseProducing(): void {
    this.calls.push('pause');
  }
  resumeProducing(): void {
    this.calls.push('resume');
  }
  stopProducing(): void {
    this.calls.push('stop');
  }
}

/** Network handles Node has open now (sockets, servers, pipes, UDP). */
function networkHandles(): string[] {
  return process.getActiveResourcesInfo().filter((r) => /TCP|Pipe|UDP/i.test(r));
}

// ---------------------------------------------------------------------------
// StringTransport
// ---------------------------------------------------------------------------

describe('StringTransport', () => {
  it('value() is empty at first, then everything written, in order', () => {
    const t = new StringTransport();
    expect(t.value()).toEqual(Buffer.alloc(0));
    t.write(Buffer.from('abc'));
    t.write('déf');
    t.writeSequence([Buffer.from([0, 255]), 'gh']);
    expect(t.value().equals(Buffer.concat([Buffer.from('abcdéf', 'utf8'), Buffer.from([0, 255]), Buffer.from('gh')]))).toBe(true);
  });

  it('value() keeps the bytes as written even if the caller reuses its Buffer', () => {
    const t = new StringTransport();
    const b = Buffer.from('original');
    t.write(b);
    b.fill(0x21);
    expect(t.value().toString()).toBe('original');
  });

  it('clear() forgets what was written; later writes are recorded from scratch', () => {
    const t = new StringTransport();
    t.write('one');
    t.clear();
    expect(t.value().length).toBe(0);
    t.write('two');
    expect(t.value().toString()).toBe('two');
  });

  it('loseConnection() sets disconnecting (test_loseConnectionSetsDisconnecting)', () => {
    const t = new StringTransport();
    expect(t.disconnecting).toBe(false);
    t.loseConnection();
    expect(t.disconnecting).toBe(true);
    expect(t.aborting).toBe(false);
  });

  it('abortConnection() sets aborting and disconnecting', () => {
    const t = new StringTransport();
    t.abortConnection();
    expect(t.aborting).toBe(true);
    expect(t.disconnecting).toBe(true);
  });

  it('loseWriteConnection() half-closes: writeDisconnecting is set and write()/writeSequence() throw', () => {
    const t = new StringTransport();
    t.write('before');
    t.loseWriteConnection();
    expect(t.writeDisconnecting).toBe(true);
    expect(t.disconnecting).toBe(false);
    expect(() => t.write('after')).toThrow(/loseWriteConnection/);
    expect(() => t.writeSequence(['a', 'b'])).toThrow();
    expect(t.value().toString()).toBe('before');
  });

  it('getHost()/getPeer() default to TCP addresses (test_defaultHostAddress, test_defaultPeerAddress)', () => {
    const t = new StringTransport();
    expect(t.getHost()).toEqual({ type: 'TCP', host: '10.0.0.1', port: 12345 });
    expect(t.getPeer()).toEqual({ type: 'TCP', host: '192.168.1.1', port: 54321 });
  });

  it('getHost()/getPeer() return the addresses given (test_specifiedHostAddress, test_specifiedPeerAddress)', () => {
    const host = { type: 'UNIX' as const, path: '/run/x.sock' };
    const peer = { type: 'UNIX' as const, path: '' };
    const t = new StringTransport(host, peer);
    expect(t.getHost()).toBe(host);
    expect(t.getPeer()).toBe(peer);
  });

  it('registerProducer() records the producer and streaming flag (test_registerProducer)', () => {
    const t = new StringTransport();
    const p = new NullProducer();
    t.registerProducer(p, true);
    expect(t.producer).toBe(p);
    expect(t.streaming).toBe(true);
  });

  it('registerProducer() throws when a producer is registered already, keeping the first (test_disallowedRegisterProducer)', () => {
    const t = new StringTransport();
    const first = new NullProducer();
    t.registerProducer(first, true);
    expect(() => t.registerProducer(new NullProducer(), false)).toThrow(/already registered/);
    expect(t.producer).toBe(first);
    expect(t.streaming).toBe(true);
  });

  it('unregisterProducer() forgets the producer so that another can be registered (test_unregisterProducer)', () => {
    const t = new StringTransport();
    t.registerProducer(new NullProducer(), false);
    t.unregisterProducer();
    expect(t.producer).toBeUndefined();
    expect(t.streaming).toBeUndefined();
    const next = new NullProducer();
    t.registerProducer(next, true);
    expect(t.producer).toBe(next);
    expect(t.streaming).toBe(true);
  });

  it('unregisterProducer() with none registered throws (test_invalidUnregisterProducer)', () => {
    expect(() => new StringTransport().unregisterProducer()).toThrow(/no producer/);
  });

  it("producerState starts 'producing' and follows pause/resume/stop (test_initialProducerState, test_pauseProducing, ...)", () => {
    const t = new StringTransport();
    expect(t.producerState).toBe('producing');
    t.pauseProducing();
    expect(t.producerState).toBe('paused');
    t.resumeProducing();
    expect(t.producerState).toBe('producing');
    t.stopProducing();
    expect(t.producerState).toBe('stopped');
  });

  it('a stopped transport cannot be paused or resumed (test_stoppedTransportCannotPause/Resume)', () => {
    const t = new StringTransport();
    t.stopProducing();
    expect(() => t.pauseProducing()).toThrow();
    expect(() => t.resumeProducing()).toThrow();
  });

  it('a disconnecting transport cannot be paused or resumed (test_disconnectingTransportCannotPause/Resume)', () => {
    const t1 = new StringTransport();
    t1.loseConnection();
    expect(() => t1.pauseProducing()).toThrow();
    const t2 = new StringTransport();
    t2.loseConnection();
    expect(() => t2.resumeProducing()).toThrow();
  });

  it('drives a protocol: what the protocol writes is in value()', () => {
    class Pong extends LineReceiver {
      override lineReceived(line: string): void {
        if (line === 'PING') this.sendLine('PONG');
        else this.transport!.loseConnection();
      }
    }
    const t = new StringTransport();
    const p = new Pong();
    p.makeConnection(t);
    p.dataReceived(Buffer.from('PING\r\n'));
    expect(t.value().toString()).toBe('PONG\r\n');
    p.dataReceived(Buffer.from('BYE\r\n'));
    expect(t.disconnecting).toBe(true);
  });
});

describe('StringTransportWithDisconnection', () => {
  class Recorder extends Protocol {
    reasons: Failure[] = [];
    override connectionLost(reason: Failure): void {
      this.reasons.push(reason);
    }
  }

  it('loseConnection() tells the protocol connectionLost(ConnectionDone) once, and marks it not connected', () => {
    const t = new StringTransportWithDisconnection();
    const p = new Recorder();
    t.protocol = p;
    p.makeConnection(t);
    expect(p.connected).toBe(true);
    t.loseConnection();
    t.loseConnection();
    expect(t.disconnecting).toBe(true);
    expect(p.connected).toBe(false);
    expect(p.reasons.length).toBe(1);
    expect(p.reasons[0]!.check(ConnectionDone)).toBe(ConnectionDone);
  });

  it('abortConnection() tells the protocol once too (ConnectionDone, as Twisted\'s does), and a later loseConnection() does not repeat it', () => {
    const t = new StringTransportWithDisconnection();
    const p = new Recorder();
    t.protocol = p;
    p.makeConnection(t);
    t.abortConnection();
    t.loseConnection();
    expect(t.aborting).toBe(true);
    expect(p.reasons.length).toBe(1);
    expect(p.reasons[0]!.value).toBeInstanceOf(ConnectionDone);
  });

  it('a protocol that closes from dataReceived gets connectionLost synchronously', () => {
    const events: string[] = [];
    class Once extends Protocol {
      override dataReceived(_data: Buffer): void {
        events.push('data');
        this.transport!.loseConnection();
        events.push('after loseConnection');
      }
      override connectionLost(): void {
        events.push('lost');
      }
    }
    const t = new StringTransportWithDisconnection();
    const p = new Once();
    t.protocol = p;
    p.makeConnection(t);
    p.dataReceived(Buffer.from('x'));
    expect(events).toEqual(['data', 'lost', 'after loseConnection']);
  });
});

// ---------------------------------------------------------------------------
// MemoryReactor
// ---------------------------------------------------------------------------

describe('MemoryReactor', () => {
  it('listenTCP() records port, factory, backlog and host, and returns a fired Deferred of a port', () => {
    const r = new MemoryReactor();
    const f = Factory.forProtocol(Protocol);
    const port = successResultOf(r.listenTCP(8242, f, { host: '127.0.0.1', backlog: 7 }));
    expect(r.tcpServers.length).toBe(1);
    const rec = r.tcpServers[0]!;
    expect(rec.port).toBe(8242);
    expect(rec.factory).toBe(f);
    expect(rec.backlog).toBe(7);
    expect(rec.host).toBe('127.0.0.1');
    expect(rec.listeningPort).toBe(port);
    expect(port.getHost()).toEqual({ type: 'TCP', host: '127.0.0.1', port: 8242 });
  });

  it("listenTCP() without a host reports '0.0.0.0' (test_listenDefaultHost)", () => {
    const r = new MemoryReactor();
    const port = successResultOf(r.listenTCP(8242, new Factory()));
    expect(port.getHost()).toEqual({ type: 'TCP', host: '0.0.0.0', port: 8242 });
    expect(r.tcpServers[0]!.host).toBeUndefined();
    expect(r.tcpServers[0]!.backlog).toBeUndefined();
  });

  it('a recorded port stops listening: stopped is set and the Deferred has fired', () => {
    const r = new MemoryReactor();
    const port = successResultOf(r.listenTCP(1, new Factory()));
    expect(port).toBeInstanceOf(FakePort);
    expect(port.stopped).toBe(false);
    successResultOf(port.stopListening());
    expect(port.stopped).toBe(true);
  });

  it('connectTCP() records the call, returns a connecting connector and tells the factory startedConnecting() (test_connectDestination)', () => {
    const r = new MemoryReactor();
    const started: unknown[] = [];
    class F extends ClientFactory {
      override startedConnecting(c: FakeConnector): void {
        started.push(c);
      }
    }
    const f = new F();
    const c = r.connectTCP('test.example.com', 8321, f, { timeoutMs: 1500, bindAddress: { host: '127.0.0.1', port: 4000 } });
    expect(r.tcpClients.length).toBe(1);
    const rec = r.tcpClients[0]!;
    expect(rec.host).toBe('test.example.com');
    expect(rec.port).toBe(8321);
    expect(rec.factory).toBe(f);
    expect(rec.timeoutMs).toBe(1500);
    expect(rec.bindAddress).toEqual({ host: '127.0.0.1', port: 4000 });
    expect(rec.connector).toBe(c);
    expect(started).toEqual([c]);
    expect(c.getDestination()).toEqual({ type: 'TCP', host: 'test.example.com', port: 8321 });
    expect(c.state).toBe('connecting');
    expect(c.connectCalls).toBe(1);
  });

  it('listenUNIX() records path, factory, mode and unlinkStale; its port reports the path', () => {
    const r = new MemoryReactor();
    const f = new Factory();
    const port = successResultOf(r.listenUNIX('/path/to/socket', f, { mode: 0o600, unlinkStale: true }));
    expect(r.unixServers).toEqual([{ path: '/path/to/socket', factory: f, mode: 0o600, unlinkStale: true, listeningPort: port }]);
    expect(port.getHost()).toEqual({ type: 'UNIX', path: '/path/to/socket' });
  });

  it('connectUNIX() records path, factory and timeout, and tells the factory startedConnecting()', () => {
    const r = new MemoryReactor();
    let started = 0;
    class F extends ClientFactory {
      override startedConnecting(): void {
        started++;
      }
    }
    const f = new F();
    const c = r.connectUNIX('/fake/path', f, { timeoutMs: 250 });
    expect(r.unixClients.length).toBe(1);
    expect(r.unixClients[0]!.path).toBe('/fake/path');
    expect(r.unixClients[0]!.factory).toBe(f);
    expect(r.unixClients[0]!.timeoutMs).toBe(250);
    expect(r.unixClients[0]!.connector).toBe(c);
    expect(c.getDestination()).toEqual({ type: 'UNIX', path: '/fake/path' });
    expect(started).toBe(1);
  });

  it('listenUDP() and listenMulticast() are recorded in udpPorts, multicast flagged', () => {
    const r = new MemoryReactor();
    const p1 = new DatagramProtocol();
    const p2 = new DatagramProtocol();
    const u = successResultOf(r.listenUDP(5353, p1, { host: '127.0.0.1' }));
    successResultOf(r.listenMulticast(5354, p2));
    expect(r.udpPorts).toEqual([
      { port: 5353, protocol: p1, host: '127.0.0.1', multicast: false },
      { port: 5354, protocol: p2, host: undefined, multicast: true },
    ]);
    expect(u.getHost()).toEqual({ type: 'UDP', host: '127.0.0.1', port: 5353 });
  });

  it('records every kind of call without opening a socket', () => {
    const before = networkHandles();
    const r = new MemoryReactor();
    r.listenTCP(80, new Factory());
    r.connectTCP('127.0.0.1', 80, new ClientFactory());
    r.listenUNIX('/tmp/never-created.sock', new Factory());
    r.connectUNIX('/tmp/never-created.sock', new ClientFactory());
    r.listenUDP(53, new DatagramProtocol());
    expect(networkHandles()).toEqual(before);
    expect([r.tcpServers.length, r.tcpClients.length, r.unixServers.length, r.unixClients.length, r.udpPorts.length]).toEqual([1, 1, 1, 1, 1]);
  });

  it('FakeConnector: stopConnecting() records the stop while connecting and throws when not connecting', () => {
    const r = new MemoryReactor();
    const c = r.connectTCP('127.0.0.1', 1, new ClientFactory());
    c.stopConnecting();
    expect(c.stoppedConnecting).toBe(true);
    expect(c.state).toBe('disconnected');
    expect(() => c.stopConnecting()).toThrow(/not connecting/);
    c.connect();
    expect(c.connectCalls).toBe(2);
    c.disconnect();
    expect(c.disconnected).toBe(true);
  });

  it('callWhenRunning() defers until run(); run() calls them in order, then calls made while running run at once', () => {
    const r = new MemoryReactor();
    const calls: string[] = [];
    r.callWhenRunning((x: string) => calls.push(x), 'a');
    r.callWhenRunning(() => calls.push('b'));
    expect(calls).toEqual([]);
    void r.run();
    expect(r.running).toBe(true);
    expect(calls).toEqual(['a', 'b']);
    r.callWhenRunning(() => calls.push('c'));
    expect(calls).toEqual(['a', 'b', 'c']);
  });

  it('stop() marks the reactor stopped and throws when it is not running', () => {
    const r = new MemoryReactor();
    expect(() => r.stop()).toThrow(/isn't running/);
    void r.run();
    successResultOf(r.stop());
    expect(r.running).toBe(false);
    expect(r.hasStopped).toBe(true);
  });

  it('addSystemEventTrigger() records phase, event and function', () => {
    const r = new MemoryReactor();
    const fn = () => undefined;
    r.addSystemEventTrigger('before', 'shutdown', fn);
    expect(r.triggers).toEqual([{ phase: 'before', event: 'shutdown', fn }]);
  });
});

describe('MemoryReactorClock', () => {
  it('now() starts at 0 and advance() moves it and runs what is due, in order', () => {
    const r = new MemoryReactorClock();
    expect(r.now()).toBe(0);
    const calls: string[] = [];
    r.callLater(20, () => calls.push('20'));
    r.callLater(10, (x: string) => calls.push(x), '10');
    r.callLater(10, () => calls.push('10b'));
    r.advance(9);
    expect(calls).toEqual([]);
    expect(r.now()).toBe(9);
    r.advance(1);
    expect(calls).toEqual(['10', '10b']);
    r.advance(10);
    expect(calls).toEqual(['10', '10b', '20']);
    expect(r.now()).toBe(20);
    expect(r.getDelayedCalls()).toEqual([]);
  });

  it('pump() advances in steps; getDelayedCalls() lists what is pending; a cancelled call never runs', () => {
    const r = new MemoryReactorClock();
    let ran = 0;
    const keep = r.callLater(15, () => ran++);
    const drop = r.callLater(5, () => ran++);
    expect(new Set(r.getDelayedCalls())).toEqual(new Set([keep, drop]));
    drop.cancel();
    r.pump([5, 5, 5]);
    expect(r.now()).toBe(15);
    expect(ran).toBe(1);
    expect(r.clock).toBeInstanceOf(Clock);
  });

  it('is an IReactorTime: deferLater() and addTimeout() run on it', () => {
    const r = new MemoryReactorClock();
    const later = deferLater(r, 100, () => 'done');
    const timed = new Deferred<string>().addTimeout(50, r);
    assertNoResult(later);
    r.advance(50);
    failureResultOf(timed, TimeoutError);
    assertNoResult(later);
    r.advance(50);
    expect(successResultOf(later)).toBe('done');
  });

  it('records connections like MemoryReactor', () => {
    const r = new MemoryReactorClock();
    r.connectTCP('127.0.0.1', 9, new ClientFactory());
    expect(r.tcpClients.length).toBe(1);
  });
});
