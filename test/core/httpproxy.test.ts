// HTTP/1.1 proxying as state machines: request and response heads fed whole,
// in every two-piece split and one byte at a time; body framing; target
// forms; the forwarded head; the proxy's own replies; the CONNECT client
// with every status class and its exit code.
import { describe, expect, it } from 'vitest';
import {
  ConnectError,
  ConnectionRefusedError,
  ProxyAuthError,
  ProxyError,
  ProxyRefusedError,
  TimeoutError,
  exitCodeFor,
} from '../../src/core/errors.js';
import {
  HTTP_MAX_FIELDS,
  HTTP_MAX_HEAD,
  HttpBodyTracker,
  HttpConnectClientHandshake,
  type HttpRequestHead,
  HttpRequestHeadParser,
  HttpResponseHeadParser,
  forwardRequestHead,
  headerValue,
  httpResponse,
  parseAbsoluteHttpUrl,
  parseAuthority,
  parseBasicCredentials,
} from '../../src/core/httpproxy.js';

function splits(data: Buffer): Buffer[][] {
  const out: Buffer[][] = [[data]];
  for (let i = 1; i < data.length; i++) out.push([data.subarray(0, i), data.subarray(i)]);
  out.push([...data].map((x) => Buffer.from([x])));
  return out;
}

function parseAll(pieces: Buffer[]) {
  const p = new HttpRequestHeadParser();
  const results = pieces.flatMap((x) => p.feed(x));
  return { results, rest: p.takeRest(), parser: p };
}

describe('HttpRequestHeadParser', () => {
  const connect = Buffer.from('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Authorization: Basic dTpw\r\n\r\nTLS-bytes');

  it('feed() reads a CONNECT head in every split and byte by byte, keeping what follows', () => {
    for (const pieces of splits(connect)) {
      const { results, rest } = parseAll(pieces);
      expect(results).toEqual([
        {
          type: 'head',
          head: {
            method: 'CONNECT',
            target: 'example.com:443',
            version: 'HTTP/1.1',
            headers: [
              ['Host', 'example.com:443'],
              ['Proxy-Authorization', 'Basic dTpw'],
            ],
          },
        },
      ]);
      expect(rest.toString()).toBe('TLS-bytes');
    }
  });

  it('feed() accepts bare LF line ends, empty lines before the request line, and HTTP/1.0', () => {
    const { results } = parseAll([Buffer.from('\r\n\nGET http://h/ HTTP/1.0\nA:  b \n\n')]);
    expect(results[0]).toEqual({ type: 'head', head: { method: 'GET', target: 'http://h/', version: 'HTTP/1.0', headers: [['A', 'b']] } });
  });

  it('feed() reports nothing for a truncated head', () => {
    for (let n = 0; n < connect.indexOf('\r\n\r\n') + 3; n++) {
      const { results, parser } = parseAll([connect.subarray(0, n)]);
      expect(results).toEqual([]);
      expect(parser.finished).toBe(false);
    }
  });

  it.each([
    ['a malformed request line', 'GET\r\n\r\n', 400, /malformed request line/],
    ['a request line with extra spaces', 'GET  / HTTP/1.1\r\n\r\n', 400, /malformed request line/],
    ['an unsupported version', 'GET / HTTP/2.0\r\n\r\n', 400, /unsupported version/],
    ['a bad method token', 'G(T / HTTP/1.1\r\n\r\n', 400, /malformed method/],
    ['a field without a colon', 'GET / HTTP/1.1\r\nNoColon\r\n\r\n', 400, /malformed header field/],
    ['a space before the colon', 'GET / HTTP/1.1\r\nName : v\r\n\r\n', 400, /malformed header field name/],
    ['obsolete line folding', 'GET / HTTP/1.1\r\nA: b\r\n  c\r\n\r\n', 400, /line folding/],
    ['a head over the size limit', `GET / HTTP/1.1\r\nA: ${'x'.repeat(HTTP_MAX_HEAD)}\r\n\r\n`, 431, /head longer/],
    ['a request line over the size limit, unfinished', `GET /${'x'.repeat(HTTP_MAX_HEAD)}`, 431, /head longer/],
    ['too many fields', `GET / HTTP/1.1\r\n${'A: b\r\n'.repeat(HTTP_MAX_FIELDS + 1)}\r\n`, 431, /more than/],
  ])('feed() fails on %s with status %i', (_name, text, status, reason) => {
    const data = Buffer.from(text);
    const all = data.length < 400 ? splits(data) : [[data], [data.subarray(0, 1000), data.subarray(1000)]];
    for (const pieces of all) {
      const { results, parser } = parseAll(pieces);
      expect(results).toHaveLength(1);
      expect(results[0]).toMatchObject({ type: 'error', status });
      expect((results[0] as { reason: string }).reason).toMatch(reason);
      expect(parser.finished).toBe(true);
    }
  });

  it('headerValue() finds a field in any case', () => {
    expect(headerValue([['Content-Length', '5']], 'content-length')).toBe('5');
    expect(headerValue([], 'x')).toBeUndefined();
  });
});

describe('HttpResponseHeadParser', () => {
  it('feed() reads a status line and fields in every split', () => {
    const data = Buffer.from('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\nbody');
    for (const pieces of splits(data)) {
      const p = new HttpResponseHeadParser();
      const r = pieces.flatMap((x) => p.feed(x));
      expect(r).toEqual([{ type: 'head', head: { version: 'HTTP/1.1', status: 407, reason: 'Proxy Authentication Required', headers: [['Proxy-Authenticate', 'Basic']] } }]);
      expect(p.takeRest().toString()).toBe('body');
    }
  });

  it('feed() accepts a status line without a reason and fails on a malformed one', () => {
    expect(new HttpResponseHeadParser().feed(Buffer.from('HTTP/1.0 200\r\n\r\n'))[0]).toMatchObject({ head: { status: 200, reason: '' } });
    expect(new HttpResponseHeadParser().feed(Buffer.from('SSH-2.0-OpenSSH\r\n'))[0]).toMatchObject({ type: 'error', status: 400 });
  });
});

function head(headers: [string, string][], method = 'POST'): HttpRequestHead {
  return { method, target: 'http://h/', version: 'HTTP/1.1', headers };
}

/** Feed a tracker `pieces`; return how many bytes it took in total and whether it is done. */
function track(t: HttpBodyTracker, pieces: Buffer[]): number {
  let n = 0;
  for (const p of pieces) {
    if (t.done) break;
    n += t.consume(p);
  }
  return n;
}

describe('HttpBodyTracker', () => {
  it('a request without Content-Length or Transfer-Encoding has no body', () => {
    const t = HttpBodyTracker.forRequest(head([], 'GET'));
    expect(t.done).toBe(true);
    expect(t.consume(Buffer.from('GET /next'))).toBe(0);
  });

  it('Content-Length: takes exactly that many bytes, in every split', () => {
    const data = Buffer.from('0123456789GET /pipelined');
    for (const pieces of splits(data)) {
      const t = HttpBodyTracker.forRequest(head([['Content-Length', '10']]));
      expect(track(t, pieces)).toBe(10);
      expect(t.done).toBe(true);
    }
  });

  it('chunked: finds the end after extensions and trailers, in every split and byte by byte', () => {
    const body = '5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n';
    const data = Buffer.from(`${body}NEXT`);
    for (const pieces of splits(data)) {
      const t = HttpBodyTracker.forRequest(head([['Transfer-Encoding', 'gzip, chunked']]));
      expect(track(t, pieces)).toBe(body.length);
      expect(t.done).toBe(true);
      expect(t.error).toBeUndefined();
    }
  });

  it('chunked: a last chunk without trailer, with bare LF', () => {
    const t = HttpBodyTracker.forRequest(head([['Transfer-Encoding', 'chunked']]));
    expect(t.consume(Buffer.from('3\nabc\n0\n\nX'))).toBe(9);
    expect(t.done).toBe(true);
  });

  it.each([
    ['a chunk size that is not hex', 'zz\r\n', 'missing chunk size'],
    ['data longer than its size', '2\r\nabc\r\n', 'chunk data longer than its size'],
    ['a huge chunk size', 'fffffffffffffff\r\n', 'chunk size too large'],
  ])('chunked: stops at %s', (_name, text, why) => {
    const t = HttpBodyTracker.forRequest(head([['Transfer-Encoding', 'chunked']]));
    t.consume(Buffer.from(text));
    expect(t.done).toBe(true);
    expect(t.error).toBe(why);
  });

  it.each([
    [[['Content-Length', '5'], ['Transfer-Encoding', 'chunked']], /both/],
    [[['Content-Length', '5'], ['Content-Length', '6']], /conflicting/],
    [[['Content-Length', '-1']], /bad Content-Length/],
    [[['Transfer-Encoding', 'gzip']], /does not end in chunked/],
  ] as [[string, string][], RegExp][])('forRequest() refuses framing %j', (headers, re) => {
    expect(() => HttpBodyTracker.forRequest(head(headers))).toThrow(re);
  });

  it('forRequest() accepts a repeated identical Content-Length', () => {
    expect(HttpBodyTracker.forRequest(head([['Content-Length', '3, 3']])).done).toBe(false);
  });
});

describe('targets', () => {
  it.each([
    ['example.com:443', { host: 'example.com', port: 443 }],
    ['[::1]:8080', { host: '::1', port: 8080 }],
    ['10.0.0.1:1', { host: '10.0.0.1', port: 1 }],
  ])('parseAuthority(%j)', (text, expected) => {
    expect(parseAuthority(text)).toEqual(expected);
  });

  it.each(['example.com', 'example.com:', ':443', 'example.com:0', 'example.com:65536', '[::1]', '::1:80', 'http://x:80', 'a b:80', 'u@h:80', '[nothex]:80'])(
    'parseAuthority(%j) is undefined',
    (text) => {
      expect(parseAuthority(text)).toBeUndefined();
    },
  );

  it.each([
    ['http://example.com/a?b=1#frag', { host: 'example.com', port: 80, path: '/a?b=1', authority: 'example.com' }],
    ['HTTP://Example.com', { host: 'Example.com', port: 80, path: '/', authority: 'Example.com' }],
    ['http://h:8080?q', { host: 'h', port: 8080, path: '/?q', authority: 'h:8080' }],
    ['http://[::1]:81/x', { host: '::1', port: 81, path: '/x', authority: '[::1]:81' }],
    ['http://[::1]/x', { host: '::1', port: 80, path: '/x', authority: '[::1]' }],
  ])('parseAbsoluteHttpUrl(%j)', (text, expected) => {
    expect(parseAbsoluteHttpUrl(text)).toEqual(expected);
  });

  it.each(['/path', 'https://h/', 'http://', 'http://u:p@h/', 'http://h:/', 'ftp://h/', 'http://[::1/'])('parseAbsoluteHttpUrl(%j) is undefined', (text) => {
    expect(parseAbsoluteHttpUrl(text)).toBeUndefined();
  });
});

describe('forwardRequestHead()', () => {
  it('writes origin-form with Host from the URI, drops hop-by-hop fields and those Connection names, adds Connection: close', () => {
    const h: HttpRequestHead = {
      method: 'POST',
      target: 'http://origin:8080/p?q',
      version: 'HTTP/1.1',
      headers: [
        ['Host', 'wrong'],
        ['Proxy-Authorization', 'Basic xx'],
        ['Proxy-Connection', 'keep-alive'],
        ['Connection', 'keep-alive, X-Hop'],
        ['Keep-Alive', 'timeout=5'],
        ['X-Hop', '1'],
        ['TE', 'trailers'],
        ['Upgrade', 'h2c'],
        ['Transfer-Encoding', 'chunked'],
        ['X-Keep', 'yes'],
      ],
    };
    const out = forwardRequestHead(h, parseAbsoluteHttpUrl(h.target)!).toString();
    expect(out).toBe('POST /p?q HTTP/1.1\r\nHost: origin:8080\r\nTransfer-Encoding: chunked\r\nX-Keep: yes\r\nConnection: close\r\n\r\n');
  });
});

describe('httpResponse()', () => {
  it('200 for CONNECT is the status line alone', () => {
    expect(httpResponse(200).toString()).toBe('HTTP/1.1 200 Connection established\r\n\r\n');
  });

  it.each([400, 403, 407, 408, 431, 502, 503, 504])('%i has a reason, a length, Connection: close and a body', (status) => {
    const text = httpResponse(status).toString();
    const [headPart, body] = text.split('\r\n\r\n') as [string, string];
    expect(headPart).toMatch(new RegExp(`^HTTP/1.1 ${status} [A-Z]`));
    expect(headPart).toContain('Connection: close');
    expect(headPart).toContain(`Content-Length: ${Buffer.byteLength(body)}`);
  });

  it('407 carries Proxy-Authenticate when asked', () => {
    expect(httpResponse(407, { headers: [['Proxy-Authenticate', 'Basic realm="wirecat"']] }).toString()).toContain('\r\nProxy-Authenticate: Basic realm="wirecat"\r\n');
  });
});

describe('parseBasicCredentials()', () => {
  it('splits at the first colon, so passwords may hold colons', () => {
    expect(parseBasicCredentials(`Basic ${Buffer.from('u:p:a:ss').toString('base64')}`)).toEqual({ user: 'u', password: 'p:a:ss' });
    expect(parseBasicCredentials(`basic   ${Buffer.from('u:').toString('base64')}`)).toEqual({ user: 'u', password: '' });
  });

  it('is undefined for other schemes and garbage', () => {
    expect(parseBasicCredentials(undefined)).toBeUndefined();
    expect(parseBasicCredentials('Bearer abc')).toBeUndefined();
    expect(parseBasicCredentials(`Basic ${Buffer.from('nocolon').toString('base64')}`)).toBeUndefined();
  });
});

describe('HttpConnectClientHandshake', () => {
  const target = { host: 'example.com', port: 443 };

  it('begin() sends CONNECT in authority-form with Host and, with credentials, Basic', () => {
    expect(new HttpConnectClientHandshake(target, 'p:1').begin().toString()).toBe('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(new HttpConnectClientHandshake({ host: '::1', port: 22 }, 'p:1').begin().toString()).toMatch(/^CONNECT \[::1\]:22 HTTP\/1.1\r\n/);
    const withCreds = new HttpConnectClientHandshake(target, 'p:1', { user: 'me', password: 'a:b' }).begin().toString();
    expect(withCreds).toContain(`Proxy-Authorization: Basic ${Buffer.from('me:a:b').toString('base64')}\r\n`);
  });

  it('a 2xx opens the tunnel in every split, keeping the bytes after the head', () => {
    const data = Buffer.from('HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\nSSH-2.0');
    for (const pieces of splits(data)) {
      const hs = new HttpConnectClientHandshake(target, 'p:1');
      let done = false;
      const tunnel: Buffer[] = [];
      for (const piece of pieces) {
        if (done) tunnel.push(piece);
        else {
          const s = hs.feed(piece);
          if (s.done) {
            done = true;
            tunnel.push(s.rest!);
          }
          expect(s.error).toBeUndefined();
        }
      }
      expect(done).toBe(true);
      expect(Buffer.concat(tunnel).toString()).toBe('SSH-2.0');
    }
  });

  it.each([
    ['407 without credentials', 'HTTP/1.1 407 Proxy Authentication Required', false, ProxyAuthError, 5, 'proxy p:1 requires authentication (HTTP 407 Proxy Authentication Required)'],
    ['407 with credentials', 'HTTP/1.1 407 Proxy Authentication Required', true, ProxyAuthError, 5, "proxy p:1 refused the credentials of user 'me' (HTTP 407 Proxy Authentication Required)"],
    ['401 with credentials (tinyproxy)', 'HTTP/1.1 401 Unauthorized', true, ProxyAuthError, 5, "proxy p:1 refused the credentials of user 'me' (HTTP 401 Unauthorized)"],
    ['401 without credentials', 'HTTP/1.1 401 Unauthorized', false, ProxyError, 5, 'proxy p:1 failed: Unauthorized (HTTP 401)'],
    ['403', 'HTTP/1.1 403 Forbidden', false, ProxyRefusedError, 5, 'proxy p:1 refused: Forbidden (HTTP 403)'],
    ['400', 'HTTP/1.1 400 Bad Request', false, ProxyError, 5, 'proxy p:1 failed: Bad Request (HTTP 400)'],
    ['405', 'HTTP/1.1 405 Method Not Allowed', false, ProxyError, 5, 'proxy p:1 failed: Method Not Allowed (HTTP 405)'],
    ['500', 'HTTP/1.1 500 Internal Server Error', false, ProxyError, 5, 'proxy p:1 failed: Internal Server Error (HTTP 500)'],
    ['502 refused', 'HTTP/1.1 502 Connection refused', false, ConnectionRefusedError, 1, 'Connection refused (attempted address: example.com:443 via proxy p:1)'],
    ['502 other', 'HTTP/1.1 502 Bad Gateway', false, ConnectError, 1, 'Bad Gateway behind proxy p:1 (HTTP 502) (attempted address: example.com:443)'],
    ['504', 'HTTP/1.1 504 Gateway Timeout', false, TimeoutError, 3, 'proxy p:1 timed out reaching example.com:443: Gateway Timeout (HTTP 504)'],
    ['a 3xx', 'HTTP/1.1 301 Moved', false, ProxyError, 5, 'proxy p:1 failed: Moved (HTTP 301)'],
  ])('%s fails with the mapped error', (_name, statusLine, creds, type, exit, message) => {
    const data = Buffer.from(`${statusLine}\r\nContent-Length: 0\r\n\r\n`);
    for (const pieces of [[data], [...data].map((x) => Buffer.from([x]))]) {
      const hs = new HttpConnectClientHandshake(target, 'p:1', creds ? { user: 'me', password: 'secret' } : undefined);
      let err: Error | undefined;
      for (const p of pieces) {
        err = hs.feed(p).error;
        if (err) break;
      }
      expect(err).toBeInstanceOf(type);
      expect(exitCodeFor(err)).toBe(exit);
      expect(err!.message).toBe(message);
      expect(err!.message).not.toContain('secret');
    }
  });

  it('a reply that is not HTTP fails with ProxyError', () => {
    const err = new HttpConnectClientHandshake(target, 'p:1').feed(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x0a])).error!;
    expect(err).toBeInstanceOf(ProxyError);
    expect(err.message).toMatch(/malformed HTTP reply.*is it an HTTP proxy/);
  });
});
