import { describe, expect, it } from 'vitest';
import { ConnectionDone, Failure, StartTLSError, StartTLSNegotiator, type StartTLSProtocolName } from 'wirecat';
import { StringTransport, failureResultOf, successResultOf } from 'wirecat/testing';

/** A negotiator on a StringTransport; `server(text)` feeds the server's bytes in chunks of `chunk`. */
function dialogue(name: StartTLSProtocolName, chunk = 1024) {
  const t = new StringTransport();
  const n = new StartTLSNegotiator(name, { clientName: 'client.test', address: 'mail.test:25' });
  n.makeConnection(t);
  const server = (text: string) => {
    const b = Buffer.from(text);
    for (let i = 0; i < b.length; i += chunk) n.dataReceived(b.subarray(i, i + chunk));
  };
  /** What the client wrote since the last call. */
  const sent = () => {
    const v = t.value().toString();
    t.clear();
    return v;
  };
  return { t, n, server, sent };
}

describe('StartTLSNegotiator', () => {
  for (const chunk of [1, 3, 1024]) {
    it(`StartTLSNegotiator smtp: greeting, EHLO, STARTTLS, 220 fires done (chunks of ${chunk})`, () => {
      const { n, t, server, sent } = dialogue('smtp', chunk);
      server('220-mail.test ESMTP\r\n220 ready\r\n');
      expect(sent()).toBe('EHLO client.test\r\n');
      server('250-mail.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n');
      expect(sent()).toBe('STARTTLS\r\n');
      expect(n.done.called).toBe(false);
      server('220 2.0.0 go ahead\r\n');
      expect(successResultOf(n.done)).toBeUndefined();
      expect(n.state).toBe('done');
      expect(t.disconnecting).toBe(false);
      expect(n.transcript).toEqual([
        'S: 220-mail.test ESMTP',
        'S: 220 ready',
        'C: EHLO client.test',
        'S: 250-mail.test',
        'S: 250-PIPELINING',
        'S: 250-STARTTLS',
        'S: 250 8BITMIME',
        'C: STARTTLS',
        'S: 220 2.0.0 go ahead',
      ]);
    });
  }

  it('StartTLSNegotiator smtp accepts bare LF line endings', () => {
    const { n, server, sent } = dialogue('smtp');
    server('220 hi\n');
    expect(sent()).toBe('EHLO client.test\r\n');
    server('250 STARTTLS\n');
    server('220 go\n');
    expect(n.done.called).toBe(true);
  });

  it('StartTLSNegotiator smtp fails with StartTLSError when EHLO does not list STARTTLS', () => {
    const { n, t, server } = dialogue('smtp');
    server('220 hi\r\n250-mail.test\r\n250 SIZE 1000\r\n');
    const f = failureResultOf(n.done, StartTLSError);
    expect(f.getErrorMessage()).toBe('the SMTP server does not offer STARTTLS (not in its EHLO reply) (attempted address: mail.test:25)');
    expect(t.disconnecting).toBe(true);
  });

  it("StartTLSNegotiator smtp reports the server's refusal in its own words", () => {
    const { n, server } = dialogue('smtp');
    server('220 hi\r\n250 STARTTLS\r\n454 4.7.0 TLS not available due to temporary reason\r\n');
    expect(failureResultOf(n.done, StartTLSError).getErrorMessage()).toBe(
      'the SMTP server refused STARTTLS: 454 4.7.0 TLS not available due to temporary reason (attempted address: mail.test:25)',
    );
  });

  it('StartTLSNegotiator smtp fails on a greeting other than 220', () => {
    const { n, server } = dialogue('smtp');
    server('554 no service\r\n');
    expect(failureResultOf(n.done, StartTLSError).getErrorMessage()).toBe('the SMTP server did not greet with 220: 554 no service (attempted address: mail.test:25)');
  });

  it('StartTLSNegotiator refuses bytes sent after the go-ahead (STARTTLS injection)', () => {
    const { n, server } = dialogue('smtp');
    server('220 hi\r\n250 STARTTLS\r\n220 go\r\n250 injected\r\n');
    expect(failureResultOf(n.done, StartTLSError).getErrorMessage()).toBe(
      'the server sent data after agreeing to start TLS (possible injection); refusing to continue (attempted address: mail.test:25)',
    );
  });

  it('StartTLSNegotiator imap: * OK greeting, A1 STARTTLS, untagged lines skipped, A1 OK fires done', () => {
    const { n, server, sent } = dialogue('imap', 2);
    server('* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n');
    expect(sent()).toBe('A1 STARTTLS\r\n');
    server('* CAPABILITY IMAP4rev1\r\nA1 OK Begin TLS negotiation now\r\n');
    expect(n.done.called).toBe(true);
  });

  it('StartTLSNegotiator imap fails on A1 NO, and on a PREAUTH greeting', () => {
    const a = dialogue('imap');
    a.server('* OK hi\r\nA1 NO not now\r\n');
    expect(failureResultOf(a.n.done, StartTLSError).getErrorMessage()).toBe('the IMAP server refused STARTTLS: NO not now (attempted address: mail.test:25)');
    const b = dialogue('imap');
    b.server('* PREAUTH welcome\r\n');
    expect(failureResultOf(b.n.done, StartTLSError).getErrorMessage()).toMatch(/^the IMAP server greeted with PREAUTH/);
  });

  it('StartTLSNegotiator pop3: +OK greeting, STLS, +OK fires done; -ERR fails', () => {
    const a = dialogue('pop3', 1);
    a.server('+OK POP3 ready\r\n');
    expect(a.sent()).toBe('STLS\r\n');
    a.server('+OK Begin TLS\r\n');
    expect(a.n.done.called).toBe(true);
    const b = dialogue('pop3');
    b.server('+OK hi\r\n-ERR command not permitted\r\n');
    expect(failureResultOf(b.n.done, StartTLSError).getErrorMessage()).toBe("the POP3 server refused STLS: '-ERR command not permitted' (attempted address: mail.test:25)");
  });

  it('StartTLSNegotiator ftp: a multi-line 220 with unnumbered lines, AUTH TLS, 234 fires done', () => {
    const { n, server, sent } = dialogue('ftp', 5);
    server('220-Welcome\r\n  to the test\r\n220 ready\r\n');
    expect(sent()).toBe('AUTH TLS\r\n');
    server('234 AUTH TLS successful\r\n');
    expect(n.done.called).toBe(true);
  });

  it('StartTLSNegotiator ftp fails when AUTH TLS is refused', () => {
    const { n, server } = dialogue('ftp');
    server('220 hi\r\n530 Please login with USER and PASS\r\n');
    expect(failureResultOf(n.done, StartTLSError).getErrorMessage()).toBe('the FTP server refused AUTH TLS: 530 Please login with USER and PASS (attempted address: mail.test:25)');
  });

  it('StartTLSNegotiator fails when the connection ends before the go-ahead', () => {
    const { n, server } = dialogue('smtp');
    server('220 hi\r\n');
    n.connectionLost(new Failure(new ConnectionDone()));
    expect(failureResultOf(n.done, StartTLSError).getErrorMessage()).toBe(
      'the server closed the connection during the STARTTLS dialogue (Connection was closed cleanly) (attempted address: mail.test:25)',
    );
  });

  it('StartTLSNegotiator fails on a line longer than STARTTLS_MAX_LINE', () => {
    const { n } = dialogue('smtp');
    n.dataReceived(Buffer.alloc(9000, 0x41));
    expect(failureResultOf(n.done, StartTLSError).getErrorMessage()).toBe('the server sent a line longer than 8192 bytes (attempted address: mail.test:25)');
  });

  it('StartTLSError is a TLSError (exit 4)', () => {
    const e = new StartTLSError('x');
    expect(e.code).toBe('ERR_TLS');
  });
});
