/**
 * `wirecat multicast-join`, always inside a network namespace the test
 * creates (`unshare --net`): loopback up with multicast on and a route for
 * 224.0.0.0/4, receivers and senders (wirecat udp-send, socat, python)
 * all inside it. IPv6 multicast is not delivered over Linux's loopback, so
 * the IPv6 test adds a veth pair inside the namespace.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WIRECAT, run, wirecat } from './helpers.js';

const canNetns = spawnSync('unshare', ['--net', 'true']).status === 0;
const tools = ['ip', 'socat', 'python3'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
// Outside CI a machine without namespaces (or the tools) skips; under CI nothing may skip.
const runNetns = (canNetns && tools.length === 0) || process.env.CI !== undefined;

const SETUP = 'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo';

/** Shell helpers for the scripts: wait for a receiver's `listening` event; send from python. */
const FUNCS = `
W=${WIRECAT}
ready() { i=0; until grep -q '"event":"listening"' "$1" 2>/dev/null; do i=$((i+1)); if [ $i -gt 200 ]; then echo "receiver not ready: $1" >&2; exit 99; fi; sleep 0.05; done; }
pysend() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind((sys.argv[1],0)); s.setsockopt(socket.IPPROTO_IP,socket.IP_MULTICAST_IF,socket.inet_aton(sys.argv[1])); s.sendto(sys.argv[4].encode(),(sys.argv[2],int(sys.argv[3])))' "$@"; }
`;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * Run `script` in a new network namespace; files it writes to `$D` are read back.
 *
 * @returns The script's exit code and stderr, and `file(name)` for what it left in `$D`.
 */
async function netns(script: string, setup = SETUP): Promise<{ code: number | null; stderr: string; file: (name: string) => string }> {
  if (!canNetns) throw new Error('unshare --net is not available (root or user namespaces are needed)');
  if (tools.length > 0) throw new Error(`missing tools: ${tools.join(', ')} (see .ci/run)`);
  const d = mkdtempSync(join(tmpdir(), 'wirecat-mc-'));
  dirs.push(d);
  const r = await run('unshare', ['--net', 'sh', '-c', `set -u\nD=${d}\n${FUNCS}\n${setup}\n${script}`], { timeoutMs: 20_000 });
  return { code: r.code, stderr: r.stderr, file: (name) => readFileSync(join(d, name), 'utf8') };
}

const jsonLines = (text: string): Record<string, unknown>[] =>
  text
    .trimEnd()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      const { ts, ...rest } = JSON.parse(l) as Record<string, unknown>;
      expect(ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      return rest;
    });

const STAMP = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';

describe.runIf(runNetns)('wirecat multicast-join (in a network namespace)', () => {
  it('receives what udp-send sends to the group: payloads only on stdout, events with --json', async () => {
    const r = await netns(`
      $W --json multicast-join --count 3 -w 10 239.1.2.3 5000 >$D/out 2>$D/err & P=$!
      ready $D/err
      $W udp-send --multicast-interface 127.0.0.1 239.1.2.3 5000 one two three; echo $? >$D/send.rc
      wait $P; echo $? >$D/rc`);
    expect(r.stderr).toBe('');
    expect(r.file('send.rc')).toBe('0\n');
    expect(r.file('rc')).toBe('0\n');
    expect(r.file('out')).toBe('onetwothree');
    const events = jsonLines(r.file('err'));
    expect(events.slice(0, 2)).toEqual([
      { event: 'listening', proto: 'udp', address: '239.1.2.3', port: 5000 },
      { event: 'info', message: 'Joined 239.1.2.3 port 5000' },
    ]);
    const from = events[2]!.from as string;
    expect(from).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(events.slice(2)).toEqual([
      { event: 'datagram', from, bytes: 3 },
      { event: 'datagram', from, bytes: 3 },
      { event: 'datagram', from, bytes: 5 },
    ]);
  });

  it('receives from socat and python senders; --format line adds time and source', async () => {
    const r = await netns(`
      $W --json multicast-join --count 2 -w 10 --format line 239.1.2.3 5000 >$D/out 2>$D/err & P=$!
      ready $D/err
      echo from-socat | socat -u - UDP4-DATAGRAM:239.1.2.3:5000,bind=127.0.0.1
      sleep 0.1
      pysend 127.0.0.1 239.1.2.3 5000 from-python
      wait $P; echo $? >$D/rc`);
    expect(r.file('rc')).toBe('0\n');
    const lines = r.file('out').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^${STAMP} 127\\.0\\.0\\.1:\\d+ from-socat$`));
    expect(lines[1]).toMatch(new RegExp(`^${STAMP} 127\\.0\\.0\\.1:\\d+ from-python$`));
    expect(lines[2]).toBe('');
  });

  it('--count N exits 0 after N datagrams, leaving the rest unread', async () => {
    const r = await netns(`
      $W --json multicast-join --count 2 -w 10 239.1.2.3 5000 >$D/out 2>$D/err & P=$!
      ready $D/err
      $W udp-send --multicast-interface 127.0.0.1 --interval 100 239.1.2.3 5000 a b c d e &
      wait $P; echo $? >$D/rc
      wait`);
    expect(r.file('rc')).toBe('0\n');
    expect(r.file('out')).toBe('ab');
  });

  it('--source receives from that source only; a plain join beside it receives both', async () => {
    const r = await netns(`
      $W --json multicast-join --source 127.0.0.2 --count 1 -w 10 239.1.2.4 5001 >$D/ssm.out 2>$D/ssm.err & S=$!
      $W --json multicast-join --count 2 -w 10 239.1.2.4 5001 >$D/asm.out 2>$D/asm.err & A=$!
      ready $D/ssm.err; ready $D/asm.err
      pysend 127.0.0.1 239.1.2.4 5001 ignored
      sleep 0.2
      pysend 127.0.0.2 239.1.2.4 5001 accepted
      wait $S; echo $? >$D/ssm.rc
      wait $A; echo $? >$D/asm.rc`);
    expect(r.file('ssm.rc')).toBe('0\n');
    expect(r.file('ssm.out')).toBe('accepted');
    expect(jsonLines(r.file('ssm.err'))[1]).toEqual({ event: 'info', message: 'Joined 239.1.2.4 port 5001 only from source 127.0.0.2' });
    expect(r.file('asm.rc')).toBe('0\n');
    expect(r.file('asm.out')).toBe('ignoredaccepted');
  });

  it('two groups on one port: each receiver gets its own group only', async () => {
    const r = await netns(`
      $W --json multicast-join --count 1 -w 10 239.1.2.10 5010 >$D/a.out 2>$D/a.err & A=$!
      $W --json multicast-join --count 1 -w 10 239.1.2.11 5010 >$D/b.out 2>$D/b.err & B=$!
      ready $D/a.err; ready $D/b.err
      $W udp-send --multicast-interface 127.0.0.1 239.1.2.11 5010 to-b
      $W udp-send --multicast-interface 127.0.0.1 239.1.2.10 5010 to-a
      wait $A; echo $? >$D/a.rc; wait $B; echo $? >$D/b.rc`);
    expect([r.file('a.rc'), r.file('a.out')]).toEqual(['0\n', 'to-a']);
    expect([r.file('b.rc'), r.file('b.out')]).toEqual(['0\n', 'to-b']);
  });

  it('--reply answers each sender, from the group port; udp-send --wait-reply prints it', async () => {
    const r = await netns(`
      $W --json multicast-join --reply pong --count 1 -w 10 239.1.2.6 5003 >$D/out 2>$D/err & P=$!
      ready $D/err
      $W --json udp-send --multicast-interface lo --wait-reply 1 239.1.2.6 5003 ping >$D/send.out 2>$D/send.err; echo $? >$D/send.rc
      wait $P; echo $? >$D/rc`);
    expect(r.file('rc')).toBe('0\n');
    expect(r.file('out')).toBe('ping');
    expect(r.file('send.rc')).toBe('0\n');
    expect(r.file('send.out')).toBe('pong');
    expect(jsonLines(r.file('send.err')).filter((e) => e.event === 'datagram')).toEqual([{ event: 'datagram', from: '127.0.0.1:5003', bytes: 4 }]);
  });

  it('-x hex-dumps each datagram on stderr; payloads still go to stdout', async () => {
    const r = await netns(`
      $W -v -x multicast-join --count 1 -w 10 239.1.2.3 5000 >$D/out 2>$D/err & P=$!
      i=0; until grep -q 'Listening on' $D/err; do i=$((i+1)); [ $i -gt 200 ] && exit 99; sleep 0.05; done
      $W udp-send --multicast-interface 127.0.0.1 239.1.2.3 5000 hello
      wait $P; echo $? >$D/rc`);
    expect(r.file('rc')).toBe('0\n');
    expect(r.file('out')).toBe('hello');
    const err = r.file('err').split('\n');
    expect(err.slice(0, 2)).toEqual(['wirecat: Listening on 239.1.2.3:5000', 'wirecat: Joined 239.1.2.3 port 5000']);
    expect(err[2]).toMatch(new RegExp(`^< ${STAMP} 5 bytes$`));
    expect(err[3]).toBe(`00000000  68 65 6c 6c 6f${' '.repeat(36)}|hello|`); // as hexdump -C
  });

  it('-w without a datagram exits 3 with one line (with --count and without); so does -i', async () => {
    const r = await netns(`
      $W multicast-join --count 2 -w 0.5 239.1.2.5 5002 >$D/a.out 2>$D/a.err; echo $? >$D/a.rc
      $W multicast-join -w 0.5 239.1.2.5 5002 >$D/b.out 2>$D/b.err; echo $? >$D/b.rc
      $W multicast-join -i 0.5 239.1.2.5 5002 >$D/c.out 2>$D/c.err; echo $? >$D/c.rc`);
    expect([r.file('a.rc'), r.file('a.out'), r.file('a.err')]).toEqual(['3\n', '', 'wirecat: multicast-join: 0 of 2 datagrams to 239.1.2.5:5002 within 0.5 s\n']);
    expect([r.file('b.rc'), r.file('b.out'), r.file('b.err')]).toEqual(['3\n', '', 'wirecat: multicast-join: no datagram to 239.1.2.5:5002 within 0.5 s\n']);
    expect([r.file('c.rc'), r.file('c.out'), r.file('c.err')]).toEqual(['3\n', '', 'wirecat: multicast-join: idle for 0.5 s: no datagram to 239.1.2.5:5002\n']);
  });

  it('-w ends a live feed with exit 0 once something arrived (without --count)', async () => {
    const r = await netns(`
      $W --json multicast-join -w 1 239.1.2.3 5000 >$D/out 2>$D/err & P=$!
      ready $D/err
      $W udp-send --multicast-interface 127.0.0.1 239.1.2.3 5000 tick
      wait $P; echo $? >$D/rc`);
    expect([r.file('rc'), r.file('out')]).toEqual(['0\n', 'tick']);
  });

  it('a full stdout drops datagrams (counted in one warning) instead of buffering them without bound', async () => {
    const r = await netns(`
      python3 -c 'import sys; sys.stdout.write(("x" * 999 + "\\n") * 4000)' >$D/lines
      { $W --json multicast-join -w 2 239.1.2.3 5000 2>$D/err; echo $? >$D/rc; } | { sleep 2.5; wc -c >$D/count; } & P=$!
      ready $D/err
      $W udp-send --multicast-interface 127.0.0.1 239.1.2.3 5000 <$D/lines
      wait $P`);
    expect(r.file('rc')).toBe('0\n');
    const events = jsonLines(r.file('err'));
    const datagrams = events.filter((e) => e.event === 'datagram');
    const warnings = events.filter((e) => e.event === 'warning');
    expect(warnings).toHaveLength(1);
    const m = /^dropped (\d+) of (\d+) datagrams while standard output was full$/.exec(String(warnings[0]!.message));
    expect(m).not.toBeNull();
    const [dropped, received] = [Number(m![1]), Number(m![2])];
    expect(received).toBe(datagrams.length);
    expect(dropped).toBeGreaterThan(0);
    const size = datagrams[0]!.bytes as number;
    expect(datagrams.every((d) => d.bytes === size)).toBe(true);
    // Everything not dropped reached stdout, whole.
    expect(Number(r.file('count').trim())).toBe((received - dropped) * size);
  });

  it('--interface that is not a local interface is a usage error (exit 2)', async () => {
    const r = await netns(`
      $W multicast-join --interface 10.9.9.9 239.1.2.7 5004 2>$D/a.err; echo $? >$D/a.rc
      $W multicast-join --interface nosuch0 239.1.2.7 5004 2>$D/b.err; echo $? >$D/b.rc`);
    expect([r.file('a.rc'), r.file('a.err')]).toEqual(['2\n', 'wirecat: multicast-join: cannot join 239.1.2.7: --interface 10.9.9.9 is not a local interface that can join it\n']);
    expect([r.file('b.rc'), r.file('b.err')]).toEqual(['2\n', "wirecat: multicast-join: --interface 'nosuch0' is neither an IP address nor an interface of this host (interfaces: lo)\n"]);
  });

  it('an IPv6 group: joined on a veth interface, sent with udp-send, answered with --reply', async () => {
    const setup = `${SETUP}
      sysctl -qw net.ipv6.conf.default.accept_dad=0
      ip link add wc0 type veth peer name wc1 && ip link set wc0 up && ip link set wc1 up`;
    const r = await netns(
      `
      $W --json multicast-join --interface wc0 --reply pong6 --count 1 -w 10 --format line ff12::1234 5005 >$D/out 2>$D/err & P=$!
      ready $D/err
      $W udp-send --multicast-interface wc0 --wait-reply 1 ff12::1234 5005 hello6 >$D/send.out 2>$D/send.err; echo $? >$D/send.rc
      wait $P; echo $? >$D/rc`,
      setup,
    );
    expect(r.stderr).toBe('');
    expect(r.file('rc')).toBe('0\n');
    expect(jsonLines(r.file('err'))[0]).toEqual({ event: 'listening', proto: 'udp', address: 'ff12::1234', port: 5005 });
    expect(r.file('out')).toMatch(new RegExp(`^${STAMP} \\[fe80::[0-9a-f:]+%wc0\\]:\\d+ hello6\\n$`));
    expect([r.file('send.rc'), r.file('send.out'), r.file('send.err')]).toEqual(['0\n', 'pong6', '']);
  });
});

describe('wirecat multicast-join (usage errors, no network)', () => {
  it('joining an address that is not a multicast group is a usage error (exit 2)', async () => {
    expect(await wirecat(['multicast-join', '10.0.0.1', '5000'])).toMatchObject({
      code: 2,
      stdout: '',
      stderr: "wirecat: multicast-join: '10.0.0.1' is not a multicast group address (IPv4 224.0.0.0/4, IPv6 ff00::/8)\n",
    });
    expect(await wirecat(['multicast-join', 'example.com', '5000'])).toMatchObject({
      code: 2,
      stderr: "wirecat: multicast-join: 'example.com' is not an IP address; a multicast group is one (like 239.1.2.3 or ff15::1234)\n",
    });
  });

  it('a --source of the other family, or a bad --format, is a usage error (exit 2)', async () => {
    expect(await wirecat(['multicast-join', '--source', '::1', '239.1.2.3', '5000'])).toMatchObject({
      code: 2,
      stderr: 'wirecat: multicast-join: --source ::1 is IPv6; the group 239.1.2.3 is IPv4\n',
    });
    const r = await wirecat(['multicast-join', '--format', 'csv', '239.1.2.3', '5000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^wirecat: multicast-join: Invalid values:/);
  });
});
