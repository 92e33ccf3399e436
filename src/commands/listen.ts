/**
 * `wirecat listen [HOST] PORT`: nc -l, and ncat's many-client modes.
 *
 * @module
 */

import { createWriteStream, openSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Argv } from 'yargs';
import { parsePort } from '../core/address.js';
import { UsageError } from '../core/errors.js';
import { type ListenSessionOptions, netcatListen } from '../core/netcat.js';
import type { Deferred } from '../core/defer.js';
import { type EphemeralCertificate, ephemeralCertificate, tlsOptionsFrom } from '../core/tls.js';
import type { CommandContext } from './context.js';
import { stripBrackets } from './flags.js';

export const command = 'listen [host] [port]';
export const describe = 'Listen on [HOST] PORT and bridge the connection with stdio (nc -l)';

/** The flags of `listen`. */
export interface ListenArgs {
  host?: string;
  port?: string;
  keepOpen?: boolean;
  exec?: string;
  shExec?: string;
  broker?: boolean;
  chat?: boolean;
  echo?: boolean;
  maxConns?: number;
  allow?: string;
  deny?: string;
  sendOnly?: boolean;
  recvOnly?: boolean;
  output?: string;
  udp?: boolean;
  tls?: boolean;
  cert?: string;
  key?: string;
  crlf?: boolean;
}

export function builder(y: Argv): Argv {
  return y
    .positional('host', { type: 'string', describe: 'address to bind (default: all); with one argument, the port' })
    .positional('port', { type: 'string', describe: 'port (0: pick a free one and report it)' })
    .option('keep-open', { alias: 'k', type: 'boolean', describe: 'accept many connections; stdin goes to all, all go to stdout' })
    .option('exec', { alias: 'e', type: 'string', requiresArg: true, describe: 'run CMD (no shell) per connection, wired to it' })
    .option('sh-exec', { alias: 'c', type: 'string', requiresArg: true, describe: 'run CMD with /bin/sh per connection' })
    .option('broker', { type: 'boolean', describe: "relay each client's data to every other client" })
    .option('chat', { type: 'boolean', describe: 'a chat server: broker with <userN> prefixes' })
    .option('echo', { type: 'boolean', describe: 'echo each client back to itself' })
    .option('max-conns', { alias: 'm', type: 'number', requiresArg: true, describe: 'at most N clients at once; more are closed' })
    .option('allow', { type: 'string', requiresArg: true, describe: 'only these clients (IPs, CIDRs, comma-separated)' })
    .option('deny', { type: 'string', requiresArg: true, describe: 'not these clients (deny wins)' })
    .option('send-only', { type: 'boolean', describe: 'only send stdin; discard what clients send' })
    .option('recv-only', { type: 'boolean', describe: 'only receive; do not read stdin' })
    .option('output', { alias: 'o', type: 'string', requiresArg: true, describe: "also write what clients send to FILE" })
    .option('udp', { alias: 'u', type: 'boolean', describe: 'UDP: datagrams to stdout, stdin to the last sender' })
    .option('tls', { type: 'boolean', describe: 'TLS; without --cert/--key an ephemeral self-signed certificate' })
    .option('cert', { type: 'string', requiresArg: true, describe: 'TLS certificate (PEM)' })
    .option('key', { type: 'string', requiresArg: true, describe: 'TLS key (PEM)' })
    .option('crlf', { alias: 'C', type: 'boolean', describe: 'send LF line endings from stdin as CRLF' })
    .conflicts('send-only', 'recv-only')
    .conflicts('exec', 'sh-exec')
    .example('$0 listen 8080', 'accept one connection on port 8080')
    .example('$0 listen -k --echo 127.0.0.1 7', 'an echo server')
    .example('$0 listen 9000 > file', 'receive a file')
    .example('$0 -v listen 0', 'any free port; -v tells which')
    .example('$0 listen -k --sh-exec "date" 1313', 'a date server');
}

/**
 * Open `-o FILE` now, so that a bad path is one line and exit 2; a write
 * error later is a warning, not a crash.
 */
function openOutput(ctx: CommandContext, path: string): Writable {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot open '${path}' for writing (-o): ${code === 'ENOENT' ? 'no such directory' : (code ?? (e as Error).message)}`);
  }
  const out = createWriteStream('', { fd });
  let warned = false;
  out.on('error', (e) => {
    if (warned) return;
    warned = true;
    ctx.events.emit({ event: 'warning', message: `-o ${path}: ${e.message}; session data is no longer written there` });
  });
  return out;
}

export function run(ctx: CommandContext, a: ListenArgs): void {
  // listen PORT | listen HOST PORT
  let host = a.host;
  let portText = a.port;
  if (portText === undefined) {
    portText = host;
    host = undefined;
  }
  if (portText === undefined) throw new UsageError('missing port (listen [HOST] PORT)');
  const port = parsePort(String(portText), 'port', { allowZero: true });
  const modes = [a.exec !== undefined || a.shExec !== undefined, a.broker, a.chat, a.echo].filter(Boolean).length;
  if (modes > 1) throw new UsageError('choose one of --exec/--sh-exec, --broker, --chat, --echo');
  if (a.udp && (modes > 0 || a.tls)) throw new UsageError('-u cannot be combined with --exec, --broker, --chat, --echo or --tls');
  if (a.maxConns !== undefined && !(Number.isInteger(a.maxConns) && a.maxConns >= 1)) {
    throw new UsageError(`--max-conns needs a whole number >= 1, not '${a.maxConns}'`);
  }
  let exec: ListenSessionOptions['exec'];
  if (a.exec !== undefined) {
    const words = a.exec.trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) throw new UsageError('--exec needs a command');
    exec = { file: words[0]!, args: words.slice(1) };
  } else if (a.shExec !== undefined) {
    exec = { file: '/bin/sh', args: ['-c', a.shExec] };
  }
  const opts: ListenSessionOptions = {
    host: host === undefined ? undefined : stripBrackets(host),
    port,
    family: ctx.globals.family,
    udp: a.udp,
    keepOpen: a.keepOpen,
    mode: exec ? 'exec' : a.broker ? 'broker' : a.chat ? 'chat' : a.echo ? 'echo' : 'stdio',
    exec,
    maxConns: a.maxConns,
    allow: a.allow,
    deny: a.deny,
    sendOnly: a.sendOnly,
    recvOnly: a.recvOnly,
    crlf: a.crlf,
    output: a.output !== undefined ? openOutput(ctx, a.output) : undefined,
    idleTimeoutMs: ctx.globals.idleTimeoutMs,
    events: ctx.events,
    tap: ctx.tap,
  };
  if (!(a.tls || a.cert !== undefined || a.key !== undefined)) {
    ctx.pending = netcatListen(ctx.reactor, opts);
  } else if (a.cert !== undefined || a.key !== undefined) {
    ctx.pending = netcatListen(ctx.reactor, { ...opts, tls: tlsOptionsFrom({ cert: a.cert, key: a.key }) });
  } else {
    ctx.pending = ephemeralCertificate(host ?? 'localhost').addCallback((eph: EphemeralCertificate) => {
      ctx.events.emit({ event: 'warning', message: `TLS with an ephemeral self-signed certificate, SHA-256 fingerprint ${eph.fingerprint256}` });
      return netcatListen(ctx.reactor, { ...opts, tls: { cert: eph.cert, key: eph.key } });
    }) as unknown as Deferred<number>;
  }
}
