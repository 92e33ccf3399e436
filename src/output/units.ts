/**
 * Human units for the figures the CLI shows: bytes (binary prefixes, one
 * decimal), durations (µs, ms, s, min, h) and rates.
 *
 * @module
 */

const _BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/**
 * A byte count in binary units: `12 B`, `1.2 KiB`, `1.0 MiB`, `3.4 GiB`.
 *
 * Below 1024 the count is exact (rounded to an integer for rates); above,
 * one decimal in the largest unit that keeps the number under 1024.
 *
 * @param n Bytes (may be fractional, for rates).
 * @returns The text, or `-` for a non-finite input.
 * @example
 * formatBytes(1048576); // '1.0 MiB'
 */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '-';
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  if (Math.round(abs) < 1024) return `${sign}${Math.round(abs)} B`;
  let v = abs / 1024;
  let i = 0;
  while (i < _BYTE_UNITS.length - 1 && Number(v.toFixed(1)) >= 1024) {
    v /= 1024;
    i++;
  }
  return `${sign}${v.toFixed(1)} ${_BYTE_UNITS[i]}`;
}

/**
 * A duration: `45 µs` (under 0.1 ms), `0.4 ms`, `12.3 ms`, `250 ms`,
 * `3.1 s`, `2 min 5 s`, `1 h 2 min`.
 *
 * @param ms Milliseconds.
 * @returns The text, or `-` for a non-finite input; negatives count as 0.
 * @example
 * formatDuration(3100); // '3.1 s'
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  const t = Math.max(0, ms);
  if (t < 0.1) return `${Math.round(t * 1000)} µs`;
  if (t < 99.95) return `${t.toFixed(1)} ms`;
  if (t < 999.5) return `${Math.round(t)} ms`;
  const s = t / 1000;
  if (s < 59.95) return `${s.toFixed(1)} s`;
  const whole = Math.round(s);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  const minutes = Math.round(s / 60);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * A rate in bytes per second: `12.3 MiB/s`.
 *
 * @param bytesPerSecond The rate.
 * @returns The text.
 */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/**
 * The rate of `bytes` over `ms`, or `-` when the time is unknown or zero.
 *
 * @param bytes Bytes moved.
 * @param ms Over this many milliseconds.
 * @returns The text.
 */
export function formatThroughput(bytes: number, ms: number | undefined): string {
  if (ms === undefined || !(ms > 0)) return '-';
  return formatRate((bytes * 1000) / ms);
}
