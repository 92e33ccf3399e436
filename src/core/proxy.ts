/**
 * The proxy server: SOCKS4, SOCKS4a, SOCKS5 (CONNECT, UDP ASSOCIATE) and
 * HTTP (CONNECT and absolute-URI forwarding) on one port, the protocol
 * told per connection by its first byte (4, 5, anything else HTTP).
 *
 * Each connection runs the parsers of `socks.ts` / `httpproxy.ts`, checks
 * credentials and the destination policy, connects (directly or through
 * `--upstream` proxies), answers in its own protocol, and then joins the
 * two connections with a {@link Relay}: backpressure, half-close carried
 * both ways. Every malformed or refused request gets the protocol's own
 * error reply, then the connection closes (after draining what the client
 * still sends, so the reply is not lost to a reset); nothing one client
 * does stalls another.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import type { BlockList } from 'node:net';
import { performance } from 'node:perf_hooks';
import { type DestinationPolicy, clientMatches, isLoopbackHost } from './acl.js';
import type { ProxyUrl } from './address.js';
import { Deferred, Failure } from './defer.js';
import { TCPClientEndpoint, type TCPTarget } from './endpoints.js';
import {
  ConnectError,
  ConnectionLostError,
  ConnectionRefusedError,
  DNSLookupError,
  ProxyAuthError,
  ProxyError,
  ProxyRefusedError,
  TimeoutError,
  UsageError,
} from './errors.js';
import { type EventSink, nullSink, wantsEvent } from './events.js';
import {
  HttpBodyTracker,
  type HttpRequestHead,
  HttpRequestHeadParser,
  forwardRequestHead,
  headerValue,
  httpResponse,
  parseAbsoluteHttpUrl,
  parseAuthority,
  parseBasicCredentials,
} from './httpproxy.js';
import { type Address, DatagramProtocol, Factory, type IListeningPort, type InetAddress, Protocol } from './protocol.js';
import type { Reactor } from './reactor.js';
import { SlotSet } from './slotset.js';
import { Relay, type RelayOptions, type RelayResult } from './relay.js';
import {
  SOCKS4_REP,
  SOCKS5_CMD,
  SOCKS5_METHOD,
  SOCKS5_REP,
  Socks4ServerParser,
  Socks5ServerParser,
  encodeSocks5Datagram,
  parseSocks5Datagram,
  socks4Reply,
  socks5AuthReply,
  socks5MethodReply,
  socks5Reply,
} from './socks.js';
import type { StreamTransport } from './stream.js';
import type { IDelayedCall } from './task.js';
import { formatHostPort } from './tcp.js';
import { loadCrypto } from './lazy.js';
import { resolveHost } from './tunnel.js';
import type { UDPPort } from './udp.js';

/** Options of {@link proxyServer} and {@link ProxyFactory}. */
export interface ProxyServerOptions {
  /** Address to bind (default `127.0.0.1`). */
  host?: string;
  /** Port (default 1080; 0 picks a free one, reported in `listening`). */
  port?: number;
  /** Credentials (`--auth`, `--auth-file`): user → password. SOCKS5 then requires RFC 1929, HTTP Basic; SOCKS4 is refused. */
  users?: ReadonlyMap<string, string>;
  /** Destination policy (`--allow-dest`, `--deny-dest`). */
  policy?: DestinationPolicy;
  /** Only these clients (`--allow-from`). */
  allowFrom?: BlockList;
  /** Serve a non-loopback address without credentials or `allowFrom` (`--open`). */
  open?: boolean;
  /** Reach destinations through these proxies, first hop first (`--upstream`). */
  upstream?: ProxyUrl[];
  /** At most this many tunnels at once; requests over it are answered with a failure. */
  maxConns?: number;
  /** Close a client that has not finished its request within this long (ms, default 10 000). */
  handshakeTimeoutMs?: number;
  /** Give up connecting to a destination after this long (ms, default: the handshake timeout). */
  connectTimeoutMs?: number;
  /** Close a tunnel after this long with no data either way (ms). */
  idleTimeoutMs?: number;
  /** Address family for destination lookups. */
  family?: 4 | 6;
  /** At shutdown, wait this long for open tunnels to finish (ms, default 5000). */
  drainMs?: number;
  /** Where `listening`, `accepted`, `proxied`, `refused`, `closed` go. */
  events?: EventSink;
  /** Each chunk relayed ('a' = client → destination, 'b' = destination → client). */
  tap?: RelayOptions['tap'];
}

/** Default `--handshake-timeout` (ms). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long a refused client may keep sending before the connection is closed (ms). */
const _LINGER_MS = 1_000;

// ---------------------------------------------------------------- credentials

/**
 * Read `USER:PASS` (split at the first colon; the password may hold colons).
 *
 * @param text The credentials.
 * @param where Where they came from, for errors.
 * @returns User and password.
 * @throws {UsageError} Without a colon, with an empty user, or a part over 255 bytes.
 */
export function parseUserPass(text: string, where: string): { user: string; password: string } {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new UsageError(`${where}: expected USER:PASS`);
  const user = text.slice(0, colon);
  const password = text.slice(colon + 1);
  if (Buffer.byteLength(user) > 255 || Buffer.byteLength(password) > 255) throw new UsageError(`${where}: user and password are limited to 255 bytes each (RFC 1929)`);
  return { user, password };
}

/**
 * Read an `--auth-file`: one `user:pass` a line, split at the first colon;
 * blank lines and lines starting with `#` are skipped.
 *
 * @param text The file's contents.
 * @param name The file's name, for errors.
 * @returns User → password.
 * @throws {UsageError} For a malformed line (named by number) or no users at all.
 */
export function parseAuthFile(text: string, name: string): Map<string, string> {
  const users = new Map<string, string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const { user, password } = parseUserPass(line, `${name} line ${i + 1}`);
    users.set(user, password);
  }
  if (users.size === 0) throw new UsageError(`${name}: no user:pass lines`);
  return users;
}

/**
 * Read an `--auth-file` from disk.
 *
 * @param path The file.
 * @returns User → password.
 * @throws {UsageError} When it cannot be read or is malformed.
 */
export function readAuthFile(path: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read auth file '${path}': ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return parseAuthFile(text, `auth file '${path}'`);
}

function _digest(s: string): Buffer {
  return loadCrypto().createHash('sha256').update(s, 'utf8').digest();
}

function _checkPassword(users: ReadonlyMap<string, string>, user: string, password: string): boolean {
  const expected = users.get(user);
  // Compare digests in constant time, also for unknown users.
  const ok = loadCrypto().timingSafeEqual(_digest(expected ?? '\0unknown'), _digest(password));
  return expected !== undefined && ok;
}

// ---------------------------------------------------------------- failures → replies

interface _Answer {
  socks5: number;
  http: number;
  text: string;
}

function _answerFor(f: Failure): _Answer {
  const v = f.value;
  if (v instanceof ConnectionRefusedError) return { socks5: SOCKS5_REP.CONNECTION_REFUSED, http: 502, text: 'Connection refused' };
  if (v instanceof DNSLookupError) return { socks5: SOCKS5_REP.HOST_UNREACHABLE, http: 502, text: 'DNS lookup failed' };
  if (v instanceof TimeoutError) return { socks5: SOCKS5_REP.TTL_EXPIRED, http: 504, text: 'Gateway Timeout' };
  if (v instanceof ProxyRefusedError) return { socks5: SOCKS5_REP.NOT_ALLOWED, http: 502, text: 'Upstream proxy refused the request' };
  if (v instanceof ProxyAuthError || v instanceof ProxyError) return { socks5: SOCKS5_REP.GENERAL_FAILURE, http: 502, text: 'Upstream proxy failed' };
  if (v instanceof ConnectError) {
    if (v.syscallCode === 'ENETUNREACH') return { socks5: SOCKS5_REP.NETWORK_UNREACHABLE, http: 502, text: 'Network unreachable' };
    if (v.syscallCode === 'EHOSTUNREACH' || v.syscallCode === 'EHOSTDOWN') return { socks5: SOCKS5_REP.HOST_UNREACHABLE, http: 502, text: 'Host unreachable' };
  }
  return { socks5: SOCKS5_REP.GENERAL_FAILURE, http: 502, text: 'Bad Gateway' };
}

// ---------------------------------------------------------------- the factory

/**
 * Builds one {@link ProxyConnection} per accepted client, and keeps the
 * counts `--max-conns` and the shutdown drain need.
 */
export class ProxyFactory extends Factory {
  /** Tunnels (and UDP associations) open now. */
  activeTunnels = 0;
  /** Client connections open now (handshaking or tunnelling). */
  readonly connections = new SlotSet<ProxyConnection>();
  /** Whether the sink shows `accepted`, `proxied`, `closed` events (the others are not built). */
  readonly shows: { accepted: boolean; proxied: boolean; closed: boolean };
  /**
   * No event that names a client is shown: each connection's addresses are
   * looked up only when needed (a SOCKS5 reply's bound address, `--allow-from`).
   */
  readonly lazyAddresses: boolean;
  private readonly _idle: (() => void)[] = [];

  /**
   * @param reactor Connects to destinations, runs the timers.
   * @param opts Policy, credentials, limits, events.
   */
  constructor(
    readonly reactor: Reactor,
    readonly opts: ProxyServerOptions,
  ) {
    super();
    const events = opts.events ?? nullSink;
    this.shows = { accepted: wantsEvent(events, 'accepted'), proxied: wantsEvent(events, 'proxied'), closed: wantsEvent(events, 'closed') };
    this.lazyAddresses = !this.shows.accepted && !this.shows.proxied && !this.shows.closed && !wantsEvent(events, 'refused');
  }

  /** Where events go. */
  get events(): EventSink {
    return this.opts.events ?? nullSink;
  }

  override buildProtocol(addr: Address): Protocol | undefined {
    const allow = this.opts.allowFrom;
    if (allow !== undefined) {
      const host = addr.type === 'TCP' ? addr.host : '';
      if (!clientMatches(allow, host)) {
        this.events.emit({ event: 'refused', peer: addr.type === 'TCP' ? formatHostPort(addr.host, addr.port) : 'peer', reason: 'not in --allow-from' });
        return undefined;
      }
    }
    const p = new ProxyConnection(this);
    p.factory = this;
    return p;
  }

  /** @internal */
  _opened(c: ProxyConnection): void {
    this.connections.add(c);
  }

  /** @internal */
  _closed(c: ProxyConnection): void {
    this.connections.delete(c);
    if (this.connections.size === 0) for (const f of this._idle.splice(0)) f();
  }

  /**
   * Wait for every client connection to end, or `ms` to pass.
   *
   * @param ms The longest wait.
   * @returns A Deferred fired when idle (or the time is up).
   */
  drain(ms: number): Deferred<void> {
    const d = new Deferred<void>();
    if (this.connections.size === 0) {
      d.callback(undefined);
      return d;
    }
    let timer: IDelayedCall | undefined;
    const done = () => {
      if (d.called) return;
      if (timer?.active()) timer.cancel();
      d.callback(undefined);
    };
    this._idle.push(done);
    timer = this.reactor.callLater(ms, done);
    return d;
  }
}

// ---------------------------------------------------------------- one client

const P_DETECT = 0;
const P_SOCKS5 = 1;
const P_SOCKS4 = 2;
const P_HTTP = 3;
const P_CONNECTING = 4;
const P_TUNNEL = 5;
const P_UDP = 6;
const P_CLOSING = 7;
const P_CLOSED = 8;

type _Proto = 'socks5' | 'socks4' | 'socks4a' | 'http-connect' | 'http';

/**
 * One client of the proxy: detects its protocol, runs the handshake,
 * connects, answers, and relays.
 */
export class ProxyConnection extends Protocol {
  private _state = P_DETECT;
  private _s5: Socks5ServerParser | undefined = undefined;
  private _s4: Socks4ServerParser | undefined = undefined;
  private _http: HttpRequestHeadParser | undefined = undefined;
  private _timer: IDelayedCall | undefined = undefined;
  private _relay: Relay | undefined = undefined;
  private _upstream: Deferred<Protocol> | undefined = undefined;
  private _udp: _UdpAssociation | undefined = undefined;
  private _clientEof = false;
  private _early: Buffer | undefined = undefined;
  private _proto: _Proto | undefined = undefined;
  private _user: string | undefined = undefined;
  private _dest = '';
  private _tunnel = false;
  private _startedAt = 0;
  private _peerText = '';
  private _id = 0;

  constructor(private readonly _f: ProxyFactory) {
    super();
  }

  private get _opts(): ProxyServerOptions {
    return this._f.opts;
  }

  override connectionMade(): void {
    this._startedAt = performance.now();
    const t = this.transport as StreamTransport;
    const st = t.stats;
    this._id = st?.id ?? 0;
    if (!this._f.lazyAddresses) this._peerText = st?.peer ?? '';
    this._f._opened(this);
    if (this._f.shows.accepted) this._f.events.emit({ event: 'accepted', id: this._id, proto: 'tcp', peer: this._peerText, local: st?.local ?? '' });
    const ms = this._opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    if (ms > 0) this._timer = this._f.reactor.callLater(ms, () => this._handshakeTimedOut(ms));
  }

  override dataReceived(data: Buffer): void {
    switch (this._state) {
      case P_TUNNEL:
        this._relay!.a.dataReceived(data);
        return;
      case P_DETECT: {
        const v = data[0];
        if (v === 0x05) {
          this._state = P_SOCKS5;
          this._proto = 'socks5';
          this._s5 = new Socks5ServerParser();
        } else if (v === 0x04) {
          this._state = P_SOCKS4;
          this._proto = 'socks4';
          this._s4 = new Socks4ServerParser();
        } else {
          this._state = P_HTTP;
          this._proto = 'http';
          this._http = new HttpRequestHeadParser();
        }
        this.dataReceived(data);
        return;
      }
      case P_SOCKS5:
        this._socks5(data);
        return;
      case P_SOCKS4:
        this._socks4(data);
        return;
      case P_HTTP:
        this._httpData(data);
        return;
      case P_CONNECTING:
        // Reading is paused while connecting; keep what arrived regardless.
        this._early = this._early === undefined ? data : Buffer.concat([this._early, data]);
        return;
      default:
        // P_UDP: the TCP connection only keeps the association alive.
        // P_CLOSING: drain what the client still sends.
        return;
    }
  }

  override readConnectionLost(): void {
    switch (this._state) {
      case P_TUNNEL:
        this._relay!.a.readConnectionLost();
        return;
      case P_CONNECTING:
        this._clientEof = true;
        return;
      default:
        // The client gave up (or finished reading a refusal): close.
        this.transport!.loseConnection();
    }
  }

  override writeConnectionLost(): void {
    if (this._state === P_TUNNEL) this._relay!.a.writeConnectionLost();
  }

  override connectionLost(reason: Failure): void {
    const wasTunnel = this._state === P_TUNNEL;
    this._state = P_CLOSED;
    this._cancelTimer();
    if (wasTunnel) {
      const a = this._relay!.a;
      a.connected = false;
      a.connectionLost(reason);
    } else {
      this._upstream?.cancel();
      this._relay?.abort(reason);
      this._udp?.close();
      if (!this._tunnel) this._f._closed(this);
    }
  }

  // ------------------------------------------------------------ SOCKS5

  private _socks5(data: Buffer): void {
    const p = this._s5!;
    for (const m of p.feed(data)) {
      switch (m.type) {
        case 'greeting': {
          const users = this._opts.users;
          const want = users !== undefined ? SOCKS5_METHOD.USER_PASS : SOCKS5_METHOD.NO_AUTH;
          if (!m.methods.includes(want)) {
            this._refuse(
              socks5MethodReply(SOCKS5_METHOD.NO_ACCEPTABLE),
              users !== undefined ? 'no usable authentication method offered (user/password required)' : 'no usable authentication method offered (no-auth not offered)',
            );
            return;
          }
          this.transport!.write(socks5MethodReply(want));
          p.selectMethod(want);
          this._socks5(Buffer.alloc(0));
          return;
        }
        case 'auth': {
          if (!_checkPassword(this._opts.users!, m.user, m.password)) {
            this._user = m.user;
            this._refuse(socks5AuthReply(false), `authentication failed for user '${m.user}'`);
            return;
          }
          this._user = m.user;
          this.transport!.write(socks5AuthReply(true));
          p.authDone();
          this._socks5(Buffer.alloc(0));
          return;
        }
        case 'request': {
          const dest = { host: m.host, port: m.port };
          this._dest = formatHostPort(m.host, m.port);
          if (m.command === SOCKS5_CMD.CONNECT) {
            this._early = p.takeRest();
            this._admit(dest, 'connect');
          } else if (m.command === SOCKS5_CMD.UDP_ASSOCIATE && this._opts.upstream !== undefined && this._opts.upstream.length > 0) {
            // Datagrams cannot follow the --upstream chain; never send them around it.
            this._refuse(socks5Reply(SOCKS5_REP.COMMAND_NOT_SUPPORTED), 'UDP ASSOCIATE is not available with --upstream');
          } else if (m.command === SOCKS5_CMD.UDP_ASSOCIATE) {
            this._udpAssociate(m.port);
          } else {
            this._refuse(socks5Reply(SOCKS5_REP.COMMAND_NOT_SUPPORTED), m.command === SOCKS5_CMD.BIND ? 'BIND is not supported' : `unknown command ${m.command}`);
          }
          return;
        }
        case 'error':
          this._refuse(m.reply, `malformed SOCKS5 request: ${m.reason}`);
          return;
      }
    }
  }

  // ------------------------------------------------------------ SOCKS4 / 4a

  private _socks4(data: Buffer): void {
    for (const m of this._s4!.feed(data)) {
      if (m.type === 'error') {
        this._refuse(m.reply, `malformed SOCKS4 request: ${m.reason}`);
        return;
      }
      this._proto = m.socks4a ? 'socks4a' : 'socks4';
      this._dest = formatHostPort(m.host, m.port);
      if (m.userId !== '') this._user = m.userId;
      if (this._opts.users !== undefined) {
        this._refuse(socks4Reply(SOCKS4_REP.REJECTED), 'SOCKS4 has no password authentication and --auth is on');
        return;
      }
      if (m.command !== SOCKS5_CMD.CONNECT) {
        this._refuse(socks4Reply(SOCKS4_REP.REJECTED), m.command === SOCKS5_CMD.BIND ? 'BIND is not supported' : `unknown command ${m.command}`);
        return;
      }
      if (m.port === 0) {
        this._refuse(socks4Reply(SOCKS4_REP.REJECTED), 'port 0');
        return;
      }
      this._early = this._s4!.takeRest();
      this._admit({ host: m.host, port: m.port }, 'connect');
    }
  }

  // ------------------------------------------------------------ HTTP

  private _httpData(data: Buffer): void {
    for (const r of this._http!.feed(data)) {
      if (r.type === 'error') {
        this._refuse(httpResponse(r.status), `malformed HTTP request: ${r.reason}`, r.status);
        return;
      }
      this._httpRequest(r.head);
    }
  }

  private _httpRequest(head: HttpRequestHead): void {
    const connect = head.method.toUpperCase() === 'CONNECT';
    this._proto = connect ? 'http-connect' : 'http';
    const users = this._opts.users;
    if (users !== undefined) {
      const creds = parseBasicCredentials(headerValue(head.headers, 'proxy-authorization'));
      if (creds !== undefined) this._user = creds.user;
      if (creds === undefined || !_checkPassword(users, creds.user, creds.password)) {
        this._refuse(
          httpResponse(407, { headers: [['Proxy-Authenticate', 'Basic realm="wirecat", charset="UTF-8"']] }),
          creds === undefined ? 'no Proxy-Authorization: Basic credentials' : `authentication failed for user '${creds.user}'`,
          407,
        );
        return;
      }
    }
    if (connect) {
      const dest = parseAuthority(head.target);
      if (dest === undefined) {
        this._refuse(httpResponse(400, { body: 'CONNECT needs host:port (authority-form)\n' }), `CONNECT target '${head.target.slice(0, 80)}' is not host:port`, 400);
        return;
      }
      this._dest = formatHostPort(dest.host, dest.port);
      this._early = this._http!.takeRest();
      this._admit(dest, 'CONNECT');
      return;
    }
    const url = parseAbsoluteHttpUrl(head.target);
    if (url === undefined) {
      const why = /^https:\/\//i.test(head.target)
        ? 'https:// URIs are not forwarded; use CONNECT'
        : head.target.startsWith('/')
          ? 'a proxy request needs an absolute http:// URI'
          : `bad request target '${head.target.slice(0, 80)}'`;
      this._refuse(httpResponse(400, { body: `${why}\n` }), why, 400);
      return;
    }
    let tracker: HttpBodyTracker;
    try {
      tracker = HttpBodyTracker.forRequest(head);
    } catch (e) {
      this._refuse(httpResponse(400, { body: `${(e as Error).message}\n` }), `bad request framing: ${(e as Error).message}`, 400);
      return;
    }
    this._dest = formatHostPort(url.host, url.port);
    const rest = this._http!.takeRest();
    this._early = rest;
    this._admit({ host: url.host, port: url.port }, head.method, { head: forwardRequestHead(head, url), tracker });
  }

  // ------------------------------------------------------------ connecting

  /** Check limits and policy, resolve when the policy needs it, then connect. */
  private _admit(dest: { host: string; port: number }, command: string, forward?: { head: Buffer; tracker: HttpBodyTracker }): void {
    this._cancelTimer();
    this._state = P_CONNECTING;
    this.transport!.pauseProducing();
    const o = this._opts;
    if (o.maxConns !== undefined && this._f.activeTunnels >= o.maxConns) {
      this._fail({ socks5: SOCKS5_REP.GENERAL_FAILURE, http: 503, text: 'Too many tunnels' }, `--max-conns ${o.maxConns} reached`);
      return;
    }
    if (dest.port === 0) {
      this._fail({ socks5: SOCKS5_REP.GENERAL_FAILURE, http: 400, text: 'Bad Request' }, 'port 0');
      return;
    }
    const policy = o.policy;
    if (policy === undefined || !policy.active) {
      this._connect(dest, dest.host, command, forward);
      return;
    }
    const v = policy.checkName(dest.host, dest.port);
    if (v.allowed === false) {
      this._fail({ socks5: SOCKS5_REP.NOT_ALLOWED, http: 403, text: 'Forbidden' }, v.reason);
      return;
    }
    if (v.allowed === true) {
      this._connect(dest, dest.host, command, forward);
      return;
    }
    if (o.upstream !== undefined && o.upstream.length > 0) {
      // The name is resolved by the upstream proxy; judged by name only.
      const byName = policy.allow === undefined || policy.allow.matchesName(dest.host, dest.port) !== undefined;
      if (!byName) {
        this._fail({ socks5: SOCKS5_REP.NOT_ALLOWED, http: 403, text: 'Forbidden' }, 'not in --allow-dest');
        return;
      }
      this._connect(dest, dest.host, command, forward);
      return;
    }
    resolveHost(dest.host, o.family).addCallbacks(
      (ip: string) => {
        if (this._state !== P_CONNECTING) return undefined;
        const again = policy.checkAddress(dest.host, ip, dest.port);
        if (again.allowed !== true) {
          this._fail({ socks5: SOCKS5_REP.NOT_ALLOWED, http: 403, text: 'Forbidden' }, (again as { reason: string }).reason);
          return undefined;
        }
        // Connect to the address judged, not to the name again.
        this._connect(dest, ip, command, forward);
        return undefined;
      },
      (f: Failure) => {
        if (this._state === P_CONNECTING) this._fail(_answerFor(f), f.getErrorMessage());
        return undefined;
      },
    );
  }

  private _connect(dest: { host: string; port: number }, address: string, command: string, forward?: { head: Buffer; tracker: HttpBodyTracker }): void {
    const o = this._opts;
    this._f.activeTunnels++;
    this._tunnel = true;
    const tracker = forward?.tracker;
    const relay = new Relay({
      clock: this._f.reactor,
      idleTimeoutMs: o.idleTimeoutMs,
      tap: o.tap,
      // Forwarding: only the request's own body goes to the origin, and the
      // origin's end of the response ends the exchange.
      transform: tracker === undefined ? undefined : { a: (chunk: Buffer) => (tracker.done ? chunk.subarray(0, 0) : chunk.subarray(0, tracker.consume(chunk))) },
      closeOnEof: forward === undefined ? undefined : { b: true },
    });
    this._relay = relay;
    relay.done.addBoth((r: unknown) => {
      this._finished(r as RelayResult | Failure);
      return undefined;
    });
    const factory = new Factory();
    factory.buildProtocol = () => relay.b;
    const target: TCPTarget = {
      host: address,
      port: dest.port,
      family: o.family,
      timeoutMs: o.connectTimeoutMs ?? o.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      proxies: o.upstream,
      lazyAddresses: this._f.lazyAddresses,
    };
    const d = new TCPClientEndpoint(this._f.reactor, target).connect(factory);
    this._upstream = d;
    d.addCallbacks(
      (p: Protocol) => {
        this._upstream = undefined;
        if (this._state !== P_CONNECTING) {
          p.transport?.loseConnection();
          return undefined;
        }
        this._up(p, command, forward?.head);
        return undefined;
      },
      (f: Failure) => {
        this._upstream = undefined;
        if (this._state === P_CONNECTING) {
          this._state = P_CLOSING; // the relay's end must not count this twice
          relay.abort(f);
          this._fail(_answerFor(f), f.getErrorMessage());
        }
        return undefined;
      },
    );
  }

  private _up(b: Protocol, command: string, forwardHead: Buffer | undefined): void {
    const t = this.transport!;
    switch (this._proto) {
      case 'socks5': {
        const h = b.transport?.getHost();
        t.write(socks5Reply(SOCKS5_REP.SUCCEEDED, h !== undefined && h.type === 'TCP' && h.host !== '' ? { host: h.host, port: h.port } : undefined));
        break;
      }
      case 'socks4':
      case 'socks4a':
        t.write(socks4Reply(SOCKS4_REP.GRANTED));
        break;
      case 'http-connect':
        t.write(httpResponse(200));
        break;
      default:
        b.transport!.write(forwardHead!);
    }
    this._state = P_TUNNEL;
    const st = (t as StreamTransport).stats;
    if (st !== undefined) {
      st.extra.protocol = this._proto;
      st.extra.destination = this._dest;
      if (this._user !== undefined) st.extra.user = this._user;
    }
    if (this._f.shows.proxied) {
      this._f.events.emit({
        event: 'proxied',
        id: this._id,
        protocol: this._proto!,
        peer: this._peerText,
        destination: this._dest,
        command,
        ...(this._user !== undefined ? { user: this._user } : {}),
        setupMs: performance.now() - this._startedAt,
      });
    }
    const relay = this._relay!;
    relay.a.makeConnection(t);
    const early = this._early;
    this._early = undefined;
    if (early !== undefined && early.length > 0) relay.a.dataReceived(early);
    if (this._clientEof && relay.a.connected) relay.a.readConnectionLost();
  }

  private _finished(r: RelayResult | Failure): void {
    this._f.activeTunnels--;
    const relay = this._relay!;
    const failed = r instanceof Failure;
    const clean = failed && (r as Failure).check(ConnectionLostError) !== undefined;
    if (this._f.shows.closed) {
      this._f.events.emit({
        event: 'closed',
        id: this._id,
        peer: `${this._peerText} <-> ${this._dest}`,
        bytesIn: relay.a.bytesIn,
        bytesOut: relay.b.bytesIn,
        durationMs: performance.now() - this._startedAt,
        ...(failed && (this._state === P_TUNNEL || this._state === P_CLOSED || clean) ? { error: (r as Failure).getErrorMessage() } : {}),
      });
    }
    this._f._closed(this);
  }

  // ------------------------------------------------------------ UDP ASSOCIATE

  private _udpAssociate(clientPort: number): void {
    this._cancelTimer();
    const o = this._opts;
    if (o.maxConns !== undefined && this._f.activeTunnels >= o.maxConns) {
      this._refuse(socks5Reply(SOCKS5_REP.GENERAL_FAILURE), `--max-conns ${o.maxConns} reached`);
      return;
    }
    const t = this.transport!;
    const local = t.getHost();
    const peer = t.getPeer();
    // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d: bind (and report) the IPv4 address.
    const bindHost = local.type === 'TCP' ? local.host.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '') : '127.0.0.1';
    const clientHost = peer.type === 'TCP' ? peer.host : '';
    this._state = P_UDP;
    this._f.activeTunnels++;
    this._tunnel = true;
    const assoc = new _UdpAssociation(this._f, clientHost, clientPort === 0 ? undefined : clientPort);
    this._udp = assoc;
    this._f.reactor.listenUDP(0, assoc, { host: bindHost }).addCallbacks(
      (port: UDPPort) => {
        if (this._state !== P_UDP) {
          void port.stopListening();
          return undefined;
        }
        assoc.port = port;
        const h = port.getHost();
        this._dest = `udp ${formatHostPort(h.host, h.port)}`;
        t.write(socks5Reply(SOCKS5_REP.SUCCEEDED, { host: h.host, port: h.port }));
        this._f.events.emit({
          event: 'proxied',
          id: this._id,
          protocol: 'socks5',
          peer: this._peerText,
          destination: this._dest,
          command: 'udp-associate',
          ...(this._user !== undefined ? { user: this._user } : {}),
          setupMs: performance.now() - this._startedAt,
        });
        return undefined;
      },
      (f: Failure) => {
        this._refuse(socks5Reply(SOCKS5_REP.GENERAL_FAILURE), `cannot bind a UDP port: ${f.getErrorMessage()}`);
        return undefined;
      },
    );
    assoc.closed.addBoth(() => {
      this._f.activeTunnels--;
      const st = (t as StreamTransport).stats;
      this._f.events.emit({
        event: 'closed',
        id: this._id,
        peer: `${this._peerText} <-> ${this._dest}`,
        bytesIn: assoc.bytesToRemote,
        bytesOut: assoc.bytesToClient,
        durationMs: performance.now() - this._startedAt,
        ...(st?.error !== undefined ? { error: st.error } : {}),
      });
      this._f._closed(this);
      return undefined;
    });
  }

  // ------------------------------------------------------------ refusals

  private _handshakeTimedOut(ms: number): void {
    this._timer = undefined;
    if (this._state > P_HTTP) return;
    const reply = this._state === P_HTTP ? httpResponse(408) : undefined;
    this._refuse(reply, `handshake not finished within ${ms / 1000} s`, this._state === P_HTTP ? 408 : undefined);
  }

  /** A request failed after it was read: answer in the client's protocol, then close. */
  private _fail(a: _Answer, reason: string): void {
    let reply: Buffer;
    let status: number | undefined;
    switch (this._proto) {
      case 'socks5':
        reply = socks5Reply(a.socks5);
        break;
      case 'socks4':
      case 'socks4a':
        reply = socks4Reply(SOCKS4_REP.REJECTED);
        break;
      default:
        status = a.http;
        reply = httpResponse(a.http, a.http === 502 || a.http === 504 ? { reason: a.text, body: `${a.http} ${a.text}: ${reason}\n` } : { body: `${a.http} ${reason}\n` });
    }
    this._refuse(reply, reason, status);
  }

  /**
   * Send the protocol's error reply, half-close, and close once the client
   * has sent its EOF (or after a short linger), so that data the client is
   * still sending does not turn the close into a reset that loses the reply.
   */
  private _refuse(reply: Buffer | undefined, reason: string, _status?: number): void {
    this._cancelTimer();
    this._f.events.emit({
      event: 'refused',
      peer: this._peerText,
      reason,
      ...(this._proto !== undefined ? { protocol: this._proto } : {}),
      ...(this._dest !== '' ? { destination: this._dest } : {}),
      ...(this._user !== undefined ? { user: this._user } : {}),
    });
    const t = this.transport;
    if (t === undefined || this._state === P_CLOSED) return;
    this._state = P_CLOSING;
    if (reply !== undefined) t.write(reply);
    t.loseWriteConnection();
    t.resumeProducing();
    this._timer = this._f.reactor.callLater(_LINGER_MS, () => {
      this._timer = undefined;
      t.loseConnection();
    });
  }

  private _cancelTimer(): void {
    if (this._timer !== undefined && this._timer.active()) this._timer.cancel();
    this._timer = undefined;
  }
}

// ---------------------------------------------------------------- UDP ASSOCIATE

/**
 * One UDP association (RFC 1928 §7): datagrams from the client (its TCP
 * address, and the port it named when it named one) carry a header with
 * the destination; the payload goes there. Datagrams from anywhere else go
 * back to the client with a header naming their source. FRAG ≠ 0 is
 * dropped. The association ends with its TCP connection.
 */
class _UdpAssociation extends DatagramProtocol {
  port: UDPPort | undefined = undefined;
  bytesToRemote = 0;
  bytesToClient = 0;
  readonly closed = new Deferred<void>();
  private _clientPort: number | undefined;

  constructor(
    private readonly _f: ProxyFactory,
    private readonly _clientHost: string,
    clientPort: number | undefined,
  ) {
    super();
    this._clientPort = clientPort;
  }

  override datagramReceived(data: Buffer, addr: InetAddress): void {
    const port = this.port;
    if (port === undefined) return;
    const fromClient = _sameHost(addr.host, this._clientHost) && (this._clientPort === undefined || this._clientPort === addr.port);
    if (fromClient) {
      this._clientPort ??= addr.port;
      const d = parseSocks5Datagram(data);
      if (d === undefined || d.frag !== 0) return;
      const policy = this._f.opts.policy;
      const send = (host: string) => {
        if (this.port === undefined) return;
        this.bytesToRemote += d.data.length;
        try {
          this.port.write(d.data, { host, port: d.port });
        } catch {
          // too large for UDP: dropped, as the network would
        }
      };
      if (policy === undefined || !policy.active) {
        send(d.host);
        return;
      }
      const v = policy.checkName(d.host, d.port);
      if (v.allowed === false) return;
      if (v.allowed === true) {
        send(d.host);
        return;
      }
      resolveHost(d.host, this._f.opts.family).addCallbacks(
        (ip: string) => {
          if (policy.checkAddress(d.host, ip, d.port).allowed === true) send(ip);
          return undefined;
        },
        () => undefined,
      );
      return;
    }
    if (this._clientPort === undefined) return;
    this.bytesToClient += data.length;
    try {
      port.write(encodeSocks5Datagram({ host: addr.host, port: addr.port }, data), { host: this._clientHost, port: this._clientPort });
    } catch {
      // too large with the header: dropped
    }
  }

  close(): void {
    const p = this.port;
    this.port = undefined;
    if (p !== undefined) void p.stopListening();
    if (!this.closed.called) this.closed.callback(undefined);
  }
}

function _sameHost(a: string, b: string): boolean {
  const n = (h: string) => h.replace(/^::ffff:/i, '');
  return n(a) === n(b);
}

// ---------------------------------------------------------------- the server

/**
 * `wirecat proxy`: listen and serve until interrupted.
 *
 * @param reactor The reactor.
 * @param opts Where to listen, policy, credentials, limits, events.
 * @returns A Deferred that fails with `CannotListenError` or `UsageError`
 *   (a public address without credentials, `allowFrom` or `open`), and
 *   otherwise never fires: SIGINT/SIGTERM end the program after a drain.
 */
export function proxyServer(reactor: Reactor, opts: ProxyServerOptions): Deferred<number> {
  const result = new Deferred<number>();
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 1080;
  if (!isLoopbackHost(host) && opts.users === undefined && opts.allowFrom === undefined && !opts.open) {
    result.errback(
      new UsageError(
        `refusing to run an open proxy on ${formatHostPort(host, port)}: add --auth, --auth-file or --allow-from, or --open to serve anyone who can reach it`,
      ),
    );
    return result;
  }
  const events = opts.events ?? nullSink;
  const factory = new ProxyFactory(reactor, opts);
  let listening: IListeningPort | undefined;
  reactor.addSystemEventTrigger('before', 'shutdown', () => {
    const stop = listening?.stopListening();
    const drained = factory.drain(opts.drainMs ?? 5_000);
    return stop === undefined ? drained : stop.addBoth(() => drained);
  });
  reactor.listenTCP(port, factory, { host, backlog: 1024, lazyAddresses: factory.lazyAddresses }).addCallbacks(
    (p: IListeningPort) => {
      listening = p;
      const h = p.getHost();
      if (h.type === 'TCP') events.emit({ event: 'listening', proto: 'tcp', address: h.host, port: h.port });
      return undefined;
    },
    (f: Failure) => {
      result.errback(f);
      return undefined;
    },
  );
  return result;
}
