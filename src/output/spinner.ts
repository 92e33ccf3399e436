/**
 * The ora spinner for waits (`--wait`, `tls-client --check`...), on stderr
 * only when it is a TTY and `CI` is not set, and never swallowing stdin.
 *
 * ora is loaded only when a spinner actually starts.
 *
 * @module
 */

import { _chalkFor } from './color.js';

/** A running spinner, or the no-op one. */
export interface Spinner {
  /** Whether it draws anything (false for the no-op one). */
  readonly enabled: boolean;
  /** Change the text while it spins. */
  update(text: string): void;
  /** Stop with a success mark and `text` (the last text by default). */
  succeed(text?: string): void;
  /** Stop with a failure mark and `text` (the last text by default). */
  fail(text?: string): void;
  /** Stop and clear the line. */
  stop(): void;
  /**
   * Write whole lines (a `-v` event) without garbling the spinner: clear it,
   * write, draw it again. Disabled, it simply writes to the stream.
   */
  log(text: string): void;
}

/** The stream a spinner draws on. */
export type SpinnerStream = NodeJS.WritableStream & { isTTY?: boolean };

/** What {@link spinnerEnabled} looks at. */
export interface SpinnerPolicyOptions {
  /** The stream it would draw on (stderr). */
  stream: { isTTY?: boolean };
  /** The environment; defaults to `process.env`. */
  env?: Record<string, string | undefined>;
}

/** What {@link startSpinner} needs. */
export interface SpinnerOptions {
  /** Where it draws; `process.stderr` by default. */
  stream?: SpinnerStream;
  /**
   * The caller's say: `false` for `--quiet`, `--json`, or while stdin carries
   * data. Even when `true`, it spins only if {@link spinnerEnabled} agrees.
   */
  enabled?: boolean;
  /** The environment; defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** ANSI colour for the spinner and the marks. */
  color?: boolean;
}

/**
 * Whether a spinner may draw: the stream is a TTY, `CI` is not set (any
 * value, as ora's is-interactive) and `TERM` is not `dumb`.
 *
 * @param opts The stream and the environment.
 * @returns `true` when a spinner may draw.
 */
export function spinnerEnabled(opts: SpinnerPolicyOptions): boolean {
  const env = opts.env ?? process.env;
  // A terminal that reports no width (a pty without a window size) makes
  // ora's line clearing loop forever: no spinner there.
  const columns = (opts.stream as { columns?: number }).columns;
  return opts.stream.isTTY === true && env.CI === undefined && env.TERM !== 'dumb' && (columns === undefined || columns > 0);
}

/**
 * Start a spinner showing `text`, or give the no-op one when it must not
 * draw (then ora is not even loaded). ora runs with `discardStdin: false`:
 * its default would put stdin in raw mode and swallow the data a netcat
 * carries.
 *
 * @param text What it shows.
 * @param opts The stream, the caller's say, the environment and colour.
 * @returns The spinner.
 * @example
 * const spin = await startSpinner(`waiting for ${target}`, { enabled: !argv.quiet && !argv.json });
 * // ... spin.update(...); spin.succeed(`${target} is up`);
 */
export async function startSpinner(text: string, opts: SpinnerOptions = {}): Promise<Spinner> {
  const stream = opts.stream ?? process.stderr;
  if (opts.enabled === false || !spinnerEnabled({ stream, env: opts.env })) return _noopSpinner(stream);
  const { default: ora } = await import('ora');
  const c = _chalkFor(opts.color === true);
  const spinner = ora({ text, stream, discardStdin: false, isEnabled: true, color: opts.color === true ? 'cyan' : false }).start();
  let running = true;
  return {
    enabled: true,
    update(t) {
      spinner.text = t;
    },
    succeed(t) {
      if (!running) return;
      running = false;
      spinner.stopAndPersist({ symbol: c.green('✔'), text: t ?? spinner.text });
    },
    fail(t) {
      if (!running) return;
      running = false;
      spinner.stopAndPersist({ symbol: c.red('✖'), text: t ?? spinner.text });
    },
    stop() {
      if (!running) return;
      running = false;
      spinner.stop();
    },
    log(t) {
      if (!running) {
        stream.write(t);
        return;
      }
      spinner.clear();
      stream.write(t);
      spinner.render();
    },
  };
}

function _noopSpinner(stream: SpinnerStream): Spinner {
  return {
    enabled: false,
    update() {},
    succeed() {},
    fail() {},
    stop() {},
    log(t) {
      stream.write(t);
    },
  };
}
