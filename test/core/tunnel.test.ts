// HandshakeEndpoint: a proxy handshake over whatever an inner endpoint
// connected, then the caller's protocol on the same transport; chains are
// endpoints nested. Driven with StringTransport, no sockets.
import { describe, expect, it } from 'vitest';
import type { ProxyUrl } from '../../src/core/address.js';
import { Deferred } from '../../src/core/defer.js';
import type { IStreamClientEndpoint } from '../../src/core/endpoints.js';
import { ConnectionDone, ProxyError, ProxyRefusedError, TimeoutError } from '../../src/core/errors.js';
import { type Address, Factory, Protocol } from '../../src/core/protocol.js';
import { Clock } from '../../src/core/task.js';
import { StringTransport } from '../../src/core/testing/transport.js';
import { assertNoResult, failureResultOf, successResultOf } from '../../src/core/testing/deferred.js';
import { Failure } from '../../src/core/defer.js';
import { HandshakeEndpoint, clientHandshakeFor, proxyChainEndpoint, withDefaultCredentials } from '../../src/core/tunnel.js';
import { Socks5ClientHandshake } from '../../src/core/socks.js';

const b = (...bytes: number[]) => Buffer.from(bytes);

/** An endpoint that "connects" at once to a StringTransport. */
class FakeEndpoint implements IStreamClientEndpoint {
  readonly transport = new StringTransport();
  protocol: Protocol | undefined;
  connect(factory: Factory): Deferred<Protocol> {
    const d = new Deferred<Protocol>();
    const p = factory.buildProtocol({ type: 'TCP', host: '127.0.0.1', port: 1080 })!;
    this.protocol = p;
    p.makeConnection(this.transport);
    d.callback(p);
    return d;
  }
  describe(): string {
    return '127.0.0.1:1080';
  }
}

class Recorder extends Protocol {
  data: Buffer[] = [];
  eof = false;
  lost: Failure | undefined;
  override dataReceived(d: Buffer): void {
    this.data.push(d);
  }
  override readConnectionLost(): void {
    this.eof = true;
  }
  override connectionLost(reason: Failure): void {
    this.lost = reason;
  }
}

function factoryOf(p: Protocol): Factory {
  const f = new Factory();
  f.buildProtocol = (_a: Address) => p;
  return f;
}

const now = <T>(v: T) => {
  const d = new Deferred<T>();
  d.callback(v);
  return d;
};

describe('HandshakeEndpoint', () => {
  it('runs the handshake, then gives the same transport to the caller and passes data, EOF and close through', () => {
    const inner = new FakeEndpoint();
    const user = new Recorder();
    const ep = new HandshakeEndpoint(inner, () => now(new Socks5ClientHandshake({ host: 'example.com', port: 80 }, '127.0.0.1:1080')), 'example.com:80');
    const d = ep.connect(factoryOf(user));
    expect(inner.transport.value()).toEqual(b(5, 1, 0));
    assertNoResult(d);
    inner.transport.clear();
    inner.protocol!.dataReceived(b(5, 0));
    expect(inner.transport.value()).toEqual(Buffer.concat([b(5, 1, 0, 3, 11), Buffer.from('example.com'), b(0, 80)]));
    inner.protocol!.dataReceived(Buffer.concat([b(5, 0, 0, 1, 1, 2, 3, 4, 0, 1), Buffer.from('banner')]));
    expect(successResultOf(d)).toBe(user);
    expect(user.transport).toBe(inner.transport);
    expect(Buffer.concat(user.data).toString()).toBe('banner');
    inner.protocol!.dataReceived(Buffer.from('more'));
    expect(Buffer.concat(user.data).toString()).toBe('bannermore');
    inner.protocol!.readConnectionLost!();
    expect(user.eof).toBe(true);
    inner.protocol!.connectionLost(new Failure(new ConnectionDone()));
    expect(user.lost?.check(ConnectionDone)).toBe(ConnectionDone);
    expect(user.connected).toBe(false);
  });

  it("the transport's byte counters start after the handshake: the bytes the proxy sent with its reply count, the handshake's do not", () => {
    const inner = new FakeEndpoint();
    // What a StreamTransport would have counted by then (StringTransport counts nothing itself).
    const stats = { bytesIn: 0, bytesOut: 0 };
    Object.assign(inner.transport, { stats });
    const d = new HandshakeEndpoint(inner, () => now(new Socks5ClientHandshake({ host: 'h', port: 1 }, 'p:1')), 'h:1').connect(factoryOf(new Recorder()));
    inner.protocol!.dataReceived(b(5, 0));
    Object.assign(stats, { bytesIn: 2 + 10 + 6, bytesOut: 3 + 7 });
    inner.protocol!.dataReceived(Buffer.concat([b(5, 0, 0, 1, 1, 2, 3, 4, 0, 1), Buffer.from('banner')]));
    successResultOf(d);
    expect(stats).toEqual({ bytesIn: 6, bytesOut: 0 });
  });

  it('fails with the typed error and closes when the proxy refuses', () => {
    const inner = new FakeEndpoint();
    const d = new HandshakeEndpoint(inner, () => now(new Socks5ClientHandshake({ host: 'h', port: 1 }, 'p:1')), 'h:1').connect(factoryOf(new Recorder()));
    inner.protocol!.dataReceived(b(5, 0, 5, 2, 0, 1, 0, 0, 0, 0, 0, 0));
    failureResultOf(d, ProxyRefusedError);
    expect(inner.transport.disconnecting).toBe(true);
  });

  it('fails with ProxyError when the proxy closes during the handshake', () => {
    const inner = new FakeEndpoint();
    const d = new HandshakeEndpoint(inner, () => now(new Socks5ClientHandshake({ host: 'h', port: 1 }, '127.0.0.1:1080')), 'h:1').connect(factoryOf(new Recorder()));
    inner.protocol!.readConnectionLost!();
    const f = failureResultOf(d, ProxyError);
    expect(f.getErrorMessage()).toBe('proxy 127.0.0.1:1080 closed the connection during the SOCKS5 handshake');
  });

  it('fails before connecting when the handshake cannot be made', () => {
    const inner = new FakeEndpoint();
    const d = new HandshakeEndpoint(inner, () => {
      const x = new Deferred<never>();
      x.errback(new Error('no such host'));
      return x;
    }, 'h:1').connect(factoryOf(new Recorder()));
    expect(failureResultOf(d).getErrorMessage()).toBe('no such host');
    expect(inner.protocol).toBeUndefined();
  });

  it('cancel() aborts the connection in the middle of the handshake', () => {
    const inner = new FakeEndpoint();
    const d = new HandshakeEndpoint(inner, () => now(new Socks5ClientHandshake({ host: 'h', port: 1 }, 'p:1')), 'h:1').connect(factoryOf(new Recorder()));
    d.cancel();
    expect(inner.transport.aborting).toBe(true);
    failureResultOf(d);
  });
});

describe('proxyChainEndpoint()', () => {
  it('asks each proxy for the next one, the last for the target, over one transport', () => {
    const inner = new FakeEndpoint();
    const proxies: ProxyUrl[] = [
      { protocol: 'socks5', host: '10.0.0.1', port: 1080, remoteDns: true },
      { protocol: 'http', host: 'proxy2.lan', port: 3128, remoteDns: true, user: 'u', password: 'p' },
    ];
    const user = new Recorder();
    const d = proxyChainEndpoint(new Clock(), inner, proxies, { host: 'example.com', port: 443 }).connect(factoryOf(user));
    const t = inner.transport;
    expect(t.value()).toEqual(b(5, 1, 0));
    t.clear();
    inner.protocol!.dataReceived(b(5, 0));
    // Hop 1 is asked for hop 2, by name.
    expect(t.value()).toEqual(Buffer.concat([b(5, 1, 0, 3, 10), Buffer.from('proxy2.lan'), b(0x0c, 0x38)]));
    t.clear();
    inner.protocol!.dataReceived(b(5, 0, 0, 1, 0, 0, 0, 0, 0, 0));
    // Hop 2 (HTTP) is asked for the target, with its own credentials.
    expect(t.value().toString()).toBe(`CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Authorization: Basic ${Buffer.from('u:p').toString('base64')}\r\n\r\n`);
    inner.protocol!.dataReceived(Buffer.from('HTTP/1.1 200 OK\r\n\r\nhello'));
    expect(successResultOf(d)).toBe(user);
    expect(Buffer.concat(user.data).toString()).toBe('hello');
  });

  it('fails with TimeoutError when the whole chain takes longer than timeoutMs', () => {
    const inner = new FakeEndpoint();
    const clock = new Clock();
    const d = proxyChainEndpoint(clock, inner, [{ protocol: 'socks5', host: 'p', port: 1, remoteDns: true }], { host: 'h', port: 2, timeoutMs: 500 }).connect(
      factoryOf(new Recorder()),
    );
    clock.advance(499);
    assertNoResult(d);
    clock.advance(1);
    const f = failureResultOf(d, TimeoutError);
    expect(f.getErrorMessage()).toBe('Connection timed out after 500 ms (attempted address: h:2 via socks5://p:1)');
    expect(inner.transport.aborting).toBe(true);
  });
});

describe('clientHandshakeFor() and withDefaultCredentials()', () => {
  it('picks the handshake by scheme', () => {
    expect(clientHandshakeFor({ protocol: 'socks4a', host: 'p', port: 1, remoteDns: true }, { host: 'h', port: 2 }).describe()).toBe('SOCKS4 handshake with proxy p:1');
    expect(clientHandshakeFor({ protocol: 'http', host: '::1', port: 1, remoteDns: true }, { host: 'h', port: 2 }).describe()).toBe('HTTP CONNECT handshake with proxy [::1]:1');
  });

  it('fills credentials only where a hop has none; SOCKS4 takes the user alone', () => {
    const socks5: ProxyUrl = { protocol: 'socks5', host: 'p', port: 1, remoteDns: true };
    expect(withDefaultCredentials(socks5, 'me:pa:ss')).toEqual({ ...socks5, user: 'me', password: 'pa:ss' });
    expect(withDefaultCredentials({ ...socks5, user: 'own', password: 'x' }, 'me:pw')).toMatchObject({ user: 'own', password: 'x' });
    expect(withDefaultCredentials({ ...socks5, protocol: 'socks4a' }, 'me:pw')).toEqual({ ...socks5, protocol: 'socks4a', user: 'me' });
    expect(withDefaultCredentials(socks5, undefined)).toBe(socks5);
    expect(() => withDefaultCredentials(socks5, 'nocolon')).toThrow(/user:pass/);
  });
});
