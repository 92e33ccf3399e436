/**
 * Error classes of the core.
 *
 * Every class has a stable string `code` that callers match on, and carries
 * what was attempted in its message. The command line maps these to exit
 * codes in one place (`exitCodeFor`, outside the core).
 *
 * @module
 */

import type { Failure } from './defer.js';

/**
 * Base class of every wirecat error: a stable `code` and a readable name.
 */
export class WirecatError extends Error {
  /** Stable machine-readable identifier, e.g. `ERR_CANCELLED`. */
  readonly code: string;

  /**
   * @param message What went wrong and what was attempted.
   * @param code The stable code callers match on.
   */
  constructor(message: string, code: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * A Deferred or a delayed call was fired or called a second time.
 */
export class AlreadyCalledError extends WirecatError {
  /** @param message Which object was called twice. */
  constructor(message = 'Deferred has already been called') {
    super(message, 'ERR_ALREADY_CALLED');
  }
}

/**
 * A delayed call was cancelled a second time.
 */
export class AlreadyCancelledError extends WirecatError {
  /** @param message Which object was cancelled twice. */
  constructor(message = 'delayed call has already been cancelled') {
    super(message, 'ERR_ALREADY_CANCELLED');
  }
}

/**
 * The operation behind a Deferred was cancelled before it finished.
 */
export class CancelledError extends WirecatError {
  /** @param message What was cancelled. */
  constructor(message = 'Deferred was cancelled') {
    super(message, 'ERR_CANCELLED');
  }
}

/**
 * An operation did not finish in time: `addTimeout`, a connect timeout, an
 * idle timeout, `--wait`.
 */
export class TimeoutError extends WirecatError {
  /** The limit that passed, in milliseconds, when known. */
  readonly timeoutMs: number | undefined;

  /**
   * @param message What timed out.
   * @param timeoutMs The limit that passed, in milliseconds.
   */
  constructor(message = 'operation timed out', timeoutMs?: number) {
    super(message, 'ERR_TIMEOUT');
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The first failure among several Deferreds (`DeferredList` with
 * `fireOnOneErrback`, `gatherResults`).
 */
export class FirstError extends WirecatError {
  /** The Failure of the input that failed first. */
  readonly subFailure: Failure;
  /** Its position in the input list. */
  readonly index: number;

  /**
   * @param failure The Failure of the input that failed first.
   * @param index Its position in the input list.
   */
  constructor(failure: Failure, index: number) {
    super(`FirstError[#${index}, ${failure.getErrorMessage()}]`, 'ERR_FIRST_ERROR');
    this.subFailure = failure;
    this.index = index;
  }
}

/**
 * Every one of several Deferreds failed (`race`).
 */
export class FailureGroup extends WirecatError {
  /** The inputs' Failures, in input order. */
  readonly failures: Failure[];

  /** @param failures The inputs' Failures, in input order. */
  constructor(failures: Failure[]) {
    super(
      `all ${failures.length} Deferreds failed: ${failures.map((f) => f.getErrorMessage()).join('; ')}`,
      'ERR_FAILURE_GROUP',
    );
    this.failures = failures;
  }
}

/**
 * `DeferredQueue.put()` on a queue holding `size` items already.
 */
export class QueueOverflow extends WirecatError {
  constructor() {
    super('DeferredQueue is full', 'ERR_QUEUE_OVERFLOW');
  }
}

/**
 * `DeferredQueue.get()` with `backlog` callers waiting already.
 */
export class QueueUnderflow extends WirecatError {
  constructor() {
    super('DeferredQueue has too many waiting getters', 'ERR_QUEUE_UNDERFLOW');
  }
}

/**
 * The caller asked for something malformed: a bad address, port, option or
 * combination. The command line exits 2 with the message.
 */
export class UsageError extends WirecatError {
  /** @param message What is wrong, naming the bad part and the valid choices. */
  constructor(message: string) {
    super(message, 'ERR_USAGE');
  }
}

// ---------------------------------------------------------------- network

/**
 * Base of the errors a connection or a listening port can end with; the
 * message names the address that was attempted.
 */
export class NetworkError extends WirecatError {
  /** The address that was attempted, `host:port` or a path, when known. */
  readonly address: string | undefined;
  /** The operating system's error code (`ECONNREFUSED`, ...), when there was one. */
  readonly syscallCode: string | undefined;

  /**
   * @param message What happened.
   * @param code The stable wirecat code.
   * @param address The address attempted.
   * @param syscallCode The OS error code.
   */
  constructor(message: string, code: string, address?: string, syscallCode?: string) {
    super(address === undefined ? message : `${message} (attempted address: ${address})`, code);
    this.address = address;
    this.syscallCode = syscallCode;
  }
}

/** The peer refused the connection (nothing listens there). */
export class ConnectionRefusedError extends NetworkError {
  constructor(address?: string, syscallCode = 'ECONNREFUSED') {
    super('Connection refused', 'ERR_CONNECTION_REFUSED', address, syscallCode);
  }
}

/** A host name did not resolve. */
export class DNSLookupError extends NetworkError {
  /**
   * @param address What was looked up, `host` or `host:port`.
   * @param syscallCode The resolver's code (`ENOTFOUND`, `EAI_AGAIN`...).
   */
  constructor(address: string, syscallCode = 'ENOTFOUND') {
    super(syscallCode === 'EAI_AGAIN' ? 'DNS lookup failed (temporary failure)' : 'DNS lookup failed', 'ERR_DNS_LOOKUP', address, syscallCode);
  }
}

/** No route to the host, network unreachable, or another failure to connect. */
export class ConnectError extends NetworkError {
  constructor(message: string, address?: string, syscallCode?: string) {
    super(message, 'ERR_CONNECT', address, syscallCode);
  }
}

/** An established connection was lost uncleanly (reset, broken pipe, error). */
export class ConnectionLostError extends NetworkError {
  constructor(message = 'Connection lost', address?: string, syscallCode?: string) {
    super(message, 'ERR_CONNECTION_LOST', address, syscallCode);
  }
}

/** A connection was closed cleanly: the reason given to `connectionLost` on a normal close. */
export class ConnectionDone extends WirecatError {
  constructor(message = 'Connection was closed cleanly') {
    // Every clean close makes one: a stack trace would cost more than the
    // close itself (about a tenth of a short connection's CPU), and says nothing.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message, 'ERR_CONNECTION_DONE');
    Error.stackTraceLimit = limit;
  }
}

/** Binding or listening failed (address in use, permission denied, bad path). */
export class CannotListenError extends NetworkError {
  constructor(message: string, address?: string, syscallCode?: string) {
    super(message, 'ERR_CANNOT_LISTEN', address, syscallCode);
  }
}

/** A TLS handshake or certificate verification failed; the message has OpenSSL's reason. */
export class TLSError extends NetworkError {
  /** OpenSSL's or Node's reason code, e.g. `CERT_HAS_EXPIRED`. */
  readonly reason: string | undefined;
  constructor(message: string, address?: string, reason?: string) {
    super(message, 'ERR_TLS', address, reason);
    this.reason = reason;
  }
}

// ---------------------------------------------------------------- proxies

/**
 * A proxy failed a request: a general failure, a malformed or unexpected
 * reply, or a close in the middle of the handshake. The command line exits
 * 5. The message names the proxy and the protocol's own code:
 * `proxy 127.0.0.1:1080 failed: general SOCKS server failure (SOCKS5 REP 1)`.
 */
export class ProxyError extends WirecatError {
  /** The proxy, `host:port`. */
  readonly proxy: string;
  /** The protocol's code, e.g. `SOCKS5 REP 1`, `HTTP 400`, when there was one. */
  readonly reply: string | undefined;

  /**
   * @param message The whole message (it names the proxy).
   * @param proxy The proxy, `host:port`.
   * @param reply The protocol's code, when there was one.
   * @param code The stable code (subclasses: `ERR_PROXY_REFUSED`, `ERR_PROXY_AUTH`).
   */
  constructor(message: string, proxy: string, reply?: string, code = 'ERR_PROXY') {
    super(message, code);
    this.proxy = proxy;
    this.reply = reply;
  }
}

/**
 * A proxy refused the request by policy (SOCKS5 REP 2, SOCKS4 0x5B, HTTP 403):
 * `proxy 127.0.0.1:1080 refused: not allowed by ruleset (SOCKS5 REP 2)`. Exit 5.
 */
export class ProxyRefusedError extends ProxyError {
  constructor(message: string, proxy: string, reply?: string) {
    super(message, proxy, reply, 'ERR_PROXY_REFUSED');
  }
}

/**
 * A proxy wants credentials, or refused the ones given (SOCKS5 method 0xFF
 * or RFC 1929 status, SOCKS4 identd 0x5C/0x5D, HTTP 407). Exit 5.
 */
export class ProxyAuthError extends ProxyError {
  constructor(message: string, proxy: string, reply?: string) {
    super(message, proxy, reply, 'ERR_PROXY_AUTH');
  }
}

/** A child process ended with exit status 0: the reason given to `processEnded`. */
export class ProcessDone extends WirecatError {
  /** Always 0. */
  readonly exitCode = 0;
  /** Always null. */
  readonly signal = null;
  constructor() {
    super('process finished with exit code 0', 'ERR_PROCESS_DONE');
  }
}

/** A child process ended with a non-zero status or by a signal. */
export class ProcessTerminated extends WirecatError {
  /** The exit status, or null when a signal ended it. */
  readonly exitCode: number | null;
  /** The signal that ended it, or null. */
  readonly signal: NodeJS.Signals | null;
  /**
   * @param exitCode The exit status, or null when a signal ended it.
   * @param signal The signal that ended it, or null.
   * @param message What happened, when more is known than the status.
   */
  constructor(exitCode: number | null, signal: NodeJS.Signals | null, message?: string) {
    super(
      message ?? (signal ? `process ended by signal ${signal}` : `process ended with exit code ${exitCode}`),
      'ERR_PROCESS_TERMINATED',
    );
    this.exitCode = exitCode;
    this.signal = signal;
  }
}

/**
 * Translate an error from Node's `net`/`dns` layer into the typed error a
 * connect attempt fails with.
 *
 * @param err The error Node gave.
 * @param address The address attempted (`host:port` or a path).
 * @returns A typed error.
 */
export function connectErrorFrom(err: unknown, address: string): WirecatError {
  if (err instanceof WirecatError) return err;
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ECONNREFUSED':
      return new ConnectionRefusedError(address);
    case 'ENOENT':
      return new ConnectError('No such file or directory', address, 'ENOENT');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
    case 'EAI_NODATA':
      return new DNSLookupError(address, e.code);
    case 'ETIMEDOUT':
      return new TimeoutError(`Connection timed out (attempted address: ${address})`);
    default:
      return new ConnectError(e?.message ?? String(err), address, e?.code);
  }
}

/** `reactor.stop()` when the reactor is not running. */
export class ReactorNotRunning extends WirecatError {
  constructor() {
    super("Can't stop reactor that isn't running", 'ERR_REACTOR_NOT_RUNNING');
  }
}

/** Exit codes of SPEC.md. */
export const ExitCode = {
  OK: 0,
  NETWORK: 1,
  USAGE: 2,
  TIMEOUT: 3,
  TLS: 4,
  PROXY: 5,
  SIGINT: 130,
  SIGTERM: 143,
} as const;

/**
 * The exit code of SPEC.md for the error that ended a program: the one
 * place where errors become exit codes.
 *
 * @param err An error, a Failure's value, or anything thrown.
 * @returns 2 usage, 3 timeout, 4 TLS, 5 proxy, else 1.
 */
export function exitCodeFor(err: unknown): number {
  // A Failure (duck-typed: this module cannot import defer.ts at run time) stands for its value.
  const isFailure = err !== null && typeof err === 'object' && 'value' in err && typeof (err as { getErrorMessage?: unknown }).getErrorMessage === 'function';
  const value = isFailure ? (err as { value: unknown }).value : err;
  const code = (value as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return ExitCode.NETWORK;
  if (code === 'ERR_USAGE') return ExitCode.USAGE;
  if (code === 'ERR_TIMEOUT') return ExitCode.TIMEOUT;
  if (code === 'ERR_TLS') return ExitCode.TLS;
  if (code.startsWith('ERR_PROXY')) return ExitCode.PROXY;
  return ExitCode.NETWORK;
}
