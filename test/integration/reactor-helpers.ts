/**
 * Helpers for the reactor's real-socket tests: protocols that record what
 * happens to them, factories that hand out the protocols they build, bounded
 * waits, and a cleanup list so that no socket outlives its test.
 */
import net from 'node:net';
import { ClientFactory, Factory, Protocol, type Address, type Failure, type IConnector, type IListeningPort } from 'wirecat';

// One bounded wait and one signal for every integration test: see requirements.ts.
import { Signal, within } from './requirements.js';

export { Signal, within };

/** A short description of a Failure for event logs: the error's class name. */
export function reasonName(f: Failure): string {
  const v = f.value as { name?: string; constructor?: { name?: string } };
  return v?.name ?? v?.constructor?.name ?? String(f.value);
}

/**
 * A protocol that records its events and bytes. It has no
 * `readConnectionLost`, so the peer's EOF closes it (as in Twisted).
 */
export class Recorder extends Protocol {
  readonly events: string[] = [];
  readonly chunks: Buffer[] = [];
  readonly made = new Signal<void>();
  readonly lost = new Signal<Failure>();
  private _waiters: { n: number; s: Signal<Buffer> }[] = [];
  private _total = 0;

  override connectionMade(): void {
    this.events.push('connectionMade');
    this.made.fire();
  }

  override dataReceived(data: Buffer): void {
    this.chunks.push(Buffer.from(data));
    this._total += data.length;
    this.events.push(`data:${data.length}`);
    this._waiters = this._waiters.filter((w) => {
      if (this._total < w.n) return true;
      w.s.fire(this.received());
      return false;
    });
  }

  override connectionLost(reason: Failure): void {
    this.events.push(`connectionLost:${reasonName(reason)}`);
    this.lost.fire(reason);
    for (const w of this._waiters) w.s.fire(this.received());
    this._waiters = [];
  }

  /** Everything received so far. */
  received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Bytes received so far. */
  get total(): number {
    return this._total;
  }

  /** Resolves once at least `n` bytes arrived (or the connection is lost). */
  waitForBytes(n: number): Promise<Buffer> {
    if (this._total >= n || this.lost.fired) return Promise.resolve(this.received());
    const s = new Signal<Buffer>();
    this._waiters.push({ n, s });
    return s.promise;
  }

  /** Only the data events, compressed to one `data` marker per run. */
  milestones(): string[] {
    const out: string[] = [];
    for (const e of this.events) {
      const m = e.startsWith('data:') ? 'data' : e;
      if (m === 'data' && out[out.length - 1] === 'data') continue;
      out.push(m);
    }
    return out;
  }
}

/** A Recorder that can half-close: it is told of each direction's close. */
export class HalfCloseRecorder extends Recorder {
  readonly readLost = new Signal<void>();
  readonly writeLost = new Signal<void>();
  override readConnectionLost(): void {
    this.events.push('readConnectionLost');
    this.readLost.fire();
  }
  override writeConnectionLost(): void {
    this.events.push('writeConnectionLost');
    this.writeLost.fire();
  }
}

/** Echoes every byte back. */
export class Echo extends Recorder {
  override dataReceived(data: Buffer): void {
    super.dataReceived(data);
    this.transport!.write(data);
  }
}

/** A server factory that builds `make()` and lets tests await the n-th protocol. */
export class CollectingFactory<P extends Protocol> extends Factory {
  readonly built: P[] = [];
  readonly addrs: Address[] = [];
  starts = 0;
  stops = 0;
  private _waiters: { i: number; s: Signal<P> }[] = [];
  constructor(private readonly _make: () => P | undefined) {
    super();
  }
  override startFactory(): void {
    this.starts++;
  }
  override stopFactory(): void {
    this.stops++;
  }
  override buildProtocol(addr: Address): P | undefined {
    const p = this._make();
    this.addrs.push(addr);
    if (p === undefined) return undefined;
    p.factory = this;
    this.built.push(p);
    this._waiters = this._waiters.filter((w) => {
      if (this.built.length <= w.i) return true;
      w.s.fire(this.built[w.i]!);
      return false;
    });
    return p;
  }
  /** The i-th protocol built (from 0), once it is. */
  nth(i = 0): Promise<P> {
    if (this.built.length > i) return Promise.resolve(this.built[i]!);
    const s = new Signal<P>();
    this._waiters.push({ i, s });
    return s.promise;
  }
}

/** A client factory that records every notification. */
export class RecordingClientFactory<P extends Protocol> extends ClientFactory {
  readonly events: string[] = [];
  readonly built: P[] = [];
  readonly failures: Failure[] = [];
  readonly connected = new Signal<P>();
  readonly failed = new Signal<Failure>();
  readonly lostSignal = new Signal<Failure>();
  starts = 0;
  stops = 0;
  constructor(private readonly _make: () => P) {
    super();
  }
  override startFactory(): void {
    this.starts++;
    this.events.push('startFactory');
  }
  override stopFactory(): void {
    this.stops++;
    this.events.push('stopFactory');
  }
  override startedConnecting(_c: IConnector): void {
    this.events.push('startedConnecting');
  }
  override buildProtocol(_addr: Address): P {
    const p = this._make();
    p.factory = this;
    this.built.push(p);
    this.events.push('buildProtocol');
    const orig = p.connectionMade.bind(p);
    p.connectionMade = () => {
      orig();
      this.connected.fire(p);
    };
    return p;
  }
  override clientConnectionFailed(_c: IConnector, reason: Failure): void {
    this.events.push(`clientConnectionFailed:${reasonName(reason)}`);
    this.failures.push(reason);
    this.failed.fire(reason);
  }
  override clientConnectionLost(_c: IConnector, reason: Failure): void {
    this.events.push(`clientConnectionLost:${reasonName(reason)}`);
    this.lostSignal.fire(reason);
  }
}

/** Abort `p`'s connection if still open, and (for a Recorder) wait until it is gone. */
export async function closeProtocol(p: Protocol): Promise<void> {
  if (p.connected) p.transport?.abortConnection();
  if (p instanceof Recorder) await within(p.lost.promise, 'connectionLost at cleanup', 2000);
}

/** Things to close after each test, whatever happened. */
export class Cleanup {
  private _fns: (() => unknown)[] = [];
  add(fn: () => unknown): void {
    this._fns.push(fn);
  }
  port<P extends IListeningPort>(p: P): P {
    this.add(() => p.stopListening());
    return p;
  }
  /** Close `p`'s connection at cleanup (see {@link closeProtocol}). */
  protocol<P extends Protocol>(p: P): P {
    this.add(() => closeProtocol(p));
    return p;
  }
  async run(): Promise<void> {
    const fns = this._fns.reverse();
    this._fns = [];
    for (const fn of fns) {
      try {
        await within(Promise.resolve(fn()), 'cleanup', 2000);
      } catch {
        // best effort
      }
    }
  }
}

/** A TCP port on `host` that nothing listens on right now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Whether this machine can listen on the IPv6 loopback. */
export function haveIPv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(0, '::1', () => s.close(() => resolve(true)));
  });
}
