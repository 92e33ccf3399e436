/**
 * Line framing, after Twisted's `twisted.protocols.basic.LineReceiver`.
 *
 * @module
 */

import { Protocol } from './protocol.js';

/**
 * A protocol that splits incoming bytes into lines, with a raw mode for
 * bodies that are not lines.
 *
 * Lines are decoded with `encoding` (UTF-8 by default; `latin1` keeps every
 * byte). A line longer than `MAX_LENGTH` bytes goes to
 * `lineLengthExceeded()`, which closes the connection by default.
 *
 * @example
 * class Shout extends LineReceiver {
 *   override delimiter = '\n';
 *   override lineReceived(line: string) { this.sendLine(line.toUpperCase()); }
 * }
 */
export class LineReceiver extends Protocol {
  /** What ends a line. */
  delimiter: string | Buffer = '\r\n';
  /** The longest line accepted, in bytes. */
  MAX_LENGTH = 16384;
  /** How line bytes are decoded to strings and strings encoded to bytes. */
  encoding: BufferEncoding = 'utf8';
  /** True in line mode, false in raw mode. */
  lineMode = true;
  /** True while paused by `pauseProducing()`: no lines are delivered. */
  paused = false;

  private _buffer: Buffer = Buffer.alloc(0);
  private _busyReceiving = false;

  /**
   * Frame the bytes into lines (or pass them on raw). Subclasses override
   * `lineReceived`, not this.
   *
   * @param data The bytes that arrived.
   */
  override dataReceived(data: Buffer): void {
    this._buffer = this._buffer.length === 0 ? data : Buffer.concat([this._buffer, data]);
    if (this._busyReceiving) return;
    this._busyReceiving = true;
    try {
      while (this._buffer.length > 0 && !this.paused) {
        if (this.lineMode) {
          // Read each time: lineReceived() may change the delimiter.
          const delim = this._delimiterBytes();
          const at = this._buffer.indexOf(delim);
          if (at < 0) {
            if (this._buffer.length >= this.MAX_LENGTH + delim.length) {
              const line = this._buffer;
              this._buffer = Buffer.alloc(0);
              this.lineLengthExceeded(line.toString(this.encoding));
            }
            return;
          }
          const line = this._buffer.subarray(0, at);
          if (line.length > this.MAX_LENGTH) {
            const exceeded = this._buffer;
            this._buffer = Buffer.alloc(0);
            this.lineLengthExceeded(exceeded.toString(this.encoding));
            return;
          }
          this._buffer = this._buffer.subarray(at + delim.length);
          this.lineReceived(line.toString(this.encoding));
          if ((this.transport as { disconnecting?: boolean } | undefined)?.disconnecting) return;
        } else {
          const raw = this._buffer;
          this._buffer = Buffer.alloc(0);
          this.rawDataReceived(raw);
        }
      }
    } finally {
      this._busyReceiving = false;
    }
  }

  /**
   * A whole line arrived, without its delimiter.
   *
   * @param _line The line.
   */
  lineReceived(_line: string): void {
    throw new Error(`${this.constructor.name} must override lineReceived()`);
  }

  /**
   * Bytes arrived in raw mode.
   *
   * @param _data The bytes.
   */
  rawDataReceived(_data: Buffer): void {
    throw new Error(`${this.constructor.name} must override rawDataReceived()`);
  }

  /**
   * Write `line` and the delimiter.
   *
   * @param line The line, without delimiter.
   */
  sendLine(line: string | Buffer): void {
    const bytes = typeof line === 'string' ? Buffer.from(line, this.encoding) : line;
    this.transport?.writeSequence([bytes, this._delimiterBytes()]);
  }

  /**
   * A line was longer than `MAX_LENGTH`; closes the connection by default.
   *
   * @param _line The over-long data.
   */
  lineLengthExceeded(_line: string): void {
    this.transport?.loseConnection();
  }

  /** Deliver what follows as raw bytes to `rawDataReceived`. */
  setRawMode(): void {
    this.lineMode = false;
  }

  /**
   * Deliver what follows as lines again.
   *
   * @param extra Bytes to process first (e.g. what followed a raw body).
   */
  setLineMode(extra?: Buffer | string): void {
    this.lineMode = true;
    if (extra !== undefined && extra.length > 0) {
      this.dataReceived(typeof extra === 'string' ? Buffer.from(extra, this.encoding) : extra);
    }
  }

  /**
   * Drop and return what is buffered and not yet delivered.
   *
   * @returns The buffered bytes.
   */
  clearLineBuffer(): Buffer {
    const b = this._buffer;
    this._buffer = Buffer.alloc(0);
    return b;
  }

  /** Hold back lines (and ask the transport to stop reading). */
  pauseProducing(): void {
    this.paused = true;
    this.transport?.pauseProducing();
  }

  /** Deliver lines again, starting with what is buffered. */
  resumeProducing(): void {
    this.paused = false;
    this.transport?.resumeProducing();
    this.dataReceived(Buffer.alloc(0));
  }

  /** Stop for good: closes the connection. */
  stopProducing(): void {
    this.paused = true;
    this.transport?.loseConnection();
  }

  private _delimiterBytes(): Buffer {
    return typeof this.delimiter === 'string' ? Buffer.from(this.delimiter, this.encoding) : this.delimiter;
  }
}
