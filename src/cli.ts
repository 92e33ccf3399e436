/**
 * The command line: yargs, the global options, one-line errors and exit
 * codes, and the rendering of events and statistics on stderr.
 *
 * Everything the user sees that is not payload is decided here; the
 * subcommands in `src/commands` are thin, and the core never prints.
 *
 * @module
 */

import { createWriteStream, writeFileSync } from 'node:fs';
import net from 'node:net';
import type { Options } from 'yargs';
import { type CommandContext, GLOBAL_CONFLICTS, GLOBAL_OPTIONS, type GlobalOptions } from './commands/context.js';
import { COMMANDS, type CommandModule } from './commands/index.js';
import { ExitCode, UsageError, exitCodeFor } from './core/errors.js';
import type { EventSink, WirecatEvent } from './core/events.js';
import { setLogger } from './core/log.js';
import { type Reactor, react, reactor as theReactor } from './core/reactor.js';
import { enableChecksums, snapshot, startLoopMonitor } from './core/diagnostics.js';
import { Output, type Spinner } from './output.js';
import { completionScript, manPage } from './resources.js';
import { parseFast } from './fastparse.js';

export { ExitCode, UsageError, exitCodeFor } from './core/errors.js';
export { COMMANDS } from './commands/index.js';

declare const __WIRECAT_VERSION__: string | undefined;

const COMMAND_NAMES = Object.keys(COMMANDS);

function version(): string {
  return typeof __WIRECAT_VERSION__ === 'string' ? __WIRECAT_VERSION__ : '0.0.0-dev';
}

/**
 * Options that take an optional value (`--stats [table|json]`, `-x [FILE]`)
 * would swallow the next word (`--stats connect`); give them their value
 * only when it is one of theirs.
 */
export function normalizeArgv(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a === '--stats') {
      if (next === 'table' || next === 'json') {
        out.push(`--stats=${next}`);
        i++;
      } else out.push('--stats=table');
    } else if (a === '-x' || a === '--hex-dump') {
      if (next !== undefined && !next.startsWith('-') && !COMMAND_NAMES.includes(next) && /[/.]/.test(next) && net.isIP(next) === 0) {
        out.push(`--hex-dump=${next}`);
        i++;
      } else out.push('--hex-dump=-');
    } else if (a === '-') {
      // yargs reads a lone '-' as a flag; for addresses it means stdio.
      out.push('stdio');
    } else if (a === '--') {
      out.push(...argv.slice(i));
      break;
    } else out.push(a);
  }
  return out;
}

/** Global options whose value is the next word (`-w 5 connect ...`). */
const VALUE_OPTIONS = new Set(['--stats-file', '-w', '--timeout', '-i', '--idle-timeout']);

/** The first word that is not an option or an option's value: the subcommand. */
function firstWord(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return argv[i + 1];
    if (VALUE_OPTIONS.has(a)) {
      i++;
      continue;
    }
    if (!a.startsWith('-')) return a;
  }
  return undefined;
}

interface ParsedGlobals {
  verbose?: number;
  quiet?: boolean;
  stats?: string;
  statsFile?: string;
  json?: boolean;
  '4'?: boolean;
  '6'?: boolean;
  timeout?: number;
  idleTimeout?: number;
  hexDump?: string;
  color?: boolean;
  checksum?: boolean;
  _: (string | number)[];
}

function globalsFrom(a: ParsedGlobals): GlobalOptions {
  const secs = (v: number | undefined, flag: string) => {
    if (v === undefined) return undefined;
    if (!Number.isFinite(v) || v <= 0) throw new UsageError(`${flag} needs a positive number of seconds, not '${String(v)}'`);
    return Math.round(v * 1000);
  };
  return {
    verbose: a.verbose ?? 0,
    quiet: a.quiet ?? false,
    json: a.json ?? false,
    family: a['4'] ? 4 : a['6'] ? 6 : undefined,
    timeoutMs: secs(a.timeout, '-w/--timeout'),
    idleTimeoutMs: secs(a.idleTimeout, '-i/--idle-timeout'),
  };
}

/**
 * While `--wait` retries, a spinner on stderr (a TTY, not CI) tells how long
 * it has waited; `-v` lines are written through it so they do not garble it.
 */
function spinnerSink(out: Output, inner: EventSink, text: string): EventSink & { stop: () => void } {
  let spinner: Spinner | undefined;
  let done = false;
  const started = Date.now();
  void out.spinner(text).then((s) => {
    if (done) s.stop();
    else spinner = s;
  });
  const stop = () => {
    done = true;
    spinner?.stop();
    spinner = undefined;
  };
  return {
    stop,
    emit(ev: WirecatEvent) {
      if (ev.event === 'retry') {
        spinner?.update(`${text} (${((Date.now() - started) / 1000).toFixed(0)} s, attempt ${ev.attempt + 1}: ${ev.reason.replace(/ \(attempted address.*\)$/, '')})`);
      } else if (ev.event === 'connected' || ev.event === 'probe' || ev.event === 'error') {
        stop();
      }
      inner.emit(ev);
    },
  };
}

/**
 * The subcommand a command line runs, when its module alone can parse,
 * explain and run it (not for completion, which lists every command).
 *
 * @param argv The arguments after the program name.
 * @returns The subcommand's name, or undefined.
 */
export function commandOf(argv: string[]): string | undefined {
  const norm = normalizeArgv(argv);
  const first = firstWord(norm);
  if (first === undefined || !COMMAND_NAMES.includes(first) || argv.includes('--get-yargs-completions')) return undefined;
  // Only global options may come before it: another command's flag there
  // (`-o connect listen 9000`) takes the next word as its value, and which
  // word is the command is for yargs, knowing every command, to decide.
  for (let i = 0; i < norm.length && norm[i] !== first; i++) {
    const a = norm[i]!;
    if (VALUE_OPTIONS.has(a)) i++;
    else if (!_GLOBAL_SPELLINGS.has(a.startsWith('--') ? a.split('=')[0]! : a) && !/^-v+$/.test(a)) return undefined;
  }
  return first;
}

/** How the global options may be spelled before the command (`--name`, `--no-name`, `-a`). */
const _GLOBAL_SPELLINGS = new Set(
  Object.entries(GLOBAL_OPTIONS as Record<string, Options>).flatMap(([k, o]) => {
    const names = [k, ...(o.alias === undefined ? [] : Array.isArray(o.alias) ? o.alias : [o.alias])].map((n) => (n.length === 1 ? `-${n}` : `--${n}`));
    return o.type === 'boolean' ? [...names, `--no-${k}`] : names;
  }),
);

/**
 * Run the command line on `reactor` and give the exit code. Errors are
 * printed as one line here; nothing in the program calls `process.exit`
 * but `react()`.
 *
 * @param r The reactor.
 * @param argv The arguments after the program name.
 * @returns The exit code.
 */
export async function runCli(r: Reactor, argv: string[]): Promise<number> {
  const err = (s: string) => void process.stderr.write(s);
  const first = firstWord(normalizeArgv(argv));
  const wantsOnly = argv.includes('--help') || argv.includes('-h') || argv.includes('--version') || argv.includes('-V');
  if (first !== undefined && !wantsOnly && first !== 'help' && first !== 'completion' && first !== 'man' && argv[0] !== '--get-yargs-completions' && !COMMAND_NAMES.includes(first)) {
    err(`wirecat: unknown command '${first}' (see 'wirecat --help')\n`);
    return ExitCode.USAGE;
  }
  // man/wirecat.1, and in the standalone binary the completion script: assets of the executable (src/resources.ts).
  if (first === 'man' && !wantsOnly) {
    process.stdout.write(manPage());
    return ExitCode.OK;
  }
  const script = first === 'completion' && !wantsOnly ? completionScript() : undefined;
  if (script !== undefined) {
    process.stdout.write(script);
    return ExitCode.OK;
  }
  const norm = normalizeArgv(argv);
  // The subcommand's own module is all yargs needs to parse, validate or
  // explain it; the list of every command (`--help`, no command,
  // completion) needs them all.
  const only = commandOf(argv);
  const modules = await Promise.all((only !== undefined ? [only] : COMMAND_NAMES).map((n) => COMMANDS[n]!()));
  let failure: string | undefined;
  let output = '';
  let chosen: { module: CommandModule; args: ParsedGlobals } | undefined;
  // A simple command line of a command with a flag table needs no yargs (see src/fastparse.ts).
  const quick =
    only !== undefined && !wantsOnly && modules[0]!.options !== undefined
      ? parseFast(norm, only, modules[0] as CommandModule & { options: Record<string, Options> }, { options: GLOBAL_OPTIONS, conflicts: GLOBAL_CONFLICTS })
      : undefined;
  if (quick !== undefined) chosen = { module: modules[0]!, args: quick as unknown as ParsedGlobals };
  else {
    const { parseWithYargs } = await import('./cliparser.js');
    const parsed = await parseWithYargs(norm, modules, version());
    ({ failure, output } = parsed);
    if (parsed.chosen !== undefined) chosen = { module: parsed.chosen.module, args: parsed.chosen.args as unknown as ParsedGlobals };
  }
  const subcommand = chosen?.module.command.split(' ')[0];
  if (failure !== undefined) {
    err(`wirecat: ${subcommand ? `${subcommand}: ` : ''}${failure.split('\n')[0]}\n`);
    return ExitCode.USAGE;
  }
  if (output) process.stdout.write(output.endsWith('\n') ? output : `${output}\n`);
  if (chosen === undefined) return ExitCode.OK;

  const a = chosen.args;
  const name = subcommand!;
  let globals: GlobalOptions;
  try {
    globals = globalsFrom(a);
  } catch (e) {
    err(`wirecat: ${name}: ${(e as Error).message}\n`);
    return ExitCode.USAGE;
  }
  const out = new Output({
    verbosity: globals.verbose,
    quiet: globals.quiet,
    json: globals.json,
    noColorFlag: a.color === false,
    forceColorFlag: a.color === true,
  });
  setLogger((m) => out.log(m));
  let events: EventSink & { stop?: () => void } = { emit: (ev: WirecatEvent) => out.event(ev), wants: (e) => out.wants(e) };
  if ((a as { wait?: number }).wait !== undefined) events = spinnerSink(out, events, `waiting for ${String((a as { host?: string }).host)}:${String((a as { port?: string }).port)}`);
  if (a.checksum) enableChecksums();
  const statsMode = a.statsFile !== undefined ? 'file' : a.stats === 'json' ? 'json' : a.stats !== undefined ? 'table' : undefined;
  if (a.stats !== undefined && a.stats !== 'table' && a.stats !== 'json') {
    err(`wirecat: ${name}: --stats takes table or json, not '${a.stats}'\n`);
    return ExitCode.USAGE;
  }
  if (statsMode !== undefined) {
    startLoopMonitor();
    const printStats = async () => {
      const snap = snapshot();
      if (statsMode === 'file') writeFileSync(a.statsFile!, `${JSON.stringify(snap)}\n`);
      else if (statsMode === 'json') err(`${JSON.stringify(snap)}\n`);
      else if (!globals.json) err(await out.statsTable(snap));
      if (globals.json) out.stats(snap);
    };
    r.addSystemEventTrigger('after', 'shutdown', printStats);
    process.on('SIGUSR1', () => void printStats());
  }
  let tap: CommandContext['tap'];
  if (a.hexDump !== undefined) {
    const sink = a.hexDump === '-' || a.hexDump === '' ? process.stderr : createWriteStream(a.hexDump);
    tap = out.hexDumper((s) => void sink.write(s));
  }
  const ctx: CommandContext = {
    reactor: r,
    events,
    globals,
    tap,
    stdinIsTTY: process.stdin.isTTY === true,
    pending: undefined,
    name,
  };
  // With --json, stderr stays NDJSON: an error is an `error` event, not a line.
  const fail = (e: unknown) => {
    events.stop?.();
    if (globals.json) {
      const v = (e as { value?: unknown } | null)?.value instanceof Error ? (e as { value: Error }).value : e;
      out.event({ event: 'error', code: String((v as { code?: unknown }).code ?? 'ERR'), message: (v as Error).message ?? String(v) });
    } else {
      err(out.errorLine(name, e));
    }
    return exitCodeFor(e);
  };
  try {
    chosen.module.run(ctx, a);
  } catch (e) {
    return fail(e);
  }
  if (ctx.pending === undefined) return ExitCode.OK;
  try {
    return await ctx.pending;
  } catch (e) {
    return fail(e);
  }
}

/**
 * The program: run the command line under `react()`, which exits with its code.
 *
 * @param argv The arguments after the program name.
 */
export function main(argv: string[]): void {
  void react((r) => runCli(r as Reactor, argv), argv, { reactor: theReactor });
}
