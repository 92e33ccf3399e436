/**
 * UDP and IP multicast over `node:dgram`, with Twisted's method names.
 *
 * @module
 */

import dgram from 'node:dgram';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { Deferred, Failure } from './defer.js';
import { type ConnectionStats, counters, newConnectionStats } from './diagnostics.js';
import { CannotListenError, ConnectionDone, UsageError } from './errors.js';
import {
  type Address,
  type DatagramProtocol,
  DatagramProtocol as DatagramProtocolBase,
  type IMulticastTransport,
  type IPushProducer,
  type ITransport,
  type InetAddress,
  type Protocol,
} from './protocol.js';
import { formatHostPort } from './tcp.js';
import { logProtocolError } from './stream.js';

/** The largest UDP payload over IPv4 (65,535 − 20 IP − 8 UDP). */
export const MAX_UDP_PAYLOAD_V4 = 65_507;
/** The largest UDP payload over IPv6 without jumbograms (65,535 − 8 UDP). */
export const MAX_UDP_PAYLOAD_V6 = 65_527;

/** Options of {@link UDPPort.listen}. */
export interface UDPListenOptions {
  /** Address to bind (default `0.0.0.0`, or `::` with family 6). */
  host?: string;
  /** 4 or 6 (default: from `host`, else 4). */
  family?: 4 | 6;
  /** Let several sockets bind the same port (SO_REUSEADDR), as multicast listeners do. */
  reuseAddr?: boolean;
  /** Whether this is a multicast listener (for diagnostics). */
  multicast?: boolean;
}

/**
 * A bound UDP socket driving a {@link DatagramProtocol}.
 */
export class UDPPort implements IMulticastTransport {
  /** The Node socket. */
  readonly socket: dgram.Socket;
  /** 4 or 6. */
  readonly family: 4 | 6;
  private readonly _protocol: DatagramProtocol;
  private _connected: { host: string; port: number } | undefined = undefined;
  private _connecting: Buffer[] | undefined = undefined;
  private _closed: Deferred<void> | undefined = undefined;

  private constructor(protocol: DatagramProtocol, family: 4 | 6, reuseAddr: boolean) {
    this._protocol = protocol;
    this.family = family;
    this.socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', reuseAddr });
  }

  /**
   * Bind a UDP socket and start the protocol.
   *
   * @param port The port (0: any).
   * @param protocol Receives the datagrams.
   * @param opts Host, family, address reuse.
   * @returns A Deferred of the port; fails with `CannotListenError`.
   */
  static listen(port: number, protocol: DatagramProtocol, opts: UDPListenOptions = {}): Deferred<UDPPort> {
    const family = opts.family ?? (opts.host !== undefined && net.isIPv6(opts.host) ? 6 : 4);
    const p = new UDPPort(protocol, family, opts.reuseAddr ?? false);
    const host = opts.host ?? (family === 6 ? '::' : '0.0.0.0');
    const d = new Deferred<UDPPort>();
    const s = p.socket;
    const onError = (err: NodeJS.ErrnoException) => {
      s.close();
      d.errback(new CannotListenError(err.code === 'EADDRINUSE' ? 'Address already in use' : err.message, formatHostPort(host, port), err.code));
    };
    s.once('error', onError);
    s.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => p._onMessage(msg, rinfo));
    s.bind({ port, address: host }, () => {
      s.removeListener('error', onError);
      s.on('error', (err: NodeJS.ErrnoException) => p._onError(err));
      try {
        protocol.makeConnection(p);
      } catch (e) {
        logProtocolError(`${protocol.constructor.name}.startProtocol`, e);
      }
      d.callback(p);
    });
    return d;
  }

  /**
   * Send one datagram.
   *
   * @param data The payload.
   * @param addr The destination; omitted on a connected socket.
   * @throws {UsageError} When the payload is larger than UDP allows, or
   *   no destination is known.
   */
  write(data: Buffer | string, addr?: { host: string; port: number }): void {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const max = this.family === 6 ? MAX_UDP_PAYLOAD_V6 : MAX_UDP_PAYLOAD_V4;
    if (buf.length > max) {
      throw new UsageError(`datagram of ${buf.length} bytes is larger than UDP allows over IPv${this.family} (${max})`);
    }
    counters.datagramsOut++;
    counters.datagramBytesOut += buf.length;
    if (addr !== undefined) {
      this.socket.send(buf, addr.port, addr.host, (err) => err && this._onError(err as NodeJS.ErrnoException));
    } else if (this._connecting !== undefined) {
      this._connecting.push(buf);
    } else if (this._connected !== undefined) {
      this.socket.send(buf, (err) => err && this._onError(err as NodeJS.ErrnoException));
    } else {
      throw new UsageError('UDP write() without a destination on an unconnected socket');
    }
  }

  /**
   * Exchange datagrams with this peer only; writes before the (asynchronous)
   * connect finishes are queued.
   *
   * @param host The peer's host.
   * @param port The peer's port.
   */
  connect(host: string, port: number): void {
    this._connecting = [];
    this.socket.connect(port, host, () => {
      this._connected = { host, port };
      const queued = this._connecting ?? [];
      this._connecting = undefined;
      for (const b of queued) this.socket.send(b, (err) => err && this._onError(err as NodeJS.ErrnoException));
    });
  }

  /** @param on Allow sending to broadcast addresses. */
  setBroadcastAllowed(on: boolean): void {
    this.socket.setBroadcast(on);
  }

  /** @param n The unicast TTL (hops). */
  setTTL(n: number): void {
    this.socket.setTTL(n);
  }

  /** @param n The multicast TTL (hops). */
  setMulticastTTL(n: number): void {
    this.socket.setMulticastTTL(n);
  }

  /**
   * Join a multicast group.
   *
   * @param group The group address (IPv4 224.0.0.0/4 or IPv6 ff00::/8).
   * @param iface The local interface address to join on.
   * @param source Only receive from this source (source-specific multicast).
   */
  joinGroup(group: string, iface?: string, source?: string): void {
    if (source !== undefined) this.socket.addSourceSpecificMembership(source, group, iface);
    else this.socket.addMembership(group, iface);
  }

  /**
   * Leave a multicast group.
   *
   * @param group The group address.
   * @param iface The local interface address.
   * @param source The source, for a source-specific membership.
   */
  leaveGroup(group: string, iface?: string, source?: string): void {
    if (source !== undefined) this.socket.dropSourceSpecificMembership(source, group, iface);
    else this.socket.dropMembership(group, iface);
  }

  /** @param on Receive our own multicast datagrams. */
  setLoopbackMode(on: boolean): void {
    this.socket.setMulticastLoopback(on);
  }

  /** @param addr The local address multicast datagrams leave from. */
  setOutgoingInterface(addr: string): void {
    this.socket.setMulticastInterface(addr);
  }

  /** @returns The bound address. */
  getHost(): InetAddress {
    const a = this.socket.address();
    return { type: 'UDP', host: a.address, port: a.port };
  }

  /** @returns A Deferred fired once the socket is closed and `stopProtocol()` ran. */
  stopListening(): Deferred<void> {
    if (this._closed !== undefined) return this._closed;
    const d = (this._closed = new Deferred<void>());
    this.socket.close(() => {
      try {
        this._protocol.stopProtocol();
      } catch (e) {
        logProtocolError(`${this._protocol.constructor.name}.stopProtocol`, e);
      }
      d.callback(undefined);
    });
    return d;
  }

  /** Close the socket. */
  loseConnection(): void {
    this.stopListening();
  }

  private _onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    counters.datagramsIn++;
    counters.datagramBytesIn += msg.length;
    try {
      this._protocol.datagramReceived(msg, { type: 'UDP', host: rinfo.address, port: rinfo.port });
    } catch (e) {
      logProtocolError(`${this._protocol.constructor.name}.datagramReceived`, e);
    }
  }

  private _onError(err: NodeJS.ErrnoException): void {
    if (err.code === 'ECONNREFUSED') {
      try {
        this._protocol.connectionRefused();
      } catch (e) {
        logProtocolError(`${this._protocol.constructor.name}.connectionRefused`, e);
      }
      return;
    }
    logProtocolError('UDP socket', err);
  }
}

/**
 * Whether `addr` is a multicast group address (IPv4 224.0.0.0/4, IPv6 ff00::/8).
 *
 * @param addr An IP address.
 * @returns True for a multicast group.
 */
export function isMulticastAddress(addr: string): boolean {
  if (net.isIPv4(addr)) {
    const first = Number(addr.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  if (net.isIPv6(addr)) return /^ff/i.test(addr);
  return false;
}

/**
 * A UDP socket seen as a byte stream, for relays: each datagram is a chunk
 * of data, each chunk written is one datagram (split at the UDP maximum).
 * A client socket talks to one peer; a server socket (`udp-listen`)
 * answers the last sender. UDP has no EOF: a relay over it ends by its
 * idle timeout or from the other side.
 */
export class DatagramStreamTransport implements ITransport {
  connected = true;
  disconnecting = false;
  /** The statistics of this "connection". */
  readonly stats: ConnectionStats;
  private _port: UDPPort | undefined;
  private _peer: { host: string; port: number } | undefined;
  private _queue: Buffer[] = [];
  private _paused = false;

  /**
   * @param protocol The protocol that gets the datagrams as data.
   * @param port The bound socket (from `UDPPort.listen`); pass the protocol given to it.
   * @param peer The peer of a client socket; omitted for a server (answers the last sender).
   */
  constructor(
    private readonly _protocol: Protocol,
    peer?: { host: string; port: number },
  ) {
    this._peer = peer;
    this.stats = newConnectionStats('udp', peer ? 'connected' : 'accepted', peer ? formatHostPort(peer.host, peer.port) : 'udp peers');
    this.stats.connectedAt = this.stats.startedAt;
  }

  /** @internal Called once the socket is bound. */
  _bound(port: UDPPort): void {
    this._port = port;
    if (this._peer) port.connect(this._peer.host, this._peer.port);
    try {
      this._protocol.makeConnection(this);
    } catch (e) {
      logProtocolError(`${this._protocol.constructor.name}.connectionMade`, e);
    }
    const q = this._queue;
    this._queue = [];
    for (const b of q) this.write(b);
  }

  /** @internal A datagram arrived. */
  _datagram(data: Buffer, from: InetAddress): void {
    if (this._paused) {
      this.stats.extra.datagramsDropped = ((this.stats.extra.datagramsDropped as number | undefined) ?? 0) + 1;
      return;
    }
    if (!this._peer || this.stats.direction === 'accepted') this._peer = { host: from.host, port: from.port };
    const st = this.stats;
    if (st.firstByteAt === undefined) st.firstByteAt = performance.now();
    st.bytesIn += data.length;
    try {
      this._protocol.dataReceived(data);
    } catch (e) {
      logProtocolError(`${this._protocol.constructor.name}.dataReceived`, e);
    }
  }

  write(data: Buffer | string): void {
    if (!this.connected) return;
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const port = this._port;
    if (port === undefined) {
      this._queue.push(buf);
      return;
    }
    const peer = this._peer;
    if (peer === undefined) return; // a server with nobody to answer yet
    const max = port.family === 6 ? MAX_UDP_PAYLOAD_V6 : MAX_UDP_PAYLOAD_V4;
    for (let off = 0; off < buf.length; off += max) {
      const part = buf.subarray(off, Math.min(buf.length, off + max));
      this.stats.bytesOut += part.length;
      if (this.stats.direction === 'connected') port.write(part);
      else port.write(part, peer);
    }
  }

  writeSequence(chunks: (Buffer | string)[]): void {
    for (const c of chunks) this.write(c);
  }

  /** UDP has no EOF to send: nothing happens. */
  loseWriteConnection(): void {}

  loseConnection(): void {
    if (!this.connected) return;
    this.disconnecting = true;
    this._close();
  }

  abortConnection(): void {
    this.loseConnection();
  }

  getPeer(): Address {
    return this._peer ? { type: 'UDP', host: this._peer.host, port: this._peer.port } : { type: 'UDP', host: '', port: 0 };
  }

  getHost(): Address {
    return this._port ? this._port.getHost() : { type: 'UDP', host: '', port: 0 };
  }

  /**
   * Node offers no way to stop reading a UDP socket: while paused (the other
   * side of a relay is full), datagrams are dropped and counted, as a full
   * socket buffer would drop them.
   */
  pauseProducing(): void {
    this._paused = true;
  }

  resumeProducing(): void {
    this._paused = false;
  }

  stopProducing(): void {
    this.loseConnection();
  }

  registerProducer(_producer: IPushProducer, _streaming: boolean): void {}

  unregisterProducer(): void {}

  private _close(): void {
    const port = this._port;
    const finish = () => {
      if (!this.connected) return;
      this.connected = false;
      this.stats.closedAt = performance.now();
      this._protocol.connected = false;
      try {
        this._protocol.connectionLost(new Failure(new ConnectionDone()));
      } catch (e) {
        logProtocolError(`${this._protocol.constructor.name}.connectionLost`, e);
      }
    };
    if (port) port.stopListening().addBoth(finish);
    else finish();
  }
}

/**
 * Bind a UDP socket and drive `protocol` with it as a byte stream.
 *
 * @param protocol The protocol.
 * @param opts Bind address and port, and the peer for a client.
 * @returns A Deferred fired once bound; fails with `CannotListenError`.
 */
export function openDatagramStream(
  protocol: Protocol,
  opts: { bindHost?: string; bindPort?: number; peer?: { host: string; port: number }; family?: 4 | 6 },
): Deferred<DatagramStreamTransport> {
  const t = new DatagramStreamTransport(protocol, opts.peer);
  class Feed extends DatagramProtocolBase {
    override datagramReceived(data: Buffer, addr: InetAddress): void {
      t._datagram(data, addr);
    }
  }
  const family = opts.family ?? (opts.peer !== undefined && net.isIPv6(opts.peer.host) ? 6 : undefined);
  return UDPPort.listen(opts.bindPort ?? 0, new Feed(), { host: opts.bindHost, family }).addCallback((port: UDPPort) => {
    t._bound(port);
    return t;
  }) as unknown as Deferred<DatagramStreamTransport>;
}
