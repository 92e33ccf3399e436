import { describe, expect, it } from 'vitest';
import { Relay } from 'wirecat';
import { Clock, StringTransport } from 'wirecat/testing';

/** A transport whose "socket" reports `queued` bytes still unwritten after each write. */
class SocketLikeTransport extends StringTransport {
  readonly socket = { writableLength: 0 };
  constructor(private readonly queued: number) {
    super();
  }
  override write(data: Buffer | string): void {
    super.write(data);
    this.socket.writableLength = this.queued;
  }
}

function joined(b: StringTransport, opts: Partial<ConstructorParameters<typeof Relay>[0]> = {}) {
  const relay = new Relay({ clock: new Clock(), checksum: false, ...opts });
  relay.a.makeConnection(new StringTransport());
  relay.b.makeConnection(b);
  return relay;
}

describe('RelaySide.dataReceivedBorrowed()', () => {
  it('returns true when the other side wrote the chunk at once, and the bytes arrive', () => {
    const b = new SocketLikeTransport(0);
    const relay = joined(b);
    expect(relay.a.dataReceivedBorrowed(Buffer.from('hello'))).toBe(true);
    expect(b.value().toString()).toBe('hello');
  });

  it('returns false while the other side still has bytes queued (the chunk is referenced)', () => {
    const relay = joined(new SocketLikeTransport(5));
    expect(relay.a.dataReceivedBorrowed(Buffer.from('hello'))).toBe(false);
  });

  it('returns false when the other transport cannot tell (no socket)', () => {
    const relay = joined(new StringTransport());
    expect(relay.a.dataReceivedBorrowed(Buffer.from('hello'))).toBe(false);
  });

  it('returns false with a tap (it may keep the chunk)', () => {
    const relay = joined(new SocketLikeTransport(0), { tap: () => undefined });
    expect(relay.a.dataReceivedBorrowed(Buffer.from('hello'))).toBe(false);
  });

  it('returns true when a transform made a copy, even if the copy is queued', () => {
    const b = new SocketLikeTransport(7);
    const relay = joined(b, { transform: { a: (c) => Buffer.concat([c, Buffer.from('!')]) } });
    expect(relay.a.dataReceivedBorrowed(Buffer.from('hello'))).toBe(true);
    expect(b.value().toString()).toBe('hello!');
  });

  it('returns false when a transform gave a view of the chunk and the socket queued it', () => {
    const b = new SocketLikeTransport(7);
    const relay = joined(b, { transform: { a: (c) => c.subarray(0, c.length - 1) } });
    expect(relay.a.dataReceivedBorrowed(Buffer.from('hello\r'))).toBe(false);
    expect(b.value().toString()).toBe('hello');
  });

  it('returns true for bytes discarded by the direction (b-to-a drops what a sends)', () => {
    const b = new SocketLikeTransport(5);
    const relay = joined(b, { direction: 'b-to-a' });
    expect(relay.a.dataReceivedBorrowed(Buffer.from('hello'))).toBe(true);
    expect(b.value().length).toBe(0);
  });
});
