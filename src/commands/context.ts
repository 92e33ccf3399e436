/**
 * What every command module gets from the command line: the reactor, where
 * events go, the global options, and the place to leave its Deferred.
 *
 * @module
 */

import type { Deferred } from '../core/defer.js';
import type { EventSink } from '../core/events.js';
import type { Reactor } from '../core/reactor.js';
import type { RelayOptions } from '../core/relay.js';

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
