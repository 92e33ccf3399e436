/**
 * Multicast and broadcast through reactor.listenMulticast / listenUDP, on the
 * built package, inside a network namespace this test creates: a child
 * process under `unshare --net` brings lo up with multicast, adds a veth
 * pair that exists only in that namespace, and runs
 * test/fixtures/multicast.mjs, which prints one JSON line per scenario.
 * Nothing here joins a group or broadcasts on a real interface.
 *
 * IPv6 groups cannot use lo: Linux drops an IPv6 multicast datagram sent on
 * lo (no route: Ip6OutNoRoutes counts it), and with an ff00::/8 route on lo
 * sendto() fails with ENETUNREACH. So the IPv6 scenario (and the loopback-mode
 * one: on lo the kernel hands back one copy whatever IP_MULTICAST_LOOP says)
 * run on the namespace's veth interface, whose link-local address and
 * IP(V6)_MULTICAST_LOOP deliver our own group datagrams back to us.
 */
import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';
import { IN_CI, assertRunnable, missingProgram, runProgram, shouldSkip } from './requirements.js';

const LABEL = 'multicast tests (network namespace)';

function namespaceUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux network namespaces (platform: ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace (unshare --net)';
  const missing = missingProgram('unshare', 'util-linux') ?? missingProgram('ip', 'iproute2');
  if (missing !== undefined) return missing;
  // Root is not always enough (a container without CAP_SYS_ADMIN, user namespaces off).
  const probe = spawnSync('unshare', ['--net', 'true'], { encoding: 'utf8', timeout: 5000 });
  if (probe.status !== 0) return `cannot create a network namespace: unshare --net failed (${probe.error?.message || probe.stderr.trim() || `status ${probe.status}`})`;
  return undefined;
}
const unavailable = namespaceUnavailable();

// Run inside the new namespace. `set -e`: lo and its multicast route are
// required; the veth pair is optional (the scenarios that need it say why
// it is missing).
const NAMESPACE_SCRIPT = `
set -e
ip link set lo up
ip link set lo multicast on
ip route add 224.0.0.0/4 dev lo
echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad 2>/dev/null || true
if err=$(ip link add wc0 type veth peer name wc1 2>&1) && ip link set wc0 up && ip link set wc1 up && ip addr add 10.213.0.1/24 dev wc0; then
  export WC_VETH=wc0 WC_VETH_V4=10.213.0.1
else
  export WC_VETH_ERROR="cannot create a veth pair inside the namespace: $err"
fi
exec "$NODE" test/fixtures/multicast.mjs
`;

type Scenario = Record<string, unknown> & { scenario: string; error?: string; unavailable?: string };
const results = new Map<string, Scenario>();
let runOutput = '';

/** The result of one scenario; fails the test with the fixture's output when it is missing or threw. */
function scenario(name: string): Scenario {
  const r = results.get(name);
  if (r === undefined) throw new Error(`scenario '${name}' printed no result; fixture output:\n${runOutput}`);
  if (r.error !== undefined) throw new Error(`scenario '${name}' failed in the namespace: ${r.error}`);
  return r;
}

/** Skips (printing why) when the namespace had no veth, except under CI. */
function vethScenario(name: string, ctx: { skip: (note?: string) => void }): Scenario | undefined {
  const r = scenario(name);
  if (r.unavailable === undefined) return r;
  if (IN_CI) throw new Error(`scenario '${name}' cannot run (CI is set, so this is a failure, not a skip): ${r.unavailable}`);
  console.warn(`[skipped] ${name}: ${r.unavailable}`);
  ctx.skip(r.unavailable);
  return undefined;
}

describe.skipIf(shouldSkip(LABEL, unavailable))('multicast and broadcast in a private network namespace', () => {
  beforeAll(async () => {
    assertRunnable(LABEL, unavailable);
    const r = await runProgram('unshare', ['--net', 'sh', '-c', NAMESPACE_SCRIPT], {
      cwd: ROOT,
      env: { NODE: process.execPath, WC_PARENT_NETNS: readlinkSync('/proc/self/ns/net') },
      timeoutMs: 12_000,
    });
    runOutput = `exit ${r.code}${r.signal ? ` (signal ${r.signal})` : ''}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
    if (r.code !== 0) {
      throw new Error(`the namespace run failed (if unshare was refused, this machine cannot create network namespaces):\n${runOutput}`);
    }
    for (const line of r.stdout.split('\n').filter(Boolean)) {
      const obj = JSON.parse(line) as Scenario;
      results.set(obj.scenario, obj);
    }
  }, 15_000);

  it('the fixture ran in a network namespace of its own, with only lo and its veth pair', () => {
    const r = scenario('namespace');
    expect(r.netns).toMatch(/^net:\[\d+\]$/);
    expect(r.netns).not.toBe(readlinkSync('/proc/self/ns/net'));
    // networkInterfaces() lists interfaces with an address: lo, plus both veth ends when they exist.
    expect(['lo', 'lo,wc0,wc1']).toContain((r.interfaces as string[]).join(','));
  });

  it('joinGroup(): a datagram sent to a 239.x group reaches every socket that joined, two sharing the port with listenMultiple', () => {
    const r = scenario('anySource');
    expect(r.sharedPort).toBe(true);
    const from = { host: '127.0.0.1', port: r.senderPort };
    expect(r.r1).toEqual({ data: 'to the group', ...from });
    expect(r.r2).toEqual({ data: 'to the group', ...from });
  });

  it('joinGroup(group, iface, source): source-specific membership receives from that source and not from another', () => {
    const r = scenario('sourceSpecific');
    expect(r.matching).toMatchObject({ data: 'ssm to ok', host: '127.0.0.1' });
    // The socket filtering on 127.0.0.9 got only the unicast marker sent after the group datagram.
    expect(r.filtered).toEqual(['marker']);
  });

  it('leaveGroup(): datagrams sent to the group after leaving it are not delivered', () => {
    expect(scenario('leave').received).toEqual(['while joined', 'marker']);
  });

  it('setLoopbackMode(false) keeps our own group datagrams from us; setLoopbackMode(true) brings them back', (ctx) => {
    const r = vethScenario('loopbackMode', ctx);
    if (r === undefined) return;
    expect(r.received).toEqual(['marker 1', 'loopback on', 'marker 2']);
  });

  it('IPv6: joinGroup() on ff12:: and ff02:: groups receives datagrams sent to them', (ctx) => {
    const r = vethScenario('ipv6', ctx);
    if (r === undefined) return;
    const linkLocal = `${r.linkLocal as string}%${r.ifname as string}`;
    for (const group of ['ff12::5c:1', 'ff02::5c:2']) {
      const g = r[group] as { data: string; host: string; port: number; senderPort: number; family: number };
      expect(g.family).toBe(6);
      expect(g.data).toBe(`hello ${group}`);
      expect(g.host).toBe(linkLocal);
      expect(g.port).toBe(g.senderPort);
    }
  });

  it('broadcast to 127.255.255.255 fails with EACCES until setBroadcastAllowed(true), then arrives', () => {
    const r = scenario('broadcast');
    // write() itself does not throw: the send fails asynchronously and the
    // error (EACCES) goes to the core's logger; nothing is delivered.
    expect(r.threw).toBeNull();
    expect(r.deniedLog).toMatch(/^Unhandled error in UDP socket:\nError: send EACCES 127\.255\.255\.255:\d+/);
    expect(r.beforeAllowed).toEqual(['marker']);
    expect(r.allowed).toMatchObject({ data: 'broadcast allowed', host: '127.0.0.1' });
  });

  it('setTTL() takes 1..255 and setMulticastTTL() 0..255; values out of range throw EINVAL; datagrams still flow', () => {
    const r = scenario('ttl');
    expect(r.accepted).toEqual({ ttl1: 'ok', ttl64: 'ok', ttl255: 'ok', mttl0: 'ok', mttl1: 'ok', mttl255: 'ok' });
    expect(r.rejected).toEqual({ ttl0: 'EINVAL', ttl256: 'EINVAL', mttl256: 'EINVAL' });
    expect(r.got).toBe('after ttl');
  });

  it('every scenario printed a result, none failed', () => {
    expect([...results.keys()].sort()).toEqual(
      ['anySource', 'broadcast', 'ipv6', 'leave', 'loopbackMode', 'namespace', 'sourceSpecific', 'ttl'].sort(),
    );
    expect([...results.values()].filter((r) => r.error !== undefined)).toEqual([]);
  });
});
