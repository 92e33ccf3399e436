/**
 * reactor.listenUDP over real loopback sockets: echo over IPv4 and IPv6,
 * connected sockets, the size limits, the bound address, and stopping.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CannotListenError,
  DatagramProtocol,
  MAX_UDP_PAYLOAD_V4,
  MAX_UDP_PAYLOAD_V6,
  UDPPort,
  UsageError,
  isMulticastAddress,
  reactor,
  type InetAddress,
} from 'wirecat';
import { Condition, assertRunnable, shouldSkip, within } from './requirements.js';

/** Records every datagram and event; echoes when asked to. */
class Recorder extends DatagramProtocol {
  readonly datagrams: { data: Buffer; addr: InetAddress }[] = [];
  readonly events: string[] = [];
  readonly changed = new Condition();
  constructor(private readonly _echo = false) {
    super();
  }
  override startProtocol(): void {
    this.events.push('startProtocol');
    this.changed.poke();
  }
  override stopProtocol(): void {
    this.events.push('stopProtocol');
    this.changed.poke();
  }
  override datagramReceived(data: Buffer, addr: InetAddress): void {
    this.datagrams.push({ data: Buffer.from(data), addr });
    this.events.push(`datagram:${data.length}`);
    if (this._echo) this.transport!.write(data, { host: addr.host, port: addr.port });
    this.changed.poke();
  }
  override connectionRefused(): void {
    this.events.push('connectionRefused');
    this.changed.poke();
  }
  /** The n-th datagram (from 1), once it has arrived. */
  async nth(n: number, ms = 3000): Promise<{ data: Buffer; addr: InetAddress }> {
    await this.changed.wait(() => this.datagrams.length >= n, `datagram #${n}`, ms);
    return this.datagrams[n - 1]!;
  }
}

const ports: UDPPort[] = [];
async function listen(protocol: DatagramProtocol, opts: { host?: string; family?: 4 | 6 } = {}, port = 0): Promise<UDPPort> {
  const p = await reactor.listenUDP(port, protocol, opts);
  ports.push(p);
  return p;
}
afterEach(async () => {
  for (const p of ports.splice(0)) await within(p.stopListening(), 'port to close', 2000);
});

/** A UDP port on 127.0.0.1 that nothing is bound to (bound, then closed). */
function closedUdpPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function ipv6LoopbackReason(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp6');
    s.once('error', (e) => resolve(`cannot bind a UDP socket to ::1 (${(e as NodeJS.ErrnoException).code})`));
    s.bind(0, '::1', () => s.close(() => resolve(undefined)));
  });
}
const noIPv6 = await ipv6LoopbackReason();

describe('reactor.listenUDP() unicast', () => {
  it('echoes a datagram over 127.0.0.1; the sender sees the server address as the source', async () => {
    const server = new Recorder(true);
    const serverPort = await listen(server, { host: '127.0.0.1' });
    const client = new Recorder();
    const clientPort = await listen(client, { host: '127.0.0.1' });
    const { port } = serverPort.getHost();
    const payload = randomBytes(1200);

    clientPort.write(payload, { host: '127.0.0.1', port });

    const got = await client.nth(1);
    expect(got.data.equals(payload)).toBe(true);
    expect(got.addr).toEqual({ type: 'UDP', host: '127.0.0.1', port });
    expect(server.datagrams[0]!.addr).toEqual({ type: 'UDP', host: '127.0.0.1', port: clientPort.getHost().port });
    expect(server.events).toEqual(['startProtocol', 'datagram:1200']);
  });

  it.skipIf(shouldSkip('IPv6 UDP echo', noIPv6))('echoes a datagram over ::1 (the family follows the host)', async () => {
    assertRunnable('IPv6 UDP echo', noIPv6);
    const server = new Recorder(true);
    const serverPort = await listen(server, { host: '::1' });
    expect(serverPort.family).toBe(6);
    const client = new Recorder();
    const clientPort = await listen(client, { host: '::1' });
    const { port } = serverPort.getHost();
    const payload = Buffer.from('hello over IPv6 loopback');

    clientPort.write(payload, { host: '::1', port });

    const got = await client.nth(1);
    expect(got.data.toString()).toBe('hello over IPv6 loopback');
    expect(got.addr).toEqual({ type: 'UDP', host: '::1', port });
  });

  it('a string is sent as its UTF-8 bytes', async () => {
    const server = new Recorder();
    const serverPort = await listen(server, { host: '127.0.0.1' });
    const clientPort = await listen(new Recorder(), { host: '127.0.0.1' });
    clientPort.write('héllo ✓', { host: '127.0.0.1', port: serverPort.getHost().port });
    const got = await server.nth(1);
    expect(got.data.equals(Buffer.from('héllo ✓', 'utf8'))).toBe(true);
  });

  it('getHost() after binding port 0 gives the address and the real port', async () => {
    const p = await listen(new Recorder(), { host: '127.0.0.1' });
    const a = p.getHost();
    expect(a.type).toBe('UDP');
    expect(a.host).toBe('127.0.0.1');
    expect(a.port).toBeGreaterThan(0);
    expect(a.port).toBeLessThan(65536);
    // The port is really bound: a second bind to it fails.
    await expect(reactor.listenUDP(a.port, new Recorder(), { host: '127.0.0.1' })).rejects.toBeInstanceOf(CannotListenError);
  });

  it('listenUDP() on a port in use fails with CannotListenError "Address already in use"', async () => {
    const p = await listen(new Recorder(), { host: '127.0.0.1' });
    const { port } = p.getHost();
    const err = await Promise.resolve(reactor.listenUDP(port, new Recorder(), { host: '127.0.0.1' })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CannotListenError);
    expect((err as CannotListenError).message).toBe(`Address already in use (attempted address: 127.0.0.1:${port})`);
    expect((err as CannotListenError).syscallCode).toBe('EADDRINUSE');
  });

  it('stopListening() closes the socket, then calls stopProtocol() once; calling it again returns the same Deferred', async () => {
    const proto = new Recorder();
    const p = await reactor.listenUDP(0, proto, { host: '127.0.0.1' });
    const { port } = p.getHost();
    expect(proto.events).toEqual(['startProtocol']);
    const d1 = p.stopListening();
    const d2 = p.stopListening();
    expect(d2).toBe(d1);
    await within(d1, 'stopListening');
    expect(proto.events).toEqual(['startProtocol', 'stopProtocol']);
    // The port is free again.
    const again = await listen(new Recorder(), { host: '127.0.0.1' }, port);
    expect(again.getHost().port).toBe(port);
  });
});

describe('UDPPort.connect()', () => {
  it('after connect(), write() without an address reaches the peer, and replies arrive', async () => {
    const server = new Recorder(true);
    const serverPort = await listen(server, { host: '127.0.0.1' });
    const { port } = serverPort.getHost();
    const client = new Recorder();
    const clientPort = await listen(client, { host: '127.0.0.1' });

    clientPort.connect('127.0.0.1', port); // the write below is queued until connected
    clientPort.write('first');
    const got = await client.nth(1);
    expect(got.data.toString()).toBe('first');
    expect(got.addr).toEqual({ type: 'UDP', host: '127.0.0.1', port });

    clientPort.write(Buffer.from('second'));
    expect((await client.nth(2)).data.toString()).toBe('second');
    expect(server.datagrams.map((d) => d.data.toString())).toEqual(['first', 'second']);
  });

  it('a connected socket only receives from its peer', async () => {
    const server = new Recorder(true);
    const serverPort = await listen(server, { host: '127.0.0.1' });
    const client = new Recorder();
    const clientPort = await listen(client, { host: '127.0.0.1' });
    clientPort.connect('127.0.0.1', serverPort.getHost().port);
    clientPort.write('ping');
    await client.nth(1);

    // A stranger's datagram, sent (its send completed) before the peer's
    // next reply: if the kernel delivered it, it would come first.
    const stranger = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) =>
      stranger.send('intruder', clientPort.getHost().port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
    );
    stranger.close();
    clientPort.write('pong');
    const second = await client.nth(2);
    expect(second.data.toString()).toBe('pong');
    expect(client.datagrams.map((d) => d.data.toString())).toEqual(['ping', 'pong']);
  });

  it('a datagram to a closed port on a connected socket calls connectionRefused()', async () => {
    const closed = await closedUdpPort();
    const client = new Recorder();
    const clientPort = await listen(client, { host: '127.0.0.1' });
    clientPort.connect('127.0.0.1', closed);
    clientPort.write('anyone there?');
    await client.changed.wait(() => client.events.includes('connectionRefused'), 'connectionRefused()', 3000);
    expect(client.events.filter((e) => e === 'connectionRefused')).toEqual(['connectionRefused']);
    expect(client.datagrams).toEqual([]);
  });

  it('write() without an address on an unconnected socket throws UsageError', async () => {
    const p = await listen(new Recorder(), { host: '127.0.0.1' });
    expect(() => p.write('x')).toThrow(UsageError);
    expect(() => p.write('x')).toThrow('UDP write() without a destination on an unconnected socket');
  });
});

describe('UDP datagram size limits', () => {
  it(`IPv4: ${MAX_UDP_PAYLOAD_V4 + 1} bytes throws UsageError naming the size and the limit; nothing is sent`, async () => {
    expect(MAX_UDP_PAYLOAD_V4).toBe(65_507);
    const server = new Recorder();
    const serverPort = await listen(server, { host: '127.0.0.1' });
    const clientPort = await listen(new Recorder(), { host: '127.0.0.1' });
    const to = { host: '127.0.0.1', port: serverPort.getHost().port };
    let err: unknown;
    try {
      clientPort.write(Buffer.alloc(65_508), to);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).code).toBe('ERR_USAGE');
    expect((err as UsageError).message).toBe('datagram of 65508 bytes is larger than UDP allows over IPv4 (65507)');
    // A marker sent afterwards is the first and only datagram to arrive.
    clientPort.write('marker', to);
    expect((await server.nth(1)).data.toString()).toBe('marker');
    expect(server.datagrams).toHaveLength(1);
  });

  it('IPv4: exactly 65,507 bytes goes through intact, both ways', async () => {
    const server = new Recorder(true);
    const serverPort = await listen(server, { host: '127.0.0.1' });
    const client = new Recorder();
    const clientPort = await listen(client, { host: '127.0.0.1' });
    const payload = randomBytes(65_507);
    clientPort.write(payload, { host: '127.0.0.1', port: serverPort.getHost().port });
    const got = await client.nth(1);
    expect(got.data.length).toBe(65_507);
    expect(got.data.equals(payload)).toBe(true);
  });

  it.skipIf(shouldSkip('IPv6 UDP size limits', noIPv6))('IPv6: 65,528 bytes throws UsageError; exactly 65,527 goes through', async () => {
    assertRunnable('IPv6 UDP size limits', noIPv6);
    expect(MAX_UDP_PAYLOAD_V6).toBe(65_527);
    const server = new Recorder();
    const serverPort = await listen(server, { host: '::1' });
    const clientPort = await listen(new Recorder(), { host: '::1' });
    const to = { host: '::1', port: serverPort.getHost().port };
    expect(() => clientPort.write(Buffer.alloc(65_528), to)).toThrow(
      new UsageError('datagram of 65528 bytes is larger than UDP allows over IPv6 (65527)'),
    );
    const payload = randomBytes(65_527);
    clientPort.write(payload, to);
    const got = await server.nth(1);
    expect(got.data.equals(payload)).toBe(true);
  });
});

describe('isMulticastAddress()', () => {
  it('is true for 224.0.0.0/4 and ff00::/8, false for everything else', () => {
    for (const a of ['224.0.0.1', '239.255.255.250', '232.1.2.3', 'ff02::1', 'FF12::1234', 'ff05::1:3']) {
      expect(isMulticastAddress(a), a).toBe(true);
    }
    for (const a of ['223.255.255.255', '240.0.0.1', '127.0.0.1', '255.255.255.255', '::1', 'fe80::1', 'fd00::ff', 'localhost', '']) {
      expect(isMulticastAddress(a), a).toBe(false);
    }
  });
});
