/**
 * Flags shared by several subcommands (the TLS client flags) and small
 * conversions of flag values.
 *
 * @module
 */

import type { Argv } from 'yargs';
import { UsageError } from '../core/errors.js';
import type { TLSSettings } from '../core/tls.js';

/** The flags of `tls-client`, also taken by `connect --tls`. */
export interface TLSClientFlags {
  insecure?: boolean;
  servername?: string;
  alpn?: string;
  ca?: string;
  cert?: string;
  key?: string;
  minVersion?: string;
  maxVersion?: string;
  ciphers?: string;
}

/**
 * Add the TLS client flags to a command.
 *
 * @param y The command's yargs.
 * @returns The same yargs.
 */
export function tlsClientOptions(y: Argv): Argv {
  return y
    .option('insecure', { type: 'boolean', describe: 'TLS: do not verify the server (a warning is printed)' })
    .option('servername', { type: 'string', requiresArg: true, describe: 'TLS: SNI name and the name verified (default: the host)' })
    .option('alpn', { type: 'string', requiresArg: true, describe: 'TLS: ALPN protocols, comma-separated (h2,http/1.1)' })
    .option('ca', { type: 'string', requiresArg: true, describe: 'TLS: CA bundle (PEM) to verify with instead of the system roots' })
    .option('cert', { type: 'string', requiresArg: true, describe: 'TLS: client certificate (PEM)' })
    .option('key', { type: 'string', requiresArg: true, describe: "TLS: the client certificate's key (PEM)" })
    .option('min-version', { type: 'string', requiresArg: true, describe: 'TLS: lowest version (TLSv1.2, TLSv1.3)' })
    .option('max-version', { type: 'string', requiresArg: true, describe: 'TLS: highest version' })
    .option('ciphers', { type: 'string', requiresArg: true, describe: 'TLS: OpenSSL cipher list' });
}

/**
 * The TLS client flags as core settings.
 *
 * @param a Parsed flags.
 * @returns Settings for `tlsOptionsFrom`.
 */
export function tlsSettingsFrom(a: TLSClientFlags): TLSSettings {
  return {
    verify: !a.insecure,
    servername: a.servername,
    alpn: a.alpn?.split(',').map((s) => s.trim()).filter(Boolean),
    ca: a.ca,
    cert: a.cert,
    key: a.key,
    minVersion: a.minVersion,
    maxVersion: a.maxVersion,
    ciphers: a.ciphers,
  };
}

/**
 * Seconds from a flag to milliseconds.
 *
 * @param secs The flag's value (undefined when absent).
 * @param flag The flag's name, for the error.
 * @returns Milliseconds, or undefined.
 * @throws {UsageError} For a negative or non-numeric value.
 */
export function secondsToMs(secs: number | undefined, flag = 'a timeout'): number | undefined {
  if (secs === undefined) return undefined;
  if (typeof secs !== 'number' || !Number.isFinite(secs) || secs < 0) {
    throw new UsageError(`${flag} needs a number of seconds, not '${String(secs)}'`);
  }
  return Math.round(secs * 1000);
}

/**
 * `[::1]` → `::1`; anything else unchanged.
 *
 * @param host A host as typed.
 * @returns The host without brackets.
 */
export function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
