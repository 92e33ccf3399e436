// SOCKS4, SOCKS4a and SOCKS5 (RFC 1928, RFC 1929) as state machines: the
// server parsers and the client handshakes, fed whole, in every two-piece
// split, and one byte at a time; every reply code and its exit code.
import { describe, expect, it } from 'vitest';
import {
  ConnectError,
  ConnectionRefusedError,
  ProxyAuthError,
  ProxyError,
  ProxyRefusedError,
  TimeoutError,
  UsageError,
  exitCodeFor,
} from '../../src/core/errors.js';
import {
  SOCKS4_REP,
  SOCKS5_REP,
  Socks4ClientHandshake,
  Socks4ServerParser,
  Socks5ClientHandshake,
  type Socks5ServerMessage,
  Socks5ServerParser,
  encodeSocks5Address,
  encodeSocks5Datagram,
  ipv6FromBytes,
  parseSocks5Datagram,
  socks4Reply,
  socks5AuthReply,
  socks5MethodReply,
  socks5Reply,
  socks5ReplyError,
} from '../../src/core/socks.js';
import type { ClientHandshake, HandshakeStep } from '../../src/core/tunnel.js';

const b = (...bytes: number[]) => Buffer.from(bytes);

/** Every way to cut `data` into pieces: whole, each two-piece split, one byte at a time. */
function splits(data: Buffer): Buffer[][] {
  const out: Buffer[][] = [[data]];
  for (let i = 1; i < data.length; i++) out.push([data.subarray(0, i), data.subarray(i)]);
  out.push([...data].map((x) => b(x)));
  return out;
}

/** Drive a SOCKS5 server parser over `pieces`, choosing `method` at the greeting and accepting credentials. */
function driveSocks5(pieces: Buffer[], method = 0x00): { messages: Socks5ServerMessage[]; parser: Socks5ServerParser } {
  const parser = new Socks5ServerParser();
  const messages: Socks5ServerMessage[] = [];
  const handle = (ms: Socks5ServerMessage[]) => {
    for (const m of ms) {
      messages.push(m);
      if (m.type === 'greeting') {
        parser.selectMethod(method);
        handle(parser.feed(Buffer.alloc(0)));
      } else if (m.type === 'auth') {
        parser.authDone();
        handle(parser.feed(Buffer.alloc(0)));
      }
    }
  };
  for (const p of pieces) handle(parser.feed(p));
  return { messages, parser };
}

describe('Socks5ServerParser', () => {
  const greeting = b(5, 1, 0);
  const connectV4 = b(5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90);
  const connectName = Buffer.concat([b(5, 1, 0, 3, 11), Buffer.from('example.com'), b(0, 80)]);
  const connectV6 = Buffer.concat([b(5, 1, 0, 4), Buffer.from('20010db8000000000000000000000001', 'hex'), b(1, 0xbb)]);

  it.each([
    ['IPv4', connectV4, { command: 1, addressType: 1, host: '127.0.0.1', port: 8080 }],
    ['a name (ATYP 3)', connectName, { command: 1, addressType: 3, host: 'example.com', port: 80 }],
    ['IPv6', connectV6, { command: 1, addressType: 4, host: '2001:db8::1', port: 443 }],
  ])('feed() reads greeting and CONNECT to %s in every split and byte by byte', (_name, request, expected) => {
    const all = Buffer.concat([greeting, request, Buffer.from('early')]);
    for (const pieces of splits(all)) {
      const { messages, parser } = driveSocks5(pieces);
      expect(messages).toEqual([{ type: 'greeting', methods: [0] }, { type: 'request', ...expected }]);
      expect(parser.finished).toBe(true);
      // What followed the request is the tunnel's first data, whatever the chunking.
      let rest = parser.takeRest();
      expect(rest.toString()).toBe('early');
      rest = parser.takeRest();
      expect(rest.length).toBe(0);
    }
  });

  it('feed() reads RFC 1929 credentials between greeting and request, in every split', () => {
    const auth = Buffer.concat([b(1, 5), Buffer.from('alice'), b(7), Buffer.from('p:ss wd')]);
    const all = Buffer.concat([b(5, 2, 0, 2), auth, connectV4]);
    for (const pieces of splits(all)) {
      const { messages } = driveSocks5(pieces, 0x02);
      expect(messages.map((m) => m.type)).toEqual(['greeting', 'auth', 'request']);
      expect(messages[0]).toEqual({ type: 'greeting', methods: [0, 2] });
      expect(messages[1]).toMatchObject({ type: 'auth', user: 'alice', password: 'p:ss wd' });
    }
  });

  it('feed() takes a 255-byte user name and an empty password', () => {
    const user = 'u'.repeat(255);
    const all = Buffer.concat([b(5, 1, 2), b(1, 255), Buffer.from(user), b(0), connectV4]);
    const { messages } = driveSocks5([...all].map((x) => b(x)), 0x02);
    expect(messages[1]).toMatchObject({ type: 'auth', user, password: '' });
    expect(messages[2]).toMatchObject({ type: 'request', host: '127.0.0.1' });
  });

  it('feed() holds bytes sent before the server chose a method', () => {
    const p = new Socks5ServerParser();
    expect(p.feed(Buffer.concat([greeting, connectV4]))).toEqual([{ type: 'greeting', methods: [0] }]);
    p.selectMethod(0);
    expect(p.feed(Buffer.alloc(0))).toEqual([{ type: 'request', command: 1, addressType: 1, host: '127.0.0.1', port: 8080 }]);
  });

  it('feed() reports a greeting with no methods', () => {
    expect(new Socks5ServerParser().feed(b(5, 0))).toEqual([{ type: 'greeting', methods: [] }]);
  });

  it.each([
    ['a wrong version byte in the greeting', b(4, 1, 0), 0, undefined, /not SOCKS5/],
    ['a wrong RFC 1929 version', Buffer.concat([b(5, 1, 2), b(2, 1, 0x61, 1, 0x62)]), 2, socks5AuthReply(false), /RFC 1929 version/],
    ['an empty user name', Buffer.concat([b(5, 1, 2), b(1, 0)]), 2, socks5AuthReply(false), /empty user/],
    ['a wrong version in the request', Buffer.concat([greeting, b(4, 1, 0, 1, 1, 2, 3, 4, 0, 80)]), 0, socks5Reply(1), /request version/],
    ['an unknown address type', Buffer.concat([greeting, b(5, 1, 0, 9, 1, 2)]), 0, socks5Reply(8), /unknown address type/],
    ['an empty host name', Buffer.concat([greeting, b(5, 1, 0, 3, 0)]), 0, socks5Reply(1), /empty host name/],
  ])('feed() fails on %s with the reply to send', (_name, bytes, method, reply, reason) => {
    for (const pieces of [[bytes], [...bytes].map((x) => b(x))]) {
      const { messages, parser } = driveSocks5(pieces, method);
      const err = messages.find((m) => m.type === 'error') as Extract<Socks5ServerMessage, { type: 'error' }>;
      expect(err.reason).toMatch(reason);
      expect(err.reply).toEqual(reply);
      expect(parser.finished).toBe(true);
    }
  });

  it('feed() waits on a truncated request without reporting anything', () => {
    const all = Buffer.concat([greeting, connectName]);
    for (let n = greeting.length; n < all.length; n++) {
      const { messages, parser } = driveSocks5([all.subarray(0, n)]);
      expect(messages).toEqual([{ type: 'greeting', methods: [0] }]);
      expect(parser.finished).toBe(false);
    }
  });

  it('reports BIND and UDP ASSOCIATE as their commands', () => {
    expect(driveSocks5([greeting, b(5, 2, 0, 1, 0, 0, 0, 0, 0, 0)]).messages[1]).toMatchObject({ command: 2 });
    expect(driveSocks5([greeting, b(5, 3, 0, 1, 0, 0, 0, 0, 0, 0)]).messages[1]).toMatchObject({ command: 3, host: '0.0.0.0', port: 0 });
  });
});

describe('SOCKS5 replies', () => {
  it('socks5MethodReply() and socks5AuthReply() are two bytes', () => {
    expect(socks5MethodReply(0xff)).toEqual(b(5, 0xff));
    expect(socks5AuthReply(true)).toEqual(b(1, 0));
    expect(socks5AuthReply(false)).toEqual(b(1, 1));
  });

  it.each(Object.entries(SOCKS5_REP))('socks5Reply() encodes REP %s', (_name, rep) => {
    expect(socks5Reply(rep)).toEqual(b(5, rep, 0, 1, 0, 0, 0, 0, 0, 0));
  });

  it('socks5Reply() carries a bound IPv4 or IPv6 address', () => {
    expect(socks5Reply(0, { host: '10.1.2.3', port: 1080 })).toEqual(b(5, 0, 0, 1, 10, 1, 2, 3, 4, 0x38));
    expect(socks5Reply(0, { host: '::1', port: 1 })).toEqual(Buffer.concat([b(5, 0, 0, 4), Buffer.from('00000000000000000000000000000001', 'hex'), b(0, 1)]));
  });

  it('encodeSocks5Address() and ipv6FromBytes() round-trip IPv6 forms', () => {
    for (const ip of ['::', '::1', '2001:db8::1', 'fe80::1:2', '1:2:3:4:5:6:7:8', '1::', '::ffff:10.0.0.1']) {
      const enc = encodeSocks5Address({ host: ip, port: 7 });
      expect(enc[0]).toBe(4);
      const back = ipv6FromBytes(enc.subarray(1, 17));
      expect(new URL(`http://[${back}]/`).hostname).toBe(new URL(`http://[${ip}]/`).hostname);
    }
  });

  it('encodeSocks5Address() refuses a name longer than 255 bytes', () => {
    expect(() => encodeSocks5Address({ host: 'a'.repeat(256), port: 1 })).toThrow(UsageError);
  });
});

describe('Socks4ServerParser', () => {
  const v4 = Buffer.concat([b(4, 1, 0, 80, 10, 0, 0, 1), Buffer.from('bob'), b(0)]);
  const v4a = Buffer.concat([b(4, 1, 0x1f, 0x90, 0, 0, 0, 1), b(0), Buffer.from('example.com'), b(0)]);

  it.each([
    ['SOCKS4', v4, { command: 1, host: '10.0.0.1', port: 80, userId: 'bob', socks4a: false }],
    ['SOCKS4a', v4a, { command: 1, host: 'example.com', port: 8080, userId: '', socks4a: true }],
  ])('feed() reads a %s request in every split and byte by byte', (_name, req, expected) => {
    const all = Buffer.concat([req, Buffer.from('data')]);
    for (const pieces of splits(all)) {
      const p = new Socks4ServerParser();
      const msgs = pieces.flatMap((x) => p.feed(x));
      expect(msgs).toEqual([{ type: 'request', ...expected }]);
      expect(p.takeRest().toString()).toBe('data');
    }
  });

  it.each([
    ['a wrong version byte', b(5, 1, 0, 80), /not SOCKS4/],
    ['a user id over 255 bytes', Buffer.concat([b(4, 1, 0, 80, 1, 2, 3, 4), Buffer.alloc(256, 0x61)]), /user id longer/],
    ['a host name over 255 bytes', Buffer.concat([b(4, 1, 0, 80, 0, 0, 0, 9, 0), Buffer.alloc(256, 0x61)]), /host name longer/],
    ['an empty SOCKS4a host', b(4, 1, 0, 80, 0, 0, 0, 9, 0, 0), /empty SOCKS4a host/],
  ])('feed() fails on %s with reply 0x5B', (_name, bytes, reason) => {
    for (const pieces of [[bytes], [...bytes].map((x) => b(x))]) {
      const p = new Socks4ServerParser();
      const msgs = pieces.flatMap((x) => p.feed(x));
      expect(msgs).toHaveLength(1);
      expect(msgs[0]).toMatchObject({ type: 'error', reply: socks4Reply(SOCKS4_REP.REJECTED) });
      expect((msgs[0] as { reason: string }).reason).toMatch(reason);
    }
  });

  it('feed() waits on a truncated request', () => {
    for (let n = 1; n < v4a.length; n++) {
      const p = new Socks4ServerParser();
      expect(p.feed(v4a.subarray(0, n))).toEqual([]);
      expect(p.finished).toBe(false);
    }
  });

  it('socks4Reply() is eight bytes with the code second', () => {
    expect(socks4Reply(0x5a)).toEqual(b(0, 0x5a, 0, 0, 0, 0, 0, 0));
    expect(socks4Reply(0x5a, { host: '1.2.3.4', port: 258 })).toEqual(b(0, 0x5a, 1, 2, 1, 2, 3, 4));
  });
});

describe('SOCKS5 UDP datagrams', () => {
  it('encodeSocks5Datagram() and parseSocks5Datagram() round-trip IPv4, IPv6 and names', () => {
    for (const host of ['127.0.0.1', '::1', 'example.com']) {
      const d = encodeSocks5Datagram({ host, port: 53 }, Buffer.from('payload'));
      expect(parseSocks5Datagram(d)).toEqual({ frag: 0, host, port: 53, data: Buffer.from('payload') });
    }
  });

  it('parseSocks5Datagram() reads FRAG and rejects truncated headers', () => {
    const d = encodeSocks5Datagram({ host: '1.2.3.4', port: 9 }, Buffer.from('x'));
    d[2] = 1;
    expect(parseSocks5Datagram(d)?.frag).toBe(1);
    for (let n = 0; n < 10; n++) expect(parseSocks5Datagram(d.subarray(0, n))).toBeUndefined();
    expect(parseSocks5Datagram(b(0, 0, 0, 7, 1, 2, 3, 4, 0, 1))).toBeUndefined();
  });
});

/** Feed a client handshake the proxy's bytes in `pieces`; collect what it sends, how it ends, and the tunnel's bytes. */
function driveClient(hs: ClientHandshake, pieces: Buffer[]): { sent: Buffer; end: HandshakeStep | undefined; tunnel: Buffer } {
  const sent: Buffer[] = [hs.begin()];
  const tunnel: Buffer[] = [];
  let end: HandshakeStep | undefined;
  for (const p of pieces) {
    if (end !== undefined) {
      tunnel.push(p);
      continue;
    }
    const step = hs.feed(p);
    if (step.send) sent.push(step.send);
    if (step.done || step.error) {
      end = step;
      if (step.rest) tunnel.push(step.rest);
    }
  }
  return { sent: Buffer.concat(sent), end, tunnel: Buffer.concat(tunnel) };
}

describe('Socks5ClientHandshake', () => {
  const target = { host: 'example.com', port: 80 };
  const request = Buffer.concat([b(5, 1, 0, 3, 11), Buffer.from('example.com'), b(0, 80)]);
  const okReply = b(5, 0, 0, 1, 127, 0, 0, 1, 0x30, 0x39);

  it('sends greeting and CONNECT with the name (remote DNS) and ends with the tunnel bytes, in every split', () => {
    const all = Buffer.concat([b(5, 0), okReply, Buffer.from('banner')]);
    for (const pieces of splits(all)) {
      const { sent, end, tunnel } = driveClient(new Socks5ClientHandshake(target, '127.0.0.1:1080'), pieces);
      expect(sent).toEqual(Buffer.concat([b(5, 1, 0), request]));
      expect(end?.done).toBe(true);
      expect(tunnel.toString()).toBe('banner');
    }
  });

  it('offers user/password with credentials and sends RFC 1929, in every split', () => {
    const all = Buffer.concat([b(5, 2), b(1, 0), okReply]);
    for (const pieces of splits(all)) {
      const { sent, end } = driveClient(new Socks5ClientHandshake(target, 'p:1', { user: 'me', password: 'pa:ss' }), pieces);
      expect(sent).toEqual(Buffer.concat([b(5, 2, 0, 2), b(1, 2), Buffer.from('me'), b(5), Buffer.from('pa:ss'), request]));
      expect(end).toMatchObject({ done: true });
    }
  });

  it('skips a bound address given as a name or IPv6 in the reply', () => {
    for (const bound of [Buffer.concat([b(3, 4), Buffer.from('host'), b(0, 1)]), Buffer.concat([b(4), Buffer.alloc(16), b(0, 1)])]) {
      const reply = Buffer.concat([b(5, 0), b(5, 0, 0), bound, Buffer.from('X')]);
      for (const pieces of splits(reply)) {
        const { end, tunnel } = driveClient(new Socks5ClientHandshake(target, 'p:1'), pieces);
        expect(end?.done).toBe(true);
        expect(tunnel.toString()).toBe('X');
      }
    }
  });

  it.each([
    [1, ProxyError, 'ERR_PROXY', 5, 'proxy 127.0.0.1:1080 failed: general SOCKS server failure (SOCKS5 REP 1)'],
    [2, ProxyRefusedError, 'ERR_PROXY_REFUSED', 5, 'proxy 127.0.0.1:1080 refused: not allowed by ruleset (SOCKS5 REP 2)'],
    [3, ConnectError, 'ERR_CONNECT', 1, 'Network unreachable behind proxy 127.0.0.1:1080 (SOCKS5 REP 3) (attempted address: example.com:80)'],
    [4, ConnectError, 'ERR_CONNECT', 1, 'Host unreachable behind proxy 127.0.0.1:1080 (SOCKS5 REP 4) (attempted address: example.com:80)'],
    [5, ConnectionRefusedError, 'ERR_CONNECTION_REFUSED', 1, 'Connection refused (attempted address: example.com:80 via proxy 127.0.0.1:1080)'],
    [6, TimeoutError, 'ERR_TIMEOUT', 3, 'proxy 127.0.0.1:1080 timed out reaching example.com:80: TTL expired (SOCKS5 REP 6)'],
    [7, ProxyError, 'ERR_PROXY', 5, 'proxy 127.0.0.1:1080 failed: command not supported (SOCKS5 REP 7)'],
    [8, ProxyError, 'ERR_PROXY', 5, 'proxy 127.0.0.1:1080 failed: address type not supported (SOCKS5 REP 8)'],
    [9, ProxyError, 'ERR_PROXY', 5, 'proxy 127.0.0.1:1080 failed: unknown reply code 9 (SOCKS5 REP 9)'],
  ])('REP %i fails with %O (%s, exit %i)', (rep, type, code, exit, message) => {
    for (const pieces of splits(Buffer.concat([b(5, 0), b(5, rep, 0, 1, 0, 0, 0, 0, 0, 0)]))) {
      const { end } = driveClient(new Socks5ClientHandshake(target, '127.0.0.1:1080'), pieces);
      expect(end?.error).toBeInstanceOf(type);
      expect((end!.error as unknown as { code: string }).code).toBe(code);
      expect(exitCodeFor(end!.error)).toBe(exit);
      expect(end!.error!.message).toBe(message);
    }
    expect(socks5ReplyError(rep, '127.0.0.1:1080', 'example.com:80').message).toBe(message);
  });

  it('fails with ProxyAuthError (exit 5) when no method is acceptable, with or without credentials', () => {
    const without = driveClient(new Socks5ClientHandshake(target, 'p:1'), [b(5, 0xff)]).end!.error!;
    expect(without).toBeInstanceOf(ProxyAuthError);
    expect(without.message).toBe('proxy p:1 requires authentication (SOCKS5 method 0xff)');
    const withCreds = driveClient(new Socks5ClientHandshake(target, 'p:1', { user: 'u', password: 'p' }), [b(5, 0xff)]).end!.error!;
    expect(withCreds.message).toBe('proxy p:1 accepted none of the authentication methods offered (SOCKS5 method 0xff)');
    expect(exitCodeFor(withCreds)).toBe(5);
    // The proxy picked user/password, but we had none to give.
    expect(driveClient(new Socks5ClientHandshake(target, 'p:1'), [b(5, 2)]).end!.error).toBeInstanceOf(ProxyAuthError);
  });

  it('fails with ProxyAuthError when RFC 1929 status is not 0, never naming the password', () => {
    const err = driveClient(new Socks5ClientHandshake(target, 'p:1', { user: 'u', password: 'secret' }), [b(5, 2, 1, 1)]).end!.error!;
    expect(err).toBeInstanceOf(ProxyAuthError);
    expect(err.message).toBe("proxy p:1 refused the credentials of user 'u' (SOCKS5 RFC 1929 status 1)");
    expect(err.message).not.toContain('secret');
  });

  it('fails with ProxyError on a reply that is not SOCKS5 (an HTTP proxy answering)', () => {
    const err = driveClient(new Socks5ClientHandshake(target, 'p:1'), [Buffer.from('HTTP/1.1 400 Bad Request\r\n')]).end!.error!;
    expect(err).toBeInstanceOf(ProxyError);
    expect(err.message).toMatch(/malformed SOCKS5 reply.*is it a SOCKS5 proxy/);
    expect(driveClient(new Socks5ClientHandshake(target, 'p:1'), [b(5, 0x01)]).end!.error!.message).toMatch(/not offered/);
    expect(driveClient(new Socks5ClientHandshake(target, 'p:1'), [b(5, 0, 5, 0, 0, 9)]).end!.error!.message).toMatch(/address type 0x09/);
  });

  it('sends IPv4 and IPv6 destinations as ATYP 1 and 4', () => {
    expect(new Socks5ClientHandshake({ host: '10.0.0.1', port: 22 }, 'p:1').feed(b(5, 0)).send).toEqual(b(5, 1, 0, 1, 10, 0, 0, 1, 0, 22));
    expect(new Socks5ClientHandshake({ host: '::1', port: 22 }, 'p:1').feed(b(5, 0)).send![3]).toBe(4);
  });
});

describe('Socks4ClientHandshake', () => {
  it('sends SOCKS4 with an IPv4 address and the user id', () => {
    const hs = new Socks4ClientHandshake({ host: '10.0.0.1', port: 80 }, 'p:1', { userId: 'bob', socks4a: false });
    expect(hs.begin()).toEqual(Buffer.concat([b(4, 1, 0, 80, 10, 0, 0, 1), Buffer.from('bob'), b(0)]));
  });

  it('sends SOCKS4a with 0.0.0.1 and the name', () => {
    const hs = new Socks4ClientHandshake({ host: 'example.com', port: 80 }, 'p:1', { socks4a: true });
    expect(hs.begin()).toEqual(Buffer.concat([b(4, 1, 0, 80, 0, 0, 0, 1, 0), Buffer.from('example.com'), b(0)]));
  });

  it('refuses names without SOCKS4a and IPv6 addresses', () => {
    expect(() => new Socks4ClientHandshake({ host: 'example.com', port: 80 }, 'p:1', { socks4a: false })).toThrow(/needs an IPv4 address/);
    expect(() => new Socks4ClientHandshake({ host: '::1', port: 80 }, 'p:1', { socks4a: true })).toThrow(/IPv6/);
  });

  it('opens the tunnel on 0x5A in every split, keeping what follows', () => {
    const all = Buffer.concat([socks4Reply(0x5a), Buffer.from('hi')]);
    for (const pieces of splits(all)) {
      const { end, tunnel } = driveClient(new Socks4ClientHandshake({ host: '1.2.3.4', port: 80 }, 'p:1', { socks4a: true }), pieces);
      expect(end?.done).toBe(true);
      expect(tunnel.toString()).toBe('hi');
    }
  });

  it.each([
    [0x5b, ProxyRefusedError, 'proxy p:1 refused: request rejected or failed reaching 1.2.3.4:80 (SOCKS4 91 / 0x5b)'],
    [0x5c, ProxyAuthError, 'proxy p:1 refused: it cannot reach our identd (SOCKS4 92 / 0x5c)'],
    [0x5d, ProxyAuthError, 'proxy p:1 refused: identd reports a different user id (SOCKS4 93 / 0x5d)'],
    [0x42, ProxyError, 'proxy p:1 failed: unknown SOCKS4 reply code 66'],
  ])('fails on reply 0x%s with exit 5', (cd, type, message) => {
    const hs = new Socks4ClientHandshake({ host: '1.2.3.4', port: 80 }, 'p:1', { socks4a: false });
    const err = hs.feed(socks4Reply(cd)).error!;
    expect(err).toBeInstanceOf(type);
    expect(err.message).toBe(message);
    expect(exitCodeFor(err)).toBe(5);
  });

  it('fails on a reply that is not SOCKS4', () => {
    const hs = new Socks4ClientHandshake({ host: '1.2.3.4', port: 80 }, 'p:1', { socks4a: false });
    expect(hs.feed(Buffer.from('HTTP/1.1')).error!.message).toMatch(/malformed SOCKS4 reply/);
  });
});
