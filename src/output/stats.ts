/**
 * `--stats`: the figures of `snapshot()` as two cli-table3 tables (per
 * connection, then the totals and the event loop), or as one JSON line.
 *
 * cli-table3 is loaded on first use, so commands that never print a table
 * never load it.
 *
 * @module
 */

import type { ConnectionStats, DiagnosticsSnapshot } from '../core/diagnostics.js';
import { _chalkFor } from './color.js';
import { formatBytes, formatDuration, formatThroughput } from './units.js';

/** How {@link renderStatsTable} renders. */
export interface StatsTableOptions {
  /** ANSI colour (bold headers, dim labels); `false` gives plain text. */
  color: boolean;
  /**
   * At most this many connection rows, the most recent (default 100); a
   * line below the table says how many were left out.
   */
  maxRows?: number;
}

type _Connection = DiagnosticsSnapshot['connections'][number];

/**
 * The connections worth a row. `stdio` entries only mirror the network
 * side's bytes (what came in went to stdout, what stdin gave went out), so
 * they are left out, unless they are all there is (e.g. `relay stdio
 * exec:...` before anything connected, or a `file:` relay). `process`
 * entries (`--exec` children) stay: their byte counts and time are their
 * own.
 */
function _relevant(connections: readonly _Connection[]): _Connection[] {
  const network = connections.filter((c) => c.kind !== 'stdio');
  return network.length > 0 ? network : [...connections];
}

/** From the start of the attempt (or of the connection) to `end`. */
function _span(from: number | undefined, to: number | undefined): number | undefined {
  return from !== undefined && to !== undefined ? Math.max(0, to - from) : undefined;
}

function _ms(ms: number | undefined): string {
  return ms === undefined ? '-' : formatDuration(ms);
}

/**
 * The figures of one row: duration (for an open connection, so far:
 * `uptimeMs` is on the same `performance.now()` scale), throughput as bytes
 * both ways per second, time to connect (start of the attempt to connected),
 * TLS handshake (connected to secure), time to first byte (start of the
 * attempt to the first byte received, as curl's `time_starttransfer`).
 */
function _row(c: _Connection, nowMs: number, withChecksums: boolean): string[] {
  const open = c.closedAt === undefined;
  const duration = c.durationMs ?? (open ? _span(c.connectedAt ?? c.startedAt, nowMs) : undefined);
  const row = [
    String(c.id),
    c.kind,
    c.peer || '-',
    formatBytes(c.bytesIn),
    formatBytes(c.bytesOut),
    duration === undefined ? '-' : open ? `${formatDuration(duration)} (open)` : formatDuration(duration),
    formatThroughput(c.bytesIn + c.bytesOut, duration),
    _ms(_span(c.startedAt, c.connectedAt)),
    _ms(_span(c.connectedAt, c.secureAt)),
    _ms(_span(c.startedAt, c.firstByteAt)),
  ];
  if (withChecksums) row.push(_checksum(c, 'sha256Sent'), _checksum(c, 'sha256Received'));
  return row;
}

/** A checksum kept by `--checksum` in `extra` under the `closed` event's names. */
function _checksum(c: ConnectionStats, key: 'sha256Sent' | 'sha256Received'): string {
  const v = c.extra[key];
  return typeof v === 'string' ? v : '-';
}

function _hasChecksums(c: ConnectionStats): boolean {
  return typeof c.extra.sha256Sent === 'string' || typeof c.extra.sha256Received === 'string';
}

/** `1.0 MiB (1048576 B)`, or `12 B` where the two would say the same. */
function _exactBytes(n: number): string {
  const human = formatBytes(n);
  return n < 1024 ? human : `${human} (${n} B)`;
}

/**
 * The `--stats table` text: a table of the connections (columns `#`,
 * `kind`, `peer`, `bytes in`, `bytes out`, `duration`, `throughput`,
 * `connect`, `TLS`, `first byte`, and `sha256 sent`/`sha256 received` when
 * any connection has them), then a summary table (totals, event-loop delay
 * p50/p99/max, utilisation, timers, Deferreds, peak RSS, uptime).
 *
 * Which connections: see `_relevant` (stdio rows are hidden when there are
 * network ones); at most `maxRows`, the most recent.
 *
 * @param snap The figures, from `snapshot()`.
 * @param opts Colour and the row limit.
 * @returns The text for stderr, ending in `\n`.
 * @example
 * process.stderr.write(await renderStatsTable(snapshot(), { color }));
 */
export async function renderStatsTable(snap: DiagnosticsSnapshot, opts: StatsTableOptions): Promise<string> {
  const Table = (await import('cli-table3')).default;
  const c = _chalkFor(opts.color);
  // No cli-table3 colours (it would pick its own policy); no lines between rows.
  const plain = { head: [] as string[], border: [] as string[], compact: true };
  let out = '';

  const all = _relevant(snap.connections);
  const maxRows = Math.max(1, opts.maxRows ?? 100);
  const shown = all.length > maxRows ? all.slice(all.length - maxRows) : all;
  if (shown.length > 0) {
    const withChecksums = shown.some(_hasChecksums);
    const head = ['#', 'kind', 'peer', 'bytes in', 'bytes out', 'duration', 'throughput', 'connect', 'TLS', 'first byte'];
    if (withChecksums) head.push('sha256 sent', 'sha256 received');
    const table = new Table({
      head: head.map((h) => c.bold(h)),
      style: plain,
      colAligns: head.map((_h, i) => (i === 0 || (i >= 3 && i <= 9) ? 'right' : 'left')),
    });
    for (const conn of shown) table.push(_row(conn, snap.loop.uptimeMs, withChecksums));
    out += `${table.toString()}\n`;
    if (all.length > shown.length) {
      const left = all.length - shown.length;
      out += c.dim(`${left} earlier connection${left === 1 ? '' : 's'} not shown (--stats json lists them all)`) + '\n';
    }
  }

  const t = snap.totals;
  const l = snap.loop;
  const d = l.delayMs;
  const f2 = (n: number): string => n.toFixed(2);
  const unhandled = l.deferreds.unhandled > 0 ? c.yellow(`${l.deferreds.unhandled} unhandled`) : `${l.deferreds.unhandled} unhandled`;
  const summary = new Table({ style: plain });
  const rows: [string, string][] = [
    ['bytes in / out', `${_exactBytes(t.bytesIn)} / ${_exactBytes(t.bytesOut)}`],
    ['connections', `${t.connectionsOpened} opened, ${t.connectionsClosed} closed, ${t.connectionsFailed} failed`],
    [
      'datagrams',
      `${t.datagramsIn} in (${formatBytes(t.datagramBytesIn)}), ${t.datagramsOut} out (${formatBytes(t.datagramBytesOut)})`,
    ],
    ['loop delay', d === undefined ? 'not measured' : `p50 ${f2(d.p50)} ms, p99 ${f2(d.p99)} ms, max ${f2(d.max)} ms`],
    ['loop utilisation', l.utilization === undefined ? 'not measured' : `${(l.utilization * 100).toFixed(1)}%`],
    ['timers', `${l.timersCreated} created, ${l.timersActive} active`],
    [
      'Deferreds',
      `${l.deferreds.created} created, ${l.deferreds.fired} fired, ${l.deferreds.failed} failed, ${unhandled}`,
    ],
    ['peak RSS', `${(l.peakRssBytes / 1048576).toFixed(1)} MiB`],
    ['uptime', formatDuration(l.uptimeMs)],
  ];
  for (const [label, value] of rows) summary.push([c.dim(label), value]);
  out += `${summary.toString()}\n`;
  return out;
}

/**
 * The `--stats json` text: the snapshot as one JSON object on one line
 * (every connection, stdio included; no row limit). `JSON.parse` of it
 * gives back the snapshot (fields that are `undefined` are left out).
 *
 * @param snap The figures, from `snapshot()`.
 * @returns One line ending in `\n`.
 */
export function renderStatsJson(snap: DiagnosticsSnapshot): string {
  return `${JSON.stringify(snap, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`;
}
