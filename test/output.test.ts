import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { DiagnosticsSnapshot } from '../src/core/diagnostics.js';
import { Failure } from '../src/core/defer.js';
import type { WirecatEvent } from '../src/core/events.js';
import {
  EventRenderer,
  Output,
  colorEnabled,
  createHexDumper,
  formatBytes,
  formatDuration,
  formatError,
  formatEvent,
  formatEventJson,
  formatRate,
  formatThroughput,
  hexDumpLines,
  renderStatsJson,
  renderStatsTable,
  spinnerEnabled,
  startSpinner,
} from '../src/output.js';

const T0 = new Date('2026-11-28T08:40:00.123Z');
const clock = () => T0;
const ESC = '\u001b[';
const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);

function collect(): { write: (s: string) => void; text: () => string; calls: string[] } {
  const calls: string[] = [];
  return { write: (s) => void calls.push(s), text: () => calls.join(''), calls };
}

function human(ev: WirecatEvent, verbosity = 1, extra: { quiet?: boolean; color?: boolean } = {}): string | undefined {
  return formatEvent(ev, { verbosity, color: extra.color ?? false, quiet: extra.quiet });
}

describe('colorEnabled()', () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  const cases: [string, { isTTY?: boolean }, Record<string, string | undefined>, boolean | undefined, boolean][] = [
    ['a TTY with a plain environment', tty, {}, undefined, true],
    ['a pipe', pipe, {}, undefined, false],
    ['a stream without isTTY', {}, {}, undefined, false],
    ['TERM=dumb on a TTY', tty, { TERM: 'dumb' }, undefined, false],
    ['NO_COLOR=1', tty, { NO_COLOR: '1' }, undefined, false],
    ['NO_COLOR present but empty', tty, { NO_COLOR: '' }, undefined, false],
    ['--no-color', tty, {}, true, false],
    ['--no-color over FORCE_COLOR=1', pipe, { FORCE_COLOR: '1' }, true, false],
    ['FORCE_COLOR=0 on a TTY', tty, { FORCE_COLOR: '0' }, undefined, false],
    ['FORCE_COLOR=false on a TTY', tty, { FORCE_COLOR: 'false' }, undefined, false],
    ['FORCE_COLOR=1 on a pipe', pipe, { FORCE_COLOR: '1' }, undefined, true],
    ['FORCE_COLOR=2 on a pipe', pipe, { FORCE_COLOR: '2' }, undefined, true],
    ['FORCE_COLOR=3 on a pipe', pipe, { FORCE_COLOR: '3' }, undefined, true],
    ['FORCE_COLOR empty on a pipe', pipe, { FORCE_COLOR: '' }, undefined, true],
    ['FORCE_COLOR=true on a pipe', pipe, { FORCE_COLOR: 'true' }, undefined, true],
    ['FORCE_COLOR=1 over NO_COLOR', pipe, { FORCE_COLOR: '1', NO_COLOR: '1' }, undefined, true],
    ['FORCE_COLOR=1 over TERM=dumb', tty, { FORCE_COLOR: '1', TERM: 'dumb' }, undefined, true],
    ['FORCE_COLOR=0 with NO_COLOR', tty, { FORCE_COLOR: '0', NO_COLOR: '1' }, undefined, false],
    ['an unknown FORCE_COLOR value falls through to the TTY test', pipe, { FORCE_COLOR: 'yes' }, undefined, false],
    ['an unknown FORCE_COLOR value does not beat NO_COLOR', tty, { FORCE_COLOR: 'yes', NO_COLOR: '1' }, undefined, false],
  ];
  for (const [name, stream, env, noColorFlag, want] of cases) {
    it(`colorEnabled() is ${want} for ${name}`, () => {
      expect(colorEnabled({ stream, env, noColorFlag })).toBe(want);
    });
  }
  it('colorEnabled() is true with --color on a pipe, even with NO_COLOR and FORCE_COLOR=0', () => {
    expect(colorEnabled({ stream: pipe, env: { NO_COLOR: '1', FORCE_COLOR: '0' }, forceColorFlag: true })).toBe(true);
  });
});

describe('human units', () => {
  it('formatBytes() gives exact bytes below 1 KiB and one decimal above', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(12)).toBe('12 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(1229)).toBe('1.2 KiB');
    expect(formatBytes(1048576)).toBe('1.0 MiB');
    expect(formatBytes(1048575)).toBe('1.0 MiB');
    expect(formatBytes(12.3 * 1048576)).toBe('12.3 MiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
    expect(formatBytes(2 * 1024 ** 4)).toBe('2.0 TiB');
    expect(formatBytes(Number.NaN)).toBe('-');
  });
  it('formatDuration() picks µs, ms, s, min and h', () => {
    expect(formatDuration(0)).toBe('0 µs');
    expect(formatDuration(0.045)).toBe('45 µs');
    expect(formatDuration(0.4)).toBe('0.4 ms');
    expect(formatDuration(12.34)).toBe('12.3 ms');
    expect(formatDuration(250)).toBe('250 ms');
    expect(formatDuration(999.7)).toBe('1.0 s');
    expect(formatDuration(1200)).toBe('1.2 s');
    expect(formatDuration(3100)).toBe('3.1 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
    expect(formatDuration(3_720_000)).toBe('1 h 2 min');
    expect(formatDuration(-5)).toBe('0 µs');
  });
  it('formatRate() and formatThroughput() give bytes per second', () => {
    expect(formatRate(12.3 * 1048576)).toBe('12.3 MiB/s');
    expect(formatRate(512)).toBe('512 B/s');
    expect(formatThroughput(1048576, 500)).toBe('2.0 MiB/s');
    expect(formatThroughput(10, 0)).toBe('-');
    expect(formatThroughput(10, undefined)).toBe('-');
  });
});

describe('formatEvent()', () => {
  it('formatEvent() renders listening with the real port, IPv6 in brackets, and a Unix path alone', () => {
    expect(human({ event: 'listening', proto: 'tcp', address: '0.0.0.0', port: 8080 })).toBe('wirecat: Listening on 0.0.0.0:8080\n');
    expect(human({ event: 'listening', proto: 'tcp', address: '::', port: 8080 })).toBe('wirecat: Listening on [::]:8080\n');
    expect(human({ event: 'listening', proto: 'unix', address: '/tmp/wc.sock' })).toBe('wirecat: Listening on /tmp/wc.sock\n');
  });
  it('formatEvent() renders connected with protocol and time, and TLS details', () => {
    expect(human({ event: 'connected', id: 1, proto: 'tcp', peer: '127.0.0.1:80', local: '127.0.0.1:40000', connectMs: 0.4 })).toBe(
      'wirecat: Connected to 127.0.0.1:80 (tcp) in 0.4 ms\n',
    );
    expect(
      human({
        event: 'connected',
        id: 2,
        proto: 'tls',
        peer: 'example.com:443',
        local: '10.0.0.2:40000',
        connectMs: 20.1,
        tlsHandshakeMs: 15.2,
        tlsProtocol: 'TLSv1.3',
        alpn: 'h2',
      }),
    ).toBe('wirecat: Connected to example.com:443 (tls) in 20.1 ms, TLS handshake 15.2 ms (TLSv1.3, ALPN h2)\n');
  });
  it('formatEvent() renders accepted as ncat does', () => {
    expect(human({ event: 'accepted', id: 3, proto: 'tcp', peer: '127.0.0.1:51234', local: '127.0.0.1:8080' })).toBe(
      'wirecat: Connection from 127.0.0.1:51234\n',
    );
  });
  it('formatEvent() renders closed with byte counts, duration, exit status, error and checksums', () => {
    expect(human({ event: 'closed', id: 3, peer: '127.0.0.1:51234', bytesIn: 12, bytesOut: 1229, durationMs: 3100 })).toBe(
      'wirecat: Closed 127.0.0.1:51234: 12 B in, 1.2 KiB out, 3.1 s\n',
    );
    expect(
      human({ event: 'closed', id: 4, peer: '127.0.0.1:51235', bytesIn: 0, bytesOut: 5, durationMs: 40, exitCode: 1, signal: null }),
    ).toBe('wirecat: Closed 127.0.0.1:51235: 0 B in, 5 B out, 40.0 ms, exit status 1\n');
    expect(
      human({ event: 'closed', id: 5, peer: 'p', bytesIn: 0, bytesOut: 0, durationMs: 1, exitCode: null, signal: 'SIGTERM' }),
    ).toBe('wirecat: Closed p: 0 B in, 0 B out, 1.0 ms, signal SIGTERM\n');
    expect(
      human({ event: 'closed', id: 6, peer: '[::1]:80', bytesIn: 1048576, bytesOut: 3, durationMs: 1200, error: 'Connection reset by peer' }),
    ).toBe('wirecat: Closed [::1]:80: 1.0 MiB in, 3 B out, 1.2 s, error: Connection reset by peer\n');
    expect(
      human({ event: 'closed', id: 7, peer: '10.0.0.1:9', bytesIn: 1, bytesOut: 2, durationMs: 5, sha256Sent: SHA_A, sha256Received: SHA_B }),
    ).toBe(`wirecat: Closed 10.0.0.1:9: 1 B in, 2 B out, 5.0 ms\nsha256 sent ${SHA_A}\nsha256 received ${SHA_B}\n`);
  });
  it('formatEvent() renders refused with its reason', () => {
    expect(human({ event: 'refused', peer: '10.0.0.5:4444', reason: 'denied by --deny' })).toBe(
      'wirecat: Refused 10.0.0.5:4444: denied by --deny\n',
    );
  });
  it("formatEvent() renders open and closed probes in nc -zv's words at -v, nothing at 0", () => {
    const open: WirecatEvent = { event: 'probe', host: '127.0.0.1', port: 80, open: true, connectMs: 0.2 };
    const closed: WirecatEvent = { event: 'probe', host: '127.0.0.1', port: 81, open: false, reason: 'refused' };
    expect(human(open)).toBe('wirecat: Connection to 127.0.0.1 80 port [tcp/*] succeeded!\n');
    expect(human(open, 0)).toBeUndefined();
    expect(human(closed, 0)).toBeUndefined();
    expect(human(closed, 1)).toBe('wirecat: connect to 127.0.0.1 port 81 (tcp) failed: Connection refused\n');
    expect(human({ event: 'probe', host: 'h', port: 1, open: false, reason: 'filtered' }, 2)).toBe(
      'wirecat: connect to h port 1 (tcp) failed: filtered\n',
    );
  });
  it('formatEvent() renders retry with the delay and the attempt', () => {
    expect(human({ event: 'retry', target: 'db:5432', attempt: 3, delayMs: 1200, reason: 'connection refused' })).toBe(
      'wirecat: db:5432 not ready (connection refused), retrying in 1.2 s (attempt 3)\n',
    );
  });
  it('formatEvent() shows warnings at every verbosity but not under --quiet', () => {
    const w: WirecatEvent = { event: 'warning', message: 'certificate verification is off (--insecure)' };
    expect(human(w, 0)).toBe('wirecat: warning: certificate verification is off (--insecure)\n');
    expect(human(w, 2)).toBe('wirecat: warning: certificate verification is off (--insecure)\n');
    expect(human(w, 2, { quiet: true })).toBeUndefined();
  });
  it('formatEvent() shows info at -v, datagrams at -vv, and never errors', () => {
    expect(human({ event: 'info', message: 'ephemeral certificate SHA-256 AB:CD' }, 0)).toBeUndefined();
    expect(human({ event: 'info', message: 'ephemeral certificate SHA-256 AB:CD' }, 1)).toBe('wirecat: ephemeral certificate SHA-256 AB:CD\n');
    const dg: WirecatEvent = { event: 'datagram', from: '10.0.0.1:5353', bytes: 37 };
    expect(human(dg, 1)).toBeUndefined();
    expect(human(dg, 2)).toBe('wirecat: Datagram from 10.0.0.1:5353 (37 bytes)\n');
    expect(human({ event: 'datagram', from: 'x:1', bytes: 1 }, 2)).toBe('wirecat: Datagram from x:1 (1 byte)\n');
    expect(human({ event: 'error', code: 'ECONNREFUSED', message: 'refused' }, 3)).toBeUndefined();
  });
  it('formatEvent() shows nothing but warnings at verbosity 0', () => {
    const evs: WirecatEvent[] = [
      { event: 'listening', proto: 'tcp', address: '0.0.0.0', port: 1 },
      { event: 'connected', id: 1, proto: 'tcp', peer: 'a:1', local: 'b:2', connectMs: 1 },
      { event: 'accepted', id: 1, proto: 'tcp', peer: 'a:1', local: 'b:2' },
      { event: 'closed', id: 1, peer: 'a:1', bytesIn: 0, bytesOut: 0, durationMs: 0 },
      { event: 'refused', peer: 'a:1', reason: 'r' },
      { event: 'retry', target: 'a:1', attempt: 1, delayMs: 1, reason: 'r' },
    ];
    for (const ev of evs) expect(human(ev, 0)).toBeUndefined();
  });
  it('formatEvent() colours modestly when asked and never without', () => {
    const listening: WirecatEvent = { event: 'listening', proto: 'tcp', address: '0.0.0.0', port: 8080 };
    const coloured = human(listening, 1, { color: true })!;
    expect(coloured).toContain(ESC);
    expect(coloured).toContain(`${ESC}32mListening on`);
    expect(coloured.replace(/\u001b\[\d+m/g, '')).toBe('wirecat: Listening on 0.0.0.0:8080\n');
    expect(human({ event: 'warning', message: 'w' }, 0, { color: true })).toContain(`${ESC}33m`);
    expect(human(listening, 1, { color: false })).not.toContain(ESC);
  });
});

describe('formatEventJson() and EventRenderer', () => {
  it('formatEventJson() writes ts first, then event, then the fields, on one line', () => {
    expect(formatEventJson({ event: 'listening', proto: 'tcp', address: '::', port: 8080 } as WirecatEvent, T0)).toBe(
      '{"ts":"2026-11-28T08:40:00.123Z","event":"listening","proto":"tcp","address":"::","port":8080}\n',
    );
  });
  it('formatEventJson() puts event second even when the object lists it last', () => {
    const ev = { peer: '1.2.3.4:5', reason: 'denied by --deny', event: 'refused' } as const;
    expect(formatEventJson(ev, T0)).toBe('{"ts":"2026-11-28T08:40:00.123Z","event":"refused","peer":"1.2.3.4:5","reason":"denied by --deny"}\n');
  });
  it('EventRenderer with json writes every event as NDJSON whatever the verbosity, without colour', () => {
    const out = collect();
    const r = new EventRenderer({ verbosity: 0, json: true, color: true, quiet: true, write: out.write, now: clock });
    r.emit({ event: 'accepted', id: 1, proto: 'tcp', peer: '127.0.0.1:51234', local: '127.0.0.1:8080' });
    r.emit({ event: 'closed', id: 1, peer: '127.0.0.1:51234', bytesIn: 12, bytesOut: 1229, durationMs: 3100.5, exitCode: 0 });
    r.emit({ event: 'datagram', from: '10.0.0.1:5353', bytes: 37 });
    r.emit({ event: 'error', code: 'ECONNRESET', message: 'Connection reset by peer' });
    expect(out.calls).toEqual([
      '{"ts":"2026-11-28T08:40:00.123Z","event":"accepted","id":1,"proto":"tcp","peer":"127.0.0.1:51234","local":"127.0.0.1:8080"}\n',
      '{"ts":"2026-11-28T08:40:00.123Z","event":"closed","id":1,"peer":"127.0.0.1:51234","bytesIn":12,"bytesOut":1229,"durationMs":3100.5,"exitCode":0}\n',
      '{"ts":"2026-11-28T08:40:00.123Z","event":"datagram","from":"10.0.0.1:5353","bytes":37}\n',
      '{"ts":"2026-11-28T08:40:00.123Z","event":"error","code":"ECONNRESET","message":"Connection reset by peer"}\n',
    ]);
    for (const line of out.calls) {
      expect(line).not.toContain(ESC);
      expect(line.indexOf('\n')).toBe(line.length - 1);
      expect(JSON.parse(line).ts).toBe('2026-11-28T08:40:00.123Z');
    }
  });
  it('EventRenderer without json writes human lines filtered by verbosity', () => {
    const out = collect();
    const r = new EventRenderer({ verbosity: 1, json: false, color: false, write: out.write, now: clock });
    r.emit({ event: 'listening', proto: 'tcp', address: '0.0.0.0', port: 8080 });
    r.emit({ event: 'datagram', from: 'x:1', bytes: 3 });
    r.emit({ event: 'warning', message: 'careful' });
    expect(out.text()).toBe('wirecat: Listening on 0.0.0.0:8080\nwirecat: warning: careful\n');
  });
  it('EventRenderer.emit() does not throw when writing fails', () => {
    const r = new EventRenderer({ verbosity: 1, json: false, color: false, write: () => { throw new Error('EPIPE'); } });
    expect(() => r.emit({ event: 'warning', message: 'w' })).not.toThrow();
  });
  it('EventRenderer.emitStats() writes one stats event with json and nothing without', () => {
    const snap = sampleSnapshot();
    const out = collect();
    new EventRenderer({ verbosity: 0, json: true, color: false, write: out.write, now: clock }).emitStats(snap);
    expect(out.calls).toHaveLength(1);
    expect(out.calls[0]!.startsWith('{"ts":"2026-11-28T08:40:00.123Z","event":"stats","connections":[')).toBe(true);
    const { ts, event, ...rest } = JSON.parse(out.calls[0]!);
    expect([ts, event]).toEqual(['2026-11-28T08:40:00.123Z', 'stats']);
    expect(rest).toEqual(JSON.parse(JSON.stringify(snap)));
    const none = collect();
    new EventRenderer({ verbosity: 2, json: false, color: false, write: none.write }).emitStats(snap);
    expect(none.calls).toEqual([]);
  });
});

function conn(
  id: number,
  kind: string,
  peer: string,
  bytesIn: number,
  bytesOut: number,
  times: { started: number; connected?: number; secure?: number; firstByte?: number; closed?: number },
  extra: Record<string, unknown> = {},
): DiagnosticsSnapshot['connections'][number] {
  return {
    id,
    kind,
    peer,
    local: '127.0.0.1:40000',
    direction: kind === 'stdio' ? 'local' : 'connected',
    bytesIn,
    bytesOut,
    startedAt: times.started,
    connectedAt: times.connected,
    secureAt: times.secure,
    firstByteAt: times.firstByte,
    closedAt: times.closed,
    error: undefined,
    extra,
    durationMs: times.closed !== undefined ? times.closed - (times.connected ?? times.started) : undefined,
  };
}

function sampleSnapshot(): DiagnosticsSnapshot {
  return {
    connections: [
      conn(1, 'stdio', 'stdio', 1048576, 12, { started: 100 }),
      conn(2, 'tcp', '127.0.0.1:80', 12, 1048576, { started: 100, connected: 100.4, firstByte: 102.4, closed: 600.4 }),
      conn(3, 'tls', 'example.com:443', 2048, 300, { started: 1000, connected: 1020, secure: 1035, firstByte: 1100 }),
    ],
    totals: {
      connectionsOpened: 2,
      connectionsClosed: 1,
      connectionsFailed: 0,
      bytesIn: 1048576,
      bytesOut: 3 * 1024 ** 3,
      datagramsIn: 0,
      datagramsOut: 0,
      datagramBytesIn: 0,
      datagramBytesOut: 0,
    },
    loop: {
      delayMs: { p50: 10.05, p99: 10.9, max: 12.345, mean: 10.2 },
      utilization: 0.0321,
      timersCreated: 14,
      timersActive: 1,
      deferreds: { created: 40, fired: 38, failed: 1, unhandled: 0 },
      peakRssBytes: 45.2 * 1048576,
      rssBytes: 44 * 1048576,
      uptimeMs: 4100,
    },
  };
}

describe('renderStatsTable() and renderStatsJson()', () => {
  it('renderStatsTable() lists network connections with human units and no colour codes', async () => {
    const text = await renderStatsTable(sampleSnapshot(), { color: false });
    expect(text).not.toContain(ESC);
    for (const h of ['#', 'kind', 'peer', 'bytes in', 'bytes out', 'duration', 'throughput', 'connect', 'TLS', 'first byte']) {
      expect(text).toContain(h);
    }
    expect(text).not.toContain('sha256');
    // Connection 2: 1.0 MiB out in 500 ms → (12 + 1048576) B / 0.5 s.
    expect(text).toMatch(/│ +2 │ tcp +│ 127\.0\.0\.1:80 +│ +12 B │ +1\.0 MiB │ +500 ms │ +2\.0 MiB\/s │ +0\.4 ms │ +- │ +2\.4 ms │/);
    // Connection 3 is still open: duration so far from uptime (4100 - 1020).
    expect(text).toMatch(/│ +3 │ tls +│ example\.com:443 +│ +2\.0 KiB │ +300 B │ +3\.1 s \(open\) │ .* │ +20\.0 ms │ +15\.0 ms │ +100 ms │/);
    // stdio mirrors the network side and is left out when there is one.
    expect(text).not.toMatch(/│ +1 │ stdio/);
    // The summary.
    expect(text).toContain('1.0 MiB (1048576 B) / 3.0 GiB (3221225472 B)');
    expect(text).toContain('2 opened, 1 closed, 0 failed');
    expect(text).toContain('p50 10.05 ms, p99 10.90 ms, max 12.35 ms');
    expect(text).toContain('3.2%');
    expect(text).toContain('14 created, 1 active');
    expect(text).toContain('40 created, 38 fired, 1 failed, 0 unhandled');
    expect(text).toContain('45.2 MiB');
    expect(text.endsWith('\n')).toBe(true);
  });
  it('renderStatsTable() adds the checksum columns only when a connection has checksums', async () => {
    const snap = sampleSnapshot();
    snap.connections[1]!.extra = { sha256Sent: SHA_A, sha256Received: SHA_B };
    const text = await renderStatsTable(snap, { color: false });
    expect(text).toContain('sha256 sent');
    expect(text).toContain('sha256 received');
    expect(text).toContain(SHA_A);
    expect(text).toContain(SHA_B);
  });
  it('renderStatsTable() shows stdio entries when they are all there is', async () => {
    const snap = sampleSnapshot();
    snap.connections = [snap.connections[0]!];
    expect(await renderStatsTable(snap, { color: false })).toMatch(/│ +1 │ stdio/);
  });
  it('renderStatsTable() keeps the most recent maxRows and says how many were left out', async () => {
    const snap = sampleSnapshot();
    const text = await renderStatsTable(snap, { color: false, maxRows: 1 });
    expect(text).toMatch(/│ +3 │ tls/);
    expect(text).not.toMatch(/│ +2 │ tcp/);
    expect(text).toContain('1 earlier connection not shown (--stats json lists them all)');
  });
  it('renderStatsTable() says when the event loop was not measured, and colours only when asked', async () => {
    const snap = sampleSnapshot();
    snap.loop.delayMs = undefined;
    snap.loop.utilization = undefined;
    snap.connections = [];
    const plain = await renderStatsTable(snap, { color: false });
    expect(plain).toContain('not measured');
    expect(plain).not.toContain('kind');
    expect(await renderStatsTable(snap, { color: true })).toContain(ESC);
  });
  it('renderStatsJson() is one line that parses back equal to the snapshot', () => {
    const snap = sampleSnapshot();
    const text = renderStatsJson(snap);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.slice(0, -1)).not.toContain('\n');
    // JSON leaves out undefined fields; compare with them removed.
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(snap)));
    expect(JSON.parse(text).connections[1].bytesOut).toBe(1048576);
  });
});

describe('hex dump', () => {
  const REQUEST = Buffer.from('GET / HTTP/1.0\r\nHost: example.com\r\n\r\n');

  it('hexDumpLines() matches hexdump -C for a 37-byte request', () => {
    expect(REQUEST.length).toBe(37);
    expect(hexDumpLines(REQUEST)).toEqual([
      '00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 30 0d 0a  |GET / HTTP/1.0..|',
      '00000010  48 6f 73 74 3a 20 65 78  61 6d 70 6c 65 2e 63 6f  |Host: example.co|',
      '00000020  6d 0d 0a 0d 0a                                    |m....|',
    ]);
  });
  it('createHexDumper() writes a header per chunk and continues offsets per direction', () => {
    const out = collect();
    const dump = createHexDumper({ write: out.write, now: clock });
    dump('>', REQUEST.subarray(0, 20));
    dump('<', Buffer.from([0x00, 0x7f, 0x80, 0xff, 0x20, 0x7e]));
    dump('out', REQUEST.subarray(20));
    dump('in', Buffer.alloc(0));
    dump('in', Buffer.from('A'));
    expect(out.text()).toBe(
      [
        '> 2026-11-28T08:40:00.123Z 20 bytes',
        '00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 30 0d 0a  |GET / HTTP/1.0..|',
        '00000010  48 6f 73 74                                       |Host|',
        '< 2026-11-28T08:40:00.123Z 6 bytes',
        '00000000  00 7f 80 ff 20 7e                                 |.... ~|',
        '> 2026-11-28T08:40:00.123Z 17 bytes',
        '00000014  3a 20 65 78 61 6d 70 6c  65 2e 63 6f 6d 0d 0a 0d  |: example.com...|',
        '00000024  0a                                                |.|',
        '< 2026-11-28T08:40:00.123Z 1 byte',
        '00000006  41                                                |A|',
        '',
      ].join('\n'),
    );
    // One write per chunk, nothing for the empty one.
    expect(out.calls).toHaveLength(4);
  });
  it('createHexDumper() colours only when asked', () => {
    const plain = collect();
    createHexDumper({ write: plain.write, now: clock })('>', REQUEST);
    expect(plain.text()).not.toContain(ESC);
    const coloured = collect();
    createHexDumper({ write: coloured.write, now: clock, color: true })('>', REQUEST);
    expect(coloured.text()).toContain(ESC);
    expect(coloured.text().replace(/\u001b\[\d+m/g, '')).toBe(plain.text());
  });
});

class FakeTTY extends Writable {
  isTTY = true;
  columns = 80;
  chunks: string[] = [];
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(String(chunk));
    cb();
  }
  cursorTo(): boolean {
    return true;
  }
  moveCursor(): boolean {
    return true;
  }
  clearLine(): boolean {
    return true;
  }
}

describe('spinner', () => {
  it('spinnerEnabled() is off on a terminal that reports no width (ora would loop clearing lines)', () => {
    expect(spinnerEnabled({ stream: { isTTY: true, columns: 0 } as { isTTY: boolean }, env: {} })).toBe(false);
    expect(spinnerEnabled({ stream: { isTTY: true, columns: 80 } as { isTTY: boolean }, env: {} })).toBe(true);
  });

  it('spinnerEnabled() needs a TTY, no CI and a capable terminal', () => {
    expect(spinnerEnabled({ stream: { isTTY: true }, env: {} })).toBe(true);
    expect(spinnerEnabled({ stream: { isTTY: false }, env: {} })).toBe(false);
    expect(spinnerEnabled({ stream: { isTTY: true }, env: { CI: 'true' } })).toBe(false);
    expect(spinnerEnabled({ stream: { isTTY: true }, env: { CI: '' } })).toBe(false);
    expect(spinnerEnabled({ stream: { isTTY: true }, env: { TERM: 'dumb' } })).toBe(false);
  });
  it('startSpinner() gives a silent no-op spinner when disabled, whose log() still writes', async () => {
    const stream = new FakeTTY();
    stream.isTTY = false;
    const s = await startSpinner('waiting', { stream, env: {} });
    expect(s.enabled).toBe(false);
    s.update('still waiting');
    s.succeed('up');
    s.fail('down');
    s.stop();
    expect(stream.chunks).toEqual([]);
    s.log('wirecat: a line\n');
    expect(stream.chunks).toEqual(['wirecat: a line\n']);
    const refused = await startSpinner('waiting', { stream: new FakeTTY(), env: {}, enabled: false });
    expect(refused.enabled).toBe(false);
  });
  it('startSpinner() draws with ora on a TTY and persists the final text', async () => {
    const stream = new FakeTTY();
    const s = await startSpinner('waiting for db:5432', { stream, env: {} });
    expect(s.enabled).toBe(true);
    s.update('waiting for db:5432 (attempt 2)');
    s.log('wirecat: db:5432 not ready\n');
    s.succeed('db:5432 is up');
    s.stop();
    const text = stream.chunks.join('');
    expect(text).toContain('wirecat: db:5432 not ready\n');
    expect(text).toContain('db:5432 is up');
    expect(text).not.toContain(ESC + '3'); // no colour asked for
  });
});

describe('formatError()', () => {
  it('formatError() gives one line with the subcommand and the first line of the message', () => {
    const err = new Error('Connection refused (attempted address: 127.0.0.1:9)\nmore detail');
    expect(formatError('connect', err, { verbosity: 1 })).toBe('wirecat: connect: Connection refused (attempted address: 127.0.0.1:9)\n');
    expect(formatError(undefined, err, { verbosity: 0 })).toBe('wirecat: Connection refused (attempted address: 127.0.0.1:9)\n');
    expect(formatError('listen', 'bad port', { verbosity: 0 })).toBe('wirecat: listen: bad port\n');
  });
  it('formatError() unwraps a core Failure', () => {
    expect(formatError('relay', new Failure(new Error('boom')), { verbosity: 0 })).toBe('wirecat: relay: boom\n');
  });
  it('formatError() adds the stack and causes at -vv', () => {
    const err = new Error('outer', { cause: new Error('inner') });
    const text = formatError('connect', err, { verbosity: 2 });
    const lines = text.split('\n');
    expect(lines[0]).toBe('wirecat: connect: outer');
    expect(lines[1]).toBe('Error: outer');
    expect(lines[2]).toMatch(/^ {4}at /);
    expect(text).toContain('Caused by: Error: inner');
    expect(text.endsWith('\n')).toBe(true);
    expect(formatError('connect', new Failure(err), { verbosity: 2 })).toBe(text);
  });
  it('formatError() colours the message red only when asked', () => {
    expect(formatError('connect', new Error('x'), { verbosity: 0, color: true })).toContain(`${ESC}31mx`);
    expect(formatError('connect', new Error('x'), { verbosity: 0, color: false })).not.toContain(ESC);
  });
});

describe('Output', () => {
  it('Output renders events, the log, errors and hex dumps with one colour decision', () => {
    const out = collect();
    const o = new Output({ verbosity: 1, stream: { isTTY: false } as never, write: out.write, env: {}, now: clock });
    expect(o.color).toBe(false);
    o.event({ event: 'accepted', id: 1, proto: 'tcp', peer: '127.0.0.1:5', local: '127.0.0.1:6' });
    o.log('Unhandled error in Deferred:\nError: x\n');
    expect(out.text()).toBe('wirecat: Connection from 127.0.0.1:5\nwirecat: Unhandled error in Deferred:\nError: x\n');
    expect(o.errorLine('connect', new Error('refused'))).toBe('wirecat: connect: refused\n');
    const dumped = collect();
    const tap = o.hexDumper(dumped.write);
    tap('a', Buffer.from('hi'));
    tap('b', Buffer.from('yo'));
    expect(dumped.text()).toBe(
      '> 2026-11-28T08:40:00.123Z 2 bytes\n00000000  68 69                                             |hi|\n' +
        '< 2026-11-28T08:40:00.123Z 2 bytes\n00000000  79 6f                                             |yo|\n',
    );
  });
  it('Output with --json keeps stderr NDJSON: no colour, log messages as warning events', () => {
    const out = collect();
    const o = new Output({ verbosity: 0, json: true, forceColorFlag: true, stream: { isTTY: true } as never, write: out.write, env: {}, now: clock });
    expect(o.color).toBe(false);
    o.log('Unhandled error');
    o.stats(sampleSnapshot());
    expect(out.calls[0]).toBe('{"ts":"2026-11-28T08:40:00.123Z","event":"warning","message":"Unhandled error"}\n');
    expect(JSON.parse(out.calls[1]!).event).toBe('stats');
  });
  it('Output.spinner() is a no-op with --quiet even on a TTY', async () => {
    const stream = new FakeTTY();
    const o = new Output({ verbosity: 0, quiet: true, stream, env: {} });
    expect((await o.spinner('x')).enabled).toBe(false);
  });
  it('Output.statsTable() renders the table', async () => {
    const o = new Output({ verbosity: 0, stream: { isTTY: false } as never, env: {} });
    expect(await o.statsTable(sampleSnapshot())).toContain('1.0 MiB');
  });
});
