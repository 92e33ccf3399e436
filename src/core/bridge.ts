/**
 * Two addresses bridged: the engine of `wirecat relay` (socat's
 * two-address relay). Each parsed address is opened as a transport for one
 * side of a {@link Relay}; a listening address with `fork` serves each
 * accepted connection with its own second address.
 *
 * @module
 */

import { createReadStream, createWriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import type { AddressSpec, ProxiedAddressSpec, ProxyUrl, Socks4AddressSpec } from './address.js';
import { formatAddress } from './address.js';
import { Deferred, Failure } from './defer.js';
import { checksumFields } from './diagnostics.js';
import { TCPClientEndpoint, type TCPTarget, UNIXClientEndpoint } from './endpoints.js';
import { ConnectionLostError, TimeoutError, UsageError } from './errors.js';
import { type EventSink, nullSink, wantsEvent } from './events.js';
import { ProcessStreamTransport } from './process.js';
import { type Address, ClientFactory, Factory, type IConnector, type IListeningPort, type ITransport, type Protocol } from './protocol.js';
import type { Reactor } from './reactor.js';
import { Relay, type RelayDirection, type RelayOptions, type RelayResult, type RelaySide, type RelayTransform } from './relay.js';
import { crlfToLfStream, lfToCrlfStream } from './crlf.js';
import { StdioTransport } from './stdio.js';
import type { StreamTransport } from './stream.js';
import { type EphemeralCertificate, type TLSOptions, ephemeralCertificate, tlsOptionsFrom } from './tls.js';
import { type DatagramStreamTransport, openDatagramStream } from './udp.js';
import { readCredentialsFile, withDefaultCredentials } from './tunnel.js';
import { addressText, unixPathProblem } from './tcp.js';

/** With `fork,max-conns=N`, at most this many accepted connections wait for a slot; more are closed. */
export const MAX_WAITING = 1024;

/** Options of {@link bridge}. */
export interface BridgeOptions {
  /** `-u` (left to right) / `-U` (right to left). */
  direction?: RelayDirection;
  /** `-T`: close a pair after this long with no data (ms); the relay exits 3. */
  idleTimeoutMs?: number;
  /** `-w`: connect timeout (ms), unless an address sets `connect-timeout=`. */
  connectTimeoutMs?: number;
  /** `-4`/`-6`. */
  family?: 4 | 6;
  events?: EventSink;
  /** `-x`: 'a' = from the left address, 'b' = from the right. */
  tap?: RelayOptions['tap'];
  /** `user:pass` for every proxy hop without its own credentials (`WIRECAT_PROXY_AUTH`). */
  proxyAuth?: string;
}

const _LISTENING = new Set(['tcp-listen', 'tls-listen', 'unix-listen', 'udp-listen']);

/**
 * Whether an address waits for a peer rather than reaching out.
 *
 * @param spec A parsed address.
 * @returns True for the `*-listen` types.
 */
export function isListening(spec: AddressSpec): boolean {
  return _LISTENING.has(spec.type);
}

function _tlsFor(spec: AddressSpec, server: boolean): TLSOptions {
  const o = spec.options;
  return tlsOptionsFrom({
    verify: server ? o.verify === true : o.verify !== false,
    servername: o.servername,
    alpn: o.alpn,
    ca: o.cafile,
    cert: o.cert,
    key: o.key,
  });
}

/**
 * Open a connecting (or local) address and attach `protocol` to it.
 *
 * @param reactor The reactor.
 * @param spec A non-listening address.
 * @param protocol The protocol to drive (a relay side).
 * @param opts Timeouts and family.
 * @param lazyAddresses Plain TCP: look the connection's addresses up only when asked (nothing reports them).
 * @returns A Deferred fired once the protocol is connected.
 */
export function openAddress(
  reactor: Reactor,
  spec: AddressSpec,
  protocol: Protocol,
  opts: BridgeOptions = {},
  lazyAddresses = false,
): Deferred<void> {
  const factory = new Factory();
  factory.buildProtocol = () => protocol;
  const timeoutMs = spec.options.connectTimeoutMs ?? opts.connectTimeoutMs;
  const done = (d: Deferred<unknown>) => d.addCallback(() => undefined) as unknown as Deferred<void>;
  switch (spec.type) {
    case 'stdio':
      new StdioTransport(protocol);
      return _fired();
    case 'tcp':
    case 'tls':
    case 'socks5':
    case 'socks4a':
    case 'http-proxy': {
      let target: TCPTarget;
      try {
        target = _tcpTargetOf(spec, opts, timeoutMs);
      } catch (e) {
        return _failed(e as Error);
      }
      if (lazyAddresses) target.lazyAddresses = true;
      return done(new TCPClientEndpoint(reactor, target).connect(factory));
    }
    case 'unix':
      return done(new UNIXClientEndpoint(reactor, spec.path, timeoutMs).connect(factory));
    case 'udp':
      return done(
        openDatagramStream(protocol, {
          peer: { host: spec.host, port: spec.port },
          bindHost: spec.options.bind?.host,
          bindPort: spec.options.bind?.port,
          family: spec.family ?? opts.family,
        }),
      );
    case 'exec':
      new ProcessStreamTransport(protocol, spec.argv[0]!, spec.argv.slice(1));
      return _fired();
    case 'file': {
      const o = spec.options;
      if (o.create || o.append) {
        const out = createWriteStream(spec.path, { flags: o.append ? 'a' : 'w', mode: o.mode });
        const d = new Deferred<void>();
        // Only an error before 'open' fails the address; later ones reach the transport.
        out.once('error', (e: NodeJS.ErrnoException) => {
          if (!d.called) d.errback(new UsageError(`cannot open '${spec.path}' for writing: ${e.code ?? e.message}`));
        });
        out.once('open', () => {
          new StdioTransport(protocol, { stdout: out, noInput: true, closeOutput: true, kind: 'file', name: spec.path });
          d.callback(undefined);
        });
        return d;
      }
      const input = createReadStream(spec.path);
      const d = new Deferred<void>();
      input.once('error', (e: NodeJS.ErrnoException) => {
        if (!d.called) d.errback(new UsageError(`cannot open '${spec.path}': ${e.code === 'ENOENT' ? 'no such file' : (e.code ?? e.message)}`));
      });
      input.once('open', () => {
        const sink = new Writable({ write: (_c, _e, cb) => cb() });
        new StdioTransport(protocol, { stdin: input, stdout: sink, kind: 'file', name: spec.path });
        d.callback(undefined);
      });
      return d;
    }
    case 'tcp-listen':
    case 'tls-listen':
    case 'unix-listen':
    case 'udp-listen': {
      // A listening address on the connecting side: wait for one peer.
      const d = new Deferred<void>();
      let taken = false;
      const f = new Factory();
      f.buildProtocol = () => {
        if (taken) return undefined;
        taken = true;
        queueMicrotask(() => port?.stopListening());
        return protocol;
      };
      let port: IListeningPort | undefined;
      const made = protocol.makeConnection;
      protocol.makeConnection = (t) => {
        protocol.makeConnection = made;
        made.call(protocol, t);
        d.callback(undefined);
      };
      if (spec.type === 'udp-listen') {
        protocol.makeConnection = made;
        return done(
          openDatagramStream(protocol, { bindHost: spec.host ?? spec.options.bind?.host, bindPort: spec.port, family: spec.family ?? opts.family }).addCallback(
            (t: DatagramStreamTransport) => {
              const h = t.getHost();
              if (h.type === 'UDP') (opts.events ?? nullSink).emit({ event: 'listening', proto: 'udp', address: h.host, port: h.port });
              return t;
            },
          ),
        );
      }
      listenAddress(reactor, spec, f, opts).addCallbacks(
        (p: IListeningPort) => {
          port = p;
          return undefined;
        },
        (fl: Failure) => {
          d.errback(fl);
          return undefined;
        },
      );
      return d;
    }
  }
}

/** The proxy of a `socks5:`, `socks4a:`/`socks4:` or `http-proxy:` address, with its credentials. */
function _proxyOf(spec: ProxiedAddressSpec<'socks5'> | Socks4AddressSpec | ProxiedAddressSpec<'http-proxy'>, opts: BridgeOptions): ProxyUrl {
  const o = spec.options;
  if (spec.type === 'socks4a') {
    const proxy: ProxyUrl = { protocol: spec.remoteDns ? 'socks4a' : 'socks4', host: spec.proxyHost, port: spec.proxyPort, remoteDns: spec.remoteDns };
    if (o.socksUser !== undefined) proxy.user = o.socksUser;
    return withDefaultCredentials(proxy, opts.proxyAuth);
  }
  const proxy: ProxyUrl = {
    protocol: spec.type === 'socks5' ? 'socks5' : 'http',
    host: spec.proxyHost,
    port: spec.proxyPort,
    remoteDns: o.resolve !== 'local',
  };
  const creds = o.proxyAuth ?? (o.proxyAuthFile !== undefined ? readCredentialsFile(o.proxyAuthFile) : undefined);
  if (creds !== undefined) {
    proxy.user = creds.user;
    proxy.password = creds.password;
  }
  return withDefaultCredentials(proxy, opts.proxyAuth);
}

/**
 * Listen on a `*-listen` address (UDP excluded: see {@link openAddress}).
 *
 * @param reactor The reactor.
 * @param spec The address.
 * @param factory Builds a protocol per accepted connection.
 * @param opts Events and family.
 * @param lazyAddresses TCP: look each connection's addresses up only when asked (nothing reports them).
 * @returns A Deferred of the listening port.
 */
export function listenAddress(
  reactor: Reactor,
  spec: AddressSpec,
  factory: Factory,
  opts: BridgeOptions = {},
  lazyAddresses = false,
): Deferred<IListeningPort> {
  const events = opts.events ?? nullSink;
  let d: Deferred<IListeningPort>;
  switch (spec.type) {
    case 'tcp-listen':
    {
      const fam = spec.family ?? opts.family;
      const host = spec.host ?? spec.options.bind?.host ?? (fam === 4 ? '0.0.0.0' : fam === 6 ? '::' : undefined);
      d = reactor.listenTCP(spec.port, factory, { host, backlog: spec.options.backlog, ipv6Only: fam === 6, lazyAddresses });
    }
      break;
    case 'tls-listen': {
      const o = spec.options;
      const host = spec.host ?? o.bind?.host;
      const listen = (tls: TLSOptions) =>
        reactor.listenTLS(spec.port, factory, { ...tls, requestCert: o.verify === true, host, backlog: o.backlog }, (err) =>
          events.emit({ event: 'error', code: 'ERR_TLS', message: `TLS handshake with a client failed: ${err.message}` }),
        );
      if (o.cert !== undefined) {
        d = listen(_tlsFor(spec, true));
      } else {
        // No cert=: an ephemeral self-signed certificate, as `listen --tls`.
        d = ephemeralCertificate(host ?? 'localhost').addCallback((eph: EphemeralCertificate) => {
          events.emit({ event: 'warning', message: `TLS with an ephemeral self-signed certificate, SHA-256 fingerprint ${eph.fingerprint256}` });
          return listen({ ..._tlsFor(spec, true), cert: eph.cert, key: eph.key });
        }) as unknown as Deferred<IListeningPort>;
      }
      break;
    }
    case 'unix-listen':
      d = reactor.listenUNIX(spec.path, factory, { mode: spec.options.mode, unlinkStale: spec.options.unlinkEarly, backlog: spec.options.backlog });
      break;
    default:
      return _failed(new UsageError(`${spec.type}: is not a listening stream address`));
  }
  return d.addCallback((p: IListeningPort) => {
    const h = p.getHost();
    events.emit({
      event: 'listening',
      proto: spec.type.replace('-listen', ''),
      address: h.type === 'UNIX' ? h.path : h.type === 'TCP' || h.type === 'UDP' ? h.host : '',
      ...(h.type === 'TCP' ? { port: h.port } : {}),
    });
    return p;
  }) as unknown as Deferred<IListeningPort>;
}

/**
 * socat's `crlf` option: data written to that address has its LF line ends
 * turned into CRLF, and data read from it has CRLF turned into LF.
 */
function _crlfTransform(leftCrlf: boolean, rightCrlf: boolean): RelayOptions['transform'] {
  if (!leftCrlf && !rightCrlf) return undefined;
  const chain = (f: RelayTransform | undefined, g: RelayTransform | undefined): RelayTransform | undefined => {
    if (f === undefined || g === undefined) return f ?? g;
    const t: RelayTransform = (b: Buffer) => g(f(b));
    t.flush = () => {
      const tail = f.flush?.();
      return tail === undefined ? undefined : g(tail);
    };
    return t;
  };
  return {
    // a → b: read from the left, written to the right.
    a: chain(leftCrlf ? crlfToLfStream() : undefined, rightCrlf ? lfToCrlfStream() : undefined),
    b: chain(rightCrlf ? crlfToLfStream() : undefined, leftCrlf ? lfToCrlfStream() : undefined),
  };
}

/**
 * Where a `tcp:`, `tls:` or proxied address connects: host, port, timeout,
 * local bind, TLS, and the proxy chain (`proxy=` hops, or the proxy of a
 * `socks5:`/`socks4a:`/`http-proxy:` address).
 *
 * @throws {UsageError} For unreadable TLS files or bad proxy credentials.
 */
function _tcpTargetOf(
  spec: Extract<AddressSpec, { type: 'tcp' | 'tls' | 'socks5' | 'socks4a' | 'http-proxy' }>,
  opts: BridgeOptions,
  timeoutMs: number | undefined,
): TCPTarget {
  const target: TCPTarget = {
    host: spec.host,
    port: spec.port,
    family: spec.family ?? opts.family,
    timeoutMs,
    bindAddress: spec.options.bind,
  };
  if (spec.type === 'tcp' || spec.type === 'tls') {
    const proxies = spec.options.proxy?.map((p) => withDefaultCredentials(p, opts.proxyAuth));
    if (spec.type === 'tls') target.tls = _tlsFor(spec, false);
    if (proxies !== undefined && proxies.length > 0) target.proxies = proxies;
  } else {
    const proxy = _proxyOf(spec, opts);
    target.proxies = [proxy];
    target.proxyDns = proxy.remoteDns ? 'remote' : 'local';
  }
  return target;
}

function _fired(): Deferred<void> {
  const d = new Deferred<void>();
  d.callback(undefined);
  return d;
}

function _failed<T>(err: Error): Deferred<T> {
  const d = new Deferred<T>();
  d.errback(err);
  return d;
}

function _peerText(p: Protocol): string {
  const t = p.transport as Partial<StreamTransport> | undefined;
  return t?.stats?.peer ?? _addr(t?.getPeer?.());
}

function _addr(a: Address | undefined): string {
  return a === undefined ? '' : addressText(a);
}

/**
 * The second address of a fork relay when it is plain TCP: each accepted
 * connection's side b connects straight through the reactor, without an
 * endpoint's Deferreds (a busy forwarder opens thousands a second).
 */
class _RelayTargetFactory extends ClientFactory {
  constructor(private readonly _relay: Relay) {
    super();
  }

  override buildProtocol(): Protocol {
    return this._relay.b;
  }

  override clientConnectionFailed(_c: IConnector, reason: Failure): void {
    this._relay.abort(reason);
  }
}

/**
 * One pair of a fork relay. When side a (the accepted connection) is up,
 * `onAccepted` decides whether side b is opened now, later or never. A
 * method, not a closure put on the side as an own `makeConnection`: with
 * that, the pairs' objects survived V8's young-generation collections about
 * 40 % more often (bench/RESULTS.md).
 */
class _ForkRelay extends Relay {
  /** Whether side b was opened (the pair counts against max-conns). */
  started = false;

  constructor(
    opts: RelayOptions,
    private readonly _onAccepted: (relay: _ForkRelay, t: ITransport) => void,
  ) {
    super(opts);
  }

  override _sideConnected(side: RelaySide): void {
    super._sideConnected(side);
    if (side === this.a) this._onAccepted(this, side.transport!);
  }
}

/** A plain `tcp:` address (no TLS, no proxy): one that the fork relay connects to directly. */
function _plainTcp(spec: AddressSpec, opts: BridgeOptions): TCPTarget | undefined {
  if (spec.type !== 'tcp') return undefined;
  const timeoutMs = spec.options.connectTimeoutMs ?? opts.connectTimeoutMs;
  let target: TCPTarget;
  try {
    target = _tcpTargetOf(spec, opts, timeoutMs);
  } catch {
    return undefined;
  }
  return target.proxies === undefined && target.tls === undefined ? target : undefined;
}

/**
 * Relay between two addresses, as socat does.
 *
 * Without `fork` one pair is served and the relay ends with it. With
 * `fork` on a listening left address, every accepted connection gets its
 * own right address, concurrently; `max-conns=N` caps how many pairs run at
 * once (further connections wait, paused, until a pair ends); a reset or
 * error ends only its own pair.
 *
 * @param reactor The reactor.
 * @param left The first address (opened first).
 * @param right The second address.
 * @param opts Direction, timeouts, events.
 * @returns A Deferred of the exit code (never fires with `fork`, until interrupted).
 */
export function bridge(reactor: Reactor, left: AddressSpec, right: AddressSpec, opts: BridgeOptions = {}): Deferred<number> {
  const events = opts.events ?? nullSink;
  const leftText = formatAddress(left, { redact: true });
  const rightText = formatAddress(right, { redact: true });
  const relayOptions = (): RelayOptions => ({
    clock: reactor,
    idleTimeoutMs: opts.idleTimeoutMs,
    direction: opts.direction,
    tap: opts.tap,
    transform: _crlfTransform(left.options.crlf === true, right.options.crlf === true),
  });
  const report = (relay: Relay, r: RelayResult | Failure) => {
    const ok = !(r instanceof Failure);
    const res = ok ? (r as RelayResult) : undefined;
    const aStats = (relay.a.transport as Partial<StreamTransport> | undefined)?.stats;
    events.emit({
      event: 'closed',
      id: (relay.a.transport as Partial<StreamTransport> | undefined)?.stats?.id ?? 0,
      peer: `${_peerText(relay.a) || leftText} <-> ${_peerText(relay.b) || rightText}`,
      bytesIn: res?.bytesAtoB ?? relay.a.bytesIn,
      bytesOut: res?.bytesBtoA ?? relay.b.bytesIn,
      durationMs: res?.durationMs ?? (relay.startedAt === undefined ? 0 : performance.now() - relay.startedAt),
      ...(ok ? {} : { error: (r as Failure).getErrorMessage() }),
      // --checksum: the first address's connection (sent = written to it).
      ...(aStats ? checksumFields(aStats) : {}),
    });
  };

  for (const spec of [left, right]) {
    if (spec.type === 'unix' || spec.type === 'unix-listen') {
      const problem = unixPathProblem(spec.path);
      if (problem !== undefined) return _failed(new UsageError(problem));
    }
  }
  if (left.type === 'udp-listen' && left.options.fork) {
    return _failed(new UsageError('fork on udp-listen: is not supported yet (one session serves every sender; drop fork)'));
  }
  if (left.type === 'udp-listen' || !isListening(left) || !left.options.fork) {
    if (right.options.fork) return _failed(new UsageError(`fork belongs on the first (listening) address, not on '${rightText}'`));
    if (left.options.fork && !isListening(left)) return _failed(new UsageError(`fork needs a listening address, not '${leftText}'`));
    const relay = new Relay(relayOptions());
    const result = new Deferred<number>();
    openAddress(reactor, left, relay.a, opts)
      .addCallback(() => openAddress(reactor, right, relay.b, opts))
      .addErrback((f: Failure) => {
        relay.abort(f);
        return undefined;
      });
    relay.done.addCallbacks(
      (r: RelayResult) => {
        report(relay, r);
        result.callback(0);
        return undefined;
      },
      (f: Failure) => {
        report(relay, f);
        result.errback(f);
        return undefined;
      },
    );
    return result;
  }

  // fork: one pair per accepted connection. Events nobody shows are not
  // built, and then neither are the addresses only they report.
  const wantAccepted = wantsEvent(events, 'accepted');
  const wantClosed = wantsEvent(events, 'closed');
  const lazyAddresses = !wantAccepted && !wantClosed;
  const maxConns = left.options.maxConns;
  const direct = _plainTcp(right, opts);
  let active = 0;
  const waiting: _ForkRelay[] = [];
  const result = new Deferred<number>();
  const start = (relay: _ForkRelay) => {
    relay.started = true;
    active++;
    if (direct !== undefined) {
      reactor.connectTCP(direct.host, direct.port, new _RelayTargetFactory(relay), {
        timeoutMs: direct.timeoutMs,
        bindAddress: direct.bindAddress,
        family: direct.family,
        lazyAddresses,
      });
      return;
    }
    openAddress(reactor, right, relay.b, opts, lazyAddresses).addErrback((f: Failure) => {
      relay.abort(f);
      return undefined;
    });
  };
  const accepted = (relay: _ForkRelay, t: ITransport) => {
    const st = (t as Partial<StreamTransport>).stats;
    if (st && wantAccepted) events.emit({ event: 'accepted', id: st.id, proto: left.type.replace('-listen', ''), peer: st.peer, local: st.local });
    if (maxConns !== undefined && active >= maxConns && waiting.length >= MAX_WAITING) {
      // As a full listen backlog would: no more waiting than this.
      events.emit({ event: 'refused', peer: st?.peer ?? '', reason: `max-conns=${maxConns} reached and ${MAX_WAITING} connections already waiting` });
      t.abortConnection();
    } else if (maxConns !== undefined && active >= maxConns) {
      // Wait, paused (the relay side paused its reading already), for a slot.
      waiting.push(relay);
    } else {
      start(relay);
    }
  };
  const ended = (r: unknown, relay: _ForkRelay) => {
    if (relay.started) active--;
    else {
      const i = waiting.indexOf(relay);
      if (i >= 0) waiting.splice(i, 1);
    }
    if (wantClosed) report(relay, r as RelayResult | Failure);
    if (r instanceof Failure && !r.check(ConnectionLostError, TimeoutError)) {
      events.emit({ event: 'error', code: String((r.value as { code?: unknown })?.code ?? 'ERR'), message: r.getErrorMessage() });
    }
    if (relay.started) {
      const next = waiting.shift();
      if (next !== undefined) start(next);
    }
    return undefined;
  };
  // Every pair reads the same options; only a CRLF transform keeps state per pair.
  const shared = relayOptions();
  const pairOptions = shared.transform === undefined ? () => shared : relayOptions;
  const factory = new Factory();
  factory.buildProtocol = () => {
    const relay = new _ForkRelay(pairOptions(), accepted);
    relay.done.addBoth(ended, relay);
    return relay.a;
  };
  listenAddress(reactor, left, factory, opts, lazyAddresses).addErrback((f: Failure) => {
    result.errback(f);
    return undefined;
  });
  return result;
}
