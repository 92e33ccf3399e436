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

/**
 * Run a program to its end, with a hard time limit.
 *
 * @param file The executable.
 * @param args Its arguments.
 * @param opts `input` for stdin, `env` additions, `timeoutMs` (default 15 s).
 * @returns Exit code, signal, stdout and stderr.
 */
export function run(
  file: string,
  args: string[],
  opts: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 15000} ms`));
    }, opts.timeoutMs ?? 15000);
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
 * Run `bin/wirecat` (or $WIRECAT_BIN) with `args`.
 *
 * @param args Command-line arguments.
 * @param opts As for {@link run}.
 * @returns Exit code, signal, stdout and stderr.
 */
export function wirecat(args: string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  return run(WIRECAT, args, opts);
}
