import { describe, expect, it } from 'vitest';
import type { CertificateSummary } from 'wirecat';
import { formatDaysLeft, formatKey, formatUTC, renderTLSOutput, renderTLSReport, type TLSReportData } from '../../src/output.js';

const leaf: CertificateSummary = {
  subject: 'CN=example.test',
  issuer: 'CN=Example CA, O=Example',
  subjectAltNames: ['DNS:example.test', 'IP:192.0.2.1'],
  validFrom: '2026-01-01T00:00:00.000Z',
  validTo: '2026-12-31T12:00:00.000Z',
  daysLeft: 12,
  fingerprint256: 'AA:BB',
  keyType: 'EC',
  keyBits: 256,
  curve: 'P-256',
  serialNumber: '01',
  selfSigned: false,
};
const root: CertificateSummary = { ...leaf, subject: 'CN=Example CA, O=Example', subjectAltNames: [], validTo: '2036-01-01T00:00:00.000Z', daysLeft: 3300, selfSigned: true, keyType: 'RSA', keyBits: 4096, curve: undefined };
const report: TLSReportData = {
  host: 'example.test',
  port: 443,
  peer: '192.0.2.1:443',
  servername: 'example.test',
  protocol: 'TLSv1.3',
  cipher: 'TLS_AES_128_GCM_SHA256',
  alpn: 'h2',
  verified: true,
  verifySkipped: false,
  chain: [leaf, root],
  dnsMs: 1.25,
  tcpConnectMs: 10,
  tlsHandshakeMs: 20.04,
  totalMs: 31.3,
};

describe('renderTLSReport()', () => {
  it('renderTLSReport() gives the --check report, openssl s_client-style chain lines', () => {
    expect(renderTLSReport(report, { color: false })).toBe(
      [
        'Connected to example.test:443 (192.0.2.1:443)',
        'Protocol: TLSv1.3',
        'Cipher: TLS_AES_128_GCM_SHA256',
        'ALPN: h2',
        'Verification: OK',
        'Certificate chain:',
        ' 0 s: CN=example.test',
        '   i: CN=Example CA, O=Example',
        '   v: 2026-01-01 00:00:00 UTC to 2026-12-31 12:00:00 UTC (12 days left)',
        ' 1 s: CN=Example CA, O=Example',
        '   i: CN=Example CA, O=Example (self-signed)',
        '   v: 2026-01-01 00:00:00 UTC to 2036-01-01 00:00:00 UTC (3300 days left)',
        'Timings: DNS 1.3 ms, TCP connect 10.0 ms, TLS handshake 20.0 ms, total 31.3 ms',
        '',
      ].join('\n'),
    );
  });

  it('renderTLSReport() names a verification failure, --insecure, STARTTLS and a missing ALPN', () => {
    const text = renderTLSReport(
      { ...report, alpn: undefined, verified: false, verifyError: 'certificate has expired', starttls: 'smtp', starttlsMs: 3, dnsMs: undefined, chain: [] },
      { color: false },
    );
    expect(text.split('\n')).toEqual([
      'Connected to example.test:443 (192.0.2.1:443), STARTTLS smtp',
      'Protocol: TLSv1.3',
      'Cipher: TLS_AES_128_GCM_SHA256',
      'ALPN: none',
      'Verification: FAILED: certificate has expired',
      'Certificate chain:',
      '   (the server sent no certificate)',
      'Timings: TCP connect 10.0 ms, STARTTLS 3.0 ms, TLS handshake 20.0 ms, total 31.3 ms',
      '',
    ]);
    expect(renderTLSReport({ ...report, verified: false, verifySkipped: true, verifyError: 'self-signed certificate' }, { color: false })).toContain(
      '\nVerification: not enforced (--insecure): self-signed certificate\n',
    );
  });

  it('renderTLSOutput() gives the report, the tables, or both, as asked', async () => {
    expect(await renderTLSOutput(report, { color: false, check: true, showCerts: false })).toBe(renderTLSReport(report, { color: false }));
    const both = await renderTLSOutput(report, { color: false, check: true, showCerts: true });
    expect(both.startsWith(renderTLSReport(report, { color: false }))).toBe(true);
    expect(both).toContain('│ key         │ EC P-256 (256 bits)');
    expect(both).toContain('│ certificate │ 1 (root)');
  });

  it('formatDaysLeft(), formatKey() and formatUTC() read as a person would say them', () => {
    expect([formatDaysLeft(30), formatDaysLeft(1), formatDaysLeft(0), formatDaysLeft(-1), formatDaysLeft(-3)]).toEqual([
      '30 days left',
      '1 day left',
      'expires within a day',
      'expired 1 day ago',
      'expired 3 days ago',
    ]);
    expect([formatKey(leaf), formatKey(root), formatKey({ ...leaf, keyType: 'Ed25519', curve: undefined })]).toEqual(['EC P-256 (256 bits)', 'RSA 4096 bits', 'Ed25519 (256 bits)']);
    expect(formatUTC('2026-12-18T08:47:00.000Z')).toBe('2026-12-18 08:47:00 UTC');
  });
});
