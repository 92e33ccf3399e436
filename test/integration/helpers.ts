/**
 * Helpers for tests that run the built program or the built package in a
 * real child process.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's root folder. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * The command-line entry, as users run it: bin/wirecat, or the program named
 * by $WIRECAT_BIN (.ci/run sets it to the standalone binary, dist/wirecat-linux-x64).
 */
export const WIRECAT = process.env.WIRECAT_BIN ? resolve(process.env.WIRECAT_BIN) : fileURLToPath(new URL('../../bin/wirecat', import.meta.url));

/** What a finished child process left behind. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** What {@link spawnToEnd} takes: stdin `input`, `cwd`, `env` additions, `timeoutMs`. */
export interface SpawnOptions {
  input?: string | Buffer;
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * Run a program to its end, with a hard time limit (past it: SIGKILL and a
 * rejection naming the command and its stderr so far). A program that exits
 * without reading its stdin is not an error (EPIPE on our end is ignored).
 *
 * @param file The executable.
 * @param args Its arguments.
 * @param opts Input, working directory, environment additions, time limit.
 * @param ms The time limit when `opts.timeoutMs` is not given.
 * @returns Exit code, signal, stdout and stderr.
 */
export function spawnToEnd(file: string, args: string[], opts: SpawnOptions, ms: number): Promise<RunResult> {
  const limit = opts.timeoutMs ?? ms;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => undefined);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} ${args.join(' ')} did not finish within ${limit} ms; stderr so far:\n${Buffer.concat(err).toString()}`));
    }, limit);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * Run a program to its end from the project root, without colour, within
 * 15 s unless told otherwise ({@link spawnToEnd}).
 *
 * @param file The executable.
 * @param args Its arguments.
 * @param opts `input` for stdin, `env` additions, `timeoutMs` (default 15 s), `cwd`.
 * @returns Exit code, signal, stdout and stderr.
 */
export function run(file: string, args: string[], opts: SpawnOptions = {}): Promise<RunResult> {
  return spawnToEnd(file, args, { ...opts, cwd: opts.cwd ?? ROOT, env: { NO_COLOR: '1', ...opts.env } }, 15_000);
}

/**
 * Run `bin/wirecat` (or $WIRECAT_BIN) with `args`.
 *
 * @param args Command-line arguments.
 * @param opts As for {@link run}.
 * @returns Exit code, signal, stdout and stderr.
 */
export function wirecat(args: string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  return run(WIRECAT, args, opts);
}
