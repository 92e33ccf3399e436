/**
 * The address grammar and its registry: `TYPE:PARAMS[,option[=value]...]`.
 *
 * One declaration per address type ({@link ADDRESS_TYPES}) and one per option
 * ({@link ADDRESS_OPTIONS}) drive the parser, `--help`, the man page's tables
 * and the README's tables; nothing is listed twice by hand. Type names,
 * aliases and option names are case-insensitive; socat's spellings are
 * accepted as aliases.
 *
 * Tokenising follows socat: `[...]`, `(...)` and `{...}` nest, `'...'` and
 * `"..."` quote, and `\` escapes the next character; inside any of them `:`
 * and `,` are not separators. So `tcp:[::1]:80`, `tcp:[fe80::1%eth0]:22`,
 * `cert='/etc/a,b.pem'` and `exec:sh -c 'echo a,b'` parse.
 *
 * Pure parsing: nothing here opens a socket or touches the file system.
 *
 * @example
 * import { parseAddress, formatAddress } from 'wirecat';
 * const spec = parseAddress('TCP4-LISTEN:8080,fork,reuseaddr');
 * // { type: 'tcp-listen', port: 8080, family: 4, options: { fork: true, reuseAddr: true }, ... }
 * formatAddress(spec); // 'tcp-listen:8080,fork,reuseaddr,pf=ip4'
 *
 * @module
 */

import { UsageError } from './errors.js';

// ---------------------------------------------------------------- declarations

/** Canonical names of the address types. */
export type AddressTypeName =
  | 'stdio'
  | 'tcp'
  | 'tcp-listen'
  | 'udp'
  | 'udp-listen'
  | 'unix'
  | 'unix-listen'
  | 'tls'
  | 'tls-listen'
  | 'socks5'
  | 'socks4a'
  | 'http-proxy'
  | 'exec'
  | 'file';

/** Canonical names of the address options. */
export type OptionName =
  | 'fork'
  | 'reuseaddr'
  | 'backlog'
  | 'max-conns'
  | 'pf'
  | 'bind'
  | 'connect-timeout'
  | 'proxy'
  | 'verify'
  | 'cafile'
  | 'cert'
  | 'key'
  | 'servername'
  | 'alpn'
  | 'socksport'
  | 'socksuser'
  | 'proxyport'
  | 'proxyauth'
  | 'proxyauth-file'
  | 'resolve'
  | 'mode'
  | 'unlink-early'
  | 'create'
  | 'append'
  | 'crlf';

/** What an alias implies beyond its canonical type (e.g. `TCP4`: family 4). */
export interface AliasImplies {
  /** IP family: `TCP4`, `TCP6-LISTEN`, `UDP4`, ... */
  readonly family?: 4 | 6;
  /** `SOCKS4` (false): the client resolves the target, SOCKS protocol 4. */
  readonly remoteDns?: boolean;
  /** `SYSTEM` (true): run the command with `/bin/sh -c`. */
  readonly shell?: boolean;
  /** `CREATE` (true): open the file for writing, creating it. */
  readonly create?: boolean;
}

/** The declaration of one address type: everything the parser and the docs need. */
export interface AddressType {
  /** Canonical, lower-case name. */
  readonly name: AddressTypeName;
  /** socat's spellings, accepted case-insensitively. */
  readonly aliases: readonly string[];
  /** What some aliases imply, keyed by the alias as written in `aliases`. */
  readonly implies?: Readonly<Record<string, AliasImplies>>;
  /** How the parameters after `TYPE:` are read. */
  readonly params: 'none' | 'host-port' | 'listen' | 'path' | 'proxy' | 'command';
  /** Syntax for help and error messages, e.g. `tcp:HOST:PORT`. */
  readonly syntax: string;
  /** The options this type accepts, in the order help lists them. */
  readonly options: readonly OptionName[];
  /** Whether it accepts connections (or datagrams) rather than making one. */
  readonly listens: boolean;
  /** One line for `--help` and the tables. */
  readonly help: string;
  /** One or two example addresses. */
  readonly examples: readonly string[];
}

/**
 * How an option's value is read:
 * `flag` (no value), `boolean` (`0|1`), `integer`, `seconds` (decimal, stored
 * as milliseconds), `mode` (octal), `string`, `list` (`a:b`), `host-port`
 * (`ADDR[:PORT]`), `port`, `url` (a proxy URL), `credentials` (`USER:PASS`),
 * `family` (`ip4|ip6`), `choice` (one of `choices`).
 */
export type OptionValueKind =
  | 'flag'
  | 'boolean'
  | 'integer'
  | 'seconds'
  | 'mode'
  | 'string'
  | 'list'
  | 'host-port'
  | 'port'
  | 'url'
  | 'credentials'
  | 'family'
  | 'choice';

/** The declaration of one address option. */
export interface AddressOptionDeclaration {
  /** Canonical, lower-case name. */
  readonly name: OptionName;
  /** socat's other spellings, accepted case-insensitively. */
  readonly aliases: readonly string[];
  /** How the value is read and converted. */
  readonly kind: OptionValueKind;
  /** Placeholder for the value in syntax, e.g. `N` in `backlog=N`. */
  readonly value?: string;
  /** Where the converted value goes in {@link AddressOptions}; absent for
   *  options folded into the address itself (`pf`, `socksport`, `proxyport`). */
  readonly key?: keyof AddressOptions;
  /** May be given more than once (values accumulate). */
  readonly repeatable?: boolean;
  /** Smallest value of an `integer` option. */
  readonly min?: number;
  /** The values a `choice` option takes. */
  readonly choices?: readonly string[];
  /** One line for `--help` and the tables. */
  readonly help: string;
}

const _CLIENT_IP: readonly OptionName[] = ['pf', 'bind', 'connect-timeout'];
const _LISTEN_STREAM: readonly OptionName[] = ['fork', 'reuseaddr', 'backlog', 'max-conns', 'pf', 'bind'];
const _TLS_COMMON: readonly OptionName[] = ['verify', 'cafile', 'cert', 'key'];

/**
 * Every address type, one declaration each, in the order help lists them.
 */
export const ADDRESS_TYPES: readonly AddressType[] = [
  {
    name: 'stdio',
    aliases: ['-', 'STDIN', 'STDOUT'],
    params: 'none',
    syntax: 'stdio',
    options: ['crlf'],
    listens: false,
    help: "the process's stdin and stdout (STDIN and STDOUT are accepted as stdio)",
    examples: ['-', 'stdio,crlf'],
  },
  {
    name: 'tcp',
    aliases: ['TCP4', 'TCP6', 'TCP-CONNECT'],
    implies: { TCP4: { family: 4 }, TCP6: { family: 6 } },
    params: 'host-port',
    syntax: 'tcp:HOST:PORT',
    options: [..._CLIENT_IP, 'proxy', 'crlf'],
    listens: false,
    help: 'TCP client',
    examples: ['tcp:example.com:80', 'tcp:[::1]:8080,connect-timeout=5'],
  },
  {
    name: 'tcp-listen',
    aliases: ['TCP-L', 'TCP4-LISTEN', 'TCP6-LISTEN', 'TCP4-L', 'TCP6-L'],
    implies: { 'TCP4-LISTEN': { family: 4 }, 'TCP6-LISTEN': { family: 6 }, 'TCP4-L': { family: 4 }, 'TCP6-L': { family: 6 } },
    params: 'listen',
    syntax: 'tcp-listen:[HOST:]PORT',
    options: [..._LISTEN_STREAM, 'crlf'],
    listens: true,
    help: 'TCP server (port 0 picks a free port)',
    examples: ['tcp-listen:8080,fork,reuseaddr', 'tcp-listen:[::1]:0'],
  },
  {
    name: 'udp',
    aliases: ['UDP4', 'UDP6', 'UDP-CONNECT'],
    implies: { UDP4: { family: 4 }, UDP6: { family: 6 } },
    params: 'host-port',
    syntax: 'udp:HOST:PORT',
    options: ['pf', 'bind', 'crlf'],
    listens: false,
    help: 'UDP peer (each chunk of data is one datagram)',
    examples: ['udp:127.0.0.1:53', 'udp:[::1]:5000,bind=:5001'],
  },
  {
    name: 'udp-listen',
    aliases: ['UDP-L', 'UDP-RECVFROM', 'UDP4-LISTEN', 'UDP6-LISTEN'],
    implies: { 'UDP4-LISTEN': { family: 4 }, 'UDP6-LISTEN': { family: 6 } },
    params: 'listen',
    syntax: 'udp-listen:[HOST:]PORT',
    options: ['fork', 'reuseaddr', 'pf', 'bind', 'crlf'],
    listens: true,
    help: 'UDP server, replies to the last sender (fork is not supported yet)',
    examples: ['udp-listen:5000', 'udp-listen:0.0.0.0:5353,fork'],
  },
  {
    name: 'unix',
    aliases: ['UNIX-CONNECT', 'UNIX-CLIENT'],
    params: 'path',
    syntax: 'unix:PATH',
    options: ['crlf'],
    listens: false,
    help: 'Unix stream client (@name: Linux abstract namespace)',
    examples: ['unix:/run/app.sock', 'unix:@wirecat'],
  },
  {
    name: 'unix-listen',
    aliases: ['UNIX-L'],
    params: 'path',
    syntax: 'unix-listen:PATH',
    options: ['fork', 'backlog', 'max-conns', 'mode', 'unlink-early', 'crlf'],
    listens: true,
    help: 'Unix stream server (@name: Linux abstract namespace)',
    examples: ['unix-listen:/tmp/app.sock,mode=0600,fork', 'unix-listen:@wirecat'],
  },
  {
    name: 'tls',
    aliases: ['OPENSSL', 'SSL', 'OPENSSL-CONNECT'],
    params: 'host-port',
    syntax: 'tls:HOST:PORT',
    options: [..._CLIENT_IP, 'proxy', ..._TLS_COMMON, 'servername', 'alpn', 'crlf'],
    listens: false,
    help: 'TLS client, verifying the certificate and host name by default',
    examples: ['tls:example.com:443', 'tls:example.com:443,proxy=socks5://127.0.0.1:1080,alpn=h2:http/1.1'],
  },
  {
    name: 'tls-listen',
    aliases: ['OPENSSL-LISTEN', 'SSL-L'],
    params: 'listen',
    syntax: 'tls-listen:[HOST:]PORT',
    options: [..._LISTEN_STREAM, ..._TLS_COMMON, 'alpn', 'crlf'],
    listens: true,
    help: 'TLS server (without cert=: an ephemeral self-signed certificate)',
    examples: ['tls-listen:8443,cert=server.pem,key=server.key,fork', 'tls-listen:[::]:8443,verify=1,cafile=clients.pem'],
  },
  {
    name: 'socks5',
    aliases: ['SOCKS5-CONNECT'],
    params: 'proxy',
    syntax: 'socks5:PROXY[:PPORT]:HOST:PORT',
    options: [..._CLIENT_IP, 'socksport', 'proxyauth', 'proxyauth-file', 'resolve', 'crlf'],
    listens: false,
    help: 'client through a SOCKS5 proxy (proxy port: PPORT, socksport= or 1080; the proxy resolves HOST)',
    examples: ['socks5:127.0.0.1:1080:example.com:80', 'socks5:proxy.lan:example.com:22,socksport=9050'],
  },
  {
    name: 'socks4a',
    aliases: ['SOCKS4'],
    implies: { SOCKS4: { remoteDns: false } },
    params: 'proxy',
    syntax: 'socks4a:PROXY[:PPORT]:HOST:PORT',
    options: [..._CLIENT_IP, 'socksport', 'socksuser', 'crlf'],
    listens: false,
    help: 'client through a SOCKS4a proxy (SOCKS4: resolve HOST locally); proxy port: PPORT, socksport= or 1080',
    examples: ['socks4a:127.0.0.1:example.com:80', 'socks4:proxy.lan:1081:10.0.0.5:22'],
  },
  {
    name: 'http-proxy',
    aliases: ['PROXY', 'PROXY-CONNECT'],
    params: 'proxy',
    syntax: 'http-proxy:PROXY[:PPORT]:HOST:PORT',
    options: [..._CLIENT_IP, 'proxyport', 'proxyauth', 'proxyauth-file', 'resolve', 'crlf'],
    listens: false,
    help: 'client through an HTTP CONNECT proxy (proxy port: PPORT, proxyport= or 8080)',
    examples: ['http-proxy:proxy.lan:3128:example.com:443', 'proxy:proxy.lan:example.com:22,proxyport=3128'],
  },
  {
    name: 'exec',
    aliases: ['SYSTEM'],
    implies: { SYSTEM: { shell: true } },
    params: 'command',
    syntax: 'exec:CMD ARGS',
    options: ['crlf'],
    listens: false,
    help: "a child process's stdin and stdout (exec: words split like a shell, no shell run; SYSTEM: via /bin/sh -c)",
    examples: ["exec:sh -c 'cat -n'", 'system:tr a-z A-Z | rev'],
  },
  {
    name: 'file',
    aliases: ['OPEN', 'CREATE', 'CREAT'],
    implies: { CREATE: { create: true }, CREAT: { create: true } },
    params: 'path',
    syntax: 'file:PATH',
    options: ['create', 'append', 'mode', 'crlf'],
    listens: false,
    help: 'a file: read, or write with create (truncating) or append (CREATE: write)',
    examples: ['file:/tmp/in.bin', 'create:/tmp/out.log,mode=0600'],
  },
];

/**
 * Every address option, one declaration each, in the order help lists them
 * and {@link formatAddress} writes them.
 */
export const ADDRESS_OPTIONS: readonly AddressOptionDeclaration[] = [
  { name: 'fork', aliases: [], kind: 'flag', key: 'fork', help: 'serve each accepted connection (or UDP sender) concurrently, each with its own second address' },
  { name: 'reuseaddr', aliases: [], kind: 'flag', key: 'reuseAddr', help: 'set SO_REUSEADDR (Node sets it on TCP listeners anyway; on UDP it lets several sockets share the port)' },
  { name: 'backlog', aliases: [], kind: 'integer', value: 'N', key: 'backlog', min: 1, help: 'length of the queue of connections not yet accepted' },
  { name: 'max-conns', aliases: ['max-children'], kind: 'integer', value: 'N', key: 'maxConns', min: 1, help: 'at most N connections at a time (with fork); more wait in the backlog' },
  { name: 'pf', aliases: ['protocol-family'], kind: 'family', value: 'ip4|ip6', help: 'IP family, as the 4/6 aliases (TCP4, TCP6-LISTEN, ...) and -4/-6' },
  { name: 'bind', aliases: [], kind: 'host-port', value: 'ADDR[:PORT]', key: 'bind', help: 'clients: local address and port to send from (bind=:PORT: any address); listeners: the address to listen on, as socat has it (tcp-listen:8080,bind=127.0.0.1); IPv6 in brackets' },
  { name: 'connect-timeout', aliases: [], kind: 'seconds', value: 'SECS', key: 'connectTimeoutMs', help: 'give up connecting after SECS seconds (decimals allowed), exit 3' },
  { name: 'proxy', aliases: [], kind: 'url', value: 'URL', key: 'proxy', repeatable: true, help: 'connect through socks5://, socks5h://, socks4a://, socks4:// or http://[user:pass@]host:port; repeat to chain, first hop first' },
  { name: 'verify', aliases: ['openssl-verify'], kind: 'boolean', value: '0|1', key: 'verify', help: 'tls: verify the server certificate and name (default 1); tls-listen: require and verify a client certificate (default 0)' },
  { name: 'cafile', aliases: ['openssl-cafile'], kind: 'string', value: 'FILE', key: 'cafile', help: 'PEM file of trusted CA certificates (instead of the system store)' },
  { name: 'cert', aliases: ['certificate', 'openssl-certificate'], kind: 'string', value: 'FILE', key: 'cert', help: 'PEM certificate (chain) to present' },
  { name: 'key', aliases: ['openssl-key'], kind: 'string', value: 'FILE', key: 'key', help: "PEM private key of cert= (default: read from cert='s file)" },
  { name: 'servername', aliases: ['snihost', 'openssl-snihost'], kind: 'string', value: 'NAME', key: 'servername', help: 'name sent in SNI and verified (default: HOST)' },
  { name: 'alpn', aliases: [], kind: 'list', value: 'P1:P2', key: 'alpn', repeatable: true, help: "ALPN protocols in preference order, colon-separated (alpn=h2:http/1.1), or a quoted comma list (alpn='h2,http/1.1')" },
  { name: 'socksport', aliases: [], kind: 'port', value: 'PORT', help: 'port of the SOCKS proxy for the three-parameter form (default 1080)' },
  { name: 'socksuser', aliases: [], kind: 'string', value: 'USER', key: 'socksUser', help: 'user id sent to the SOCKS4 proxy (default empty)' },
  { name: 'proxyport', aliases: [], kind: 'port', value: 'PORT', help: 'port of the HTTP proxy for the three-parameter form (default 8080)' },
  { name: 'proxyauth', aliases: ['proxy-authorization'], kind: 'credentials', value: 'USER:PASS', key: 'proxyAuth', help: 'credentials for the proxy: HTTP Basic, SOCKS5 RFC 1929 (visible in ps: prefer proxyauth-file= or WIRECAT_PROXY_AUTH)' },
  { name: 'proxyauth-file', aliases: ['proxy-authorization-file'], kind: 'string', value: 'FILE', key: 'proxyAuthFile', help: 'read USER:PASS for the proxy from the first line of FILE' },
  { name: 'resolve', aliases: [], kind: 'choice', value: 'local|remote', key: 'resolve', choices: ['local', 'remote'], help: 'who resolves HOST: the proxy (remote, default) or wirecat before asking (local)' },
  { name: 'mode', aliases: ['perm'], kind: 'mode', value: '0600', key: 'mode', help: 'octal permissions of the socket or file created' },
  { name: 'unlink-early', aliases: ['unlink-stale'], kind: 'flag', key: 'unlinkEarly', help: 'remove a stale socket at PATH before binding (never a path that is not a socket)' },
  { name: 'create', aliases: ['creat', 'o-creat'], kind: 'flag', key: 'create', help: 'open for writing, creating the file and truncating it' },
  { name: 'append', aliases: ['o-append'], kind: 'flag', key: 'append', help: 'open for writing at the end, creating the file if missing' },
  { name: 'crlf', aliases: ['crnl'], kind: 'flag', key: 'crlf', help: 'turn LF into CRLF in the data sent to this address (an existing CRLF is kept)' },
];

// ---------------------------------------------------------------- result types

/** IP family. */
export type AddressFamily = 4 | 6;

/** A host and a port, as `parseHostPort()` returns them. */
export interface HostPort {
  /** Host name or IP address; an IPv6 address without brackets, scope kept (`fe80::1%eth0`). */
  host: string;
  /** Port number. */
  port: number;
}

/** `bind=ADDR[:PORT]`: the local end. `host` is absent for `bind=:PORT`, `port` is 0 for any. */
export interface BindAddress {
  /** Local address, when one was given. */
  host?: string;
  /** Local port; 0 lets the system pick. */
  port: number;
}

/** Proxy protocols a proxy URL can name. */
export type ProxyProtocol = 'socks5' | 'socks4' | 'socks4a' | 'http';

/** A parsed proxy URL (`--proxy`, `proxy=`). */
export interface ProxyUrl {
  /** Protocol; `socks5h://` reads as `socks5` with remote DNS. */
  protocol: ProxyProtocol;
  /** Proxy host (IPv6 without brackets). */
  host: string;
  /** Proxy port (default 1080 for SOCKS, 8080 for HTTP). */
  port: number;
  /** User name, percent-decoded. */
  user?: string;
  /** Password, percent-decoded. */
  password?: string;
  /** Whether the proxy resolves the target's name (false only for socks4). */
  remoteDns: boolean;
}

/** User name and password (`proxyauth=USER:PASS`). */
export interface Credentials {
  /** User name. */
  user: string;
  /** Password (may be empty). */
  password: string;
}

/**
 * Converted option values. Only the options given appear; an absent key
 * means the endpoint's default.
 */
export interface AddressOptions {
  /** `fork` */
  fork?: boolean;
  /** `reuseaddr` */
  reuseAddr?: boolean;
  /** `backlog=N` */
  backlog?: number;
  /** `max-conns=N` */
  maxConns?: number;
  /** `bind=ADDR[:PORT]` */
  bind?: BindAddress;
  /** `connect-timeout=SECS`, in milliseconds. */
  connectTimeoutMs?: number;
  /** `proxy=URL`, repeated: the chain, first hop first. */
  proxy?: ProxyUrl[];
  /** `verify=0|1` */
  verify?: boolean;
  /** `cafile=FILE` */
  cafile?: string;
  /** `cert=FILE` */
  cert?: string;
  /** `key=FILE` */
  key?: string;
  /** `servername=NAME` */
  servername?: string;
  /** `alpn=P1:P2` */
  alpn?: string[];
  /** `socksuser=USER` */
  socksUser?: string;
  /** `proxyauth=USER:PASS` */
  proxyAuth?: Credentials;
  /** `proxyauth-file=FILE` */
  proxyAuthFile?: string;
  /** `resolve=local|remote` */
  resolve?: 'local' | 'remote';
  /** `mode=0600`, as a number (0o600). */
  mode?: number;
  /** `unlink-early` */
  unlinkEarly?: boolean;
  /** `create` (also implied by `CREATE:`) */
  create?: boolean;
  /** `append` */
  append?: boolean;
  /** `crlf` */
  crlf?: boolean;
}

interface _SpecBase {
  /** The text that was parsed (empty for specs built by hand). */
  text: string;
  /** Converted options. */
  options: AddressOptions;
}

/** `stdio`, `-`: the process's stdin and stdout. */
export interface StdioAddressSpec extends _SpecBase {
  type: 'stdio';
}

/** `tcp:`, `udp:`, `tls:`: a client of HOST:PORT. */
export interface HostPortAddressSpec<T extends 'tcp' | 'udp' | 'tls'> extends _SpecBase {
  type: T;
  /** Host name or IP address (IPv6 without brackets, scope kept). */
  host: string;
  /** Port, 1-65535. */
  port: number;
  /** IP family, from a 4/6 alias or `pf=`. */
  family?: AddressFamily;
}

/** `tcp-listen:`, `udp-listen:`, `tls-listen:`: a server on [HOST:]PORT. */
export interface ListenAddressSpec<T extends 'tcp-listen' | 'udp-listen' | 'tls-listen'> extends _SpecBase {
  type: T;
  /** Address to bind; absent: every address. */
  host?: string;
  /** Port, 0-65535 (0: the system picks a free one). */
  port: number;
  /** IP family, from a 4/6 alias or `pf=`. */
  family?: AddressFamily;
}

/** `unix:`, `unix-listen:`: a Unix stream socket. */
export interface UnixAddressSpec<T extends 'unix' | 'unix-listen'> extends _SpecBase {
  type: T;
  /** The path as given; `@name` for the abstract namespace. */
  path: string;
  /** Whether `path` is a Linux abstract name (`@name`). */
  abstract: boolean;
}

/** `socks5:`, `socks4a:`, `http-proxy:`: a client of HOST:PORT through a proxy. */
export interface ProxiedAddressSpec<T extends 'socks5' | 'socks4a' | 'http-proxy'> extends _SpecBase {
  type: T;
  /** Proxy host. */
  proxyHost: string;
  /** Proxy port (PPORT, `socksport=`/`proxyport=`, or 1080 / 8080). */
  proxyPort: number;
  /** Target host, sent to the proxy. */
  host: string;
  /** Target port. */
  port: number;
  /** IP family of the connection to the proxy. */
  family?: AddressFamily;
}

/** `socks4a:` / `SOCKS4:`. */
export interface Socks4AddressSpec extends ProxiedAddressSpec<'socks4a'> {
  /** true: SOCKS4a, the proxy resolves `host`; false (`SOCKS4:`): resolved locally. */
  remoteDns: boolean;
}

/** `exec:` / `SYSTEM:`: a child process. */
export interface ExecAddressSpec extends _SpecBase {
  type: 'exec';
  /** The command as written, quotes kept. */
  command: string;
  /** What to spawn: `argv[0]` with `argv.slice(1)`; `['/bin/sh', '-c', command]` for SYSTEM. */
  argv: string[];
  /** Whether it runs through `/bin/sh -c` (`SYSTEM:`). */
  shell: boolean;
}

/** `file:`, `OPEN:`, `CREATE:`: a file. */
export interface FileAddressSpec extends _SpecBase {
  type: 'file';
  /** The path. */
  path: string;
}

/** What {@link parseAddress} returns: a plain, JSON-serialisable object, discriminated on `type`. */
export type AddressSpec =
  | StdioAddressSpec
  | HostPortAddressSpec<'tcp'>
  | ListenAddressSpec<'tcp-listen'>
  | HostPortAddressSpec<'udp'>
  | ListenAddressSpec<'udp-listen'>
  | UnixAddressSpec<'unix'>
  | UnixAddressSpec<'unix-listen'>
  | HostPortAddressSpec<'tls'>
  | ListenAddressSpec<'tls-listen'>
  | ProxiedAddressSpec<'socks5'>
  | Socks4AddressSpec
  | ProxiedAddressSpec<'http-proxy'>
  | ExecAddressSpec
  | FileAddressSpec;

type _WithoutText<S> = S extends unknown ? Omit<S, 'text'> : never;

/** What {@link dumpAddress} returns for `--dump-address`: the spec without `text`, plus two fields. */
export type AddressDump = _WithoutText<AddressSpec> & {
  /** Canonical text, passwords replaced by `***`. */
  canonical: string;
  /** Whether the type accepts connections. */
  listens: boolean;
};

/** A row of {@link addressTypesTable}. */
export interface AddressTypeRow {
  type: AddressTypeName;
  aliases: string[];
  syntax: string;
  help: string;
  listens: boolean;
  options: OptionName[];
  examples: string[];
}

/** A row of {@link addressOptionsTable}. */
export interface AddressOptionRow {
  option: OptionName;
  aliases: string[];
  /** e.g. `backlog=N`, or `fork` for a flag. */
  syntax: string;
  kind: OptionValueKind;
  repeatable: boolean;
  help: string;
  /** The address types that accept it. */
  types: AddressTypeName[];
}

// ---------------------------------------------------------------- lookup

const _SOCKS_PORT = 1080;
const _HTTP_PORT = 8080;
const _REDACTED = '***';

interface _TypeEntry {
  decl: AddressType;
  implies: AliasImplies;
}

const _typesByName = new Map<string, _TypeEntry>();
for (const decl of ADDRESS_TYPES) {
  _typesByName.set(decl.name, { decl, implies: {} });
  for (const alias of decl.aliases) _typesByName.set(alias.toLowerCase(), { decl, implies: decl.implies?.[alias] ?? {} });
}

const _optionsByName = new Map<string, AddressOptionDeclaration>();
for (const decl of ADDRESS_OPTIONS) {
  _optionsByName.set(decl.name, decl);
  for (const alias of decl.aliases) _optionsByName.set(alias, decl);
}

function _typeDecl(name: AddressTypeName): AddressType {
  return _typesByName.get(name)!.decl;
}

// ---------------------------------------------------------------- tokenizer

const _CLOSERS: Readonly<Record<string, string>> = { '[': ']', '(': ')', '{': '}' };

/**
 * Split `raw` at the separators in `seps` that are outside quotes, brackets
 * and backslash escapes. Pieces keep their quotes and escapes.
 */
function _split(raw: string, seps: string, whole: string): string[] {
  const pieces: string[] = [];
  const open: string[] = []; // opening brackets not yet closed
  let quote = '';
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (quote !== '') {
      if (c === quote) quote = '';
      else if (c === '\\' && quote === '"') i++;
    } else if (c === '\\') {
      i++;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c in _CLOSERS) {
      open.push(c);
    } else if (open.length > 0) {
      if (c === _CLOSERS[open[open.length - 1]!]) open.pop();
    } else if (seps.includes(c)) {
      pieces.push(raw.slice(start, i));
      start = i + 1;
    }
  }
  if (quote !== '') throw new UsageError(`unterminated ${quote === '"' ? 'double' : 'single'} quote in '${whole}'`);
  if (open.length > 0) throw new UsageError(`unclosed '${open[open.length - 1]}' in '${whole}'`);
  pieces.push(raw.slice(start));
  return pieces;
}

/**
 * Remove quotes and backslash escapes, shell style: `'...'` is literal,
 * `"..."` honours `\"` and `\\`. With `words`, also split at unquoted
 * whitespace. Brackets are kept.
 */
function _dequote(raw: string, words: boolean): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (quote === "'") {
      if (c === "'") quote = '';
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = '';
      else if (c === '\\' && (raw[i + 1] === '"' || raw[i + 1] === '\\')) cur += raw[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < raw.length) {
      cur += raw[++i];
      inWord = true;
    } else if (words && /\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord || !words) out.push(cur);
  return out;
}

function _unquote(raw: string): string {
  return _dequote(raw, false)[0]!;
}

/** Quote `value` so that the tokenizer gives it back unchanged. */
function _quote(value: string): string {
  if (value !== '' && !/[\s,'"\\[\](){}]/.test(value)) return value;
  if (!value.includes("'")) return `'${value}'`;
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

// ---------------------------------------------------------------- ports, hosts, proxy URLs

/**
 * Parse a decimal port number.
 *
 * @param text The port as written.
 * @param what What the port is, for the message (`port`, `source port`, ...).
 * @param opts `allowZero`: accept 0 (listening); `context`: the text it came
 *   from, named in the message.
 * @returns The port, 1-65535 (0-65535 with `allowZero`).
 * @throws {@link UsageError} `bad port '99999' in 'tcp:h:99999' (1-65535)`,
 *   or `missing port ...` for an empty string.
 * @example
 * parsePort('8080', 'port'); // 8080
 */
export function parsePort(text: string, what = 'port', opts: { allowZero?: boolean; context?: string } = {}): number {
  const where = opts.context === undefined ? '' : ` in '${opts.context}'`;
  if (text === '') throw new UsageError(`missing ${what}${where}`);
  const min = opts.allowZero ? 0 : 1;
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= 65535)) throw new UsageError(`bad ${what} '${text}'${where} (${min}-65535)`);
  return n;
}

/** `[v6]` → `v6`, else the unquoted host; validates brackets. */
function _host(raw: string, context: string): string {
  if (raw.startsWith('[')) {
    const inner = raw.endsWith(']') ? raw.slice(1, -1) : '';
    if (!/^[0-9a-f:.]*:[0-9a-f:.]*(%[\w.-]+)?$/i.test(inner)) {
      throw new UsageError(`bad IPv6 address '${raw}' in '${context}' (e.g. [::1] or [fe80::1%eth0])`);
    }
    return inner;
  }
  return _unquote(raw);
}

function _hostPort(
  text: string,
  context: string,
  opts: { defaultPort?: number; allowZero?: boolean; hostOptional?: boolean },
): { host: string; port: number } {
  let hostRaw = text;
  let portRaw: string | undefined;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) throw new UsageError(`unclosed '[' in '${context}'`);
    hostRaw = text.slice(0, end + 1);
    const rest = text.slice(end + 1);
    if (rest.startsWith(':')) portRaw = rest.slice(1);
    else if (rest !== '') throw new UsageError(`bad address '${text}' in '${context}' (ADDR[:PORT], IPv6 in brackets: [::1]:80)`);
  } else {
    const colons = text.split(':').length - 1;
    if (colons === 1) {
      const i = text.indexOf(':');
      hostRaw = text.slice(0, i);
      portRaw = text.slice(i + 1);
    } else if (colons > 1 && opts.defaultPort === undefined) {
      throw new UsageError(`IPv6 address without brackets in '${context}' (write [${text.replace(/:\d+$/, '')}]:PORT)`);
    }
  }
  const host = _host(hostRaw, context);
  if (host === '' && !opts.hostOptional) throw new UsageError(`missing host in '${context}'`);
  let port: number;
  if (portRaw === undefined) {
    if (opts.defaultPort === undefined) throw new UsageError(`missing port in '${context}'`);
    port = opts.defaultPort;
  } else {
    port = parsePort(portRaw, 'port', { allowZero: opts.allowZero ?? false, context });
  }
  return { host, port };
}

/**
 * Parse `HOST:PORT`, `[IPV6]:PORT`, `[fe80::1%eth0]:PORT`, or `HOST` alone
 * when there is a default port (then an unbracketed IPv6 address is the host).
 *
 * @param text The text to parse.
 * @param opts `defaultPort`: port when none is given; `allowZero`: accept port 0.
 * @returns Host (IPv6 without brackets) and port.
 * @throws {@link UsageError} on a missing host or port, a bad port or bad brackets.
 * @example
 * parseHostPort('[::1]:8080'); // { host: '::1', port: 8080 }
 * parseHostPort('proxy.lan', { defaultPort: 1080 }); // { host: 'proxy.lan', port: 1080 }
 */
export function parseHostPort(text: string, opts: { defaultPort?: number; allowZero?: boolean } = {}): HostPort {
  return _hostPort(text, text, opts);
}

const _PROXY_SCHEMES: Readonly<Record<string, { protocol: ProxyProtocol; remoteDns: boolean; port: number }>> = {
  socks5: { protocol: 'socks5', remoteDns: true, port: _SOCKS_PORT },
  socks5h: { protocol: 'socks5', remoteDns: true, port: _SOCKS_PORT },
  socks4a: { protocol: 'socks4a', remoteDns: true, port: _SOCKS_PORT },
  socks4: { protocol: 'socks4', remoteDns: false, port: _SOCKS_PORT },
  http: { protocol: 'http', remoteDns: true, port: _HTTP_PORT },
};

function _decode(part: string, url: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new UsageError(`bad percent-encoding in proxy URL '${url}'`);
  }
}

/**
 * Parse a proxy URL: `socks5://[user:pass@]host[:port]`, `socks5h://`,
 * `socks4a://`, `socks4://`, `http://[user:pass@]host[:port]`.
 *
 * Credentials are percent-decoded. `socks5://` and `socks5h://` both resolve
 * the target at the proxy (the command line's `--proxy-dns remote` default);
 * `socks4://` resolves it locally.
 *
 * @param url The URL.
 * @returns The parsed proxy, ports defaulting to 1080 (SOCKS) and 8080 (HTTP).
 * @throws {@link UsageError} on an unknown scheme, a path, or a bad host or port.
 * @example
 * parseProxyUrl('socks5h://me:p%40ss@[::1]:9050');
 * // { protocol: 'socks5', host: '::1', port: 9050, user: 'me', password: 'p@ss', remoteDns: true }
 */
export function parseProxyUrl(url: string): ProxyUrl {
  const valid = Object.keys(_PROXY_SCHEMES).map((s) => `${s}://`).join(', ');
  const sep = url.indexOf('://');
  if (sep < 0) throw new UsageError(`missing scheme in proxy URL '${url}' (valid: ${valid})`);
  const scheme = _PROXY_SCHEMES[url.slice(0, sep).toLowerCase()];
  if (scheme === undefined) throw new UsageError(`unknown proxy scheme '${url.slice(0, sep)}' in '${url}' (valid: ${valid})`);
  let rest = url.slice(sep + 3);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (/[/?#]/.test(rest)) throw new UsageError(`proxy URL '${url}' must not have a path, query or fragment`);
  const at = rest.lastIndexOf('@');
  const { host, port } = _hostPort(rest.slice(at + 1), url, { defaultPort: scheme.port });
  const proxy: ProxyUrl = { protocol: scheme.protocol, host, port, remoteDns: scheme.remoteDns };
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    proxy.user = _decode(colon < 0 ? userinfo : userinfo.slice(0, colon), url);
    if (colon >= 0) proxy.password = _decode(userinfo.slice(colon + 1), url);
    if (proxy.user === '') throw new UsageError(`empty user name in proxy URL '${url}'`);
    if (proxy.password !== undefined && scheme.protocol.startsWith('socks4')) {
      throw new UsageError(`${scheme.protocol} proxies take a user id but no password, in '${url}'`);
    }
  }
  return proxy;
}

function _bracket(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** A host as address text: IPv6 in brackets, anything odd quoted. */
function _hostText(host: string): string {
  return host.includes(':') ? `[${host}]` : _quote(host);
}

/**
 * Write a proxy URL back as text, percent-encoding credentials.
 *
 * @param proxy The proxy.
 * @param opts `redact`: write `***` for the password.
 * @returns e.g. `socks5://user:pass@127.0.0.1:1080`.
 */
export function formatProxyUrl(proxy: ProxyUrl, opts: { redact?: boolean } = {}): string {
  let auth = '';
  if (proxy.user !== undefined) {
    auth = encodeURIComponent(proxy.user);
    if (proxy.password !== undefined) auth += `:${opts.redact ? _REDACTED : encodeURIComponent(proxy.password)}`;
    auth += '@';
  }
  return `${proxy.protocol}://${auth}${_bracket(proxy.host)}:${proxy.port}`;
}

// ---------------------------------------------------------------- option values

type _Converted = Map<OptionName, unknown>;

function _convert(decl: AddressOptionDeclaration, raw: string | undefined, text: string): unknown {
  const name = decl.name;
  if (decl.kind === 'flag') {
    if (raw !== undefined) throw new UsageError(`option '${name}' takes no value`);
    return true;
  }
  if (raw === undefined || raw === '') throw new UsageError(`option '${name}' needs a value`);
  const value = _unquote(raw);
  const bad = (hint: string) => new UsageError(`bad value '${value}' for option '${name}' in '${text}' (${hint})`);
  switch (decl.kind) {
    case 'boolean':
      if (value !== '0' && value !== '1') throw bad('0 or 1');
      return value === '1';
    case 'integer': {
      const min = decl.min ?? 0;
      const n = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
      if (!(n >= min)) throw bad(`an integer, ${min} or more`);
      return n;
    }
    case 'seconds': {
      const ms = /^(\d+(\.\d*)?|\.\d+)$/.test(value) ? Math.round(Number(value) * 1000) : NaN;
      if (!(ms >= 1)) throw bad('seconds, e.g. 5 or 0.5');
      return ms;
    }
    case 'mode':
      if (!/^[0-7]{1,4}$/.test(value)) throw bad('octal, e.g. 0600');
      return parseInt(value, 8);
    case 'string':
      if (value === '') throw bad('not empty');
      return value;
    case 'list': {
      const items = value.split(/[:,]/);
      if (items.some((s) => s === '')) throw bad('names separated by colons, e.g. h2:http/1.1');
      return items;
    }
    case 'host-port': {
      const { host, port } = _hostPort(value, text, { defaultPort: 0, allowZero: true, hostOptional: true });
      return host === '' ? { port } : { host, port };
    }
    case 'port':
      return parsePort(value, name, { context: text });
    case 'url':
      return parseProxyUrl(value);
    case 'credentials': {
      const colon = value.indexOf(':');
      if (colon <= 0) throw bad('USER:PASS');
      return { user: value.slice(0, colon), password: value.slice(colon + 1) };
    }
    case 'choice': {
      const v = value.toLowerCase();
      if (!(decl.choices ?? []).includes(v)) throw bad((decl.choices ?? []).join(' or '));
      return v;
    }
    case 'family':
      if (/^(ip4|ipv4|inet|4)$/i.test(value)) return 4;
      if (/^(ip6|ipv6|inet6|6)$/i.test(value)) return 6;
      throw bad('ip4 or ip6');
    default:
      throw new Error(`unhandled option kind ${decl.kind as string}`);
  }
}

function _parseOptions(pieces: string[], type: AddressType, text: string): _Converted {
  const values: _Converted = new Map();
  const valid = () => `(valid: ${type.options.join(', ')})`;
  for (const piece of pieces) {
    if (piece === '') throw new UsageError(`empty option in '${text}'`);
    const eq = piece.indexOf('=');
    const given = (eq < 0 ? piece : piece.slice(0, eq)).toLowerCase();
    const decl = _optionsByName.get(given);
    if (decl === undefined) throw new UsageError(`unknown option '${given}' for ${type.name} ${valid()}`);
    if (!type.options.includes(decl.name)) throw new UsageError(`option '${given}' is not valid for ${type.name} ${valid()}`);
    const value = _convert(decl, eq < 0 ? undefined : piece.slice(eq + 1), text);
    const previous = values.get(decl.name);
    if (decl.repeatable) {
      // values accumulate: proxy= adds a hop, alpn= adds protocols
      values.set(decl.name, [...((previous as unknown[] | undefined) ?? []), ...(Array.isArray(value) ? value : [value])]);
    } else if (previous === undefined) {
      values.set(decl.name, value);
    } else {
      throw new UsageError(`option '${decl.name}' given twice in '${text}'`);
    }
  }
  return values;
}

function _optionsObject(values: _Converted, implied: AliasImplies): AddressOptions {
  const options: Record<string, unknown> = {};
  if (implied.create) options.create = true;
  for (const decl of ADDRESS_OPTIONS) {
    if (decl.key !== undefined && values.has(decl.name)) options[decl.key] = values.get(decl.name);
  }
  return options as AddressOptions;
}

// ---------------------------------------------------------------- parser

/**
 * Parse an address: `TYPE:PARAMS[,option[=value]...]`, or `-` for stdio.
 *
 * Type names, aliases and option names are case-insensitive. Aliases imply
 * what they say: `TCP4`/`TCP6-LISTEN`/`UDP4` set `family`, `SOCKS4` sets
 * `remoteDns: false`, `SYSTEM` sets `shell: true`, `CREATE` sets `create`.
 * `socks5:`, `socks4a:` and `http-proxy:` take `PROXY:PPORT:HOST:PORT`, or
 * socat's `PROXY:HOST:PORT` with `socksport=`/`proxyport=` (default 1080 /
 * 8080). Paths (`unix:`, `file:`) and commands (`exec:`) run up to the first
 * unquoted comma, colons included.
 *
 * @param text The address as written.
 * @returns A plain, JSON-serialisable object discriminated on `type`.
 * @throws {@link UsageError} naming the bad part and listing the valid choices:
 *   `unknown address type 'tpc' in 'tpc:localhost:80' (valid: stdio, tcp, ...)`,
 *   `unknown option 'forkk' for tcp-listen (valid: fork, ...)`,
 *   `bad port '99999' in 'tcp:h:99999' (1-65535)`, `missing port in 'tcp:localhost'`.
 * @example
 * parseAddress('tcp:[fe80::1%eth0]:22,connect-timeout=2.5');
 * // { type: 'tcp', host: 'fe80::1%eth0', port: 22, options: { connectTimeoutMs: 2500 }, text: ... }
 */
export function parseAddress(text: string): AddressSpec {
  if (text === '') throw new UsageError('empty address');
  const [head, ...optionPieces] = _split(text, ',', text) as [string, ...string[]];
  const colon = head.indexOf(':');
  const typeName = colon < 0 ? head : head.slice(0, colon);
  const entry = _typesByName.get(typeName.toLowerCase());
  if (entry === undefined) {
    throw new UsageError(`unknown address type '${typeName}' in '${text}' (valid: ${ADDRESS_TYPES.map((t) => t.name).join(', ')})`);
  }
  const { decl, implies } = entry;
  const fields = _parseParams(decl, implies, colon < 0 ? undefined : head.slice(colon + 1), text);
  const values = _parseOptions(optionPieces, decl, text);
  if (decl.params === 'proxy') {
    const portOption: OptionName = decl.name === 'http-proxy' ? 'proxyport' : 'socksport';
    const optionPort = values.get(portOption) as number | undefined;
    if (optionPort !== undefined && fields.proxyPort !== undefined) {
      throw new UsageError(`option '${portOption}' conflicts with the proxy port given in '${text}'`);
    }
    fields.proxyPort ??= optionPort ?? (decl.name === 'http-proxy' ? _HTTP_PORT : _SOCKS_PORT);
  }
  const family = _family(values, implies, typeName, text);
  if (family !== undefined) fields.family = family;
  return { type: decl.name, ...fields, options: _optionsObject(values, implies), text } as AddressSpec;
}

/** The type-specific fields read from the parameters after `TYPE:`. */
function _parseParams(decl: AddressType, implies: AliasImplies, params: string | undefined, text: string): Record<string, unknown> {
  const split = (max: number, hint: string) => {
    const parts = params === undefined ? [] : _split(params, ':', text);
    if (parts.length > max) throw new UsageError(`too many parameters in '${text}' (${decl.syntax}; IPv6 addresses go in brackets: ${hint})`);
    return parts;
  };
  const host = (raw: string, what = 'host') => {
    const h = _host(raw, text);
    if (h === '') throw new UsageError(`missing ${what} in '${text}'`);
    return h;
  };
  const port = (raw: string, opts: { allowZero?: boolean; what?: string } = {}) =>
    parsePort(_unquote(raw), opts.what ?? 'port', { allowZero: opts.allowZero ?? false, context: text });

  switch (decl.params) {
    case 'none':
      if (params !== undefined) throw new UsageError(`${decl.name} takes no parameters, in '${text}'`);
      return {};

    case 'host-port': {
      const parts = split(2, '[::1]');
      if (params === undefined || params === '') throw new UsageError(`missing host and port in '${text}' (${decl.syntax})`);
      if (parts.length < 2) throw new UsageError(`missing port in '${text}'`);
      return { host: host(parts[0]!), port: port(parts[1]!) };
    }

    case 'listen': {
      const parts = split(2, '[::]');
      const p = port(parts.length === 0 ? '' : parts[parts.length - 1]!, { allowZero: true });
      return parts.length === 2 ? { host: host(parts[0]!), port: p } : { port: p };
    }

    case 'path': {
      const path = params === undefined ? '' : _unquote(params);
      if (path === '') throw new UsageError(`missing path in '${text}' (${decl.syntax})`);
      if (decl.name === 'file') return { path };
      if (path === '@') throw new UsageError(`missing abstract name after '@' in '${text}'`);
      return { path, abstract: path.startsWith('@') };
    }

    case 'proxy': {
      const parts = split(4, '[::1]');
      if (parts.length < 3) throw new UsageError(`missing parameters in '${text}' (${decl.syntax})`);
      const n = parts.length;
      const fields: Record<string, unknown> = {
        proxyHost: host(parts[0]!, 'proxy host'),
        proxyPort: n === 4 ? port(parts[1]!, { what: 'proxy port' }) : undefined,
        host: host(parts[n - 2]!),
        port: port(parts[n - 1]!),
      };
      if (decl.name === 'socks4a') fields.remoteDns = implies.remoteDns ?? true;
      return fields;
    }

    case 'command': {
      const command = params ?? '';
      const shell = implies.shell ?? false;
      const argv = shell ? ['/bin/sh', '-c', command] : _dequote(command, true);
      if (command.trim() === '' || argv.length === 0) throw new UsageError(`missing command in '${text}' (${decl.syntax})`);
      return { command, argv, shell };
    }
  }
}

function _family(values: _Converted, implies: AliasImplies, typeName: string, text: string): AddressFamily | undefined {
  const pf = values.get('pf') as AddressFamily | undefined;
  if (pf !== undefined && implies.family !== undefined && pf !== implies.family) {
    throw new UsageError(`option 'pf=ip${pf}' conflicts with '${typeName}' (IPv${implies.family}) in '${text}'`);
  }
  return pf ?? implies.family;
}

// ---------------------------------------------------------------- formatter

function _formatValue(decl: AddressOptionDeclaration, value: unknown, redact: boolean): string[] {
  switch (decl.kind) {
    case 'flag':
      return value === true ? [decl.name] : [];
    case 'boolean':
      return [`${decl.name}=${value ? 1 : 0}`];
    case 'seconds':
      return [`${decl.name}=${(value as number) / 1000}`];
    case 'mode':
      return [`${decl.name}=0${(value as number).toString(8).padStart(3, '0')}`];
    case 'list':
      return [`${decl.name}=${_quote((value as string[]).join(':'))}`];
    case 'host-port': {
      const bind = value as BindAddress;
      const host = bind.host === undefined ? '' : _hostText(bind.host);
      return [`${decl.name}=${host}${bind.port === 0 && host !== '' ? '' : `:${bind.port}`}`];
    }
    case 'url':
      return (value as ProxyUrl[]).map((p) => `${decl.name}=${_quote(formatProxyUrl(p, { redact }))}`);
    case 'credentials': {
      const c = value as Credentials;
      return [`${decl.name}=${_quote(`${c.user}:${redact ? _REDACTED : c.password}`)}`];
    }
    default:
      return [`${decl.name}=${_quote(String(value))}`];
  }
}

/**
 * Write an address back as canonical text: the canonical type name, IPv6
 * hosts in brackets, the four-parameter proxy form, options in registry
 * order, the family as `pf=ip4|ip6`. Parsing the result gives the same spec
 * (apart from `text`).
 *
 * @param spec A parsed (or hand-built) address. An `exec` command is written
 *   as it is, so a hand-built one must already be valid address text.
 * @param opts `redact`: write `***` for passwords.
 * @returns e.g. `tcp-listen:[::]:8080,fork,pf=ip6`.
 * @example
 * formatAddress(parseAddress('PROXY:p:example.com:443,proxyport=3128'));
 * // 'http-proxy:p:3128:example.com:443'
 */
export function formatAddress(spec: AddressSpec, opts: { redact?: boolean } = {}): string {
  let head: string;
  switch (spec.type) {
    case 'stdio':
      head = 'stdio';
      break;
    case 'tcp':
    case 'udp':
    case 'tls':
      head = `${spec.type}:${_hostText(spec.host)}:${spec.port}`;
      break;
    case 'tcp-listen':
    case 'udp-listen':
    case 'tls-listen':
      head = `${spec.type}:${spec.host === undefined ? '' : `${_hostText(spec.host)}:`}${spec.port}`;
      break;
    case 'unix':
    case 'unix-listen':
    case 'file':
      head = `${spec.type}:${_quote(spec.path)}`;
      break;
    case 'socks5':
    case 'socks4a':
    case 'http-proxy': {
      const type = spec.type === 'socks4a' && !spec.remoteDns ? 'socks4' : spec.type;
      head = `${type}:${_hostText(spec.proxyHost)}:${spec.proxyPort}:${_hostText(spec.host)}:${spec.port}`;
      break;
    }
    case 'exec':
      head = `${spec.shell ? 'system' : 'exec'}:${spec.command}`;
      break;
  }
  const parts = [head];
  const accepted = _typeDecl(spec.type).options;
  for (const decl of ADDRESS_OPTIONS) {
    if (!accepted.includes(decl.name)) continue;
    const value = decl.name === 'pf' ? (spec as { family?: AddressFamily }).family : decl.key && spec.options[decl.key];
    if (value === undefined) continue;
    parts.push(...(decl.name === 'pf' ? [`pf=ip${value as number}`] : _formatValue(decl, value, opts.redact ?? false)));
  }
  return parts.join(',');
}

/**
 * What `--dump-address` prints: the spec, its canonical text and whether it
 * listens. Passwords are replaced by `***`, and the text as typed is left
 * out, since it may hold one.
 *
 * @param spec A parsed address.
 * @returns A plain object, ready for `JSON.stringify`.
 * @example
 * dumpAddress(parseAddress('TCP4-LISTEN:8080,fork'));
 * // { type: 'tcp-listen', port: 8080, family: 4, options: { fork: true },
 * //   canonical: 'tcp-listen:8080,fork,pf=ip4', listens: true }
 */
export function dumpAddress(spec: AddressSpec): AddressDump {
  const { text: _text, ...copy } = structuredClone(spec);
  for (const proxy of copy.options.proxy ?? []) if (proxy.password !== undefined) proxy.password = _REDACTED;
  if (copy.options.proxyAuth !== undefined) copy.options.proxyAuth.password = _REDACTED;
  return { ...copy, canonical: formatAddress(spec, { redact: true }), listens: _typeDecl(spec.type).listens } as AddressDump;
}

// ---------------------------------------------------------------- tables for help and docs

/**
 * The address types as rows for `--help`, the man page and the README.
 *
 * @returns One row per type, in registry order.
 */
export function addressTypesTable(): AddressTypeRow[] {
  return ADDRESS_TYPES.map((t) => ({
    type: t.name,
    aliases: [...t.aliases],
    syntax: t.syntax,
    help: t.help,
    listens: t.listens,
    options: [...t.options],
    examples: [...t.examples],
  }));
}

/**
 * The address options as rows for `--help`, the man page and the README.
 *
 * @returns One row per option, in registry order, with the types accepting it.
 */
export function addressOptionsTable(): AddressOptionRow[] {
  return ADDRESS_OPTIONS.map((o) => ({
    option: o.name,
    aliases: [...o.aliases],
    syntax: o.value === undefined ? o.name : `${o.name}=${o.value}`,
    kind: o.kind,
    repeatable: o.repeatable ?? false,
    help: o.help,
    types: ADDRESS_TYPES.filter((t) => t.options.includes(o.name)).map((t) => t.name),
  }));
}
