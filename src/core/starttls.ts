/**
 * STARTTLS: the plain-text dialogue that asks a mail, IMAP, POP3 or FTP
 * server to switch the connection to TLS (`openssl s_client -starttls`).
 *
 * {@link StartTLSNegotiator} is a protocol with an explicit state machine:
 * it reads the server's greeting, sends the commands each protocol needs,
 * and fires {@link StartTLSNegotiator.done} once the server has agreed. The
 * caller then starts the TLS handshake on the same socket. Nothing here
 * touches a socket: tests feed it bytes through a `StringTransport`.
 *
 * | protocol | dialogue | go-ahead |
 * | --- | --- | --- |
 * | `smtp` (RFC 3207) | greeting `220`, `EHLO name`, `250` listing `STARTTLS`, `STARTTLS` | `220` |
 * | `imap` (RFC 2595, 9051) | greeting `* OK`, `A1 STARTTLS` | `A1 OK` |
 * | `pop3` (RFC 2595) | greeting `+OK`, `STLS` | `+OK` |
 * | `ftp` (RFC 4217) | greeting `220`, `AUTH TLS` | `234` |
 *
 * @module
 */

import { Deferred, type Failure } from './defer.js';
import { TLSError } from './errors.js';
import { Protocol } from './protocol.js';

/** The protocols `--starttls` speaks. */
export const STARTTLS_PROTOCOLS = ['smtp', 'imap', 'pop3', 'ftp'] as const;

/** One of {@link STARTTLS_PROTOCOLS}. */
export type StartTLSProtocolName = (typeof STARTTLS_PROTOCOLS)[number];

/** The longest line a server may send during the dialogue (bytes). */
export const STARTTLS_MAX_LINE = 8192;

/**
 * The STARTTLS dialogue failed: the server refused, does not offer it,
 * answered something unexpected, or closed the connection. A TLS failure
 * (exit 4): TLS could not be started.
 */
export class StartTLSError extends TLSError {
  /**
   * @param message What the server did, with its own words where it gave some.
   * @param address The address attempted.
   */
  constructor(message: string, address?: string) {
    super(message, address, 'STARTTLS_FAILED');
  }
}

/** Options of {@link StartTLSNegotiator}. */
export interface StartTLSNegotiatorOptions {
  /** The name sent with SMTP's `EHLO` (default `localhost`). */
  clientName?: string;
  /** The address, for error messages. */
  address?: string;
}

type _State = 'greeting' | 'ehlo' | 'starttls' | 'done' | 'failed';

/**
 * The client side of a STARTTLS dialogue, as a protocol.
 *
 * Feed it the server's bytes in any chunks; it answers through its
 * transport. `done` fires (with no value) when the server's go-ahead line
 * has arrived and nothing follows it; it fails with {@link StartTLSError}
 * otherwise. Bytes after the go-ahead are an error (a server, or someone in
 * the middle, injecting plain text that would be read as if it came over
 * TLS: CVE-2011-0411).
 *
 * @example
 * const n = new StartTLSNegotiator('smtp', { clientName: 'client.example' });
 * n.makeConnection(transport);
 * n.done.addCallback(() => upgradeToTLS(transport));
 */
export class StartTLSNegotiator extends Protocol {
  /** Fires when the server agreed to start TLS; fails with {@link StartTLSError}. */
  readonly done = new Deferred<void>();
  /** The dialogue so far, one entry a line: `S: 220 ...` and `C: EHLO ...`. */
  readonly transcript: string[] = [];
  /** Which protocol is spoken. */
  readonly protocolName: StartTLSProtocolName;

  private readonly _opts: StartTLSNegotiatorOptions;
  private _state: _State = 'greeting';
  private _buffer: Buffer = Buffer.alloc(0);
  /** The code of an SMTP/FTP reply in progress (multi-line replies). */
  private _replyCode: string | undefined = undefined;
  /** The lines of the reply in progress. */
  private _reply: string[] = [];

  /**
   * @param protocolName `smtp`, `imap`, `pop3` or `ftp`.
   * @param opts The EHLO name and the address for messages.
   */
  constructor(protocolName: StartTLSProtocolName, opts: StartTLSNegotiatorOptions = {}) {
    super();
    this.protocolName = protocolName;
    this._opts = opts;
  }

  /** The state the dialogue is in (for tests and diagnostics). */
  get state(): string {
    return this._state;
  }

  override dataReceived(data: Buffer): void {
    if (this._state === 'done' || this._state === 'failed') {
      if (this._state === 'done' && data.length > 0) this._fail('the server sent data after agreeing to start TLS (possible injection); refusing to continue');
      return;
    }
    this._buffer = this._buffer.length === 0 ? data : Buffer.concat([this._buffer, data]);
    for (;;) {
      const nl = this._buffer.indexOf(0x0a);
      if (nl < 0) {
        if (this._buffer.length > STARTTLS_MAX_LINE) this._fail(`the server sent a line longer than ${STARTTLS_MAX_LINE} bytes`);
        return;
      }
      const end = nl > 0 && this._buffer[nl - 1] === 0x0d ? nl - 1 : nl;
      const line = this._buffer.subarray(0, end).toString('latin1');
      this._buffer = this._buffer.subarray(nl + 1);
      this.transcript.push(`S: ${line}`);
      this._line(line);
      const state = this._state as _State; // _line() moves it
      if (state === 'failed') return;
      if (state === 'done') {
        if (this._buffer.length > 0) {
          this._fail('the server sent data after agreeing to start TLS (possible injection); refusing to continue');
        } else {
          this.done.callback(undefined);
        }
        return;
      }
    }
  }

  override connectionLost(reason: Failure): void {
    if (this._state === 'done' || this._state === 'failed') return;
    const during = this._state === 'greeting' ? 'before its greeting' : 'during the STARTTLS dialogue';
    this._fail(`the server closed the connection ${during} (${reason.getErrorMessage()})`);
  }

  // ------------------------------------------------------------ the machine

  private _line(line: string): void {
    switch (this.protocolName) {
      case 'smtp':
      case 'ftp':
        this._numericLine(line);
        return;
      case 'imap':
        this._imapLine(line);
        return;
      case 'pop3':
        this._pop3Line(line);
        return;
    }
  }

  /** SMTP and FTP: `ddd text`, or a multi-line reply `ddd-...` up to `ddd text`. */
  private _numericLine(line: string): void {
    const m = /^(\d{3})([ -]?)(.*)$/.exec(line);
    if (this._replyCode === undefined) {
      if (m === null) {
        this._fail(`unexpected reply from the ${this.protocolName.toUpperCase()} server: '${_clip(line)}'`);
        return;
      }
      this._replyCode = m[1]!;
      this._reply = [];
    }
    this._reply.push(m !== null && m[1] === this._replyCode ? m[3]! : line);
    // The reply ends at a line of its code followed by a space (or nothing).
    if (m === null || m[1] !== this._replyCode || m[2] === '-') return;
    const code = this._replyCode;
    const lines = this._reply;
    this._replyCode = undefined;
    this._reply = [];
    this._numericReply(code, lines);
  }

  private _numericReply(code: string, lines: string[]): void {
    const text = lines.join(' / ');
    const name = this.protocolName.toUpperCase();
    switch (this._state) {
      case 'greeting':
        if (code !== '220') {
          this._fail(`the ${name} server did not greet with 220: ${code} ${_clip(text)}`);
        } else if (this.protocolName === 'smtp') {
          this._send(`EHLO ${this._opts.clientName ?? 'localhost'}`);
          this._state = 'ehlo';
        } else {
          this._send('AUTH TLS');
          this._state = 'starttls';
        }
        return;
      case 'ehlo':
        if (code !== '250') {
          this._fail(`the SMTP server refused EHLO: ${code} ${_clip(text)}`);
        } else if (!lines.some((l) => /^STARTTLS\b/i.test(l.trim()))) {
          this._fail('the SMTP server does not offer STARTTLS (not in its EHLO reply)');
        } else {
          this._send('STARTTLS');
          this._state = 'starttls';
        }
        return;
      case 'starttls': {
        const goAhead = this.protocolName === 'smtp' ? '220' : '234';
        if (code === goAhead) this._state = 'done';
        else this._fail(`the ${name} server refused ${this.protocolName === 'smtp' ? 'STARTTLS' : 'AUTH TLS'}: ${code} ${_clip(text)}`);
        return;
      }
    }
  }

  /** IMAP: untagged `* ...` lines, then the tagged reply `A1 OK|NO|BAD ...`. */
  private _imapLine(line: string): void {
    if (this._state === 'greeting') {
      if (/^\* OK\b/i.test(line)) {
        this._send('A1 STARTTLS');
        this._state = 'starttls';
      } else if (/^\* PREAUTH\b/i.test(line)) {
        this._fail('the IMAP server greeted with PREAUTH: the session is authenticated already, STARTTLS is not allowed');
      } else {
        this._fail(`the IMAP server did not greet with '* OK': '${_clip(line)}'`);
      }
      return;
    }
    if (line.startsWith('* ')) return; // untagged data (CAPABILITY...)
    const m = /^A1 (OK|NO|BAD)\b ?(.*)$/i.exec(line);
    if (m === null) {
      this._fail(`unexpected reply from the IMAP server: '${_clip(line)}'`);
    } else if (m[1]!.toUpperCase() === 'OK') {
      this._state = 'done';
    } else {
      this._fail(`the IMAP server refused STARTTLS: ${m[1]!.toUpperCase()} ${_clip(m[2]!)}`);
    }
  }

  /** POP3: `+OK` or `-ERR`, one line each. */
  private _pop3Line(line: string): void {
    const ok = /^\+OK\b/i.test(line);
    if (!ok && !/^-ERR\b/i.test(line)) {
      this._fail(`unexpected reply from the POP3 server: '${_clip(line)}'`);
      return;
    }
    if (this._state === 'greeting') {
      if (!ok) {
        this._fail(`the POP3 server did not greet with +OK: '${_clip(line)}'`);
        return;
      }
      this._send('STLS');
      this._state = 'starttls';
    } else if (ok) {
      this._state = 'done';
    } else {
      this._fail(`the POP3 server refused STLS: '${_clip(line)}'`);
    }
  }

  private _send(command: string): void {
    this.transcript.push(`C: ${command}`);
    this.transport?.write(`${command}\r\n`);
  }

  private _fail(message: string): void {
    if (this._state === 'failed') return;
    this._state = 'failed';
    if (!this.done.called) this.done.errback(new StartTLSError(message, this._opts.address));
    this.transport?.loseConnection();
  }
}

/** A server's line, shortened for an error message. */
function _clip(text: string): string {
  const t = text.trim();
  return t.length > 200 ? `${t.slice(0, 200)}...` : t;
}
