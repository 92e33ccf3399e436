/**
 * The many-client side of `listen -k`: a hub that routes bytes between
 * the listener's stdio and every client, in four modes.
 *
 * - `hub`: stdin goes to every client; every client's data goes to stdout.
 * - `broker`: as `hub`, and each client's data also goes to every other client.
 * - `chat`: as `broker`, line by line, each line prefixed `<userN> `.
 * - `echo`: each client's data goes back to that client (stdio takes no part).
 *
 * A slow client cannot make the hub buffer without bound: while any
 * client's write buffer is over its high-water mark, the senders are paused.
 *
 * @module
 */

import { StringDecoder } from 'node:string_decoder';
import { Failure } from './defer.js';
import { diagnosticsOptions } from './diagnostics.js';
import { Protocol } from './protocol.js';
import type { IPushProducer } from './protocol.js';

/** Chat: the longest line held while waiting for its end (characters); longer ones are cut. */
export const MAX_CHAT_LINE = 16 * 1024;

/** The hub's routing. */
export type HubMode = 'hub' | 'broker' | 'chat' | 'echo';

/** Options of {@link Hub}. */
export interface HubOptions {
  mode: HubMode;
  /** Clients only receive (stdin is not sent to them) — `--recv-only`. */
  recvOnly?: boolean;
  /** Clients' data is not written out — `--send-only`. */
  sendOnly?: boolean;
  /** Rewrite stdin before it goes out (`--crlf`). */
  transformIn?: (chunk: Buffer) => Buffer;
  /** Each chunk seen: 'a' = from stdin, 'b' = from a client. */
  tap?: (from: 'a' | 'b', chunk: Buffer) => void;
  /** Called when a client leaves. */
  onClientLost?: (client: HubClient, reason: Failure) => void;
}

/**
 * One client of the hub.
 */
export class HubClient extends Protocol {
  /** Its number, for `<userN>` and events. */
  readonly n: number;
  private _partial = '';
  private readonly _decoder = new StringDecoder('utf8');

  /** @internal */
  constructor(
    private readonly _hub: Hub,
    n: number,
  ) {
    super();
    this.n = n;
  }

  override connectionMade(): void {
    this._hub._joined(this);
  }

  override dataReceived(data: Buffer): void {
    this._hub._fromClient(this, data);
  }

  override readConnectionLost(): void {
    // A client that half-closes has nothing more to say; its answers are done too.
    this._hub._clientEof(this);
  }

  override connectionLost(reason: Failure): void {
    this._hub._left(this, reason);
  }

  /** @internal Chat: complete lines from this client (a line longer than 16 KiB is cut into pieces). */
  _lines(data: Buffer): string[] {
    const parts = this._decoder.write(data).split('\n');
    parts[0] = this._partial + parts[0];
    let rest = parts.pop() ?? '';
    const lines = parts.map((l) => l.replace(/\r$/, ''));
    while (rest.length > MAX_CHAT_LINE) {
      lines.push(rest.slice(0, MAX_CHAT_LINE));
      rest = rest.slice(MAX_CHAT_LINE);
    }
    this._partial = rest;
    return lines;
  }
}

/**
 * The listener's own stdio as a participant.
 */
export class HubStdio extends Protocol {
  constructor(private readonly _hub: Hub) {
    super();
  }

  override connectionMade(): void {
    this.transport!.registerProducer(this._hub._producerFor(this), true);
  }

  override dataReceived(data: Buffer): void {
    this._hub._fromStdin(data);
  }

  override readConnectionLost(): void {
    // stdin at EOF (a service with stdin on /dev/null) ends nothing.
  }

  override connectionLost(_reason: Failure): void {}
}

/**
 * Routes bytes among the listener's stdio and its clients.
 */
export class Hub {
  /** The clients connected now. */
  readonly clients = new Set<HubClient>();
  /** The stdio participant (connect it to a StdioTransport). */
  readonly stdio: HubStdio;
  private readonly _opts: HubOptions;
  private _next = 1;
  private readonly _full_ = new Set<object>();

  constructor(opts: HubOptions) {
    this._opts = opts;
    this.stdio = new HubStdio(this);
  }

  /** @returns A new client protocol, for a factory's `buildProtocol`. */
  newClient(): HubClient {
    return new HubClient(this, this._next++);
  }

  // Backpressure: each destination (a client, or stdout) tells the hub when
  // its buffer is full; while any is full, every source is paused.

  /** @internal A destination became full (or drained, or went away). */
  _full(who: object, full: boolean): void {
    const was = this._full_.size > 0;
    if (full) this._full_.add(who);
    else this._full_.delete(who);
    const now = this._full_.size > 0;
    if (was === now) return;
    const sources = [this.stdio, ...this.clients];
    for (const p of sources) {
      if (now) p.transport?.pauseProducing();
      else p.transport?.resumeProducing();
    }
  }

  /** @internal A producer object that reports one destination's fullness. */
  _producerFor(who: object): IPushProducer {
    return {
      pauseProducing: () => this._full(who, true),
      resumeProducing: () => this._full(who, false),
      stopProducing: () => this._full(who, false),
    };
  }

  /** @internal */
  _joined(c: HubClient): void {
    this.clients.add(c);
    if (diagnosticsOptions.checksums) (c.transport as { enableChecksum?: () => void }).enableChecksum?.();
    c.transport!.registerProducer(this._producerFor(c), true);
    if (this._full_.size > 0) c.transport!.pauseProducing();
    if (this._opts.mode === 'chat') this._announce(`<announce> user${c.n} is connected as <user${c.n}>.\n`, c);
  }

  /** @internal */
  _left(c: HubClient, reason: Failure): void {
    if (!this.clients.delete(c)) return;
    this._full(c, false);
    if (this._opts.mode === 'chat') this._announce(`<announce> <user${c.n}> is disconnected.\n`);
    this._opts.onClientLost?.(c, reason);
  }

  /** @internal */
  _clientEof(c: HubClient): void {
    c.transport?.loseConnection();
  }

  /** @internal */
  _fromStdin(data: Buffer): void {
    const mode = this._opts.mode;
    if (mode === 'echo' || this._opts.recvOnly) return;
    const t = this._opts.transformIn;
    const out = t === undefined ? data : t(data);
    this._opts.tap?.('a', out);
    const payload = mode === 'chat' ? Buffer.from(out.toString('utf8').replace(/^(?=.)/gm, '<user0> ')) : out;
    for (const c of this.clients) c.transport?.write(payload);
  }

  /** @internal */
  _fromClient(from: HubClient, data: Buffer): void {
    this._opts.tap?.('b', data);
    const mode = this._opts.mode;
    if (mode === 'echo') {
      from.transport?.write(data);
      return;
    }
    if (this._opts.sendOnly) return;
    let payload = data;
    if (mode === 'chat') {
      const lines = from._lines(data);
      if (lines.length === 0) return;
      payload = Buffer.from(lines.map((l) => `<user${from.n}> ${l}\n`).join(''));
    }
    this.stdio.transport?.write(payload);
    if (mode === 'broker' || mode === 'chat') {
      for (const c of this.clients) if (c !== from) c.transport?.write(payload);
    }
  }

  private _announce(text: string, except?: HubClient): void {
    const b = Buffer.from(text);
    this.stdio.transport?.write(b);
    for (const c of this.clients) if (c !== except) c.transport?.write(b);
  }
}
