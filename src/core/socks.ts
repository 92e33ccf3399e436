/**
 * SOCKS4, SOCKS4a and SOCKS5 (RFC 1928, with RFC 1929 user/password
 * authentication) as explicit state machines over raw bytes: no sockets.
 *
 * Server side: {@link Socks5ServerParser} and {@link Socks4ServerParser}
 * turn whatever chunks arrive into messages (greeting, credentials,
 * request); the reply builders make the bytes to answer with. Client side:
 * {@link Socks5ClientHandshake} and {@link Socks4ClientHandshake} produce
 * the bytes to send and read the proxy's replies, ending with the tunnel's
 * first bytes or a typed error. `proxy.ts` drives the first, `tunnel.ts`
 * the second. Every parser takes input in any chunking, down to one byte
 * at a time.
 *
 * @module
 */

import { isIPv4, isIPv6 } from 'node:net';
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

// ---------------------------------------------------------------- constants

/** SOCKS5 authentication methods (RFC 1928 §3). */
export const SOCKS5_METHOD = {
  NO_AUTH: 0x00,
  GSSAPI: 0x01,
  USER_PASS: 0x02,
  NO_ACCEPTABLE: 0xff,
} as const;

/** SOCKS5 commands (RFC 1928 §4). */
export const SOCKS5_CMD = { CONNECT: 0x01, BIND: 0x02, UDP_ASSOCIATE: 0x03 } as const;

/** SOCKS5 address types (RFC 1928 §5). */
export const SOCKS5_ATYP = { IPV4: 0x01, DOMAIN: 0x03, IPV6: 0x04 } as const;

/** SOCKS5 reply codes (RFC 1928 §6). */
export const SOCKS5_REP = {
  SUCCEEDED: 0x00,
  GENERAL_FAILURE: 0x01,
  NOT_ALLOWED: 0x02,
  NETWORK_UNREACHABLE: 0x03,
  HOST_UNREACHABLE: 0x04,
  CONNECTION_REFUSED: 0x05,
  TTL_EXPIRED: 0x06,
  COMMAND_NOT_SUPPORTED: 0x07,
  ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const;

/** What each SOCKS5 reply code means, by code. */
export const SOCKS5_REP_TEXT: readonly string[] = [
  'succeeded',
  'general SOCKS server failure',
  'not allowed by ruleset',
  'network unreachable',
  'host unreachable',
  'connection refused',
  'TTL expired',
  'command not supported',
  'address type not supported',
];

/** SOCKS4 reply codes (the CD field). */
export const SOCKS4_REP = {
  GRANTED: 0x5a,
  REJECTED: 0x5b,
  NO_IDENTD: 0x5c,
  IDENTD_MISMATCH: 0x5d,
} as const;

/** Longest SOCKS4 user id or SOCKS4a host name accepted (bytes, NUL excluded). */
export const SOCKS4_MAX_FIELD = 255;

// ---------------------------------------------------------------- shared helpers

/** A destination as the protocols carry it. */
export interface SocksDestination {
  /** IPv4 or IPv6 address, or a host name. */
  host: string;
  /** Port, 0-65535. */
  port: number;
}

function _ipv4Bytes(ip: string): number[] {
  return ip.split('.').map((x) => Number(x) & 0xff);
}

function _ipv6Bytes(ip: string): Buffer {
  // Expand `::` and an embedded IPv4 tail; the scope (`%eth0`) is not sent.
  const bare = ip.replace(/%.*$/, '');
  const words = (s: string): number[] => {
    const out: number[] = [];
    if (s === '') return out;
    for (const part of s.split(':')) {
      if (part.includes('.')) {
        const b = _ipv4Bytes(part);
        out.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
      } else out.push(parseInt(part, 16));
    }
    return out;
  };
  const gap = bare.indexOf('::');
  let all: number[];
  if (gap < 0) all = words(bare);
  else {
    const h = words(bare.slice(0, gap));
    const t = words(bare.slice(gap + 2));
    all = [...h, ...new Array<number>(Math.max(0, 8 - h.length - t.length)).fill(0), ...t];
  }
  const buf = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) buf.writeUInt16BE((all[i] ?? 0) & 0xffff, i * 2);
  return buf;
}

/**
 * An IPv6 address from its 16 bytes, in Node's compressed notation
 * (`::1`, `2001:db8::1`).
 *
 * @param b Sixteen bytes.
 * @returns The address text.
 */
export function ipv6FromBytes(b: Buffer): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(b.readUInt16BE(i));
  // Longest run of zero words (length >= 2) becomes `::`.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

/**
 * Encode a destination as SOCKS5 `ATYP ADDR PORT`.
 *
 * @param dest Host (IPv4, IPv6 or a name of 1-255 bytes) and port.
 * @returns The bytes.
 * @throws {UsageError} For a name that is empty or longer than 255 bytes.
 */
export function encodeSocks5Address(dest: SocksDestination): Buffer {
  const { host, port } = dest;
  let head: Buffer;
  if (isIPv4(host)) {
    head = Buffer.from([SOCKS5_ATYP.IPV4, ..._ipv4Bytes(host)]);
  } else if (isIPv6(host.replace(/%.*$/, ''))) {
    head = Buffer.concat([Buffer.from([SOCKS5_ATYP.IPV6]), _ipv6Bytes(host)]);
  } else {
    const name = Buffer.from(host, 'utf8');
    if (name.length === 0 || name.length > 255) throw new UsageError(`host name '${host}' cannot be sent over SOCKS5 (1-255 bytes)`);
    head = Buffer.concat([Buffer.from([SOCKS5_ATYP.DOMAIN, name.length]), name]);
  }
  const out = Buffer.allocUnsafe(head.length + 2);
  head.copy(out, 0);
  out.writeUInt16BE(port, head.length);
  return out;
}

// ---------------------------------------------------------------- SOCKS5 replies (server side)

/**
 * The server's method selection: `05 METHOD`.
 *
 * @param method The method chosen, or 0xFF: none acceptable.
 * @returns Two bytes.
 */
export function socks5MethodReply(method: number): Buffer {
  return Buffer.from([0x05, method]);
}

/**
 * The RFC 1929 status: `01 00` success, `01 01` failure.
 *
 * @param ok Whether the credentials were accepted.
 * @returns Two bytes.
 */
export function socks5AuthReply(ok: boolean): Buffer {
  return Buffer.from([0x01, ok ? 0x00 : 0x01]);
}

/**
 * A SOCKS5 reply: `05 REP 00 ATYP BND.ADDR BND.PORT`.
 *
 * @param rep The reply code ({@link SOCKS5_REP}).
 * @param bound The bound address (success) or nothing (then `0.0.0.0:0`).
 * @returns The bytes.
 */
export function socks5Reply(rep: number, bound?: SocksDestination): Buffer {
  const addr = bound !== undefined && (isIPv4(bound.host) || isIPv6(bound.host)) ? bound : { host: '0.0.0.0', port: 0 };
  return Buffer.concat([Buffer.from([0x05, rep, 0x00]), encodeSocks5Address(addr)]);
}

/**
 * A SOCKS4 reply: `00 CD DSTPORT DSTIP`.
 *
 * @param code {@link SOCKS4_REP}.
 * @param bound Port and IPv4 address to report (default zeros).
 * @returns Eight bytes.
 */
export function socks4Reply(code: number, bound?: SocksDestination): Buffer {
  const out = Buffer.alloc(8);
  out[1] = code;
  if (bound !== undefined && isIPv4(bound.host)) {
    out.writeUInt16BE(bound.port, 2);
    Buffer.from(_ipv4Bytes(bound.host)).copy(out, 4);
  }
  return out;
}

// ---------------------------------------------------------------- SOCKS5 server parser

/** What {@link Socks5ServerParser} reads. */
export type Socks5ServerMessage =
  | { type: 'greeting'; methods: number[] }
  | { type: 'auth'; user: string; password: string; userBytes: Buffer; passwordBytes: Buffer }
  | { type: 'request'; command: number; addressType: number; host: string; port: number }
  | { type: 'error'; reason: string; reply?: Buffer };

// States, ws-style: one number each, a switch in a loop.
const S5_GREET_VER = 0;
const S5_GREET_NMETHODS = 1;
const S5_GREET_METHODS = 2;
const S5_WAIT_METHOD = 3;
const S5_AUTH_VER = 4;
const S5_AUTH_ULEN = 5;
const S5_AUTH_UNAME = 6;
const S5_AUTH_PLEN = 7;
const S5_AUTH_PASSWD = 8;
const S5_WAIT_AUTH = 9;
const S5_REQ_VER = 10;
const S5_REQ_CMD = 11;
const S5_REQ_RSV = 12;
const S5_REQ_ATYP = 13;
const S5_REQ_DLEN = 14;
const S5_REQ_ADDR = 15;
const S5_REQ_PORT = 16;
const S5_DONE = 17;
const S5_ERROR = 18;

/**
 * The server side of a SOCKS5 handshake, fed the client's bytes.
 *
 * It reads the greeting, then waits for {@link selectMethod} (the server's
 * choice); with user/password it reads the RFC 1929 request and waits for
 * {@link authDone}; then it reads the request and stops. Bytes that arrive
 * while it waits are kept and parsed at the next call; bytes after the
 * request are the tunnel's first data ({@link takeRest}).
 *
 * @example
 * const p = new Socks5ServerParser();
 * p.feed(Buffer.from([5, 1, 0]));         // [{ type: 'greeting', methods: [0] }]
 * p.selectMethod(0);
 * p.feed(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, 0, 80]));
 * // [{ type: 'request', command: 1, addressType: 1, host: '127.0.0.1', port: 80 }]
 */
export class Socks5ServerParser {
  private _state = S5_GREET_VER;
  private _need = 0;
  private _field: Buffer = Buffer.alloc(0);
  private _fieldPos = 0;
  private _methods: number[] = [];
  private _user: Buffer = Buffer.alloc(0);
  private _command = 0;
  private _atyp = 0;
  private _port = 0;
  private _portBytes = 0;
  private _held: Buffer | undefined = undefined;
  private _rest: Buffer | undefined = undefined;

  /** Whether the request has been read (or the handshake failed). */
  get finished(): boolean {
    return this._state === S5_DONE || this._state === S5_ERROR;
  }

  /**
   * Feed bytes from the client.
   *
   * @param chunk Any number of bytes (an empty chunk parses what was held).
   * @returns The messages completed by these bytes, in order.
   */
  feed(chunk: Buffer): Socks5ServerMessage[] {
    const out: Socks5ServerMessage[] = [];
    let data = chunk;
    if (this._held !== undefined) {
      data = chunk.length === 0 ? this._held : Buffer.concat([this._held, chunk]);
      this._held = undefined;
    }
    let i = 0;
    const n = data.length;
    while (i < n) {
      switch (this._state) {
        case S5_GREET_VER: {
          const v = data[i++]!;
          if (v !== 0x05) return this._fail(out, `not SOCKS5 (version byte 0x${v.toString(16).padStart(2, '0')})`);
          this._state = S5_GREET_NMETHODS;
          break;
        }
        case S5_GREET_NMETHODS:
          this._need = data[i++]!;
          this._methods = [];
          if (this._need === 0) {
            this._state = S5_WAIT_METHOD;
            out.push({ type: 'greeting', methods: [] });
          } else this._state = S5_GREET_METHODS;
          break;
        case S5_GREET_METHODS:
          this._methods.push(data[i++]!);
          if (--this._need === 0) {
            this._state = S5_WAIT_METHOD;
            out.push({ type: 'greeting', methods: this._methods });
          }
          break;
        case S5_WAIT_METHOD:
        case S5_WAIT_AUTH:
          // The server answers first; keep the bytes for later.
          this._held = data.subarray(i);
          return out;
        case S5_AUTH_VER: {
          const v = data[i++]!;
          if (v !== 0x01) return this._fail(out, `bad RFC 1929 version 0x${v.toString(16).padStart(2, '0')}`, socks5AuthReply(false));
          this._state = S5_AUTH_ULEN;
          break;
        }
        case S5_AUTH_ULEN: {
          const len = data[i++]!;
          if (len === 0) return this._fail(out, 'empty user name (RFC 1929 ULEN 0)', socks5AuthReply(false));
          this._startField(len);
          this._state = S5_AUTH_UNAME;
          break;
        }
        case S5_AUTH_UNAME:
          i = this._fill(data, i);
          if (this._fieldPos === this._field.length) {
            this._user = this._field;
            this._state = S5_AUTH_PLEN;
          }
          break;
        case S5_AUTH_PLEN: {
          const len = data[i++]!;
          this._startField(len);
          this._state = S5_AUTH_PASSWD;
          if (len === 0) this._authRead(out);
          break;
        }
        case S5_AUTH_PASSWD:
          i = this._fill(data, i);
          if (this._fieldPos === this._field.length) this._authRead(out);
          break;
        case S5_REQ_VER: {
          const v = data[i++]!;
          if (v !== 0x05) return this._fail(out, `bad request version 0x${v.toString(16).padStart(2, '0')}`, socks5Reply(SOCKS5_REP.GENERAL_FAILURE));
          this._state = S5_REQ_CMD;
          break;
        }
        case S5_REQ_CMD:
          this._command = data[i++]!;
          this._state = S5_REQ_RSV;
          break;
        case S5_REQ_RSV:
          i++; // reserved; any value is tolerated
          this._state = S5_REQ_ATYP;
          break;
        case S5_REQ_ATYP: {
          const a = data[i++]!;
          this._atyp = a;
          if (a === SOCKS5_ATYP.IPV4) {
            this._startField(4);
            this._state = S5_REQ_ADDR;
          } else if (a === SOCKS5_ATYP.IPV6) {
            this._startField(16);
            this._state = S5_REQ_ADDR;
          } else if (a === SOCKS5_ATYP.DOMAIN) {
            this._state = S5_REQ_DLEN;
          } else {
            return this._fail(out, `unknown address type 0x${a.toString(16).padStart(2, '0')}`, socks5Reply(SOCKS5_REP.ADDRESS_TYPE_NOT_SUPPORTED));
          }
          break;
        }
        case S5_REQ_DLEN: {
          const len = data[i++]!;
          if (len === 0) return this._fail(out, 'empty host name (ATYP 3 with length 0)', socks5Reply(SOCKS5_REP.GENERAL_FAILURE));
          this._startField(len);
          this._state = S5_REQ_ADDR;
          break;
        }
        case S5_REQ_ADDR:
          i = this._fill(data, i);
          if (this._fieldPos === this._field.length) {
            this._port = 0;
            this._portBytes = 0;
            this._state = S5_REQ_PORT;
          }
          break;
        case S5_REQ_PORT:
          this._port = (this._port << 8) | data[i++]!;
          if (++this._portBytes === 2) {
            this._state = S5_DONE;
            out.push({ type: 'request', command: this._command, addressType: this._atyp, host: this._hostText(), port: this._port });
            if (i < n) this._rest = data.subarray(i);
            return out;
          }
          break;
        case S5_DONE:
          // Only reached when fed after the request: it is tunnel data.
          this._rest = this._rest === undefined ? data.subarray(i) : Buffer.concat([this._rest, data.subarray(i)]);
          return out;
        default:
          return out;
      }
    }
    return out;
  }

  /**
   * The server chose a method: user/password (0x02) reads RFC 1929 next,
   * anything else the request. Call `feed(Buffer.alloc(0))` afterwards to
   * parse bytes that arrived early.
   *
   * @param method The method selected.
   */
  selectMethod(method: number): void {
    if (this._state !== S5_WAIT_METHOD) throw new Error('selectMethod() before the greeting');
    this._state = method === SOCKS5_METHOD.USER_PASS ? S5_AUTH_VER : S5_REQ_VER;
  }

  /** The credentials were accepted: read the request next. */
  authDone(): void {
    if (this._state !== S5_WAIT_AUTH) throw new Error('authDone() before the credentials');
    this._state = S5_REQ_VER;
  }

  /**
   * The bytes received after the request (the tunnel's first data).
   *
   * @returns Them, once; an empty buffer when none.
   */
  takeRest(): Buffer {
    const r = this._rest ?? Buffer.alloc(0);
    this._rest = undefined;
    return r;
  }

  private _startField(len: number): void {
    this._field = Buffer.allocUnsafe(len);
    this._fieldPos = 0;
  }

  private _fill(data: Buffer, i: number): number {
    const take = Math.min(this._field.length - this._fieldPos, data.length - i);
    data.copy(this._field, this._fieldPos, i, i + take);
    this._fieldPos += take;
    return i + take;
  }

  private _authRead(out: Socks5ServerMessage[]): void {
    this._state = S5_WAIT_AUTH;
    const pass = this._field;
    out.push({ type: 'auth', user: this._user.toString('utf8'), password: pass.toString('utf8'), userBytes: this._user, passwordBytes: pass });
  }

  private _hostText(): string {
    const f = this._field;
    if (this._atyp === SOCKS5_ATYP.IPV4) return `${f[0]}.${f[1]}.${f[2]}.${f[3]}`;
    if (this._atyp === SOCKS5_ATYP.IPV6) return ipv6FromBytes(f);
    return f.toString('utf8');
  }

  private _fail(out: Socks5ServerMessage[], reason: string, reply?: Buffer): Socks5ServerMessage[] {
    this._state = S5_ERROR;
    out.push(reply === undefined ? { type: 'error', reason } : { type: 'error', reason, reply });
    return out;
  }
}

// ---------------------------------------------------------------- SOCKS4 / 4a server parser

/** What {@link Socks4ServerParser} reads. */
export type Socks4ServerMessage =
  | { type: 'request'; command: number; host: string; port: number; userId: string; socks4a: boolean }
  | { type: 'error'; reason: string; reply: Buffer };

const S4_VER = 0;
const S4_CMD = 1;
const S4_PORT = 2;
const S4_IP = 3;
const S4_USERID = 4;
const S4_HOST = 5;
const S4_DONE = 6;
const S4_ERROR = 7;

/**
 * The server side of SOCKS4 and SOCKS4a: `04 CMD PORT IP USERID 00`, and
 * with an IP of `0.0.0.x` (x ≠ 0) a host name and `00` after it.
 * User id and host name are limited to {@link SOCKS4_MAX_FIELD} bytes.
 */
export class Socks4ServerParser {
  private _state = S4_VER;
  private _command = 0;
  private _port = 0;
  private _count = 0;
  private readonly _ip = Buffer.alloc(4);
  private _chunks: Buffer[] = [];
  private _len = 0;
  private _userId = '';
  private _rest: Buffer | undefined = undefined;

  /** Whether the request has been read (or failed). */
  get finished(): boolean {
    return this._state === S4_DONE || this._state === S4_ERROR;
  }

  /**
   * Feed bytes from the client.
   *
   * @param data Any number of bytes.
   * @returns The request once complete, or an error with the reply to send.
   */
  feed(data: Buffer): Socks4ServerMessage[] {
    const out: Socks4ServerMessage[] = [];
    let i = 0;
    const n = data.length;
    while (i < n) {
      switch (this._state) {
        case S4_VER: {
          const v = data[i++]!;
          if (v !== 0x04) return this._fail(out, `not SOCKS4 (version byte 0x${v.toString(16).padStart(2, '0')})`);
          this._state = S4_CMD;
          break;
        }
        case S4_CMD:
          this._command = data[i++]!;
          this._state = S4_PORT;
          this._count = 0;
          break;
        case S4_PORT:
          this._port = (this._port << 8) | data[i++]!;
          if (++this._count === 2) {
            this._state = S4_IP;
            this._count = 0;
          }
          break;
        case S4_IP:
          this._ip[this._count] = data[i++]!;
          if (++this._count === 4) this._state = S4_USERID;
          break;
        case S4_USERID:
        case S4_HOST: {
          const nul = data.indexOf(0, i);
          const end = nul < 0 ? n : nul;
          if (end > i) {
            this._chunks.push(data.subarray(i, end));
            this._len += end - i;
            if (this._len > SOCKS4_MAX_FIELD) {
              return this._fail(out, this._state === S4_USERID ? 'user id longer than 255 bytes' : 'host name longer than 255 bytes');
            }
          }
          if (nul < 0) return out;
          i = nul + 1;
          const text = Buffer.concat(this._chunks, this._len).toString('utf8');
          this._chunks = [];
          this._len = 0;
          if (this._state === S4_USERID) {
            this._userId = text;
            const ip = this._ip;
            if (ip[0] === 0 && ip[1] === 0 && ip[2] === 0 && ip[3] !== 0) {
              this._state = S4_HOST;
              break;
            }
            return this._done(out, `${ip[0]}.${ip[1]}.${ip[2]}.${ip[3]}`, false, data, i);
          }
          if (text === '') return this._fail(out, 'empty SOCKS4a host name');
          return this._done(out, text, true, data, i);
        }
        case S4_DONE:
          this._rest = this._rest === undefined ? data.subarray(i) : Buffer.concat([this._rest, data.subarray(i)]);
          return out;
        default:
          return out;
      }
    }
    return out;
  }

  /** @returns The bytes after the request (the tunnel's first data), once. */
  takeRest(): Buffer {
    const r = this._rest ?? Buffer.alloc(0);
    this._rest = undefined;
    return r;
  }

  private _done(out: Socks4ServerMessage[], host: string, socks4a: boolean, data: Buffer, i: number): Socks4ServerMessage[] {
    this._state = S4_DONE;
    out.push({ type: 'request', command: this._command, host, port: this._port, userId: this._userId, socks4a });
    if (i < data.length) this._rest = data.subarray(i);
    return out;
  }

  private _fail(out: Socks4ServerMessage[], reason: string): Socks4ServerMessage[] {
    this._state = S4_ERROR;
    out.push({ type: 'error', reason, reply: socks4Reply(SOCKS4_REP.REJECTED) });
    return out;
  }
}

// ---------------------------------------------------------------- SOCKS5 UDP

/** A SOCKS5 UDP datagram, its header read (RFC 1928 §7). */
export interface Socks5Datagram {
  /** Fragment number; anything but 0 is dropped by the relay. */
  frag: number;
  /** Destination (from the client) or source (to the client). */
  host: string;
  port: number;
  /** The payload (a view into the datagram). */
  data: Buffer;
}

/**
 * Read a SOCKS5 UDP request header: `RSV(2) FRAG ATYP ADDR PORT DATA`.
 *
 * @param dgram The datagram.
 * @returns The fields, or `undefined` when it is truncated or malformed.
 */
export function parseSocks5Datagram(dgram: Buffer): Socks5Datagram | undefined {
  if (dgram.length < 4) return undefined;
  const frag = dgram[2]!;
  const atyp = dgram[3]!;
  let host: string;
  let i: number;
  if (atyp === SOCKS5_ATYP.IPV4) {
    if (dgram.length < 10) return undefined;
    host = `${dgram[4]}.${dgram[5]}.${dgram[6]}.${dgram[7]}`;
    i = 8;
  } else if (atyp === SOCKS5_ATYP.IPV6) {
    if (dgram.length < 22) return undefined;
    host = ipv6FromBytes(dgram.subarray(4, 20));
    i = 20;
  } else if (atyp === SOCKS5_ATYP.DOMAIN) {
    if (dgram.length < 5) return undefined;
    const len = dgram[4]!;
    if (len === 0 || dgram.length < 5 + len + 2) return undefined;
    host = dgram.toString('utf8', 5, 5 + len);
    i = 5 + len;
  } else return undefined;
  const port = dgram.readUInt16BE(i);
  return { frag, host, port, data: dgram.subarray(i + 2) };
}

/**
 * Wrap a payload in a SOCKS5 UDP header (FRAG 0).
 *
 * @param from The address it came from (IPv4 or IPv6).
 * @param data The payload.
 * @returns The datagram to send to the client.
 */
export function encodeSocks5Datagram(from: SocksDestination, data: Buffer): Buffer {
  const addr = encodeSocks5Address(from);
  const out = Buffer.allocUnsafe(3 + addr.length + data.length);
  out[0] = 0;
  out[1] = 0;
  out[2] = 0;
  addr.copy(out, 3);
  data.copy(out, 3 + addr.length);
  return out;
}

// ---------------------------------------------------------------- client side

/** User name and password for RFC 1929. */
export interface SocksCredentials {
  user: string;
  password?: string;
}

/**
 * The typed error for a SOCKS5 reply code other than success: policy and
 * general failures are proxy errors (exit 5), the target's own refusal or
 * unreachability is the network error a direct connection would give
 * (exit 1), TTL expired a timeout (exit 3).
 *
 * @param rep The reply code.
 * @param proxy The proxy, `host:port`.
 * @param target The destination, `host:port`.
 * @returns The error.
 */
export function socks5ReplyError(rep: number, proxy: string, target: string): Error {
  const text = SOCKS5_REP_TEXT[rep] ?? `unknown reply code ${rep}`;
  const code = `SOCKS5 REP ${rep}`;
  switch (rep) {
    case SOCKS5_REP.NOT_ALLOWED:
      return new ProxyRefusedError(`proxy ${proxy} refused: ${text} (${code})`, proxy, code);
    case SOCKS5_REP.CONNECTION_REFUSED:
      return new ConnectionRefusedError(`${target} via proxy ${proxy}`);
    case SOCKS5_REP.NETWORK_UNREACHABLE:
    case SOCKS5_REP.HOST_UNREACHABLE:
      return new ConnectError(`${text[0]!.toUpperCase()}${text.slice(1)} behind proxy ${proxy} (${code})`, target, rep === 3 ? 'ENETUNREACH' : 'EHOSTUNREACH');
    case SOCKS5_REP.TTL_EXPIRED:
      return new TimeoutError(`proxy ${proxy} timed out reaching ${target}: TTL expired (${code})`);
    default:
      return new ProxyError(`proxy ${proxy} failed: ${text} (${code})`, proxy, code);
  }
}

const C5_METHOD = 0;
const C5_AUTH = 1;
const C5_REPLY_HEAD = 2;
const C5_REPLY_DLEN = 3;
const C5_REPLY_ADDR = 4;
const C5_DONE = 5;

/**
 * The client side of SOCKS5: greeting (no-auth, plus user/password when
 * credentials are given), RFC 1929 when the proxy picks it, CONNECT, reply.
 */
export class Socks5ClientHandshake implements ClientHandshake {
  private _state = C5_METHOD;
  private readonly _buf = Buffer.alloc(4);
  private _have = 0;
  private _skip = 0;
  private readonly _target: SocksDestination;
  private readonly _creds: SocksCredentials | undefined;
  private readonly _proxy: string;
  private readonly _targetText: string;

  /**
   * @param target Where the proxy should connect (a name is sent as ATYP 3).
   * @param proxy The proxy, `host:port`, for messages.
   * @param creds User and password, offered as method 0x02.
   */
  constructor(target: SocksDestination, proxy: string, creds?: SocksCredentials) {
    this._target = target;
    this._creds = creds;
    this._proxy = proxy;
    this._targetText = target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
    encodeSocks5Address(target); // validate early
  }

  describe(): string {
    return `SOCKS5 handshake with proxy ${this._proxy}`;
  }

  begin(): Buffer {
    return this._creds !== undefined ? Buffer.from([0x05, 0x02, SOCKS5_METHOD.NO_AUTH, SOCKS5_METHOD.USER_PASS]) : Buffer.from([0x05, 0x01, SOCKS5_METHOD.NO_AUTH]);
  }

  feed(data: Buffer): HandshakeStep {
    let i = 0;
    const n = data.length;
    const sends: Buffer[] = [];
    const step = (s: HandshakeStep): HandshakeStep => (sends.length > 0 && s.error === undefined ? { ...s, send: Buffer.concat(sends) } : s);
    while (i < n) {
      switch (this._state) {
        case C5_METHOD:
        case C5_AUTH: {
          this._buf[this._have++] = data[i++]!;
          if (this._have < 2) break;
          this._have = 0;
          if (this._state === C5_METHOD) {
            if (this._buf[0] !== 0x05) return { error: this._malformed(`version 0x${this._buf[0]!.toString(16).padStart(2, '0')} in the method selection`) };
            const m = this._buf[1]!;
            if (m === SOCKS5_METHOD.NO_AUTH) {
              sends.push(this._request());
              this._state = C5_REPLY_HEAD;
            } else if (m === SOCKS5_METHOD.USER_PASS && this._creds !== undefined) {
              sends.push(this._auth());
              this._state = C5_AUTH;
            } else if (m === SOCKS5_METHOD.NO_ACCEPTABLE || m === SOCKS5_METHOD.USER_PASS) {
              const why = this._creds === undefined ? 'requires authentication' : 'accepted none of the authentication methods offered';
              return { error: new ProxyAuthError(`proxy ${this._proxy} ${why} (SOCKS5 method 0x${m.toString(16).padStart(2, '0')})`, this._proxy, `SOCKS5 method 0x${m.toString(16)}`) };
            } else {
              return { error: this._malformed(`method 0x${m.toString(16).padStart(2, '0')} that was not offered`) };
            }
          } else {
            if (this._buf[1] !== 0x00) {
              return {
                error: new ProxyAuthError(
                  `proxy ${this._proxy} refused the credentials of user '${this._creds!.user}' (SOCKS5 RFC 1929 status ${this._buf[1]})`,
                  this._proxy,
                  `RFC 1929 status ${this._buf[1]}`,
                ),
              };
            }
            sends.push(this._request());
            this._state = C5_REPLY_HEAD;
          }
          break;
        }
        case C5_REPLY_HEAD: {
          this._buf[this._have++] = data[i++]!;
          if (this._have < 4) break;
          this._have = 0;
          if (this._buf[0] !== 0x05) return { error: this._malformed(`version 0x${this._buf[0]!.toString(16).padStart(2, '0')} in the reply`) };
          const rep = this._buf[1]!;
          if (rep !== SOCKS5_REP.SUCCEEDED) return { error: socks5ReplyError(rep, this._proxy, this._targetText) };
          const atyp = this._buf[3]!;
          if (atyp === SOCKS5_ATYP.IPV4) {
            this._skip = 4 + 2;
            this._state = C5_REPLY_ADDR;
          } else if (atyp === SOCKS5_ATYP.IPV6) {
            this._skip = 16 + 2;
            this._state = C5_REPLY_ADDR;
          } else if (atyp === SOCKS5_ATYP.DOMAIN) {
            this._state = C5_REPLY_DLEN;
          } else return { error: this._malformed(`address type 0x${atyp.toString(16).padStart(2, '0')} in the reply`) };
          break;
        }
        case C5_REPLY_DLEN:
          this._skip = data[i++]! + 2;
          this._state = C5_REPLY_ADDR;
          break;
        case C5_REPLY_ADDR: {
          const take = Math.min(this._skip, n - i);
          i += take;
          this._skip -= take;
          if (this._skip === 0) {
            this._state = C5_DONE;
            return step({ done: true, rest: data.subarray(i) });
          }
          break;
        }
        default:
          return step({ done: true, rest: data.subarray(i) });
      }
    }
    return step({});
  }

  private _request(): Buffer {
    return Buffer.concat([Buffer.from([0x05, SOCKS5_CMD.CONNECT, 0x00]), encodeSocks5Address(this._target)]);
  }

  private _auth(): Buffer {
    const u = Buffer.from(this._creds!.user, 'utf8');
    const p = Buffer.from(this._creds!.password ?? '', 'utf8');
    return Buffer.concat([Buffer.from([0x01, u.length]), u, Buffer.from([p.length]), p]);
  }

  private _malformed(what: string): ProxyError {
    return new ProxyError(`proxy ${this._proxy} sent a malformed SOCKS5 reply: ${what} (is it a SOCKS5 proxy?)`, this._proxy);
  }
}

/**
 * The client side of SOCKS4 (an IPv4 destination) and SOCKS4a (a name,
 * sent after the user id with the address 0.0.0.1).
 */
export class Socks4ClientHandshake implements ClientHandshake {
  private readonly _buf = Buffer.alloc(8);
  private _have = 0;
  private _done = false;
  private readonly _request: Buffer;
  private readonly _proxy: string;
  private readonly _targetText: string;

  /**
   * @param target Where the proxy should connect.
   * @param proxy The proxy, `host:port`, for messages.
   * @param opts `userId` (default empty); `socks4a`: a name may be sent.
   * @throws {UsageError} For an IPv6 destination, or a name without SOCKS4a.
   */
  constructor(target: SocksDestination, proxy: string, opts: { userId?: string; socks4a: boolean }) {
    this._proxy = proxy;
    this._targetText = target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
    const user = Buffer.from(opts.userId ?? '', 'utf8');
    if (user.length > SOCKS4_MAX_FIELD || user.includes(0)) throw new UsageError(`SOCKS4 user id '${opts.userId}' is too long or has a NUL byte`);
    const head = Buffer.alloc(8);
    head[0] = 0x04;
    head[1] = SOCKS5_CMD.CONNECT;
    head.writeUInt16BE(target.port, 2);
    if (isIPv4(target.host)) {
      Buffer.from(_ipv4Bytes(target.host)).copy(head, 4);
      this._request = Buffer.concat([head, user, Buffer.from([0])]);
    } else if (isIPv6(target.host.replace(/%.*$/, ''))) {
      throw new UsageError(`SOCKS4 cannot reach the IPv6 address ${target.host} (use socks5://)`);
    } else {
      if (!opts.socks4a) throw new UsageError(`SOCKS4 needs an IPv4 address, not '${target.host}' (use socks4a:// or resolve locally)`);
      const name = Buffer.from(target.host, 'utf8');
      if (name.length === 0 || name.length > SOCKS4_MAX_FIELD) throw new UsageError(`host name '${target.host}' cannot be sent over SOCKS4a (1-255 bytes)`);
      head[7] = 1;
      this._request = Buffer.concat([head, user, Buffer.from([0]), name, Buffer.from([0])]);
    }
  }

  describe(): string {
    return `SOCKS4 handshake with proxy ${this._proxy}`;
  }

  begin(): Buffer {
    return this._request;
  }

  feed(data: Buffer): HandshakeStep {
    if (this._done) return { done: true, rest: data };
    const take = Math.min(8 - this._have, data.length);
    data.copy(this._buf, this._have, 0, take);
    this._have += take;
    if (this._have < 8) return {};
    this._done = true;
    const vn = this._buf[0]!;
    const cd = this._buf[1]!;
    if (vn !== 0x00 && vn !== 0x04) {
      return { error: new ProxyError(`proxy ${this._proxy} sent a malformed SOCKS4 reply: version 0x${vn.toString(16).padStart(2, '0')} (is it a SOCKS4 proxy?)`, this._proxy) };
    }
    const code = `SOCKS4 ${cd} / 0x${cd.toString(16)}`;
    switch (cd) {
      case SOCKS4_REP.GRANTED:
        return { done: true, rest: data.subarray(take) };
      case SOCKS4_REP.REJECTED:
        return { error: new ProxyRefusedError(`proxy ${this._proxy} refused: request rejected or failed reaching ${this._targetText} (${code})`, this._proxy, code) };
      case SOCKS4_REP.NO_IDENTD:
        return { error: new ProxyAuthError(`proxy ${this._proxy} refused: it cannot reach our identd (${code})`, this._proxy, code) };
      case SOCKS4_REP.IDENTD_MISMATCH:
        return { error: new ProxyAuthError(`proxy ${this._proxy} refused: identd reports a different user id (${code})`, this._proxy, code) };
      default:
        return { error: new ProxyError(`proxy ${this._proxy} failed: unknown SOCKS4 reply code ${cd}`, this._proxy, code) };
    }
  }
}
