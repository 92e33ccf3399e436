/**
 * `wirecat multicast-join GROUP PORT`: join an IP multicast group and print
 * what arrives (socat's `ip-add-membership`, as a subcommand).
 *
 * @module
 */

import type { Argv } from 'yargs';
import { parsePort } from '../core/address.js';
import { UsageError } from '../core/errors.js';
import { multicastJoin } from '../core/multicast.js';
import type { CommandContext } from './context.js';
import { stripBrackets } from './flags.js';

/** The yargs command: `multicast-join` and its positionals. */
export const command = 'multicast-join <group> <port>';
/** One line for `wirecat --help`. */
export const describe = 'Join a multicast GROUP (IPv4 or IPv6) and print the datagrams sent to PORT';

/** The flags of `multicast-join`. */
export interface MulticastJoinArgs {
  group: string;
  port: string;
  interface?: string;
  source?: string;
  count?: number;
  format?: string;
  reply?: string;
}

/**
 * Declare the flags and examples of `multicast-join`.
 *
 * @param y The command's yargs.
 * @returns The same yargs.
 */
export function builder(y: Argv): Argv {
  return y
    .positional('group', { type: 'string', describe: 'the group: 224.0.0.0/4 or ff00::/8' })
    .positional('port', { type: 'string', describe: 'the UDP port the group is sent to' })
    .option('interface', { type: 'string', requiresArg: true, describe: 'join on this interface: an address or a name (lo, eth0)' })
    .option('source', { type: 'string', requiresArg: true, describe: 'source-specific: only datagrams from this sender' })
    .option('count', { type: 'number', requiresArg: true, describe: 'exit 0 after N datagrams' })
    .option('timeout', {
      type: 'number',
      requiresArg: true,
      describe: 'stop after SECS: exit 3 unless --count datagrams (without --count: any) arrived',
    })
    .option('format', { type: 'string', choices: ['raw', 'line'], describe: 'raw: payload only (default); line: time, source and payload a line' })
    .option('reply', { type: 'string', requiresArg: true, describe: 'answer each datagram with MESSAGE, to its sender' })
    .example('$0 multicast-join 239.1.2.3 5000', 'watch a feed: payloads to stdout')
    .example('$0 multicast-join --format line --interface eth0 239.1.2.3 5000', 'with time stamps and senders, joined on eth0')
    .example('$0 multicast-join --source 192.0.2.10 232.1.1.1 5000', 'source-specific multicast')
    .example('$0 multicast-join --count 1 -w 5 239.1.2.3 5000 >/dev/null', 'CI: is the feed alive? (exit 3 if silent for 5 s)')
    .example('$0 multicast-join ff15::1234 5000 --interface eth0', 'an IPv6 group');
}

/**
 * Check the flags and start the core's session; its Deferred of the exit code goes to `ctx.pending`.
 *
 * @param ctx The command's context.
 * @param a The parsed flags.
 * @throws {UsageError} For a bad flag value (exit 2).
 */
export function run(ctx: CommandContext, a: MulticastJoinArgs): void {
  const port = parsePort(String(a.port), 'port');
  if (a.format !== undefined && a.format !== 'raw' && a.format !== 'line') throw new UsageError(`--format takes raw or line, not '${a.format}'`);
  ctx.pending = multicastJoin(ctx.reactor, {
    group: stripBrackets(String(a.group)),
    port,
    family: ctx.globals.family,
    interface: a.interface,
    source: a.source !== undefined ? stripBrackets(a.source) : undefined,
    count: a.count,
    timeoutMs: ctx.globals.timeoutMs,
    idleTimeoutMs: ctx.globals.idleTimeoutMs,
    format: a.format as 'raw' | 'line' | undefined,
    reply: a.reply,
    events: ctx.events,
    tap: ctx.tap,
  });
}
