/**
 * The subcommands by name, in the order `--help` lists them. Each module
 * (and the part of the core it needs) is loaded only when its command runs.
 * bin/build-cli.mjs reads this list to build one bundle per command.
 *
 * @module
 */

import type { Argv, Options } from 'yargs';
import type { CommandContext } from './context.js';

/** A subcommand's module. */
export interface CommandModule {
  command: string;
  describe: string;
  builder: (y: Argv) => Argv;
  run: (ctx: CommandContext, args: any) => void;
  /** The flags as a table, for the quick parser (src/fastparse.ts); commands without it always go through yargs. */
  options?: Record<string, Options>;
  conflicts?: readonly (readonly [string, string])[];
}

/** Each subcommand's module, loaded on first use. */
export const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  connect: () => import('./connect.js'),
  listen: () => import('./listen.js'),
  relay: () => import('./relay.js'),
  unix: () => import('./unix.js'),
  'udp-send': () => import('./udp-send.js'),
  'multicast-join': () => import('./multicast-join.js'),
  'tls-client': () => import('./tls-client.js'),
  proxy: () => import('./proxy.js'),
};
