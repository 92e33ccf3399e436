/**
 * The one-line error of SPEC.md: `wirecat: <subcommand>: <message>`, with
 * the stack at `-vv`.
 *
 * @module
 */

import { _chalkFor } from './color.js';

/** How {@link formatError} renders. */
export interface ErrorFormatOptions {
  /** `-v` count; at 2 or more the stack (and its causes) follow. */
  verbosity: number;
  /** ANSI colour (the message in red). */
  color?: boolean;
}

/** A core `Failure`, duck-typed as `exitCodeFor()` does. */
interface _FailureLike {
  value: unknown;
  getErrorMessage(): string;
  getTraceback(): string;
}

function _isFailure(err: unknown): err is _FailureLike {
  return (
    err !== null &&
    typeof err === 'object' &&
    'value' in err &&
    typeof (err as { getErrorMessage?: unknown }).getErrorMessage === 'function' &&
    typeof (err as { getTraceback?: unknown }).getTraceback === 'function'
  );
}

function _message(err: unknown): string {
  if (_isFailure(err)) return err.getErrorMessage();
  if (err instanceof Error) return err.message || err.name;
  try {
    return String(err);
  } catch {
    return Object.prototype.toString.call(err);
  }
}

function _stack(err: unknown): string | undefined {
  if (_isFailure(err)) return err.value instanceof Error ? _stack(err.value) : err.getTraceback();
  if (!(err instanceof Error)) return undefined;
  let text = err.stack ?? `${err.name}: ${err.message}`;
  const seen = new Set<unknown>([err]);
  let cause: unknown = err.cause;
  while (cause !== undefined && !seen.has(cause)) {
    seen.add(cause);
    text += `\nCaused by: ${cause instanceof Error ? (cause.stack ?? `${cause.name}: ${cause.message}`) : _message(cause)}`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return text;
}

/**
 * The error line for stderr: `wirecat: connect: Connection refused
 * (attempted address: 127.0.0.1:9)\n`, only the message's first non-empty
 * line; without a subcommand `wirecat: <message>`. With `verbosity >= 2`
 * the stack follows (and each `cause`'s, as `Caused by: ...`).
 *
 * @param subcommand The subcommand, or `undefined` before one is known.
 * @param err What was thrown (an Error, a core Failure, anything).
 * @param opts Verbosity and colour.
 * @returns The text, ending in `\n`.
 */
export function formatError(subcommand: string | undefined, err: unknown, opts: ErrorFormatOptions): string {
  const c = _chalkFor(opts.color === true);
  const first = _message(err).split(/\r?\n/).find((l) => l.trim() !== '') ?? 'unknown error';
  let text = `${c.dim(subcommand ? `wirecat: ${subcommand}:` : 'wirecat:')} ${c.red(first)}\n`;
  if (opts.verbosity >= 2) {
    const stack = _stack(err);
    if (stack !== undefined) text += `${c.dim(stack)}\n`;
  }
  return text;
}
