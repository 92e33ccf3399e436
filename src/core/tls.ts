/**
 * TLS over the stream transports: client connectors that verify by
 * default, listening ports, and OpenSSL's reasons in typed errors.
 *
 * `node:tls` is loaded on first use.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ConnectionOptions, TlsOptions } from 'node:tls';
import { Deferred } from './defer.js';
import { TLSError, UsageError, connectErrorFrom } from './errors.js';
import { loadCrypto, loadTLS } from './lazy.js';
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
  const acceptedAt = new WeakMap<net.Socket, number>();
  return StreamListeningPort.listen(factory, {
    kind: 'tls',
    createServer: (onSocket) => {
      const server = loadTLS().createServer({ ...(tlsOpts as TlsOptions), allowHalfOpen: true }, onSocket);
      server.on('tlsClientError', (err) => onClientError?.(err));
      // The TCP accept time, to time the handshake of each connection.
      server.on('connection', (raw: net.Socket) => acceptedAt.set(raw, performance.now()));
      return server;
    },
    connectionEvent: 'secureConnection',
    listenOptions,
    addressText: formatHostPort(host || '*', port),
    track,
    onReady: (socket, t) => {
      const raw = (socket as net.Socket & { _parent?: net.Socket })._parent;
      const at = raw !== undefined ? acceptedAt.get(raw) : undefined;
      if (at !== undefined) {
        t.stats.startedAt = at;
        t.stats.connectedAt = at;
      }
      t.stats.secureAt = performance.now();
    },
  });
}

/** @returns Whether `host` is an IP address literal (no SNI is sent for those). */
function isIPAddress(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

/** TLS settings as the command line and addresses give them: file paths and names. */
export interface TLSSettings {
  /** Verify the server (default true). */
  verify?: boolean;
  servername?: string;
  /** ALPN protocols, in preference order. */
  alpn?: string[];
  /** CA bundle file (PEM). */
  ca?: string;
  /** Certificate file (PEM). */
  cert?: string;
  /** Key file (PEM). */
  key?: string;
  minVersion?: string;
  maxVersion?: string;
  ciphers?: string;
}

const _TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/**
 * Turn settings with file names into Node TLS options, reading the files.
 *
 * @param s The settings.
 * @param readFile How to read a file (default `fs.readFileSync`).
 * @returns TLS options.
 * @throws {UsageError} For a missing or unreadable file, a key without a
 *   certificate, or an unknown TLS version.
 */
export function tlsOptionsFrom(s: TLSSettings, readFile: (path: string) => Buffer = _readFile): TLSOptions {
  const read = (what: string, path: string): Buffer => {
    try {
      return readFile(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UsageError(`cannot read ${what} file '${path}': ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  };
  const version = (what: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const norm = v.replace(/^tls(v)?/i, 'TLSv').replace(/^(\d)/, 'TLSv$1');
    if (!_TLS_VERSIONS.includes(norm)) throw new UsageError(`unknown ${what} '${v}' (valid: ${_TLS_VERSIONS.join(', ')})`);
    return norm as TLSOptions['minVersion'];
  };
  if ((s.cert === undefined) !== (s.key === undefined)) {
    throw new UsageError(s.cert === undefined ? 'a key needs a certificate (--cert)' : 'a certificate needs its key (--key)');
  }
  const o: TLSOptions = { rejectUnauthorized: s.verify !== false };
  if (s.ca !== undefined) o.ca = read('CA', s.ca);
  if (s.cert !== undefined) o.cert = read('certificate', s.cert);
  if (s.key !== undefined) o.key = read('key', s.key);
  if (s.servername !== undefined) o.servername = s.servername;
  if (s.alpn !== undefined && s.alpn.length > 0) o.ALPNProtocols = s.alpn;
  const min = version('minimum TLS version', s.minVersion);
  const max = version('maximum TLS version', s.maxVersion);
  if (min) o.minVersion = min;
  if (max) o.maxVersion = max;
  if (s.ciphers !== undefined) o.ciphers = s.ciphers;
  return o;
}

function _readFile(path: string): Buffer {
  return readFileSync(path);
}

/** A certificate made up on the spot. */
export interface EphemeralCertificate {
  /** PEM certificate. */
  cert: string;
  /** PEM private key. */
  key: string;
  /** SHA-256 fingerprint, colon-separated hex (as `openssl x509 -fingerprint -sha256` prints it). */
  fingerprint256: string;
}

/**
 * A self-signed certificate for `name`, valid from yesterday for 30 days,
 * made in-process: the key with Node's crypto, the certificate with
 * node-forge (loaded on first use). No `openssl` binary is needed.
 *
 * @param name The subject's common name and DNS subjectAltName.
 * @returns A Deferred of the PEM certificate, key and fingerprint.
 */
export function ephemeralCertificate(name: string): Deferred<EphemeralCertificate> {
  return Deferred.fromPromise(
    import('node-forge').then((mod) => {
      const forge = ((mod as { default?: typeof import('node-forge') }).default ?? mod) as typeof import('node-forge');
      const crypto = loadCrypto();
      const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
      const pubPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
      const cert = forge.pki.createCertificate();
      cert.publicKey = forge.pki.publicKeyFromPem(pubPem);
      cert.serialNumber = `01${crypto.randomBytes(8).toString('hex')}`;
      const now = Date.now();
      cert.validity.notBefore = new Date(now - 86_400_000);
      cert.validity.notAfter = new Date(now + 30 * 86_400_000);
      const attrs = [{ name: 'commonName', value: name }, { name: 'organizationName', value: 'wirecat ephemeral' }];
      cert.setSubject(attrs);
      cert.setIssuer(attrs);
      const altNames: { type: number; value?: string; ip?: string }[] = [];
      if (/^[\d.]+$/.test(name) || name.includes(':')) altNames.push({ type: 7, ip: name });
      else altNames.push({ type: 2, value: name });
      if (name !== 'localhost') altNames.push({ type: 2, value: 'localhost' });
      altNames.push({ type: 7, ip: '127.0.0.1' });
      cert.setExtensions([
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames },
      ]);
      cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
      const certPem = forge.pki.certificateToPem(cert);
      const fingerprint256 = new crypto.X509Certificate(certPem).fingerprint256;
      return { cert: certPem, key: keyPem, fingerprint256 };
    }),
  );
}
