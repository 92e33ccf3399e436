/**
 * Tunnels: client endpoints that wrap another endpoint. A
 * {@link HandshakeEndpoint} connects its inner endpoint, runs a proxy
 * handshake (SOCKS5, SOCKS4/4a, HTTP CONNECT: the state machines of
 * `socks.ts` and `httpproxy.ts`) over it, and then hands the same
 * connection to the caller's protocol. A {@link TLSOverEndpoint} runs TLS
 * over whatever its inner endpoint connected (TLS through a proxy chain).
 *
 * A chain is endpoints nested: TCP to the first proxy, each next hop
 * negotiated through the previous one, TLS last. {@link proxyChainEndpoint}
 * builds it from proxy URLs.
 *
 * @module
 */

import { lookup } from 'node:dns';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { ProxyUrl } from './address.js';
import { Deferred, Failure } from './defer.js';
import { newConnectionStats } from './diagnostics.js';
import type { IStreamClientEndpoint } from './endpoints.js';
import { CancelledError, ConnectionDone, ConnectionLostError, ProxyError, TimeoutError, UsageError, connectErrorFrom } from './errors.js';
import { HttpConnectClientHandshake } from './httpproxy.js';
import { loadTLS } from './lazy.js';
import { type Address, Factory, type IPushProducer, type ITransport, Protocol } from './protocol.js';
import { Socks4ClientHandshake, Socks5ClientHandshake } from './socks.js';
import { StreamTransport } from './stream.js';
import type { IReactorTime } from './task.js';
import { formatHostPort } from './tcp.js';
import { type TLSOptions, tlsErrorFrom } from './tls.js';

// ---------------------------------------------------------------- the handshake interface

/** What a client handshake asks for after reading some of the proxy's bytes. */
export interface HandshakeStep {
  /** Bytes to send to the proxy now. */
  send?: Buffer;
  /** The tunnel is up: what follows is the destination's data. */
  done?: boolean;
  /** With `done`: bytes already read that belong to the tunnel. */
  rest?: Buffer;
  /** The handshake failed: the typed error (the connection is closed). */
  error?: Error;
}

/**
 * The client side of a proxy protocol as a state machine without sockets:
 * `begin()` gives the first bytes to send, `feed()` reads the proxy's
 * replies in any chunking.
 */
export interface ClientHandshake {
  /** e.g. `SOCKS5 handshake with proxy 127.0.0.1:1080`, for messages. */
  describe(): string;
  /** @returns The bytes to send first. */
  begin(): Buffer;
  /**
   * @param data Bytes from the proxy.
   * @returns What to do next.
   */
  feed(data: Buffer): HandshakeStep;
}

// ---------------------------------------------------------------- HandshakeEndpoint

/**
 * Runs a handshake over its transport, then becomes a pass-through: the
 * caller's protocol gets the same transport, and this one forwards the
 * transport's events to it.
 */
class _HandshakeProtocol extends Protocol {
  user: Protocol | undefined = undefined;
  private _failed = false;

  constructor(
    private readonly _hs: ClientHandshake,
    private readonly _factory: Factory,
    private readonly _result: Deferred<Protocol>,
    private readonly _peer: Address,
  ) {
    super();
  }

  override connectionMade(): void {
    this.transport!.write(this._hs.begin());
  }

  override dataReceived(data: Buffer): void {
    const user = this.user;
    if (user !== undefined) {
      user.dataReceived(data);
      return;
    }
    if (this._failed) return;
    const step = this._hs.feed(data);
    if (step.error !== undefined) {
      this._fail(step.error);
      return;
    }
    if (step.send !== undefined && step.send.length > 0) this.transport!.write(step.send);
    if (step.done) this._up(step.rest ?? Buffer.alloc(0));
  }

  override readConnectionLost(): void {
    const user = this.user;
    if (user !== undefined) {
      if (typeof user.readConnectionLost === 'function') user.readConnectionLost();
      else this.transport!.loseConnection();
      return;
    }
    this._fail(new ProxyError(`${_proxyOf(this._hs)} closed the connection during the ${_what(this._hs)}`, _proxyOf(this._hs)));
  }

  override writeConnectionLost(): void {
    this.user?.writeConnectionLost?.();
  }

  override connectionLost(reason: Failure): void {
    const user = this.user;
    if (user !== undefined) {
      user.connected = false;
      user.connectionLost(reason);
      return;
    }
    if (this._result.called) return;
    if (reason.check(ConnectionDone)) {
      this._result.errback(new ProxyError(`${_proxyOf(this._hs)} closed the connection during the ${_what(this._hs)}`, _proxyOf(this._hs)));
    } else {
      this._result.errback(reason);
    }
  }

  private _fail(err: Error): void {
    this._failed = true;
    if (!this._result.called) this._result.errback(err);
    this.transport?.loseConnection();
  }

  private _up(rest: Buffer): void {
    let p: Protocol | undefined;
    try {
      p = this._factory.buildProtocol(this._peer);
    } catch (e) {
      this._fail(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    if (p === undefined) {
      this._fail(new CancelledError('the factory refused the connection'));
      return;
    }
    const t = this.transport!;
    // The connection's counters start here: the handshake's bytes are not
    // the caller's (`rest` is, and is counted again below when re-read).
    const st = (t as Partial<StreamTransport>).stats;
    if (st !== undefined) {
      st.bytesIn = rest.length;
      st.bytesOut = 0;
    }
    this.user = p;
    p.makeConnection(t);
    if (!this._result.called) this._result.callback(p);
    if (rest.length > 0) {
      // Put the bytes back in front of the socket's buffer, so that they
      // arrive as the transport's own data would: after the caller has
      // attached its other side, and not while it has paused reading.
      const socket = (t as Partial<StreamTransport>).socket;
      if (socket !== undefined && typeof socket.unshift === 'function' && !socket.readableEnded) {
        if (st !== undefined) st.bytesIn -= rest.length;
        socket.unshift(rest);
      } else {
        p.dataReceived(rest);
      }
    }
  }
}

function _what(hs: ClientHandshake): string {
  return hs.describe().replace(/ with proxy .*$/, '');
}

function _proxyOf(hs: ClientHandshake): string {
  const m = / with (proxy .*)$/.exec(hs.describe());
  return m?.[1] ?? 'the proxy';
}

/**
 * A client endpoint that connects an inner endpoint (TCP to a proxy, or
 * another hop of a chain), runs a proxy handshake over it and then hands
 * the connection to the caller's protocol. The caller's protocol shares the
 * inner transport: writes go straight to it, reads pass through one call.
 *
 * @example
 * const ep = new HandshakeEndpoint(new TCPClientEndpoint(reactor, { host: '127.0.0.1', port: 1080 }),
 *   () => succeed(new Socks5ClientHandshake({ host: 'example.com', port: 80 }, '127.0.0.1:1080')), 'example.com:80');
 * ep.connect(factory);
 */
export class HandshakeEndpoint implements IStreamClientEndpoint {
  /**
   * @param inner What to run the handshake over.
   * @param makeHandshake Makes the handshake (may resolve a name first);
   *   a failure ends the attempt before the inner endpoint is connected.
   * @param target The destination as text, for `describe()`.
   */
  constructor(
    private readonly inner: IStreamClientEndpoint,
    private readonly makeHandshake: () => Deferred<ClientHandshake>,
    private readonly target: string,
  ) {}

  connect(factory: Factory): Deferred<Protocol> {
    let innerD: Deferred<Protocol> | undefined;
    let hp: _HandshakeProtocol | undefined;
    const result = new Deferred<Protocol>(() => {
      if (hp?.transport !== undefined && hp.connected) hp.transport.abortConnection();
      else innerD?.cancel();
    });
    this.makeHandshake().addCallbacks(
      (hs: ClientHandshake) => {
        if (result.called) return undefined;
        const f = new Factory();
        f.buildProtocol = (addr: Address) => (hp = new _HandshakeProtocol(hs, factory, result, addr));
        innerD = this.inner.connect(f);
        innerD.addErrback((fl: Failure) => {
          if (!result.called) result.errback(fl);
          return undefined;
        });
        return undefined;
      },
      (fl: Failure) => {
        if (!result.called) result.errback(fl);
        return undefined;
      },
    );
    return result;
  }

  describe(): string {
    return `${this.target} via ${this.inner.describe()}`;
  }
}

// ---------------------------------------------------------------- TLS over an endpoint

/**
 * A Node Duplex over a protocol's transport, so that `tls.connect({ socket })`
 * can run over any connection an endpoint made. Writes are held while the
 * transport's buffer is full; reading pauses the transport when the TLS
 * layer does not keep up; EOF and half-close pass both ways.
 */
class _TransportDuplex extends Duplex implements IPushProducer {
  private _blocked = false;
  private _pending: ((err?: Error | null) => void) | undefined = undefined;
  private _readEnded = false;

  constructor(private readonly _t: ITransport) {
    super({ allowHalfOpen: true });
    _t.registerProducer(this, true);
  }

  override _read(): void {
    this._t.resumeProducing();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this._t.write(chunk);
    if (this._blocked) this._pending = cb;
    else cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this._t.loseWriteConnection();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (err) this._t.abortConnection();
    else this._t.loseConnection();
    cb(err);
  }

  pauseProducing(): void {
    this._blocked = true;
  }

  resumeProducing(): void {
    this._blocked = false;
    const cb = this._pending;
    this._pending = undefined;
    cb?.();
  }

  stopProducing(): void {
    this.resumeProducing();
  }

  /** @internal */
  _data(d: Buffer): void {
    if (!this.push(d)) this._t.pauseProducing();
  }

  /** @internal */
  _eof(): void {
    if (this._readEnded) return;
    this._readEnded = true;
    this.push(null);
  }

  /** @internal */
  _lost(reason: Failure): void {
    if (reason.check(ConnectionDone)) {
      this._eof();
      // Both ways are over: let the TLS socket finish closing.
      if (!this.writableEnded) this.end();
    } else {
      this.destroy(reason.value instanceof Error ? reason.value : new ConnectionLostError(reason.getErrorMessage()));
    }
  }
}

class _DuplexProtocol extends Protocol {
  duplex: _TransportDuplex | undefined = undefined;

  override connectionMade(): void {
    this.duplex = new _TransportDuplex(this.transport!);
  }

  override dataReceived(data: Buffer): void {
    this.duplex?._data(data);
  }

  override readConnectionLost(): void {
    this.duplex?._eof();
  }

  override connectionLost(reason: Failure): void {
    this.duplex?._lost(reason);
  }
}

/**
 * TLS over whatever an inner endpoint connects: with a proxy chain inside,
 * TLS runs end to end through every hop. The certificate is verified
 * against `host` (or `servername`) unless `rejectUnauthorized` is false.
 */
export class TLSOverEndpoint implements IStreamClientEndpoint {
  /**
   * @param inner The connection to run TLS over.
   * @param host The TLS server's name (SNI and verification).
   * @param port Its port (for messages).
   * @param tls TLS options.
   */
  constructor(
    private readonly inner: IStreamClientEndpoint,
    private readonly host: string,
    private readonly port: number,
    private readonly tls: TLSOptions = {},
  ) {}

  connect(factory: Factory): Deferred<Protocol> {
    const text = formatHostPort(this.host, this.port);
    let tlsSocket: TLSSocket | undefined;
    let innerD: Deferred<Protocol> | undefined;
    const result = new Deferred<Protocol>(() => {
      if (tlsSocket !== undefined) tlsSocket.destroy();
      else innerD?.cancel();
    });
    const f = new Factory();
    f.buildProtocol = () => new _DuplexProtocol();
    const stats = newConnectionStats('tls', 'connected', text);
    innerD = this.inner.connect(f);
    innerD.addCallbacks(
      (p: Protocol) => {
        const dp = p as _DuplexProtocol;
        if (result.called || dp.duplex === undefined) {
          p.transport?.loseConnection();
          return undefined;
        }
        const { timeoutMs: _t, bindAddress: _b, family: _f, ...opts } = this.tls;
        const servername = opts.servername ?? (isIP(this.host) === 0 ? this.host : undefined);
        const s = loadTLS().connect({ ...opts, host: this.host, servername, socket: dp.duplex, allowHalfOpen: true } as import('node:tls').ConnectionOptions);
        tlsSocket = s;
        const onError = (err: Error) => {
          if (!result.called) result.errback(tlsErrorFrom(err, text));
          s.destroy();
        };
        s.once('error', onError);
        s.once('secureConnect', () => {
          s.removeListener('error', onError);
          if (result.called) {
            s.destroy();
            return;
          }
          const under = (p.transport as Partial<StreamTransport> | undefined)?.stats;
          const now = performance.now();
          stats.connectedAt = under?.connectedAt ?? now;
          stats.secureAt = now;
          stats.local = under?.local ?? '';
          let up: Protocol | undefined;
          try {
            up = factory.buildProtocol({ type: 'TCP', host: this.host, port: this.port });
          } catch (e) {
            result.errback(e);
            s.destroy();
            return;
          }
          if (up === undefined) {
            result.errback(new CancelledError('the factory refused the connection'));
            s.destroy();
            return;
          }
          new StreamTransport(s, up, {
            host: { type: 'TCP', host: '', port: 0 },
            peer: { type: 'TCP', host: this.host, port: this.port },
            stats,
            peerText: text,
          });
          if (!result.called) result.callback(up);
        });
        return undefined;
      },
      (fl: Failure) => {
        if (!result.called) result.errback(fl);
        return undefined;
      },
    );
    return result;
  }

  describe(): string {
    return `tls:${formatHostPort(this.host, this.port)} via ${this.inner.describe()}`;
  }
}

// ---------------------------------------------------------------- chains

/** Where the last hop of a chain should connect, and how. */
export interface ProxyChainTarget {
  host: string;
  port: number;
  /** `remote` (default): send names to the proxy; `local`: resolve them here first. */
  proxyDns?: 'local' | 'remote';
  /** Address family for local resolution. */
  family?: 4 | 6;
  /** Run TLS end to end over the chain with these options. */
  tls?: TLSOptions;
  /** The whole attempt (TCP, every handshake, TLS) gives up after this long. */
  timeoutMs?: number;
}

/**
 * Resolve a host name (an address is returned as it is).
 *
 * @param host A name or an address.
 * @param family 4, 6, or either.
 * @returns A Deferred of the address; fails with `DNSLookupError`.
 */
export function resolveHost(host: string, family?: 4 | 6): Deferred<string> {
  const d = new Deferred<string>();
  if (isIP(host.replace(/%.*$/, '')) !== 0) {
    d.callback(host);
    return d;
  }
  lookup(host, { family: family ?? 0 }, (err, address) => {
    if (err) d.errback(connectErrorFrom(err, host));
    else d.callback(address);
  });
  return d;
}

/**
 * The handshake a proxy URL speaks, towards `target`.
 *
 * @param proxy The proxy.
 * @param target Where it should connect.
 * @returns The client handshake.
 * @throws {UsageError} When the protocol cannot carry the target (SOCKS4 and
 *   a name or an IPv6 address, a name longer than 255 bytes).
 */
export function clientHandshakeFor(proxy: ProxyUrl, target: { host: string; port: number }): ClientHandshake {
  const ptext = formatHostPort(proxy.host, proxy.port);
  switch (proxy.protocol) {
    case 'socks5':
      return new Socks5ClientHandshake(target, ptext, proxy.user !== undefined ? { user: proxy.user, password: proxy.password ?? '' } : undefined);
    case 'socks4':
    case 'socks4a':
      return new Socks4ClientHandshake(target, ptext, { userId: proxy.user, socks4a: proxy.protocol === 'socks4a' });
    case 'http':
      return new HttpConnectClientHandshake(target, ptext, proxy.user !== undefined ? { user: proxy.user, password: proxy.password ?? '' } : undefined);
  }
}

/**
 * A chain of proxies as one endpoint: `first` connects to the first proxy;
 * each proxy is asked for the next one, the last for `target`; with
 * `target.tls`, TLS runs over the whole chain. Names are sent to the proxies
 * (`proxyDns: 'remote'`, the default, and always for `socks4a`/`socks5`
 * unless told otherwise) or resolved here first (`local`, and always for
 * `socks4://`).
 *
 * @param clock Where the overall timeout runs.
 * @param first An endpoint connecting to `proxies[0]`.
 * @param proxies The chain, first hop first (at least one).
 * @param target The destination.
 * @returns The endpoint.
 */
export function proxyChainEndpoint(clock: IReactorTime, first: IStreamClientEndpoint, proxies: readonly ProxyUrl[], target: ProxyChainTarget): IStreamClientEndpoint {
  let ep = first;
  for (let i = 0; i < proxies.length; i++) {
    const proxy = proxies[i]!;
    const next = i + 1 < proxies.length ? { host: proxies[i + 1]!.host, port: proxies[i + 1]!.port } : { host: target.host, port: target.port };
    const local = target.proxyDns === 'local' || !proxy.remoteDns;
    const make = (): Deferred<ClientHandshake> => {
      const host = local ? resolveHost(next.host, target.family) : _now(next.host);
      return host.addCallback((h: string) => clientHandshakeFor(proxy, { host: h, port: next.port })) as unknown as Deferred<ClientHandshake>;
    };
    ep = new HandshakeEndpoint(ep, make, formatHostPort(next.host, next.port));
  }
  if (target.tls !== undefined) ep = new TLSOverEndpoint(ep, target.host, target.port, target.tls);
  return new _ChainEndpoint(ep, clock, proxies, target);
}

function _now<T>(v: T): Deferred<T> {
  const d = new Deferred<T>();
  d.callback(v);
  return d;
}

/** The outermost layer of a chain: the overall timeout, and the peer shown in events. */
class _ChainEndpoint implements IStreamClientEndpoint {
  constructor(
    private readonly _ep: IStreamClientEndpoint,
    private readonly _clock: IReactorTime,
    private readonly _proxies: readonly ProxyUrl[],
    private readonly _target: ProxyChainTarget,
  ) {}

  connect(factory: Factory): Deferred<Protocol> {
    const d = this._ep.connect(factory);
    const ms = this._target.timeoutMs;
    const text = formatHostPort(this._target.host, this._target.port);
    const via = this._proxies.map((p) => `${p.protocol}://${formatHostPort(p.host, p.port)}`).join(' -> ');
    if (ms !== undefined && ms > 0) {
      d.addTimeout(ms, this._clock, (value: unknown) => {
        if (value instanceof Failure && value.check(CancelledError) === undefined) return value;
        return new Failure(new TimeoutError(`Connection timed out after ${ms} ms (attempted address: ${text} via ${via})`, ms));
      });
    }
    return d.addCallback((p: Protocol) => {
      const st = (p.transport as Partial<StreamTransport> | undefined)?.stats;
      if (st !== undefined) {
        st.extra.proxies = via;
        st.peer = `${text} via ${via}`;
      }
      return p;
    });
  }

  describe(): string {
    return this._ep.describe();
  }
}

/**
 * Give a proxy URL without credentials the ones from `WIRECAT_PROXY_AUTH`
 * (`user:pass`; a SOCKS4 hop takes the user as its user id).
 *
 * @param proxy The parsed URL.
 * @param env The variable's value, if set.
 * @returns The URL with credentials.
 * @throws {UsageError} When the variable is not `user:pass`.
 */
export function withDefaultCredentials(proxy: ProxyUrl, env: string | undefined): ProxyUrl {
  if (env === undefined || env === '' || proxy.user !== undefined) return proxy;
  const colon = env.indexOf(':');
  if (colon <= 0) throw new UsageError('WIRECAT_PROXY_AUTH must be user:pass');
  const user = env.slice(0, colon);
  if (proxy.protocol === 'socks4' || proxy.protocol === 'socks4a') return { ...proxy, user };
  return { ...proxy, user, password: env.slice(colon + 1) };
}

/**
 * Read proxy credentials from a file: the first line that is not blank or a
 * `#` comment, `user:pass` (split at the first colon).
 *
 * @param path The file (`proxyauth-file=`).
 * @returns User and password.
 * @throws {UsageError} When the file cannot be read or has no such line.
 */
export function readCredentialsFile(path: string): { user: string; password: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read proxy credentials file '${path}': ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new UsageError(`proxy credentials file '${path}': expected user:pass`);
    return { user: line.slice(0, colon), password: line.slice(colon + 1) };
  }
  throw new UsageError(`proxy credentials file '${path}' has no user:pass line`);
}
