/**
 * The netcat jobs: `connect` (stdio to a socket, port probes, waiting for a
 * port) and `listen` (a socket to stdio, many clients, exec, broker, chat,
 * echo). The commands parse flags into these options; everything with a
 * socket in it happens here.
 *
 * @module
 */

import { BlockList, isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Readable, Writable } from 'node:stream';
import { lfToCrlfStream } from './crlf.js';
import { Deferred, Failure } from './defer.js';
import { closedEvent } from './diagnostics.js';
import { TCPClientEndpoint, type TCPTarget, UNIXClientEndpoint } from './endpoints.js';
import { ConnectionLostError, ConnectionRefusedError, TimeoutError, UsageError } from './errors.js';
import { type ClosedEvent, type EventSink, nullSink } from './events.js';
import { Hub } from './hub.js';
import { ProcessStreamTransport } from './process.js';
import { type Address, DatagramProtocol, Factory, type IListeningPort, type InetAddress, Protocol } from './protocol.js';
import { MAX_UDP_PAYLOAD_V4, MAX_UDP_PAYLOAD_V6, type UDPPort } from './udp.js';
import type { Reactor } from './reactor.js';
import { Relay, type RelayOptions } from './relay.js';
import { StdioTransport } from './stdio.js';
import { formatHostPort } from './tcp.js';
import { friendlyTLSError } from './tlsclient.js';
import type { StreamTransport } from './stream.js';

/** Options of {@link netcatConnect}. */
export interface ConnectSessionOptions {
  /** A Unix socket path (`@name`: abstract) instead of host and port. */
  unixPath?: string;
  host: string;
  /** One port, or several with `zero` (a range). */
  ports: number[];
  family?: 4 | 6;
  /** Per-attempt connect timeout (ms). */
  timeoutMs?: number;
  /** Close after this long with no data either way (ms): exit 3. */
  idleTimeoutMs?: number;
  bindAddress?: { host?: string; port?: number };
  tls?: TCPTarget['tls'];
  /** Connect through these proxies, first hop first (`--proxy`, repeatable). */
  proxies?: TCPTarget['proxies'];
  /** `--proxy-dns`: `remote` (default) sends names to the proxies, `local` resolves them first. */
  proxyDns?: TCPTarget['proxyDns'];
  /** Probe the ports, carry no data. */
  zero?: boolean;
  /** Retry until the port opens or this many ms pass (then `TimeoutError`). */
  waitMs?: number;
  /** Retry a failed connection this many more times. */
  retries?: number;
  sendOnly?: boolean;
  recvOnly?: boolean;
  crlf?: boolean;
  /** Keep the sending side open at stdin EOF. */
  noShutdown?: boolean;
  /** Quit this long after stdin EOF (nc `-q`). */
  quitAfterEofMs?: number;
  /** Exit at the peer's EOF even when stdin is a pipe. */
  exitOnEof?: boolean;
  /** Whether stdin is a terminal (then the peer's EOF ends the session). */
  stdinIsTTY?: boolean;
  /** Where events go. */
  events?: EventSink;
  /** Each chunk relayed ('a' = stdin → network, 'b' = network → stdout). */
  tap?: RelayOptions['tap'];
  /** Other stdio streams (tests). */
  stdin?: Readable;
  stdout?: Writable;
}

/** First wait of `--wait`/`--retry` back-off, and its cap (ms). */
export const RETRY_INITIAL_MS = 100;
export const RETRY_MAX_MS = 2_000;

/**
 * Connect to `target`, retrying with capped exponential back-off while
 * `deadline` (or `retries`) allows.
 *
 * @returns A Deferred of the connected protocol; fails with the last
 *   error, or `TimeoutError` once the deadline passed.
 */
export function connectWithRetry(
  reactor: Reactor,
  target: TCPTarget,
  factory: Factory,
  opts: { deadlineMs?: number; retries?: number; events?: EventSink },
): Deferred<Protocol> {
  const events = opts.events ?? nullSink;
  const start = reactor.now();
  const deadline = opts.deadlineMs === undefined ? undefined : start + opts.deadlineMs;
  let attempt = 0;
  let delay = RETRY_INITIAL_MS;
  let current: Deferred<Protocol> | undefined;
  let timer: { cancel(): void; active(): boolean } | undefined;
  const result = new Deferred<Protocol>(() => {
    current?.cancel();
    if (timer?.active()) timer.cancel();
  });
  const endpointTarget = (): TCPTarget => {
    if (deadline === undefined) return target;
    const left = Math.max(1, deadline - reactor.now());
    return { ...target, timeoutMs: target.timeoutMs === undefined ? left : Math.min(target.timeoutMs, left) };
  };
  const tryOnce = () => {
    attempt++;
    const ep = new TCPClientEndpoint(reactor, endpointTarget());
    current = ep.connect(factory);
    current.addCallbacks(
      (p: Protocol) => {
        result.callback(p);
        return undefined;
      },
      (f: Failure) => {
        if (result.called) return undefined;
        const now = reactor.now();
        const moreTries = opts.retries !== undefined && attempt <= opts.retries;
        const timeLeft = deadline !== undefined && now < deadline;
        if (!moreTries && !timeLeft) {
          if (deadline !== undefined) {
            result.errback(
              new TimeoutError(`${ep.describe()} did not open within ${(opts.deadlineMs! / 1000).toFixed(1)} s (last error: ${f.getErrorMessage()})`, opts.deadlineMs),
            );
          } else {
            result.errback(f);
          }
          return undefined;
        }
        const wait = deadline !== undefined ? Math.min(delay, Math.max(0, deadline - now)) : delay;
        events.emit({ event: 'retry', target: ep.describe(), attempt, delayMs: wait, reason: f.getErrorMessage() });
        delay = Math.min(delay * 2, RETRY_MAX_MS);
        timer = reactor.callLater(wait, tryOnce);
        return undefined;
      },
    );
  };
  tryOnce();
  return result;
}

/**
 * `wirecat connect`: stdin to the socket and the socket to stdout, or a
 * port probe with `zero`.
 *
 * @param reactor The reactor.
 * @param opts What to connect to and how.
 * @returns A Deferred of the exit code; fails with the error that ended it.
 */
export function netcatConnect(reactor: Reactor, opts: ConnectSessionOptions): Deferred<number> {
  const events = opts.events ?? nullSink;
  if (opts.zero) return _probe(reactor, opts);
  if (opts.ports.length !== 1) {
    return _failed(new UsageError(`a port range (${opts.ports[0]}-${opts.ports[opts.ports.length - 1]}) needs -z`));
  }
  const port = opts.ports[0]!;
  const relay = new Relay({
    clock: reactor,
    idleTimeoutMs: opts.idleTimeoutMs,
    direction: opts.sendOnly ? 'a-to-b' : opts.recvOnly ? 'b-to-a' : 'both',
    tap: opts.tap,
    closeOnEof: { b: opts.exitOnEof || opts.stdinIsTTY === true },
    forwardEof: { a: !(opts.noShutdown || opts.recvOnly) },
    closeAfterEofMs: opts.quitAfterEofMs !== undefined ? { a: opts.quitAfterEofMs } : undefined,
    transform: opts.crlf ? { a: lfToCrlfStream() } : undefined,
  });
  const factory = new Factory();
  factory.buildProtocol = () => relay.b;
  const started = performance.now();
  const target: TCPTarget = {
    host: opts.host,
    port,
    family: opts.family,
    timeoutMs: opts.timeoutMs,
    bindAddress: opts.bindAddress,
    tls: opts.tls,
    proxies: opts.proxies,
    proxyDns: opts.proxyDns,
  };
  const connecting =
    opts.unixPath !== undefined
      ? new UNIXClientEndpoint(reactor, opts.unixPath, opts.timeoutMs).connect(factory)
      : connectWithRetry(reactor, target, factory, {
          deadlineMs: opts.waitMs,
          retries: opts.retries,
          events,
        });
  return connecting.addCallback((p: Protocol) => {
    const t = p.transport as StreamTransport;
    const st = t.stats;
    events.emit({
      event: 'connected',
      id: st.id,
      proto: opts.unixPath !== undefined ? 'unix' : opts.tls ? 'tls' : 'tcp',
      peer: st.peer,
      local: st.local,
      connectMs: (st.connectedAt ?? performance.now()) - started,
      ...(opts.tls ? { tlsHandshakeMs: t.handshakeMs, tlsProtocol: t.getProtocol() ?? undefined, alpn: t.alpnProtocol || undefined } : {}),
    });
    new StdioTransport(relay.a, { stdin: opts.stdin, stdout: opts.stdout, noInput: opts.recvOnly });
    return relay.done.addBoth((r: unknown) => {
      _emitClosed(events, t);
      if (r instanceof Failure) {
        // A TLS 1.3 server refuses a client certificate after the handshake:
        // that arrives as a lost connection with OpenSSL's alert in it.
        if (opts.tls && /SSL routines|alert/.test(r.getErrorMessage())) {
          return new Failure(friendlyTLSError(r.value, formatHostPort(opts.host, port), opts.tls.cert !== undefined));
        }
        return r;
      }
      return 0;
    });
  }) as unknown as Deferred<number>;
}

function _emitClosed(events: EventSink, t: StreamTransport): void {
  events.emit(closedEvent(t.stats));
}

function _failed(err: Error): Deferred<number> {
  const d = new Deferred<number>();
  d.errback(err);
  return d;
}

/** `connect -z`: probe each port (with `--wait`, wait for each to open). */
function _probe(reactor: Reactor, opts: ConnectSessionOptions): Deferred<number> {
  const events = opts.events ?? nullSink;
  const result = new Deferred<number>();
  let allOpen = true;
  let i = 0;
  const next = () => {
    if (i >= opts.ports.length) {
      result.callback(allOpen ? 0 : 1);
      return;
    }
    const port = opts.ports[i++]!;
    const started = performance.now();
    const factory = new Factory();
    factory.buildProtocol = () => new _Closer();
    connectWithRetry(
      reactor,
      {
        host: opts.host,
        port,
        family: opts.family,
        timeoutMs: opts.timeoutMs ?? 5_000,
        bindAddress: opts.bindAddress,
        tls: opts.tls,
        proxies: opts.proxies,
        proxyDns: opts.proxyDns,
      },
      factory,
      { deadlineMs: opts.waitMs, retries: opts.retries, events },
    ).addCallbacks(
      () => {
        events.emit({ event: 'probe', host: opts.host, port, open: true, connectMs: performance.now() - started });
        next();
        return undefined;
      },
      (f: Failure) => {
        allOpen = false;
        if (f.check(TimeoutError) && opts.waitMs !== undefined) {
          // --wait: the deadline passed; that is the answer.
          result.errback(f);
          return undefined;
        }
        events.emit({
          event: 'probe',
          host: opts.host,
          port,
          open: false,
          reason: f.check(ConnectionRefusedError) ? 'refused' : f.check(TimeoutError) ? 'timeout' : f.getErrorMessage(),
        });
        if (f.check(ConnectionRefusedError, TimeoutError) === undefined && opts.ports.length === 1) {
          // A DNS failure or an unreachable network is an error, not a closed port.
          result.errback(f);
          return undefined;
        }
        next();
        return undefined;
      },
    );
  };
  next();
  return result;
}

/** A protocol that closes as soon as it is connected (port probes). */
class _Closer extends Protocol {
  override connectionMade(): void {
    this.transport!.loseConnection();
  }
}

// ---------------------------------------------------------------- listen

/** Options of {@link netcatListen}. */
export interface ListenSessionOptions {
  /** Listen on this Unix socket path (`@name`: abstract) instead of host and port. */
  unixPath?: string;
  /** Permissions of the Unix socket file. */
  unixMode?: number;
  /** Remove a stale Unix socket at the path first (never a non-socket). */
  unlinkStale?: boolean;
  /** Address to bind (default: every address). */
  host?: string;
  port: number;
  family?: 4 | 6;
  /** UDP instead of TCP. */
  udp?: boolean;
  /** Accept many connections (`-k`). */
  keepOpen?: boolean;
  /** What each connection is joined to: stdio (default), a child, the others, or itself. */
  mode?: 'stdio' | 'exec' | 'broker' | 'chat' | 'echo';
  /** For `exec`: the program and its arguments (`sh -c CMD` for `--sh-exec`). */
  exec?: { file: string; args: string[] };
  /** At most this many connections at once; more are closed at once (as ncat does). */
  maxConns?: number;
  /** Only these clients (IPs, CIDRs; comma-separated). */
  allow?: string;
  /** Not these clients; deny wins where both match. */
  deny?: string;
  sendOnly?: boolean;
  recvOnly?: boolean;
  crlf?: boolean;
  /** Also write what clients send to this stream (`-o FILE`). */
  output?: Writable;
  /** Listen with TLS. */
  tls?: import('./tls.js').TLSOptions;
  idleTimeoutMs?: number;
  events?: EventSink;
  tap?: RelayOptions['tap'];
  stdin?: Readable;
  stdout?: Writable;
}

/**
 * Parse an `--allow`/`--deny` list into a Node BlockList.
 *
 * @param list Comma-separated IPs and CIDRs.
 * @param flag The flag, for errors.
 * @returns The list.
 * @throws {UsageError} For an entry that is neither.
 */
export function parseAccessList(list: string, flag: string): BlockList {
  const bl = new BlockList();
  for (const raw of list.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const [addr, bits] = entry.split('/') as [string, string | undefined];
    const type = isIP(addr);
    if (type === 0) throw new UsageError(`${flag}: '${entry}' is not an IP address or CIDR (like 10.0.0.0/8 or ::1)`);
    const fam = type === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) {
      bl.addAddress(addr, fam);
    } else {
      const n = Number(bits);
      if (!/^\d+$/.test(bits) || n > (type === 6 ? 128 : 32)) throw new UsageError(`${flag}: bad prefix length in '${entry}'`);
      bl.addSubnet(addr, n, fam);
    }
  }
  return bl;
}

function _matches(bl: BlockList, host: string): boolean {
  const plain = host.replace(/^::ffff:/, '');
  const t = isIP(plain);
  if (t === 0) return false;
  return bl.check(plain, t === 6 ? 'ipv6' : 'ipv4') || (plain !== host && bl.check(host, 'ipv6'));
}

/**
 * `wirecat listen`: accept connections and join them to stdio, a child,
 * each other, or themselves.
 *
 * @param reactor The reactor.
 * @param opts Where to listen and what to do with connections.
 * @returns A Deferred of the exit code (without `-k`: when the one
 *   connection ends; with `-k`: never, until interrupted).
 */
export function netcatListen(reactor: Reactor, opts: ListenSessionOptions): Deferred<number> {
  if (opts.udp) return _listenUDP(reactor, opts);
  const events = opts.events ?? nullSink;
  const allow = opts.allow !== undefined ? parseAccessList(opts.allow, '--allow') : undefined;
  const deny = opts.deny !== undefined ? parseAccessList(opts.deny, '--deny') : undefined;
  const mode = opts.mode ?? 'stdio';
  const result = new Deferred<number>();
  let port: IListeningPort | undefined;
  let active = 0;
  let accepted = 0;
  const proto = opts.unixPath !== undefined ? 'unix' : opts.tls ? 'tls' : 'tcp';

  let hub: Hub | undefined;
  if (opts.keepOpen && mode !== 'exec') {
    hub = new Hub({
      mode: mode === 'stdio' ? 'hub' : mode,
      recvOnly: opts.recvOnly,
      sendOnly: opts.sendOnly,
      transformIn: opts.crlf ? lfToCrlfStream() : undefined,
      tap: opts.tap,
    });
    if (mode !== 'echo') new StdioTransport(hub.stdio, { stdin: opts.stdin, stdout: opts.stdout, noInput: opts.recvOnly });
  } else if (mode === 'echo' || mode === 'broker' || mode === 'chat') {
    hub = new Hub({ mode, tap: opts.tap });
    if (mode !== 'echo') new StdioTransport(hub.stdio, { stdin: opts.stdin, stdout: opts.stdout, noInput: opts.recvOnly });
  }

  const factory = new Factory();
  factory.buildProtocol = (addr: Address): Protocol | undefined => {
    const peer = addr.type === 'TCP' ? addr.host : '';
    const peerText = addr.type === 'TCP' ? (addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`) : 'peer';
    if ((deny && _matches(deny, peer)) || (allow && !_matches(allow, peer))) {
      events.emit({ event: 'refused', peer: peerText, reason: deny && _matches(deny, peer) ? 'denied by --deny' : 'not in --allow' });
      return undefined;
    }
    if (opts.maxConns !== undefined && active >= opts.maxConns) {
      events.emit({ event: 'refused', peer: peerText, reason: `--max-conns ${opts.maxConns} reached` });
      return undefined;
    }
    // Like ncat, --broker and --chat keep accepting without -k.
    const many = opts.keepOpen || mode === 'broker' || mode === 'chat';
    if (!many && accepted >= 1) return undefined;
    accepted++;
    active++;
    if (!many) port?.stopListening();
    const onAccepted = (p: Protocol) => {
      const t = p.transport as StreamTransport;
      const st = t.stats;
      events.emit({ event: 'accepted', id: st.id, proto, peer: st.peer, local: st.local });
    };
    const onClosed = (t: StreamTransport, extra: Partial<ClosedEvent> = {}) => {
      active--;
      events.emit(closedEvent(t.stats, extra));
    };
    if (hub !== undefined) {
      const c = hub.newClient();
      const connectionMade = c.connectionMade.bind(c);
      c.connectionMade = () => {
        onAccepted(c);
        if (opts.output) _teeReceived(c, opts.output);
        connectionMade();
      };
      const lost = c.connectionLost.bind(c);
      c.connectionLost = (reason: Failure) => {
        lost(reason);
        onClosed(c.transport as StreamTransport);
        if (!opts.keepOpen && mode === 'echo') result.callback(0);
      };
      return c;
    }
    // stdio (one connection) or exec (one child per connection).
    const relay = new Relay({
      clock: reactor,
      idleTimeoutMs: opts.idleTimeoutMs,
      // a is the connection, b is stdio (or the child): sending is b → a.
      direction: opts.sendOnly ? 'b-to-a' : opts.recvOnly ? 'a-to-b' : 'both',
      tap: opts.tap === undefined ? undefined : (from, chunk) => opts.tap!(from === 'a' ? 'b' : 'a', chunk),
      transform: opts.crlf && mode === 'stdio' ? { b: lfToCrlfStream() } : undefined,
      forwardEof: { b: !opts.recvOnly },
    });
    let child: ProcessStreamTransport | undefined;
    const side = relay.a;
    const made = side.connectionMade.bind(side);
    side.connectionMade = () => {
      onAccepted(side);
      if (opts.output) _teeReceived(side, opts.output);
      made();
      if (mode === 'exec') {
        child = new ProcessStreamTransport(relay.b, opts.exec!.file, opts.exec!.args);
      } else {
        new StdioTransport(relay.b, { stdin: opts.stdin, stdout: opts.stdout, noInput: opts.recvOnly });
      }
    };
    relay.done.addBoth((r: unknown) => {
      const status = child?.process.status;
      onClosed(side.transport as StreamTransport, status ? { exitCode: status.exitCode, signal: status.signal } : {});
      if (!opts.keepOpen) {
        if (r instanceof Failure) result.errback(r);
        else result.callback(0);
      } else if (r instanceof Failure && !r.check(ConnectionLostError, TimeoutError)) {
        events.emit({ event: 'error', code: String((r.value as { code?: unknown })?.code ?? 'ERR'), message: r.getErrorMessage() });
      }
      return undefined;
    });
    return side;
  };

  const listening = opts.unixPath !== undefined
    ? reactor.listenUNIX(opts.unixPath, factory, { mode: opts.unixMode, unlinkStale: opts.unlinkStale })
    : opts.tls
    ? reactor.listenTLS(opts.port, factory, { ...opts.tls, host: _bindHost(opts) }, (err) =>
        events.emit({ event: 'error', code: 'ERR_TLS', message: `TLS handshake with a client failed: ${err.message}` }),
      )
    : reactor.listenTCP(opts.port, factory, { host: _bindHost(opts), ipv6Only: opts.host === undefined && opts.family === 6 });
  listening.addCallbacks(
    (p: IListeningPort) => {
      port = p;
      const h = p.getHost();
      if (h.type === 'TCP') events.emit({ event: 'listening', proto, address: h.host, port: h.port });
      else if (h.type === 'UNIX') events.emit({ event: 'listening', proto, address: h.path });
      return undefined;
    },
    (f: Failure) => {
      result.errback(f);
      return undefined;
    },
  );
  return result;
}

/** The address to bind: the host given, else every address of the family asked for (`-4`, `-6`). */
function _bindHost(opts: ListenSessionOptions): string | undefined {
  if (opts.host !== undefined) return opts.host;
  return opts.family === 4 ? '0.0.0.0' : opts.family === 6 ? '::' : undefined;
}

/** `-o FILE`: also write what `p` receives to `out`. */
function _teeReceived(p: Protocol, out: Writable): void {
  const received = p.dataReceived.bind(p);
  p.dataReceived = (d: Buffer) => {
    out.write(d);
    received(d);
  };
}

/** Send `data` to `to` as datagrams no larger than UDP allows (stdin reads are up to 64 KiB). */
function _sendSplit(udp: UDPPort, data: Buffer, to: { host: string; port: number }): void {
  const max = udp.family === 6 ? MAX_UDP_PAYLOAD_V6 : MAX_UDP_PAYLOAD_V4;
  for (let off = 0; off < data.length; off += max) udp.write(data.subarray(off, Math.min(data.length, off + max)), to);
}

/** `listen -u`: datagrams to stdout; stdin to the last sender. */
function _listenUDP(reactor: Reactor, opts: ListenSessionOptions): Deferred<number> {
  const events = opts.events ?? nullSink;
  const result = new Deferred<number>();
  const out = opts.stdout ?? process.stdout;
  let last: { host: string; port: number } | undefined;
  let udp: UDPPort | undefined;
  // stdin read before anyone has sent a datagram waits for the first sender
  // (nothing read is dropped); past 1 MiB, stdin is paused until then.
  const early: Buffer[] = [];
  let earlyBytes = 0;
  let stdinTransport: { pauseProducing(): void; resumeProducing(): void } | undefined;
  class Receiver extends DatagramProtocol {
    override datagramReceived(data: Buffer, addr: InetAddress): void {
      const first = last === undefined;
      last = { host: addr.host, port: addr.port };
      if (first && early.length > 0 && udp !== undefined) {
        const queued = early.splice(0);
        earlyBytes = 0;
        stdinTransport?.resumeProducing();
        for (const b of queued) _sendSplit(udp, b, last);
      }
      events.emit({ event: 'datagram', from: addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`, bytes: data.length });
      opts.tap?.('b', data);
      // UDP is lossy: while stdout is full, drop rather than buffer without bound.
      if (!opts.sendOnly && !out.writableNeedDrain) out.write(data);
      opts.output?.write(data);
    }
  }
  class StdinToPeer extends Protocol {
    override connectionMade(): void {
      stdinTransport = this.transport;
    }
    override dataReceived(data: Buffer): void {
      if (opts.recvOnly || udp === undefined) return;
      opts.tap?.('a', data);
      if (last === undefined) {
        early.push(data);
        earlyBytes += data.length;
        if (earlyBytes > 1024 * 1024) this.transport?.pauseProducing();
        return;
      }
      _sendSplit(udp, data, last);
    }
    override readConnectionLost(): void {}
  }
  reactor.listenUDP(opts.port, new Receiver(), { host: opts.host, family: opts.family }).addCallbacks(
    (p: UDPPort) => {
      udp = p;
      const h = p.getHost();
      events.emit({ event: 'listening', proto: 'udp', address: h.host, port: h.port });
      if (!opts.recvOnly) new StdioTransport(new StdinToPeer(), { stdin: opts.stdin, stdout: opts.stdout });
      return undefined;
    },
    (f: Failure) => {
      result.errback(f);
      return undefined;
    },
  );
  return result;
}

export { crlfToLf, lfToCrlf, lfToCrlfStream } from './crlf.js';
