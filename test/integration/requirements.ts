/**
 * Support for the reactor's integration tests that need something from the
 * machine (root, a program, a kernel feature): checks that say why not,
 * a skip that is printed and never allowed under CI, and bounded waits.
 */
import { spawnSync } from 'node:child_process';
import { type RunResult, type SpawnOptions, spawnToEnd } from './helpers.js';

/** Whether the CI environment variable is set: then nothing may skip. */
export const IN_CI = Boolean(process.env.CI);

/**
 * Why a program cannot be used, or undefined when it is on PATH.
 *
 * @param program The command name.
 * @param pkg The Debian package that provides it.
 * @returns The reason, naming the package.
 */
export function missingProgram(program: string, pkg: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `'${program}' not found on PATH (Debian package: ${pkg})`;
}

/**
 * Decide whether a group of tests skips. Prints the reason when it does.
 * Under CI it never skips: the group runs, and {@link assertRunnable}
 * fails it with the reason.
 *
 * @param label What would be skipped.
 * @param reason Why, or undefined when everything is there.
 * @returns True to skip.
 */
export function shouldSkip(label: string, reason: string | undefined): boolean {
  if (reason === undefined || IN_CI) return false;
  console.warn(`[skipped] ${label}: ${reason}`);
  return true;
}

/**
 * Fail (under CI) when a requirement is missing.
 *
 * @param label What cannot run.
 * @param reason Why, or undefined.
 * @throws {Error} When `reason` is set.
 */
export function assertRunnable(label: string, reason: string | undefined): void {
  if (reason !== undefined) throw new Error(`${label} cannot run${IN_CI ? ' (CI is set, so this is a failure, not a skip)' : ''}: ${reason}`);
}

/** A one-shot event that can be awaited. */
export class Signal<T = void> {
  readonly promise: Promise<T>;
  fired = false;
  value: T | undefined = undefined;
  private _resolve!: (v: T) => void;
  constructor() {
    this.promise = new Promise<T>((resolve) => {
      this._resolve = resolve;
    });
  }
  fire(v: T): void {
    if (this.fired) return;
    this.fired = true;
    this.value = v;
    this._resolve(v);
  }
}

/**
 * Wait for `p`, failing with a message naming `what` after `ms`.
 *
 * @param p What to wait for.
 * @param what Its description, for the failure message.
 * @param ms The limit (default 5 s).
 * @returns What `p` resolved to.
 */
export async function within<T>(p: PromiseLike<T>, what: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([Promise.resolve(p), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolve once `cond()` holds, checking whenever `poke` is called; fails
 * after `ms`. Used with protocols that call `poke` on every event.
 */
export class Condition {
  private _waiters: { cond: () => boolean; s: Signal<void> }[] = [];
  /** Re-check every waiter (call after each recorded event). */
  poke(): void {
    this._waiters = this._waiters.filter((w) => {
      if (!w.cond()) return true;
      w.s.fire();
      return false;
    });
  }
  /**
   * @param cond The condition.
   * @param what Its description.
   * @param ms The limit.
   */
  wait(cond: () => boolean, what: string, ms = 5000): Promise<void> {
    if (cond()) return Promise.resolve();
    const s = new Signal<void>();
    this._waiters.push({ cond, s });
    return within(s.promise, what, ms);
  }
}

/** What a finished program left behind. */
export type ProgramResult = RunResult;

/**
 * Run a program to its end with a hard time limit. Unlike a bare spawn, a
 * program that exits without reading its stdin is not an error (EPIPE on
 * our end of the pipe is ignored).
 *
 * @param file The program.
 * @param args Its arguments.
 * @param opts `input` for stdin, `cwd`, `env` additions, `timeoutMs` (default 10 s).
 * @returns Exit code, signal, stdout and stderr.
 */
export function runProgram(file: string, args: string[], opts: SpawnOptions = {}): Promise<ProgramResult> {
  return spawnToEnd(file, args, opts, 10_000);
}
