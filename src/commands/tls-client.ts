/**
 * `wirecat tls-client HOST PORT`: `openssl s_client` with a verifying
 * default, STARTTLS, and reports for scripts (`--check`, `--show-certs`,
 * `--warn-days`).
 *
 * @module
 */

import type { Argv } from 'yargs';
import { parsePort } from '../core/address.js';
import { UsageError } from '../core/errors.js';
import { STARTTLS_PROTOCOLS, type StartTLSProtocolName } from '../core/starttls.js';
import { tlsClient } from '../core/tlsclient.js';
import { tlsOptionsFrom } from '../core/tls.js';
import { colorEnabled, renderTLSOutput } from '../output.js';
import type { CommandContext } from './context.js';
import { stripBrackets, tlsClientOptions, tlsSettingsFrom, type TLSClientFlags } from './flags.js';

/** The yargs command: `tls-client` and its positionals. */
export const command = 'tls-client <host> <port>';
/** One line for `wirecat --help`. */
export const describe = 'TLS handshake (verified), then stdin to the server and the server to stdout (openssl s_client)';

/** The flags of `tls-client`. */
export interface TLSClientArgs extends TLSClientFlags {
  host: string;
  port: string;
  check?: boolean;
  showCerts?: boolean;
  warnDays?: number;
  starttls?: string;
  crlf?: boolean;
  color?: boolean;
}

/**
 * Declare the flags and examples of `tls-client`.
 *
 * @param y The command's yargs.
 * @returns The same yargs.
 */
export function builder(y: Argv): Argv {
  return tlsClientOptions(y)
    .positional('host', { type: 'string', describe: 'server name (verified, sent as SNI) or address' })
    .positional('port', { type: 'string', describe: 'port' })
    .option('check', { type: 'boolean', describe: 'report protocol, cipher, ALPN, verification, chain and timings on stdout, then exit' })
    .option('show-certs', { type: 'boolean', describe: "print the server's chain as a table on stdout, then exit" })
    .option('warn-days', { type: 'number', requiresArg: true, describe: 'exit 4 when the certificate expires within N days' })
    .option('starttls', { type: 'string', choices: [...STARTTLS_PROTOCOLS], describe: 'start in plain text and upgrade: smtp, imap, pop3 or ftp' })
    .option('crlf', { alias: 'C', type: 'boolean', describe: 'send LF line endings from stdin as CRLF' })
    .example('$0 tls-client example.com 443', 'talk to a TLS server (verified)')
    .example('$0 tls-client --check example.com 443', 'what was negotiated, the chain, timings')
    .example('$0 tls-client --check --warn-days 21 example.com 443', 'CI: fail (exit 4) 3 weeks before expiry')
    .example('$0 tls-client --show-certs --ca ca.pem localhost 8443', 'the chain as a table, verified with a private CA')
    .example('$0 tls-client --starttls smtp -C mail.example.com 25', 'SMTP with STARTTLS, then type SMTP commands')
    .example('$0 tls-client --alpn h2,http/1.1 --check example.com 443', 'which ALPN protocol the server picks');
}

/**
 * Check the flags and start the core's session; its Deferred of the exit code goes to `ctx.pending`.
 *
 * @param ctx The command's context.
 * @param a The parsed flags.
 * @throws {UsageError} For a bad flag value (exit 2).
 */
export function run(ctx: CommandContext, a: TLSClientArgs): void {
  const port = parsePort(String(a.port), 'port');
  if (a.warnDays !== undefined && !(Number.isFinite(a.warnDays) && a.warnDays >= 0)) {
    throw new UsageError(`--warn-days needs a number of days >= 0, not '${a.warnDays}'`);
  }
  const tls = tlsOptionsFrom(tlsSettingsFrom(a));
  if (tls.rejectUnauthorized === false) {
    ctx.events.emit({ event: 'warning', message: 'certificate verification is off (--insecure): the peer is not authenticated' });
  }
  const check = a.check === true;
  const showCerts = a.showCerts === true;
  const color = colorEnabled({ stream: process.stdout, noColorFlag: a.color === false, forceColorFlag: a.color === true });
  ctx.pending = tlsClient(ctx.reactor, {
    host: stripBrackets(String(a.host)),
    port,
    family: ctx.globals.family,
    timeoutMs: ctx.globals.timeoutMs,
    idleTimeoutMs: ctx.globals.idleTimeoutMs,
    tls,
    starttls: a.starttls as StartTLSProtocolName | undefined,
    report: check || showCerts,
    onReport: async (report) => {
      const text = await renderTLSOutput(report, { check, showCerts, color });
      await new Promise<void>((resolve) => process.stdout.write(text, () => resolve()));
    },
    warnDays: a.warnDays,
    crlf: a.crlf,
    stdinIsTTY: ctx.stdinIsTTY,
    events: ctx.events,
    tap: ctx.tap,
  });
}
