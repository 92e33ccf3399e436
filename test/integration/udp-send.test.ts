/**
 * `wirecat udp-send` against receivers on 127.0.0.1: each datagram as it
 * arrives, replies, the exit codes, the rate over 10,000 datagrams and
 * backpressure from stdin.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, WIRECAT, wirecat } from './helpers.js';

/** A UDP receiver on 127.0.0.1 that records datagrams (and optionally answers them). */
class Receiver {
  readonly socket = dgram.createSocket('udp4');
  readonly datagrams: { data: Buffer; at: number; port: number }[] = [];
  port = 0;
  private _waiters: (() => void)[] = [];

  constructor(private readonly _reply?: (data: Buffer) => Buffer | undefined) {
    this.socket.on('message', (data, rinfo) => {
      this.datagrams.push({ data, at: performance.now(), port: rinfo.port });
      const answer = this._reply?.(data);
      if (answer !== undefined) this.socket.send(answer, rinfo.port, rinfo.address);
      for (const w of this._waiters.splice(0)) w();
    });
  }

  start(): Promise<this> {
    return new Promise((resolve) => this.socket.bind(0, '127.0.0.1', () => {
      this.port = this.socket.address().port;
      resolve(this);
    }));
  }

  texts(): string[] {
    return this.datagrams.map((d) => d.data.toString());
  }

  /** Wait (at most `ms`) until `n` datagrams arrived. */
  async waitFor(n: number, ms = 3000): Promise<void> {
    const deadline = performance.now() + ms;
    while (this.datagrams.length < n && performance.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this._waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}

const receivers: Receiver[] = [];
async function receiver(reply?: (data: Buffer) => Buffer | undefined): Promise<Receiver> {
  const r = await new Receiver(reply).start();
  receivers.push(r);
  return r;
}
afterEach(() => {
  for (const r of receivers.splice(0)) r.close();
});

/** A port on which nothing listens (bound, then closed). */
async function closedPort(): Promise<number> {
  const r = await new Receiver().start();
  r.close();
  return r.port;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wirecat-udp-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('wirecat udp-send', () => {
  it('sends each stdin line as one datagram without its ending, skipping empty lines', async () => {
    const r = await receiver();
    const res = await wirecat(['udp-send', '127.0.0.1', String(r.port)], { input: 'one\ntwo\r\n\nthree' });
    expect(res).toMatchObject({ code: 0, stdout: '', stderr: '' });
    await r.waitFor(3);
    expect(r.texts()).toEqual(['one', 'two', 'three']);
    expect(new Set(r.datagrams.map((d) => d.port)).size).toBe(1); // one socket
  });

  it('sends each MESSAGE argument as one datagram, and does not read stdin', async () => {
    const r = await receiver();
    const res = await wirecat(['udp-send', '127.0.0.1', String(r.port), 'deploys:1|c', 'two words'], { input: 'not sent\n' });
    expect(res).toMatchObject({ code: 0, stdout: '', stderr: '' });
    await r.waitFor(2);
    expect(r.texts()).toEqual(['deploys:1|c', 'two words']);
  });

  it('--whole sends all of stdin as one datagram, line endings included', async () => {
    const r = await receiver();
    const res = await wirecat(['udp-send', '--whole', '127.0.0.1', String(r.port)], { input: 'line 1\nline 2\n' });
    expect(res.code).toBe(0);
    await r.waitFor(1);
    expect(r.texts()).toEqual(['line 1\nline 2\n']);
  });

  it('--hex decodes each MESSAGE, and each stdin line', async () => {
    const r = await receiver();
    expect((await wirecat(['udp-send', '--hex', '127.0.0.1', String(r.port), 'de ad be ef', '00:01'])).code).toBe(0);
    expect((await wirecat(['udp-send', '--hex', '127.0.0.1', String(r.port)], { input: '68656c6c6f\n0x776f726c64\n' })).code).toBe(0);
    await r.waitFor(4);
    expect(r.datagrams.map((d) => d.data.toString('hex'))).toEqual(['deadbeef', '0001', '68656c6c6f', '776f726c64']);
  });

  it('--hex with a character that is not hex is a usage error (exit 2)', async () => {
    const r = await receiver();
    const res = await wirecat(['udp-send', '--hex', '127.0.0.1', String(r.port), '0g']);
    expect(res).toMatchObject({
      code: 2,
      stdout: '',
      stderr: "wirecat: udp-send: --hex: message 1 has 'g', which is not a hex digit (give pairs like 'de ad be ef')\n",
    });
  });

  it('--count repeats the whole set, --interval spaces the datagrams', async () => {
    const r = await receiver();
    const res = await wirecat(['udp-send', '--count', '3', '--interval', '100', '127.0.0.1', String(r.port), 'a', 'b']);
    expect(res.code).toBe(0);
    await r.waitFor(6);
    expect(r.texts()).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
    const span = r.datagrams[5]!.at - r.datagrams[0]!.at;
    expect(span).toBeGreaterThan(450);
    expect(span).toBeLessThan(800);
  });

  it('a MESSAGE larger than a UDP datagram can be is a usage error, nothing is sent', async () => {
    const r = await receiver();
    const res = await wirecat(['udp-send', '127.0.0.1', String(r.port), 'small', 'x'.repeat(65_508)]);
    expect(res).toMatchObject({ code: 2, stdout: '', stderr: 'wirecat: udp-send: message 2 is 65508 bytes, larger than a UDP datagram can be (65507 bytes)\n' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(r.datagrams).toHaveLength(0);
  });

  it('a stdin line larger than a UDP datagram can be is a usage error, not a truncation', async () => {
    const r = await receiver();
    const res = await wirecat(['udp-send', '127.0.0.1', String(r.port)], { input: `ok\n${'y'.repeat(70_000)}\n` });
    expect(res).toMatchObject({ code: 2, stdout: '', stderr: 'wirecat: udp-send: line 2 of stdin is longer than a UDP datagram can be (65507 bytes)\n' });
    await r.waitFor(1);
    expect(r.texts()).toEqual(['ok']);
  });

  it('--wait-reply prints the replies on stdout and exits 0 as soon as every datagram is answered', async () => {
    const r = await receiver((d) => Buffer.from(`re:${d}\n`));
    const started = performance.now();
    const res = await wirecat(['udp-send', '--wait-reply', '5', '127.0.0.1', String(r.port), 'ping', 'pong']);
    expect(res).toMatchObject({ code: 0, stdout: 're:ping\nre:pong\n', stderr: '' });
    expect(performance.now() - started).toBeLessThan(4000);
  });

  it('--wait-reply before HOST takes no value from it (default wait)', async () => {
    const r = await receiver((d) => Buffer.from(`re:${d}`));
    const res = await wirecat(['udp-send', '--wait-reply', '127.0.0.1', String(r.port)], { input: 'hello\n' });
    expect(res).toMatchObject({ code: 0, stdout: 're:hello', stderr: '' });
  });

  it('--wait-reply exits 3 with one line when no reply comes', async () => {
    const r = await receiver();
    const res = await wirecat(['udp-send', '--wait-reply', '0.5', '127.0.0.1', String(r.port), 'anyone?']);
    expect(res).toMatchObject({ code: 3, stdout: '', stderr: `wirecat: udp-send: no reply from 127.0.0.1:${r.port} within 0.5 s\n` });
    expect(r.texts()).toEqual(['anyone?']);
  });

  it('--wait-reply to a closed port exits 1: connection refused (ICMP port unreachable)', async () => {
    const port = await closedPort();
    const res = await wirecat(['udp-send', '--wait-reply', '2', '127.0.0.1', String(port), 'x']);
    expect(res).toMatchObject({ code: 1, stdout: '', stderr: `wirecat: udp-send: Connection refused (attempted address: 127.0.0.1:${port})\n` });
  });

  it('without --wait-reply a closed port is no error (fire and forget), and -v says so', async () => {
    const port = await closedPort();
    const res = await wirecat(['-v', 'udp-send', '--interval', '50', '127.0.0.1', String(port), 'a', 'b', 'c']);
    expect(res.code).toBe(0);
    expect(res.stderr).toContain(`wirecat: 127.0.0.1:${port} refused a datagram (ICMP port unreachable): nothing listens there\n`);
    expect(res.stderr).toMatch(new RegExp(`^wirecat: Sent 3 datagrams \\(3 bytes\\) to 127\\.0\\.0\\.1:${port} in 0\\.1\\d\\d s \\(\\d+ datagrams/s\\)$`, 'm'));
  });

  it('unpaced from stdin, a closed port is still noticed (-v), short input or long, and every line is sent to an open one', async () => {
    const port = await closedPort();
    for (const n of [3, 1000]) {
      const lines = Array.from({ length: n }, (_v, i) => `${i}\n`).join('');
      const res = await wirecat(['-v', 'udp-send', '127.0.0.1', String(port)], { input: lines });
      expect({ n, code: res.code }).toEqual({ n, code: 0 });
      expect(res.stderr).toContain(`wirecat: 127.0.0.1:${port} refused a datagram (ICMP port unreachable): nothing listens there\n`);
    }
    // Every line is handed to the socket (the receiver may drop some: a burst overflows its buffer).
    const r = await receiver();
    const res = await wirecat(['-v', 'udp-send', '127.0.0.1', String(r.port)], { input: Array.from({ length: 1000 }, (_v, i) => `${i}\n`).join('') });
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(new RegExp(`^wirecat: Sent 1000 datagrams \\(2890 bytes\\) to 127\\.0\\.0\\.1:${r.port} in `, 'm'));
    await r.waitFor(1);
    expect(r.texts()[0]).toBe('0');
  });

  it('--broadcast sends to a broadcast address (127.255.255.255 on lo); without it: exit 1 with a hint', async () => {
    const rx = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    const got = new Promise<string>((resolve) => rx.on('message', (m) => resolve(m.toString())));
    const port = await new Promise<number>((resolve) => rx.bind(0, () => resolve(rx.address().port)));
    try {
      expect(await wirecat(['udp-send', '127.255.255.255', String(port), 'x'])).toMatchObject({
        code: 1,
        stdout: '',
        stderr: `wirecat: udp-send: cannot send: permission denied (a broadcast address needs --broadcast) (attempted address: 127.255.255.255:${port})\n`,
      });
      expect(await wirecat(['udp-send', '--broadcast', '127.255.255.255', String(port), 'to all'])).toMatchObject({ code: 0, stderr: '' });
      expect(await got).toBe('to all');
    } finally {
      rx.close();
    }
  });

  it('--source-port sends from that port', async () => {
    const r = await receiver();
    const src = await closedPort();
    const res = await wirecat(['udp-send', '--source-port', String(src), '127.0.0.1', String(r.port), 'x']);
    expect(res.code).toBe(0);
    await r.waitFor(1);
    expect(r.datagrams[0]!.port).toBe(src);
  });

  it('--json reports each reply as a datagram event; -x dumps both directions', async () => {
    const r = await receiver(() => Buffer.from('ok'));
    const res = await wirecat(['--json', '-x', 'udp-send', '--wait-reply', '2', '127.0.0.1', String(r.port), 'hi']);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('ok');
    const lines = res.stderr.trimEnd().split('\n');
    const events = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.find((e) => e.event === 'datagram')).toMatchObject({ event: 'datagram', from: `127.0.0.1:${r.port}`, bytes: 2 });
    expect(lines.filter((l) => /^[<>] \S+Z \d+ bytes?$/.test(l)).map((l) => l[0])).toEqual(['>', '<']);
    expect(lines).toContain('00000000  68 69                                             |hi|');
  });

  it('bad flags are usage errors (exit 2)', async () => {
    const cases: [string[], string][] = [
      [['udp-send', '127.0.0.1'], 'wirecat: udp-send: missing PORT (udp-send HOST PORT [MESSAGE...])\n'],
      [['udp-send', '127.0.0.1', '99999', 'x'], "wirecat: udp-send: bad port '99999' (1-65535)\n"],
      [['udp-send', '--count', '0', '127.0.0.1', '9', 'x'], "wirecat: udp-send: --count needs a whole number >= 1, not '0'\n"],
      [['udp-send', '--whole', '127.0.0.1', '9', 'x'], 'wirecat: udp-send: --whole reads stdin as one datagram; it takes no MESSAGE arguments\n'],
      [['udp-send', '--ttl', '300', '127.0.0.1', '9', 'x'], "wirecat: udp-send: --ttl needs a whole number from 0 to 255, not '300'\n"],
    ];
    for (const [args, stderr] of cases) expect(await wirecat(args), args.join(' ')).toMatchObject({ code: 2, stdout: '', stderr });
  });
});

describe('wirecat udp-send --rate', () => {
  /** A receiver in its own process (4 MiB buffer), so that the test runner's load cannot skew arrival times. */
  function countingReceiver(): Promise<{ port: number; result: Promise<{ n: number; secs: number }>; kill: () => void }> {
    const script = `
      const dgram = require('node:dgram');
      const s = dgram.createSocket('udp4');
      let n = 0, first = 0, last = 0;
      s.on('message', () => { const t = performance.now(); if (n === 0) first = t; last = t; n++; });
      s.bind(0, '127.0.0.1', () => { s.setRecvBufferSize(4 << 20); console.log(s.address().port); });
      const quiet = setInterval(() => {
        if (n > 0 && performance.now() - last > 700) { clearInterval(quiet); console.log(JSON.stringify({ n, secs: (last - first) / 1000 })); process.exit(0); }
      }, 50);
      setTimeout(() => process.exit(1), 20000);`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    let gotPort: (p: number) => void;
    let gotResult: (r: { n: number; secs: number }) => void;
    const port = new Promise<number>((resolve) => (gotPort = resolve));
    const result = new Promise<{ n: number; secs: number }>((resolve) => (gotResult = resolve));
    child.stdout.on('data', (b: Buffer) => {
      buf += b.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        if (/^\d+$/.test(l)) gotPort(Number(l));
        else if (l.startsWith('{')) gotResult(JSON.parse(l) as { n: number; secs: number });
      }
    });
    return port.then((p) => ({ port: p, result, kill: () => child.kill('SIGKILL') }));
  }

  it('--rate 5000 holds within 5% over 10,000 datagrams on loopback, as measured by the receiver', async () => {
    const rx = await countingReceiver();
    try {
      const lines = `${Array.from({ length: 10_000 }, (_v, i) => `metric.${i}:1|c`).join('\n')}\n`;
      const res = await wirecat(['-v', 'udp-send', '--rate', '5000', '127.0.0.1', String(rx.port)], { input: lines, timeoutMs: 20_000 });
      expect(res.code).toBe(0);
      expect(res.stderr).toMatch(/^wirecat: Sent 10000 datagrams \(\d+ bytes\) to 127\.0\.0\.1:\d+ in \d+\.\d{3} s \(\d+ datagrams\/s\)\n$/);
      const { n, secs } = await rx.result;
      expect(n).toBe(10_000);
      const rate = (n - 1) / secs;
      // Measured on this machine: 4997.4/s (0.05 % slow).
      expect(Math.abs(rate - 5000) / 5000).toBeLessThan(0.05);
    } finally {
      rx.kill();
    }
  });

  it('--rate reads stdin only as fast as it sends: memory stays bounded with a large input', async () => {
    const rx = await countingReceiver();
    const file = join(dir, 'big.in');
    // 64 MiB of 64-byte lines: at 2,000/s that would take over 8 minutes to send.
    const line = `${'z'.repeat(63)}\n`;
    writeFileSync(file, line.repeat(1 << 20));
    const fd = openSync(file, 'r');
    const child = spawn(WIRECAT, ['udp-send', '--rate', '2000', '127.0.0.1', String(rx.port)], { cwd: ROOT, stdio: [fd, 'ignore', 'pipe'] });
    closeSync(fd);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const pid = child.pid!;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const rssMiB = Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
      const offset = Number(/pos:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/fdinfo/0`, 'utf8'))![1]);
      // About 3,000 datagrams were due; stdin is paused 4,096 lines ahead (plus one read).
      expect(offset).toBeLessThan(4 << 20);
      expect(rssMiB).toBeLessThan(200);
    } finally {
      child.kill('SIGKILL');
      rx.kill();
    }
  });
});
