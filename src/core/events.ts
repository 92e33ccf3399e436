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

/** Every event the core emits. */
export type WirecatEvent =
  | ListeningEvent
  | ConnectedEvent
  | AcceptedEvent
  | ClosedEvent
  | RefusedEvent
  | ProbeEvent
  | RetryEvent
  | DatagramEvent
  | ErrorEvent
  | WarningEvent
  | InfoEvent;

/** Where events go. */
export interface EventSink {
  /** Receive one event; must not throw. */
  emit(ev: WirecatEvent): void;
}

/** A sink that drops everything. */
export const nullSink: EventSink = { emit() {} };
