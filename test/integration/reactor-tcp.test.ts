// The reactor's TCP over real loopback sockets (127.0.0.1 and ::1 only):
// src/core/reactor.ts, tcp.ts and stream.ts. Each test waits for events with
// a bounded timeout, and closes what it opened.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CannotListenError,
  ConnectionDone,
  ConnectionLostError,
  ConnectionRefusedError,
  DNSLookupError,
  Failure,
  LineReceiver,
  ReconnectingClientFactory,
  StreamTransport,
  TimeoutError,
  counters,
  reactor,
  setLogger,
  recordConnections,
  snapshot,
  type InetAddress,
  type IPushProducer,
} from 'wirecat';
import { Clock } from 'wirecat/testing';
import {
  Cleanup,
  CollectingFactory,
  closeProtocol,
  Echo,
  HalfCloseRecorder,
  Recorder,
  RecordingClientFactory,
  Signal,
  freePort,
  haveIPv6Loopback,
  within,
} from './reactor-helpers.js';
import { assertRunnable, missingProgram, shouldSkip } from './requirements.js';

const ipv6Missing = (await haveIPv6Loopback()) ? undefined : 'this machine cannot listen on the IPv6 loopback (::1)';
const pythonMissing = missingProgram('python3', 'python3');
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Listen on `host`:0 with `make` building the server protocols. */
async function listen<P extends Recorder>(make: () => P | undefined, host = '127.0.0.1') {
  const factory = new CollectingFactory<P>(make);
  const port = cleanup.port(await within(reactor.listenTCP(0, factory, { host }), `listenTCP on ${host}`));
  // Runs before the port is stopped (cleanups run last-in first-out): close what it accepted.
  cleanup.add(() => Promise.all(factory.built.map(closeProtocol)));
  const addr = port.getHost() as InetAddress;
  return { factory, port, portNumber: addr.port };
}

/** Connect to `host`:`port` with `make` building the client protocol. */
function connect<P extends Recorder>(host: string, port: number, make: () => P, opts: Parameters<typeof reactor.connectTCP>[3] = {}) {
  const factory = new RecordingClientFactory<P>(make);
  const connector = reactor.connectTCP(host, port, factory, opts);
  cleanup.add(() => {
    if (connector.state === 'connecting') connector.stopConnecting();
  });
  // Awaited only by the tests that expect a connection.
  const connected = () => within(factory.connected.promise, `connection to ${host}:${port}`).then((p) => cleanup.protocol(p));
  return { factory, connector, connected };
}

/** A connected client/server pair. */
async function pair<C extends Recorder, S extends Recorder>(makeClient: () => C, makeServer: () => S, host = '127.0.0.1') {
  const server = await listen(makeServer, host);
  const client = connect(host, server.portNumber, makeClient);
  const c = await client.connected();
  const s = cleanup.protocol(await within(server.factory.nth(0), 'the server protocol'));
  await within(s.made.promise, 'server connectionMade');
  return { c, s, server, client };
}

async function echoRoundTrip(host: string): Promise<void> {
  const { c, s, client, server } = await pair(() => new Recorder(), () => new Echo(), host);
  const payload = randomBytes(200_000);
  c.transport!.write(payload);
  const got = await within(c.waitForBytes(payload.length), 'the echo');
  expect(got.length).toBe(payload.length);
  expect(got.equals(payload)).toBe(true);
  expect(s.received().equals(payload)).toBe(true);

  // Both ends know each other's address.
  const cHost = c.transport!.getHost() as InetAddress;
  const cPeer = c.transport!.getPeer() as InetAddress;
  const sHost = s.transport!.getHost() as InetAddress;
  const sPeer = s.transport!.getPeer() as InetAddress;
  expect(cPeer).toEqual({ type: 'TCP', host, port: server.portNumber });
  expect(sHost).toEqual({ type: 'TCP', host, port: server.portNumber });
  expect(sPeer).toEqual({ type: 'TCP', host, port: cHost.port });
  expect(cHost.host).toBe(host);
  expect(client.connector.getDestination()).toEqual({ type: 'TCP', host, port: server.portNumber });
  expect(server.factory.addrs[0]).toEqual(sPeer);
  expect(s.factory).toBe(server.factory);

  c.transport!.loseConnection();
  const cReason = await within(c.lost.promise, 'client connectionLost');
  const sReason = await within(s.lost.promise, 'server connectionLost');
  expect(cReason.check(ConnectionDone)).toBe(ConnectionDone);
  expect(sReason.check(ConnectionDone)).toBe(ConnectionDone);
  const lost = await within(client.factory.lostSignal.promise, 'clientConnectionLost');
  expect(lost.check(ConnectionDone)).toBe(ConnectionDone);
  expect(c.connected).toBe(false);
  expect(s.connected).toBe(false);
  expect(client.factory.events).toEqual(['startFactory', 'startedConnecting', 'buildProtocol', 'clientConnectionLost:ConnectionDone', 'stopFactory']);
}

// ---------------------------------------------------------------------------

describe('reactor TCP: connections', () => {
  it('echoes 200 kB over IPv4 loopback, with addresses, and both ends close with ConnectionDone', async () => {
    await echoRoundTrip('127.0.0.1');
  });

  it.skipIf(shouldSkip('echo over ::1', ipv6Missing))('echoes 200 kB over IPv6 loopback (::1)', async () => {
    assertRunnable('echo over ::1', ipv6Missing);
    await echoRoundTrip('::1');
  });

  it.skipIf(shouldSkip('refused connection to ::1', ipv6Missing))('a refused connection to ::1 names the address in brackets', async () => {
    assertRunnable('refused connection to ::1', ipv6Missing);
    const p = await freePort('::1');
    const { factory } = connect('::1', p, () => new Recorder());
    const f = await within(factory.failed.promise, 'clientConnectionFailed');
    expect(f.value).toBeInstanceOf(ConnectionRefusedError);
    expect(f.getErrorMessage()).toContain(`attempted address: [::1]:${p}`);
  });

  it('a server protocol of a factory returning undefined is refused: the client sees a clean close', async () => {
    const server = await listen<Recorder>(() => undefined);
    const client = connect('127.0.0.1', server.portNumber, () => new Recorder());
    const c = await client.connected();
    const reason = await within(c.lost.promise, 'client connectionLost');
    expect(reason.check(ConnectionDone)).toBe(ConnectionDone);
    expect(server.factory.addrs.length).toBe(1);
    expect(c.total).toBe(0);
  });

  it('an exception in dataReceived is logged and the connection is closed', async () => {
    const logged: string[] = [];
    const previous = setLogger((m) => logged.push(m));
    try {
      class Thrower extends Recorder {
        override dataReceived(data: Buffer): void {
          super.dataReceived(data);
          throw new RangeError('protocol bug');
        }
      }
      const { c, s } = await pair(() => new Recorder(), () => new Thrower());
      c.transport!.write('boom');
      await within(s.lost.promise, 'server connectionLost');
      await within(c.lost.promise, 'client connectionLost');
      expect(logged.length).toBe(1);
      expect(logged[0]).toMatch(/^Unhandled error in Thrower\.dataReceived:/);
      expect(logged[0]).toContain('RangeError: protocol bug');
    } finally {
      setLogger(previous);
    }
  });
});

describe('reactor TCP: LineReceiver over a real connection', () => {
  it('1000 lines written at once are answered one by one; QUIT closes after the reply is flushed', async () => {
    const done = new Signal<void>();
    class Upper extends LineReceiver {
      override lineReceived(line: string): void {
        if (line === 'QUIT') {
          this.sendLine('BYE');
          this.transport!.loseConnection();
        } else {
          this.sendLine(line.toUpperCase());
        }
      }
    }
    class Client extends LineReceiver {
      lines: string[] = [];
      reason: Failure | undefined;
      override lineReceived(line: string): void {
        this.lines.push(line);
      }
      override connectionLost(reason: Failure): void {
        this.reason = reason;
        done.fire();
      }
    }
    const sf = new CollectingFactory<Upper>(() => new Upper());
    const port = cleanup.port(await within(reactor.listenTCP(0, sf, { host: '127.0.0.1' }), 'listen'));
    const cf = new RecordingClientFactory<Client>(() => new Client());
    reactor.connectTCP('127.0.0.1', (port.getHost() as InetAddress).port, cf);
    const c = cleanup.protocol(await within(cf.connected.promise, 'connect'));
    const lines = Array.from({ length: 1000 }, (_, i) => `line ${i} ünïcode`);
    c.transport!.write(`${lines.join('\r\n')}\r\nQUIT\r\nNEVER\r\n`);
    await within(done.promise, 'client connectionLost');
    expect(c.lines).toEqual([...lines.map((l) => l.toUpperCase()), 'BYE']);
    expect(c.reason!.check(ConnectionDone)).toBe(ConnectionDone);
  });
});

describe('reactor TCP: half-close', () => {
  it('client loseWriteConnection(): server gets readConnectionLost with all data, still replies, client gets the reply then readConnectionLost', async () => {
    class Replier extends HalfCloseRecorder {
      override readConnectionLost(): void {
        super.readConnectionLost();
        const body = this.received().toString();
        this.transport!.write(`got ${body.length} bytes: ${body}`);
        this.transport!.loseConnection();
      }
    }
    class Client extends HalfCloseRecorder {
      override readConnectionLost(): void {
        super.readConnectionLost();
        this.transport!.loseConnection();
      }
    }
    const { c, s } = await pair(() => new Client(), () => new Replier());
    c.transport!.write('request ');
    c.transport!.write('body');
    c.transport!.loseWriteConnection();
    await within(s.readLost.promise, 'server readConnectionLost');
    await within(c.lost.promise, 'client connectionLost');
    await within(s.lost.promise, 'server connectionLost');
    expect(s.received().toString()).toBe('request body');
    expect(c.received().toString()).toBe('got 12 bytes: request body');
    expect(s.milestones()).toEqual(['connectionMade', 'data', 'readConnectionLost', 'connectionLost:ConnectionDone']);
    expect(c.milestones()).toEqual(['connectionMade', 'writeConnectionLost', 'data', 'readConnectionLost', 'connectionLost:ConnectionDone']);
  });

  it('server loseWriteConnection() (the mirror): client gets the greeting and readConnectionLost, still writes, server gets it then readConnectionLost', async () => {
    class Greeter extends HalfCloseRecorder {
      override connectionMade(): void {
        super.connectionMade();
        this.transport!.write('hello, then EOF');
        this.transport!.loseWriteConnection();
      }
      override readConnectionLost(): void {
        super.readConnectionLost();
        this.transport!.loseConnection();
      }
    }
    class Answerer extends HalfCloseRecorder {
      override readConnectionLost(): void {
        super.readConnectionLost();
        this.transport!.write(`thanks for ${this.total} bytes`);
        this.transport!.loseConnection();
      }
    }
    const { c, s } = await pair(() => new Answerer(), () => new Greeter());
    await within(c.lost.promise, 'client connectionLost');
    await within(s.lost.promise, 'server connectionLost');
    expect(c.received().toString()).toBe('hello, then EOF');
    expect(s.received().toString()).toBe('thanks for 15 bytes');
    expect(s.milestones()).toEqual(['connectionMade', 'writeConnectionLost', 'data', 'readConnectionLost', 'connectionLost:ConnectionDone']);
    expect(c.milestones()).toEqual(['connectionMade', 'data', 'readConnectionLost', 'connectionLost:ConnectionDone']);
  });

  it('a protocol without readConnectionLost is closed at the peer\'s EOF with ConnectionDone', async () => {
    const { c, s } = await pair(() => new HalfCloseRecorder(), () => new Recorder());
    c.transport!.write('last words');
    c.transport!.loseWriteConnection();
    const sReason = await within(s.lost.promise, 'server connectionLost');
    expect(sReason.check(ConnectionDone)).toBe(ConnectionDone);
    expect(s.received().toString()).toBe('last words');
    await within(c.readLost.promise, 'client readConnectionLost');
    expect(c.milestones()).toContain('readConnectionLost');
    c.transport!.loseConnection();
    const cReason = await within(c.lost.promise, 'client connectionLost');
    expect(cReason.check(ConnectionDone)).toBe(ConnectionDone);
  });

  it('write() after loseWriteConnection() sends nothing more', async () => {
    const { c, s } = await pair(() => new HalfCloseRecorder(), () => new Recorder());
    c.transport!.write('kept');
    c.transport!.loseWriteConnection();
    c.transport!.write('dropped');
    await within(s.lost.promise, 'server connectionLost');
    expect(s.received().toString()).toBe('kept');
  });
});

describe('reactor TCP: closing', () => {
  it('loseConnection() flushes a 16 MiB write before the peer sees EOF (SHA-256 equal)', async () => {
    const big = randomBytes(16 * 1024 * 1024);
    class Sender extends Recorder {
      override connectionMade(): void {
        super.connectionMade();
        // Many writes then loseConnection at once: all must arrive, in order.
        for (let off = 0; off < big.length; off += 1 << 20) this.transport!.write(big.subarray(off, off + (1 << 20)));
        this.transport!.loseConnection();
      }
    }
    const server = await listen(() => new Sender());
    const client = connect('127.0.0.1', server.portNumber, () => new Recorder());
    const c = await client.connected();
    const reason = await within(c.lost.promise, 'client connectionLost', 8000);
    expect(reason.check(ConnectionDone)).toBe(ConnectionDone);
    const got = c.received();
    expect(got.length).toBe(big.length);
    expect(sha256(got)).toBe(sha256(big));
    const s = await server.factory.nth(0);
    const sReason = await within(s.lost.promise, 'server connectionLost');
    expect(sReason.check(ConnectionDone)).toBe(ConnectionDone);
  });

  it('abortConnection(): the peer\'s connectionLost reason is ConnectionLostError (reset), ours says aborted', async () => {
    const { c, s } = await pair(() => new Recorder(), () => new Recorder());
    s.transport!.abortConnection();
    const sReason = await within(s.lost.promise, 'server connectionLost');
    const cReason = await within(c.lost.promise, 'client connectionLost');
    expect(cReason.value).toBeInstanceOf(ConnectionLostError);
    expect((cReason.value as ConnectionLostError).code).toBe('ERR_CONNECTION_LOST');
    expect((cReason.value as ConnectionLostError).syscallCode).toBe('ECONNRESET');
    expect(cReason.getErrorMessage()).toMatch(/reset/i);
    expect(sReason.value).toBeInstanceOf(ConnectionLostError);
    expect(sReason.getErrorMessage()).toMatch(/abort/i);
  });

  it('abortConnection() drops unsent data: the peer gets less than was written', async () => {
    const big = randomBytes(16 * 1024 * 1024);
    class Aborter extends Recorder {
      override dataReceived(data: Buffer): void {
        super.dataReceived(data);
        this.transport!.write(big);
        this.transport!.abortConnection();
      }
    }
    const server = await listen(() => new Aborter());
    const client = connect('127.0.0.1', server.portNumber, () => new Recorder());
    const c = await client.connected();
    c.transport!.write('go');
    await within(c.lost.promise, 'client connectionLost');
    expect(c.total).toBeLessThan(big.length);
    // The peer's reason is not asserted: with writes still queued in libuv,
    // Node's resetAndDestroy() sets SO_LINGER 0 but the peer can still see a
    // plain EOF (measured on Linux with Node 20; see the man page). What is
    // certain, and what abort promises, is that unsent data is dropped.
  });

  it('abortConnection() with nothing queued resets: the peer gets ConnectionLostError', async () => {
    class Aborter extends Recorder {
      override dataReceived(data: Buffer): void {
        super.dataReceived(data);
        this.transport!.abortConnection();
      }
    }
    const server = await listen(() => new Aborter());
    const client = connect('127.0.0.1', server.portNumber, () => new Recorder());
    const c = await client.connected();
    c.transport!.write('go');
    const reason = await within(c.lost.promise, 'client connectionLost');
    expect(reason.value).toBeInstanceOf(ConnectionLostError);
    expect((reason.value as ConnectionLostError).syscallCode).toBe('ECONNRESET');
  });

  it('after loseConnection() the protocol gets no more dataReceived (Twisted stops reading at loseConnection)', async () => {
    const big = randomBytes(8 * 1024 * 1024);
    class Closer extends Recorder {
      closedAt = -1;
      override dataReceived(data: Buffer): void {
        super.dataReceived(data);
        if (this.closedAt < 0) {
          this.closedAt = this.events.length;
          this.transport!.write(big);
          this.transport!.loseConnection();
        }
      }
    }
    class Client extends Recorder {
      override dataReceived(data: Buffer): void {
        // The server has called loseConnection() by the time its first bytes arrive.
        if (this.total === 0) this.transport!.write('second');
        super.dataReceived(data);
      }
    }
    const server = await listen(() => new Closer());
    const client = connect('127.0.0.1', server.portNumber, () => new Client());
    const c = await client.connected();
    c.transport!.write('first');
    const s = await within(server.factory.nth(0), 'server protocol');
    await within(s.lost.promise, 'server connectionLost', 8000);
    await within(c.lost.promise, 'client connectionLost', 8000);
    expect(s.received().toString()).toBe('first');
  });
});

describe('reactor TCP: backpressure', () => {
  it('a streaming producer is paused while the socket buffer is full and resumed when it drains; nothing is lost', async () => {
    const total = 8 * 1024 * 1024;
    const chunk = 64 * 1024;
    const data = randomBytes(total);
    const paused = new Signal<void>();
    class Pump extends Recorder implements IPushProducer {
      written = 0;
      pauses = 0;
      resumes = 0;
      isPaused = false;
      maxBuffered = 0;
      override connectionMade(): void {
        super.connectionMade();
        this.transport!.registerProducer(this, true);
        this.resumeProducing();
      }
      pauseProducing(): void {
        this.pauses++;
        this.isPaused = true;
        paused.fire();
      }
      resumeProducing(): void {
        if (this.pauses > 0) this.resumes++;
        this.isPaused = false;
        const t = this.transport as StreamTransport;
        // Bounded: at most total/chunk writes over the whole test.
        while (!this.isPaused && this.written < total) {
          t.write(data.subarray(this.written, this.written + chunk));
          this.written += chunk;
          this.maxBuffered = Math.max(this.maxBuffered, t.socket.writableLength);
        }
        if (this.written >= total) {
          t.unregisterProducer();
          t.loseConnection();
        }
      }
      stopProducing(): void {}
    }
    class SlowReader extends Recorder {
      override connectionMade(): void {
        super.connectionMade();
        this.transport!.pauseProducing();
      }
    }
    const server = await listen(() => new Pump());
    const client = connect('127.0.0.1', server.portNumber, () => new SlowReader());
    const c = await client.connected();
    const s = await within(server.factory.nth(0), 'server protocol');
    await within(paused.promise, 'the producer to be paused');
    expect(s.written).toBeLessThan(total);
    c.transport!.resumeProducing();
    await within(c.lost.promise, 'client connectionLost', 8000);
    expect(c.total).toBe(total);
    expect(sha256(c.received())).toBe(sha256(data));
    expect(s.pauses).toBeGreaterThanOrEqual(1);
    expect(s.resumes).toBeGreaterThanOrEqual(1);
    // The producer was held back: Node's buffer never grew past a few chunks.
    expect(s.maxBuffered).toBeLessThanOrEqual(4 * chunk);
  });

  it('loseConnection() with a producer registered waits for unregisterProducer(): what the producer writes meanwhile arrives (Twisted ITransport.loseConnection)', async () => {
    class Finisher extends Recorder implements IPushProducer {
      override connectionMade(): void {
        super.connectionMade();
        const t = this.transport!;
        // A pull producer: Twisted's FileDescriptor closes at once after a
        // flush when an unpaused streaming producer is registered, and waits
        // for unregisterProducer() only for pull (or paused) producers.
        t.registerProducer(this, false);
        t.write('abc');
        t.loseConnection();
        // The producer finishes later, then unregisters: only now may the connection close.
        reactor.callLater(0, () => {
          t.write('def');
          t.unregisterProducer();
        });
      }
      pauseProducing(): void {}
      resumeProducing(): void {}
      stopProducing(): void {}
    }
    const server = await listen(() => new Finisher());
    const c = await connect('127.0.0.1', server.portNumber, () => new Recorder()).connected();
    const reason = await within(c.lost.promise, 'client connectionLost');
    expect(c.received().toString()).toBe('abcdef');
    expect(reason.check(ConnectionDone)).toBe(ConnectionDone);
  });

  it('registerProducer() twice throws', async () => {
    const { c } = await pair(() => new Recorder(), () => new Recorder());
    const p: IPushProducer = { pauseProducing() {}, resumeProducing() {}, stopProducing() {} };
    c.transport!.registerProducer(p, true);
    expect(() => c.transport!.registerProducer(p, true)).toThrow();
    c.transport!.unregisterProducer();
  });
});

describe('reactor TCP: listening', () => {
  it('listenTCP(0) reports the real port in getHost(), and the factory is started', async () => {
    const { port, factory, portNumber } = await listen(() => new Echo());
    expect(port.getHost()).toEqual({ type: 'TCP', host: '127.0.0.1', port: portNumber });
    expect(portNumber).toBeGreaterThan(0);
    expect(factory.starts).toBe(1);
    // Something really listens there.
    const c = await connect('127.0.0.1', portNumber, () => new Recorder()).connected();
    c.transport!.write('x');
    expect((await within(c.waitForBytes(1), 'echo')).toString()).toBe('x');
  });

  it('listening on a busy port fails with CannotListenError (EADDRINUSE), and the factory is not started', async () => {
    const { portNumber } = await listen(() => new Echo());
    const factory = new CollectingFactory(() => new Echo());
    let failure: unknown;
    try {
      const p = await within(reactor.listenTCP(portNumber, factory, { host: '127.0.0.1' }), 'listenTCP on a busy port');
      cleanup.port(p);
    } catch (e) {
      failure = e;
    }
    expect(failure).toBeInstanceOf(CannotListenError);
    const err = failure as CannotListenError;
    expect(err.code).toBe('ERR_CANNOT_LISTEN');
    expect(err.syscallCode).toBe('EADDRINUSE');
    expect(err.message).toContain('Address already in use');
    expect(err.message).toContain(`127.0.0.1:${portNumber}`);
    expect(factory.starts).toBe(0);
    expect(factory.numPorts).toBe(0);
  });

  it('stopListening() frees the port while accepted connections carry on; the factory is stopped', async () => {
    const { port, factory, portNumber } = await listen(() => new Echo());
    const c = await connect('127.0.0.1', portNumber, () => new Recorder()).connected();
    await within(factory.nth(0), 'server protocol');
    await within(port.stopListening(), 'stopListening');
    expect(factory.stops).toBe(1);
    expect(factory.numPorts).toBe(0);

    // A new connection is refused...
    const refused = connect('127.0.0.1', portNumber, () => new Recorder());
    const f = await within(refused.factory.failed.promise, 'the refused attempt');
    expect(f.value).toBeInstanceOf(ConnectionRefusedError);

    // ...the accepted one still works...
    c.transport!.write('still here');
    expect((await within(c.waitForBytes(10), 'echo after stopListening')).toString()).toBe('still here');

    // ...and the port can be listened on again.
    const again = cleanup.port(await within(reactor.listenTCP(portNumber, new CollectingFactory(() => new Echo()), { host: '127.0.0.1' }), 'listen again'));
    expect((again.getHost() as InetAddress).port).toBe(portNumber);
  });

  it('one factory on two ports is started once and stopped after the last port stops', async () => {
    const factory = new CollectingFactory(() => new Echo());
    const p1 = cleanup.port(await within(reactor.listenTCP(0, factory, { host: '127.0.0.1' }), 'listen 1'));
    const p2 = cleanup.port(await within(reactor.listenTCP(0, factory, { host: '127.0.0.1' }), 'listen 2'));
    expect([factory.starts, factory.numPorts]).toEqual([1, 2]);
    await within(p1.stopListening(), 'stop 1');
    expect([factory.stops, factory.numPorts]).toEqual([0, 1]);
    await within(p2.stopListening(), 'stop 2');
    expect([factory.stops, factory.numPorts]).toEqual([1, 0]);
  });

  it('stopListening() twice returns a Deferred that fires both times', async () => {
    const { port } = await listen(() => new Echo());
    await within(port.stopListening(), 'first stopListening');
    await within(port.stopListening(), 'second stopListening');
  });
});

describe('reactor TCP: failed connections', () => {
  it('connection refused: clientConnectionFailed with ConnectionRefusedError naming the address; the factory starts and stops once', async () => {
    const p = await freePort();
    const failedBefore = counters.connectionsFailed;
    const { factory, connector } = connect('127.0.0.1', p, () => new Recorder());
    const f = await within(factory.failed.promise, 'clientConnectionFailed');
    expect(f).toBeInstanceOf(Failure);
    expect(f.value).toBeInstanceOf(ConnectionRefusedError);
    const err = f.value as ConnectionRefusedError;
    expect(err.code).toBe('ERR_CONNECTION_REFUSED');
    expect(err.syscallCode).toBe('ECONNREFUSED');
    expect(err.message).toContain(`attempted address: 127.0.0.1:${p}`);
    expect(factory.events).toEqual(['startFactory', 'startedConnecting', 'clientConnectionFailed:ConnectionRefusedError', 'stopFactory']);
    expect(factory.built).toEqual([]);
    expect(connector.state).toBe('disconnected');
    expect(counters.connectionsFailed).toBe(failedBefore + 1);
  });

  it('connector.connect() after a failure tries again', async () => {
    const p = await freePort();
    const { factory, connector } = connect('127.0.0.1', p, () => new Recorder());
    await within(factory.failed.promise, 'first failure');
    const server = cleanup.port(await within(reactor.listenTCP(p, new CollectingFactory(() => new Echo()), { host: '127.0.0.1' }), 'listen'));
    expect((server.getHost() as InetAddress).port).toBe(p);
    connector.connect();
    const c = cleanup.protocol(await within(factory.connected.promise, 'second attempt'));
    expect(connector.state).toBe('connected');
    expect(factory.events.filter((e) => e === 'startedConnecting').length).toBe(2);
    c.transport!.loseConnection();
    await within(c.lost.promise, 'close');
  });

  it('a .invalid host name fails with DNSLookupError', async () => {
    const { factory } = connect('wirecat-test.invalid', 80, () => new Recorder());
    const f = await within(factory.failed.promise, 'clientConnectionFailed');
    expect(f.value).toBeInstanceOf(DNSLookupError);
    expect((f.value as DNSLookupError).code).toBe('ERR_DNS_LOOKUP');
    expect(f.getErrorMessage()).toContain('wirecat-test.invalid');
  });

  describe.skipIf(shouldSkip('connect timeout tests (they need a python3 server that never accepts)', pythonMissing))(
    'connect timeout (a python3 server that listens with backlog 0 and never accepts)',
    () => {
      let py: ChildProcessByStdio<Writable, Readable, null> | undefined;
      let port = 0;
      const fillers: net.Socket[] = [];

      beforeAll(async () => {
        assertRunnable('the connect timeout tests', pythonMissing);
        const src = [
          'import socket, sys',
          's = socket.socket()',
          "s.bind(('127.0.0.1', 0))",
          's.listen(0)',
          'print(s.getsockname()[1], flush=True)',
          'sys.stdin.read()',
        ].join('\n');
        py = spawn('python3', ['-c', src], { stdio: ['pipe', 'pipe', 'inherit'] });
        const started = new Promise<number>((resolve, reject) => {
          py!.once('error', reject);
          py!.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
        });
        port = await within(started, 'python3 to listen', 5000);
        // The accept queue holds one connection: fill it, and leave another
        // attempt hanging, so that the kernel drops the next SYN.
        const first = net.connect(port, '127.0.0.1');
        fillers.push(first);
        await within(new Promise<void>((resolve, reject) => first.once('connect', resolve).once('error', reject)), 'the first filler connection');
        const second = net.connect(port, '127.0.0.1');
        second.on('error', () => undefined);
        fillers.push(second);
      });

      afterAll(() => {
        for (const s of fillers) s.destroy();
        py?.stdin.end();
        py?.kill();
      });

      it('connectTCP with timeoutMs fails with TimeoutError after about that long', async () => {
        const t0 = performance.now();
        const { factory, connector } = connect('127.0.0.1', port, () => new Recorder(), { timeoutMs: 300 });
        const f = await within(factory.failed.promise, 'the connect timeout', 3000);
        const elapsed = performance.now() - t0;
        expect(f.value).toBeInstanceOf(TimeoutError);
        const err = f.value as TimeoutError;
        expect(err.code).toBe('ERR_TIMEOUT');
        expect(err.timeoutMs).toBe(300);
        expect(err.message).toContain(`attempted address: 127.0.0.1:${port}`);
        expect(elapsed).toBeGreaterThanOrEqual(290);
        expect(elapsed).toBeLessThan(2000);
        expect(connector.state).toBe('disconnected');
        expect(factory.built).toEqual([]);
      });

      it('stopConnecting() on a hanging attempt: clientConnectionFailed, and no timer is left behind', async () => {
        const before = new Set(reactor.getDelayedCalls());
        const { factory, connector } = connect('127.0.0.1', port, () => new Recorder(), { timeoutMs: 10_000 });
        expect(reactor.getDelayedCalls().filter((c) => !before.has(c)).length).toBe(1);
        connector.stopConnecting();
        const f = await within(factory.failed.promise, 'clientConnectionFailed');
        expect((f.value as { code?: string }).code).toBe('ERR_CANCELLED');
        expect(f.getErrorMessage()).toContain(`attempted address: 127.0.0.1:${port}`);
        expect(reactor.getDelayedCalls().filter((c) => !before.has(c))).toEqual([]);
        expect(connector.state).toBe('disconnected');
      });
    },
  );

  it('stopConnecting() right after connectTCP: clientConnectionFailed (ERR_CANCELLED), no protocol built, factory stopped', async () => {
    const { portNumber } = await listen(() => new Echo());
    const { factory, connector } = connect('127.0.0.1', portNumber, () => new Recorder());
    connector.stopConnecting();
    const f = await within(factory.failed.promise, 'clientConnectionFailed');
    expect((f.value as { code?: string }).code).toBe('ERR_CANCELLED');
    expect(factory.events).toEqual(['startFactory', 'startedConnecting', 'clientConnectionFailed:ConnectionAttemptStopped', 'stopFactory']);
    expect(factory.built).toEqual([]);
    expect(() => connector.stopConnecting()).toThrow(/not connecting/);
  });

  it('a connect timeout is cancelled once the connection is up', async () => {
    const { portNumber } = await listen(() => new Echo());
    const before = new Set(reactor.getDelayedCalls());
    const client = connect('127.0.0.1', portNumber, () => new Recorder(), { timeoutMs: 5000 });
    expect(reactor.getDelayedCalls().filter((c) => !before.has(c)).length).toBe(1);
    const c = await client.connected();
    expect(reactor.getDelayedCalls().filter((d) => !before.has(d))).toEqual([]);
    expect(client.connector.state).toBe('connected');
    expect(() => client.connector.connect()).toThrow();
    c.transport!.loseConnection();
    await within(c.lost.promise, 'close');
  });

  it('disconnect() on a connected connector closes the connection', async () => {
    const server = await listen(() => new Echo());
    const client = connect('127.0.0.1', server.portNumber, () => new Recorder());
    const c = await client.connected();
    client.connector.disconnect();
    const reason = await within(c.lost.promise, 'client connectionLost');
    expect(reason.check(ConnectionDone)).toBe(ConnectionDone);
  });
});

describe('reactor TCP: bindAddress', () => {
  it('bindAddress { host, port } sets the source address and port the server sees', async () => {
    const { factory, portNumber } = await listen(() => new Recorder());
    const source = await freePort();
    const c = await connect('127.0.0.1', portNumber, () => new Recorder(), { bindAddress: { host: '127.0.0.1', port: source } }).connected();
    const s = await within(factory.nth(0), 'server protocol');
    expect(s.transport!.getPeer()).toEqual({ type: 'TCP', host: '127.0.0.1', port: source });
    expect(c.transport!.getHost()).toEqual({ type: 'TCP', host: '127.0.0.1', port: source });
  });

  it('bindAddress { host } alone picks an ephemeral source port on that address', async () => {
    const { factory, portNumber } = await listen(() => new Recorder());
    const c = await connect('127.0.0.1', portNumber, () => new Recorder(), { bindAddress: { host: '127.0.0.1' } }).connected();
    const s = await within(factory.nth(0), 'server protocol');
    const peer = s.transport!.getPeer() as InetAddress;
    expect(peer.host).toBe('127.0.0.1');
    expect(peer.port).toBe((c.transport!.getHost() as InetAddress).port);
  });

  it('a source port in use fails the attempt (clientConnectionFailed), it does not hang', async () => {
    const { portNumber } = await listen(() => new Recorder());
    const busy = await listen(() => new Recorder());
    const { factory } = connect('127.0.0.1', portNumber, () => new Recorder(), { bindAddress: { host: '127.0.0.1', port: busy.portNumber } });
    const f = await within(factory.failed.promise, 'clientConnectionFailed');
    expect(f.getErrorMessage()).toContain(`127.0.0.1:${portNumber}`);
    expect(factory.built).toEqual([]);
  });
});

describe('reactor TCP: diagnostics', () => {
  it('counters and snapshot() record a connection\'s bytes in and out on both ends', async () => {
    recordConnections();
    const before = { ...counters };
    class Server extends Recorder {
      override dataReceived(data: Buffer): void {
        super.dataReceived(data);
        if (this.total === 1000) this.transport!.write(Buffer.alloc(300, 0x62));
      }
    }
    const { c, s, server } = await pair(() => new Recorder(), () => new Server());
    c.transport!.write(Buffer.alloc(1000, 0x61));
    await within(c.waitForBytes(300), 'the reply');
    c.transport!.loseConnection();
    await within(c.lost.promise, 'client connectionLost');
    await within(s.lost.promise, 'server connectionLost');

    expect(counters.bytesOut - before.bytesOut).toBe(1300);
    expect(counters.bytesIn - before.bytesIn).toBe(1300);
    expect(counters.connectionsOpened - before.connectionsOpened).toBe(2);
    expect(counters.connectionsClosed - before.connectionsClosed).toBe(2);

    const cStats = (c.transport as StreamTransport).stats;
    const sStats = (s.transport as StreamTransport).stats;
    expect(cStats).toMatchObject({ kind: 'tcp', direction: 'connected', bytesOut: 1000, bytesIn: 300, peer: `127.0.0.1:${server.portNumber}` });
    expect(sStats).toMatchObject({ kind: 'tcp', direction: 'accepted', bytesOut: 300, bytesIn: 1000, local: `127.0.0.1:${server.portNumber}` });
    expect(cStats.closedAt).toBeDefined();
    expect(cStats.error).toBeUndefined();

    const snap = snapshot();
    const cSnap = snap.connections.find((x) => x.id === cStats.id);
    const sSnap = snap.connections.find((x) => x.id === sStats.id);
    expect(cSnap).toMatchObject({ bytesIn: 300, bytesOut: 1000, direction: 'connected' });
    expect(sSnap).toMatchObject({ bytesIn: 1000, bytesOut: 300, direction: 'accepted' });
    expect(cSnap!.durationMs).toBeGreaterThanOrEqual(0);
    expect(snap.totals.bytesIn).toBe(counters.bytesIn);
    expect(JSON.parse(JSON.stringify(snap)).totals.bytesOut).toBe(counters.bytesOut);
  });

  it('an aborted connection is recorded with its error', async () => {
    const { c, s } = await pair(() => new Recorder(), () => new Recorder());
    s.transport!.abortConnection();
    await within(c.lost.promise, 'client connectionLost');
    expect((s.transport as StreamTransport).stats.error).toBe('aborted');
    expect((c.transport as StreamTransport).stats.error).toBe('ECONNRESET');
  });
});

describe('reactor TCP: ReconnectingClientFactory', () => {
  it('gives up after maxRetries refused attempts (real timers, short delays)', async () => {
    const p = await freePort();
    const failures = new Signal<void>();
    let n = 0;
    class F extends ReconnectingClientFactory {
      override clientConnectionFailed(connector: Parameters<ReconnectingClientFactory['clientConnectionFailed']>[0], reason: Failure): void {
        super.clientConnectionFailed(connector, reason);
        n++;
        if (n === 3) failures.fire();
      }
    }
    const f = new F();
    f.protocol = Recorder;
    f.initialDelay = 5;
    f.factor = 1;
    f.jitter = 0;
    f.maxRetries = 2;
    f.resetDelay();
    const before = new Set(reactor.getDelayedCalls());
    reactor.connectTCP('127.0.0.1', p, f);
    cleanup.add(() => f.stopTrying());
    await within(failures.promise, 'three refused attempts');
    expect(f.retries).toBe(3);
    expect(reactor.getDelayedCalls().filter((c) => !before.has(c))).toEqual([]);
  });

  it('reconnects once a server appears (retry timed by a Clock), and resetDelay() from connectionMade', async () => {
    const p = await freePort();
    const clock = new Clock();
    const connected = new Signal<Recorder>();
    const f = new ReconnectingClientFactory();
    class Client extends Recorder {
      override connectionMade(): void {
        super.connectionMade();
        f.resetDelay();
        connected.fire(this);
      }
    }
    f.protocol = Client;
    f.clock = clock;
    f.jitter = 0;
    f.initialDelay = 100;
    f.factor = 2;
    f.resetDelay();
    let failed = 0;
    const firstFailure = new Signal<void>();
    const orig = f.clientConnectionFailed.bind(f);
    f.clientConnectionFailed = (c, r) => {
      failed++;
      orig(c, r);
      firstFailure.fire();
    };
    const connector = reactor.connectTCP('127.0.0.1', p, f);
    cleanup.add(() => f.stopTrying());
    await within(firstFailure.promise, 'the refused first attempt');
    expect(f.retries).toBe(1);
    expect(clock.getDelayedCalls().length).toBe(1);
    expect(clock.getDelayedCalls()[0]!.getTime()).toBe(200);

    const server = await within(reactor.listenTCP(p, new CollectingFactory(() => new Echo()), { host: '127.0.0.1' }), 'listen');
    cleanup.port(server);
    clock.advance(200);
    const c = cleanup.protocol(await within(connected.promise, 'the reconnection'));
    expect(failed).toBe(1);
    expect(f.retries).toBe(0);
    expect(f.delay).toBe(100);
    c.transport!.write('hi');
    expect((await within(c.waitForBytes(2), 'echo')).toString()).toBe('hi');

    // stopTrying() then a lost connection: no retry.
    f.stopTrying();
    c.transport!.loseConnection();
    await within(c.lost.promise, 'client connectionLost');
    expect(clock.getDelayedCalls()).toEqual([]);
    expect(connector.state).toBe('disconnected');
  });
});
