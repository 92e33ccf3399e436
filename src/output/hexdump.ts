/**
 * `-x, --hex-dump`: each chunk as a header line (direction, time, size) and
 * `hexdump -C` lines, offsets counted per direction across chunks.
 *
 * @module
 */

import { _chalkFor } from './color.js';

/**
 * Which way a chunk went. `'out'` and `'>'` are the same: bytes from us to
 * the peer (sent). `'in'` and `'<'`: bytes from the peer to us (received).
 */
export type HexDirection = 'in' | 'out' | '>' | '<';

/** What {@link createHexDumper} needs. */
export interface HexDumperOptions {
  /** Where the text goes (stderr or the `-x FILE`); one call per chunk. */
  write: (s: string) => void;
  /** The clock for the header; defaults to `new Date()`. */
  now?: () => Date;
  /** ANSI colour (dim offsets and time stamps); `false` for files. */
  color?: boolean;
}

const _HEX: string[] = Array.from({ length: 256 }, (_v, i) => i.toString(16).padStart(2, '0'));
const _ASCII: string[] = Array.from({ length: 256 }, (_v, i) => (i >= 0x20 && i < 0x7f ? String.fromCharCode(i) : '.'));

/**
 * The `hexdump -C` lines of one chunk, the first at `offset`, 16 bytes a
 * line in two groups of 8, a short last line padded so the ASCII column
 * lines up:
 * `00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 30 0d 0a  |GET / HTTP/1.0..|`
 *
 * @param chunk The bytes.
 * @param offset The offset of the chunk's first byte (shown in 8 hex digits).
 * @param dimOffset Styles the offset (colour), identity by default.
 * @returns One string per line, without line endings.
 */
export function hexDumpLines(chunk: Uint8Array, offset = 0, dimOffset: (s: string) => string = (s) => s): string[] {
  const lines: string[] = [];
  for (let start = 0; start < chunk.length; start += 16) {
    const end = Math.min(start + 16, chunk.length);
    let hex = '';
    let ascii = '';
    for (let i = 0; i < 16; i++) {
      if (i === 8) hex += ' ';
      const at = start + i;
      if (at < end) {
        const b = chunk[at] as number;
        hex += `${_HEX[b]} `;
        ascii += _ASCII[b];
      } else {
        hex += '   ';
      }
    }
    const off = ((offset + start) >>> 0).toString(16).padStart(8, '0');
    lines.push(`${dimOffset(off)}  ${hex} |${ascii}|`);
  }
  return lines;
}

/**
 * A hex dumper for both directions of a connection (one dumper per
 * connection, so each keeps its own offsets).
 *
 * For each non-empty chunk it writes, in one call, a header such as
 * `> 2026-11-28T08:40:00.123Z 37 bytes` (`>` sent by us, `<` received from
 * the peer) and the {@link hexDumpLines}; the offsets of each direction go
 * on from where its previous chunk ended. Empty chunks write nothing.
 *
 * @param opts Where to write, the clock and colour.
 * @returns The function to call with each chunk.
 * @example
 * const dump = createHexDumper({ write: (s) => process.stderr.write(s) });
 * dump('>', Buffer.from('GET / HTTP/1.0\r\n\r\n'));
 */
export function createHexDumper(opts: HexDumperOptions): (direction: HexDirection, chunk: Uint8Array) => void {
  const now = opts.now ?? (() => new Date());
  const c = _chalkFor(opts.color === true);
  const dim = (s: string): string => c.dim(s);
  let sent = 0;
  let received = 0;
  return (direction, chunk) => {
    if (chunk.length === 0) return;
    const out = direction === 'out' || direction === '>';
    const offset = out ? sent : received;
    if (out) sent += chunk.length;
    else received += chunk.length;
    const header = `${c.bold(out ? '>' : '<')} ${dim(now().toISOString())} ${chunk.length} ${chunk.length === 1 ? 'byte' : 'bytes'}`;
    opts.write(`${header}\n${hexDumpLines(chunk, offset, dim).join('\n')}\n`);
  };
}
