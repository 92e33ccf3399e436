/**
 * Line-ending conversions for `--crlf` and socat's `crlf` option.
 *
 * @module
 */

/**
 * Replace every LF not preceded by CR with CRLF.
 *
 * @param chunk The bytes.
 * @param afterCr Whether the byte before `chunk` (the end of the previous
 *   chunk of the same stream) was a CR.
 * @returns `chunk` itself when nothing changes, else a new buffer.
 */
export function lfToCrlf(chunk: Buffer, afterCr = false): Buffer {
  let extra = 0;
  for (let i = 0; i < chunk.length; i++) if (chunk[i] === 0x0a && (i === 0 ? !afterCr : chunk[i - 1] !== 0x0d)) extra++;
  if (extra === 0) return chunk;
  const out = Buffer.allocUnsafe(chunk.length + extra);
  let j = 0;
  for (let i = 0; i < chunk.length; i++) {
    const c = chunk[i]!;
    if (c === 0x0a && (i === 0 ? !afterCr : chunk[i - 1] !== 0x0d)) out[j++] = 0x0d;
    out[j++] = c;
  }
  return out;
}

/**
 * {@link lfToCrlf} for one stream (one relay direction): a CR ending one
 * chunk and an LF starting the next are a CRLF already. Make one per
 * direction and connection.
 *
 * @returns The transform, which remembers the last byte it saw.
 */
export function lfToCrlfStream(): (chunk: Buffer) => Buffer {
  let afterCr = false;
  return (chunk: Buffer) => {
    const out = lfToCrlf(chunk, afterCr);
    if (chunk.length > 0) afterCr = chunk[chunk.length - 1] === 0x0d;
    return out;
  };
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

/** A transform of one stream that may hold bytes back until it sees what follows them. */
export interface StreamTransform {
  (chunk: Buffer): Buffer;
  /** At the stream's end: the bytes held back, if any. */
  flush?: () => Buffer | undefined;
}

const _CR = Buffer.from([0x0d]);

/**
 * {@link crlfToLf} for one stream (one relay direction): a CR ending a
 * chunk is held back until the next chunk shows whether an LF follows it
 * (then the pair is one LF), and `flush()` gives it back at EOF. Make one
 * per direction and connection.
 *
 * @returns The transform.
 */
export function crlfToLfStream(): StreamTransform {
  let heldCr = false;
  const t: StreamTransform = (chunk: Buffer) => {
    if (chunk.length === 0) return chunk;
    let c = chunk;
    if (heldCr) {
      heldCr = false;
      // An LF after it: the CR goes. Anything else: the CR stays, in front.
      if (c[0] !== 0x0a) c = Buffer.concat([_CR, c]);
    }
    if (c[c.length - 1] === 0x0d) {
      heldCr = true;
      c = c.subarray(0, c.length - 1);
    }
    return crlfToLf(c);
  };
  t.flush = () => {
    if (!heldCr) return undefined;
    heldCr = false;
    return Buffer.from(_CR);
  };
  return t;
}
