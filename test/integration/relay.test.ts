import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

// The relay runs in its own process (test/fixtures/tcp-relay.mjs, on the
// built library), so that its memory can be measured from outside.

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

interface RelayProcess {
  child: ChildProcess;
  port: number;
  lines: unknown[];
}

async function startRelay(targetPort: number, idleMs?: number): Promise<RelayProcess> {
  const args = ['test/fixtures/tcp-relay.mjs', String(targetPort)];
  if (idleMs !== undefined) args.push(String(idleMs));
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines: unknown[] = [];
  let buf = '';
  let resolvePort: (p: number) => void;
  const port = new Promise<number>((r) => (resolvePort = r));
  child.stdout!.on('data', (b: Buffer) => {
    buf += b.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const obj = JSON.parse(buf.slice(0, i)) as { port?: number };
      buf = buf.slice(i + 1);
      if (obj.port !== undefined) resolvePort(obj.port);
      else lines.push(obj);
    }
  });
  return { child, port: await port, lines };
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function writeAll(sock: net.Socket, block: Buffer, total: number): Promise<void> {
  let sent = 0;
  while (sent < total) {
    const chunk = total - sent >= block.length ? block : block.subarray(0, total - sent);
    sent += chunk.length;
    if (!sock.write(chunk)) await once(sock, 'drain');
  }
  sock.end();
}

function listen(onConn: (s: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true }, onConn);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function waitFor<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

function sha256Of(block: Buffer, total: number): string {
  const h = createHash('sha256');
  for (let i = 0; i < total / block.length; i++) h.update(block);
  return h.digest('hex');
}

interface Received {
  hash: string;
  n: number;
}

function receiveAll(s: net.Socket): Promise<Received> {
  return new Promise((resolveGot) => {
    const h = createHash('sha256');
    let n = 0;
    s.on('data', (b: Buffer) => {
      h.update(b);
      n += b.length;
    });
    s.on('end', () => resolveGot({ hash: h.digest('hex'), n }));
  });
}

describe('Relay over real TCP', () => {
  it('copies 64 MiB of random bytes both ways at once, SHA-256 equal at both ends', async () => {
    const SIZE = 64 * 1024 * 1024;
    const fromServer = randomBytes(1024 * 1024);
    const fromClient = randomBytes(1024 * 1024);
    let serverGot!: Promise<Received>;
    const server = await listen((s) => {
      serverGot = receiveAll(s);
      void writeAll(s, fromServer, SIZE);
    });
    const relay = await startRelay((server.address() as net.AddressInfo).port);
    const client = net.connect({ port: relay.port, host: '127.0.0.1', allowHalfOpen: true });
    await once(client, 'connect');
    const clientGot = receiveAll(client);
    void writeAll(client, fromClient, SIZE);
    const atClient = await waitFor(clientGot, 60_000, 'client receiving 64 MiB');
    const atServer = await waitFor(serverGot, 60_000, 'server receiving 64 MiB');
    server.close();
    expect(atServer.n).toBe(SIZE);
    expect(atClient.n).toBe(SIZE);
    expect(atServer.hash).toBe(sha256Of(fromClient, SIZE));
    expect(atClient.hash).toBe(sha256Of(fromServer, SIZE));
  }, 90_000);

  it('keeps the relay under 150 MiB RSS while a 100 KiB/s reader is fed 256 MiB, and loses nothing', async () => {
    const SIZE = 256 * 1024 * 1024;
    const SLOW_MS = 4_000;
    const block = randomBytes(1024 * 1024);
    let serverSock!: net.Socket;
    let gotServer!: (s: net.Socket) => void;
    const serverConnected = new Promise<net.Socket>((r) => (gotServer = r));
    const server = await listen((s) => {
      serverSock = s;
      gotServer(s);
    });
    const relay = await startRelay((server.address() as net.AddressInfo).port);
    const client = net.connect({ port: relay.port, host: '127.0.0.1' });
    await once(client, 'connect');
    void writeAll(client, block, SIZE);
    await waitFor(serverConnected, 10_000, 'relay connecting to the server');

    // Slow phase: read 10 KiB every 100 ms by hand (paused mode).
    const h = createHash('sha256');
    let n = 0;
    let ended = false;
    serverSock.pause();
    serverSock.on('end', () => (ended = true));
    let peakRss = 0;
    const slowUntil = Date.now() + SLOW_MS;
    while (Date.now() < slowUntil) {
      await new Promise((r) => setTimeout(r, 100));
      const chunk = serverSock.read(Math.min(10 * 1024, serverSock.readableLength || 10 * 1024)) as Buffer | null;
      if (chunk) {
        h.update(chunk);
        n += chunk.length;
      }
      peakRss = Math.max(peakRss, rssBytes(relay.child.pid!));
    }
    expect(n).toBeLessThan(1024 * 1024); // it really was slow
    expect(peakRss).toBeGreaterThan(0);
    expect(peakRss).toBeLessThan(150 * 1024 * 1024);

    // Fast phase: drain the rest; every byte must arrive.
    const rest = new Promise<void>((resolveRest) => {
      serverSock.on('data', (b: Buffer) => {
        h.update(b);
        n += b.length;
      });
      if (ended) resolveRest();
      serverSock.on('end', () => resolveRest());
      serverSock.resume();
    });
    await waitFor(rest, 60_000, 'draining 256 MiB');
    server.close();
    expect(n).toBe(SIZE);
    expect(h.digest('hex')).toBe(sha256Of(block, SIZE));
  }, 90_000);
});
