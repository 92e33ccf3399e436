/**
 * reactor.spawnProcess with real programs: stdin/stdout/stderr, exit
 * statuses and signals as ProcessDone / ProcessTerminated, environment and
 * working directory, a program that does not exist, and the order of the
 * ProcessProtocol callbacks.
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ProcessDone, ProcessProtocol, ProcessTerminated, reactor, type Failure, type ProcessTransport } from 'wirecat';
import { Condition } from './requirements.js';

const END_EVENTS = ['inConnectionLost', 'outConnectionLost', 'errConnectionLost', 'processExited', 'processEnded'];

/** Records every callback, the bytes of stdout and stderr, and both Failures. */
class Recorder extends ProcessProtocol {
  readonly events: string[] = [];
  readonly out: Buffer[] = [];
  readonly err: Buffer[] = [];
  exited: Failure | undefined = undefined;
  ended: Failure | undefined = undefined;
  readonly changed = new Condition();

  private _note(e: string): void {
    this.events.push(e);
    this.changed.poke();
  }
  override connectionMade(): void {
    this._note('connectionMade');
  }
  override outReceived(data: Buffer): void {
    this.out.push(Buffer.from(data));
    this._note('out');
  }
  override errReceived(data: Buffer): void {
    this.err.push(Buffer.from(data));
    this._note('err');
  }
  override inConnectionLost(): void {
    this._note('inConnectionLost');
  }
  override outConnectionLost(): void {
    this._note('outConnectionLost');
  }
  override errConnectionLost(): void {
    this._note('errConnectionLost');
  }
  override processExited(reason: Failure): void {
    this.exited = reason;
    this._note('processExited');
  }
  override processEnded(reason: Failure): void {
    this.ended = reason;
    this._note('processEnded');
  }

  stdout(): string {
    return Buffer.concat(this.out).toString();
  }
  stderr(): string {
    return Buffer.concat(this.err).toString();
  }
  /** Resolves with processEnded's Failure (bounded). */
  async whenEnded(ms = 5000): Promise<Failure> {
    await this.changed.wait(() => this.ended !== undefined, 'processEnded()', ms);
    return this.ended!;
  }
  /** Resolves once every end-of-life callback has arrived (bounded). */
  async whenAllClosed(ms = 5000): Promise<void> {
    await this.changed.wait(() => END_EVENTS.every((e) => this.events.includes(e)), `all of ${END_EVENTS.join(', ')}`, ms);
  }
  /** The events with runs of `out`/`err` collapsed. */
  milestones(): string[] {
    return this.events.filter((e, i) => !((e === 'out' || e === 'err') && this.events[i - 1] === e));
  }
}

const running: ProcessTransport[] = [];
function spawn(p: Recorder, file: string, args: string[] = [], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ProcessTransport {
  const t = reactor.spawnProcess(p, file, args, opts);
  running.push(t);
  return t;
}
afterEach(() => {
  for (const t of running.splice(0)) {
    if (t.status === undefined) t.signalProcess('KILL');
  }
});

const tmp = mkdtempSync(join(tmpdir(), 'wirecat-process-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('reactor.spawnProcess()', () => {
  it('cat echoes what is written to stdin; closeStdin() ends it with ProcessDone', async () => {
    const p = new Recorder();
    const t = spawn(p, 'cat');
    expect(p.events).toEqual(['connectionMade']);
    expect(t.pid).toBeGreaterThan(0);
    const payload = Buffer.concat([Buffer.from('hello, cat\n'), Buffer.from([0, 255, 10])]);
    t.write(payload.subarray(0, 5));
    t.write(payload.subarray(5));
    t.closeStdin();
    const reason = await p.whenEnded();
    expect(Buffer.concat(p.out).equals(payload)).toBe(true);
    expect(reason.value).toBeInstanceOf(ProcessDone);
    expect(reason.check(ProcessDone)).toBe(ProcessDone);
    expect((reason.value as ProcessDone).exitCode).toBe(0);
    expect(p.exited?.value).toBeInstanceOf(ProcessDone);
    expect(t.status).toEqual({ exitCode: 0, signal: null });
  });

  it('writeSequence() writes the chunks in order', async () => {
    const p = new Recorder();
    const t = spawn(p, 'cat');
    t.writeSequence(['one ', Buffer.from('two '), 'three']);
    t.closeStdin();
    await p.whenEnded();
    expect(p.stdout()).toBe('one two three');
  });

  it("a non-zero exit status arrives as ProcessTerminated: sh -c 'exit 3' → exitCode 3, no signal", async () => {
    const p = new Recorder();
    spawn(p, 'sh', ['-c', 'exit 3']);
    const reason = await p.whenEnded();
    expect(reason.value).toBeInstanceOf(ProcessTerminated);
    const e = reason.value as ProcessTerminated;
    expect(e.exitCode).toBe(3);
    expect(e.signal).toBeNull();
    expect(e.message).toBe('process ended with exit code 3');
    expect(e.code).toBe('ERR_PROCESS_TERMINATED');
    expect(p.exited?.value).toBe(e);
  });

  it("signalProcess('TERM') on sleep 30 ends it: ProcessTerminated with signal SIGTERM and no exit code", async () => {
    const p = new Recorder();
    const t = spawn(p, 'sleep', ['30']);
    t.signalProcess('TERM');
    const reason = await p.whenEnded(5000);
    const e = reason.value as ProcessTerminated;
    expect(e).toBeInstanceOf(ProcessTerminated);
    expect(e.signal).toBe('SIGTERM');
    expect(e.exitCode).toBeNull();
    expect(e.message).toBe('process ended by signal SIGTERM');
    expect(t.status).toEqual({ exitCode: null, signal: 'SIGTERM' });
  });

  it("signalProcess() takes the full name too ('SIGKILL')", async () => {
    const p = new Recorder();
    const t = spawn(p, 'sleep', ['30']);
    t.signalProcess('SIGKILL');
    const e = (await p.whenEnded()).value as ProcessTerminated;
    expect(e.signal).toBe('SIGKILL');
  });

  it('stderr arrives through errReceived(), stdout through outReceived(), kept apart', async () => {
    const p = new Recorder();
    spawn(p, 'sh', ['-c', 'echo to-out; echo to-err >&2; echo more-err >&2']);
    await p.whenEnded();
    expect(p.stdout()).toBe('to-out\n');
    expect(p.stderr()).toBe('to-err\nmore-err\n');
  });

  it('env replaces the environment and cwd sets the working directory', async () => {
    const p = new Recorder();
    spawn(p, '/bin/sh', ['-c', 'printf "%s|%s|" "$WIRECAT_TEST_VAR" "${HOME-unset}"; pwd -P'], {
      env: { WIRECAT_TEST_VAR: 'hello env', PATH: '/usr/bin:/bin' },
      cwd: tmp,
    });
    const reason = await p.whenEnded();
    expect(reason.value).toBeInstanceOf(ProcessDone);
    expect(p.stdout()).toBe(`hello env|unset|${realpathSync(tmp)}\n`);
  });

  it("a missing program ends with ProcessTerminated exitCode 127: \"cannot run '...': command not found\"", async () => {
    const p = new Recorder();
    const t = spawn(p, 'wirecat-no-such-program', ['--flag']);
    const reason = await p.whenEnded();
    const e = reason.value as ProcessTerminated;
    expect(e).toBeInstanceOf(ProcessTerminated);
    expect(e.exitCode).toBe(127);
    expect(e.signal).toBeNull();
    expect(e.message).toBe("cannot run 'wirecat-no-such-program': command not found");
    expect(p.exited?.value).toBe(e);
    expect(t.pid).toBeUndefined();
    expect(p.out).toEqual([]);
  });

  it('output written after stdin was closed still arrives: sh -c "cat; echo done"', async () => {
    const p = new Recorder();
    const t = spawn(p, 'sh', ['-c', 'cat; echo done']);
    t.write('abc\n');
    t.closeStdin();
    await p.whenEnded();
    expect(p.stdout()).toBe('abc\ndone\n');
    // After closeStdin(), writes are dropped rather than thrown.
    expect(() => t.write('late')).not.toThrow();
  });

  it('processExited() comes before processEnded(), and both carry the same reason', async () => {
    const p = new Recorder();
    spawn(p, 'sh', ['-c', 'echo bye; exit 5']);
    await p.whenEnded();
    const iExited = p.events.indexOf('processExited');
    const iEnded = p.events.indexOf('processEnded');
    expect(iExited).toBeGreaterThan(0);
    expect(iEnded).toBeGreaterThan(iExited);
    expect(p.events.filter((e) => e === 'processExited' || e === 'processEnded')).toEqual(['processExited', 'processEnded']);
    expect(p.exited!.value).toBe(p.ended!.value);
    expect((p.ended!.value as ProcessTerminated).exitCode).toBe(5);
  });

  it('processEnded() is the last callback after a normal run: every output and pipe event comes before it', async () => {
    const p = new Recorder();
    const t = spawn(p, 'sh', ['-c', 'cat; echo out; echo err >&2']);
    t.write('in\n');
    t.closeStdin();
    await p.whenAllClosed();
    expect(p.events.at(-1), `callbacks: ${p.milestones().join(' → ')}`).toBe('processEnded');
    expect(p.stdout()).toBe('in\nout\n');
    expect(p.stderr()).toBe('err\n');
  });

  // Twisted calls processEnded once the process is reaped AND every pipe,
  // stdin included, is closed; protocol.ts documents it as "every pipe is
  // closed: nothing more will arrive".
  it('processEnded() is the last callback when a signal ends a process whose stdin was never closed', async () => {
    const p = new Recorder();
    const t = spawn(p, 'sleep', ['30']);
    t.signalProcess('TERM');
    await p.whenAllClosed();
    expect(p.events.at(-1), `callbacks: ${p.milestones().join(' → ')}`).toBe('processEnded');
  });

  it('processEnded() is the last callback for a program that could not be started', async () => {
    const p = new Recorder();
    spawn(p, 'wirecat-no-such-program');
    await p.whenAllClosed();
    expect(p.events[0]).toBe('connectionMade');
    expect(p.events.at(-1), `callbacks: ${p.milestones().join(' → ')}`).toBe('processEnded');
    expect(p.events.indexOf('processExited')).toBeLessThan(p.events.indexOf('processEnded'));
  });
});
