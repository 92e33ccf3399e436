// The proxy server's per-connection logic without sockets: a
// MemoryReactorClock records the connections it makes, StringTransports
// stand for the client and the destination, the Clock drives timeouts.
import { describe, expect, it } from 'vitest';
import { DestinationList, DestinationPolicy } from '../../src/core/acl.js';
import { Failure } from '../../src/core/defer.js';
import { ConnectionDone, ConnectionRefusedError, TimeoutError } from '../../src/core/errors.js';
import type { WirecatEvent } from '../../src/core/events.js';
import { type ProxyConnection, ProxyFactory, type ProxyServerOptions, parseAuthFile, parseUserPass } from '../../src/core/proxy.js';
import type { Protocol } from '../../src/core/protocol.js';
import type { Reactor } from '../../src/core/reactor.js';
import { MemoryReactorClock, StringTransport } from '../../src/core/testing/transport.js';

const b = (...bytes: number[]) => Buffer.from(bytes);

function setup(opts: Partial<ProxyServerOptions> = {}) {
  const reactor = new MemoryReactorClock();
  const events: WirecatEvent[] = [];
  const factory = new ProxyFactory(reactor as unknown as Reactor, { events: { emit: (e) => events.push(e) }, ...opts });
  const open = () => {
    const t = new StringTransport({ type: 'TCP', host: '127.0.0.1', port: 1080 }, { type: 'TCP', host: '127.0.0.1', port: 50000 });
    const p = factory.buildProtocol({ type: 'TCP', host: '127.0.0.1', port: 50000 }) as ProxyConnection;
    p.makeConnection(t);
    return { t, p };
  };
  /** Complete the n-th outgoing connection; returns the destination's transport and protocol. */
  const accept = (n = 0) => {
    const rec = reactor.tcpClients[n]!;
    const dt = new StringTransport({ type: 'TCP', host: '127.0.0.1', port: 40000 }, { type: 'TCP', host: rec.host, port: rec.port });
    const dp = rec.factory.buildProtocol({ type: 'TCP', host: rec.host, port: rec.port }) as Protocol;
    dp.makeConnection(dt);
    return { dt, dp };
  };
  return { reactor, events, factory, open, accept };
}

function feed(p: Protocol, data: Buffer, bytewise = false): void {
  if (!bytewise) p.dataReceived(data);
  else for (const x of data) p.dataReceived(b(x));
}

describe('ProxyConnection: SOCKS5', () => {
  it.each([false, true])('CONNECT (bytewise %s): connects, answers with the bound address, relays early data and the reply', (bytewise) => {
    const { reactor, events, open, accept } = setup();
    const { t, p } = open();
    feed(p, Buffer.concat([b(5, 1, 0), b(5, 1, 0, 3, 4), Buffer.from('host'), b(0, 80), Buffer.from('early')]), bytewise);
    expect(t.value()).toEqual(b(5, 0));
    expect(reactor.tcpClients).toHaveLength(1);
    expect(reactor.tcpClients[0]).toMatchObject({ host: 'host', port: 80, timeoutMs: 10_000 });
    expect(t.producerState).toBe('paused');
    const { dt, dp } = accept();
    expect(t.value()).toEqual(Buffer.concat([b(5, 0), b(5, 0, 0, 1, 127, 0, 0, 1, 0x9c, 0x40)]));
    expect(dt.value().toString()).toBe('early');
    expect(t.producerState).toBe('producing');
    dp.dataReceived(Buffer.from('answer'));
    expect(t.value().subarray(12).toString()).toBe('answer');
    p.dataReceived(Buffer.from('more'));
    expect(dt.value().toString()).toBe('earlymore');
    expect(events.map((e) => e.event)).toEqual(['accepted', 'proxied']);
    expect(events[1]).toMatchObject({ protocol: 'socks5', destination: 'host:80', command: 'connect' });
    // Half-close: the client's EOF goes on as a half-close, the tunnel stays.
    p.readConnectionLost!();
    expect(dt.writeDisconnecting).toBe(true);
    dp.dataReceived(Buffer.from('after-eof'));
    expect(t.value().toString()).toContain('after-eof');
  });

  it.each([
    [new ConnectionRefusedError('host:80'), 5],
    [new TimeoutError('slow'), 6],
    [new Error('other'), 1],
  ])('a failed connect (%s) is answered REP %i, then the connection half-closes and closes after the linger', (err, rep) => {
    const { reactor, events, open } = setup();
    const { t, p } = open();
    p.dataReceived(Buffer.concat([b(5, 1, 0), b(5, 1, 0, 1, 10, 0, 0, 1, 0, 80)]));
    const rec = reactor.tcpClients[0]!;
    rec.factory.clientConnectionFailed(rec.connector, new Failure(err));
    expect(t.value().subarray(2)).toEqual(b(5, rep, 0, 1, 0, 0, 0, 0, 0, 0));
    expect(t.writeDisconnecting).toBe(true);
    expect(t.disconnecting).toBe(false);
    reactor.advance(1000);
    expect(t.disconnecting).toBe(true);
    expect(events.find((e) => e.event === 'refused')).toMatchObject({ protocol: 'socks5', destination: '10.0.0.1:80' });
  });

  it('requires RFC 1929 with users; a client offering only no-auth gets 0xFF', () => {
    const { open, reactor } = setup({ users: new Map([['u', 'p:w']]) });
    const a = open();
    a.p.dataReceived(b(5, 1, 0));
    expect(a.t.value()).toEqual(b(5, 0xff));
    const c = open();
    c.p.dataReceived(Buffer.concat([b(5, 2, 0, 2), b(1, 1), Buffer.from('u'), b(3), Buffer.from('p:w'), b(5, 1, 0, 1, 1, 2, 3, 4, 0, 9)]));
    expect(c.t.value()).toEqual(b(5, 2, 1, 0));
    expect(reactor.tcpClients).toHaveLength(1);
    const d = open();
    d.p.dataReceived(Buffer.concat([b(5, 1, 2), b(1, 1), Buffer.from('u'), b(1), Buffer.from('x')]));
    expect(d.t.value()).toEqual(b(5, 2, 1, 1));
    expect(reactor.tcpClients).toHaveLength(1);
  });

  it('refuses a denied destination with REP 2 and never connects', () => {
    const { open, reactor } = setup({ policy: new DestinationPolicy(undefined, DestinationList.parse('10.0.0.0/8', 'd')) });
    const { t, p } = open();
    p.dataReceived(Buffer.concat([b(5, 1, 0), b(5, 1, 0, 1, 10, 9, 9, 9, 0, 80)]));
    expect(t.value().subarray(2, 4)).toEqual(b(5, 2));
    expect(reactor.tcpClients).toHaveLength(0);
  });

  it('--max-conns: REP 1 over the limit; the slot frees when the tunnel ends', () => {
    const { open, accept, reactor, factory } = setup({ maxConns: 1 });
    const first = open();
    first.p.dataReceived(Buffer.concat([b(5, 1, 0), b(5, 1, 0, 1, 1, 1, 1, 1, 0, 80)]));
    const { dp } = accept();
    expect(factory.activeTunnels).toBe(1);
    const second = open();
    second.p.dataReceived(Buffer.concat([b(5, 1, 0), b(5, 1, 0, 1, 1, 1, 1, 1, 0, 80)]));
    expect(second.t.value().subarray(2, 4)).toEqual(b(5, 1));
    expect(reactor.tcpClients).toHaveLength(1);
    // As a real transport does: `connected` false, then connectionLost.
    first.p.connected = false;
    first.p.connectionLost(new Failure(new ConnectionDone()));
    dp.connected = false;
    dp.connectionLost(new Failure(new ConnectionDone()));
    expect(factory.activeTunnels).toBe(0);
    const third = open();
    third.p.dataReceived(Buffer.concat([b(5, 1, 0), b(5, 1, 0, 1, 1, 1, 1, 1, 0, 80)]));
    expect(reactor.tcpClients).toHaveLength(2);
  });

  it('the handshake timeout closes a client that stalls', () => {
    const { open, reactor, events } = setup({ handshakeTimeoutMs: 2000 });
    const { t, p } = open();
    p.dataReceived(b(5, 1));
    reactor.advance(1999);
    expect(t.writeDisconnecting).toBe(false);
    reactor.advance(1);
    expect(t.writeDisconnecting).toBe(true);
    expect(events.at(-1)).toMatchObject({ event: 'refused', reason: 'handshake not finished within 2 s' });
  });
});

describe('ProxyConnection: SOCKS4 and HTTP', () => {
  it('SOCKS4a CONNECT answers 0x5A once connected', () => {
    const { open, accept, reactor } = setup();
    const { t, p } = open();
    feed(p, Buffer.concat([b(4, 1, 0, 22, 0, 0, 0, 1), Buffer.from('me'), b(0), Buffer.from('example.com'), b(0)]), true);
    expect(reactor.tcpClients[0]).toMatchObject({ host: 'example.com', port: 22 });
    accept();
    expect(t.value()).toEqual(b(0, 0x5a, 0, 0, 0, 0, 0, 0));
  });

  it('HTTP CONNECT answers 200; a bad target 400; missing credentials 407', () => {
    const ok = setup();
    const c = ok.open();
    feed(c.p, Buffer.from('CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\n\r\nEARLY'), true);
    const { dt } = ok.accept();
    expect(c.t.value().toString()).toBe('HTTP/1.1 200 Connection established\r\n\r\n');
    expect(dt.value().toString()).toBe('EARLY');
    const bad = ok.open();
    bad.p.dataReceived(Buffer.from('CONNECT example.com HTTP/1.1\r\n\r\n'));
    expect(bad.t.value().toString()).toMatch(/^HTTP\/1.1 400 Bad Request\r\n/);
    const auth = setup({ users: new Map([['u', 'p']]) }).open();
    auth.p.dataReceived(Buffer.from('CONNECT example.com:443 HTTP/1.1\r\n\r\n'));
    expect(auth.t.value().toString()).toMatch(/^HTTP\/1.1 407 .*\r\nProxy-Authenticate: Basic realm="wirecat"/s);
  });

  it('HTTP forwarding sends origin-form and only the request body; the origin EOF ends the exchange', () => {
    const { open, accept, reactor } = setup();
    const { t, p } = open();
    p.dataReceived(Buffer.from('POST http://origin:8080/x?y HTTP/1.1\r\nHost: origin:8080\r\nProxy-Connection: keep-alive\r\nContent-Length: 4\r\n\r\nbodyGET http://evil/ HTTP/1.1\r\n\r\n'));
    expect(reactor.tcpClients[0]).toMatchObject({ host: 'origin', port: 8080 });
    const { dt, dp } = accept();
    expect(dt.value().toString()).toBe('POST /x?y HTTP/1.1\r\nHost: origin:8080\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody');
    dp.dataReceived(Buffer.from('HTTP/1.1 200 OK\r\n\r\nhi'));
    expect(t.value().toString()).toBe('HTTP/1.1 200 OK\r\n\r\nhi');
    dp.readConnectionLost!();
    expect(t.disconnecting).toBe(true);
  });

  it('HTTP handshake timeout answers 408', () => {
    const { open, reactor } = setup({ handshakeTimeoutMs: 100 });
    const { t, p } = open();
    p.dataReceived(Buffer.from('GET http://x/ HTTP/1.1\r\n'));
    reactor.advance(100);
    expect(t.value().toString()).toMatch(/^HTTP\/1.1 408 Request Timeout\r\n/);
  });
});

describe('credentials', () => {
  it('parseUserPass() splits at the first colon and limits each part to 255 bytes', () => {
    expect(parseUserPass('a:b:c', 'x')).toEqual({ user: 'a', password: 'b:c' });
    expect(() => parseUserPass(':b', 'x')).toThrow(/USER:PASS/);
    expect(() => parseUserPass(`${'u'.repeat(256)}:p`, 'x')).toThrow(/255 bytes/);
  });

  it('parseAuthFile() skips comments and blank lines and names a bad line', () => {
    expect([...parseAuthFile('# c\n\r\nalice:x:y\r\n  # indented comment\nbob:\n', 'f')]).toEqual([
      ['alice', 'x:y'],
      ['bob', ''],
    ]);
    expect(() => parseAuthFile('a:b\nbad\n', 'f')).toThrow('f line 2: expected USER:PASS');
    expect(() => parseAuthFile('# only comments\n', 'f')).toThrow(/no user:pass lines/);
  });
});

describe('ProxyConnection: UDP ASSOCIATE with --upstream', () => {
  it('is answered REP 7: datagrams cannot follow the chain and are never sent around it', () => {
    const { open, reactor } = setup({ upstream: [{ protocol: 'socks5', host: 'up', port: 1080, remoteDns: true }] });
    const { t, p } = open();
    p.dataReceived(Buffer.concat([b(5, 1, 0), b(5, 3, 0, 1, 0, 0, 0, 0, 0, 0)]));
    expect(t.value().subarray(2, 4)).toEqual(b(5, 7));
    expect(reactor.udpPorts).toHaveLength(0);
  });
});
