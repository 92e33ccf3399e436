import { describe, expect, it } from 'vitest';
import { type DatagramSource, LineSplitter, SendPacer, UsageError, checkUDPSendOptions, decodeHex } from 'wirecat';
import { Clock } from 'wirecat/testing';

/** A source of `n` numbered datagrams, or of what a test pushes into it. */
class ListSource implements DatagramSource {
  readonly items: Buffer[] = [];
  ended = false;
  constructor(n = 0) {
    for (let i = 0; i < n; i++) this.items.push(Buffer.from(String(i)));
    this.ended = n > 0;
  }
  shift(): Buffer | undefined {
    return this.items.shift();
  }
  get exhausted(): boolean {
    return this.ended && this.items.length === 0;
  }
}

/** A send function that records what was sent and when, and holds the callbacks. */
function recorder(clock: Clock, confirmAtOnce: boolean) {
  const sent: { at: number; data: string; confirmed: boolean }[] = [];
  const pending: ((err?: Error | null) => void)[] = [];
  const send = (d: Buffer, done: ((err?: Error | null) => void) | undefined) => {
    sent.push({ at: clock.now(), data: d.toString(), confirmed: done !== undefined });
    if (done === undefined) return;
    if (confirmAtOnce) done(null);
    else pending.push(done);
  };
  return { sent, pending, send };
}

describe('decodeHex()', () => {
  it('decodeHex() takes pairs with spaces, colons or 0x, in either case', () => {
    expect(decodeHex('deadbeef')).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    expect(decodeHex('de ad\tBE ef')).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    expect(decodeHex('de:ad:be:ef')).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    expect(decodeHex('0x0102')).toEqual(Buffer.from([1, 2]));
    expect(decodeHex('')).toEqual(Buffer.alloc(0));
  });

  it('decodeHex() rejects a non-hex character or an odd digit count with a UsageError naming the input', () => {
    expect(() => decodeHex('zz', 'message 2')).toThrow(new UsageError("--hex: message 2 has 'z', which is not a hex digit (give pairs like 'de ad be ef')"));
    expect(() => decodeHex('abc', 'line 3 of stdin')).toThrow(new UsageError('--hex: line 3 of stdin has an odd number of hex digits (3)'));
  });
});

describe('LineSplitter', () => {
  const input = 'one\ntwo\r\n\nthree\r\nfour';

  it('push() gives lines without LF or CRLF endings, in any chunking down to one byte', () => {
    for (const size of [1, 2, 3, 5, 64]) {
      const s = new LineSplitter(100);
      const lines: string[] = [];
      const bytes = Buffer.from(input);
      for (let i = 0; i < bytes.length; i += size) s.push(bytes.subarray(i, i + size), (l) => lines.push(l.toString()));
      const last = s.end();
      if (last !== undefined) lines.push(last.toString());
      expect(lines, `chunks of ${size}`).toEqual(['one', 'two', '', 'three', 'four']);
      expect(s.lines).toBe(5);
    }
  });

  it('push() throws a UsageError once a line grows past maxLength, without waiting for its end', () => {
    const lines: string[] = [];
    const onLine = (l: Buffer) => lines.push(l.toString());
    const s = new LineSplitter(4);
    s.push(Buffer.from('abcd\n'), onLine);
    s.push(Buffer.from('abcd\r'), onLine); // the LF of a CRLF may follow
    expect(lines).toEqual(['abcd']);
    expect(() => s.push(Buffer.from('e'), onLine)).toThrow(new UsageError('line 2 of stdin is longer than a UDP datagram can be (4 bytes)'));
    const t = new LineSplitter(4);
    expect(() => t.push(Buffer.from('ok\nabcdef\n'), onLine)).toThrow(new UsageError('line 2 of stdin is 6 bytes, larger than a UDP datagram can be (4 bytes)'));
    expect(lines).toEqual(['abcd', 'ok']); // the lines before the bad one were given out
  });

  it('end() gives the last line without an ending, or undefined', () => {
    const s = new LineSplitter(10);
    s.push(Buffer.from('x\n'), () => undefined);
    expect(s.end()).toBeUndefined();
    s.push(Buffer.from('y'), () => undefined);
    expect(s.end()).toEqual(Buffer.from('y'));
  });
});

describe('checkUDPSendOptions()', () => {
  const base = { host: 'h', port: 1 };
  it('checkUDPSendOptions() turns messages into datagrams, hex-decoded with hex', () => {
    expect(checkUDPSendOptions({ ...base, messages: ['a', 'bc'] }, 100)).toEqual([Buffer.from('a'), Buffer.from('bc')]);
    expect(checkUDPSendOptions({ ...base, messages: ['41 42'], hex: true }, 100)).toEqual([Buffer.from('AB')]);
  });

  it('checkUDPSendOptions() refuses what cannot be sent, with one clear message each', () => {
    const bad: [object, string][] = [
      [{ messages: ['x'.repeat(101)] }, 'message 1 is 101 bytes, larger than a UDP datagram can be (100 bytes)'],
      [{ count: 0 }, "--count needs a whole number >= 1, not '0'"],
      [{ count: 1.5 }, "--count needs a whole number >= 1, not '1.5'"],
      [{ rate: 0 }, "--rate needs a number of datagrams per second > 0, not '0'"],
      [{ intervalMs: 5, rate: 5 }, '--interval and --rate are two ways to say the same thing: give one'],
      [{ ttl: 256 }, "--ttl needs a whole number from 0 to 255, not '256'"],
      [{ whole: true, messages: ['x'] }, '--whole reads stdin as one datagram; it takes no MESSAGE arguments'],
    ];
    for (const [opts, message] of bad) expect(() => checkUDPSendOptions({ ...base, ...opts }, 100)).toThrow(new UsageError(message));
  });
});

describe('SendPacer', () => {
  it('SendPacer unpaced keeps at most `window` sends in flight; each confirmation lets one more go', () => {
    const clock = new Clock();
    const r = recorder(clock, false);
    const pacer = new SendPacer({ clock, window: 4, send: r.send }, new ListSource(10));
    pacer.kick();
    expect(r.sent).toHaveLength(4);
    r.pending.shift()!(null);
    expect(r.sent).toHaveLength(5);
    while (r.pending.length > 0) r.pending.shift()!(null);
    expect(r.sent.map((s) => s.data)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(pacer.done.called).toBe(true);
    expect(pacer.sent).toBe(10);
    expect(pacer.bytes).toBe(10);
  });

  it('SendPacer paced sends datagram n at start + n x period, never before', () => {
    const clock = new Clock();
    const r = recorder(clock, true);
    const pacer = new SendPacer({ clock, periodMs: 10, send: r.send }, new ListSource(5));
    pacer.kick();
    expect(r.sent).toHaveLength(1);
    clock.advance(9.9);
    expect(r.sent).toHaveLength(1);
    clock.advance(0.1);
    expect(r.sent).toHaveLength(2);
    clock.pump([10, 10, 10]);
    expect(r.sent.map((s) => s.at)).toEqual([0, 10, 20, 30, 40]);
    expect(pacer.done.called).toBe(true);
  });

  it('SendPacer sends every datagram due by the clock at once when it wakes late (the rate holds)', () => {
    const clock = new Clock();
    const r = recorder(clock, true);
    const pacer = new SendPacer({ clock, periodMs: 10, send: r.send }, new ListSource(100));
    pacer.kick();
    clock.advance(35); // one late wake-up: datagrams 1, 2, 3 were due
    expect(r.sent).toHaveLength(4);
    expect(r.sent.slice(1).map((s) => s.at)).toEqual([35, 35, 35]);
    clock.advance(5);
    expect(r.sent).toHaveLength(5); // datagram 4 at 40, on the original schedule
  });

  it('SendPacer at 1000/s over 10,000 datagrams with an irregular clock: always floor(t) + 1 sent, the last at 9999 ms', () => {
    const clock = new Clock();
    const r = recorder(clock, true);
    const pacer = new SendPacer({ clock, periodMs: 1, send: r.send }, new ListSource(10_000));
    pacer.kick();
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    while (!pacer.done.called) {
      clock.advance(0.3 + rand() * 7);
      expect(r.sent.length).toBe(Math.min(10_000, Math.floor(clock.now() + 1e-9) + 1));
    }
    expect(r.sent[9_999]!.at).toBeGreaterThanOrEqual(9_999);
    expect(r.sent[9_999]!.at).toBeLessThan(9_999 + 7.3);
  });

  it('SendPacer with a full window sends nothing until a confirmation, then catches up to the clock', () => {
    const clock = new Clock();
    const r = recorder(clock, false);
    const pacer = new SendPacer({ clock, periodMs: 1, window: 2, send: r.send }, new ListSource(10));
    pacer.kick();
    clock.advance(5);
    expect(r.sent).toHaveLength(2);
    r.pending.shift()!(null);
    expect(r.sent).toHaveLength(3);
    r.pending.shift()!(null);
    r.pending.shift()!(null);
    expect(r.sent.map((s) => s.at)).toEqual([0, 5, 5, 5, 5]);
    expect(pacer.done.called).toBe(false);
  });

  it('SendPacer does not burst after its source ran dry (stdin was quiet): the schedule moves on', () => {
    const clock = new Clock();
    const r = recorder(clock, true);
    const source = new ListSource();
    const pacer = new SendPacer({ clock, periodMs: 10, send: r.send }, source);
    source.items.push(Buffer.from('a'));
    pacer.kick();
    clock.advance(1000);
    source.items.push(Buffer.from('b'), Buffer.from('c'), Buffer.from('d'));
    pacer.kick();
    expect(r.sent.map((s) => [s.data, s.at])).toEqual([['a', 0], ['b', 1000]]);
    clock.pump([10, 10]);
    expect(r.sent.map((s) => [s.data, s.at])).toEqual([['a', 0], ['b', 1000], ['c', 1010], ['d', 1020]]);
    source.ended = true;
    pacer.kick();
    expect(pacer.done.called).toBe(true);
  });

  it('SendPacer fails done with the first send error and sends nothing more', () => {
    const clock = new Clock();
    const r = recorder(clock, false);
    const pacer = new SendPacer({ clock, window: 3, send: r.send }, new ListSource(10));
    pacer.kick();
    const err = new Error('EACCES');
    r.pending.shift()!(err);
    r.pending.shift()!(null);
    expect(r.sent).toHaveLength(3);
    let failure: unknown;
    pacer.done.addErrback((f) => {
      failure = f.value;
    });
    expect(failure).toBe(err);
  });

  it('SendPacer with confirmEvery asks for a callback every N sends, where the window fills and at the end of a burst', () => {
    const clock = new Clock();
    const r = recorder(clock, false);
    const source = new ListSource(10);
    source.ended = false;
    const pacer = new SendPacer({ clock, window: 6, confirmEvery: 4, send: r.send }, source);
    pacer.kick();
    // 4: every 4th; 6: the window is full.
    expect(r.sent.filter((s) => s.confirmed).map((s) => s.data)).toEqual(['3', '5']);
    r.pending.shift()!(null); // covers 0-3: four more may go
    expect(pacer.confirmed).toBe(4);
    // 7 and 9: the window is full again (after 4 and 6 are confirmed).
    expect(r.sent.map((s) => `${s.data}${s.confirmed ? '!' : ''}`)).toEqual(['0', '1', '2', '3!', '4', '5!', '6', '7', '8', '9!']);
    r.pending.shift()!(null);
    expect(pacer.confirmed).toBe(6);
    // The source ran dry after 9 (it has not ended): that send had its callback, so nothing is left unconfirmed.
    source.items.push(Buffer.from('10'));
    pacer.kick();
    expect(r.sent.at(-1)).toMatchObject({ data: '10', confirmed: true });
    source.ended = true;
    while (r.pending.length > 0) r.pending.shift()!(null);
    expect(pacer.confirmed).toBe(11);
    expect(pacer.done.called).toBe(true);
  });

  it('SendPacer with confirmEachFirst confirms each of the first N sends, then every confirmEvery-th', () => {
    const clock = new Clock();
    const r = recorder(clock, true);
    const pacer = new SendPacer({ clock, window: 64, confirmEvery: 4, confirmEachFirst: 3, send: r.send }, new ListSource(12));
    pacer.kick();
    expect(r.sent.map((s) => `${s.data}${s.confirmed ? '!' : ''}`)).toEqual(['0!', '1!', '2!', '3', '4', '5', '6!', '7', '8', '9', '10!', '11!']);
    expect(pacer.done.called).toBe(true);
  });

  it('SendPacer with confirmEvery fails done with an error from a later callback', () => {
    const clock = new Clock();
    const r = recorder(clock, false);
    const pacer = new SendPacer({ clock, window: 64, confirmEvery: 8, send: r.send }, new ListSource(20));
    pacer.kick();
    expect(r.sent).toHaveLength(20);
    expect(r.pending).toHaveLength(3); // 8, 16, 20
    const err = new Error('EPERM');
    r.pending.shift()!(null);
    r.pending.shift()!(err);
    let failure: unknown;
    pacer.done.addErrback((f) => {
      failure = f.value;
    });
    expect(failure).toBe(err);
  });

  it('SendPacer with callbacks that run at once sends 100,000 datagrams without deep recursion', () => {
    const clock = new Clock();
    const r = recorder(clock, true);
    const pacer = new SendPacer({ clock, window: 1, send: r.send }, new ListSource(100_000));
    pacer.kick();
    expect(r.sent).toHaveLength(100_000);
    expect(pacer.done.called).toBe(true);
  });
});
