/**
 * What every command module gets from the command line: the reactor, where
 * events go, the global options, and the place to leave its Deferred.
 *
 * @module
 */

import type { Options } from 'yargs';
import type { Deferred } from '../core/defer.js';
import type { EventSink } from '../core/events.js';
import type { Reactor } from '../core/reactor.js';
import type { RelayOptions } from '../core/relay.js';

/** The global options of SPEC.md, declared once for yargs and for the quick parser (`src/fastparse.ts`). */
export const GLOBAL_OPTIONS = {
  verbose: { alias: 'v', type: 'count', describe: 'more diagnostics on stderr (repeatable)', global: true },
  quiet: { type: 'boolean', describe: 'no warnings or diagnostics, only errors', global: true },
  stats: { type: 'string', describe: 'at exit, print statistics on stderr: table (default) or json', global: true },
  'stats-file': { type: 'string', requiresArg: true, describe: 'write the statistics as JSON to FILE instead', global: true },
  json: { type: 'boolean', describe: 'newline-delimited JSON events on stderr', global: true },
  '4': { type: 'boolean', describe: 'IPv4 only', global: true },
  '6': { type: 'boolean', describe: 'IPv6 only', global: true },
  timeout: { alias: 'w', type: 'number', requiresArg: true, describe: 'connect timeout in seconds', global: true },
  'idle-timeout': { alias: 'i', type: 'number', requiresArg: true, describe: 'close after SECS with no data either way (exit 3)', global: true },
  'hex-dump': { alias: 'x', type: 'string', describe: 'trace both directions as hex on stderr, or --hex-dump=FILE', global: true },
  color: { type: 'boolean', describe: 'colour on stderr (--no-color, NO_COLOR and FORCE_COLOR are honoured)', global: true },
  checksum: { type: 'boolean', describe: 'SHA-256 of the bytes sent and received on each connection (-v, --stats, --json)', global: true },
} satisfies Record<string, Options>;

/** Global options that exclude each other. */
export const GLOBAL_CONFLICTS = [['4', '6']] as const;

/** The global options of SPEC.md, parsed. */
export interface GlobalOptions {
  verbose: number;
  quiet: boolean;
  json: boolean;
  family: 4 | 6 | undefined;
  /** `-w`, in ms. */
  timeoutMs: number | undefined;
  /** `-i`, in ms. */
  idleTimeoutMs: number | undefined;
}

/** Handed to each command's `run`. */
export interface CommandContext {
  reactor: Reactor;
  events: EventSink;
  globals: GlobalOptions;
  /** `-x`: each chunk relayed, or undefined when off. */
  tap: RelayOptions['tap'] | undefined;
  /** Whether stdin is a terminal. */
  stdinIsTTY: boolean;
  /** The command's outcome: its Deferred of an exit code. */
  pending: Deferred<number> | undefined;
  /** The subcommand's name, for error lines. */
  name: string;
}
