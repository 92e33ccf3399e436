/**
 * The command line: yargs, global options, one-line errors and exit codes.
 *
 * Everything the user sees that is not payload is decided here; the
 * subcommands in `src/commands` are thin, and the core never prints.
 *
 * @module
 */

import yargs from 'yargs';
import type { Argv } from 'yargs';

import { ExitCode } from './core/errors.js';

export { ExitCode, UsageError, exitCodeFor } from './core/errors.js';

declare const __WIRECAT_VERSION__: string | undefined;

/** The subcommands; each arrives with its issue. */
const COMMANDS: { name: string; describe: string }[] = [];

function version(): string {
  return typeof __WIRECAT_VERSION__ === 'string' ? __WIRECAT_VERSION__ : '0.0.0-dev';
}

function errorLine(subcommand: string | undefined, message: string): string {
  const first = message.split('\n')[0];
  return subcommand ? `wirecat: ${subcommand}: ${first}\n` : `wirecat: ${first}\n`;
}

function parser(argv: string[]): Argv {
  return yargs(argv)
    .scriptName('wirecat')
    .usage('wirecat <command> [options]\n\nA netcat/socat-style network toolkit with statistics and event-loop diagnostics.')
    .version(version())
    .alias('version', 'V')
    .help()
    .alias('help', 'h')
    .strict()
    .demandCommand(1, 'a command is required (see wirecat --help)')
    .epilogue('Exit codes: 0 ok, 1 network failure, 2 usage error, 3 timeout, 4 TLS failure, 5 proxy failure.')
    .wrap(Math.min(100, process.stdout.columns || 80));
}

/**
 * Run the command line and give the exit code; never calls `process.exit`.
 *
 * @param argv The arguments after the program name.
 * @param out Where `--help` and `--version` go (stdout).
 * @param err Where diagnostics and errors go (stderr).
 * @returns The exit code.
 */
export async function main(
  argv: string[],
  out: (s: string) => void = (s) => void process.stdout.write(s),
  err: (s: string) => void = (s) => void process.stderr.write(s),
): Promise<number> {
  const first = argv.find((a) => !a.startsWith('-'));
  if (first !== undefined && first !== 'help' && !COMMANDS.some((c) => c.name === first)) {
    err(errorLine(undefined, `unknown command '${first}' (see 'wirecat --help')`));
    return ExitCode.USAGE;
  }
  let failure: string | undefined;
  let output = '';
  await parser(argv)
    .exitProcess(false)
    .fail((msg: string | null, e: Error | undefined) => {
      failure = msg ?? e?.message ?? 'usage error';
    })
    .parseAsync(argv, {}, (_e: Error | undefined, _parsed: unknown, text: string) => {
      output = text;
    })
    .catch((e: unknown) => {
      failure ??= e instanceof Error ? e.message : String(e);
    });
  if (failure !== undefined) {
    err(errorLine(undefined, failure));
    return ExitCode.USAGE;
  }
  if (output) out(output.endsWith('\n') ? output : `${output}\n`);
  return ExitCode.OK;
}
