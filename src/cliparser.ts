/**
 * The command line's yargs parser: the global options, `--help`,
 * `--version`, completion, strictness and the wording of usage errors.
 * Loaded by `src/cli.ts` only when the quick parser (`src/fastparse.ts`)
 * leaves the command line to it.
 *
 * @module
 */

import yargs from 'yargs';
import type { Argv } from 'yargs';
import { GLOBAL_CONFLICTS, GLOBAL_OPTIONS } from './commands/context.js';

/** A subcommand as yargs sees it. */
export interface YargsCommand {
  command: string;
  describe: string;
  builder: (y: Argv) => Argv;
}

/** What {@link parseWithYargs} found. */
export interface YargsResult<C extends YargsCommand> {
  /** The subcommand that was chosen and its arguments, unless yargs only printed (help) or failed. */
  chosen: { module: C; args: Record<string, unknown> } | undefined;
  /** The usage error, if any. */
  failure: string | undefined;
  /** What yargs would print on stdout (help, version, completions). */
  output: string;
}

function _parser<C extends YargsCommand>(argv: string[], commands: C[], version: string, onCommand: (c: C, args: unknown) => void): Argv {
  let y = yargs(argv)
    .scriptName('wirecat')
    .usage('wirecat <command> [options]\n\nA netcat/socat-style network toolkit with statistics and event-loop diagnostics.')
    .version(version)
    .alias('version', 'V')
    .help()
    .alias('help', 'h')
    .strict()
    .demandCommand(1, 'a command is required (see wirecat --help)');
  for (const [key, o] of Object.entries(GLOBAL_OPTIONS)) y = y.option(key, o);
  for (const [a, b] of GLOBAL_CONFLICTS) y = y.conflicts(a, b);
  y = y
    .epilogue(
      'Exit codes: 0 ok, 1 network failure, 2 usage error, 3 timeout, 4 TLS failure, 5 proxy failure, 130/143 interrupted.\nSee man wirecat for every flag.',
    )
    .wrap(Math.min(100, process.stdout.columns || 80));
  for (const c of commands) y = y.command(c.command, c.describe, c.builder, (args) => onCommand(c, args));
  // Listed after the subcommands; both are answered in runCli (the man page, and the binary's completion script, are files/assets).
  return y.completion('completion', 'print a bash/zsh completion script').command('man', 'print the man page (roff): wirecat man > wirecat.1');
}

/**
 * Parse the command line with yargs.
 *
 * @param argv The normalised arguments.
 * @param commands The subcommands to know (the chosen one is enough to parse it; `--help` lists them all).
 * @param version What `--version` prints.
 * @returns The chosen subcommand and its arguments, the usage error, and what to print.
 */
export async function parseWithYargs<C extends YargsCommand>(argv: string[], commands: C[], version: string): Promise<YargsResult<C>> {
  let failure: string | undefined;
  let output = '';
  let chosen: YargsResult<C>['chosen'];
  const y = _parser(argv, commands, version, (module, args) => {
    chosen = { module, args: args as Record<string, unknown> };
  })
    .exitProcess(false)
    .fail((msg: string | null, e: Error | undefined) => {
      failure = msg ?? e?.message ?? 'usage error';
    });
  try {
    await y.parseAsync(argv, {}, (_e: Error | undefined, _parsed: unknown, text: string) => {
      output = text;
    });
  } catch (e) {
    failure ??= e instanceof Error ? e.message : String(e);
  }
  return { chosen, failure, output };
}
