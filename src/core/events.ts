/**
 * Events: what the core tells whoever watches (the command line's `-v`
 * lines and `--json` NDJSON), as plain objects. The core never prints; it
 * hands events to an {@link EventSink}.
 *
 * The field names here are the `--json` schema: keep them stable.
 *
 * @module
 */

/** A bound port is ready. */
export interface ListeningEvent {
  event: 'listening';
  /** `tcp`, `udp`, `unix`, `tls`. */
  proto: string;
  /** The bound address (`0.0.0.0`, `::`, `127.0.0.1`, or a path). */
  address: string;
  /** The real port (0 asked → the one picked). Absent for Unix sockets. */
  port?: number;
}

/** An outgoing connection is up. */
export interface ConnectedEvent {
  event: 'connected';
  id: number;
  proto: string;
  peer: string;
  local: string;
  /** Milliseconds from the start of the attempt. */
  connectMs: number;
  /** TLS only. */
  tlsHandshakeMs?: number;
  tlsProtocol?: string;
  alpn?: string;
}

/** A connection was accepted. */
export interface AcceptedEvent {
  event: 'accepted';
  id: number;
  proto: string;
  peer: string;
  local: string;
}

/** A connection (or a child process) ended. */
export interface ClosedEvent {
  event: 'closed';
  id: number;
  peer: string;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  /** Why, when not a clean close. */
  error?: string;
  /** `--exec`: the child's exit status or signal. */
  exitCode?: number | null;
  signal?: string | null;
  /** `--checksum`. */
  sha256Sent?: string;
  sha256Received?: string;
}

/** A connection was refused by policy (`--allow`/`--deny`, `--max-conns`). */
export interface RefusedEvent {
  event: 'refused';
  peer: string;
  reason: string;
  /** `proxy`: the protocol the client spoke (`socks5`, `socks4`, `socks4a`, `http`), once known. */
  protocol?: string;
  /** `proxy`: the destination asked for, once known. */
  destination?: string;
  /** `proxy`: the user name the client gave (never the password). */
  user?: string;
}

/** `proxy`: a client's request was accepted and its tunnel (or forwarded request) is up. */
export interface ProxiedEvent {
  event: 'proxied';
  /** The client connection's id (as in `accepted` and `closed`). */
  id: number;
  /** `socks5`, `socks4`, `socks4a`, `http-connect` or `http` (absolute-URI forwarding). */
  protocol: string;
  /** The client. */
  peer: string;
  /** `host:port` asked for. */
  destination: string;
  /** SOCKS5 `connect` or `udp-associate`; HTTP the method. */
  command: string;
  /** The authenticated user (or the SOCKS4 user id); never a password. */
  user?: string;
  /** Milliseconds from accepting the client to the tunnel being up. */
  setupMs: number;
}

/** A port probe (`connect -z`) result. */
export interface ProbeEvent {
  event: 'probe';
  host: string;
  port: number;
  open: boolean;
  /** Why it is not open (`refused`, `timeout`, ...). */
  reason?: string;
  connectMs?: number;
}

/** `--wait`/`--retry`: an attempt failed and another follows. */
export interface RetryEvent {
  event: 'retry';
  target: string;
  attempt: number;
  /** Milliseconds until the next attempt. */
  delayMs: number;
  reason: string;
}

/** A datagram arrived (UDP listen, multicast-join). */
export interface DatagramEvent {
  event: 'datagram';
  from: string;
  bytes: number;
}

/** Something went wrong but the program goes on (or is about to end). */
export interface ErrorEvent {
  event: 'error';
  code: string;
  message: string;
}

/** A warning for the user (`--insecure`, an ephemeral certificate...). */
export interface WarningEvent {
  event: 'warning';
  message: string;
}

/** Something worth a line with `-v` that fits no other event. */
export interface InfoEvent {
  event: 'info';
  message: string;
}

/** One certificate of a TLS chain, as the `tls` event and `tls-client --check`/`--show-certs` give it. */
export interface CertificateSummary {
  /** The subject's distinguished name, `CN=example.com, O=Example`. */
  subject: string;
  /** The issuer's distinguished name. */
  issuer: string;
  /** Subject alternative names: `DNS:example.com`, `IP:192.0.2.1`, ... */
  subjectAltNames: string[];
  /** Start of validity, ISO 8601. */
  validFrom: string;
  /** End of validity, ISO 8601. */
  validTo: string;
  /** Whole days until `validTo` (negative once expired). */
  daysLeft: number;
  /** SHA-256 fingerprint, colon-separated hex. */
  fingerprint256: string;
  /** `RSA`, `EC`, `Ed25519`, `Ed448`, `DSA`, `RSA-PSS`. */
  keyType: string;
  /** The key's size in bits, when known. */
  keyBits?: number;
  /** EC only: the curve (`P-256`...). */
  curve?: string;
  /** Serial number, hex. */
  serialNumber: string;
  /** Issued by itself. */
  selfSigned: boolean;
}

/** A TLS session is up (`tls-client`): what was negotiated, the chain, verification and timings. */
export interface TLSEvent {
  event: 'tls';
  /** The host asked for. */
  host: string;
  port: number;
  /** The address connected to, `ip:port`. */
  peer: string;
  /** The SNI name sent and verified, when one was. */
  servername?: string;
  /** `smtp`, `imap`, `pop3`, `ftp` when the session was upgraded with STARTTLS. */
  starttls?: string;
  /** `TLSv1.3`... */
  protocol?: string;
  /** OpenSSL's cipher name. */
  cipher?: string;
  /** The ALPN protocol the server chose, when any. */
  alpn?: string;
  /** Chain and host name verified. */
  verified: boolean;
  /** Why verification failed (OpenSSL's reason), when it did. */
  verifyError?: string;
  /** `--insecure`: verification was not enforced. */
  verifySkipped: boolean;
  /** The server's chain, leaf first. */
  chain: CertificateSummary[];
  /** Name lookup, when there was one (ms). */
  dnsMs?: number;
  /** TCP connect (ms, after the lookup). */
  tcpConnectMs: number;
  /** The STARTTLS dialogue (ms). */
  starttlsMs?: number;
  /** The TLS handshake (ms). */
  tlsHandshakeMs: number;
  /** From the start to the end of the handshake (ms). */
  totalMs: number;
}

/** Every event the core emits. */
export type WirecatEvent =
  | ListeningEvent
  | ConnectedEvent
  | AcceptedEvent
  | ClosedEvent
  | RefusedEvent
  | ProxiedEvent
  | ProbeEvent
  | RetryEvent
  | DatagramEvent
  | ErrorEvent
  | WarningEvent
  | InfoEvent
  | TLSEvent;

/** Where events go. */
export interface EventSink {
  /** Receive one event; must not throw. */
  emit(ev: WirecatEvent): void;
  /**
   * Whether `emit()` does anything with events of this kind. The core may
   * skip building events nobody wants (and looking up what only they
   * report, such as each connection's addresses). Absent: all are wanted.
   */
  wants?(event: WirecatEvent['event']): boolean;
}

/** A sink that drops everything. */
export const nullSink: EventSink = { emit() {}, wants: () => false };

/**
 * Whether `sink` wants events of this kind (see {@link EventSink.wants}).
 *
 * @param sink The sink.
 * @param event The kind.
 * @returns True unless the sink says otherwise.
 */
export function wantsEvent(sink: EventSink, event: WirecatEvent['event']): boolean {
  return sink.wants === undefined || sink.wants(event);
}
