/**
 * The core's logger: where the core reports what has no caller to return
 * to, such as a failed Deferred that was garbage-collected unhandled.
 *
 * The core never prints on its own; this one sink writes to stderr unless
 * the program replaces it with {@link setLogger}.
 *
 * @module
 */

/** A sink for one log message (which may span several lines). */
export type Logger = (message: string) => void;

let _logger: Logger = (message) => {
  process.stderr.write(message.endsWith('\n') ? message : `${message}\n`);
};

/**
 * Replace the core's logger.
 *
 * @param logger The new sink.
 * @returns The previous sink, so a test can put it back.
 * @example
 * const seen: string[] = [];
 * const previous = setLogger((m) => seen.push(m));
 * // ...
 * setLogger(previous);
 */
export function setLogger(logger: Logger): Logger {
  const previous = _logger;
  _logger = logger;
  return previous;
}

/**
 * Write one message to the core's logger.
 *
 * @param message The message; a trailing newline is added when missing.
 */
export function logMessage(message: string): void {
  _logger(message);
}
