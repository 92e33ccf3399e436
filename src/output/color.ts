/**
 * Colour policy: whether diagnostics on a stream get ANSI colour, decided
 * once from the flag, the environment and the stream, and a private chalk
 * instance per decision (the global chalk is never touched).
 *
 * @module
 */

import { Chalk, type ChalkInstance } from 'chalk';

/** What {@link colorEnabled} looks at. */
export interface ColorPolicyOptions {
  /** The stream the coloured text goes to (stderr for diagnostics). */
  stream: { isTTY?: boolean };
  /** `--no-color` was given. */
  noColorFlag?: boolean;
  /** `--color` was given: colour even without a TTY, whatever the environment says. */
  forceColorFlag?: boolean;
  /** The environment; defaults to `process.env`. */
  env?: Record<string, string | undefined>;
}

/**
 * Whether to colour what goes to `stream`.
 *
 * In order: `--no-color` disables and `--color` enables (an explicit flag
 * beats the environment; `--no-color` wins if both are somehow given);
 * `FORCE_COLOR=0` or `false` disables; `FORCE_COLOR` empty, `true` or a
 * positive integer (`1`, `2`, `3`) enables even without a TTY and wins over
 * `NO_COLOR`; `NO_COLOR` present with any value (empty too) disables;
 * otherwise colour only when the stream is a TTY and `TERM` is not `dumb`.
 * Any other `FORCE_COLOR` value (`yes`, `-1`) is ignored.
 *
 * @param opts The stream, the flag and the environment.
 * @returns `true` to colour.
 * @example
 * const color = colorEnabled({ stream: process.stderr, noColorFlag: argv.color === false });
 */
export function colorEnabled(opts: ColorPolicyOptions): boolean {
  if (opts.noColorFlag === true) return false;
  if (opts.forceColorFlag === true) return true;
  const env = opts.env ?? process.env;
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    const f = force.trim().toLowerCase();
    if (f === '0' || f === 'false') return false;
    if (f === '' || f === 'true' || /^[1-9]\d*$/.test(f)) return true;
  }
  if (env.NO_COLOR !== undefined) return false;
  return opts.stream.isTTY === true && env.TERM !== 'dumb';
}

const _plain = new Chalk({ level: 0 });
const _basic = new Chalk({ level: 1 });

/**
 * A chalk instance for a colour decision: 16 colours or none, which is all
 * the CLI uses (dim, bold, green, yellow, red).
 *
 * @param color The decision of {@link colorEnabled}.
 * @returns A private chalk instance.
 */
export function _chalkFor(color: boolean): ChalkInstance {
  return color ? _basic : _plain;
}
