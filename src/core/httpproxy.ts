/**
 * HTTP/1.1 proxying as explicit state machines over raw bytes: no sockets.
 *
 * Server side: {@link HttpRequestHeadParser} reads a request head
 * (request line and header fields) in any chunking, with limits;
 * {@link HttpBodyTracker} finds where a forwarded request's body ends
 * (`Content-Length` or chunked); {@link forwardRequestHead} rewrites an
 * absolute-URI request to origin-form without hop-by-hop fields;
 * {@link httpResponse} makes the proxy's own replies. Client side:
 * {@link HttpConnectClientHandshake} sends `CONNECT host:port` and reads the
 * proxy's answer.
 *
 * @module
 */

import { isIPv6 } from 'node:net';
import {
  ConnectError,
  ConnectionRefusedError,
  ProxyAuthError,
  ProxyError,
  ProxyRefusedError,
  TimeoutError,
  UsageError,
} from './errors.js';
import type { ClientHandshake, HandshakeStep } from './tunnel.js';

/** Largest request or response head accepted (request line and fields), in bytes. */
export const HTTP_MAX_HEAD = 32 * 1024;
/** Most header fields accepted in one head. */
export const HTTP_MAX_FIELDS = 100;

/** Reason phrases of the statuses the proxy sends. */
export const HTTP_REASONS: Readonly<Record<number, string>> = {
  200: 'Connection established',
  400: 'Bad Request',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** A parsed request head. */
export interface HttpRequestHead {
  /** `GET`, `CONNECT`, ... as sent (case kept). */
  method: string;
  /** The request target as sent: `host:port`, `http://...`, `/path`. */
  target: string;
  /** `HTTP/1.0` or `HTTP/1.1`. */
  version: string;
  /** Header fields in order, names as sent, values trimmed. */
  headers: [string, string][];
}

/** A parsed response head. */
export interface HttpResponseHead {
  version: string;
  status: number;
  reason: string;
  headers: [string, string][];
}

/**
 * The value of a header field (the first, when repeated), by name in any case.
 *
 * @param headers The fields.
 * @param name The name.
 * @returns The value, or `undefined`.
 */
export function headerValue(headers: readonly [string, string][], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [n, v] of headers) if (n.toLowerCase() === lower) return v;
  return undefined;
}

/** Every value of a header field, by name in any case. */
function _headerValues(headers: readonly [string, string][], name: string): string[] {
  const lower = name.toLowerCase();
  return headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

// ---------------------------------------------------------------- head parsing

const H_START = 0;
const H_FIELDS = 1;
const H_DONE = 2;
const H_ERROR = 3;

const _TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** What a head parser reports. */
export type HeadParseResult<T> = { type: 'head'; head: T } | { type: 'error'; status: number; reason: string };

/**
 * The line machinery of both head parsers: split the input at LF (a CR
 * before it is dropped), without copying a line that arrived in one chunk,
 * and stop at the first empty line after the start line.
 */
abstract class _HeadParser<T> {
  private _state = H_START;
  private _pieces: Buffer[] = [];
  private _lineLen = 0;
  private _total = 0;
  private _rest: Buffer | undefined = undefined;
  protected _headers: [string, string][] = [];

  /** Whether the head was read (or failed). */
  get finished(): boolean {
    return this._state === H_DONE || this._state === H_ERROR;
  }

  /**
   * Feed bytes.
   *
   * @param data Any number of bytes.
   * @returns The head once complete, or an error (with the HTTP status to answer).
   */
  feed(data: Buffer): HeadParseResult<T>[] {
    if (this._state === H_DONE) {
      this._rest = this._rest === undefined ? data : Buffer.concat([this._rest, data]);
      return [];
    }
    if (this._state === H_ERROR) return [];
    let pos = 0;
    const n = data.length;
    while (pos < n) {
      const lf = data.indexOf(0x0a, pos);
      const end = lf < 0 ? n : lf;
      this._total += end - pos + (lf < 0 ? 0 : 1);
      if (this._total > HTTP_MAX_HEAD) return this._fail(431, `head longer than ${HTTP_MAX_HEAD} bytes`);
      if (end > pos) {
        this._pieces.push(data.subarray(pos, end));
        this._lineLen += end - pos;
      }
      if (lf < 0) return [];
      pos = lf + 1;
      let line = this._pieces.length === 1 ? this._pieces[0]! : Buffer.concat(this._pieces, this._lineLen);
      this._pieces = [];
      this._lineLen = 0;
      if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
      const r = this._line(line);
      if (r !== undefined) {
        if (r.type === 'head' && pos < n) this._rest = data.subarray(pos);
        return [r];
      }
    }
    return [];
  }

  /** @returns Bytes received after the head, once; empty when none. */
  takeRest(): Buffer {
    const r = this._rest ?? Buffer.alloc(0);
    this._rest = undefined;
    return r;
  }

  private _line(line: Buffer): HeadParseResult<T> | undefined {
    if (this._state === H_START) {
      if (line.length === 0) return undefined; // RFC 9112 §2.2: ignore empty lines before the start line
      const err = this._startLine(line.toString('latin1'));
      if (err !== undefined) return this._fail(400, err)[0];
      this._state = H_FIELDS;
      return undefined;
    }
    if (line.length === 0) {
      this._state = H_DONE;
      return { type: 'head', head: this._result() };
    }
    const first = line[0]!;
    if (first === 0x20 || first === 0x09) return this._fail(400, 'obsolete line folding in a header field')[0];
    const text = line.toString('latin1');
    const colon = text.indexOf(':');
    if (colon <= 0) return this._fail(400, `malformed header field '${text.slice(0, 40)}'`)[0];
    const name = text.slice(0, colon);
    if (!_TOKEN.test(name)) return this._fail(400, `malformed header field name '${name.slice(0, 40)}'`)[0];
    if (this._headers.length >= HTTP_MAX_FIELDS) return this._fail(431, `more than ${HTTP_MAX_FIELDS} header fields`)[0];
    this._headers.push([name, text.slice(colon + 1).trim()]);
    return undefined;
  }

  protected _fail(status: number, reason: string): HeadParseResult<T>[] {
    this._state = H_ERROR;
    return [{ type: 'error', status, reason }];
  }

  /** Read the start line; return an error text when malformed. */
  protected abstract _startLine(line: string): string | undefined;
  /** The parsed head. */
  protected abstract _result(): T;
}

/**
 * Reads an HTTP/1.0 or 1.1 request head, in any chunking: the request line
 * (`METHOD TARGET HTTP/1.x`) and the header fields up to the empty line.
 * Malformed input gives 400; a head over {@link HTTP_MAX_HEAD} bytes or
 * {@link HTTP_MAX_FIELDS} fields gives 431.
 */
export class HttpRequestHeadParser extends _HeadParser<HttpRequestHead> {
  private _method = '';
  private _target = '';
  private _version = '';

  protected _startLine(line: string): string | undefined {
    const m = /^(\S+) (\S+) (HTTP\/\d\.\d)$/.exec(line);
    if (m === null) return `malformed request line '${line.slice(0, 60)}'`;
    if (!_TOKEN.test(m[1]!)) return `malformed method '${m[1]!.slice(0, 20)}'`;
    if (m[3] !== 'HTTP/1.1' && m[3] !== 'HTTP/1.0') return `unsupported version ${m[3]}`;
    this._method = m[1]!;
    this._target = m[2]!;
    this._version = m[3]!;
    return undefined;
  }

  protected _result(): HttpRequestHead {
    return { method: this._method, target: this._target, version: this._version, headers: this._headers };
  }
}

/**
 * Reads an HTTP/1.x response head (status line and header fields), in any chunking.
 */
export class HttpResponseHeadParser extends _HeadParser<HttpResponseHead> {
  private _version = '';
  private _status = 0;
  private _reason = '';

  protected _startLine(line: string): string | undefined {
    const m = /^(HTTP\/1\.\d) (\d{3})(?: (.*))?$/.exec(line);
    if (m === null) return `malformed status line '${line.slice(0, 60)}'`;
    this._version = m[1]!;
    this._status = Number(m[2]);
    this._reason = m[3] ?? '';
    return undefined;
  }

  protected _result(): HttpResponseHead {
    return { version: this._version, status: this._status, reason: this._reason, headers: this._headers };
  }
}

// ---------------------------------------------------------------- body framing

const B_LENGTH = 0;
const B_SIZE = 1;
const B_EXT = 2;
const B_SIZE_LF = 3;
const B_DATA = 4;
const B_DATA_CR = 5;
const B_DATA_LF = 6;
const B_TRAILER_START = 7;
const B_TRAILER_LINE = 8;
const B_TRAILER_LF = 9;
const B_DONE = 10;

function _hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * Where a request body ends: after `Content-Length` bytes, or after the
 * last chunk and trailer of a chunked body. A request with neither has no
 * body. Fed the bytes after the head, it says how many belong to the body;
 * what follows (a pipelined request) is not forwarded.
 */
export class HttpBodyTracker {
  private _state: number;
  private _remaining: number;
  private _digits = 0;
  /** Why the chunked framing was rejected, if it was. */
  error: string | undefined = undefined;

  private constructor(chunked: boolean, length: number) {
    this._state = chunked ? B_SIZE : length > 0 ? B_LENGTH : B_DONE;
    this._remaining = chunked ? 0 : length;
  }

  /**
   * The tracker for a request's body.
   *
   * @param head The request head.
   * @returns The tracker.
   * @throws {UsageError} For framing the proxy will not forward (conflicting
   *   or malformed `Content-Length`, both `Content-Length` and
   *   `Transfer-Encoding`, a transfer coding that does not end in chunked);
   *   the server answers 400.
   */
  static forRequest(head: HttpRequestHead): HttpBodyTracker {
    const te = _headerValues(head.headers, 'transfer-encoding');
    const cl = _headerValues(head.headers, 'content-length');
    if (te.length > 0) {
      if (cl.length > 0) throw new UsageError('both Content-Length and Transfer-Encoding');
      const codings = te.join(',').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
      if (codings[codings.length - 1] !== 'chunked') throw new UsageError(`transfer coding '${te.join(', ')}' does not end in chunked`);
      return new HttpBodyTracker(true, 0);
    }
    if (cl.length > 0) {
      const values = new Set(cl.join(',').split(',').map((s) => s.trim()));
      if (values.size !== 1) throw new UsageError(`conflicting Content-Length values '${cl.join(', ')}'`);
      const v = [...values][0]!;
      if (!/^\d{1,15}$/.test(v)) throw new UsageError(`bad Content-Length '${v}'`);
      return new HttpBodyTracker(false, Number(v));
    }
    return new HttpBodyTracker(false, 0);
  }

  /** Whether the whole body has been seen. */
  get done(): boolean {
    return this._state === B_DONE;
  }

  /**
   * Take the bytes that belong to the body.
   *
   * @param chunk Bytes received after what was consumed before.
   * @returns How many of them, from the start, belong to the body.
   */
  consume(chunk: Buffer): number {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      switch (this._state) {
        case B_LENGTH:
        case B_DATA: {
          const take = Math.min(this._remaining, n - i);
          i += take;
          this._remaining -= take;
          if (this._remaining === 0) this._state = this._state === B_LENGTH ? B_DONE : B_DATA_CR;
          break;
        }
        case B_SIZE: {
          const c = chunk[i++]!;
          const d = _hex(c);
          if (d >= 0) {
            if (++this._digits > 12) return this._bad(i, 'chunk size too large');
            this._remaining = this._remaining * 16 + d;
          } else if (this._digits === 0) {
            return this._bad(i, 'missing chunk size');
          } else if (c === 0x3b || c === 0x20 || c === 0x09) {
            this._state = B_EXT;
          } else if (c === 0x0d) {
            this._state = B_SIZE_LF;
          } else if (c === 0x0a) {
            this._sizeLine();
          } else return this._bad(i, 'bad chunk size');
          break;
        }
        case B_EXT: {
          const lf = chunk.indexOf(0x0a, i);
          if (lf < 0) return n;
          i = lf + 1;
          this._sizeLine();
          break;
        }
        case B_SIZE_LF:
          if (chunk[i++] !== 0x0a) return this._bad(i, 'CR without LF after the chunk size');
          this._sizeLine();
          break;
        case B_DATA_CR: {
          const c = chunk[i++]!;
          if (c === 0x0d) this._state = B_DATA_LF;
          else if (c === 0x0a) this._nextChunk();
          else return this._bad(i, 'chunk data longer than its size');
          break;
        }
        case B_DATA_LF:
          if (chunk[i++] !== 0x0a) return this._bad(i, 'CR without LF after chunk data');
          this._nextChunk();
          break;
        case B_TRAILER_START: {
          const c = chunk[i++]!;
          if (c === 0x0d) this._state = B_TRAILER_LF;
          else if (c === 0x0a) this._state = B_DONE;
          else this._state = B_TRAILER_LINE;
          break;
        }
        case B_TRAILER_LINE: {
          const lf = chunk.indexOf(0x0a, i);
          if (lf < 0) return n;
          i = lf + 1;
          this._state = B_TRAILER_START;
          break;
        }
        case B_TRAILER_LF:
          if (chunk[i++] !== 0x0a) return this._bad(i, 'CR without LF after the trailer');
          this._state = B_DONE;
          break;
        default:
          return i;
      }
    }
    return i;
  }

  private _sizeLine(): void {
    this._state = this._remaining === 0 ? B_TRAILER_START : B_DATA;
  }

  private _nextChunk(): void {
    this._state = B_SIZE;
    this._remaining = 0;
    this._digits = 0;
  }

  private _bad(i: number, why: string): number {
    this.error = why;
    this._state = B_DONE;
    return i;
  }
}

// ---------------------------------------------------------------- targets

/** A destination as a request names it. */
export interface HttpDestination {
  host: string;
  port: number;
}

/**
 * Read an authority-form target (`host:port`, `[v6]:port`): the only form
 * CONNECT takes (RFC 9112 §3.2.3). The port is required.
 *
 * @param text The target.
 * @returns Host (IPv6 without brackets) and port, or `undefined` when malformed.
 */
export function parseAuthority(text: string): HttpDestination | undefined {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0 || text[end + 1] !== ':') return undefined;
    host = text.slice(1, end);
    if (!isIPv6(host)) return undefined;
    portText = text.slice(end + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon <= 0) return undefined;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) return undefined;
  }
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  if (host === '' || /[\s/@?#\\]/.test(host)) return undefined;
  return { host, port };
}

/** An absolute `http://` URI, split. */
export interface HttpAbsoluteUrl extends HttpDestination {
  /** Origin-form: path and query, at least `/`. */
  path: string;
  /** The authority as the Host field should carry it. */
  authority: string;
}

/**
 * Read an absolute-form target `http://host[:port]/path?query` (a fragment
 * is dropped, user info is refused).
 *
 * @param text The target.
 * @returns Its parts, or `undefined` when it is not an `http://` URI.
 */
export function parseAbsoluteHttpUrl(text: string): HttpAbsoluteUrl | undefined {
  if (!/^http:\/\//i.test(text)) return undefined;
  const rest = text.slice(7);
  let end = rest.search(/[/?#]/);
  if (end < 0) end = rest.length;
  const authority = rest.slice(0, end);
  if (authority === '' || authority.includes('@')) return undefined;
  let path = rest.slice(end).replace(/#.*$/, '');
  if (path === '' || path.startsWith('?')) path = `/${path}`;
  let dest: HttpDestination | undefined;
  if (/:\d*$/.test(authority) && !authority.endsWith(']')) dest = parseAuthority(authority);
  else if (authority.startsWith('[')) dest = authority.endsWith(']') && isIPv6(authority.slice(1, -1)) ? { host: authority.slice(1, -1), port: 80 } : undefined;
  else dest = /[\s/@?#\\:]/.test(authority) ? undefined : { host: authority, port: 80 };
  if (dest === undefined) return undefined;
  return { ...dest, path, authority };
}

// ---------------------------------------------------------------- forwarding

const _HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'upgrade']);

/**
 * Rewrite an absolute-URI request for the origin: origin-form request line,
 * `Host` from the URI, hop-by-hop fields removed (RFC 9110 §7.6.1: the
 * fixed ones and those `Connection` names), `Connection: close` added.
 * `Transfer-Encoding` is kept: the body is forwarded as it came.
 *
 * @param head The request as received.
 * @param url Its target, parsed.
 * @returns The head to send to the origin.
 */
export function forwardRequestHead(head: HttpRequestHead, url: HttpAbsoluteUrl): Buffer {
  const drop = new Set(_HOP_BY_HOP);
  for (const v of _headerValues(head.headers, 'connection')) {
    for (const t of v.split(',')) if (t.trim() !== '') drop.add(t.trim().toLowerCase());
  }
  drop.delete('transfer-encoding');
  const lines = [`${head.method} ${url.path} ${head.version}`, `Host: ${url.authority}`];
  for (const [n, v] of head.headers) {
    const lower = n.toLowerCase();
    if (lower === 'host' || drop.has(lower)) continue;
    lines.push(`${n}: ${v}`);
  }
  lines.push('Connection: close', '', '');
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

/**
 * One of the proxy's own responses, closing the connection.
 *
 * @param status The status code.
 * @param opts Extra header fields, a body (default: the reason phrase), another reason phrase.
 * @returns The bytes.
 */
export function httpResponse(status: number, opts: { headers?: [string, string][]; body?: string; reason?: string } = {}): Buffer {
  const reason = opts.reason ?? HTTP_REASONS[status] ?? 'Error';
  if (status === 200) return Buffer.from(`HTTP/1.1 200 ${reason}\r\n\r\n`, 'latin1');
  const body = Buffer.from(opts.body ?? `${status} ${reason}\n`, 'utf8');
  const lines = [`HTTP/1.1 ${status} ${reason}`, 'Content-Type: text/plain; charset=utf-8', `Content-Length: ${body.length}`, 'Connection: close'];
  for (const [n, v] of opts.headers ?? []) lines.push(`${n}: ${v}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/**
 * Read `Proxy-Authorization: Basic <base64 user:pass>`.
 *
 * @param value The field's value.
 * @returns User and password (split at the first colon), or `undefined`.
 */
export function parseBasicCredentials(value: string | undefined): { user: string; password: string } | undefined {
  if (value === undefined) return undefined;
  const m = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(value);
  if (m === null) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

// ---------------------------------------------------------------- client side

/**
 * The typed error for a CONNECT answered with anything but 2xx: 407 and
 * 403 are proxy errors (exit 5), 502 the network error of the target
 * (exit 1), 504 a timeout (exit 3), the rest general proxy failures. A 401
 * to credentials is read as a 407 (tinyproxy answers wrong ones so).
 *
 * @param res The response head.
 * @param proxy The proxy, `host:port`.
 * @param target The destination, `host:port`.
 * @param withCredentials Whether credentials were sent.
 * @returns The error.
 */
export function httpConnectError(res: HttpResponseHead, proxy: string, target: string, withCredentials: boolean, user?: string): Error {
  const code = `HTTP ${res.status}`;
  const reason = res.reason || HTTP_REASONS[res.status] || 'error';
  switch (res.status) {
    case 401:
    case 407:
      if (res.status === 401 && !withCredentials) return new ProxyError(`proxy ${proxy} failed: ${reason} (${code})`, proxy, code);
      return new ProxyAuthError(
        withCredentials ? `proxy ${proxy} refused the credentials of user '${user}' (${code} ${reason})` : `proxy ${proxy} requires authentication (${code} ${reason})`,
        proxy,
        code,
      );
    case 403:
      return new ProxyRefusedError(`proxy ${proxy} refused: ${reason} (${code})`, proxy, code);
    case 502:
      if (/refused/i.test(reason)) return new ConnectionRefusedError(`${target} via proxy ${proxy}`);
      return new ConnectError(`${reason} behind proxy ${proxy} (${code})`, target);
    case 504:
      return new TimeoutError(`proxy ${proxy} timed out reaching ${target}: ${reason} (${code})`);
    default:
      return new ProxyError(`proxy ${proxy} failed: ${reason} (${code})`, proxy, code);
  }
}

/**
 * The client side of HTTP CONNECT: `CONNECT host:port HTTP/1.1` with
 * `Host` (and `Proxy-Authorization: Basic` when credentials are given),
 * then the proxy's response head; a 2xx opens the tunnel.
 */
export class HttpConnectClientHandshake implements ClientHandshake {
  private readonly _parser = new HttpResponseHeadParser();
  private readonly _request: Buffer;
  private readonly _proxy: string;
  private readonly _target: string;
  private readonly _creds: { user: string; password: string } | undefined;

  /**
   * @param target Where the proxy should connect.
   * @param proxy The proxy, `host:port`, for messages.
   * @param creds Basic credentials.
   */
  constructor(target: HttpDestination, proxy: string, creds?: { user: string; password: string }) {
    this._proxy = proxy;
    this._creds = creds;
    const authority = target.host.includes(':') ? `[${target.host.replace(/%.*$/, '')}]:${target.port}` : `${target.host}:${target.port}`;
    if (/[\s\r\n]/.test(authority)) throw new UsageError(`bad host '${target.host}' for HTTP CONNECT`);
    this._target = authority;
    const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
    if (creds !== undefined) lines.push(`Proxy-Authorization: Basic ${Buffer.from(`${creds.user}:${creds.password}`, 'utf8').toString('base64')}`);
    lines.push('', '');
    this._request = Buffer.from(lines.join('\r\n'), 'latin1');
  }

  describe(): string {
    return `HTTP CONNECT handshake with proxy ${this._proxy}`;
  }

  begin(): Buffer {
    return this._request;
  }

  feed(data: Buffer): HandshakeStep {
    const [r] = this._parser.feed(data);
    if (r === undefined) return {};
    if (r.type === 'error') {
      return { error: new ProxyError(`proxy ${this._proxy} sent a malformed HTTP reply: ${r.reason} (is it an HTTP proxy?)`, this._proxy) };
    }
    const res = r.head;
    if (res.status >= 200 && res.status < 300) return { done: true, rest: this._parser.takeRest() };
    return { error: httpConnectError(res, this._proxy, this._target, this._creds !== undefined, this._creds?.user) };
  }
}
