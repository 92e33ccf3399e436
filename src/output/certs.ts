/**
 * `tls-client --check` and `--show-certs`: the TLS report as text, and the
 * server's chain as a cli-table3 table (loaded on first use).
 *
 * @module
 */

import type { CertificateSummary, TLSEvent } from '../core/events.js';
import { _chalkFor } from './color.js';
import { formatDuration } from './units.js';

/** The report the core hands over: the `tls` event without its name. */
export type TLSReportData = Omit<TLSEvent, 'event'>;

/** How the report and the table are rendered. */
export interface TLSReportOptions {
  /** ANSI colour (see `colorEnabled()`, for the stream the text goes to). */
  color: boolean;
}

/** `2026-12-18T08:47:00.000Z` → `2026-12-18 08:47:00 UTC`. */
export function formatUTC(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** `30 days left`, `1 day left`, `expired 3 days ago`, `expires today`. */
export function formatDaysLeft(daysLeft: number): string {
  if (daysLeft < 0) return `expired ${-daysLeft} day${daysLeft === -1 ? '' : 's'} ago`;
  if (daysLeft === 0) return 'expires within a day';
  return `${daysLeft} day${daysLeft === 1 ? '' : 's'} left`;
}

/** `RSA 2048 bits`, `EC P-256 (256 bits)`, `Ed25519 (256 bits)`. */
export function formatKey(c: CertificateSummary): string {
  if (c.curve !== undefined) return `${c.keyType} ${c.curve}${c.keyBits !== undefined ? ` (${c.keyBits} bits)` : ''}`;
  if (c.keyType === 'RSA' || c.keyType === 'RSA-PSS' || c.keyType === 'DSA') return `${c.keyType} ${c.keyBits ?? '?'} bits`;
  return c.keyBits !== undefined ? `${c.keyType} (${c.keyBits} bits)` : c.keyType;
}

/**
 * The `--check` report: what was negotiated, whether the server verified,
 * its chain (in `openssl s_client`'s `s:`/`i:` form) and the timings.
 *
 * ```text
 * Connected to localhost:4433 (127.0.0.1:4433)
 * Protocol: TLSv1.3
 * Cipher: TLS_AES_256_GCM_SHA384
 * ALPN: none
 * Verification: OK
 * Certificate chain:
 *  0 s: CN=localhost
 *    i: CN=wirecat test CA
 *    v: 2026-11-27 00:00:00 UTC to 2027-11-27 00:00:00 UTC (364 days left)
 * Timings: DNS 0.3 ms, TCP connect 0.2 ms, TLS handshake 4.1 ms, total 4.7 ms
 * ```
 *
 * @param r The report.
 * @param opts Colour.
 * @returns The text, ending in `\n`.
 */
export function renderTLSReport(r: TLSReportData, opts: TLSReportOptions): string {
  const c = _chalkFor(opts.color);
  const label = (s: string): string => c.bold(s);
  const target = r.host.includes(':') ? `[${r.host}]:${r.port}` : `${r.host}:${r.port}`;
  const lines: string[] = [];
  lines.push(`${label('Connected to')} ${target}${r.peer !== target ? ` (${r.peer})` : ''}${r.starttls !== undefined ? `, STARTTLS ${r.starttls}` : ''}`);
  lines.push(`${label('Protocol:')} ${r.protocol ?? 'unknown'}`);
  lines.push(`${label('Cipher:')} ${r.cipher ?? 'unknown'}`);
  lines.push(`${label('ALPN:')} ${r.alpn ?? 'none'}`);
  let verification: string;
  if (r.verified) verification = r.verifySkipped ? c.green('OK') + ' (not enforced: --insecure)' : c.green('OK');
  else if (r.verifySkipped) verification = `${c.yellow('not enforced (--insecure)')}: ${r.verifyError ?? 'not verified'}`;
  else verification = `${c.red('FAILED')}: ${r.verifyError ?? 'not verified'}`;
  lines.push(`${label('Verification:')} ${verification}`);
  lines.push(label('Certificate chain:'));
  r.chain.forEach((cert, i) => {
    const left = formatDaysLeft(cert.daysLeft);
    const leftText = cert.daysLeft < 0 ? c.red(left) : cert.daysLeft < 30 ? c.yellow(left) : left;
    lines.push(`${String(i).padStart(2)} s: ${cert.subject}`);
    lines.push(`   i: ${cert.issuer}${cert.selfSigned ? ' (self-signed)' : ''}`);
    lines.push(`   v: ${formatUTC(cert.validFrom)} to ${formatUTC(cert.validTo)} (${leftText})`);
  });
  if (r.chain.length === 0) lines.push('   (the server sent no certificate)');
  const t: string[] = [];
  if (r.dnsMs !== undefined) t.push(`DNS ${formatDuration(r.dnsMs)}`);
  t.push(`TCP connect ${formatDuration(r.tcpConnectMs)}`);
  if (r.starttlsMs !== undefined) t.push(`STARTTLS ${formatDuration(r.starttlsMs)}`);
  t.push(`TLS handshake ${formatDuration(r.tlsHandshakeMs)}`, `total ${formatDuration(r.totalMs)}`);
  lines.push(`${label('Timings:')} ${t.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The `--show-certs` tables: one per certificate of the chain (leaf
 * first), a row each for subject, issuer, SANs, validity, days left,
 * SHA-256 fingerprint, key type and size, serial number.
 *
 * @param chain The chain, leaf first.
 * @param opts Colour.
 * @returns The table, ending in `\n`.
 */
export async function renderCertificateTable(chain: readonly CertificateSummary[], opts: TLSReportOptions): Promise<string> {
  const Table = (await import('cli-table3')).default;
  const c = _chalkFor(opts.color);
  if (chain.length === 0) return '(the server sent no certificate)\n';
  return chain
    .map((cert, i) => {
      const role = i === 0 ? 'leaf' : cert.selfSigned ? 'root' : 'intermediate';
      // No cli-table3 colours (it would pick its own policy).
      const table = new Table({ head: [c.bold('certificate'), c.bold(`${i} (${role})`)], style: { head: [], border: [], compact: true } });
      const left = formatDaysLeft(cert.daysLeft);
      const rows: [string, string][] = [
        ['subject', cert.subject],
        ['issuer', cert.issuer + (cert.selfSigned ? ' (self-signed)' : '')],
        ['SANs', cert.subjectAltNames.length > 0 ? cert.subjectAltNames.join(', ') : '-'],
        ['valid from', formatUTC(cert.validFrom)],
        ['valid until', formatUTC(cert.validTo)],
        ['days left', cert.daysLeft < 0 ? c.red(left) : cert.daysLeft < 30 ? c.yellow(left) : left],
        ['SHA-256', cert.fingerprint256],
        ['key', formatKey(cert)],
        ['serial', cert.serialNumber],
      ];
      for (const [k, v] of rows) table.push([c.dim(k), v]);
      return `${table.toString()}\n`;
    })
    .join('');
}

/**
 * What `tls-client` prints on stdout in report mode: the `--check` report,
 * then the `--show-certs` table, as asked.
 *
 * @param r The report.
 * @param opts Which parts, and colour.
 * @returns The text.
 */
export async function renderTLSOutput(r: TLSReportData, opts: TLSReportOptions & { check: boolean; showCerts: boolean }): Promise<string> {
  let text = opts.check ? renderTLSReport(r, opts) : '';
  if (opts.showCerts) text += await renderCertificateTable(r.chain, opts);
  return text;
}
