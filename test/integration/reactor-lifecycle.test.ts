// The reactor's life cycle (src/core/reactor.ts): run()/stop(),
// callWhenRunning, system event triggers, SIGINT/SIGTERM, and exiting by
// itself. Each case runs in a fresh `node` process importing the BUILT
// package ('wirecat' resolves to dist/ through package.json "exports"; `npm
// test` builds first), since the reactor is one per process and owns the
// process's signal handlers.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReactorNotRunning, reactor } from 'wirecat';
import { ROOT, run, type RunResult } from './helpers.js';

/** Newest modification time under `d` of files ending in `ext`. */
function newest(d: string, ext: string): number {
  let t = 0;
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p, ext));
    else if (e.name.endsWith(ext)) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

beforeAll(async () => {
  const dist = join(ROOT, 'dist', 'index.js');
  let built = 0;
  try {
    built = statSync(dist).mtimeMs;
  } catch {
    throw new Error('dist/index.js is missing: run `npm run build` (npm test does) before these tests');
  }
  const r = await node(`const m = await import('wirecat'); console.log(typeof m.reactor?.run);`);
  if (r.stdout.trim() !== 'function') throw new Error(`the built package has no reactor: run \`npm run build\` (stdout ${JSON.stringify(r.stdout)}, stderr ${r.stderr})`);
  if (newest(join(ROOT, 'src'), '.ts') > built + 1000) {
    console.warn('[warning] reactor-lifecycle: dist/ is older than src/; these tests run the built package, so run `npm run build` (npm test does) first');
  }
});

const tmp = mkdtempSync(join(tmpdir(), 'wirecat-life-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Run `source` as an ES module in a new node process; at most `timeoutMs`. */
function node(source: string, timeoutMs = 8000): Promise<RunResult> {
  return run(process.execPath, ['--input-type=module', '-e', source], { cwd: ROOT, timeoutMs });
}

/** Lines of stdout. */
const lines = (r: RunResult) => r.stdout.split('\n').filter((l) => l !== '');

/** A child whose stdout is read line by line as it arrives, for signal tests. */
class Child {
  readonly out: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly _proc;
  private _partial = '';
  private _waiters: { re: RegExp; resolve: (l: string) => void }[] = [];

  constructor(source: string) {
    this._proc = spawn(process.execPath, ['--input-type=module', '-e', source], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this._proc.stdout.on('data', (b: Buffer) => {
      const parts = (this._partial + b.toString()).split('\n');
      this._partial = parts.pop()!;
      for (const l of parts) {
        this.out.push(l);
        this._waiters = this._waiters.filter((w) => {
          if (!w.re.test(l)) return true;
          w.resolve(l);
          return false;
        });
      }
    });
    this._proc.stderr.on('data', (b: Buffer) => {
      this.stderr += b.toString();
    });
    this.exited = new Promise((resolve) => this._proc.once('close', (code, signal) => resolve({ code, signal })));
  }

  /** The first line matching `re`, waiting at most `ms`. */
  line(re: RegExp, ms = 5000): Promise<string> {
    const seen = this.out.find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line matching ${re} within ${ms} ms; stdout so far: ${JSON.stringify(this.out)}; stderr: ${this.stderr}`)), ms);
      this._waiters.push({
        re,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`exited before a line matching ${re}; stdout: ${JSON.stringify(this.out)}; stderr: ${this.stderr}`));
      });
    });
  }

  kill(sig: NodeJS.Signals): void {
    this._proc.kill(sig);
  }

  /** Wait for the exit, killing the child if it takes longer than `ms`. */
  async exit(ms = 5000): Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this._proc.kill('SIGKILL');
    }, ms);
    const r = await this.exited;
    clearTimeout(timer);
    return { ...r, timedOut };
  }
}

const LOG = 'const log = (m) => console.log(m);';

// ---------------------------------------------------------------------------

describe('reactor life cycle', () => {
  it('stop() when the reactor is not running throws ReactorNotRunning', () => {
    expect(reactor.running).toBe(false);
    expect(() => reactor.stop()).toThrow(ReactorNotRunning);
  });

  it('run() resolves after stop(); running is true in between', async () => {
    const r = await node(`
      import { reactor } from 'wirecat';
      ${LOG}
      log('before run ' + reactor.running);
      let p;
      reactor.callWhenRunning(() => reactor.callLater(0, () => {
        log('running ' + reactor.running);
        log('run() while running gives the same promise: ' + (reactor.run() === p));
        reactor.stop();
      }));
      p = reactor.run();
      await p;
      log('run resolved ' + reactor.running);
    `);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(lines(r)).toEqual(['before run false', 'running true', 'run() while running gives the same promise: true', 'run resolved false']);
  });

  it('callWhenRunning calls run in order after the startup triggers, with their arguments; called while running, at once', async () => {
    const r = await node(`
      import { reactor } from 'wirecat';
      ${LOG}
      reactor.addSystemEventTrigger('after', 'startup', () => log('after-startup'));
      reactor.callWhenRunning(() => { log('cwr-1'); reactor.callWhenRunning(() => log('cwr-nested')); });
      reactor.addSystemEventTrigger('before', 'startup', (x) => log('before-startup ' + x), 'arg');
      reactor.addSystemEventTrigger('during', 'startup', () => log('during-startup'));
      reactor.callWhenRunning((a, b) => log('cwr-2 ' + a + ' ' + b), 'x', 'y');
      reactor.callWhenRunning(() => reactor.stop());
      log('not yet');
      await reactor.run();
      log('done');
    `);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(lines(r)).toEqual(['not yet', 'before-startup arg', 'during-startup', 'after-startup', 'cwr-1', 'cwr-nested', 'cwr-2 x y', 'done']);
  });

  it("a 'before startup' trigger's Deferred is awaited before the reactor counts as started", async () => {
    const r = await node(`
      import { reactor, deferLater } from 'wirecat';
      ${LOG}
      reactor.addSystemEventTrigger('before', 'startup', () => { log('before-startup'); return deferLater(reactor, 50, () => log('before-startup done')); });
      reactor.addSystemEventTrigger('after', 'startup', () => log('after-startup'));
      reactor.callWhenRunning(() => { log('cwr'); reactor.stop(); });
      await reactor.run();
      log('done');
    `);
    expect(r.stderr).toBe('');
    expect(lines(r)).toEqual(['before-startup', 'before-startup done', 'after-startup', 'cwr', 'done']);
  });

  it('shutdown triggers run before → during → after; Deferreds and Promises they return are awaited before run() resolves', async () => {
    const r = await node(`
      import { reactor, deferLater } from 'wirecat';
      ${LOG}
      reactor.addSystemEventTrigger('before', 'shutdown', () => { log('before-1 start'); return deferLater(reactor, 120, () => log('before-1 drained')); });
      reactor.addSystemEventTrigger('before', 'shutdown', () => { log('before-2 start'); return deferLater(reactor, 40, () => log('before-2 drained')); });
      reactor.addSystemEventTrigger('during', 'shutdown', () => { log('during start'); return new Promise((r) => setTimeout(() => { log('during promise'); r(); }, 40)); });
      reactor.addSystemEventTrigger('after', 'shutdown', (x) => log('after ' + x), 'arg');
      const id = reactor.addSystemEventTrigger('before', 'shutdown', () => log('removed trigger ran'));
      reactor.removeSystemEventTrigger(id);
      reactor.callWhenRunning(() => {
        log('stopping');
        const d = reactor.stop();
        log('same Deferred on a second stop(): ' + (reactor.stop() === d));
        d.addCallback(() => log('stop Deferred fired'));
      });
      await reactor.run();
      log('run resolved');
    `);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(lines(r)).toEqual([
      'stopping',
      'before-1 start',
      'before-2 start',
      'same Deferred on a second stop(): true',
      'before-2 drained',
      'before-1 drained',
      'during start',
      'during promise',
      'after arg',
      'stop Deferred fired',
      'run resolved',
    ]);
  });

  it('a shutdown trigger that throws or fails is logged, and shutdown goes on', async () => {
    const r = await node(`
      import { reactor, fail } from 'wirecat';
      ${LOG}
      reactor.addSystemEventTrigger('before', 'shutdown', () => { throw new Error('trigger exploded'); });
      reactor.addSystemEventTrigger('before', 'shutdown', () => fail(new RangeError('trigger failed')));
      reactor.addSystemEventTrigger('after', 'shutdown', () => log('after ran'));
      reactor.callWhenRunning(() => reactor.stop());
      await reactor.run();
      log('run resolved');
    `);
    expect(r.code).toBe(0);
    expect(lines(r)).toEqual(['after ran', 'run resolved']);
    expect(r.stderr).toContain('trigger exploded');
    expect(r.stderr).toContain('trigger failed');
  });

  it('stop() closes listening ports and open connections, so the process exits by itself', async () => {
    const r = await node(`
      import net from 'node:net';
      import { reactor, Factory, Protocol } from 'wirecat';
      ${LOG}
      class Echo extends Protocol { dataReceived(d) { this.transport.write(d); } connectionLost(r) { log('server lost'); } }
      reactor.callWhenRunning(async () => {
        const port = await reactor.listenTCP(0, Factory.forProtocol(Echo), { host: '127.0.0.1' });
        const c = net.connect(port.getHost().port, '127.0.0.1');
        c.on('error', () => {});
        c.on('data', (d) => { log('client got ' + d); reactor.stop(); });
        c.on('close', () => log('client closed'));
        c.write('ping');
      });
      await reactor.run();
      log('run resolved');
    `);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(lines(r)).toContain('client got ping');
    expect(lines(r)).toContain('client closed');
    expect(lines(r)).toContain('server lost');
    expect(lines(r)).toContain('run resolved');
  });

  it("connections closed by shutdown get connectionLost before the 'after shutdown' triggers and before run() resolves (Twisted disconnects them 'during shutdown')", async () => {
    const r = await node(`
      import net from 'node:net';
      import { reactor, Factory, Protocol } from 'wirecat';
      ${LOG}
      class Quiet extends Protocol {
        connectionMade() { this.transport.write('hi'); }
        connectionLost() { log('server connectionLost'); }
      }
      reactor.addSystemEventTrigger('after', 'shutdown', () => log('after-shutdown trigger'));
      reactor.callWhenRunning(async () => {
        const port = await reactor.listenTCP(0, Factory.forProtocol(Quiet), { host: '127.0.0.1' });
        const c = net.connect(port.getHost().port, '127.0.0.1');
        c.on('error', () => {});
        c.once('data', () => { log('connected'); reactor.stop(); });
      });
      await reactor.run();
      log('run resolved');
    `);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(lines(r)).toEqual(['connected', 'server connectionLost', 'after-shutdown trigger', 'run resolved']);
  });

  it('a process that listened (TCP and Unix), connected and then stopped everything exits by itself, without run()', async () => {
    const path = join(tmp, 'exit.sock');
    const r = await node(`
      import { reactor, Factory, ClientFactory, Protocol } from 'wirecat';
      ${LOG}
      // stdout and stderr are pipes of their own (made on first use): count only what is added.
      void process.stdout; void process.stderr;
      const base = process.getActiveResourcesInfo();
      class Echo extends Protocol { dataReceived(d) { this.transport.write(d); } }
      const got = [];
      const closed = [];
      class Client extends Protocol {
        connectionMade() { this.transport.write('hello'); }
        dataReceived(d) { got.push(String(d)); this.transport.loseConnection(); }
        connectionLost() { closed.push(1); }
      }
      const tcp = await reactor.listenTCP(0, Factory.forProtocol(Echo), { host: '127.0.0.1' });
      const unix = await reactor.listenUNIX(${JSON.stringify(path)}, Factory.forProtocol(Echo));
      const done = new Promise((resolve) => {
        const f = ClientFactory.forProtocol(Client);
        f.clientConnectionLost = () => { if (closed.length === 2) resolve(); };
        reactor.connectTCP('127.0.0.1', tcp.getHost().port, f);
        reactor.connectUNIX(${JSON.stringify(path)}, f);
      });
      await done;
      await tcp.stopListening();
      await unix.stopListening();
      log('got ' + got.join(','));
      const left = process.getActiveResourcesInfo().filter((x) => /TCP|Pipe|Timeout|Timer/.test(x));
      for (const x of base) { const i = left.indexOf(x); if (i >= 0) left.splice(i, 1); }
      log('left ' + JSON.stringify(left));
    `);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(lines(r)[0]).toBe('got hello,hello');
    expect(lines(r)[1]).toBe('left []');
  });
});

describe('reactor life cycle: signals', () => {
  const server = (extra = '') => `
    import { reactor, Factory, Protocol, deferLater, Deferred } from 'wirecat';
    ${LOG}
    class Echo extends Protocol { dataReceived(d) { this.transport.write(d); } }
    reactor.addSystemEventTrigger('before', 'shutdown', () => {
      log('shutdown:before');
      return deferLater(reactor, 50, () => log('shutdown:drained'));
    });
    reactor.addSystemEventTrigger('after', 'shutdown', () => log('shutdown:after'));
    ${extra}
    reactor.callWhenRunning(async () => {
      const port = await reactor.listenTCP(0, Factory.forProtocol(Echo), { host: '127.0.0.1' });
      log('ready ' + port.getHost().port);
    });
    await reactor.run();
    log('run resolved, stoppedBySignal=' + reactor.stoppedBySignal);
  `;

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`${sig} causes a graceful shutdown: triggers run, connections close, the process exits by itself with 0`, async () => {
      const child = new Child(server());
      const ready = await child.line(/^ready \d+$/);
      const port = Number(ready.split(' ')[1]);
      // A live client: shutdown must close it.
      const c = net.connect(port, '127.0.0.1');
      c.on('error', () => undefined);
      await new Promise<void>((resolve, reject) => c.once('connect', resolve).once('error', reject));
      const clientClosed = new Promise<void>((resolve) => c.once('close', () => resolve()));
      child.kill(sig);
      const exit = await child.exit(5000);
      expect(exit.timedOut).toBe(false);
      expect(child.stderr).toBe('');
      expect(exit).toEqual({ code: 0, signal: null, timedOut: false });
      expect(child.out).toEqual([ready, 'shutdown:before', 'shutdown:drained', 'shutdown:after', `run resolved, stoppedBySignal=${sig}`]);
      await clientClosed;
      c.destroy();
    });
  }

  it('a second SIGTERM during a shutdown that hangs exits at once with 143', async () => {
    const child = new Child(
      server(`reactor.addSystemEventTrigger('before', 'shutdown', () => { log('shutdown:hanging'); return new Deferred(); });`),
    );
    await child.line(/^ready \d+$/);
    child.kill('SIGTERM');
    await child.line(/^shutdown:hanging$/);
    await child.line(/^shutdown:drained$/);
    child.kill('SIGTERM');
    const exit = await child.exit(5000);
    expect(exit).toEqual({ code: 143, signal: null, timedOut: false });
    expect(child.out).not.toContain('shutdown:after');
  });

  it('a second SIGINT during a shutdown that hangs exits at once with 130', async () => {
    const child = new Child(
      server(`reactor.addSystemEventTrigger('before', 'shutdown', () => { log('shutdown:hanging'); return new Deferred(); });`),
    );
    await child.line(/^ready \d+$/);
    child.kill('SIGINT');
    await child.line(/^shutdown:hanging$/);
    child.kill('SIGINT');
    const exit = await child.exit(5000);
    expect(exit).toEqual({ code: 130, signal: null, timedOut: false });
  });

  it('a running reactor with nothing else to do keeps running until a signal stops it (Twisted: run() blocks until stop)', async () => {
    const child = new Child(`
      import { reactor } from 'wirecat';
      ${LOG}
      reactor.addSystemEventTrigger('before', 'shutdown', () => log('shutdown:before'));
      reactor.callWhenRunning(() => log('ready'));
      await reactor.run();
      log('run resolved, stoppedBySignal=' + reactor.stoppedBySignal);
    `);
    await child.line(/^ready$/);
    // Give the child the chance to (wrongly) exit on an empty event loop: a
    // bounded wait for an exit that must not happen.
    const early = await Promise.race([child.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 300))]);
    expect(early, `the child exited on its own; stdout: ${JSON.stringify(child.out)}`).toBe(false);
    child.kill('SIGTERM');
    const exit = await child.exit(5000);
    expect(exit).toEqual({ code: 0, signal: null, timedOut: false });
    expect(child.out).toEqual(['ready', 'shutdown:before', 'run resolved, stoppedBySignal=SIGTERM']);
  });
});
