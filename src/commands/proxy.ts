/**
 * `wirecat proxy [--listen [HOST:]PORT]`: a SOCKS4/4a/5 and HTTP proxy on one port.
 *
 * @module
 */

import type { Argv } from 'yargs';
import { DestinationList, DestinationPolicy } from '../core/acl.js';
import { parseHostPort, parsePort, parseProxyUrl, type ProxyUrl } from '../core/address.js';
import { UsageError } from '../core/errors.js';
import { parseAccessList } from '../core/netcat.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, parseUserPass, proxyServer, readAuthFile } from '../core/proxy.js';
import { withDefaultCredentials } from '../core/tunnel.js';
import type { CommandContext } from './context.js';
import { secondsToMs } from './flags.js';

export const command = 'proxy';
export const describe = 'A SOCKS4/4a/5 and HTTP (CONNECT and forwarding) proxy on one port, 127.0.0.1:1080 by default';

/** The flags of `proxy`. */
export interface ProxyArgs {
  listen?: string;
  auth?: string | string[];
  authFile?: string;
  allowDest?: string | string[];
  denyDest?: string | string[];
  allowFrom?: string | string[];
  open?: boolean;
  upstream?: string | string[];
  maxConns?: number;
  handshakeTimeout?: number;
}

export function builder(y: Argv): Argv {
  return y
    .option('listen', { alias: 'l', type: 'string', requiresArg: true, describe: 'where to listen, [HOST:]PORT (default 127.0.0.1:1080; port 0 picks one)' })
    .option('auth', { type: 'string', requiresArg: true, describe: 'require USER:PASS (SOCKS5 RFC 1929, HTTP Basic); repeatable' })
    .option('auth-file', { type: 'string', requiresArg: true, describe: 'require one of the user:pass lines of FILE (# comments)' })
    .option('allow-dest', { type: 'string', requiresArg: true, describe: 'only these destinations: IPs, CIDRs, names, *.domain, each with :PORT or :LO-HI' })
    .option('deny-dest', { type: 'string', requiresArg: true, describe: 'never these destinations (deny wins; checked after resolution too)' })
    .option('allow-from', { type: 'string', requiresArg: true, describe: 'only these clients (IPs, CIDRs)' })
    .option('open', { type: 'boolean', describe: 'allow a non-loopback address without --auth/--auth-file/--allow-from' })
    .option('upstream', { type: 'string', requiresArg: true, describe: 'reach destinations through this proxy URL; repeat to chain' })
    .option('max-conns', { alias: 'm', type: 'number', requiresArg: true, describe: 'at most N tunnels at once; more are answered with a failure' })
    .option('handshake-timeout', { type: 'number', requiresArg: true, describe: `close clients that have not finished their request within SECS (default ${DEFAULT_HANDSHAKE_TIMEOUT_MS / 1000})` })
    .example('$0 proxy', 'SOCKS4/4a/5 and HTTP on 127.0.0.1:1080')
    .example('curl --socks5-hostname 127.0.0.1:1080 http://example.com/', 'use it')
    .example('$0 proxy --listen 0.0.0.0:3128 --auth-file users.txt', 'a public proxy with passwords')
    .example('$0 proxy --deny-dest 10.0.0.0/8,169.254.0.0/16,*.internal --allow-dest "*:80,*:443"', 'web ports only, no internal hosts')
    .example('$0 --json proxy --listen 127.0.0.1:0 --upstream socks5://10.0.0.1:1080', 'chain to another proxy; JSON events on stderr');
}

function _all(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : ([] as string[]).concat(v).map(String);
}

function _list(v: string | string[] | undefined): string | undefined {
  const all = _all(v);
  return all.length === 0 ? undefined : all.join(',');
}

/**
 * Parse `--listen`: `PORT`, `HOST:PORT`, `[V6]:PORT`, or `HOST` alone (port 1080).
 *
 * @param text The flag's value.
 * @returns Host and port.
 */
export function parseListen(text: string | undefined): { host: string; port: number } {
  if (text === undefined) return { host: '127.0.0.1', port: 1080 };
  if (/^\d+$/.test(text)) return { host: '127.0.0.1', port: parsePort(text, 'port', { allowZero: true }) };
  if (text.startsWith(':')) return { host: '0.0.0.0', port: parsePort(text.slice(1), 'port', { allowZero: true }) };
  const hp = parseHostPort(text, { defaultPort: 1080, allowZero: true });
  return { host: hp.host, port: hp.port };
}

export function run(ctx: CommandContext, a: ProxyArgs): void {
  const { host, port } = parseListen(a.listen === undefined ? undefined : String(a.listen));
  let users: Map<string, string> | undefined;
  if (a.authFile !== undefined) users = readAuthFile(String(a.authFile));
  for (const cred of _all(a.auth)) {
    const { user, password } = parseUserPass(String(cred), '--auth');
    (users ??= new Map()).set(user, password);
  }
  if (a.maxConns !== undefined && !(Number.isInteger(a.maxConns) && a.maxConns >= 1)) {
    throw new UsageError(`--max-conns needs a whole number >= 1, not '${a.maxConns}'`);
  }
  const allowDest = _list(a.allowDest);
  const denyDest = _list(a.denyDest);
  const allowFrom = _list(a.allowFrom);
  const envAuth = process.env.WIRECAT_PROXY_AUTH;
  const upstream: ProxyUrl[] = _all(a.upstream).map((u) => withDefaultCredentials(parseProxyUrl(u), envAuth));
  const handshakeTimeoutMs = secondsToMs(a.handshakeTimeout, '--handshake-timeout') ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  ctx.pending = proxyServer(ctx.reactor, {
    host,
    port,
    users,
    policy:
      allowDest !== undefined || denyDest !== undefined
        ? new DestinationPolicy(
            allowDest === undefined ? undefined : DestinationList.parse(allowDest, '--allow-dest'),
            denyDest === undefined ? undefined : DestinationList.parse(denyDest, '--deny-dest'),
          )
        : undefined,
    allowFrom: allowFrom === undefined ? undefined : parseAccessList(allowFrom, '--allow-from'),
    open: a.open,
    upstream: upstream.length > 0 ? upstream : undefined,
    maxConns: a.maxConns,
    handshakeTimeoutMs,
    connectTimeoutMs: ctx.globals.timeoutMs,
    idleTimeoutMs: ctx.globals.idleTimeoutMs,
    family: ctx.globals.family,
    events: ctx.events,
    tap: ctx.tap,
  });
}
