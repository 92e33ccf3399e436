/**
 * The event sink the CLI hands to the core: `-v` lines in ncat's style, or
 * NDJSON with `--json`.
 *
 * What shows when, without `--json`:
 * - always (unless `--quiet`): `warning`;
 * - `-v`: `listening`, `connected`, `accepted`, `closed` (and its
 *   `sha256 sent`/`sha256 received` lines), `refused`, open `probe`s,
 *   `retry`, `info`;
 * - `-vv`: every `datagram` (closed `probe`s show at `-v`, as with nc -zv);
 * - never: `error` (the CLI prints the error that ends the program, once,
 *   with `formatError()`).
 *
 * With `--json` every event is written, whatever `-v` and `--quiet` say:
 * the events are what was asked for.
 *
 * @module
 */

import type { DiagnosticsSnapshot } from '../core/diagnostics.js';
import type { EventSink, WirecatEvent } from '../core/events.js';
import { _chalkFor } from './color.js';
import { formatBytes, formatDuration } from './units.js';

/** How {@link formatEvent} decides and styles. */
export interface EventFormatOptions {
  /** `-v` count: 0, 1, 2... */
  verbosity: number;
  /** `--quiet`: nothing at all, warnings included. */
  quiet?: boolean;
  /** ANSI colour (see `colorEnabled()`). */
  color: boolean;
}

/** What {@link EventRenderer} needs. */
export interface EventRendererOptions extends EventFormatOptions {
  /** `--json`: NDJSON instead of human lines. */
  json: boolean;
  /** Where the text goes (stderr); called once per event with whole lines. */
  write: (s: string) => void;
  /** The clock for `ts`; defaults to `new Date()`. */
  now?: () => Date;
}

const _PREFIX = 'wirecat: ';

/** nc's wording for the usual reasons a probe fails. */
const _PROBE_REASONS: Record<string, string> = {
  refused: 'Connection refused',
  timeout: 'Connection timed out',
  reset: 'Connection reset by peer',
  unreachable: 'No route to host',
};

/** `host:port`, with an IPv6 host in brackets; a path alone. */
function _hostPort(address: string, port: number | undefined): string {
  if (port === undefined) return address;
  return address.includes(':') && !address.startsWith('[') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * One event as human text for stderr, or `undefined` when this verbosity
 * does not show it.
 *
 * Lines (colour off):
 * - `wirecat: Listening on 0.0.0.0:8080` (`[::]:8080`, or a socket path)
 * - `wirecat: Connected to 127.0.0.1:80 (tcp) in 0.4 ms`, with TLS
 *   `..., TLS handshake 12.0 ms (TLSv1.3, ALPN h2)`
 * - `wirecat: Connection from 127.0.0.1:51234`
 * - `wirecat: Closed 127.0.0.1:51234: 12 B in, 1.2 KiB out, 3.1 s`, then
 *   `, exit status 0` or `, signal SIGTERM` for `--exec` children and
 *   `, error: <why>` when not clean; then `sha256 sent <hex>` and
 *   `sha256 received <hex>` each on its own line, without the prefix, so
 *   they compare directly with other tools' output
 * - `wirecat: Refused 10.0.0.5:4444: denied by --deny`
 * - `wirecat: Proxied 127.0.0.1:5123 to example.com:443 (http-connect CONNECT, user bob)`
 * - `wirecat: Connection to HOST PORT port [tcp/*] succeeded!` (nc), and at
 *   `-vv` `wirecat: connect to HOST port PORT (tcp) failed: Connection refused`
 * - `wirecat: HOST:PORT not ready (connection refused), retrying in 1.2 s (attempt 3)`
 * - `wirecat: Datagram from 10.0.0.1:5353 (37 bytes)` (`-vv`)
 * - `wirecat: warning: <message>`, `wirecat: <info message>`
 *
 * @param ev The event.
 * @param opts Verbosity, quiet and colour.
 * @returns Whole lines ending in `\n`, or `undefined`.
 */
export function formatEvent(ev: WirecatEvent, opts: EventFormatOptions): string | undefined {
  if (opts.quiet === true) return undefined;
  const v = opts.verbosity;
  const c = _chalkFor(opts.color);
  const line = (text: string): string => `${c.dim(_PREFIX)}${text}\n`;
  switch (ev.event) {
    case 'warning':
      return line(c.yellow(`warning: ${ev.message}`));
    case 'info':
      return v >= 1 ? line(ev.message) : undefined;
    case 'listening':
      return v >= 1 ? line(`${c.green('Listening on')} ${_hostPort(ev.address, ev.port)}`) : undefined;
    case 'accepted':
      return v >= 1 ? line(`${c.green('Connection from')} ${ev.peer}`) : undefined;
    case 'connected': {
      if (v < 1) return undefined;
      let text = `${c.green('Connected to')} ${ev.peer} (${ev.proto}) in ${formatDuration(ev.connectMs)}`;
      if (ev.tlsHandshakeMs !== undefined || ev.tlsProtocol !== undefined || ev.alpn !== undefined) {
        text += ', TLS handshake';
        if (ev.tlsHandshakeMs !== undefined) text += ` ${formatDuration(ev.tlsHandshakeMs)}`;
        const detail = [ev.tlsProtocol, ev.alpn !== undefined ? `ALPN ${ev.alpn}` : undefined].filter((x) => x !== undefined);
        if (detail.length > 0) text += ` (${detail.join(', ')})`;
      }
      return line(text);
    }
    case 'closed': {
      if (v < 1) return undefined;
      const parts = [`${formatBytes(ev.bytesIn)} in`, `${formatBytes(ev.bytesOut)} out`, formatDuration(ev.durationMs)];
      if (ev.exitCode !== undefined && ev.exitCode !== null) parts.push(`exit status ${ev.exitCode}`);
      if (ev.signal !== undefined && ev.signal !== null) parts.push(`signal ${ev.signal}`);
      if (ev.error !== undefined) parts.push(c.red(`error: ${ev.error}`));
      let text = line(`Closed ${ev.peer}: ${parts.join(', ')}`);
      if (ev.sha256Sent !== undefined) text += `${c.dim('sha256 sent')} ${ev.sha256Sent}\n`;
      if (ev.sha256Received !== undefined) text += `${c.dim('sha256 received')} ${ev.sha256Received}\n`;
      return text;
    }
    case 'refused':
      return v >= 1 ? line(`${c.yellow('Refused')} ${ev.peer}: ${ev.reason}`) : undefined;
    case 'proxied':
      return v >= 1
        ? line(`${c.green('Proxied')} ${ev.peer} to ${ev.destination} (${ev.protocol} ${ev.command}${ev.user !== undefined ? `, user ${ev.user}` : ''})`)
        : undefined;
    case 'probe':
      if (ev.open) return v >= 1 ? line(`Connection to ${ev.host} ${ev.port} port [tcp/*] ${c.green('succeeded!')}`) : undefined;
      if (v < 1) return undefined;
      return line(`connect to ${ev.host} port ${ev.port} (tcp) failed: ${_PROBE_REASONS[ev.reason ?? ''] ?? ev.reason ?? 'not open'}`);
    case 'retry':
      return v >= 1
        ? line(`${ev.target} not ready (${ev.reason}), retrying in ${formatDuration(ev.delayMs)} (attempt ${ev.attempt})`)
        : undefined;
    case 'datagram':
      return v >= 2 ? line(`Datagram from ${ev.from} (${ev.bytes} ${ev.bytes === 1 ? 'byte' : 'bytes'})`) : undefined;
    case 'error':
      return undefined;
    default:
      return undefined;
  }
}

/** `JSON.stringify` replacer: bigints as numbers (exact ones) or strings. */
function _jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
  }
  return value;
}

/**
 * One event as one NDJSON line: `{"ts":"<ISO 8601>","event":"...",...}`,
 * `ts` first and `event` second, then the event's own fields (their names
 * are the schema, see `src/core/events.ts`); absent fields are left out.
 *
 * @param ev The event (or any object with an `event` field, such as `stats`).
 * @param ts The time stamp.
 * @returns The line, ending in `\n`.
 * @example
 * formatEventJson({ event: 'listening', proto: 'tcp', address: '::', port: 8080 }, new Date(0));
 * // '{"ts":"1970-01-01T00:00:00.000Z","event":"listening","proto":"tcp","address":"::","port":8080}\n'
 */
export function formatEventJson(ev: { event: string }, ts: Date): string {
  const { event, ...fields } = ev;
  return `${JSON.stringify({ ts: ts.toISOString(), event, ...fields }, _jsonSafe)}\n`;
}

/**
 * The {@link EventSink} of the command line: human `-v` lines (see
 * {@link formatEvent}) or, with `json`, NDJSON (see {@link formatEventJson}).
 *
 * `emit()` never throws, as the core requires: a failing `write` (stderr
 * closed) loses the line, not the connection.
 *
 * @example
 * const sink = new EventRenderer({ verbosity: argv.verbose, json: argv.json, color, write: (s) => process.stderr.write(s) });
 * // pass `sink` to the core; at exit, with --json: sink.emitStats(snapshot())
 */
export class EventRenderer implements EventSink {
  private readonly _opts: EventRendererOptions;
  private readonly _now: () => Date;

  /**
   * @param opts Verbosity, `json`, colour, where to write and the clock.
   */
  constructor(opts: EventRendererOptions) {
    this._opts = { ...opts, color: opts.json ? false : opts.color };
    this._now = opts.now ?? (() => new Date());
  }

  /**
   * Render one event.
   *
   * @param ev The event.
   */
  emit(ev: WirecatEvent): void {
    try {
      const text = this._opts.json ? formatEventJson(ev, this._now()) : formatEvent(ev, this._opts);
      if (text !== undefined) this._opts.write(text);
    } catch {
      // The sink must not throw (EventSink's contract); the line is lost.
    }
  }

  /**
   * Whether {@link EventRenderer.emit} writes anything for events of this
   * kind (`EventSink.wants`): with `json` all; with `quiet` none; else the
   * kinds {@link formatEvent} shows at this verbosity.
   *
   * @param event The kind.
   * @returns False when such events are dropped.
   */
  wants(event: WirecatEvent['event']): boolean {
    const o = this._opts;
    if (o.json) return true;
    if (o.quiet === true) return false;
    if (event === 'warning') return true;
    return o.verbosity >= (event === 'datagram' ? 2 : 1);
  }

  /**
   * With `json`, write the statistics as one `stats` event:
   * `{"ts":...,"event":"stats","connections":[...],"totals":{...},"loop":{...}}`.
   * Without `json` it does nothing: the `--stats` table is
   * `renderStatsTable()`'s job.
   *
   * @param snap The figures, from `snapshot()`.
   */
  emitStats(snap: DiagnosticsSnapshot): void {
    if (!this._opts.json) return;
    try {
      this._opts.write(formatEventJson({ event: 'stats', ...snap }, this._now()));
    } catch {
      // As emit().
    }
  }
}
