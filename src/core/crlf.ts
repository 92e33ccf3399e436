/**
 * Line-ending conversions for `--crlf` and socat's `crlf` option.
 *
 * @module
 */

/** Replace every LF not preceded by CR with CRLF. */
export function lfToCrlf(chunk: Buffer): Buffer {
  let extra = 0;
  for (let i = 0; i < chunk.length; i++) if (chunk[i] === 0x0a && (i === 0 || chunk[i - 1] !== 0x0d)) extra++;
  if (extra === 0) return chunk;
  const out = Buffer.allocUnsafe(chunk.length + extra);
  let j = 0;
  for (let i = 0; i < chunk.length; i++) {
    const c = chunk[i]!;
    if (c === 0x0a && (i === 0 || chunk[i - 1] !== 0x0d)) out[j++] = 0x0d;
    out[j++] = c;
  }
  return out;
}

/** Replace every CRLF with LF. */
export function crlfToLf(chunk: Buffer): Buffer {
  if (chunk.indexOf(0x0d) < 0) return chunk;
  const out = Buffer.allocUnsafe(chunk.length);
  let j = 0;
  for (let i = 0; i < chunk.length; i++) {
    const c = chunk[i]!;
    if (c === 0x0d && chunk[i + 1] === 0x0a) continue;
    out[j++] = c;
  }
  return out.subarray(0, j);
}
