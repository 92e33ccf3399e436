/**
 * reactor.connectTLS / listenTLS against the real OpenSSL tools: `openssl
 * s_server` as the peer of our client, `openssl s_client` as the peer of our
 * server. Certificates are made here with the openssl command: a CA, a
 * server certificate for localhost/127.0.0.1/::1 signed by it, a second
 * (unknown) CA, a self-signed certificate, an expired one (issued by the CA
 * for 2020-01-01..02 with `openssl ca -startdate/-enddate`) and a client
 * certificate.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ClientFactory,
  ExitCode,
  Factory,
  Protocol,
  StreamTransport,
  TLSError,
  exitCodeFor,
  reactor,
  type Failure,
  type IConnector,
  type IListeningPort,
  type TLSOptions,
} from 'wirecat';
import { Condition, Signal, assertRunnable, missingProgram, runProgram, shouldSkip, within } from './requirements.js';

const LABEL = 'TLS tests (openssl command)';
const noOpenssl = missingProgram('openssl', 'openssl');

// ------------------------------------------------------------ certificates

const dir = mkdtempSync(join(tmpdir(), 'wirecat-tls-'));
const f = (name: string) => join(dir, name);
const read = (name: string) => readFileSync(f(name));
let opensslMajor = 0;

async function openssl(args: string[]): Promise<string> {
  const r = await runProgram('openssl', args, { cwd: dir });
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')} failed (${r.code}):\n${r.stderr}`);
  return r.stdout;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCertificates(): Promise<void> {
  opensslMajor = Number(/OpenSSL (\d+)/.exec(await openssl(['version']))?.[1] ?? 0);
  const caExt = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
  await openssl(['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', '/CN=wirecat test CA', ...caExt]);
  await openssl(['req', '-x509', ...EC, '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-days', '30', '-subj', '/CN=wirecat other CA', ...caExt]);
  writeFileSync(f('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  writeFileSync(f('client.ext'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  await openssl(['req', '-new', ...EC, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '30', '-extfile', 'server.ext']);
  await openssl(['req', '-new', ...EC, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=wirecat-client']);
  await openssl(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '30', '-extfile', 'client.ext']);
  await openssl(['req', '-x509', ...EC, '-keyout', 'self.key', '-out', 'self.crt', '-days', '30', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
  // Expired: `openssl x509` cannot backdate before OpenSSL 3.4; `openssl ca` can, everywhere.
  writeFileSync(f('index.txt'), '');
  writeFileSync(f('serial'), '1000\n');
  writeFileSync(
    f('ca.cnf'),
    [
      '[ca]', 'default_ca = wc', '[wc]', `database = ${f('index.txt')}`, `new_certs_dir = ${dir}`, `serial = ${f('serial')}`,
      'default_md = sha256', 'policy = any', 'unique_subject = no', '[any]', 'commonName = supplied',
      '[leaf]', 'subjectAltName = DNS:localhost,IP:127.0.0.1', 'basicConstraints = CA:FALSE', 'extendedKeyUsage = serverAuth', '',
    ].join('\n'),
  );
  await openssl(['req', '-new', ...EC, '-keyout', 'expired.key', '-out', 'expired.csr', '-subj', '/CN=localhost']);
  await openssl([
    'ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-extensions', 'leaf', '-notext',
    '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-in', 'expired.csr', '-out', 'expired.crt',
  ]);
}

// ------------------------------------------------------------ peers

const children: ChildProcessWithoutNullStreams[] = [];
const connectors: IConnector[] = [];
const ports: IListeningPort[] = [];

afterEach(async () => {
  for (const c of connectors.splice(0)) c.disconnect();
  for (const p of ports.splice(0)) await within(p.stopListening(), 'TLS port to close', 2000);
  await Promise.all(
    children.splice(0).map((c) => {
      if (c.exitCode !== null || c.signalCode !== null) return undefined;
      const exited = new Promise((resolve) => c.once('exit', resolve));
      c.kill('SIGKILL');
      return within(exited, 'openssl to exit', 2000);
    }),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Start `openssl s_server` on 127.0.0.1 with a port of the kernel's choosing
 * (it prints `ACCEPT 127.0.0.1:PORT`). With -rev it answers each line with
 * the line reversed. It serves one connection at a time.
 */
async function sServer(cert: string, key: string, extra: string[] = []): Promise<{ port: number; stderr: () => string }> {
  const child = spawn('openssl', ['s_server', '-accept', '127.0.0.1:0', '-cert', f(cert), '-key', f(key), '-rev', ...extra], { cwd: dir });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const port = new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /ACCEPT \S+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`s_server exited (${code}) before listening:\n${err}`)));
  });
  return { port: await within(port, 's_server to listen', 5000), stderr: () => err };
}

/** A client protocol that records bytes and its end. */
class Client extends Protocol {
  readonly made = new Signal<void>();
  readonly lost = new Signal<Failure>();
  readonly chunks: Buffer[] = [];
  readonly changed = new Condition();
  override connectionMade(): void {
    this.made.fire();
  }
  override dataReceived(data: Buffer): void {
    this.chunks.push(Buffer.from(data));
    this.changed.poke();
  }
  override connectionLost(reason: Failure): void {
    this.lost.fire(reason);
    this.changed.poke();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString();
  }
  async waitFor(text: string, ms = 5000): Promise<void> {
    await this.changed.wait(() => this.text().includes(text) || this.lost.fired, JSON.stringify(text), ms);
    if (!this.text().includes(text)) throw new Error(`connection lost before ${JSON.stringify(text)} arrived (got ${JSON.stringify(this.text())})`);
  }
  get tls(): StreamTransport {
    expect(this.transport).toBeInstanceOf(StreamTransport);
    return this.transport as StreamTransport;
  }
}

/** A client factory recording what it is told. */
class Recording extends ClientFactory {
  readonly events: string[] = [];
  readonly built: Client[] = [];
  readonly failed = new Signal<Failure>();
  readonly connected = new Signal<Client>();
  override buildProtocol(): Client {
    this.events.push('buildProtocol');
    const p = new Client();
    p.factory = this;
    this.built.push(p);
    void p.made.promise.then(() => this.connected.fire(p));
    return p;
  }
  override clientConnectionFailed(_c: IConnector, reason: Failure): void {
    this.events.push('clientConnectionFailed');
    this.failed.fire(reason);
  }
  override clientConnectionLost(_c: IConnector, _reason: Failure): void {
    this.events.push('clientConnectionLost');
  }
}

function connect(port: number, opts: TLSOptions, host = '127.0.0.1'): Recording {
  const factory = new Recording();
  connectors.push(reactor.connectTLS(host, port, factory, opts));
  return factory;
}

async function connected(factory: Recording): Promise<Client> {
  const p = await within(
    Promise.race([
      factory.connected.promise,
      factory.failed.promise.then((r) => {
        throw new Error(`connection failed: ${r.getErrorMessage()}`);
      }),
    ]),
    'the TLS connection',
  );
  return p;
}

async function failure(factory: Recording): Promise<TLSError> {
  const r = await within(
    Promise.race([
      factory.failed.promise,
      factory.connected.promise.then(() => {
        throw new Error('connected, but the connection should have failed');
      }),
    ]),
    'clientConnectionFailed()',
  );
  expect(r.value).toBeInstanceOf(TLSError);
  expect(factory.built).toEqual([]);
  return r.value as TLSError;
}

/** Server side of listenTLS: greets, records, and closes after the first full line. */
class Greeter extends Protocol {
  readonly chunks: Buffer[] = [];
  readonly line = new Signal<string>();
  /** What the transport said at connectionMade (the socket is gone after the close). */
  tlsVersion: string | null | undefined = undefined;
  handshakeMs: number | undefined = undefined;
  override connectionMade(): void {
    const t = this.transport as StreamTransport;
    this.tlsVersion = t.getProtocol();
    this.handshakeMs = t.handshakeMs;
    this.transport!.write('hello from wirecat\n');
  }
  override dataReceived(data: Buffer): void {
    this.chunks.push(Buffer.from(data));
    const text = Buffer.concat(this.chunks).toString();
    if (text.includes('\n')) {
      this.line.fire(text);
      this.transport!.loseConnection();
    }
  }
}

class Collecting<P extends Protocol> extends Factory {
  readonly built: P[] = [];
  readonly first = new Signal<P>();
  constructor(private readonly _make: () => P) {
    super();
  }
  override buildProtocol(): P {
    const p = this._make();
    p.factory = this;
    this.built.push(p);
    this.first.fire(p);
    return p;
  }
}

// ------------------------------------------------------------ tests

describe.skipIf(shouldSkip(LABEL, noOpenssl))('TLS with the openssl command as the peer', () => {
  beforeAll(async () => {
    assertRunnable(LABEL, noOpenssl);
    await makeCertificates();
  }, 15_000);

  describe('reactor.connectTLS() to openssl s_server', () => {
    it('verifies against the CA, carries data both ways, and reports protocol, cipher, peer certificate and handshake time', async () => {
      const { port } = await sServer('server.crt', 'server.key');
      const factory = connect(port, { ca: read('ca.crt'), servername: 'localhost' });
      const p = await connected(factory);
      p.transport!.write('hello wirecat\n');
      await p.waitFor('\n');
      expect(p.text()).toBe('taceriw olleh\n');

      const t = p.tls;
      expect(t.getProtocol()).toBe('TLSv1.3');
      expect(t.getCipher()?.name).toMatch(/^TLS_/);
      expect(t.getPeerCertificate()?.subject.CN).toBe('localhost');
      const detailed = t.getPeerCertificate(true) as import('node:tls').DetailedPeerCertificate;
      expect(detailed.issuerCertificate.subject.CN).toBe('wirecat test CA');
      expect(typeof t.handshakeMs).toBe('number');
      expect(t.handshakeMs!).toBeGreaterThanOrEqual(0);
      expect(t.handshakeMs!).toBeLessThan(5000);
      expect(t.alpnProtocol).toBe(false);
      expect(t.getPeer()).toEqual({ type: 'TCP', host: '127.0.0.1', port });
      expect(factory.events).toEqual(['buildProtocol']);
    });

    it('without servername, an IP address is verified against the certificate IP SANs', async () => {
      const { port } = await sServer('server.crt', 'server.key');
      const p = await connected(connect(port, { ca: read('ca.crt') }));
      p.transport!.write('ip san\n');
      await p.waitFor('\n');
      expect(p.text()).toBe('nas pi\n');
    });

    it('a self-signed server certificate fails with TLSError "self-signed certificate"', async () => {
      const { port } = await sServer('self.crt', 'self.key');
      const e = await failure(connect(port, { ca: read('ca.crt'), servername: 'localhost' }));
      expect(e.code).toBe('ERR_TLS');
      expect(e.reason).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
      expect(e.message).toBe(`TLS certificate verification failed: self-signed certificate (attempted address: 127.0.0.1:${port})`);
      expect(exitCodeFor(e)).toBe(ExitCode.TLS);
    });

    it('a certificate from an unknown CA fails with TLSError "unable to verify the first certificate"', async () => {
      const { port } = await sServer('server.crt', 'server.key');
      const e = await failure(connect(port, { ca: read('other-ca.crt'), servername: 'localhost' }));
      expect(e.code).toBe('ERR_TLS');
      expect(e.reason).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      expect(e.message).toBe(
        `TLS certificate verification failed: unable to verify the first certificate (unknown CA or incomplete chain) (attempted address: 127.0.0.1:${port})`,
      );
    });

    it("servername 'wrong.example' fails with TLSError \"hostname mismatch\" naming the name and the certificate's names", async () => {
      const { port } = await sServer('server.crt', 'server.key');
      const e = await failure(connect(port, { ca: read('ca.crt'), servername: 'wrong.example' }));
      expect(e.code).toBe('ERR_TLS');
      expect(e.reason).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
      expect(e.message.startsWith('TLS certificate verification failed: hostname mismatch (')).toBe(true);
      expect(e.message).toContain('wrong.example');
      expect(e.message).toContain('DNS:localhost');
      expect(e.message.endsWith(`(attempted address: 127.0.0.1:${port})`)).toBe(true);
    });

    it('an expired certificate fails with TLSError "certificate has expired"', async () => {
      const { port } = await sServer('expired.crt', 'expired.key');
      const e = await failure(connect(port, { ca: read('ca.crt'), servername: 'localhost' }));
      expect(e.code).toBe('ERR_TLS');
      expect(e.reason).toBe('CERT_HAS_EXPIRED');
      expect(e.message).toBe(`TLS certificate verification failed: certificate has expired (attempted address: 127.0.0.1:${port})`);
    });

    it('rejectUnauthorized: false connects to the self-signed and the expired server, data both ways', async () => {
      for (const [cert, key] of [['self.crt', 'self.key'], ['expired.crt', 'expired.key']] as const) {
        const { port } = await sServer(cert, key);
        const p = await connected(connect(port, { rejectUnauthorized: false, servername: 'localhost' }));
        p.transport!.write(`unverified ${cert}\n`);
        await p.waitFor('\n');
        expect(p.text()).toBe(`${[...`unverified ${cert}`].reverse().join('')}\n`);
        expect(p.tls.getPeerCertificate()?.subject.CN).toBe('localhost');
      }
    });

    it('ALPN: the server picks h2 from [h2, http/1.1]; http/1.1 when only that is offered; none without ALPN', async () => {
      const { port } = await sServer('server.crt', 'server.key', ['-alpn', 'h2,http/1.1']);
      const opts = { ca: read('ca.crt'), servername: 'localhost' };
      const results: (string | false | undefined)[] = [];
      for (const ALPNProtocols of [['h2', 'http/1.1'], ['http/1.1'], undefined]) {
        const p = await connected(connect(port, { ...opts, ...(ALPNProtocols ? { ALPNProtocols } : {}) }));
        results.push(p.tls.alpnProtocol);
        p.transport!.loseConnection(); // s_server serves one connection at a time
        await within(p.lost.promise, 'the connection to close');
      }
      expect(results).toEqual(['h2', 'http/1.1', false]);
    });

    it('minVersion TLSv1.3 against a TLS 1.2-only server fails with TLSError (protocol version alert)', async () => {
      const { port } = await sServer('server.crt', 'server.key', ['-tls1_2']);
      const e = await failure(connect(port, { ca: read('ca.crt'), servername: 'localhost', minVersion: 'TLSv1.3' }));
      expect(e.code).toBe('ERR_TLS');
      expect(e.reason).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
      expect(e.message.startsWith('TLS handshake failed: ')).toBe(true);
      expect(e.message).toContain('alert protocol version');
      expect(exitCodeFor(e)).toBe(ExitCode.TLS);
    });

    it('maxVersion TLSv1.2 negotiates TLS 1.2', async () => {
      const { port } = await sServer('server.crt', 'server.key');
      const p = await connected(connect(port, { ca: read('ca.crt'), servername: 'localhost', maxVersion: 'TLSv1.2' }));
      expect(p.tls.getProtocol()).toBe('TLSv1.2');
      p.transport!.write('tls12\n');
      await p.waitFor('\n');
      expect(p.text()).toBe('21slt\n');
    });
  });

  describe('reactor.listenTLS()', () => {
    it('accepts openssl s_client verifying against the CA; data both ways', async () => {
      const factory = new Collecting(() => new Greeter());
      const port = await reactor.listenTLS(0, factory, { cert: read('server.crt'), key: read('server.key'), host: '127.0.0.1' });
      ports.push(port);
      const addr = port.getHost();
      expect(addr).toMatchObject({ type: 'TCP', host: '127.0.0.1' });
      const args = [
        's_client', '-connect', `127.0.0.1:${(addr as { port: number }).port}`, '-CAfile', f('ca.crt'),
        '-servername', 'localhost', '-verify_hostname', 'localhost', '-verify_return_error', '-quiet',
      ];
      // OpenSSL 3 counts a close without close_notify as an error; Node may
      // close that way when end() follows the data at once. Not what is tested here.
      if (opensslMajor >= 3) args.push('-ignore_unexpected_eof');
      const r = await runProgram('openssl', args, { input: 'hello from s_client\n' });
      expect(r.stderr).not.toMatch(/verify error/);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('hello from wirecat\n');
      const server = await within(factory.first.promise, 'the server protocol');
      expect(await within(server.line.promise, 'the line from s_client')).toBe('hello from s_client\n');
      expect(server.transport).toBeInstanceOf(StreamTransport);
      expect(server.tlsVersion).toBe('TLSv1.3');
      expect(typeof server.handshakeMs).toBe('number');
      expect(server.handshakeMs!).toBeGreaterThanOrEqual(0);
    });

    // CORE-API: "A TLS transport adds ... the handshake time" (and --stats
    // prints it). A real handshake (ECDHE + ECDSA, a round trip) takes
    // measurable time on the accepting side as on the connecting side.
    it("an accepted connection's handshakeMs measures its handshake (> 0), as the connecting side's does", async () => {
      const factory = new Collecting(() => new Greeter());
      const port = await reactor.listenTLS(0, factory, { cert: read('server.crt'), key: read('server.key'), host: '127.0.0.1' });
      ports.push(port);
      const p = await connected(connect((port.getHost() as { port: number }).port, { ca: read('ca.crt'), servername: 'localhost' }));
      const server = await within(factory.first.promise, 'the server protocol');
      expect(p.tls.handshakeMs!).toBeGreaterThan(0);
      expect(server.handshakeMs).toBeGreaterThan(0);
    });

    it('requestCert + rejectUnauthorized: a client with a CA-signed certificate (cert/key on connectTLS) gets through; the server sees its CN', async () => {
      const factory = new Collecting(() => new Greeter());
      const port = await reactor.listenTLS(0, factory, {
        cert: read('server.crt'), key: read('server.key'), ca: read('ca.crt'), requestCert: true, rejectUnauthorized: true, host: '127.0.0.1',
      });
      ports.push(port);
      const client = connect((port.getHost() as { port: number }).port, {
        ca: read('ca.crt'), servername: 'localhost', cert: read('client.crt'), key: read('client.key'),
      });
      const p = await connected(client);
      await p.waitFor('hello from wirecat\n');
      p.transport!.write('client line\n');
      const server = await within(factory.first.promise, 'the server protocol');
      expect(await within(server.line.promise, 'the client line')).toBe('client line\n');
      const peer = (server.transport as StreamTransport).getPeerCertificate();
      expect(peer?.subject.CN).toBe('wirecat-client');
      expect(peer?.issuer.CN).toBe('wirecat test CA');
      await within(p.lost.promise, 'the server to close');
    });

    it('requestCert + rejectUnauthorized: a client without a certificate is refused; the server builds no protocol', async () => {
      const factory = new Collecting(() => new Greeter());
      const clientErrors: Error[] = [];
      const serverRefused = new Signal<Error>();
      const port = await reactor.listenTLS(
        0,
        factory,
        { cert: read('server.crt'), key: read('server.key'), ca: read('ca.crt'), requestCert: true, rejectUnauthorized: true, host: '127.0.0.1' },
        (err) => {
          clientErrors.push(err);
          serverRefused.fire(err);
        },
      );
      ports.push(port);
      const client = connect((port.getHost() as { port: number }).port, { ca: read('ca.crt'), servername: 'localhost' });
      // In TLS 1.3 the client finishes its side of the handshake before the
      // server checks the certificate, so the refusal may arrive as a lost
      // connection rather than a failed one; either way it says why.
      const reason = await within(
        Promise.race([client.failed.promise, client.connected.promise.then((p) => p.lost.promise)]),
        'the refusal to reach the client',
      );
      expect(reason.getErrorMessage()).toMatch(/certificate required/);
      await within(serverRefused.promise, 'onClientError');
      expect(clientErrors[0]!.message).toMatch(/peer did not return a certificate|certificate/);
      expect(factory.built).toEqual([]);
      const p = client.built[0];
      if (p !== undefined) expect(p.text()).toBe('');
    });
  });
});
