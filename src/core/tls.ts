/**
 * TLS over the stream transports: client connectors that verify by
 * default, listening ports, and OpenSSL's reasons in typed errors.
 *
 * `node:tls` is loaded on first use.
 *
 * @module
 */

import type net from 'node:net';
import type { ConnectionOptions, TlsOptions } from 'node:tls';
import { type Deferred } from './defer.js';
import { TLSError, connectErrorFrom } from './errors.js';
import { loadTLS } from './lazy.js';
import type { ClientFactory, Factory } from './protocol.js';
import { StreamConnector, StreamListeningPort, formatHostPort } from './tcp.js';
import type { IReactorTime } from './task.js';

/** TLS options, with Node's `tls` names; verification is on unless `rejectUnauthorized: false`. */
export interface TLSOptions {
  ca?: string | Buffer | (string | Buffer)[];
  cert?: string | Buffer | (string | Buffer)[];
  key?: string | Buffer | (string | Buffer)[];
  passphrase?: string;
  servername?: string;
  ALPNProtocols?: string[];
  minVersion?: ConnectionOptions['minVersion'];
  maxVersion?: ConnectionOptions['maxVersion'];
  ciphers?: string;
  rejectUnauthorized?: boolean;
  requestCert?: boolean;
  /** Give up after this long (ms), handshake included. */
  timeoutMs?: number;
  /** Local address to bind. */
  bindAddress?: { host?: string; port?: number };
  /** Address family for name resolution. */
  family?: 4 | 6;
}

const _VERIFY_REASONS: Record<string, string> = {
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in certificate chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate (unknown CA or incomplete chain)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get local issuer certificate (unknown CA)',
  UNABLE_TO_GET_ISSUER_CERT: 'unable to get issuer certificate (unknown CA)',
  ERR_TLS_CERT_ALTNAME_INVALID: 'hostname mismatch',
  CERT_REVOKED: 'certificate revoked',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
};

/**
 * Whether an error from a TLS socket is about TLS (handshake or
 * verification) rather than the network underneath.
 *
 * @param err The error.
 * @returns True for handshake and certificate errors.
 */
export function isTLSFailure(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (code in _VERIFY_REASONS) return true;
  if (/^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_OSSL)/.test(code)) return true;
  const msg = (err as Error | undefined)?.message ?? '';
  return /before secure TLS connection was established|SSL routines|alert/i.test(msg);
}

/**
 * The typed error of a failed TLS connect.
 *
 * @param err What the socket reported.
 * @param address The address attempted.
 * @returns A `TLSError` with OpenSSL's reason, or the network error.
 */
export function tlsErrorFrom(err: unknown, address: string): Error {
  if (!isTLSFailure(err)) return connectErrorFrom(err, address);
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? '';
  const reason = _VERIFY_REASONS[code];
  let message: string;
  if (reason !== undefined) message = `TLS certificate verification failed: ${reason}${code === 'ERR_TLS_CERT_ALTNAME_INVALID' ? ` (${e.message.replace(/^Hostname\/IP does not match certificate's altnames: /, '')})` : ''}`;
  else if (/before secure TLS connection was established/.test(e.message)) message = 'TLS handshake failed: the peer closed the connection';
  else message = `TLS handshake failed: ${e.message.split('\n')[0]}`;
  return new TLSError(message, address, code || undefined);
}

/**
 * Connect with TLS over TCP.
 *
 * @param host The server's name or address (also the SNI name and the name verified, unless `servername` is given).
 * @param port The port.
 * @param factory Told of progress; builds the protocol.
 * @param opts TLS options and timeout.
 * @param clock Where the timeout is scheduled.
 * @param track Shutdown bookkeeping.
 * @returns The connector (already connecting).
 */
export function connectTLS(
  host: string,
  port: number,
  factory: ClientFactory,
  opts: TLSOptions,
  clock: IReactorTime,
  track?: (s: net.Socket, open: boolean) => void,
): StreamConnector {
  const destinationText = formatHostPort(host, port);
  const { timeoutMs, bindAddress, family, ...tlsOpts } = opts;
  const c = new StreamConnector(factory, {
    kind: 'tls',
    destination: { type: 'TCP', host, port },
    destinationText,
    readyEvent: 'secureConnect',
    timeoutMs,
    clock,
    track,
    failure: (err) => tlsErrorFrom(err, destinationText),
    connect: () => {
      const servername = tlsOpts.servername ?? (isIPAddress(host) ? undefined : host);
      return loadTLS().connect({
        host,
        port,
        ...tlsOpts,
        servername,
        allowHalfOpen: true,
        localAddress: bindAddress?.host,
        localPort: bindAddress?.port,
        family,
      } as ConnectionOptions);
    },
  });
  c.connect();
  return c;
}

/**
 * Listen for TLS connections.
 *
 * @param port The port (0: any).
 * @param factory Builds a protocol per connection (after the handshake).
 * @param opts Certificate, key and Node TLS server options, plus `host` and `backlog`.
 * @param track Shutdown bookkeeping.
 * @param onClientError Told of each failed handshake.
 * @returns A Deferred of the port.
 */
export function listenTLS(
  port: number,
  factory: Factory,
  opts: TLSOptions & { host?: string; backlog?: number },
  track?: (s: net.Socket, open: boolean) => void,
  onClientError?: (err: Error) => void,
): Deferred<StreamListeningPort> {
  const { host, backlog, timeoutMs: _t, bindAddress: _b, family: _f, ...tlsOpts } = opts;
  const listenOptions: net.ListenOptions = { port, backlog: backlog ?? 511 };
  if (host) listenOptions.host = host;
  return StreamListeningPort.listen(factory, {
    kind: 'tls',
    createServer: (onSocket) => {
      const server = loadTLS().createServer({ ...(tlsOpts as TlsOptions), allowHalfOpen: true }, onSocket);
      server.on('tlsClientError', (err) => onClientError?.(err));
      return server;
    },
    connectionEvent: 'secureConnection',
    listenOptions,
    addressText: formatHostPort(host || '*', port),
    track,
    onReady: (_socket, t) => {
      t.stats.secureAt = t.stats.startedAt;
    },
  });
}

/** @returns Whether `host` is an IP address literal (no SNI is sent for those). */
function isIPAddress(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
