/**
 * {@link Output}: the rendering functions bound to one run's options, the
 * one object `src/cli.ts` holds.
 *
 * @module
 */

import type { DiagnosticsSnapshot } from '../core/diagnostics.js';
import type { WirecatEvent } from '../core/events.js';
import { colorEnabled } from './color.js';
import { formatError } from './errors.js';
import { EventRenderer } from './events.js';
import { createHexDumper } from './hexdump.js';
import { type Spinner, type SpinnerStream, startSpinner } from './spinner.js';
import { renderStatsTable } from './stats.js';

/** A run's output options (the global flags) and, for tests, its streams. */
export interface OutputOptions {
  /** `-v` count. */
  verbosity: number;
  /** `--quiet`. */
  quiet?: boolean;
  /** `--json`. */
  json?: boolean;
  /** `--no-color`. */
  noColorFlag?: boolean;
  /** `--color`. */
  forceColorFlag?: boolean;
  /** The diagnostics stream (TTY detection, spinner); `process.stderr` by default. */
  stream?: SpinnerStream;
  /** Where diagnostics are written; `stream.write` by default. */
  write?: (s: string) => void;
  /** The environment; `process.env` by default. */
  env?: Record<string, string | undefined>;
  /** The clock for `--json` time stamps. */
  now?: () => Date;
}

/**
 * One run's rendering on stderr: events, statistics, hex dumps, the spinner,
 * error lines and the core's log, all with the colour decided once.
 *
 * @example
 * const out = new Output({ verbosity: argv.verbose, quiet: argv.quiet, json: argv.json, noColorFlag: argv.color === false });
 * setLogger((m) => out.log(m));
 * const events = { emit: (ev) => out.event(ev) };
 */
export class Output {
  /** Whether stderr gets ANSI colour (never with `--json`). */
  readonly color: boolean;
  private readonly _opts: OutputOptions;
  private readonly _stream: SpinnerStream;
  private readonly _write: (s: string) => void;
  private readonly _renderer: EventRenderer;

  /**
   * @param opts The global flags and, optionally, the stream, writer, environment and clock.
   */
  constructor(opts: OutputOptions) {
    this._opts = opts;
    this._stream = opts.stream ?? process.stderr;
    const stream = this._stream;
    this._write = opts.write ?? ((s) => void stream.write(s));
    this.color =
      opts.json !== true &&
      colorEnabled({ stream, noColorFlag: opts.noColorFlag, forceColorFlag: opts.forceColorFlag, env: opts.env });
    this._renderer = new EventRenderer({
      verbosity: opts.verbosity,
      quiet: opts.quiet,
      json: opts.json === true,
      color: this.color,
      write: this._write,
      now: opts.now,
    });
  }

  /**
   * Render one event (see `formatEvent()` / `formatEventJson()`).
   *
   * @param ev The event.
   */
  event(ev: WirecatEvent): void {
    this._renderer.emit(ev);
  }

  /**
   * Whether {@link Output.event} shows events of this kind (`EventSink.wants`).
   *
   * @param event The kind.
   * @returns False when such events are dropped.
   */
  wants(event: WirecatEvent['event']): boolean {
    return this._renderer.wants(event);
  }

  /**
   * With `--json`, the `stats` event; otherwise nothing.
   *
   * @param snap The figures.
   */
  stats(snap: DiagnosticsSnapshot): void {
    this._renderer.emitStats(snap);
  }

  /**
   * The `--stats table` text (loads cli-table3 on first use).
   *
   * @param snap The figures.
   * @returns The tables, ending in `\n`.
   */
  statsTable(snap: DiagnosticsSnapshot): Promise<string> {
    return renderStatsTable(snap, { color: this.color });
  }

  /**
   * The core's log (`setLogger`), such as an unhandled Deferred failure:
   * shown even with `--quiet`, like errors; with `--json` it becomes a
   * `warning` event so stderr stays NDJSON.
   *
   * @param message One message, possibly several lines.
   */
  log(message: string): void {
    const text = message.replace(/\n+$/, '');
    if (this._opts.json === true) {
      this._renderer.emit({ event: 'warning', message: text });
      return;
    }
    try {
      this._write(`wirecat: ${text}\n`);
    } catch {
      // stderr is gone; nothing else to tell.
    }
  }

  /**
   * The hex dumper for a relay's tap: `'a'` (stdin, or the first address) →
   * `>` sent, `'b'` (the network, or the second address) → `<` received.
   *
   * @param write Where the dump goes (stderr or the `-x FILE`).
   * @param opts `color` (off by default: the dump often goes to a file).
   * @returns The tap.
   */
  hexDumper(write: (s: string) => void, opts: { color?: boolean } = {}): (from: 'a' | 'b', chunk: Buffer) => void {
    const dump = createHexDumper({ write, color: opts.color === true, now: this._opts.now });
    return (from, chunk) => dump(from === 'a' ? '>' : '<', chunk);
  }

  /**
   * The error line (see `formatError()`), coloured as stderr is.
   *
   * @param subcommand The subcommand, if known.
   * @param err What was thrown.
   * @returns The text, ending in `\n`.
   */
  errorLine(subcommand: string | undefined, err: unknown): string {
    return formatError(subcommand, err, { verbosity: this._opts.verbosity, color: this.color });
  }

  /**
   * A spinner on stderr, or the no-op one with `--quiet`, `--json`, no TTY,
   * or `CI` set (see `startSpinner()`).
   *
   * @param text What it shows.
   * @returns The spinner.
   */
  spinner(text: string): Promise<Spinner> {
    return startSpinner(text, {
      stream: this._stream,
      enabled: this._opts.quiet !== true && this._opts.json !== true,
      env: this._opts.env,
      color: this.color,
    });
  }
}
