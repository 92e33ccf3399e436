/**
 * Certificates made in the tests (any validity, any names), a running
 * `openssl s_server`, and a small fake SMTP server that speaks STARTTLS.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate, generateKeyPairSync, randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import forge from 'node-forge';

/** A certificate and its key, as PEM. */
export interface Issued {
  cert: string;
  key: string;
  x509: X509Certificate;
}

/** What to put in a certificate. */
export interface CertSpec {
  cn: string;
  dns?: string[];
  ips?: string[];
  /** Days from now (negative: in the past). */
  fromDays: number;
  toDays: number;
  /** Signed by this CA; self-signed when omitted. */
  issuer?: Issued;
  ca?: boolean;
  /** A client certificate (extKeyUsage clientAuth). */
  client?: boolean;
}

const DAY = 86_400_000;

/**
 * Make a certificate: an RSA 2048 key from Node's crypto, signed (SHA-256)
 * with node-forge.
 */
export function issue(spec: CertSpec): Issued {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }) as string);
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  const now = Date.now();
  cert.validity.notBefore = new Date(now + spec.fromDays * DAY);
  cert.validity.notAfter = new Date(now + spec.toDays * DAY);
  const subject = [{ name: 'commonName', value: spec.cn }];
  cert.setSubject(subject);
  cert.setIssuer(spec.issuer ? forge.pki.certificateFromPem(spec.issuer.cert).subject.attributes : subject);
  const altNames = [...(spec.dns ?? []).map((value) => ({ type: 2, value })), ...(spec.ips ?? []).map((ip) => ({ type: 7, ip }))];
  const extensions: object[] = [
    { name: 'basicConstraints', cA: spec.ca === true, critical: true },
    spec.ca ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true } : { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'subjectKeyIdentifier' },
  ];
  if (!spec.ca) extensions.push(spec.client ? { name: 'extKeyUsage', clientAuth: true } : { name: 'extKeyUsage', serverAuth: true });
  if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames });
  cert.setExtensions(extensions);
  const signer = spec.issuer ? spec.issuer.key : keyPem;
  cert.sign(forge.pki.privateKeyFromPem(signer), forge.md.sha256.create());
  const pem = forge.pki.certificateToPem(cert);
  return { cert: pem, key: keyPem, x509: new X509Certificate(pem) };
}

/** A running `openssl s_server -rev` (it answers each line reversed). */
export interface SServer {
  port: number;
  child: ChildProcess;
  output: () => string;
  stop: () => void;
}

/**
 * Start `openssl s_server -rev` on 127.0.0.1 (a free port) with `args`
 * (`-cert`, `-key`, `-Verify`, `-alpn`...).
 */
export function sServer(args: string[]): Promise<SServer> {
  const child = spawn('openssl', ['s_server', '-accept', '127.0.0.1:0', '-rev', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`openssl s_server did not start: ${out}`));
    }, 10_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /ACCEPT 127\.0\.0\.1:(\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), child, output: () => out, stop: () => child.kill('SIGKILL') });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** A fake SMTP server: greeting, EHLO (STARTTLS offered or not), STARTTLS, then over TLS `EHLO` and `QUIT`. */
export interface FakeSMTP {
  port: number;
  /** The lines the client sent, with `[tls] ` before those that came over TLS, and `\\r` kept. */
  lines: string[];
  close: () => void;
}

export function fakeSMTP(opts: { cert: string; key: string; offerStartTLS: boolean }): Promise<FakeSMTP> {
  const lines: string[] = [];
  const server = net.createServer((sock) => {
    sock.write('220 fake.test ESMTP ready\r\n');
    let buf = '';
    const onPlain = (b: Buffer) => {
      buf += b.toString('latin1');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        const cmd = line.replace(/\r$/, '');
        if (/^EHLO /.test(cmd)) {
          sock.write(`250-fake.test\r\n${opts.offerStartTLS ? '250-STARTTLS\r\n' : ''}250 8BITMIME\r\n`);
        } else if (cmd === 'STARTTLS' && opts.offerStartTLS) {
          sock.removeListener('data', onPlain);
          sock.write('220 2.0.0 Ready to start TLS\r\n');
          const secure = new tls.TLSSocket(sock, { isServer: true, cert: opts.cert, key: opts.key });
          let tbuf = '';
          secure.on('data', (d: Buffer) => {
            tbuf += d.toString('latin1');
            let i: number;
            while ((i = tbuf.indexOf('\n')) >= 0) {
              const l = tbuf.slice(0, i);
              tbuf = tbuf.slice(i + 1);
              lines.push(`[tls] ${l}`);
              if (/^EHLO /.test(l)) secure.write('250 secure hello\r\n');
              else if (/^QUIT/.test(l)) secure.end('221 bye\r\n');
              else secure.write('500 what?\r\n');
            }
          });
          secure.on('error', () => undefined);
          return;
        } else {
          sock.write('502 not here\r\n');
        }
      }
    };
    sock.on('data', onPlain);
    sock.on('error', () => undefined);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ port: (server.address() as net.AddressInfo).port, lines, close: () => server.close() });
    });
  });
}
