/**
 * Diagnostics: what the reactor counts while it works, and the event
 * loop's own figures, gathered into one plain object for `--stats`.
 *
 * Counting is integer increments on objects the transports hold anyway;
 * the event-loop delay histogram runs, and each connection's record is
 * kept for `snapshot()`, only once `startLoopMonitor()` (or
 * `recordConnections()`) is called.
 *
 * @module
 */

import { type IntervalHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { deferredStats } from './defer.js';
import type { ClosedEvent } from './events.js';
import { realClock } from './task.js';

/** One connection's figures, kept by its transport. */
export interface ConnectionStats {
  /** Sequence number, from 1, in order of creation. */
  id: number;
  /** `tcp`, `unix`, `tls`, `udp`, `process`, `stdio`. */
  kind: string;
  /** The peer, as text. */
  peer: string;
  /** Our end, as text. */
  local: string;
  /** Whether we accepted it (server side) or connected (client side). */
  direction: 'accepted' | 'connected' | 'local';
  /** Bytes received. */
  bytesIn: number;
  /** Bytes written. */
  bytesOut: number;
  /** When the attempt started (ms, `performance.now()` scale). */
  startedAt: number;
  /** When the connection was up. */
  connectedAt: number | undefined;
  /** When the TLS handshake finished. */
  secureAt: number | undefined;
  /** When the first byte arrived. */
  firstByteAt: number | undefined;
  /** When it closed. */
  closedAt: number | undefined;
  /** Why it closed, when not cleanly. */
  error: string | undefined;
  /** Anything else a layer wants to report (SHA-256, exit status...). */
  extra: Record<string, unknown>;
}

/** Totals across the process. */
export const counters = {
  connectionsOpened: 0,
  connectionsClosed: 0,
  connectionsFailed: 0,
  bytesIn: 0,
  bytesOut: 0,
  datagramsIn: 0,
  datagramsOut: 0,
  datagramBytesIn: 0,
  datagramBytesOut: 0,
};

/** What is measured beyond the always-on counters. */
export const diagnosticsOptions = {
  /** SHA-256 of the bytes sent and received on each network connection (`--checksum`). */
  checksums: false,
};

/**
 * Hash every network connection's bytes from now on (`--checksum`): the
 * SHA-256 of what was sent and received lands in each connection's
 * `extra.sha256Sent` / `extra.sha256Received` when it closes.
 *
 * @param on Whether to hash.
 */
export function enableChecksums(on = true): void {
  diagnosticsOptions.checksums = on;
}

/**
 * The `--checksum` fields of a `closed` event, when the connection was hashed.
 *
 * @param st The connection's figures.
 * @returns `{ sha256Sent, sha256Received }` or nothing.
 */
export function checksumFields(st: ConnectionStats): { sha256Sent?: string; sha256Received?: string } {
  const sent = st.extra.sha256Sent;
  const received = st.extra.sha256Received;
  return typeof sent === 'string' && typeof received === 'string' ? { sha256Sent: sent, sha256Received: received } : {};
}

/**
 * The `closed` event of a connection, from its figures.
 *
 * @param st The connection's figures.
 * @param extra More fields (a child's exit status...).
 * @returns The event.
 */
export function closedEvent(st: ConnectionStats, extra: Partial<ClosedEvent> = {}): ClosedEvent {
  return {
    event: 'closed',
    id: st.id,
    peer: st.peer,
    bytesIn: st.bytesIn,
    bytesOut: st.bytesOut,
    durationMs: (st.closedAt ?? performance.now()) - (st.connectedAt ?? st.startedAt),
    ...(st.error !== undefined ? { error: st.error } : {}),
    ...checksumFields(st),
    ...extra,
  };
}

let _nextId = 1;
/** Connections kept in detail; older ones are counted only. */
const _MAX_KEPT = 10_000;
/** The last `_MAX_KEPT` records, a ring: `_kept[_next % _MAX_KEPT]` is the oldest once full. */
const _kept: ConnectionStats[] = [];
let _next = 0;
/** Whether records are kept for `snapshot()` (off until asked: a busy server makes thousands a second). */
let _recording = false;

/**
 * Keep each new connection's record for `snapshot()` (the last 10,000),
 * or stop keeping them. `startLoopMonitor()` turns this on; the counters
 * and each transport's own `stats` work either way.
 *
 * @param on Whether to keep records.
 */
export function recordConnections(on = true): void {
  _recording = on;
}

/** A text that may be worked out on first read (a socket address: a system call). */
export type LazyText = string | { describe(): string };

/** A connection's record: `peer` and `local` are worked out when first read. */
class _ConnectionRecord implements ConnectionStats {
  readonly id: number;
  readonly kind: string;
  readonly direction: ConnectionStats['direction'];
  bytesIn = 0;
  bytesOut = 0;
  readonly startedAt: number;
  connectedAt: number | undefined = undefined;
  secureAt: number | undefined = undefined;
  firstByteAt: number | undefined = undefined;
  closedAt: number | undefined = undefined;
  error: string | undefined = undefined;
  private _extra: Record<string, unknown> | undefined = undefined;
  private _peer: LazyText;
  private _local: LazyText;

  constructor(kind: string, direction: ConnectionStats['direction'], peer: LazyText, local: LazyText) {
    this.id = _nextId++;
    this.kind = kind;
    this.direction = direction;
    this._peer = peer;
    this._local = local;
    this.startedAt = performance.now();
  }

  /** Made on first use: most connections never have any. */
  get extra(): Record<string, unknown> {
    return (this._extra ??= {});
  }

  set extra(v: Record<string, unknown>) {
    this._extra = v;
  }

  get peer(): string {
    const p = this._peer;
    return typeof p === 'string' ? p : (this._peer = p.describe());
  }

  set peer(v: string) {
    this._peer = v;
  }

  get local(): string {
    const l = this._local;
    return typeof l === 'string' ? l : (this._local = l.describe());
  }

  set local(v: string) {
    this._local = v;
  }

  /**
   * @param peer The peer as text, or what describes it on first read.
   * @param local Our end likewise.
   */
  setTexts(peer: LazyText, local: LazyText): void {
    this._peer = peer;
    this._local = local;
    if (_recording) this.resolve();
  }

  /** Make `peer` and `local` plain text now (before the socket that knows them closes). */
  resolve(): void {
    void this.peer;
    void this.local;
  }
}

/**
 * Start the figures of a new connection and register it (when records are kept).
 *
 * @param kind `tcp`, `unix`, `tls`, ...
 * @param direction Accepted, connected, or local (stdio, process).
 * @param peer The peer as text, or what describes it on first read.
 * @param local Our end likewise.
 * @returns The record the transport updates.
 */
export function newConnectionStats(
  kind: string,
  direction: ConnectionStats['direction'],
  peer: LazyText,
  local: LazyText = '',
): ConnectionStats {
  const s = new _ConnectionRecord(kind, direction, peer, local);
  if (_recording) {
    if (_kept.length < _MAX_KEPT) _kept.push(s);
    else _kept[_next % _MAX_KEPT] = s;
    _next++;
    s.resolve();
  }
  return s;
}

/**
 * Set a record's `peer` and `local` texts, either of them possibly worked
 * out on first read (at once while records are kept).
 *
 * @param st The record.
 * @param peer The peer as text, or what describes it on first read.
 * @param local Our end likewise.
 */
export function setAddressTexts(st: ConnectionStats, peer: LazyText, local: LazyText): void {
  if (st instanceof _ConnectionRecord) {
    st.setTexts(peer, local);
  } else {
    st.peer = typeof peer === 'string' ? peer : peer.describe();
    st.local = typeof local === 'string' ? local : local.describe();
  }
}

/** @returns Whether connection records are kept for `snapshot()` (`--stats`). */
export function recordingConnections(): boolean {
  return _recording;
}

let _histogram: IntervalHistogram | undefined;
/** The histogram samples the time between timer ticks: the delay is that minus the resolution. */
let _resolutionMs = 0;
let _eluStart: ReturnType<typeof performance.eventLoopUtilization> | undefined;
let _peakRss = 0;
let _rssTimer: NodeJS.Timeout | undefined;

/**
 * Start measuring the event loop's delay and utilisation, sampling RSS, and
 * keeping connection records (`recordConnections()`). Idempotent; nothing
 * runs until it is called.
 *
 * @param resolutionMs The delay histogram's sampling resolution.
 */
export function startLoopMonitor(resolutionMs = 2): void {
  if (_histogram !== undefined) return;
  _recording = true;
  _histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  _resolutionMs = resolutionMs;
  _histogram.enable();
  _eluStart = performance.eventLoopUtilization();
  _peakRss = process.memoryUsage.rss();
  _rssTimer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > _peakRss) _peakRss = rss;
  }, 250);
  _rssTimer.unref();
}

/** Stop what `startLoopMonitor()` started. */
export function stopLoopMonitor(): void {
  _histogram?.disable();
  _histogram = undefined;
  if (_rssTimer !== undefined) clearInterval(_rssTimer);
  _rssTimer = undefined;
}

/** The event loop's figures. */
export interface LoopStats {
  delayMs: { p50: number; p99: number; max: number; mean: number } | undefined;
  utilization: number | undefined;
  timersCreated: number;
  timersActive: number;
  deferreds: { created: number; fired: number; failed: number; unhandled: number };
  peakRssBytes: number;
  rssBytes: number;
  uptimeMs: number;
}

/** Everything `--stats` prints. */
export interface DiagnosticsSnapshot {
  connections: (ConnectionStats & { durationMs: number | undefined })[];
  totals: typeof counters;
  loop: LoopStats;
}

/**
 * The figures so far, as one plain JSON-serialisable object.
 *
 * @returns Connections, totals and the event loop's figures.
 */
export function snapshot(): DiagnosticsSnapshot {
  const rss = process.memoryUsage.rss();
  if (rss > _peakRss) _peakRss = rss;
  const h = _histogram;
  const ns = 1e6;
  return {
    connections: _keptInOrder().map((c) => ({
      id: c.id,
      kind: c.kind,
      peer: c.peer,
      local: c.local,
      direction: c.direction,
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      startedAt: c.startedAt,
      connectedAt: c.connectedAt,
      secureAt: c.secureAt,
      firstByteAt: c.firstByteAt,
      closedAt: c.closedAt,
      error: c.error,
      extra: { ...c.extra },
      durationMs: c.closedAt !== undefined ? c.closedAt - (c.connectedAt ?? c.startedAt) : undefined,
    })),
    totals: { ...counters },
    loop: {
      delayMs:
        h !== undefined && h.count > 0
          ? {
              p50: _delay(h.percentile(50) / ns),
              p99: _delay(h.percentile(99) / ns),
              max: _delay(h.max / ns),
              mean: _delay(h.mean / ns),
            }
          : undefined,
      utilization: _eluStart !== undefined ? performance.eventLoopUtilization(_eluStart).utilization : undefined,
      timersCreated: realClock.timersCreated,
      timersActive: realClock._active.size,
      deferreds: { ...deferredStats },
      peakRssBytes: _peakRss,
      rssBytes: rss,
      uptimeMs: performance.now(),
    },
  };
}

/** The kept records, oldest first. */
function _keptInOrder(): ConnectionStats[] {
  if (_kept.length < _MAX_KEPT) return _kept;
  const at = _next % _MAX_KEPT;
  return [..._kept.slice(at), ..._kept.slice(0, at)];
}

function _delay(tickMs: number): number {
  return Math.max(0, tickMs - _resolutionMs);
}
