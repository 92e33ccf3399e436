/**
 * `multicast-join`: join an IP multicast group (IPv4 or IPv6, any-source or
 * source-specific) and hand each datagram to stdout, optionally answering
 * each sender.
 *
 * @module
 */

import net from 'node:net';
import os from 'node:os';
import type { Writable } from 'node:stream';
import { Deferred, type Failure } from './defer.js';
import { counters } from './diagnostics.js';
import { ConnectError, TimeoutError, UsageError } from './errors.js';
import { type EventSink, nullSink } from './events.js';
import { DatagramProtocol, type InetAddress, Protocol } from './protocol.js';
import type { Reactor } from './reactor.js';
import type { RelayOptions } from './relay.js';
import { StdioTransport } from './stdio.js';
import type { IDelayedCall } from './task.js';
import { formatHostPort } from './tcp.js';
import { type UDPPort, isMulticastAddress } from './udp.js';

/**
 * The address Node's multicast calls take for a local interface, from an
 * address or an interface name.
 *
 * IPv4 wants one of the interface's IPv4 addresses; IPv6 wants `::%NAME`
 * (the scope is what selects the interface). `lo`, `eth0` and `%eth0`
 * are looked up in `os.networkInterfaces()`; addresses are taken as given.
 *
 * @param spec An IP address or an interface name.
 * @param family The group's family.
 * @param flag The flag, for errors.
 * @returns The address for `addMembership`/`setMulticastInterface`.
 * @throws {UsageError} For an address of the other family, or an unknown
 *   interface, or one without an address of the family.
 */
export function interfaceAddress(spec: string, family: 4 | 6, flag = '--interface'): string {
  const kind = net.isIP(spec.replace(/%.*$/, ''));
  if (kind !== 0) {
    if (kind !== family) throw new UsageError(`${flag} ${spec} is an IPv${kind} address; the group is IPv${family}`);
    return spec;
  }
  const name = spec.startsWith('%') ? spec.slice(1) : spec;
  const interfaces = os.networkInterfaces();
  const addrs = interfaces[name];
  if (addrs === undefined) {
    throw new UsageError(`${flag} '${spec}' is neither an IP address nor an interface of this host (interfaces: ${Object.keys(interfaces).join(', ') || 'none'})`);
  }
  if (family === 6) return `::%${name}`;
  const v4 = addrs.find((a) => a.family === 'IPv4');
  if (v4 === undefined) throw new UsageError(`${flag} '${name}' has no IPv4 address to join on`);
  return v4.address;
}

/** Options of {@link multicastJoin}. */
export interface MulticastJoinOptions {
  /** The group: IPv4 224.0.0.0/4 or IPv6 ff00::/8. */
  group: string;
  /** The UDP port. */
  port: number;
  /** `-4`/`-6`: must agree with the group's family. */
  family?: 4 | 6;
  /** The local interface to join on: an address or a name (default: the kernel's choice). */
  interface?: string;
  /** Source-specific multicast: only datagrams from this source. */
  source?: string;
  /** Exit 0 after this many datagrams. */
  count?: number;
  /** Stop after this long (ms): exit 3 unless `count` datagrams (without `count`: any) arrived. */
  timeoutMs?: number;
  /** Exit 3 after this long (ms) without a datagram. */
  idleTimeoutMs?: number;
  /** `raw` (default): payload bytes only. `line`: `TIME SOURCE PAYLOAD` a line. */
  format?: 'raw' | 'line';
  /** Answer each datagram with this, to its sender. */
  reply?: Buffer | string;
  /** Where events go. */
  events?: EventSink;
  /** Each datagram: `'b'` received, `'a'` each reply sent (`-x`). */
  tap?: RelayOptions['tap'];
  /** Where payloads go (default `process.stdout`). */
  stdout?: Writable;
  /** The wall clock for `line` time stamps (default `new Date()`). */
  now?: () => Date;
}

/**
 * Check the options of {@link multicastJoin} as far as they can be checked
 * without the network.
 *
 * @param opts The options.
 * @returns The group's family.
 * @throws {UsageError} For a group that is not a multicast address, a source
 *   or family that does not match it, or a bad count or format.
 */
export function checkMulticastOptions(opts: MulticastJoinOptions): 4 | 6 {
  const group = opts.group;
  if (net.isIP(group) === 0) throw new UsageError(`'${group}' is not an IP address; a multicast group is one (like 239.1.2.3 or ff15::1234)`);
  if (!isMulticastAddress(group)) {
    throw new UsageError(`'${group}' is not a multicast group address (IPv4 224.0.0.0/4, IPv6 ff00::/8)`);
  }
  const family: 4 | 6 = net.isIPv6(group) ? 6 : 4;
  if (opts.family !== undefined && opts.family !== family) throw new UsageError(`-${opts.family} given, but ${group} is an IPv${family} group`);
  if (opts.source !== undefined) {
    const k = net.isIP(opts.source);
    if (k === 0) throw new UsageError(`--source '${opts.source}' is not an IP address`);
    if (k !== family) throw new UsageError(`--source ${opts.source} is IPv${k}; the group ${group} is IPv${family}`);
    if (isMulticastAddress(opts.source)) throw new UsageError(`--source ${opts.source} is a multicast address; a source is a sender's unicast address`);
  }
  if (opts.count !== undefined && !(Number.isInteger(opts.count) && opts.count >= 1)) {
    throw new UsageError(`--count needs a whole number >= 1, not '${opts.count}'`);
  }
  if (opts.format !== undefined && opts.format !== 'raw' && opts.format !== 'line') {
    throw new UsageError(`--format takes raw or line, not '${String(opts.format)}'`);
  }
  return family;
}

/**
 * `wirecat multicast-join`: bind the group's port (shared with other
 * listeners, as multicast receivers do), join the group and write each
 * datagram's payload to stdout.
 *
 * An IPv4 socket is bound to the group address itself, so that it receives
 * this group only and not every group another program joined on the same
 * port (Linux delivers those to sockets bound to 0.0.0.0); with `reply` it
 * is bound to 0.0.0.0 instead, so that answers leave from PORT with a
 * unicast source address (as mDNS requires). An IPv6 socket is bound to
 * `::` (Linux delivers nothing to a socket bound to an IPv6 group).
 *
 * Events: `listening` (address: the group) once joined, `info` naming the
 * interface and source, `datagram` for each one received.
 *
 * @param reactor The reactor.
 * @param opts The group, port, filters and limits.
 * @returns A Deferred of the exit code: 0 after `count` datagrams, at the
 *   `timeout` (when enough arrived), or when stdout is closed; fails with
 *   `UsageError`, `ConnectError` (the join failed) or `TimeoutError`.
 */
export function multicastJoin(reactor: Reactor, opts: MulticastJoinOptions): Deferred<number> {
  return new _MulticastSession(reactor, opts).result;
}

/** The join, the receiver and the limits of one `multicast-join`. */
class _MulticastSession {
  readonly result = new Deferred<number>();
  private readonly _events: EventSink;
  private readonly _reply: Buffer | undefined;
  private _port: UDPPort | undefined;
  private _stdio: StdioTransport | undefined;
  private _received = 0;
  private _dropped = 0;
  private _timeout: IDelayedCall | undefined;
  private _idle: IDelayedCall | undefined;
  private _finished = false;
  private readonly _groupText: string;
  /** Replies handed to the socket and not yet sent. */
  private _sending = 0;
  private _whenSent: (() => void) | undefined;

  constructor(
    private readonly _reactor: Reactor,
    private readonly _opts: MulticastJoinOptions,
  ) {
    this._events = _opts.events ?? nullSink;
    this._reply = _opts.reply === undefined ? undefined : Buffer.isBuffer(_opts.reply) ? _opts.reply : Buffer.from(_opts.reply);
    this._groupText = formatHostPort(_opts.group, _opts.port);
    let family: 4 | 6;
    let iface: string | undefined;
    try {
      family = checkMulticastOptions(_opts);
      iface = _opts.interface === undefined ? undefined : interfaceAddress(_opts.interface, family);
    } catch (e) {
      this.result.errback(e);
      return;
    }
    const session = this;
    class Receiver extends DatagramProtocol {
      override datagramReceived(data: Buffer, addr: InetAddress): void {
        session._datagram(data, addr);
      }
    }
    // IPv4 binds the group, so that no other group sent to the same port arrives (Linux gives a
    // socket bound to 0.0.0.0 every group any program joined); but replies must leave from a
    // unicast address, so `--reply` binds 0.0.0.0. IPv6 binds :: (Linux delivers nothing to a
    // socket bound to an IPv6 group).
    const bindHost = family === 6 ? '::' : process.platform === 'win32' || this._reply !== undefined ? '0.0.0.0' : _opts.group;
    _reactor.listenMulticast(_opts.port, new Receiver(), { listenMultiple: true, family, host: bindHost }).addCallbacks(
      (p: UDPPort) => {
        this._port = p;
        this._joined(p, iface);
        return undefined;
      },
      (f: Failure) => {
        this._fail(f.value);
        return undefined;
      },
    );
  }

  private _joined(p: UDPPort, iface: string | undefined): void {
    const o = this._opts;
    try {
      p.joinGroup(o.group, iface, o.source);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const what = `cannot join ${o.group}${o.source !== undefined ? ` for source ${o.source}` : ''}`;
      const badInterface = iface !== undefined && (err.code === 'ENODEV' || err.code === 'EADDRNOTAVAIL' || err.code === 'EINVAL');
      if (badInterface) {
        this._fail(new UsageError(`${what}: --interface ${o.interface} is not a local interface that can join it`));
      } else if (err.code === 'ENODEV' || err.code === 'EADDRNOTAVAIL') {
        this._fail(new ConnectError(`${what}: no interface to join on (no route for the group? give --interface)`, this._groupText, err.code));
      } else {
        this._fail(new ConnectError(`${what}: ${err.message}`, this._groupText, err.code));
      }
      return;
    }
    // stdout through the stdio transport: flushed at the end, EPIPE ends the session.
    const session = this;
    class StdoutSide extends Protocol {
      override readConnectionLost(): void {}
      override connectionLost(): void {
        session._finish(0);
      }
    }
    this._stdio = new StdioTransport(new StdoutSide(), { stdout: o.stdout, noInput: true });
    this._events.emit({ event: 'listening', proto: 'udp', address: o.group, port: p.getHost().port });
    const parts = [`Joined ${o.group} port ${o.port}`];
    if (o.interface !== undefined) parts.push(`on ${o.interface}`);
    if (o.source !== undefined) parts.push(`only from source ${o.source}`);
    this._events.emit({ event: 'info', message: parts.join(' ') });
    if (o.timeoutMs !== undefined) this._timeout = this._reactor.callLater(o.timeoutMs, () => this._timedOut());
    this._armIdle();
  }

  private _datagram(data: Buffer, addr: InetAddress): void {
    if (this._finished) return;
    const o = this._opts;
    this._received++;
    const from = formatHostPort(addr.host, addr.port);
    this._events.emit({ event: 'datagram', from, bytes: data.length });
    o.tap?.('b', data);
    // UDP is lossy: while stdout is full, drop (and count) rather than buffer without bound.
    const out = o.stdout ?? process.stdout;
    if (out.writableNeedDrain) {
      this._dropped++;
    } else if (o.format === 'line') {
      let end = data.length;
      if (end > 0 && data[end - 1] === 0x0a) end--;
      if (end > 0 && data[end - 1] === 0x0d) end--;
      const stamp = (o.now ?? (() => new Date()))().toISOString();
      this._stdio?.write(Buffer.concat([Buffer.from(`${stamp} ${from} `), data.subarray(0, end), _NEWLINE]));
    } else {
      this._stdio?.write(data);
    }
    if (this._reply !== undefined && this._port !== undefined) {
      const reply = this._reply;
      o.tap?.('a', reply);
      counters.datagramsOut++;
      counters.datagramBytesOut += reply.length;
      this._sending++;
      this._port.socket.send(reply, addr.port, addr.host, (err) => {
        if (err) this._events.emit({ event: 'warning', message: `could not reply to ${from}: ${err.message}` });
        if (--this._sending === 0) this._whenSent?.();
      });
    }
    if (o.count !== undefined && this._received >= o.count) {
      this._finish(0);
      return;
    }
    this._armIdle();
  }

  private _armIdle(): void {
    const ms = this._opts.idleTimeoutMs;
    if (ms === undefined || this._finished) return;
    if (this._idle !== undefined && this._idle.active()) this._idle.reset(ms);
    else this._idle = this._reactor.callLater(ms, () => this._fail(new TimeoutError(`idle for ${ms / 1000} s: no datagram to ${this._groupText}`, ms)));
  }

  private _timedOut(): void {
    const o = this._opts;
    const secs = `${o.timeoutMs! / 1000} s`;
    if (o.count !== undefined) {
      this._fail(new TimeoutError(`${this._received} of ${o.count} datagram${o.count === 1 ? '' : 's'} to ${this._groupText} within ${secs}`, o.timeoutMs));
    } else if (this._received === 0) {
      this._fail(new TimeoutError(`no datagram to ${this._groupText} within ${secs}`, o.timeoutMs));
    } else {
      this._finish(0);
    }
  }

  private _fail(err: unknown): void {
    this._finish(err instanceof Error ? err : new Error(String(err)));
  }

  /** Stop the timers, close the socket (leaving the group), flush stdout, then fire. */
  private _finish(outcome: number | Error): void {
    if (this._finished) return;
    this._finished = true;
    if (this._dropped > 0) {
      const n = this._dropped;
      this._events.emit({ event: 'warning', message: `dropped ${n} of ${this._received} datagram${this._received === 1 ? '' : 's'} while standard output was full` });
    }
    for (const t of [this._timeout, this._idle]) if (t !== undefined && t.active()) t.cancel();
    const fire = () => {
      if (typeof outcome === 'number') this.result.callback(outcome);
      else this.result.errback(outcome);
    };
    const stdio = this._stdio;
    const flushed = () => {
      // Closing the socket would cancel replies still queued: wait for them.
      const close = () => {
        const closing = this._port?.stopListening();
        if (closing !== undefined) closing.addBoth(() => fire());
        else fire();
      };
      if (this._sending === 0) close();
      else this._whenSent = close;
    };
    if (stdio !== undefined && stdio.connected && !stdio.disconnecting) {
      const out = this._opts.stdout ?? process.stdout;
      stdio.loseConnection();
      out.write('', () => flushed());
    } else {
      flushed();
    }
  }
}

const _NEWLINE = Buffer.from('\n');
