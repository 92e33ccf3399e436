/**
 * UDP and IP multicast over `node:dgram`, with Twisted's method names.
 *
 * @module
 */

import dgram from 'node:dgram';
import net from 'node:net';
import { Deferred } from './defer.js';
import { counters } from './diagnostics.js';
import { CannotListenError, UsageError } from './errors.js';
import type { DatagramProtocol, IMulticastTransport, InetAddress } from './protocol.js';
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
