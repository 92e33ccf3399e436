/**
 * `tls-client` (`openssl s_client`): a TLS session, directly or upgraded
 * from plain text with STARTTLS, verified by default, then either bridged
 * with stdio or described in a report (`--check`, `--show-certs`).
 *
 * Verification is done here rather than by Node's `rejectUnauthorized`:
 * the handshake runs to its end either way (Node, too, checks the chain and
 * the name only once it has finished), and nothing is sent before the
 * check. That way a failed check can name the certificate it rejected
 * (subject and SHA-256 fingerprint) and a report can still describe it.
 *
 * @module
 */

import { performance } from 'node:perf_hooks';
import type { Readable, Writable } from 'node:stream';
import type { ConnectionOptions, DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { Deferred, Failure, maybeDeferred } from './defer.js';
import { closedEvent, counters } from './diagnostics.js';
import { TCPClientEndpoint } from './endpoints.js';
import { ConnectionLostError, TLSError, TimeoutError, UsageError } from './errors.js';
import { type CertificateSummary, type EventSink, type TLSEvent, nullSink } from './events.js';
import { loadCrypto, loadTLS } from './lazy.js';
import { lfToCrlfStream } from './crlf.js';
import { Factory, Protocol } from './protocol.js';
import type { Reactor } from './reactor.js';
import { Relay, type RelayOptions } from './relay.js';
import { StartTLSNegotiator, type StartTLSProtocolName } from './starttls.js';
import { StdioTransport } from './stdio.js';
import { StreamTransport } from './stream.js';
import { formatHostPort } from './tcp.js';
import { type TLSOptions, isTLSFailure, tlsErrorFrom } from './tls.js';

/** What `--check`, `--show-certs` and the `tls` event report. */
export type TLSReport = Omit<TLSEvent, 'event'>;

/** Milliseconds in a day. */
const _DAY_MS = 86_400_000;

/** Options of {@link tlsClient}. */
export interface TLSClientSessionOptions {
  host: string;
  port: number;
  family?: 4 | 6;
  /** Give up when the TLS session is not up after this long (ms): connect, STARTTLS and handshake. */
  timeoutMs?: number;
  /** Bridge: close after this long (ms) with no data either way (exit 3). */
  idleTimeoutMs?: number;
  /** TLS options (Node's names); the server is verified unless `rejectUnauthorized` is false. */
  tls: TLSOptions;
  /** Upgrade a plain-text session of this protocol first. */
  starttls?: StartTLSProtocolName;
  /** The name SMTP's EHLO sends (default `localhost`). */
  clientName?: string;
  /** Report and close (`--check`, `--show-certs`) instead of bridging with stdio. */
  report?: boolean;
  /** Given the report (report mode), before the exit code is decided; may return a Promise or Deferred. */
  onReport?: (report: TLSReport) => unknown;
  /** Fail (exit 4) when the leaf certificate expires within this many days. */
  warnDays?: number;
  /** Bridge: send stdin's LF line endings as CRLF. */
  crlf?: boolean;
  /** Bridge: exit at the server's EOF even when stdin is a pipe. */
  exitOnEof?: boolean;
  /** Bridge: stdin is a terminal (the server's EOF then ends the session). */
  stdinIsTTY?: boolean;
  /** Report mode, TLS 1.3: how long to wait for the server to accept the client after the handshake (default: twice the handshake, 100 to 1000 ms). */
  acceptWaitMs?: number;
  events?: EventSink;
  /** `-x`: `'a'` stdin → server, `'b'` server → stdout. */
  tap?: RelayOptions['tap'];
  stdin?: Readable;
  stdout?: Writable;
  /** The wall clock (ms since the epoch) for days left; `Date.now` by default. */
  now?: () => number;
}

/**
 * Describe a certificate (see {@link CertificateSummary}).
 *
 * @param der The certificate, DER-encoded.
 * @param nowMs The time days left are counted from (ms since the epoch).
 * @returns The summary.
 */
export function summarizeCertificate(der: Buffer, nowMs: number): CertificateSummary {
  const x = new (loadCrypto().X509Certificate)(der);
  const validTo = Date.parse(x.validTo);
  const key = x.publicKey;
  const type = key.asymmetricKeyType ?? 'unknown';
  const details = key.asymmetricKeyDetails ?? {};
  const curve = details.namedCurve !== undefined ? (_CURVES[details.namedCurve]?.name ?? details.namedCurve) : undefined;
  let keyBits: number | undefined = details.modulusLength;
  if (type === 'ec' && details.namedCurve !== undefined) keyBits = _CURVES[details.namedCurve]?.bits;
  if (type === 'ed25519') keyBits = 256;
  if (type === 'ed448') keyBits = 456;
  let selfSigned = false;
  try {
    selfSigned = x.subject === x.issuer && x.verify(key);
  } catch {
    selfSigned = false;
  }
  return {
    subject: _dn(x.subject),
    issuer: _dn(x.issuer),
    subjectAltNames: x.subjectAltName === undefined ? [] : x.subjectAltName.split(', ').map((s) => s.replace(/^IP Address:/, 'IP:')),
    validFrom: new Date(Date.parse(x.validFrom)).toISOString(),
    validTo: new Date(validTo).toISOString(),
    daysLeft: Math.floor((validTo - nowMs) / _DAY_MS),
    fingerprint256: x.fingerprint256,
    keyType: _KEY_TYPES[type] ?? type.toUpperCase(),
    ...(keyBits !== undefined ? { keyBits } : {}),
    ...(curve !== undefined ? { curve } : {}),
    serialNumber: x.serialNumber,
    selfSigned,
  };
}

const _KEY_TYPES: Record<string, string> = { rsa: 'RSA', 'rsa-pss': 'RSA-PSS', ec: 'EC', ed25519: 'Ed25519', ed448: 'Ed448', dsa: 'DSA' };
const _CURVES: Record<string, { name: string; bits: number }> = {
  prime256v1: { name: 'P-256', bits: 256 },
  secp384r1: { name: 'P-384', bits: 384 },
  secp521r1: { name: 'P-521', bits: 521 },
  secp256k1: { name: 'secp256k1', bits: 256 },
};

/** `CN=a\nO=b` → `CN=a, O=b`. */
function _dn(text: string): string {
  return text.split('\n').filter(Boolean).join(', ');
}

/**
 * The server's chain as the TLS socket saw it, leaf first (the root as
 * well when the trust store supplied it).
 *
 * @param socket A connected TLS socket.
 * @param nowMs The time days left are counted from.
 * @returns One summary per certificate.
 */
export function peerChain(socket: TLSSocket, nowMs: number): CertificateSummary[] {
  const chain: CertificateSummary[] = [];
  const seen = new Set<string>();
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (cert !== undefined && cert.raw !== undefined && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    chain.push(summarizeCertificate(cert.raw, nowMs));
    cert = cert.issuerCertificate;
  }
  return chain;
}

/**
 * Whether a TLS socket's peer passed verification (chain, then name), and
 * if not, the `TLSError` a verifying client fails with, naming the
 * certificate rejected.
 *
 * @param socket A connected TLS socket (made with `rejectUnauthorized: false`).
 * @param name The name verified (SNI name or host).
 * @param address The address, for the error.
 * @returns `undefined` when verified, else the error.
 */
export function verificationError(socket: TLSSocket, name: string, address: string): TLSError | undefined {
  if (socket.authorized) return undefined;
  const code = String(socket.authorizationError ?? 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  const leaf = socket.getPeerCertificate(false);
  let err: Error = Object.assign(new Error(code), { code });
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' && leaf?.raw !== undefined) {
    err = loadTLS().checkServerIdentity(name, leaf) ?? err;
  }
  const base = tlsErrorFrom(err, address);
  const which = leaf?.raw !== undefined ? `; the server's certificate: ${_dn(new (loadCrypto().X509Certificate)(leaf.raw).subject) || '(no subject)'}, SHA-256 ${leaf.fingerprint256}` : '';
  return new TLSError(`${_withoutAddress(base.message, address)}${which}`, address, (base as TLSError).reason ?? code);
}

/** A `NetworkError` message without its `(attempted address: ...)` tail. */
function _withoutAddress(message: string, address: string): string {
  const tail = ` (attempted address: ${address})`;
  return message.endsWith(tail) ? message.slice(0, -tail.length) : message;
}

/**
 * A TLS error as users can act on it: OpenSSL's reason without its
 * internals, and what a `certificate required` or `handshake failure`
 * alert usually means.
 *
 * @param err A TLS-level error (from the handshake, or read after it).
 * @param address The address.
 * @param hasClientCert Whether a client certificate was offered.
 * @returns A `TLSError`.
 */
export function friendlyTLSError(err: unknown, address: string, hasClientCert: boolean): Error {
  const e = err as NodeJS.ErrnoException & { reason?: string; syscallCode?: string };
  const code = e?.code === 'ERR_TLS' || e?.code === 'ERR_CONNECTION_LOST' ? (e.syscallCode ?? e.reason ?? '') : (e?.code ?? '');
  const text = e?.message ?? String(err);
  const m = /SSL routines:[^:]*:([^:]+):/.exec(text);
  if (m === null && e instanceof TLSError) return e;
  const reason = m !== null ? m[1]!.trim() : _withoutAddress(text.split('\n')[0]!, address);
  let hint = '';
  if (/certificate required/.test(reason)) hint = hasClientCert ? ' (the server did not accept the client certificate)' : ': the server requires a client certificate (--cert, --key)';
  else if (/alert handshake failure/.test(reason) && !hasClientCert) hint = ' (no common cipher or version, or the server requires a client certificate: --cert, --key)';
  else if (/wrong version number|packet length too long/.test(reason)) hint = ' (is the server speaking TLS on this port? --starttls for a plain-text protocol)';
  else if (/alert bad certificate|alert unknown ca|certificate unknown/.test(reason)) hint = ' (the server rejected the client certificate)';
  return new TLSError(`TLS handshake failed: ${reason}${hint}`, address, code || undefined);
}

/**
 * `wirecat tls-client`: connect with TLS (or STARTTLS), verify the server
 * unless told not to, emit `connected` and `tls` events, then either bridge
 * stdin/stdout with the server until both sides are done, or (`report`)
 * hand the report to `onReport` and close.
 *
 * `warnDays` fails the session (before bridging, or after the report) when
 * the leaf certificate expires within that many days.
 *
 * @param reactor The reactor.
 * @param opts The server, TLS options and what to do once connected.
 * @returns A Deferred of the exit code; fails with `TLSError` (handshake,
 *   verification, STARTTLS, `warnDays`), a network error, `TimeoutError`
 *   or `UsageError`.
 * @example
 * tlsClient(reactor, { host: 'example.com', port: 443, tls: tlsOptionsFrom({}), report: true, onReport: print });
 */
export function tlsClient(reactor: Reactor, opts: TLSClientSessionOptions): Deferred<number> {
  return new _TLSClientSession(reactor, opts).result;
}

/** What connecting gave: the TLS transport and when each step ended. */
interface _Established {
  transport: StreamTransport;
  /** performance.now() when the TLS handshake began. */
  handshakeStartedAt: number;
}

/** Report mode's protocol: holds the connection, tells of data arriving and of its end. */
class _Holder extends Protocol {
  lost: Failure | undefined = undefined;
  /** Data arrived, or the connection is gone (`lost` says why). An EOF alone is not told: an error may follow it. */
  onActivity: () => void = () => undefined;
  override dataReceived(): void {
    this.onActivity();
  }
  override readConnectionLost(): void {}
  override connectionLost(reason: Failure): void {
    this.lost = reason;
    this.onActivity();
  }
}

class _TLSClientSession {
  readonly result = new Deferred<number>();
  private readonly _events: EventSink;
  private readonly _address: string;
  private readonly _verify: boolean;
  private readonly _name: string;
  private readonly _relay: Relay | undefined;
  private readonly _holder: _Holder | undefined;
  private readonly _started = performance.now();
  /** A TLS alert (or other TLS error) after the handshake. */
  private _alert: Error | undefined = undefined;

  constructor(
    private readonly _reactor: Reactor,
    private readonly _opts: TLSClientSessionOptions,
  ) {
    this._events = _opts.events ?? nullSink;
    this._address = formatHostPort(_opts.host, _opts.port);
    this._verify = _opts.tls.rejectUnauthorized !== false;
    this._name = _opts.tls.servername ?? _opts.host;
    if (_opts.warnDays !== undefined && !(Number.isFinite(_opts.warnDays) && _opts.warnDays >= 0)) {
      this.result.errback(new UsageError(`--warn-days needs a number of days >= 0, not '${_opts.warnDays}'`));
      return;
    }
    if (_opts.report) {
      this._holder = new _Holder();
    } else {
      this._relay = new Relay({
        clock: _reactor,
        idleTimeoutMs: _opts.idleTimeoutMs,
        tap: _opts.tap,
        closeOnEof: { b: _opts.exitOnEof === true || _opts.stdinIsTTY === true },
        transform: _opts.crlf ? { a: lfToCrlfStream() } : undefined,
      });
    }
    // Load TLS now, so that loading it is not counted as connect time.
    loadTLS();
    const connecting = _opts.starttls !== undefined ? this._connectStartTLS(_opts.starttls) : this._connectDirect();
    connecting.addCallbacks(
      (est: _Established) => {
        this._connected(est);
        return undefined;
      },
      (f: Failure) => {
        this.result.errback(f.check(TLSError) ? friendlyTLSError(f.value, this._address, this._hasClientCert()) : f);
        return undefined;
      },
    );
  }

  private _protocol(): Protocol {
    return this._relay?.b ?? this._holder!;
  }

  private _hasClientCert(): boolean {
    return this._opts.tls.cert !== undefined;
  }

  /** The TLS options for the handshake: verification is checked afterwards, by us. */
  private _tlsOptions(): TLSOptions {
    return { ...this._opts.tls, rejectUnauthorized: false };
  }

  private _connectDirect(): Deferred<_Established> {
    const o = this._opts;
    const factory = new Factory();
    factory.buildProtocol = () => this._protocol();
    const endpoint = new TCPClientEndpoint(this._reactor, {
      host: o.host,
      port: o.port,
      family: o.family,
      timeoutMs: o.timeoutMs,
      tls: this._tlsOptions(),
    });
    return endpoint.connect(factory).addCallback((p: Protocol) => {
      const t = p.transport as StreamTransport;
      return { transport: t, handshakeStartedAt: t.stats.connectedAt ?? t.stats.startedAt };
    }) as unknown as Deferred<_Established>;
  }

  private _connectStartTLS(name: StartTLSProtocolName): Deferred<_Established> {
    const o = this._opts;
    const negotiator = new StartTLSNegotiator(name, { clientName: o.clientName, address: this._address });
    const result = new Deferred<_Established>();
    let plain: StreamTransport | undefined;
    let tlsSocket: TLSSocket | undefined;
    const timer =
      o.timeoutMs === undefined
        ? undefined
        : this._reactor.callLater(o.timeoutMs, () => {
            if (result.called) return;
            plain?.abortConnection();
            tlsSocket?.destroy();
            result.errback(new TimeoutError(`TLS session not up within ${o.timeoutMs! / 1000} s (attempted address: ${this._address})`, o.timeoutMs));
          });
    const settle = (outcome: _Established | Error) => {
      if (result.called) return;
      if (timer !== undefined && timer.active()) timer.cancel();
      if (outcome instanceof Error) result.errback(outcome);
      else result.callback(outcome);
    };
    const factory = new Factory();
    factory.buildProtocol = () => negotiator;
    new TCPClientEndpoint(this._reactor, { host: o.host, port: o.port, family: o.family, timeoutMs: o.timeoutMs })
      .connect(factory)
      .addCallbacks(
        () => {
          plain = negotiator.transport as StreamTransport;
          this._events.emit({ event: 'info', message: `Connected to ${plain.stats.peer} (tcp); STARTTLS (${name})` });
          return undefined;
        },
        (f: Failure) => {
          settle(f.value as Error);
          return undefined;
        },
      );
    negotiator.done.addCallbacks(
      () => {
        const t = plain!;
        const handshakeStartedAt = performance.now();
        const tlsOpts = this._tlsOptions();
        const { timeoutMs: _t, bindAddress: _b, family: _f, ...nodeOpts } = tlsOpts;
        const servername = nodeOpts.servername ?? (_isIP(o.host) ? undefined : o.host);
        const socket = loadTLS().connect({ ...nodeOpts, socket: t.socket as never, host: o.host, servername, allowHalfOpen: true } as ConnectionOptions);
        tlsSocket = socket;
        const onError = (err: Error) => settle(tlsErrorFrom(err, this._address));
        socket.once('error', onError);
        socket.once('secureConnect', () => {
          socket.removeListener('error', onError);
          if (result.called) {
            socket.destroy();
            return;
          }
          const stats = t.stats;
          stats.kind = 'tls';
          stats.secureAt = performance.now();
          const transport = new StreamTransport(socket, this._protocol(), { host: t.getHost(), peer: t.getPeer(), stats, peerText: this._address });
          // The same connection, upgraded: count it once (the plain transport counts its close).
          counters.connectionsOpened--;
          stats.extra.starttlsMs = handshakeStartedAt - (stats.connectedAt ?? stats.startedAt);
          settle({ transport, handshakeStartedAt });
        });
        return undefined;
      },
      (f: Failure) => {
        settle(f.value as Error);
        return undefined;
      },
    );
    // A STARTTLS connection that ends before the upgrade: the dialogue fails it.
    const lost = negotiator.connectionLost.bind(negotiator);
    negotiator.connectionLost = (reason: Failure) => {
      lost(reason);
      if (tlsSocket !== undefined) counters.connectionsClosed--; // counted by the TLS transport
    };
    return result;
  }

  private _connected(est: _Established): void {
    const o = this._opts;
    const t = est.transport;
    const socket = t.socket as unknown as TLSSocket;
    const st = t.stats;
    const secureAt = st.secureAt ?? performance.now();
    const nowMs = (o.now ?? Date.now)();
    // A TLS alert after the handshake (TLS 1.3: "certificate required") leaves the
    // socket half-open, waiting for us: note it and close.
    socket.on('error', (err: Error) => {
      if (this._alert !== undefined || !isTLSFailure(err)) return;
      this._alert = err;
      t.abortConnection();
    });
    const verifyError = verificationError(socket, this._name, this._address);
    const dnsMs = typeof st.extra.dnsMs === 'number' ? st.extra.dnsMs : undefined;
    const connectedAt = st.connectedAt ?? st.startedAt;
    const servername = o.tls.servername ?? (_isIP(o.host) ? undefined : o.host);
    const starttlsMs = typeof st.extra.starttlsMs === 'number' ? st.extra.starttlsMs : undefined;
    // Optional fields are left out rather than undefined: these are the --json `tls` event's fields, in order.
    const report: TLSReport = {
      host: o.host,
      port: o.port,
      peer: st.peer,
      ...(servername !== undefined ? { servername } : {}),
      ...(o.starttls !== undefined ? { starttls: o.starttls } : {}),
      protocol: socket.getProtocol() ?? undefined,
      cipher: socket.getCipher()?.name,
      ...(socket.alpnProtocol ? { alpn: socket.alpnProtocol } : {}),
      verified: verifyError === undefined,
      ...(verifyError !== undefined ? { verifyError: _reasonOf(verifyError, this._address) } : {}),
      verifySkipped: !this._verify,
      chain: peerChain(socket, nowMs),
      ...(dnsMs !== undefined ? { dnsMs } : {}),
      tcpConnectMs: connectedAt - st.startedAt - (dnsMs ?? 0),
      ...(starttlsMs !== undefined ? { starttlsMs } : {}),
      tlsHandshakeMs: secureAt - est.handshakeStartedAt,
      totalMs: secureAt - st.startedAt,
    };

    this._events.emit({
      event: 'connected',
      id: st.id,
      proto: 'tls',
      peer: st.peer,
      local: st.local,
      connectMs: connectedAt - this._started,
      tlsHandshakeMs: report.tlsHandshakeMs,
      tlsProtocol: report.protocol,
      alpn: report.alpn,
    });
    this._events.emit({ event: 'tls', ...report });

    let failure: Error | undefined = this._verify ? verifyError : undefined;
    if (!this._verify && verifyError !== undefined) {
      this._events.emit({ event: 'info', message: `certificate not verified (--insecure): ${report.verifyError}` });
    }
    if (failure === undefined && o.warnDays !== undefined && report.chain.length > 0) failure = this._expiryError(report.chain[0]!, o.warnDays);

    if (this._relay !== undefined) {
      if (failure !== undefined) {
        t.loseConnection();
        this.result.errback(failure);
        return;
      }
      this._bridge(t);
      return;
    }
    this._waitForAcceptance(est, report).addCallback((lostError: Error | undefined) => {
      if (lostError !== undefined) {
        this.result.errback(lostError);
        return undefined;
      }
      const reported = o.onReport !== undefined ? maybeDeferred(o.onReport, report) : Deferred.fromPromise(Promise.resolve());
      return reported.addBoth((r: unknown) => {
        this._close(t).addCallback(() => {
          if (r instanceof Failure) this.result.errback(r);
          else if (failure !== undefined) this.result.errback(failure);
          else this.result.callback(0);
          return undefined;
        });
        return undefined;
      });
    });
  }

  /** `--warn-days`: the leaf expires within the limit (or has expired). */
  private _expiryError(leaf: CertificateSummary, warnDays: number): TLSError | undefined {
    const leftMs = Date.parse(leaf.validTo) - (this._opts.now ?? Date.now)();
    if (leftMs >= warnDays * _DAY_MS) return undefined;
    const when = leftMs < 0 ? `expired ${Math.ceil(-leftMs / _DAY_MS)} day(s) ago` : `expires in ${leaf.daysLeft} day${leaf.daysLeft === 1 ? '' : 's'}`;
    return new TLSError(`the server's certificate (${leaf.subject}) ${when}, on ${leaf.validTo}: within --warn-days ${warnDays}`, this._address, 'CERT_EXPIRES_SOON');
  }

  /**
   * TLS 1.3 ends the client's handshake before the server has checked the
   * client: a server that wants a certificate says so with an alert just
   * after. Wait for a sign of acceptance (a session ticket, data, EOF), the
   * alert, or a short while.
   *
   * @returns A Deferred of the error the server ended the session with, if it did.
   */
  private _waitForAcceptance(est: _Established, report: TLSReport): Deferred<Error | undefined> {
    const d = new Deferred<Error | undefined>();
    const holder = this._holder!;
    const socket = est.transport.socket as unknown as TLSSocket;
    const onSession = (): void => settle();
    const settle = (): void => {
      if (d.called) return;
      if (timer !== undefined && timer.active()) timer.cancel();
      socket.removeListener('session', onSession);
      d.callback(this._alert !== undefined ? friendlyTLSError(this._alert, this._address, this._hasClientCert()) : undefined);
    };
    holder.onActivity = settle;
    if (report.protocol !== 'TLSv1.3' || holder.lost !== undefined) {
      settle();
      return d;
    }
    socket.on('session', onSession);
    const waitMs = this._opts.acceptWaitMs ?? Math.min(1000, Math.max(100, 2 * report.tlsHandshakeMs));
    const timer = this._reactor.callLater(waitMs, settle);
    return d;
  }

  /** Close with close_notify and wait (briefly) for the socket to go. */
  private _close(t: StreamTransport): Deferred<void> {
    const d = new Deferred<void>();
    if (!t.connected) {
      d.callback(undefined);
      return d;
    }
    const timer = this._reactor.callLater(1000, () => {
      t.abortConnection();
      if (!d.called) d.callback(undefined);
    });
    this._holder!.onActivity = () => {
      if (this._holder!.lost === undefined || d.called) return;
      if (timer.active()) timer.cancel();
      d.callback(undefined);
    };
    t.loseConnection();
    return d;
  }

  private _bridge(t: StreamTransport): void {
    const o = this._opts;
    const relay = this._relay!;
    new StdioTransport(relay.a, { stdin: o.stdin, stdout: o.stdout });
    relay.done.addBoth((r: unknown) => {
      this._events.emit(closedEvent(t.stats));
      if (this._alert !== undefined) {
        this.result.errback(friendlyTLSError(this._alert, this._address, this._hasClientCert()));
      } else if (!(r instanceof Failure)) {
        this.result.callback(0);
      } else if (r.check(ConnectionLostError) && isTLSFailure({ code: (r.value as ConnectionLostError).syscallCode, message: r.getErrorMessage() })) {
        this.result.errback(friendlyTLSError(r.value, this._address, this._hasClientCert()));
      } else {
        this.result.errback(r);
      }
      return undefined;
    });
  }
}

/** The reason of a verification `TLSError`, without the prefix, the certificate and the address. */
function _reasonOf(err: TLSError, address: string): string {
  return _withoutAddress(err.message, address)
    .replace(/^TLS certificate verification failed: /, '')
    .replace(/; the server's certificate: .*$/, '');
}

function _isIP(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
