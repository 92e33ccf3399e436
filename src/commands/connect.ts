/**
 * `wirecat connect HOST PORT[-PORT]`: nc's client mode.
 *
 * @module
 */

import type { Argv } from 'yargs';
import { parsePort, parseProxyUrl } from '../core/address.js';
import { UsageError } from '../core/errors.js';
import { netcatConnect } from '../core/netcat.js';
import { tlsOptionsFrom } from '../core/tls.js';
import { withDefaultCredentials } from '../core/tunnel.js';
import type { CommandContext } from './context.js';
import { secondsToMs, stripBrackets, tlsClientOptions, tlsSettingsFrom, type TLSClientFlags } from './flags.js';

export const command = 'connect <host> <port>';
export const describe = 'Connect to HOST PORT: stdin to the socket, the socket to stdout (nc HOST PORT)';

/** The flags of `connect`. */
export interface ConnectArgs extends TLSClientFlags {
  host: string;
  port: string;
  zeroIo?: boolean;
  wait?: number;
  retry?: number;
  sendOnly?: boolean;
  recvOnly?: boolean;
  crlf?: boolean;
  source?: string;
  sourcePort?: string;
  shutdown?: boolean;
  q?: number;
  exitOnEof?: boolean;
  tls?: boolean;
  proxy?: string | string[];
  proxyDns?: string;
}

export function builder(y: Argv): Argv {
  return tlsClientOptions(y)
    .positional('host', { type: 'string', describe: 'host name or address (IPv6 with or without brackets; fe80::1%eth0)' })
    .positional('port', { type: 'string', describe: 'port, or a range LO-HI with -z' })
    .option('zero-io', { alias: 'z', type: 'boolean', describe: 'probe the port(s) and report which are open; carry no data' })
    .option('wait', { type: 'number', describe: 'retry until the port opens, for at most SECS (exit 3 after)', requiresArg: true })
    .option('retry', { type: 'number', describe: 'retry a failed connection N more times', requiresArg: true })
    .option('send-only', { type: 'boolean', describe: 'only send stdin; discard what arrives' })
    .option('recv-only', { type: 'boolean', describe: 'only receive; do not read stdin' })
    .option('crlf', { alias: 'C', type: 'boolean', describe: 'send LF line endings from stdin as CRLF' })
    .option('source', { alias: 's', type: 'string', describe: 'local address to connect from', requiresArg: true })
    .option('source-port', { alias: 'p', type: 'string', describe: 'local port to connect from', requiresArg: true })
    .option('shutdown', { type: 'boolean', default: true, describe: 'half-close at stdin EOF (--no-shutdown keeps sending side open)' })
    .option('q', { type: 'number', describe: 'quit SECS after stdin EOF', requiresArg: true })
    .option('exit-on-eof', { type: 'boolean', describe: "exit at the peer's EOF even when stdin is a pipe" })
    .option('tls', { type: 'boolean', describe: 'connect with TLS (see the tls-client flags)' })
    .option('proxy', {
      type: 'string',
      requiresArg: true,
      describe: 'through socks5://, socks4a://, socks4:// or http://[user:pass@]host:port; repeat to chain (credentials also from WIRECAT_PROXY_AUTH)',
    })
    .option('proxy-dns', { type: 'string', requiresArg: true, choices: ['local', 'remote'], describe: 'who resolves HOST: the proxy (remote, default) or wirecat (local)' })
    .conflicts('send-only', 'recv-only')
    .example('$0 connect example.com 80', 'talk HTTP by hand')
    .example('printf "GET / HTTP/1.0\\r\\n\\r\\n" | $0 connect example.com 80', 'one request; the reply goes to stdout')
    .example('$0 connect -z 127.0.0.1 20-25', 'which of ports 20..25 are open')
    .example('$0 connect -z --wait 30 db 5432', 'CI: wait up to 30 s for the database')
    .example('$0 connect --tls example.com 443', 'TLS, verified')
    .example('$0 connect --proxy socks5://127.0.0.1:1080 example.com 80', 'through a SOCKS5 proxy (it resolves the name)')
    .example('WIRECAT_PROXY_AUTH=me:secret $0 connect --tls --proxy http://proxy.lan:3128 --proxy socks5://10.0.0.1 example.com 443', 'TLS through a two-hop chain');
}

/**
 * Parse `PORT` or `LO-HI`.
 *
 * @param text The argument.
 * @returns The ports, in order.
 * @throws {UsageError} For a bad port or range.
 */
export function parsePortRange(text: string): number[] {
  const m = /^(\d+)-(\d+)$/.exec(text);
  if (m === null) return [parsePort(text, 'port')];
  const lo = parsePort(m[1]!, 'port');
  const hi = parsePort(m[2]!, 'port');
  if (hi < lo) throw new UsageError(`bad port range '${text}' (LO-HI with LO <= HI)`);
  if (hi - lo >= 65535) throw new UsageError(`bad port range '${text}'`);
  const ports: number[] = [];
  for (let p = lo; p <= hi; p++) ports.push(p);
  return ports;
}

export function run(ctx: CommandContext, a: ConnectArgs): void {
  const ports = parsePortRange(String(a.port));
  if (ports.length > 1 && !a.zeroIo) throw new UsageError(`a port range (${a.port}) needs -z`);
  const bindAddress =
    a.source !== undefined || a.sourcePort !== undefined
      ? { host: a.source, port: a.sourcePort !== undefined ? parsePort(String(a.sourcePort), 'source port') : undefined }
      : undefined;
  if (a.wait !== undefined && !(a.wait > 0)) throw new UsageError(`--wait needs a positive number of seconds, not '${a.wait}'`);
  if (a.retry !== undefined && !(Number.isInteger(a.retry) && a.retry >= 0)) throw new UsageError(`--retry needs a whole number, not '${a.retry}'`);
  const tls = a.tls ? tlsOptionsFrom(tlsSettingsFrom(a)) : undefined;
  if (tls && tls.rejectUnauthorized === false) {
    ctx.events.emit({ event: 'warning', message: 'certificate verification is off (--insecure): the peer is not authenticated' });
  }
  const envAuth = process.env.WIRECAT_PROXY_AUTH;
  const proxies = (a.proxy === undefined ? [] : ([] as string[]).concat(a.proxy)).map((u) => withDefaultCredentials(parseProxyUrl(String(u)), envAuth));
  if (a.proxyDns !== undefined && a.proxyDns !== 'local' && a.proxyDns !== 'remote') {
    throw new UsageError(`--proxy-dns takes local or remote, not '${a.proxyDns}'`);
  }
  ctx.pending = netcatConnect(ctx.reactor, {
    host: stripBrackets(a.host),
    ports,
    family: ctx.globals.family,
    timeoutMs: ctx.globals.timeoutMs,
    idleTimeoutMs: ctx.globals.idleTimeoutMs,
    bindAddress,
    tls,
    proxies: proxies.length > 0 ? proxies : undefined,
    proxyDns: a.proxyDns as 'local' | 'remote' | undefined,
    zero: a.zeroIo,
    waitMs: secondsToMs(a.wait, '--wait'),
    retries: a.retry,
    sendOnly: a.sendOnly,
    recvOnly: a.recvOnly,
    crlf: a.crlf,
    noShutdown: a.shutdown === false,
    quitAfterEofMs: secondsToMs(a.q, '-q'),
    exitOnEof: a.exitOnEof,
    stdinIsTTY: ctx.stdinIsTTY,
    events: ctx.events,
    tap: ctx.tap,
  });
}
