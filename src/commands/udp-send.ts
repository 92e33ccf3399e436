/**
 * `wirecat udp-send HOST PORT [MESSAGE...]`: datagrams to a UDP peer
 * (`nc -u`, statsd and syslog one-liners), paced, with replies on stdout.
 *
 * @module
 */

import type { Argv, Options } from 'yargs';
import { parsePort } from '../core/address.js';
import { UsageError } from '../core/errors.js';
import { udpSend } from '../core/udpsend.js';
import type { CommandContext } from './context.js';
import { secondsToMs, stripBrackets } from './flags.js';

/**
 * The yargs command: `udp-send` and its positionals. PORT is optional in
 * yargs' eyes only: `--wait-reply` takes an optional value, so
 * `--wait-reply HOST PORT` gives it HOST, and `run` moves it back.
 */
export const command = 'udp-send <host> [port] [message..]';
/** One line for `wirecat --help`. */
export const describe = 'Send datagrams: each MESSAGE, or each line of stdin; print replies (nc -u)';

/** Seconds `--wait-reply` waits when given no value. */
export const DEFAULT_WAIT_REPLY_SECS = 2;

/** The flags of `udp-send`. */
export interface UDPSendArgs {
  host: string;
  port?: string;
  message?: string[];
  whole?: boolean;
  hex?: boolean;
  count?: number;
  interval?: number;
  rate?: number;
  broadcast?: boolean;
  ttl?: number;
  sourcePort?: string;
  multicastInterface?: string;
  waitReply?: string;
}

/** The flags of `udp-send`, declared once for yargs and for the quick parser (`src/fastparse.ts`). */
export const options = {
  whole: { type: 'boolean', describe: 'all of stdin is one datagram' },
  hex: { type: 'boolean', describe: "messages (or stdin lines) are hex: 'de ad be ef'" },
  count: { type: 'number', requiresArg: true, describe: 'send the whole set N times' },
  interval: { type: 'number', requiresArg: true, describe: 'MS between datagrams' },
  rate: { type: 'number', requiresArg: true, describe: 'datagrams per second (held against the clock)' },
  broadcast: { alias: 'b', type: 'boolean', describe: 'allow a broadcast destination (SO_BROADCAST)' },
  ttl: { type: 'number', requiresArg: true, describe: 'IP TTL, or multicast TTL for a group (0-255)' },
  'source-port': { alias: 'p', type: 'string', requiresArg: true, describe: 'local port to send from' },
  'multicast-interface': { type: 'string', requiresArg: true, describe: 'interface (address or name) multicast leaves from' },
  'wait-reply': { type: 'string', describe: `wait SECS (default ${DEFAULT_WAIT_REPLY_SECS}) for replies after the last datagram; exit 3 if none` },
} satisfies Record<string, Options>;

/** Flags that exclude each other. */
export const conflicts = [['interval', 'rate']] as const;

/**
 * Declare the flags and examples of `udp-send`.
 *
 * @param y The command's yargs.
 * @returns The same yargs.
 */
export function builder(y: Argv): Argv {
  let c = y
    .usage('$0 udp-send HOST PORT [MESSAGE...]')
    .positional('host', { type: 'string', describe: 'destination: a name, an address, a broadcast or multicast address' })
    .positional('port', { type: 'string', describe: 'destination port' })
    .positional('message', { type: 'string', array: true, describe: 'one datagram each (none: read stdin, one datagram a line)' });
  for (const [key, o] of Object.entries(options)) c = c.option(key, o);
  for (const [a, b] of conflicts) c = c.conflicts(a, b);
  return c
    .example('$0 udp-send 127.0.0.1 8125 "deploys:1|c"', 'a statsd counter')
    .example('echo "<13>$(date "+%b %e %T") $(hostname) app: deployed" | $0 udp-send logs 514', 'a syslog line (RFC 3164)')
    .example('seq 10000 | $0 udp-send --rate 1000 127.0.0.1 9999', '10,000 datagrams at 1,000 a second')
    .example('$0 udp-send --wait-reply 1 --hex 192.0.2.53 53 "$(cat query.hex)"', 'a DNS query; the answer goes to stdout')
    .example('$0 udp-send --ttl 4 239.1.2.3 5000 hello', 'to a multicast group, 4 hops at most');
}

function _isSeconds(text: string): boolean {
  return /^(\d+\.?\d*|\.\d+)$/.test(text);
}

/**
 * Check the flags and start the core's session; its Deferred of the exit code goes to `ctx.pending`.
 *
 * @param ctx The command's context.
 * @param a The parsed flags.
 * @throws {UsageError} For a bad flag value (exit 2).
 */
export function run(ctx: CommandContext, a: UDPSendArgs): void {
  let host = String(a.host);
  let portText = a.port === undefined ? undefined : String(a.port);
  let messages = a.message?.map(String);
  let waitReply = a.waitReply;
  if (waitReply !== undefined && waitReply !== '' && !_isSeconds(waitReply)) {
    // `--wait-reply HOST PORT ...`: the flag took HOST as its value.
    messages = portText === undefined ? messages : [portText, ...(messages ?? [])];
    portText = host;
    host = waitReply;
    waitReply = '';
  }
  if (portText === undefined) throw new UsageError('missing PORT (udp-send HOST PORT [MESSAGE...])');
  const port = parsePort(portText, 'port');
  const waitSecs = waitReply === undefined ? undefined : waitReply === '' ? DEFAULT_WAIT_REPLY_SECS : Number(waitReply);
  if (waitSecs !== undefined && !(waitSecs > 0)) throw new UsageError(`--wait-reply needs a number of seconds > 0, not '${waitReply}'`);
  ctx.pending = udpSend(ctx.reactor, {
    host: stripBrackets(host),
    port,
    family: ctx.globals.family,
    messages: messages !== undefined && messages.length > 0 ? messages : undefined,
    whole: a.whole,
    hex: a.hex,
    count: a.count,
    intervalMs: a.interval,
    rate: a.rate,
    broadcast: a.broadcast,
    ttl: a.ttl,
    sourcePort: a.sourcePort !== undefined ? parsePort(String(a.sourcePort), 'source port') : undefined,
    multicastInterface: a.multicastInterface,
    waitReplyMs: secondsToMs(waitSecs, '--wait-reply'),
    events: ctx.events,
    tap: ctx.tap,
  });
}
