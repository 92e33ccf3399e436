/**
 * wirecat's core library: Deferreds with Twisted's semantics, time, and
 * (as later modules land) the reactor, protocols and transports.
 *
 * Importing it starts no socket, timer, thread or signal handler.
 *
 * @example
 * import { Deferred } from 'wirecat';
 * const d = new Deferred<string>();
 * d.addCallback((s) => s.toUpperCase()).addCallback(console.log);
 * d.callback('hello'); // prints HELLO
 *
 * @module
 */

export {
  Deferred,
  DeferredList,
  DeferredLock,
  DeferredQueue,
  DeferredSemaphore,
  Failure,
  deferredStats,
  ensureDeferred,
  execute,
  fail,
  gatherResults,
  isThenable,
  maybeDeferred,
  race,
  succeed,
} from './core/defer.js';
export type { ChainFunction, DeferredListOptions } from './core/defer.js';
export {
  AlreadyCalledError,
  AlreadyCancelledError,
  CancelledError,
  FailureGroup,
  FirstError,
  QueueOverflow,
  QueueUnderflow,
  TimeoutError,
  UsageError,
  WirecatError,
  NetworkError,
  ConnectionRefusedError,
  ConnectionLostError,
  ConnectionDone,
  ConnectError,
  DNSLookupError,
  CannotListenError,
  TLSError,
  ProcessDone,
  ProcessTerminated,
  ReactorNotRunning,
} from './core/errors.js';
export { setLogger } from './core/log.js';
export type { Logger } from './core/log.js';
export { Clock, LoopingCall, RealClock, deferLater, realClock } from './core/task.js';
export type { IDelayedCall, IReactorTime } from './core/task.js';
export {
  ClientFactory,
  DatagramProtocol,
  Factory,
  ProcessProtocol,
  Protocol,
  ReconnectingClientFactory,
} from './core/protocol.js';
export type {
  Address,
  IConnector,
  IConsumer,
  IListeningPort,
  IMulticastTransport,
  IProcessTransport,
  IPushProducer,
  ITransport,
  IUDPTransport,
  InetAddress,
} from './core/protocol.js';
export { LineReceiver } from './core/basic.js';
export { Reactor, react, reactor } from './core/reactor.js';
export type { ConnectTCPOptions, ListenTCPOptions, ListenUNIXOptions, ReactOptions } from './core/reactor.js';
export { ExitCode, exitCodeFor } from './core/errors.js';
export { UDPPort, isMulticastAddress, MAX_UDP_PAYLOAD_V4, MAX_UDP_PAYLOAD_V6 } from './core/udp.js';
export type { UDPListenOptions } from './core/udp.js';
export { ProcessTransport } from './core/process.js';
export type { SpawnOptions } from './core/process.js';
export { isTLSFailure, tlsErrorFrom } from './core/tls.js';
export type { TLSOptions } from './core/tls.js';
export { Relay, RelaySide } from './core/relay.js';
export type { RelayDirection, RelayOptions, RelayResult } from './core/relay.js';
export { StdioTransport } from './core/stdio.js';
export type { BorrowingProtocol, StdioOptions } from './core/stdio.js';
export { PipeReader, stdinReader } from './core/pipereader.js';
export type { PipeConsumer, PipeReaderOptions } from './core/pipereader.js';
export { StreamTransport } from './core/stream.js';
export { StreamConnector, StreamListeningPort } from './core/tcp.js';
export { counters, newConnectionStats, recordConnections, snapshot, startLoopMonitor, stopLoopMonitor } from './core/diagnostics.js';
export type { ConnectionStats, DiagnosticsSnapshot, LoopStats } from './core/diagnostics.js';
export {
  ADDRESS_OPTIONS,
  ADDRESS_TYPES,
  addressOptionsTable,
  addressTypesTable,
  dumpAddress,
  formatAddress,
  formatProxyUrl,
  parseAddress,
  parseHostPort,
  parsePort,
  parseProxyUrl,
} from './core/address.js';
export type {
  AddressDump,
  AddressFamily,
  AddressOptionDeclaration,
  AddressOptionRow,
  AddressOptions,
  AddressSpec,
  AddressType,
  AddressTypeName,
  AddressTypeRow,
  AliasImplies,
  BindAddress,
  Credentials,
  ExecAddressSpec,
  FileAddressSpec,
  HostPort,
  HostPortAddressSpec,
  ListenAddressSpec,
  OptionName,
  OptionValueKind,
  ProxiedAddressSpec,
  ProxyProtocol,
  ProxyUrl,
  Socks4AddressSpec,
  StdioAddressSpec,
  UnixAddressSpec,
} from './core/address.js';
export { ThreadPool, deferToThread, deferToThreadPool } from './core/threads.js';
export type { ThreadPoolOptions } from './core/threads.js';
export { LineSplitter, SendPacer, checkUDPSendOptions, decodeHex, resolveHost, udpSend } from './core/udpsend.js';
export type { DatagramSource, SendPacerOptions, UDPSendOptions } from './core/udpsend.js';
export { checkMulticastOptions, interfaceAddress, multicastJoin } from './core/multicast.js';
export type { MulticastJoinOptions } from './core/multicast.js';
export { STARTTLS_MAX_LINE, STARTTLS_PROTOCOLS, StartTLSError, StartTLSNegotiator } from './core/starttls.js';
export type { StartTLSNegotiatorOptions, StartTLSProtocolName } from './core/starttls.js';
export { friendlyTLSError, peerChain, summarizeCertificate, tlsClient, verificationError } from './core/tlsclient.js';
export type { TLSClientSessionOptions, TLSReport } from './core/tlsclient.js';
export type { CertificateSummary, TLSEvent } from './core/events.js';
export { ProxyAuthError, ProxyError, ProxyRefusedError } from './core/errors.js';
export type { ProxiedEvent } from './core/events.js';
export {
  SOCKS4_REP,
  SOCKS5_ATYP,
  SOCKS5_CMD,
  SOCKS5_METHOD,
  SOCKS5_REP,
  Socks4ClientHandshake,
  Socks4ServerParser,
  Socks5ClientHandshake,
  Socks5ServerParser,
  encodeSocks5Datagram,
  parseSocks5Datagram,
  socks4Reply,
  socks5Reply,
} from './core/socks.js';
export type { Socks4ServerMessage, Socks5Datagram, Socks5ServerMessage, SocksDestination } from './core/socks.js';
export {
  HttpBodyTracker,
  HttpConnectClientHandshake,
  HttpRequestHeadParser,
  HttpResponseHeadParser,
  forwardRequestHead,
  httpResponse,
  parseAbsoluteHttpUrl,
  parseAuthority,
} from './core/httpproxy.js';
export type { HttpRequestHead, HttpResponseHead } from './core/httpproxy.js';
export { HandshakeEndpoint, TLSOverEndpoint, clientHandshakeFor, proxyChainEndpoint } from './core/tunnel.js';
export type { ClientHandshake, HandshakeStep, ProxyChainTarget } from './core/tunnel.js';
export { DestinationList, DestinationPolicy } from './core/acl.js';
export { ProxyConnection, ProxyFactory, parseAuthFile, proxyServer } from './core/proxy.js';
export type { ProxyServerOptions } from './core/proxy.js';
export { TCPClientEndpoint } from './core/endpoints.js';
export type { IStreamClientEndpoint, TCPTarget } from './core/endpoints.js';
