/**
 * Endpoints: where to connect or listen, independent of how. A client
 * endpoint has `connect(factory)`, a server endpoint `listen(factory)`;
 * both return Deferreds, after Twisted's `twisted.internet.endpoints`.
 *
 * @module
 */

import { Deferred, Failure } from './defer.js';
import { CancelledError } from './errors.js';
import type { Address, ClientFactory, Factory, IListeningPort, Protocol } from './protocol.js';
import { ClientFactory as BaseClientFactory } from './protocol.js';
import type { Reactor } from './reactor.js';
import type { StreamTransport } from './stream.js';
import type { TLSOptions } from './tls.js';
import type { ProxyUrl } from './address.js';
import { proxyChainEndpoint } from './tunnel.js';

/** Something to connect to. */
export interface IStreamClientEndpoint {
  /**
   * Connect and build a protocol with `factory`.
   *
   * @returns A Deferred of the connected protocol; fails with the typed
   *   connect error. Cancelling it stops the attempt.
   */
  connect(factory: Factory): Deferred<Protocol>;
  /** What this endpoint connects to, as text. */
  describe(): string;
}

/** Something to listen on. */
export interface IStreamServerEndpoint {
  /** @returns A Deferred of the listening port. */
  listen(factory: Factory): Deferred<IListeningPort>;
  /** What this endpoint listens on, as text. */
  describe(): string;
}

/** Where a TCP (or TLS) client connects. */
export interface TCPTarget {
  host: string;
  port: number;
  family?: 4 | 6;
  timeoutMs?: number;
  bindAddress?: { host?: string; port?: number };
  /** Connect with TLS using these options. */
  tls?: TLSOptions;
  /**
   * Reach the target through these proxies, first hop first: TCP to the
   * first, each next one negotiated through the previous, the last asked
   * for `host:port`; with `tls`, TLS runs end to end over the chain.
   * `timeoutMs` then covers the whole attempt.
   */
  proxies?: ProxyUrl[];
  /** With `proxies`: `remote` (default) sends names to the proxies, `local` resolves them here first. */
  proxyDns?: 'local' | 'remote';
  /** Plain TCP: look the connection's addresses up only when asked (see `ConnectTCPOptions.lazyAddresses`). */
  lazyAddresses?: boolean;
}

/**
 * A ClientFactory that fires a Deferred with the protocol once connected,
 * or with the failure: the bridge between connectors and endpoints.
 */
class _WrappingFactory extends BaseClientFactory {
  readonly done: Deferred<Protocol>;
  private _connector: { stopConnecting(): void } | undefined;

  constructor(private readonly _wrapped: Factory) {
    super();
    this.done = new Deferred<Protocol>(() => {
      try {
        this._connector?.stopConnecting();
      } catch {
        // not connecting any more
      }
    });
  }

  setConnector(c: { stopConnecting(): void }): void {
    this._connector = c;
  }

  override buildProtocol(addr: Address): Protocol | undefined {
    const p = this._wrapped.buildProtocol(addr);
    if (p === undefined) {
      if (!this.done.called) this.done.errback(new CancelledError('the factory refused the connection'));
      return undefined;
    }
    // Fire once the transport is attached: right after makeConnection.
    const makeConnection = p.makeConnection;
    p.makeConnection = (transport) => {
      p.makeConnection = makeConnection;
      makeConnection.call(p, transport);
      if (!this.done.called) this.done.callback(p);
    };
    return p;
  }

  override clientConnectionFailed(_c: unknown, reason: Failure): void {
    if (!this.done.called) this.done.errback(reason);
  }

  override clientConnectionLost(): void {}
}

/**
 * A TCP client endpoint (TLS when `target.tls` is set).
 */
export class TCPClientEndpoint implements IStreamClientEndpoint {
  /**
   * @param reactor The reactor to connect with.
   * @param target Host, port, timeout, bind address, TLS options.
   */
  constructor(
    private readonly reactor: Reactor,
    readonly target: TCPTarget,
  ) {}

  connect(factory: Factory): Deferred<Protocol> {
    const t = this.target;
    if (t.proxies !== undefined && t.proxies.length > 0) {
      const first = t.proxies[0]!;
      const hop = new TCPClientEndpoint(this.reactor, { host: first.host, port: first.port, family: t.family, bindAddress: t.bindAddress, timeoutMs: t.timeoutMs });
      return proxyChainEndpoint(this.reactor, hop, t.proxies, {
        host: t.host,
        port: t.port,
        proxyDns: t.proxyDns,
        family: t.family,
        tls: t.tls,
        timeoutMs: t.timeoutMs,
      }).connect(factory);
    }
    const wf = new _WrappingFactory(factory);
    const connector = t.tls
      ? this.reactor.connectTLS(t.host, t.port, wf, { ...t.tls, timeoutMs: t.timeoutMs, bindAddress: t.bindAddress, family: t.family })
      : this.reactor.connectTCP(t.host, t.port, wf, { timeoutMs: t.timeoutMs, bindAddress: t.bindAddress, family: t.family, lazyAddresses: t.lazyAddresses });
    wf.setConnector(connector);
    return wf.done;
  }

  describe(): string {
    const h = this.target.host.includes(':') ? `[${this.target.host}]` : this.target.host;
    const via = this.target.proxies?.map((p) => `${p.protocol}://${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`).join(' -> ');
    return via ? `${h}:${this.target.port} via ${via}` : `${h}:${this.target.port}`;
  }
}

/**
 * A Unix stream socket client endpoint (`@name`: abstract).
 */
export class UNIXClientEndpoint implements IStreamClientEndpoint {
  constructor(
    private readonly reactor: Reactor,
    readonly path: string,
    readonly timeoutMs?: number,
  ) {}

  connect(factory: Factory): Deferred<Protocol> {
    const wf = new _WrappingFactory(factory);
    wf.setConnector(this.reactor.connectUNIX(this.path, wf, { timeoutMs: this.timeoutMs }));
    return wf.done;
  }

  describe(): string {
    return this.path;
  }
}

/**
 * The transport of a connected protocol, as the stream transport it is.
 *
 * @param p A protocol connected by a stream endpoint.
 * @returns Its transport.
 */
export function streamTransportOf(p: Protocol): StreamTransport | undefined {
  return p.transport as StreamTransport | undefined;
}

/** Re-exported for endpoint users. */
export type { ClientFactory };
