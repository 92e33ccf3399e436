// Tests for line framing (src/core/basic.ts): LineReceiver against
// StringTransport, ported from Twisted's
// src/twisted/protocols/test/test_basic.py (LineReceiverTests,
// LineReceiverLineLengthExceededTests). Input is fed in every chunk size from
// one byte up, as STYLE.md asks; the few Twisted cases that are about one
// particular chunking say so and feed exactly that.
import { describe, it, expect } from 'vitest';
import { LineReceiver } from 'wirecat';
import { Clock, StringTransport } from 'wirecat/testing';

/** Chunk sizes every chunked test runs with: 1..12 bytes and the whole input at once. */
function chunkSizes(total: number): number[] {
  const sizes: number[] = [];
  for (let n = 1; n <= Math.min(12, total); n++) sizes.push(n);
  if (total > 12) sizes.push(total);
  return sizes;
}

/**
 * Feed `data` to `proto` in chunks of `size` bytes. Like a real transport,
 * which stops reading once the connection is being closed, it stops feeding
 * when the transport is disconnecting. Returns how many chunks were fed.
 */
function feed(proto: LineReceiver, data: Buffer | string, size: number): number {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const t = proto.transport as StringTransport | undefined;
  let fed = 0;
  // Twisted's loop feeds len // size + 1 chunks; the last may be empty.
  for (let i = 0; i <= Math.floor(bytes.length / size); i++) {
    if (t?.disconnecting) break;
    proto.dataReceived(bytes.subarray(i * size, (i + 1) * size));
    fed++;
  }
  return fed;
}

/**
 * Twisted's LineTester: parses tokens from the lines it gets: `len N` then an
 * empty line switches to raw mode for N bytes, `pause`/`rawpause` pause until
 * the clock runs, `stop` stops producing, `produce`/`unproduce` register it
 * as a pull producer.
 */
class LineTester extends LineReceiver {
  override delimiter = '\n';
  override MAX_LENGTH = 64;
  override encoding: BufferEncoding = 'latin1';
  received: string[] = [];
  length = 0;

  constructor(readonly clock?: Clock) {
    super();
  }

  override connectionMade(): void {
    this.received = [];
  }

  override lineReceived(line: string): void {
    this.received.push(line);
    if (line === '') {
      this.setRawMode();
    } else if (line === 'pause') {
      this.pauseProducing();
      this.clock!.callLater(0, () => this.resumeProducing());
    } else if (line === 'rawpause') {
      this.pauseProducing();
      this.setRawMode();
      this.received.push('');
      this.clock!.callLater(0, () => this.resumeProducing());
    } else if (line === 'stop') {
      this.stopProducing();
    } else if (line.startsWith('len ')) {
      this.length = Number.parseInt(line.slice(4), 10);
    } else if (line.startsWith('produce')) {
      this.transport!.registerProducer(this, false);
    } else if (line.startsWith('unproduce')) {
      this.transport!.unregisterProducer();
    }
  }

  override rawDataReceived(data: Buffer): void {
    const take = data.subarray(0, this.length);
    const rest = data.subarray(this.length);
    this.length -= take.length;
    this.received[this.received.length - 1] += take.toString('latin1');
    if (this.length === 0) this.setLineMode(rest);
  }

  override lineLengthExceeded(line: string): void {
    if (line.length > this.MAX_LENGTH + 1) this.setLineMode(line.slice(this.MAX_LENGTH + 1));
  }
}

/** Twisted's FlippingLineTester: flips to raw mode after each line and back after one byte. */
class FlippingLineTester extends LineReceiver {
  override delimiter = '\n';
  lines: string[] = [];
  override lineReceived(line: string): void {
    this.lines.push(line);
    this.setRawMode();
  }
  override rawDataReceived(data: Buffer): void {
    this.setLineMode(data.subarray(1));
  }
}

/** Records every line; the data handed to lineLengthExceeded too (Twisted's ExcessivelyLargeLineCatcher). */
class Recorder extends LineReceiver {
  lines: string[] = [];
  raw: Buffer[] = [];
  longLines: string[] = [];
  override lineReceived(line: string): void {
    this.lines.push(line);
  }
  override rawDataReceived(data: Buffer): void {
    this.raw.push(Buffer.from(data));
  }
}

class ExcessivelyLargeLineCatcher extends Recorder {
  override lineLengthExceeded(line: string): void {
    this.longLines.push(line);
  }
}

function connected<P extends LineReceiver>(proto: P): [P, StringTransport] {
  const t = new StringTransport();
  proto.makeConnection(t);
  return [proto, t];
}

// ---------------------------------------------------------------------------
// LineReceiverTests
// ---------------------------------------------------------------------------

describe('LineReceiver (Twisted LineReceiverTests)', () => {
  const buffer = [
    'len 10',
    '',
    '0123456789len 5',
    '',
    '1234',
    'len 20',
    'foo 123',
    '',
    '0123456789',
    '012345678len 0',
    'foo 5',
    '',
    '1234567890123456789012345678901234567890123456789012345678901234567890',
    'len 1',
    '',
    'a',
  ].join('\n');

  const output = [
    'len 10',
    '0123456789',
    'len 5',
    '1234\n',
    'len 20',
    'foo 123',
    '0123456789\n012345678',
    'len 0',
    'foo 5',
    '',
    '67890',
    'len 1',
    'a',
  ];

  it('lines, raw bodies and over-long lines come out the same in every chunk size (test_buffer)', () => {
    for (const size of chunkSizes(buffer.length)) {
      const [a] = connected(new LineTester());
      feed(a, buffer, size);
      expect(a.received, `chunk size ${size}`).toEqual(output);
    }
  });

  const pauseBuf = 'twiddle1\ntwiddle2\npause\ntwiddle3\n';

  it('pauseProducing() inside lineReceived holds back the following lines until resumeProducing() (test_pausing)', () => {
    for (const size of chunkSizes(pauseBuf.length)) {
      const clock = new Clock();
      const [a, t] = connected(new LineTester(clock));
      feed(a, pauseBuf, size);
      expect(a.received, `chunk size ${size}`).toEqual(['twiddle1', 'twiddle2', 'pause']);
      expect(a.paused).toBe(true);
      expect(t.producerState).toBe('paused');
      clock.advance(0);
      expect(a.received, `chunk size ${size}`).toEqual(['twiddle1', 'twiddle2', 'pause', 'twiddle3']);
      expect(a.paused).toBe(false);
      expect(t.producerState).toBe('producing');
    }
  });

  const rawpauseBuf = 'twiddle1\ntwiddle2\nlen 5\nrawpause\n12345twiddle3\n';

  it('pausing while switching to raw mode holds back the raw bytes until resumed (test_rawPausing)', () => {
    for (const size of chunkSizes(rawpauseBuf.length)) {
      const clock = new Clock();
      const [a] = connected(new LineTester(clock));
      feed(a, rawpauseBuf, size);
      expect(a.received, `chunk size ${size}`).toEqual(['twiddle1', 'twiddle2', 'len 5', 'rawpause', '']);
      clock.advance(0);
      expect(a.received, `chunk size ${size}`).toEqual(['twiddle1', 'twiddle2', 'len 5', 'rawpause', '12345', 'twiddle3']);
    }
  });

  const stopBuf = 'twiddle1\ntwiddle2\nstop\nmore\nstuff\n';

  it('stopProducing() inside lineReceived delivers no further lines (test_stopProducing)', () => {
    for (const size of chunkSizes(stopBuf.length)) {
      const [a] = connected(new LineTester());
      // Fed to the end, as Twisted's test does: a stopped receiver ignores the rest.
      const bytes = Buffer.from(stopBuf);
      for (let i = 0; i <= Math.floor(bytes.length / size); i++) a.dataReceived(bytes.subarray(i * size, (i + 1) * size));
      expect(a.received, `chunk size ${size}`).toEqual(['twiddle1', 'twiddle2', 'stop']);
    }
  });

  it('a LineReceiver can register itself as the producer of its transport and unregister (test_lineReceiverAsProducer)', () => {
    const input = 'produce\nhello world\nunproduce\ngoodbye\n';
    for (const size of chunkSizes(input.length)) {
      const [a, t] = connected(new LineTester());
      feed(a, input, size);
      expect(a.received, `chunk size ${size}`).toEqual(['produce', 'hello world', 'unproduce', 'goodbye']);
      expect(t.producer).toBeUndefined();
    }
  });

  it('clearLineBuffer() called from lineReceived returns and drops the rest of the buffer (test_clearLineBuffer)', () => {
    class ClearingReceiver extends LineReceiver {
      line: string | undefined;
      rest: Buffer | undefined;
      override lineReceived(line: string): void {
        this.line = line;
        this.rest = this.clearLineBuffer();
      }
    }
    // One chunk, as in Twisted: what is cleared depends on what has arrived.
    const p = new ClearingReceiver();
    p.dataReceived(Buffer.from('foo\r\nbar\r\nbaz'));
    expect(p.line).toBe('foo');
    expect(p.rest!.toString()).toBe('bar\r\nbaz');
    // Another line proves the cleared data is really gone.
    p.dataReceived(Buffer.from('quux\r\n'));
    expect(p.line).toBe('quux');
    expect(p.rest!.toString()).toBe('');
  });

  it('clearLineBuffer() returns an unfinished line, whatever the chunking, and that line is never delivered', () => {
    const input = 'done\r\npartial li';
    for (const size of chunkSizes(input.length)) {
      const [p] = connected(new Recorder());
      feed(p, input, size);
      expect(p.clearLineBuffer().toString()).toBe('partial li');
      p.dataReceived(Buffer.from('ne\r\nnext\r\n'));
      expect(p.lines, `chunk size ${size}`).toEqual(['done', 'ne', 'next']);
    }
  });

  it('switching modes on every byte of a long input neither recurses nor loses data (test_stackRecursion)', () => {
    const n = 20_000;
    const [p] = connected(new FlippingLineTester());
    p.dataReceived(Buffer.from('x\nx'.repeat(n)));
    expect(p.lines.join('')).toBe('x'.repeat(n));
  });

  it('a line longer than MAX_LENGTH loses the connection by default (test_maximumLineLength)', () => {
    const input = `${'x'.repeat(16384 + 1)}\r\nr`;
    for (const size of [1, 7, 4096, input.length]) {
      const [p, t] = connected(new Recorder());
      expect(p.MAX_LENGTH).toBe(16384);
      feed(p, input, size);
      expect(t.disconnecting, `chunk size ${size}`).toBe(true);
      expect(p.lines).toEqual([]);
    }
  });

  it('a finished line exactly MAX_LENGTH long is delivered even when the delimiter arrives split (test_maximumLineLengthPartialDelimiter)', () => {
    for (const delimiter of ['\n', '\r\n']) {
      const p = new LineTester();
      p.delimiter = delimiter;
      p.MAX_LENGTH = 4;
      const t = new StringTransport();
      p.makeConnection(t);
      const line = 'x'.repeat(p.MAX_LENGTH - 1);
      p.dataReceived(Buffer.from(line));
      p.dataReceived(Buffer.from(delimiter.slice(0, -1)));
      p.dataReceived(Buffer.from(delimiter.slice(-1) + line));
      expect(t.disconnecting).toBe(false);
      expect(p.received).toEqual([line]);
    }
  });

  it('an unfinished MAX_LENGTH line followed by part of the delimiter does not lose the connection (test_notQuiteMaximumLineLengthUnfinished)', () => {
    const input = `${'x'.repeat(16384)}\r`;
    for (const size of [1, 3, 1000, input.length]) {
      const [p, t] = connected(new Recorder());
      feed(p, input, size);
      expect(t.disconnecting, `chunk size ${size}`).toBe(false);
    }
  });

  it('an unfinished line of MAX_LENGTH + len(delimiter) bytes loses the connection (test_maximumLineLengthRemaining)', () => {
    const input = 'x'.repeat(16384 + 2);
    for (const size of [1, 5, 8192, input.length]) {
      const [p, t] = connected(new Recorder());
      feed(p, input, size);
      expect(t.disconnecting, `chunk size ${size}`).toBe(true);
      expect(p.lines).toEqual([]);
    }
  });

  it('an error thrown by rawDataReceived propagates out of dataReceived, and the receiver keeps working (test_rawDataError)', () => {
    class Oops extends Recorder {
      fail = true;
      override rawDataReceived(data: Buffer): void {
        if (this.fail) throw new RangeError('oops');
        super.rawDataReceived(data);
      }
    }
    const [p] = connected(new Oops());
    p.setRawMode();
    expect(() => p.dataReceived(Buffer.from('data'))).toThrow(RangeError);
    p.fail = false;
    p.dataReceived(Buffer.from('more'));
    expect(Buffer.concat(p.raw).toString()).toBe('more');
  });

  it('an error thrown by lineReceived propagates, and later lines are still delivered', () => {
    class Picky extends Recorder {
      override lineReceived(line: string): void {
        if (line === 'bad') throw new Error('bad line');
        super.lineReceived(line);
      }
    }
    const [p] = connected(new Picky());
    expect(() => p.dataReceived(Buffer.from('bad\r\n'))).toThrow('bad line');
    p.dataReceived(Buffer.from('good\r\n'));
    expect(p.lines).toEqual(['good']);
  });

  it('rawDataReceived() and lineReceived() throw unless overridden (test_rawDataReceivedNotImplemented, test_lineReceivedNotImplemented)', () => {
    const p = new LineReceiver();
    expect(() => p.rawDataReceived(Buffer.from('foo'))).toThrow(/rawDataReceived/);
    expect(() => p.lineReceived('foo')).toThrow(/lineReceived/);
  });
});

// ---------------------------------------------------------------------------
// LineReceiverLineLengthExceededTests (MAX_LENGTH = 6). Each feeds one chunk,
// as Twisted's do: what lineLengthExceeded is given depends on what arrived.
// ---------------------------------------------------------------------------

describe('LineReceiver.lineLengthExceeded (Twisted LineReceiverLineLengthExceededTests)', () => {
  function catcher(): ExcessivelyLargeLineCatcher {
    const p = new ExcessivelyLargeLineCatcher();
    p.MAX_LENGTH = 6;
    p.makeConnection(new StringTransport());
    return p;
  }
  const excessive = 'x'.repeat(6 * 2 + 2);

  it('an unended line over MAX_LENGTH is passed whole to lineLengthExceeded (test_longUnendedLine)', () => {
    const p = catcher();
    p.dataReceived(Buffer.from(excessive));
    expect(p.longLines).toEqual([excessive]);
  });

  it('after a short line, the over-long rest is passed to lineLengthExceeded (test_longLineAfterShortLine)', () => {
    const p = catcher();
    p.dataReceived(Buffer.from(`x\r\n${excessive}`));
    expect(p.lines).toEqual(['x']);
    expect(p.longLines).toEqual([excessive]);
  });

  it('an over-long line with a delimiter after MAX_LENGTH passes the whole data (test_longLineWithDelimiter)', () => {
    const p = catcher();
    const data = [excessive, excessive].join('\r\n');
    p.dataReceived(Buffer.from(data));
    expect(p.longLines).toEqual([data]);
  });

  it('several over-long lines in one chunk are passed as one string (test_multipleLongLines)', () => {
    const p = catcher();
    const data = `${excessive}\r\n`.repeat(2);
    p.dataReceived(Buffer.from(data));
    expect(p.longLines).toEqual([data]);
  });

  it('in every chunking, an over-long line reaches lineLengthExceeded starting with the line, and no line is delivered from it', () => {
    const input = `ok\r\n${excessive}\r\n`;
    for (const size of chunkSizes(input.length)) {
      const p = catcher();
      feed(p, input, size);
      expect(p.lines[0], `chunk size ${size}`).toBe('ok');
      expect(p.longLines.length).toBeGreaterThan(0);
      expect(p.longLines[0]!.startsWith('xxxxxxx')).toBe(true);
      expect(p.lines.every((l) => l.length <= 6)).toBe(true);
    }
  });
});

// ---------------------------------------------------------------------------
// The contract's bullets, each in every chunk size
// ---------------------------------------------------------------------------

describe('LineReceiver framing', () => {
  it("splits on '\\r\\n' by default, including a delimiter split across chunks and empty lines", () => {
    const input = 'one\r\ntwo\r\n\r\nthree\r\n';
    for (const size of chunkSizes(input.length)) {
      const [p] = connected(new Recorder());
      feed(p, input, size);
      expect(p.lines, `chunk size ${size}`).toEqual(['one', 'two', '', 'three']);
    }
  });

  it('buffers a partial line until its delimiter arrives', () => {
    const [p] = connected(new Recorder());
    p.dataReceived(Buffer.from('hel'));
    p.dataReceived(Buffer.from('lo'));
    expect(p.lines).toEqual([]);
    p.dataReceived(Buffer.from('\r'));
    expect(p.lines).toEqual([]);
    p.dataReceived(Buffer.from('\n'));
    expect(p.lines).toEqual(['hello']);
  });

  it("with delimiter '\\n', a '\\r' stays part of the line", () => {
    const input = 'a\nb\r\nc\n';
    for (const size of chunkSizes(input.length)) {
      const p = new Recorder();
      p.delimiter = '\n';
      p.makeConnection(new StringTransport());
      feed(p, input, size);
      expect(p.lines, `chunk size ${size}`).toEqual(['a', 'b\r', 'c']);
    }
  });

  it('a Buffer delimiter (NUL) frames records', () => {
    const input = Buffer.from('rec1\0rec2\0\0rec3\0', 'latin1');
    for (const size of chunkSizes(input.length)) {
      const p = new Recorder();
      p.delimiter = Buffer.from([0]);
      p.makeConnection(new StringTransport());
      feed(p, input, size);
      expect(p.lines, `chunk size ${size}`).toEqual(['rec1', 'rec2', '', 'rec3']);
    }
  });

  it('a multi-byte delimiter is found across chunk boundaries', () => {
    const input = 'alpha<END>beta<END><EN<END>';
    for (const size of chunkSizes(input.length)) {
      const p = new Recorder();
      p.delimiter = '<END>';
      p.makeConnection(new StringTransport());
      feed(p, input, size);
      expect(p.lines, `chunk size ${size}`).toEqual(['alpha', 'beta', '<EN']);
    }
  });

  it('a delimiter changed from lineReceived applies to the very next line, in every chunking (Twisted reads self.delimiter on each split)', () => {
    class Switcher extends Recorder {
      override lineReceived(line: string): void {
        super.lineReceived(line);
        if (line === 'MODE LF') this.delimiter = '\n';
      }
    }
    const input = 'first\r\nMODE LF\r\na\nb\r\nc\n';
    for (const size of chunkSizes(input.length)) {
      const [p] = connected(new Switcher());
      feed(p, input, size);
      expect(p.lines, `chunk size ${size}`).toEqual(['first', 'MODE LF', 'a', 'b\r', 'c']);
    }
  });

  it('UTF-8 characters split across chunks decode whole', () => {
    const input = Buffer.from('héllo → wörld 🌍\r\nsecond ✓\r\n', 'utf8');
    for (const size of chunkSizes(input.length)) {
      const [p] = connected(new Recorder());
      feed(p, input, size);
      expect(p.lines, `chunk size ${size}`).toEqual(['héllo → wörld 🌍', 'second ✓']);
    }
  });

  it('MAX_LENGTH counts bytes, not characters', () => {
    for (const size of [1, 2, 3, 100]) {
      const p = new Recorder();
      p.MAX_LENGTH = 4;
      const t = new StringTransport();
      p.makeConnection(t);
      feed(p, Buffer.from('éé\r\n', 'utf8'), size); // 4 bytes: accepted
      expect(p.lines).toEqual(['éé']);
      expect(t.disconnecting).toBe(false);
      feed(p, Buffer.from('ééx\r\n', 'utf8'), size); // 5 bytes: too long
      expect(t.disconnecting, `chunk size ${size}`).toBe(true);
      expect(p.lines).toEqual(['éé']);
    }
  });

  it('a line of exactly MAX_LENGTH bytes is delivered in every chunking; one byte more loses the connection', () => {
    for (const delimiter of ['\r\n', '\n']) {
      const exact = `${'y'.repeat(10)}${delimiter}`;
      const over = `${'z'.repeat(11)}${delimiter}`;
      for (const size of chunkSizes(exact.length)) {
        const p = new Recorder();
        p.delimiter = delimiter;
        p.MAX_LENGTH = 10;
        const t = new StringTransport();
        p.makeConnection(t);
        feed(p, exact, size);
        expect(p.lines, `exact, chunk size ${size}, delimiter ${JSON.stringify(delimiter)}`).toEqual(['y'.repeat(10)]);
        expect(t.disconnecting).toBe(false);
        feed(p, over, size);
        expect(t.disconnecting, `over, chunk size ${size}, delimiter ${JSON.stringify(delimiter)}`).toBe(true);
        expect(p.lines).toEqual(['y'.repeat(10)]);
      }
    }
  });

  it('setRawMode() in lineReceived sends the rest of the input to rawDataReceived, whatever the chunking', () => {
    class Header extends Recorder {
      override lineReceived(line: string): void {
        super.lineReceived(line);
        if (line === '') this.setRawMode();
      }
    }
    const body = Buffer.from([0, 1, 2, 255, 13, 10, 65, 13, 10]);
    const input = Buffer.concat([Buffer.from('GET /\r\nHost: x\r\n\r\n'), body]);
    for (const size of chunkSizes(input.length)) {
      const [p] = connected(new Header());
      feed(p, input, size);
      expect(p.lines, `chunk size ${size}`).toEqual(['GET /', 'Host: x', '']);
      expect(Buffer.concat(p.raw).equals(body), `chunk size ${size}`).toBe(true);
      expect(p.lineMode).toBe(false);
    }
  });

  it('setLineMode(extra) from rawDataReceived parses the extra bytes as lines, in order', () => {
    // A length-prefixed body: "BODY n" then n raw bytes, then lines again.
    class Bodies extends Recorder {
      remaining = 0;
      bodies: string[] = [];
      private _body: Buffer[] = [];
      override lineReceived(line: string): void {
        super.lineReceived(line);
        const m = /^BODY (\d+)$/.exec(line);
        if (m) {
          this.remaining = Number(m[1]);
          this._body = [];
          this.setRawMode();
        }
      }
      override rawDataReceived(data: Buffer): void {
        const take = data.subarray(0, this.remaining);
        this._body.push(Buffer.from(take));
        this.remaining -= take.length;
        if (this.remaining === 0) {
          this.bodies.push(Buffer.concat(this._body).toString());
          this.setLineMode(data.subarray(take.length));
        }
      }
    }
    const input = 'BODY 5\r\nab\r\ncafter\r\nBODY 3\r\nxyzlast\r\n';
    for (const size of chunkSizes(input.length)) {
      const [p] = connected(new Bodies());
      feed(p, input, size);
      expect(p.lines, `chunk size ${size}`).toEqual(['BODY 5', 'after', 'BODY 3', 'last']);
      expect(p.bodies).toEqual(['ab\r\nc', 'xyz']);
      expect(p.raw).toEqual([]);
    }
  });

  it('setLineMode(extra) called from outside dataReceived delivers the lines in extra at once', () => {
    const [p] = connected(new Recorder());
    p.setRawMode();
    p.setLineMode('one\r\ntwo\r\npart');
    expect(p.lines).toEqual(['one', 'two']);
    expect(p.clearLineBuffer().toString()).toBe('part');
  });

  it('pauseProducing() holds lines back (and pauses the transport); resumeProducing() delivers what was buffered', () => {
    const input = 'a\r\nb\r\nc\r\n';
    for (const size of chunkSizes(input.length)) {
      const [p, t] = connected(new Recorder());
      p.pauseProducing();
      expect(t.producerState).toBe('paused');
      feed(p, input, size);
      expect(p.lines).toEqual([]);
      p.resumeProducing();
      expect(t.producerState).toBe('producing');
      expect(p.lines, `chunk size ${size}`).toEqual(['a', 'b', 'c']);
    }
  });

  it('stopProducing() stops delivery for good and closes the connection', () => {
    const [p, t] = connected(new Recorder());
    p.dataReceived(Buffer.from('a\r\n'));
    p.stopProducing();
    p.dataReceived(Buffer.from('b\r\n'));
    expect(p.lines).toEqual(['a']);
    expect(t.disconnecting || t.producerState === 'stopped').toBe(true);
  });

  it('stops delivering lines once the transport is disconnecting (lineReceived called loseConnection)', () => {
    class Quitter extends Recorder {
      override lineReceived(line: string): void {
        super.lineReceived(line);
        if (line === 'QUIT') this.transport!.loseConnection();
      }
    }
    const input = 'hello\r\nQUIT\r\nafter1\r\nafter2\r\n';
    for (const size of chunkSizes(input.length)) {
      const [p, t] = connected(new Quitter());
      feed(p, input, size);
      expect(t.disconnecting).toBe(true);
      expect(p.lines, `chunk size ${size}`).toEqual(['hello', 'QUIT']);
    }
  });

  it('sendLine() writes the line and the delimiter; strings are encoded, Buffers written as they are', () => {
    const [p, t] = connected(new Recorder());
    p.sendLine('hello');
    p.sendLine('wörld');
    p.sendLine(Buffer.from([0xff, 0x00]));
    expect(t.value().equals(Buffer.concat([Buffer.from('hello\r\nwörld\r\n', 'utf8'), Buffer.from([0xff, 0x00, 13, 10])]))).toBe(true);
  });

  it("sendLine() uses a custom delimiter ('\\n')", () => {
    const p = new Recorder();
    p.delimiter = '\n';
    const t = new StringTransport();
    p.makeConnection(t);
    p.sendLine('a');
    p.sendLine('');
    p.sendLine('b');
    expect(t.value().toString()).toBe('a\n\nb\n');
  });

  it('sendLine() output parses back to the same lines in every chunking (round trip)', () => {
    const lines = ['first', '', 'with spaces and ünïcödé', 'x'.repeat(100)];
    const [sender, t] = connected(new Recorder());
    for (const l of lines) sender.sendLine(l);
    const wire = t.value();
    for (const size of chunkSizes(wire.length)) {
      const [p] = connected(new Recorder());
      feed(p, wire, size);
      expect(p.lines, `chunk size ${size}`).toEqual(lines);
    }
  });

  it('an echo server answers each line as it is completed', () => {
    class Upper extends LineReceiver {
      override lineReceived(line: string): void {
        this.sendLine(line.toUpperCase());
      }
    }
    const input = 'abc\r\ndef\r\n';
    for (const size of chunkSizes(input.length)) {
      const [p, t] = connected(new Upper());
      feed(p, input.slice(0, 4), size);
      expect(t.value().toString()).toBe('');
      feed(p, input.slice(4), size);
      expect(t.value().toString(), `chunk size ${size}`).toBe('ABC\r\nDEF\r\n');
    }
  });
});
