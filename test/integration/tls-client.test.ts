/**
 * `wirecat tls-client` against `openssl s_server -rev` (it answers each
 * line reversed) with certificates made here: valid, expired, for another
 * host, self-signed, expiring soon; a server that wants a client
 * certificate; ALPN; STARTTLS against a fake SMTP server; the reports.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { summarizeCertificate } from 'wirecat';
import { renderCertificateTable } from '../../src/output.js';
import { wirecat } from './helpers.js';
import { type FakeSMTP, type Issued, type SServer, fakeSMTP, issue, sServer } from './tls-certs.js';

let dir: string;
const files: Record<string, string> = {};
let ca: Issued;
let leaf: Issued;
let expired: Issued;
let soon: Issued;
let selfSigned: Issued;
let client: Issued;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wirecat-tls-'));
  ca = issue({ cn: 'wirecat test CA', fromDays: -1, toDays: 3650.5, ca: true });
  // Half a day past a whole number, so that "days left" cannot tip over during the test.
  leaf = issue({ cn: 'localhost', dns: ['localhost'], ips: ['127.0.0.1'], fromDays: -1, toDays: 200.5, issuer: ca });
  expired = issue({ cn: 'localhost', dns: ['localhost'], fromDays: -30, toDays: -2.5, issuer: ca });
  soon = issue({ cn: 'localhost', dns: ['localhost'], fromDays: -80, toDays: 5.5, issuer: ca });
  selfSigned = issue({ cn: 'localhost', dns: ['localhost'], fromDays: -1, toDays: 30.5 });
  client = issue({ cn: 'wirecat test client', fromDays: -1, toDays: 30.5, issuer: ca, client: true });
  const write = (name: string, text: string) => {
    files[name] = join(dir, name);
    writeFileSync(files[name]!, text);
  };
  write('ca.pem', ca.cert);
  for (const [name, c] of Object.entries({ leaf, expired, soon, selfSigned, client })) {
    write(`${name}.pem`, c.cert);
    write(`${name}.key`, c.key);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const servers: { stop: () => void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.stop();
});

async function server(cert: string, extra: string[] = []): Promise<SServer> {
  const s = await sServer(['-cert', files[`${cert}.pem`]!, '-key', files[`${cert}.key`]!, ...extra]);
  servers.push(s);
  return s;
}

async function smtp(offerStartTLS: boolean): Promise<FakeSMTP> {
  const s = await fakeSMTP({ cert: leaf.cert, key: leaf.key, offerStartTLS });
  servers.push({ stop: s.close });
  return s;
}

/** `2026-12-18 08:47:00 UTC` for a certificate's date. */
const utc = (text: string) => new Date(Date.parse(text)).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
const verifyFailed = (reason: string, c: Issued, port: number) =>
  `wirecat: tls-client: TLS certificate verification failed: ${reason}; the server's certificate: CN=localhost, SHA-256 ${c.x509.fingerprint256} (attempted address: localhost:${port})\n`;
const MS = '\\d+(\\.\\d)? (ms|µs)';

describe('wirecat tls-client: verification', () => {
  it('a valid chain: the handshake, then stdin to the server and its answer to stdout', async () => {
    const s = await server('leaf');
    const r = await wirecat(['tls-client', '--ca', files['ca.pem']!, 'localhost', String(s.port)], { input: 'hello\nworld\n' });
    expect(r).toMatchObject({ code: 0, stdout: 'olleh\ndlrow\n', stderr: '' });
  });

  it('-v tells of the connection, the handshake and the close on stderr', async () => {
    const s = await server('leaf');
    const r = await wirecat(['-v', 'tls-client', '--ca', files['ca.pem']!, '127.0.0.1', String(s.port)], { input: 'abc\n' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('cba\n');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^wirecat: Connected to 127\\.0\\.0\\.1:${s.port} \\(tls\\) in ${MS}, TLS handshake ${MS} \\(TLSv1\\.3\\)$`));
    expect(lines[1]).toMatch(new RegExp(`^wirecat: Closed 127\\.0\\.0\\.1:${s.port}: 4 B in, 4 B out, `));
  });

  it('an expired certificate: exit 4 with the reason and the certificate rejected', async () => {
    const s = await server('expired');
    const r = await wirecat(['tls-client', '--ca', files['ca.pem']!, 'localhost', String(s.port)], { input: 'secret\n' });
    expect(r).toMatchObject({ code: 4, stdout: '', stderr: verifyFailed('certificate has expired', expired, s.port) });
  });

  it('a certificate for another host: exit 4, hostname mismatch', async () => {
    const s = await server('leaf');
    const r = await wirecat(['tls-client', '--ca', files['ca.pem']!, '--servername', 'other.test', 'localhost', String(s.port)]);
    expect(r).toMatchObject({
      code: 4,
      stdout: '',
      stderr: verifyFailed("hostname mismatch (Host: other.test. is not in the cert's altnames: DNS:localhost, IP Address:127.0.0.1)", leaf, s.port),
    });
  });

  it('a self-signed certificate: exit 4; with --insecure a warning, then the session', async () => {
    const s = await server('selfSigned');
    const refused = await wirecat(['tls-client', 'localhost', String(s.port)], { input: 'x\n' });
    expect(refused).toMatchObject({ code: 4, stdout: '', stderr: verifyFailed('self-signed certificate', selfSigned, s.port) });
    const r = await wirecat(['tls-client', '--insecure', 'localhost', String(s.port)], { input: 'insecure\n' });
    expect(r).toMatchObject({
      code: 0,
      stdout: 'erucesni\n',
      stderr: 'wirecat: warning: certificate verification is off (--insecure): the peer is not authenticated\n',
    });
  });

  it('an unknown CA: exit 4', async () => {
    const s = await server('leaf');
    const r = await wirecat(['tls-client', 'localhost', String(s.port)]);
    expect(r).toMatchObject({ code: 4, stdout: '', stderr: verifyFailed('unable to verify the first certificate (unknown CA or incomplete chain)', leaf, s.port) });
  });

  it('a server that requires a client certificate: exit 4 without one, the session with --cert/--key', async () => {
    const s = await server('leaf', ['-Verify', '1', '-CAfile', files['ca.pem']!]);
    const args = ['tls-client', '--ca', files['ca.pem']!, 'localhost', String(s.port)];
    const expected = `wirecat: tls-client: TLS handshake failed: tlsv13 alert certificate required: the server requires a client certificate (--cert, --key) (attempted address: localhost:${s.port})\n`;
    expect(await wirecat(args, { input: 'x\n' })).toMatchObject({ code: 4, stdout: '', stderr: expected });
    expect(await wirecat([...args, '--check'])).toMatchObject({ code: 4, stdout: '', stderr: expected });
    const r = await wirecat([...args, '--cert', files['client.pem']!, '--key', files['client.key']!], { input: 'mutual\n' });
    expect(r).toMatchObject({ code: 0, stdout: 'lautum\n', stderr: '' });
  });

  it('connect --tls to a server that requires a client certificate: exit 4 with the reason, no hang', async () => {
    const s = await server('leaf', ['-Verify', '1', '-CAfile', files['ca.pem']!]);
    const r = await wirecat(['connect', '--tls', '--ca', files['ca.pem']!, 'localhost', String(s.port)], { input: 'x\n', timeoutMs: 10_000 });
    expect(r).toMatchObject({
      code: 4,
      stdout: '',
      stderr: `wirecat: connect: TLS handshake failed: tlsv13 alert certificate required: the server requires a client certificate (--cert, --key) (attempted address: localhost:${s.port})\n`,
    });
  });

  it('a plain-text server: exit 4 with a hint to --starttls', async () => {
    const s = await smtp(true);
    const r = await wirecat(['tls-client', '--ca', files['ca.pem']!, 'localhost', String(s.port)]);
    expect(r).toMatchObject({
      code: 4,
      stdout: '',
      stderr: `wirecat: tls-client: TLS handshake failed: wrong version number (is the server speaking TLS on this port? --starttls for a plain-text protocol) (attempted address: localhost:${s.port})\n`,
    });
  });

  it('a certificate or key file that cannot be read is a usage error (exit 2)', async () => {
    const r = await wirecat(['tls-client', '--ca', join(dir, 'missing.pem'), 'localhost', '1']);
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: `wirecat: tls-client: cannot read CA file '${join(dir, 'missing.pem')}': no such file\n` });
  });
});

describe('wirecat tls-client: --check, --show-certs, --warn-days, ALPN', () => {
  it('--check reports protocol, cipher, ALPN, verification, the chain and timings on stdout, then exits 0', async () => {
    const s = await server('leaf');
    const r = await wirecat(['tls-client', '--check', '--ca', files['ca.pem']!, 'localhost', String(s.port)]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 2)).toEqual([`Connected to localhost:${s.port} (127.0.0.1:${s.port})`, 'Protocol: TLSv1.3']);
    expect(lines[2]).toMatch(/^Cipher: TLS_[A-Z0-9_]+$/);
    expect(lines.slice(3, 13)).toEqual([
      'ALPN: none',
      'Verification: OK',
      'Certificate chain:',
      ' 0 s: CN=localhost',
      '   i: CN=wirecat test CA',
      `   v: ${utc(leaf.x509.validFrom)} to ${utc(leaf.x509.validTo)} (200 days left)`,
      ' 1 s: CN=wirecat test CA',
      '   i: CN=wirecat test CA (self-signed)',
      `   v: ${utc(ca.x509.validFrom)} to ${utc(ca.x509.validTo)} (3650 days left)`,
      lines[12]!,
    ]);
    expect(lines[12]).toMatch(new RegExp(`^Timings: DNS ${MS}, TCP connect ${MS}, TLS handshake ${MS}, total ${MS}$`));
    expect(lines.slice(13)).toEqual(['']);
  });

  it('--check on a certificate that fails verification prints the report, then exits 4', async () => {
    const s = await server('expired');
    const r = await wirecat(['tls-client', '--check', '--ca', files['ca.pem']!, 'localhost', String(s.port)]);
    expect(r.code).toBe(4);
    expect(r.stdout).toContain('\nVerification: FAILED: certificate has expired\n');
    expect(r.stdout).toContain(`   v: ${utc(expired.x509.validFrom)} to ${utc(expired.x509.validTo)} (expired 3 days ago)\n`);
    expect(r.stderr).toBe(verifyFailed('certificate has expired', expired, s.port));
  });

  it('--check --insecure says verification was not enforced, and why it would fail', async () => {
    const s = await server('selfSigned');
    const r = await wirecat(['tls-client', '--check', '--insecure', 'localhost', String(s.port)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('\nVerification: not enforced (--insecure): self-signed certificate\n');
    expect(r.stderr).toBe('wirecat: warning: certificate verification is off (--insecure): the peer is not authenticated\n');
  });

  it('--show-certs prints the chain as tables: subject, issuer, SANs, validity, days left, SHA-256, key', async () => {
    const s = await server('leaf');
    const r = await wirecat(['tls-client', '--show-certs', '--ca', files['ca.pem']!, 'localhost', String(s.port)]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const now = Date.now();
    const expected = await renderCertificateTable([summarizeCertificate(leaf.x509.raw, now), summarizeCertificate(ca.x509.raw, now)], { color: false });
    expect(r.stdout).toBe(expected);
    const rows = r.stdout.split('\n').map((l) => l.replace(/^│ | +│$/g, '').replace(/ +│ /, ' | ').trimEnd());
    expect(rows).toEqual(
      expect.arrayContaining([
        'certificate | 0 (leaf)',
        'subject | CN=localhost',
        'issuer | CN=wirecat test CA',
        'SANs | DNS:localhost, IP:127.0.0.1',
        `valid until | ${utc(leaf.x509.validTo)}`,
        'days left | 200 days left',
        `SHA-256 | ${leaf.x509.fingerprint256}`,
        'key | RSA 2048 bits',
        'certificate | 1 (root)',
      ]),
    );
  });

  it('--warn-days: exit 0 outside the window, 4 inside it (with the report, under --check)', async () => {
    const long = await server('leaf');
    expect(await wirecat(['tls-client', '--warn-days', '30', '--ca', files['ca.pem']!, 'localhost', String(long.port)], { input: 'ok\n' })).toMatchObject({
      code: 0,
      stdout: 'ko\n',
    });
    const s = await server('soon');
    const args = ['tls-client', '--ca', files['ca.pem']!, 'localhost', String(s.port)];
    const message = `wirecat: tls-client: the server's certificate (CN=localhost) expires in 5 days, on ${new Date(Date.parse(soon.x509.validTo)).toISOString()}: within --warn-days 30 (attempted address: localhost:${s.port})\n`;
    expect(await wirecat([...args, '--warn-days', '30'], { input: 'x\n' })).toMatchObject({ code: 4, stdout: '', stderr: message });
    const check = await wirecat([...args, '--warn-days', '30', '--check']);
    expect(check.code).toBe(4);
    expect(check.stdout).toContain('(5 days left)\n');
    expect(check.stderr).toBe(message);
    expect((await wirecat([...args, '--warn-days', '5', '--check'])).code).toBe(0);
  });

  it('--alpn: the protocol the server picks is reported (--check and the --json tls event)', async () => {
    const s = await server('leaf', ['-alpn', 'h2,http/1.1']);
    const r = await wirecat(['--json', 'tls-client', '--check', '--alpn', 'h2,http/1.1', '--ca', files['ca.pem']!, 'localhost', String(s.port)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('\nALPN: h2\n');
    const events = r.stderr
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.event)).toEqual(['connected', 'tls']);
    expect(events[0]).toMatchObject({ event: 'connected', proto: 'tls', peer: `127.0.0.1:${s.port}`, tlsProtocol: 'TLSv1.3', alpn: 'h2' });
    const tlsEvent = events[1] as { chain: { fingerprint256: string; daysLeft: number; keyBits: number }[] } & Record<string, unknown>;
    expect(tlsEvent).toMatchObject({
      host: 'localhost',
      port: s.port,
      peer: `127.0.0.1:${s.port}`,
      servername: 'localhost',
      protocol: 'TLSv1.3',
      alpn: 'h2',
      verified: true,
      verifySkipped: false,
    });
    expect(tlsEvent.chain.map((c) => [c.fingerprint256, c.daysLeft, c.keyBits])).toEqual([
      [leaf.x509.fingerprint256, 200, 2048],
      [ca.x509.fingerprint256, 3650, 2048],
    ]);
    for (const k of ['dnsMs', 'tcpConnectMs', 'tlsHandshakeMs', 'totalMs']) expect(typeof tlsEvent[k]).toBe('number');
  });

  it('--warn-days that is not a number of days is a usage error (exit 2)', async () => {
    expect(await wirecat(['tls-client', '--warn-days', '-1', 'localhost', '1'])).toMatchObject({
      code: 2,
      stderr: "wirecat: tls-client: --warn-days needs a number of days >= 0, not '-1'\n",
    });
  });
});

describe('wirecat tls-client --starttls', () => {
  it('--starttls smtp: EHLO and STARTTLS in plain text, then the session over TLS on the same connection', async () => {
    const s = await smtp(true);
    const r = await wirecat(['tls-client', '--starttls', 'smtp', '-C', '--ca', files['ca.pem']!, 'localhost', String(s.port)], { input: 'EHLO again\nQUIT\n' });
    expect(r).toMatchObject({ code: 0, stdout: '250 secure hello\r\n221 bye\r\n', stderr: '' });
    expect(s.lines).toEqual(['EHLO localhost\r', 'STARTTLS\r', '[tls] EHLO again\r', '[tls] QUIT\r']);
  });

  it('--starttls smtp --check reports the upgraded session and the STARTTLS time', async () => {
    const s = await smtp(true);
    const r = await wirecat(['tls-client', '--starttls', 'smtp', '--check', '--ca', files['ca.pem']!, 'localhost', String(s.port)]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`Connected to localhost:${s.port} (127.0.0.1:${s.port}), STARTTLS smtp`);
    expect(lines).toContain('Verification: OK');
    expect(lines).toContain(' 0 s: CN=localhost');
    expect(lines.at(-2)).toMatch(new RegExp(`^Timings: DNS ${MS}, TCP connect ${MS}, STARTTLS ${MS}, TLS handshake ${MS}, total ${MS}$`));
  });

  it('--starttls smtp verifies the upgraded session too', async () => {
    const s = await smtp(true);
    const r = await wirecat(['tls-client', '--starttls', 'smtp', 'localhost', String(s.port)]);
    expect(r).toMatchObject({ code: 4, stderr: verifyFailed('unable to verify the first certificate (unknown CA or incomplete chain)', leaf, s.port) });
  });

  it('a server that does not offer STARTTLS: exit 4 with what it said', async () => {
    const s = await smtp(false);
    const r = await wirecat(['tls-client', '--starttls', 'smtp', '--ca', files['ca.pem']!, 'localhost', String(s.port)]);
    expect(r).toMatchObject({
      code: 4,
      stdout: '',
      stderr: `wirecat: tls-client: the SMTP server does not offer STARTTLS (not in its EHLO reply) (attempted address: localhost:${s.port})\n`,
    });
  });

  it('an unknown --starttls protocol is a usage error (exit 2)', async () => {
    const r = await wirecat(['tls-client', '--starttls', 'xmpp', 'localhost', '25']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^wirecat: tls-client: Invalid values:/);
  });
});
