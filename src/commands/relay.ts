/**
 * `wirecat relay ADDRESS ADDRESS`: socat's two-address relay.
 *
 * @module
 */

import type { Argv } from 'yargs';
import { addressTypesTable, dumpAddress, parseAddress } from '../core/address.js';
import { bridge } from '../core/bridge.js';
import { UsageError } from '../core/errors.js';
import type { CommandContext } from './context.js';
import { secondsToMs } from './flags.js';

export const command = 'relay <left> <right>';
export const describe = 'Relay between two addresses, both ways (socat ADDRESS ADDRESS)';

/** The flags of `relay`. */
export interface RelayArgs {
  left: string;
  right: string;
  u?: boolean;
  U?: boolean;
  T?: number;
  dumpAddress?: boolean;
}

export function builder(y: Argv): Argv {
  const types = addressTypesTable()
    .map((t) => `  ${t.syntax.padEnd(38)} ${t.help}`)
    .join('\n');
  return y
    .positional('left', { type: 'string', describe: 'first address (opened first; put fork on it to serve many)' })
    .positional('right', { type: 'string', describe: 'second address' })
    .option('u', { type: 'boolean', describe: 'one way: left to right only' })
    .option('U', { type: 'boolean', describe: 'one way: right to left only' })
    .option('T', { type: 'number', requiresArg: true, describe: 'close a pair after SECS with no data (exit 3)' })
    .option('dump-address', { type: 'boolean', describe: 'print what the addresses parse into (JSON) and exit' })
    .conflicts('u', 'U')
    .example('$0 relay TCP-LISTEN:8080,fork,reuseaddr TCP:127.0.0.1:80', 'a port forwarder, one backend connection per client')
    .example('$0 relay - tcp:example.com:80', 'stdio to a TCP server (like nc)')
    .example('$0 relay unix-listen:/tmp/s.sock,fork exec:cat', 'an echo service on a Unix socket')
    .example("$0 relay tcp-listen:2222 'system:ssh -W host:22 jump'", 'a port through a command')
    .epilogue(`Address types (TYPE:PARAMS[,option[=value]...], case-insensitive, socat spellings accepted):\n${types}`);
}

export function run(ctx: CommandContext, a: RelayArgs): void {
  const left = parseAddress(String(a.left));
  const right = parseAddress(String(a.right));
  if (a.dumpAddress) {
    process.stdout.write(`${JSON.stringify({ left: dumpAddress(left), right: dumpAddress(right) }, null, 2)}\n`);
    return;
  }
  if (left.type === 'stdio' && right.type === 'stdio') throw new UsageError('both addresses are stdio: nothing to relay');
  ctx.pending = bridge(ctx.reactor, left, right, {
    direction: a.u ? 'a-to-b' : a.U ? 'b-to-a' : 'both',
    idleTimeoutMs: secondsToMs(a.T, '-T') ?? ctx.globals.idleTimeoutMs,
    connectTimeoutMs: ctx.globals.timeoutMs,
    family: ctx.globals.family,
    events: ctx.events,
    tap: ctx.tap,
    proxyAuth: process.env.WIRECAT_PROXY_AUTH,
  });
}
