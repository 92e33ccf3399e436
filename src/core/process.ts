/**
 * Child processes as transports (`reactor.spawnProcess`), after Twisted's
 * `IReactorProcess`.
 *
 * @module
 */

import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Failure } from './defer.js';
import { counters, newConnectionStats, type ConnectionStats } from './diagnostics.js';
import { ConnectError, ProcessDone, ProcessTerminated } from './errors.js';
import {
  type Address,
  type IProcessTransport,
  type IPushProducer,
  type ITransport,
  type Protocol,
  ProcessProtocol as ProcessProtocolBase,
  type ProcessProtocol,
} from './protocol.js';
import { loadChildProcess } from './lazy.js';
import { logProtocolError } from './stream.js';

/** Options of {@link ProcessTransport.spawn}. */
export interface SpawnOptions {
  /** The environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** The working directory. */
  cwd?: string;
}

/**
 * A running child process, its stdin/stdout/stderr wired to a
 * {@link ProcessProtocol}.
 */
export class ProcessTransport implements IProcessTransport {
  /** The Node child process. */
  readonly child: ChildProcessWithoutNullStreams;
  /** The figures of this process's pipes. */
  readonly stats: ConnectionStats;
  /** Exit status once known. */
  status: { exitCode: number | null; signal: NodeJS.Signals | null } | undefined = undefined;
  /** Why the program could not be started, when it could not. */
  spawnError: NodeJS.ErrnoException | undefined = undefined;

  private readonly _protocol: ProcessProtocol;
  private _producer: IPushProducer | undefined = undefined;
  private _producerPaused = false;
  private _stdinClosed = false;
  /** stdin, stdout and stderr: processEnded waits for all three to close. */
  private _openPipes = 3;
  private _exited = false;
  private _ended = false;
  private _reason: Failure | undefined = undefined;

  private constructor(protocol: ProcessProtocol, file: string, args: readonly string[], opts: SpawnOptions) {
    this._protocol = protocol;
    this.stats = newConnectionStats('process', 'local', [file, ...args].join(' '));
    this.child = loadChildProcess().spawn(file, args as string[], { env: opts.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  }

  /**
   * Start `file` with `args` and wire it to `protocol`.
   *
   * @param protocol Receives output and the exit.
   * @param file The program (looked up in PATH).
   * @param args Its arguments, without argv[0].
   * @param opts Environment and working directory.
   * @returns The transport (`protocol.makeConnection` has been called).
   */
  static spawn(protocol: ProcessProtocol, file: string, args: readonly string[], opts: SpawnOptions = {}): ProcessTransport {
    const t = new ProcessTransport(protocol, file, args, opts);
    t._wire(file);
    try {
      protocol.makeConnection(t);
    } catch (e) {
      logProtocolError(`${protocol.constructor.name}.connectionMade`, e);
    }
    return t;
  }

  /** The child's process id (undefined if it could not start). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** @param data Written to the child's stdin. */
  write(data: Buffer | string): void {
    if (this._stdinClosed) return;
    const n = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    this.stats.bytesOut += n;
    counters.bytesOut += n;
    if (!this.child.stdin.write(data) && this._producer !== undefined && !this._producerPaused) {
      this._producerPaused = true;
      this._producer.pauseProducing();
    }
  }

  /** @param chunks Written in order. */
  writeSequence(chunks: (Buffer | string)[]): void {
    for (const c of chunks) this.write(c);
  }

  /** Close the child's stdin: it reads EOF. */
  closeStdin(): void {
    if (this._stdinClosed) return;
    this._stdinClosed = true;
    this.child.stdin.end();
  }

  /** Close stdin and let the child finish. */
  loseConnection(): void {
    this.closeStdin();
  }

  /**
   * Send a signal.
   *
   * @param sig `'TERM'`, `'SIGTERM'`, `'KILL'`, a number...
   */
  signalProcess(sig: NodeJS.Signals | string | number): void {
    const name = typeof sig === 'number' ? sig : ((sig.startsWith('SIG') ? sig : `SIG${sig}`) as NodeJS.Signals);
    if (!this._exited) this.child.kill(name);
  }

  /** Stop reading the child's output. */
  pauseProducing(): void {
    this.child.stdout.pause();
    this.child.stderr.pause();
  }

  /** Read the child's output again. */
  resumeProducing(): void {
    this.child.stdout.resume();
    this.child.stderr.resume();
  }

  /** Stop for good: kill the child. */
  stopProducing(): void {
    this.closeStdin();
    this.signalProcess('SIGTERM');
  }

  /**
   * Attach the producer of what is written to stdin; it is paused while
   * the pipe is full.
   */
  registerProducer(producer: IPushProducer, streaming: boolean): void {
    if (this._producer !== undefined) throw new Error('a producer is already registered');
    this._producer = producer;
    this._producerPaused = false;
    if (!streaming) producer.resumeProducing();
  }

  /** Detach the producer. */
  unregisterProducer(): void {
    this._producer = undefined;
  }

  private _wire(file: string): void {
    const c = this.child;
    const p = this._protocol;
    const call = (what: string, fn: () => void) => {
      try {
        fn();
      } catch (e) {
        logProtocolError(`${p.constructor.name}.${what}`, e);
      }
    };
    c.stdout.on('data', (b: Buffer) => {
      if (this.stats.firstByteAt === undefined) this.stats.firstByteAt = performance.now();
      this.stats.bytesIn += b.length;
      counters.bytesIn += b.length;
      call('outReceived', () => p.outReceived(b));
    });
    c.stderr.on('data', (b: Buffer) => call('errReceived', () => p.errReceived(b)));
    c.stdout.on('end', () => {
      call('outConnectionLost', () => p.outConnectionLost());
      this._pipeClosed();
    });
    c.stderr.on('end', () => {
      call('errConnectionLost', () => p.errConnectionLost());
      this._pipeClosed();
    });
    c.stdin.on('drain', () => {
      if (this._producer !== undefined && this._producerPaused) {
        this._producerPaused = false;
        this._producer.resumeProducing();
      }
    });
    c.stdin.on('error', () => {
      // EPIPE: the child stopped reading; its exit tells the rest.
      this._stdinClosed = true;
    });
    c.stdin.on('close', () => {
      this._stdinClosed = true;
      call('inConnectionLost', () => p.inConnectionLost());
      this._pipeClosed();
    });
    c.on('error', (err: NodeJS.ErrnoException) => {
      // The program could not be started (ENOENT, EACCES): report it as an
      // exit with the shell's conventional status.
      if (this._exited) return;
      this.spawnError = err;
      const status = err.code === 'ENOENT' ? 127 : 126;
      const t = new ProcessTerminated(status, null, `cannot run '${file}': ${err.code === 'ENOENT' ? 'command not found' : err.message}`);
      this._exit(new Failure(t), status, null);
      this._maybeEnded();
    });
    c.on('exit', (code, signal) => {
      const reason = code === 0 ? new Failure(new ProcessDone()) : new Failure(new ProcessTerminated(code, signal));
      this._exit(reason, code, signal);
      this._maybeEnded();
    });
  }

  private _exit(reason: Failure, exitCode: number | null, signal: NodeJS.Signals | null): void {
    if (this._exited) return;
    this._exited = true;
    this._reason = reason;
    this.status = { exitCode, signal };
    this.stats.extra.exitCode = exitCode;
    if (signal) this.stats.extra.signal = signal;
    try {
      this._protocol.processExited(reason);
    } catch (e) {
      logProtocolError(`${this._protocol.constructor.name}.processExited`, e);
    }
  }

  private _pipeClosed(): void {
    this._openPipes--;
    this._maybeEnded();
  }

  private _maybeEnded(): void {
    if (this._ended || !this._exited || this._openPipes > 0) return;
    this._ended = true;
    this.stats.closedAt = performance.now();
    const producer = this._producer;
    this._producer = undefined;
    producer?.stopProducing();
    try {
      this._protocol.processEnded(this._reason as Failure);
    } catch (e) {
      logProtocolError(`${this._protocol.constructor.name}.processEnded`, e);
    }
  }
}

/**
 * A child process seen as a byte stream: its stdout is what the protocol
 * receives, what the protocol writes goes to its stdin, and the child's
 * stdout EOF is a half-close (`readConnectionLost`). This is how `--exec`
 * and `exec:` addresses join a relay. stderr passes through to ours.
 */
export class ProcessStreamTransport implements ITransport {
  /** The process underneath. */
  readonly process: ProcessTransport;
  /** True until the child has ended. */
  connected = true;
  /** True once `loseConnection()` was called. */
  disconnecting = false;
  /** @internal The command line, for messages. */
  readonly _command: string;

  /**
   * Start `file` and drive `protocol` with it.
   *
   * @param protocol The protocol (a relay side, usually).
   * @param file The program.
   * @param args Its arguments.
   * @param opts Environment, working directory, and where the child's stderr goes.
   */
  constructor(
    protocol: Protocol,
    file: string,
    args: readonly string[],
    opts: SpawnOptions & { stderr?: (chunk: Buffer) => void } = {},
  ) {
    this._command = [file, ...args].join(' ');
    const self = this;
    const call = (what: string, fn: () => void) => {
      try {
        fn();
      } catch (e) {
        logProtocolError(`${protocol.constructor.name}.${what}`, e);
      }
    };
    class Bridge extends ProcessProtocolBase {
      override connectionMade(): void {
        // The transport is assigned below, once spawn() returns.
      }
      override outReceived(data: Buffer): void {
        call('dataReceived', () => protocol.dataReceived(data));
      }
      override errReceived(data: Buffer): void {
        if (opts.stderr) opts.stderr(data);
        else process.stderr.write(data);
      }
      override outConnectionLost(): void {
        if (typeof protocol.readConnectionLost === 'function') call('readConnectionLost', () => protocol.readConnectionLost!());
      }
      override processEnded(reason: Failure): void {
        self.connected = false;
        protocol.connected = false;
        // A program that could not start is a failed connection, not an exit.
        const spawnError = self.process?.spawnError;
        const why = spawnError ? new Failure(new ConnectError(reason.getErrorMessage(), self._command, spawnError.code)) : reason;
        call('connectionLost', () => protocol.connectionLost(why));
      }
    }
    this.process = ProcessTransport.spawn(new Bridge(), file, args, opts);
    call('connectionMade', () => protocol.makeConnection(this));
  }

  write(data: Buffer | string): void {
    this.process.write(data);
  }

  writeSequence(chunks: (Buffer | string)[]): void {
    this.process.writeSequence(chunks);
  }

  /** Close the child's stdin and let it finish. */
  loseConnection(): void {
    this.disconnecting = true;
    this.process.closeStdin();
  }

  /** Close the child's stdin (EOF); keep reading its output. */
  loseWriteConnection(): void {
    this.process.closeStdin();
  }

  /** Kill the child. */
  abortConnection(): void {
    this.disconnecting = true;
    this.process.closeStdin();
    this.process.signalProcess('SIGKILL');
  }

  getPeer(): Address {
    return { type: 'PROCESS', path: this._command };
  }

  getHost(): Address {
    return { type: 'PROCESS', path: String(this.process.pid ?? '') };
  }

  pauseProducing(): void {
    this.process.pauseProducing();
  }

  resumeProducing(): void {
    this.process.resumeProducing();
  }

  stopProducing(): void {
    this.loseConnection();
  }

  registerProducer(producer: IPushProducer, streaming: boolean): void {
    this.process.registerProducer(producer, streaming);
  }

  unregisterProducer(): void {
    this.process.unregisterProducer();
  }
}
