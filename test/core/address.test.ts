// Tests for the address grammar (src/core/address.ts): the registry, every
// address type and alias, every option's conversion, the tokenizer (brackets,
// quotes, escapes), the socat-style proxy forms, the formatter's round trip,
// and every usage error with its exact message.
import { describe, it, expect } from 'vitest';
import {
  ADDRESS_OPTIONS,
  ADDRESS_TYPES,
  UsageError,
  addressOptionsTable,
  addressTypesTable,
  dumpAddress,
  formatAddress,
  formatProxyUrl,
  parseAddress,
  parseHostPort,
  parsePort,
  parseProxyUrl,
} from 'wirecat';
import type { AddressSpec } from 'wirecat';

/** The message of the UsageError that `fn` throws (fails if it throws anything else). */
function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).code).toBe('ERR_USAGE');
    return (err as Error).message;
  }
  throw new Error('expected a UsageError, nothing was thrown');
}

/** The spec without `text`, to compare parses of different spellings. */
function withoutText(spec: AddressSpec): Omit<AddressSpec, 'text'> {
  const { text: _text, ...rest } = spec;
  return rest;
}

const TYPE_NAMES =
  'stdio, tcp, tcp-listen, udp, udp-listen, unix, unix-listen, tls, tls-listen, socks5, socks4a, http-proxy, exec, file';

// ---------------------------------------------------------------------------
// The registry
// ---------------------------------------------------------------------------

describe('ADDRESS_TYPES and ADDRESS_OPTIONS', () => {
  it('ADDRESS_TYPES declares each type of SPEC.md once, in order', () => {
    expect(ADDRESS_TYPES.map((t) => t.name).join(', ')).toBe(TYPE_NAMES);
  });

  it('ADDRESS_TYPES has no name or alias twice (case-insensitively)', () => {
    const names = ADDRESS_TYPES.flatMap((t) => [t.name, ...t.aliases]).map((n) => n.toLowerCase());
    expect(new Set(names).size).toBe(names.length);
  });

  it('ADDRESS_OPTIONS has no name or alias twice', () => {
    const names = ADDRESS_OPTIONS.flatMap((o) => [o.name, ...o.aliases]);
    expect(new Set(names).size).toBe(names.length);
  });

  it('ADDRESS_TYPES lists only declared options, and every option belongs to some type', () => {
    const declared = new Set(ADDRESS_OPTIONS.map((o) => o.name));
    const used = new Set(ADDRESS_TYPES.flatMap((t) => t.options));
    for (const name of used) expect(declared.has(name)).toBe(true);
    for (const name of declared) expect(used.has(name)).toBe(true);
  });

  it('ADDRESS_TYPES: every implied alias is one of the type\'s aliases', () => {
    for (const t of ADDRESS_TYPES) for (const alias of Object.keys(t.implies ?? {})) expect(t.aliases).toContain(alias);
  });

  it('ADDRESS_TYPES: every example parses to its own type', () => {
    for (const t of ADDRESS_TYPES) {
      expect(t.examples.length).toBeGreaterThan(0);
      for (const example of t.examples) expect(parseAddress(example).type).toBe(t.name);
    }
  });

  it('ADDRESS_TYPES: listens is true exactly for the listening types', () => {
    expect(ADDRESS_TYPES.filter((t) => t.listens).map((t) => t.name)).toEqual([
      'tcp-listen',
      'udp-listen',
      'unix-listen',
      'tls-listen',
    ]);
  });

  it('ADDRESS_TYPES has the socat aliases SPEC.md lists', () => {
    const aliases = ADDRESS_TYPES.flatMap((t) => t.aliases);
    for (const alias of [
      'TCP4', 'TCP6', 'TCP-CONNECT', 'TCP-L', 'TCP4-LISTEN', 'TCP6-LISTEN', 'UDP4', 'UDP6', 'UDP-CONNECT', 'UDP-L',
      'UDP-RECVFROM', 'UNIX-CONNECT', 'UNIX-CLIENT', 'UNIX-L', 'OPENSSL', 'SSL', 'OPENSSL-LISTEN', 'SSL-L',
      'SOCKS5-CONNECT', 'SOCKS4', 'PROXY', 'SYSTEM', 'OPEN', 'CREATE', 'STDIN', 'STDOUT', '-',
    ]) {
      expect(aliases).toContain(alias);
    }
  });
});

describe('addressTypesTable() and addressOptionsTable()', () => {
  it('addressTypesTable() has one plain row per type', () => {
    const rows = addressTypesTable();
    expect(rows.map((r) => r.type).join(', ')).toBe(TYPE_NAMES);
    expect(rows[1]).toEqual({
      type: 'tcp',
      aliases: ['TCP4', 'TCP6', 'TCP-CONNECT'],
      syntax: 'tcp:HOST:PORT',
      help: 'TCP client',
      listens: false,
      options: ['pf', 'bind', 'connect-timeout', 'proxy', 'crlf'],
      examples: ['tcp:example.com:80', 'tcp:[::1]:8080,connect-timeout=5'],
    });
    expect(JSON.parse(JSON.stringify(rows))).toEqual(rows);
  });

  it('addressTypesTable() returns copies: changing a row leaves the registry alone', () => {
    addressTypesTable()[0]!.aliases.push('X');
    expect(ADDRESS_TYPES[0]!.aliases).not.toContain('X');
  });

  it('addressOptionsTable() has one row per option with its syntax and the types accepting it', () => {
    const rows = addressOptionsTable();
    expect(rows.map((r) => r.option)).toEqual(ADDRESS_OPTIONS.map((o) => o.name));
    const byName = Object.fromEntries(rows.map((r) => [r.option, r]));
    expect(byName.fork).toMatchObject({ syntax: 'fork', kind: 'flag', types: ['tcp-listen', 'udp-listen', 'unix-listen', 'tls-listen'] });
    expect(byName.backlog).toMatchObject({ syntax: 'backlog=N', kind: 'integer' });
    expect(byName.proxy).toMatchObject({ syntax: 'proxy=URL', repeatable: true, types: ['tcp', 'tls'] });
    expect(byName.socksport!.types).toEqual(['socks5', 'socks4a']);
    expect(byName.proxyport!.types).toEqual(['http-proxy']);
    expect(byName.crlf!.types.length).toBe(ADDRESS_TYPES.length);
    expect(byName['max-conns']!.aliases).toEqual(['max-children']);
    for (const row of rows) expect(row.help).not.toBe('');
  });
});

// ---------------------------------------------------------------------------
// Address types
// ---------------------------------------------------------------------------

describe('parseAddress() address types', () => {
  it('parseAddress() reads - and stdio as stdio', () => {
    expect(parseAddress('-')).toEqual({ type: 'stdio', options: {}, text: '-' });
    expect(parseAddress('stdio')).toEqual({ type: 'stdio', options: {}, text: 'stdio' });
    expect(parseAddress('-,crlf')).toEqual({ type: 'stdio', options: { crlf: true }, text: '-,crlf' });
  });

  it('parseAddress() reads tcp:HOST:PORT', () => {
    expect(parseAddress('tcp:example.com:80')).toEqual({
      type: 'tcp',
      host: 'example.com',
      port: 80,
      options: {},
      text: 'tcp:example.com:80',
    });
    expect(parseAddress('tcp:127.0.0.1:1')).toMatchObject({ host: '127.0.0.1', port: 1 });
    expect(parseAddress('tcp:h:65535')).toMatchObject({ port: 65535 });
  });

  it('parseAddress() reads bracketed IPv6 hosts, with and without a scope', () => {
    expect(parseAddress('tcp:[::1]:80')).toMatchObject({ type: 'tcp', host: '::1', port: 80 });
    expect(parseAddress('tcp:[fe80::1%eth0]:22')).toMatchObject({ host: 'fe80::1%eth0', port: 22 });
    expect(parseAddress('tcp:[2001:db8::17]:443')).toMatchObject({ host: '2001:db8::17' });
    expect(parseAddress('tcp:[::ffff:192.0.2.1]:8')).toMatchObject({ host: '::ffff:192.0.2.1' });
    expect(parseAddress('udp:[fe80::1%en0.5]:53')).toMatchObject({ type: 'udp', host: 'fe80::1%en0.5' });
    expect(parseAddress('tls:[::1]:443')).toMatchObject({ type: 'tls', host: '::1', port: 443 });
  });

  it('parseAddress() reads tcp-listen:[HOST:]PORT, port 0 included', () => {
    expect(parseAddress('tcp-listen:8080')).toEqual({ type: 'tcp-listen', port: 8080, options: {}, text: 'tcp-listen:8080' });
    expect(parseAddress('tcp-listen:0')).toMatchObject({ port: 0 });
    expect(parseAddress('tcp-listen:127.0.0.1:9000')).toMatchObject({ host: '127.0.0.1', port: 9000 });
    expect(parseAddress('tcp-listen:[::]:8080')).toMatchObject({ type: 'tcp-listen', host: '::', port: 8080 });
    expect(parseAddress('tcp-listen:[fe80::1%lo]:0')).toMatchObject({ host: 'fe80::1%lo', port: 0 });
    expect(parseAddress('tcp-listen:8080')).not.toHaveProperty('host');
  });

  it('parseAddress() reads udp: and udp-listen:', () => {
    expect(parseAddress('udp:127.0.0.1:53')).toEqual({ type: 'udp', host: '127.0.0.1', port: 53, options: {}, text: 'udp:127.0.0.1:53' });
    expect(parseAddress('udp-listen:5000')).toEqual({ type: 'udp-listen', port: 5000, options: {}, text: 'udp-listen:5000' });
    expect(parseAddress('udp-listen:[::1]:0')).toMatchObject({ host: '::1', port: 0 });
  });

  it('parseAddress() reads unix: and unix-listen: paths, colons included', () => {
    expect(parseAddress('unix:/run/app.sock')).toEqual({
      type: 'unix',
      path: '/run/app.sock',
      abstract: false,
      options: {},
      text: 'unix:/run/app.sock',
    });
    expect(parseAddress('unix-listen:/tmp/a:b.sock')).toMatchObject({ type: 'unix-listen', path: '/tmp/a:b.sock', abstract: false });
    expect(parseAddress('unix:relative.sock')).toMatchObject({ path: 'relative.sock' });
  });

  it('parseAddress() marks @name as a Linux abstract name and keeps the @', () => {
    expect(parseAddress('unix:@wirecat')).toMatchObject({ type: 'unix', path: '@wirecat', abstract: true });
    expect(parseAddress('unix-listen:@my/name,fork')).toMatchObject({
      type: 'unix-listen',
      path: '@my/name',
      abstract: true,
      options: { fork: true },
    });
  });

  it('parseAddress() reads tls: and tls-listen:', () => {
    expect(parseAddress('tls:example.com:443')).toEqual({ type: 'tls', host: 'example.com', port: 443, options: {}, text: 'tls:example.com:443' });
    expect(parseAddress('tls-listen:8443')).toEqual({ type: 'tls-listen', port: 8443, options: {}, text: 'tls-listen:8443' });
    expect(parseAddress('tls-listen:[::]:8443')).toMatchObject({ host: '::', port: 8443 });
  });

  it('parseAddress() reads socks5:PROXY:PPORT:HOST:PORT', () => {
    expect(parseAddress('socks5:127.0.0.1:9050:example.com:80')).toEqual({
      type: 'socks5',
      proxyHost: '127.0.0.1',
      proxyPort: 9050,
      host: 'example.com',
      port: 80,
      options: {},
      text: 'socks5:127.0.0.1:9050:example.com:80',
    });
    expect(parseAddress('socks5:[::1]:1080:[2001:db8::1]:22')).toMatchObject({ proxyHost: '::1', proxyPort: 1080, host: '2001:db8::1', port: 22 });
  });

  it('parseAddress() reads socks5:PROXY:HOST:PORT with socksport= or the default 1080', () => {
    expect(parseAddress('socks5:proxy:example.com:80')).toMatchObject({ proxyHost: 'proxy', proxyPort: 1080, host: 'example.com', port: 80 });
    expect(parseAddress('socks5:proxy:example.com:80,socksport=9050')).toMatchObject({ proxyPort: 9050, options: {} });
  });

  it("parseAddress() reads socks4a: socat's way: three parameters plus socksport=, default 1080", () => {
    expect(parseAddress('socks4a:proxy.lan:example.com:80')).toEqual({
      type: 'socks4a',
      proxyHost: 'proxy.lan',
      proxyPort: 1080,
      host: 'example.com',
      port: 80,
      remoteDns: true,
      options: {},
      text: 'socks4a:proxy.lan:example.com:80',
    });
    expect(parseAddress('socks4a:localhost:example.com:22,socksport=9050')).toMatchObject({ proxyHost: 'localhost', proxyPort: 9050, host: 'example.com', port: 22 });
  });

  it('parseAddress() reads socks4a: with four parameters: the second is the proxy port', () => {
    expect(parseAddress('socks4a:proxy.lan:1081:example.com:80')).toMatchObject({ proxyHost: 'proxy.lan', proxyPort: 1081, host: 'example.com', port: 80, remoteDns: true });
  });

  it('parseAddress() reads SOCKS4: as socks4a with remoteDns false (SOCKS protocol 4)', () => {
    expect(parseAddress('SOCKS4:proxy:10.0.0.5:22')).toMatchObject({ type: 'socks4a', proxyPort: 1080, host: '10.0.0.5', port: 22, remoteDns: false });
    expect(parseAddress('socks4:proxy:1081:10.0.0.5:22')).toMatchObject({ proxyPort: 1081, remoteDns: false });
  });

  it("parseAddress() reads http-proxy: socat's way: three parameters plus proxyport=, default 8080", () => {
    expect(parseAddress('http-proxy:proxy.lan:example.com:443')).toEqual({
      type: 'http-proxy',
      proxyHost: 'proxy.lan',
      proxyPort: 8080,
      host: 'example.com',
      port: 443,
      options: {},
      text: 'http-proxy:proxy.lan:example.com:443',
    });
    expect(parseAddress('PROXY:proxy:www.domain.org:22,proxyport=3128')).toMatchObject({ type: 'http-proxy', proxyHost: 'proxy', proxyPort: 3128, host: 'www.domain.org', port: 22 });
  });

  it('parseAddress() reads http-proxy: with four parameters: the second is the proxy port', () => {
    expect(parseAddress('http-proxy:proxy.lan:3128:example.com:443')).toMatchObject({ proxyPort: 3128, host: 'example.com', port: 443 });
    expect(parseAddress('http-proxy:[::1]:3128:[::2]:443')).toMatchObject({ proxyHost: '::1', host: '::2' });
  });

  it('parseAddress() reads exec: as words split like a shell, without a shell', () => {
    expect(parseAddress('exec:cat -n')).toEqual({
      type: 'exec',
      command: 'cat -n',
      argv: ['cat', '-n'],
      shell: false,
      options: {},
      text: 'exec:cat -n',
    });
    expect(parseAddress('exec:/bin/echo  a   b')).toMatchObject({ argv: ['/bin/echo', 'a', 'b'] });
    expect(parseAddress("exec:sh -c 'echo a, b' ''")).toMatchObject({ command: "sh -c 'echo a, b' ''", argv: ['sh', '-c', 'echo a, b', ''] });
    expect(parseAddress('exec:printf "%s\\n" "say \\"hi\\""')).toMatchObject({ argv: ['printf', '%s\\n', 'say "hi"'] });
    expect(parseAddress('exec:echo a\\ b')).toMatchObject({ argv: ['echo', 'a b'] });
  });

  it('parseAddress() keeps colons in an exec command and ends it at the first unquoted comma', () => {
    expect(parseAddress('exec:ssh -p 22 user@host:path,crlf')).toMatchObject({
      command: 'ssh -p 22 user@host:path',
      argv: ['ssh', '-p', '22', 'user@host:path'],
      options: { crlf: true },
    });
    expect(parseAddress('exec:echo "a,b",crlf')).toMatchObject({ argv: ['echo', 'a,b'], options: { crlf: true } });
    expect(parseAddress('exec:echo a\\,b')).toMatchObject({ command: 'echo a\\,b', argv: ['echo', 'a,b'] });
    expect(parseAddress('exec:"/opt/my tools/run" --flag')).toMatchObject({ argv: ['/opt/my tools/run', '--flag'] });
  });

  it('parseAddress() reads SYSTEM: as exec through /bin/sh -c, the command passed as written', () => {
    expect(parseAddress("system:echo 'a,b' | tr a-z A-Z")).toEqual({
      type: 'exec',
      command: "echo 'a,b' | tr a-z A-Z",
      argv: ['/bin/sh', '-c', "echo 'a,b' | tr a-z A-Z"],
      shell: true,
      options: {},
      text: "system:echo 'a,b' | tr a-z A-Z",
    });
    expect(parseAddress('SYSTEM:echo {a,b} $(date),crlf')).toMatchObject({ command: 'echo {a,b} $(date)', options: { crlf: true } });
  });

  it('parseAddress() reads file:, OPEN: and CREATE:', () => {
    expect(parseAddress('file:/tmp/in.bin')).toEqual({ type: 'file', path: '/tmp/in.bin', options: {}, text: 'file:/tmp/in.bin' });
    expect(parseAddress('OPEN:/tmp/in.bin')).toMatchObject({ type: 'file', path: '/tmp/in.bin', options: {} });
    expect(parseAddress('CREATE:/tmp/out.log')).toMatchObject({ type: 'file', path: '/tmp/out.log', options: { create: true } });
    expect(parseAddress('creat:/tmp/out.log')).toMatchObject({ options: { create: true } });
    expect(parseAddress('file:C:/x:y')).toMatchObject({ path: 'C:/x:y' });
  });

  it('parseAddress() returns a plain JSON-serialisable object', () => {
    const spec = parseAddress('tls:example.com:443,proxy=socks5://u:p@127.0.0.1:1080,alpn=h2:http/1.1,connect-timeout=2');
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
    expect(Object.getPrototypeOf(spec)).toBe(Object.prototype);
  });
});

// ---------------------------------------------------------------------------
// Aliases and case
// ---------------------------------------------------------------------------

describe('parseAddress() aliases', () => {
  it.each([
    ['STDIO', 'stdio', {}],
    ['STDIN', 'stdio', {}],
    ['STDOUT', 'stdio', {}],
  ])('parseAddress() reads %s as %s', (alias, type) => {
    expect(parseAddress(alias)).toEqual({ type, options: {}, text: alias });
  });

  it.each([
    ['TCP', 'tcp', undefined],
    ['TCP4', 'tcp', 4],
    ['TCP6', 'tcp', 6],
    ['TCP-CONNECT', 'tcp', undefined],
    ['UDP4', 'udp', 4],
    ['UDP6', 'udp', 6],
    ['UDP-CONNECT', 'udp', undefined],
    ['OPENSSL', 'tls', undefined],
    ['SSL', 'tls', undefined],
    ['OPENSSL-CONNECT', 'tls', undefined],
  ])('parseAddress() reads %s:HOST:PORT as %s with family %s', (alias, type, family) => {
    const spec = parseAddress(`${alias}:h:1`);
    expect(spec).toMatchObject({ type, host: 'h', port: 1 });
    expect((spec as { family?: number }).family).toBe(family);
  });

  it.each([
    ['TCP-LISTEN', 'tcp-listen', undefined],
    ['TCP-L', 'tcp-listen', undefined],
    ['TCP4-LISTEN', 'tcp-listen', 4],
    ['TCP6-LISTEN', 'tcp-listen', 6],
    ['TCP4-L', 'tcp-listen', 4],
    ['TCP6-L', 'tcp-listen', 6],
    ['UDP-L', 'udp-listen', undefined],
    ['UDP-RECVFROM', 'udp-listen', undefined],
    ['UDP4-LISTEN', 'udp-listen', 4],
    ['UDP6-LISTEN', 'udp-listen', 6],
    ['OPENSSL-LISTEN', 'tls-listen', undefined],
    ['SSL-L', 'tls-listen', undefined],
  ])('parseAddress() reads %s:PORT as %s with family %s', (alias, type, family) => {
    const spec = parseAddress(`${alias}:7`);
    expect(spec).toMatchObject({ type, port: 7 });
    expect((spec as { family?: number }).family).toBe(family);
  });

  it.each([
    ['UNIX-CONNECT', 'unix'],
    ['UNIX-CLIENT', 'unix'],
    ['UNIX-L', 'unix-listen'],
    ['UNIX-LISTEN', 'unix-listen'],
    ['OPEN', 'file'],
  ])('parseAddress() reads %s:PATH as %s', (alias, type) => {
    expect(parseAddress(`${alias}:/p`)).toMatchObject({ type, path: '/p' });
  });

  it.each([
    ['SOCKS5-CONNECT', 'socks5', 1080],
    ['SOCKS4A', 'socks4a', 1080],
    ['PROXY', 'http-proxy', 8080],
    ['PROXY-CONNECT', 'http-proxy', 8080],
  ])('parseAddress() reads %s:PROXY:HOST:PORT as %s (default proxy port %s)', (alias, type, proxyPort) => {
    expect(parseAddress(`${alias}:p:h:1`)).toMatchObject({ type, proxyHost: 'p', proxyPort, host: 'h', port: 1 });
  });

  it('parseAddress() reads EXEC: as exec without a shell', () => {
    expect(parseAddress('EXEC:cat')).toMatchObject({ type: 'exec', argv: ['cat'], shell: false });
  });

  it('parseAddress() reads type names and option names case-insensitively', () => {
    expect(withoutText(parseAddress('Tcp-Listen:80,FORK,ReuseAddr,BackLog=5'))).toEqual(
      withoutText(parseAddress('tcp-listen:80,fork,reuseaddr,backlog=5')),
    );
    expect(parseAddress('tcp4:h:1')).toMatchObject({ family: 4 });
    expect(parseAddress('Socks4:p:h:1')).toMatchObject({ remoteDns: false });
    expect(parseAddress('system:true')).toMatchObject({ shell: true });
    expect(parseAddress('Create:/x')).toMatchObject({ options: { create: true } });
  });

  it('parseAddress() keeps the case of hosts, paths and option values', () => {
    expect(parseAddress('TCP:Example.COM:80')).toMatchObject({ host: 'Example.COM' });
    expect(parseAddress('UNIX:/Tmp/S')).toMatchObject({ path: '/Tmp/S' });
    expect(parseAddress('TLS:h:1,SERVERNAME=Name.Example')).toMatchObject({ options: { servername: 'Name.Example' } });
  });
});

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

describe('parseAddress() options', () => {
  it('parseAddress() reads flags: fork, reuseaddr, unlink-early, create, append, crlf', () => {
    expect(parseAddress('tcp-listen:80,fork,reuseaddr,crlf').options).toEqual({ fork: true, reuseAddr: true, crlf: true });
    expect(parseAddress('udp-listen:80,fork,reuseaddr').options).toEqual({ fork: true, reuseAddr: true });
    expect(parseAddress('unix-listen:/s,unlink-early,fork').options).toEqual({ unlinkEarly: true, fork: true });
    expect(parseAddress('file:/f,create').options).toEqual({ create: true });
    expect(parseAddress('file:/f,append').options).toEqual({ append: true });
    expect(parseAddress('file:/f,create,append').options).toEqual({ create: true, append: true });
    expect(parseAddress('exec:cat,crlf').options).toEqual({ crlf: true });
  });

  it("parseAddress() reads socat's option aliases", () => {
    expect(parseAddress('tcp-listen:80,max-children=3').options).toEqual({ maxConns: 3 });
    expect(parseAddress('unix-listen:/s,perm=0644').options).toEqual({ mode: 0o644 });
    expect(parseAddress('unix-listen:/s,unlink-stale').options).toEqual({ unlinkEarly: true });
    expect(parseAddress('stdio,crnl').options).toEqual({ crlf: true });
    expect(parseAddress('file:/f,creat').options).toEqual({ create: true });
    expect(parseAddress('file:/f,o-creat,o-append').options).toEqual({ create: true, append: true });
    expect(parseAddress('tls:h:1,certificate=c.pem,openssl-key=k.pem,openssl-cafile=ca.pem,openssl-verify=0').options).toEqual({
      cert: 'c.pem',
      key: 'k.pem',
      cafile: 'ca.pem',
      verify: false,
    });
    expect(parseAddress('tls:h:1,openssl-certificate=c.pem,snihost=s').options).toEqual({ cert: 'c.pem', servername: 's' });
    expect(parseAddress('tls:h:1,openssl-snihost=s').options).toEqual({ servername: 's' });
    expect(parseAddress('tcp:h:1,protocol-family=ip6')).toMatchObject({ family: 6 });
    expect(parseAddress('proxy:p:h:1,proxy-authorization=u:p').options).toEqual({ proxyAuth: { user: 'u', password: 'p' } });
  });

  it('parseAddress() reads integers: backlog=N, max-conns=N', () => {
    expect(parseAddress('tcp-listen:80,backlog=511,max-conns=10').options).toEqual({ backlog: 511, maxConns: 10 });
    expect(parseAddress('unix-listen:/s,backlog=1,max-conns=1').options).toEqual({ backlog: 1, maxConns: 1 });
    expect(parseAddress('tls-listen:443,backlog=007').options).toEqual({ backlog: 7 });
  });

  it('parseAddress() reads pf=ip4|ip6 (and ipv4, inet, 4, ...) into family', () => {
    for (const v of ['ip4', 'IPv4', 'inet', '4']) expect(parseAddress(`tcp:h:1,pf=${v}`)).toMatchObject({ family: 4, options: {} });
    for (const v of ['ip6', 'ipv6', 'INET6', '6']) expect(parseAddress(`tcp-listen:1,pf=${v}`)).toMatchObject({ family: 6, options: {} });
    expect(parseAddress('socks5:p:h:1,pf=ip6')).toMatchObject({ family: 6 });
    expect(parseAddress('tcp4:h:1,pf=ip4')).toMatchObject({ family: 4 });
  });

  it('parseAddress() reads bind=ADDR[:PORT]: port 0 when absent, host absent for bind=:PORT', () => {
    expect(parseAddress('tcp:h:1,bind=192.0.2.1').options).toEqual({ bind: { host: '192.0.2.1', port: 0 } });
    expect(parseAddress('tcp:h:1,bind=192.0.2.1:5000').options).toEqual({ bind: { host: '192.0.2.1', port: 5000 } });
    expect(parseAddress('udp:h:1,bind=:5001').options).toEqual({ bind: { port: 5001 } });
    expect(parseAddress('tcp:h:1,bind=[::1]:0').options).toEqual({ bind: { host: '::1', port: 0 } });
    expect(parseAddress('tcp:h:1,bind=[fe80::1%eth0]:7').options).toEqual({ bind: { host: 'fe80::1%eth0', port: 7 } });
    expect(parseAddress('tcp:h:1,bind=::1').options).toEqual({ bind: { host: '::1', port: 0 } });
    expect(parseAddress('socks4a:p:h:1,bind=10.0.0.1').options).toEqual({ bind: { host: '10.0.0.1', port: 0 } });
  });

  it('parseAddress() reads connect-timeout=SECS into connectTimeoutMs', () => {
    expect(parseAddress('tcp:h:1,connect-timeout=5').options).toEqual({ connectTimeoutMs: 5000 });
    expect(parseAddress('tls:h:1,connect-timeout=2.5').options).toEqual({ connectTimeoutMs: 2500 });
    expect(parseAddress('http-proxy:p:h:1,connect-timeout=.25').options).toEqual({ connectTimeoutMs: 250 });
    expect(parseAddress('socks5:p:1:h:1,connect-timeout=0.001').options).toEqual({ connectTimeoutMs: 1 });
  });

  it('parseAddress() reads proxy=URL, repeated as a chain in order', () => {
    expect(parseAddress('tcp:h:1,proxy=socks5://127.0.0.1:1080').options).toEqual({
      proxy: [{ protocol: 'socks5', host: '127.0.0.1', port: 1080, remoteDns: true }],
    });
    expect(parseAddress('tls:example.com:443,proxy=http://a:3128,proxy=socks4a://b,proxy=socks5h://u:p@[::1]').options.proxy).toEqual([
      { protocol: 'http', host: 'a', port: 3128, remoteDns: true },
      { protocol: 'socks4a', host: 'b', port: 1080, remoteDns: true },
      { protocol: 'socks5', host: '::1', port: 1080, user: 'u', password: 'p', remoteDns: true },
    ]);
  });

  it('parseAddress() reads the TLS options: verify, cafile, cert, key, servername, alpn', () => {
    expect(parseAddress('tls:h:443,verify=0,cafile=/etc/ca.pem,cert=c.pem,key=k.pem,servername=other.example').options).toEqual({
      verify: false,
      cafile: '/etc/ca.pem',
      cert: 'c.pem',
      key: 'k.pem',
      servername: 'other.example',
    });
    expect(parseAddress('tls-listen:443,verify=1,cafile=clients.pem,cert=s.pem,key=s.key,alpn=h2').options).toEqual({
      verify: true,
      cafile: 'clients.pem',
      cert: 's.pem',
      key: 's.key',
      alpn: ['h2'],
    });
  });

  it('parseAddress() reads alpn= as a colon list, a quoted comma list, or repeated', () => {
    expect(parseAddress('tls:h:1,alpn=h2:http/1.1').options).toEqual({ alpn: ['h2', 'http/1.1'] });
    expect(parseAddress("tls:h:1,alpn='h2,http/1.1'").options).toEqual({ alpn: ['h2', 'http/1.1'] });
    expect(parseAddress('tls:h:1,alpn="h2,http/1.1",verify=1').options).toEqual({ alpn: ['h2', 'http/1.1'], verify: true });
    expect(parseAddress('tls:h:1,alpn=h2,alpn=http/1.1').options).toEqual({ alpn: ['h2', 'http/1.1'] });
  });

  it('parseAddress() reads mode= as an octal number', () => {
    expect(parseAddress('unix-listen:/s,mode=0600').options).toEqual({ mode: 0o600 });
    expect(parseAddress('unix-listen:/s,mode=600').options).toEqual({ mode: 0o600 });
    expect(parseAddress('file:/f,create,mode=0644').options).toEqual({ create: true, mode: 0o644 });
    expect(parseAddress('file:/f,mode=1777').options).toEqual({ mode: 0o1777 });
    expect(parseAddress('file:/f,mode=0').options).toEqual({ mode: 0 });
  });

  it('parseAddress() reads socksuser= and proxyauth=', () => {
    expect(parseAddress('socks4a:p:h:1,socksuser=nobody').options).toEqual({ socksUser: 'nobody' });
    expect(parseAddress('http-proxy:p:h:1,proxyauth=user:s3cr:et').options).toEqual({ proxyAuth: { user: 'user', password: 's3cr:et' } });
    expect(parseAddress('http-proxy:p:h:1,proxyauth=user:').options).toEqual({ proxyAuth: { user: 'user', password: '' } });
  });

  it('parseAddress() folds socksport= and proxyport= into proxyPort, not options', () => {
    expect(parseAddress('socks4a:p:h:1,socksport=1081')).toMatchObject({ proxyPort: 1081, options: {} });
    expect(parseAddress('http-proxy:p:h:1,proxyport=3128')).toMatchObject({ proxyPort: 3128, options: {} });
  });

  it('parseAddress() unquotes option values, so they may hold commas', () => {
    expect(parseAddress("tls:h:1,cert='/etc/a,b.pem',key=\"/etc/k \\\"1\\\".pem\"").options).toEqual({
      cert: '/etc/a,b.pem',
      key: '/etc/k "1".pem',
    });
    expect(parseAddress('tls:h:1,cafile=/etc/a\\,b.pem').options).toEqual({ cafile: '/etc/a,b.pem' });
    expect(parseAddress("tcp:h:1,proxy='socks5://u:a,b@p'").options.proxy).toEqual([
      { protocol: 'socks5', host: 'p', port: 1080, user: 'u', password: 'a,b', remoteDns: true },
    ]);
  });

  it('parseAddress() unquotes hosts and paths', () => {
    expect(parseAddress("tcp:'example.com':'80'")).toMatchObject({ host: 'example.com', port: 80 });
    expect(parseAddress("unix:'/tmp/a,b.sock',crlf")).toMatchObject({ type: 'unix', path: '/tmp/a,b.sock', options: { crlf: true } });
    expect(parseAddress('file:"/tmp/my file",append')).toMatchObject({ path: '/tmp/my file', options: { append: true } });
    expect(parseAddress('unix-listen:/tmp/x\\,y,fork')).toMatchObject({ path: '/tmp/x,y', options: { fork: true } });
  });
});

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

describe('parseAddress() errors', () => {
  it.each([
    ['', 'empty address'],
    ['tpc:localhost:80', `unknown address type 'tpc' in 'tpc:localhost:80' (valid: ${TYPE_NAMES})`],
    ['localhost', `unknown address type 'localhost' in 'localhost' (valid: ${TYPE_NAMES})`],
    ['[::1]:80', `unknown address type '[' in '[::1]:80' (valid: ${TYPE_NAMES})`],
    ['ABSTRACT-CONNECT:x', `unknown address type 'ABSTRACT-CONNECT' in 'ABSTRACT-CONNECT:x' (valid: ${TYPE_NAMES})`],
  ])('parseAddress(%j) fails: %s', (text, message) => {
    expect(usageError(() => parseAddress(text))).toBe(message);
  });

  it.each([
    ['tcp:localhost', "missing port in 'tcp:localhost'"],
    ['tcp:localhost:', "missing port in 'tcp:localhost:'"],
    ['tcp:', "missing host and port in 'tcp:' (tcp:HOST:PORT)"],
    ['tcp', "missing host and port in 'tcp' (tcp:HOST:PORT)"],
    ['udp:', "missing host and port in 'udp:' (udp:HOST:PORT)"],
    ['tcp::80', "missing host in 'tcp::80'"],
    ['tcp:h:99999', "bad port '99999' in 'tcp:h:99999' (1-65535)"],
    ['tcp:h:0', "bad port '0' in 'tcp:h:0' (1-65535)"],
    ['tcp:h:http', "bad port 'http' in 'tcp:h:http' (1-65535)"],
    ['tcp:h:-1', "bad port '-1' in 'tcp:h:-1' (1-65535)"],
    ['tcp:h:8e1', "bad port '8e1' in 'tcp:h:8e1' (1-65535)"],
    ['tls:h:123456', "bad port '123456' in 'tls:h:123456' (1-65535)"],
    ['tcp-listen:65536', "bad port '65536' in 'tcp-listen:65536' (0-65535)"],
    ['tcp-listen:', "missing port in 'tcp-listen:'"],
    ['tcp-listen', "missing port in 'tcp-listen'"],
    ['udp-listen:h:', "missing port in 'udp-listen:h:'"],
    ['tcp-listen::80', "missing host in 'tcp-listen::80'"],
    ['tcp:a:b:c', "too many parameters in 'tcp:a:b:c' (tcp:HOST:PORT; IPv6 addresses go in brackets: [::1])"],
    ['tcp:::1:80', "too many parameters in 'tcp:::1:80' (tcp:HOST:PORT; IPv6 addresses go in brackets: [::1])"],
    ['tcp-listen:::8080', "too many parameters in 'tcp-listen:::8080' (tcp-listen:[HOST:]PORT; IPv6 addresses go in brackets: [::])"],
    ['tcp:[::1:80', "unclosed '[' in 'tcp:[::1:80'"],
    ['tcp:[localhost]:80', "bad IPv6 address '[localhost]' in 'tcp:[localhost]:80' (e.g. [::1] or [fe80::1%eth0])"],
    ['tcp:[]:80', "bad IPv6 address '[]' in 'tcp:[]:80' (e.g. [::1] or [fe80::1%eth0])"],
    ['tcp:[::1]x:80', "bad IPv6 address '[::1]x' in 'tcp:[::1]x:80' (e.g. [::1] or [fe80::1%eth0])"],
    ["exec:echo 'a", "unterminated single quote in 'exec:echo 'a'"],
    ['exec:echo "a', `unterminated double quote in 'exec:echo "a'`],
    ['system:echo $(date', "unclosed '(' in 'system:echo $(date'"],
    ['exec:', "missing command in 'exec:' (exec:CMD ARGS)"],
    ['exec:   ', "missing command in 'exec:   ' (exec:CMD ARGS)"],
    ['system:', "missing command in 'system:' (exec:CMD ARGS)"],
    ['unix:', "missing path in 'unix:' (unix:PATH)"],
    ['unix-listen', "missing path in 'unix-listen' (unix-listen:PATH)"],
    ['unix:@', "missing abstract name after '@' in 'unix:@'"],
    ['file:', "missing path in 'file:' (file:PATH)"],
    ['stdio:x', "stdio takes no parameters, in 'stdio:x'"],
    ['-:', "stdio takes no parameters, in '-:'"],
    ['socks5:p:h', "missing parameters in 'socks5:p:h' (socks5:PROXY[:PPORT]:HOST:PORT)"],
    ['socks4a:p', "missing parameters in 'socks4a:p' (socks4a:PROXY[:PPORT]:HOST:PORT)"],
    ['http-proxy:', "missing parameters in 'http-proxy:' (http-proxy:PROXY[:PPORT]:HOST:PORT)"],
    ['socks5:a:1:b:2:c', "too many parameters in 'socks5:a:1:b:2:c' (socks5:PROXY[:PPORT]:HOST:PORT; IPv6 addresses go in brackets: [::1])"],
    ['socks4a::h:1', "missing proxy host in 'socks4a::h:1'"],
    ['socks4a:p::1', "missing host in 'socks4a:p::1'"],
    ['socks4a:p:h:0', "bad port '0' in 'socks4a:p:h:0' (1-65535)"],
    ['socks5:p:0:h:1', "bad proxy port '0' in 'socks5:p:0:h:1' (1-65535)"],
    ['socks4a:p:1081:h:1,socksport=1082', "option 'socksport' conflicts with the proxy port given in 'socks4a:p:1081:h:1,socksport=1082'"],
    ['proxy:p:3128:h:1,proxyport=3128', "option 'proxyport' conflicts with the proxy port given in 'proxy:p:3128:h:1,proxyport=3128'"],
  ])('parseAddress(%j) fails: %s', (text, message) => {
    expect(usageError(() => parseAddress(text))).toBe(message);
  });

  it.each([
    ['tcp-listen:80,forkk', "unknown option 'forkk' for tcp-listen (valid: fork, reuseaddr, backlog, max-conns, pf, bind, crlf)"],
    ['TCP-L:80,FORKK', "unknown option 'forkk' for tcp-listen (valid: fork, reuseaddr, backlog, max-conns, pf, bind, crlf)"],
    ['tcp:h:80,fork', "option 'fork' is not valid for tcp (valid: pf, bind, connect-timeout, proxy, crlf)"],
    ['tcp:h:80,socksport=1', "option 'socksport' is not valid for tcp (valid: pf, bind, connect-timeout, proxy, crlf)"],
    ['tls:h:1,mode=0600', "option 'mode' is not valid for tls (valid: pf, bind, connect-timeout, proxy, verify, cafile, cert, key, servername, alpn, crlf)"],
    ['tls-listen:1,servername=x', "option 'servername' is not valid for tls-listen (valid: fork, reuseaddr, backlog, max-conns, pf, bind, verify, cafile, cert, key, alpn, crlf)"],
    ['udp-listen:1,backlog=5', "option 'backlog' is not valid for udp-listen (valid: fork, reuseaddr, pf, bind, crlf)"],
    ['unix:/s,pf=ip4', "option 'pf' is not valid for unix (valid: crlf)"],
    ['stdio,fork', "option 'fork' is not valid for stdio (valid: crlf)"],
    ['exec:cat,fork', "option 'fork' is not valid for exec (valid: crlf)"],
    ['file:/f,unlink-early', "option 'unlink-early' is not valid for file (valid: create, append, mode, crlf)"],
    ['socks5:p:h:1,proxyport=1', "option 'proxyport' is not valid for socks5 (valid: pf, bind, connect-timeout, socksport, proxyauth, proxyauth-file, resolve, crlf)"],
    ['http-proxy:p:h:1,socksuser=x', "option 'socksuser' is not valid for http-proxy (valid: pf, bind, connect-timeout, proxyport, proxyauth, proxyauth-file, resolve, crlf)"],
    ['socks4a:p:h:1,proxy=http://x', "option 'proxy' is not valid for socks4a (valid: pf, bind, connect-timeout, socksport, socksuser, crlf)"],
    ['unix-listen:/s,max-children=2,reuseaddr', "option 'reuseaddr' is not valid for unix-listen (valid: fork, backlog, max-conns, mode, unlink-early, crlf)"],
  ])('parseAddress(%j) fails: %s', (text, message) => {
    expect(usageError(() => parseAddress(text))).toBe(message);
  });

  it.each([
    ['tcp-listen:80,fork=1', "option 'fork' takes no value"],
    ['tcp-listen:80,reuseaddr=', "option 'reuseaddr' takes no value"],
    ['tcp-listen:80,backlog', "option 'backlog' needs a value"],
    ['tcp-listen:80,backlog=', "option 'backlog' needs a value"],
    ['tls:h:1,verify', "option 'verify' needs a value"],
    ['tcp:h:1,proxy', "option 'proxy' needs a value"],
    ['tcp:h:1,', "empty option in 'tcp:h:1,'"],
    ['tcp-listen:1,,fork', "empty option in 'tcp-listen:1,,fork'"],
    ['tcp-listen:1,fork,fork', "option 'fork' given twice in 'tcp-listen:1,fork,fork'"],
    ['tcp-listen:1,max-conns=2,max-children=3', "option 'max-conns' given twice in 'tcp-listen:1,max-conns=2,max-children=3'"],
    ['tcp-listen:80,backlog=0', "bad value '0' for option 'backlog' in 'tcp-listen:80,backlog=0' (an integer, 1 or more)"],
    ['tcp-listen:80,backlog=-1', "bad value '-1' for option 'backlog' in 'tcp-listen:80,backlog=-1' (an integer, 1 or more)"],
    ['tcp-listen:80,max-conns=1.5', "bad value '1.5' for option 'max-conns' in 'tcp-listen:80,max-conns=1.5' (an integer, 1 or more)"],
    ['tcp:h:1,connect-timeout=abc', "bad value 'abc' for option 'connect-timeout' in 'tcp:h:1,connect-timeout=abc' (seconds, e.g. 5 or 0.5)"],
    ['tcp:h:1,connect-timeout=0', "bad value '0' for option 'connect-timeout' in 'tcp:h:1,connect-timeout=0' (seconds, e.g. 5 or 0.5)"],
    ['tcp:h:1,connect-timeout=-2', "bad value '-2' for option 'connect-timeout' in 'tcp:h:1,connect-timeout=-2' (seconds, e.g. 5 or 0.5)"],
    ['tls:h:1,verify=yes', "bad value 'yes' for option 'verify' in 'tls:h:1,verify=yes' (0 or 1)"],
    ['unix-listen:/s,mode=0800', "bad value '0800' for option 'mode' in 'unix-listen:/s,mode=0800' (octal, e.g. 0600)"],
    ['unix-listen:/s,mode=rw', "bad value 'rw' for option 'mode' in 'unix-listen:/s,mode=rw' (octal, e.g. 0600)"],
    ["tls:h:1,cert=''", "bad value '' for option 'cert' in 'tls:h:1,cert=''' (not empty)"],
    ['tls:h:1,alpn=h2::http/1.1', "bad value 'h2::http/1.1' for option 'alpn' in 'tls:h:1,alpn=h2::http/1.1' (names separated by colons, e.g. h2:http/1.1)"],
    ['tcp:h:1,pf=ip5', "bad value 'ip5' for option 'pf' in 'tcp:h:1,pf=ip5' (ip4 or ip6)"],
    ['tcp4:h:1,pf=ip6', "option 'pf=ip6' conflicts with 'tcp4' (IPv4) in 'tcp4:h:1,pf=ip6'"],
    ['TCP6-LISTEN:1,pf=4', "option 'pf=ip4' conflicts with 'TCP6-LISTEN' (IPv6) in 'TCP6-LISTEN:1,pf=4'"],
    ['proxy:p:h:1,proxyauth=user', "bad value 'user' for option 'proxyauth' in 'proxy:p:h:1,proxyauth=user' (USER:PASS)"],
    ['proxy:p:h:1,proxyauth=:pass', "bad value ':pass' for option 'proxyauth' in 'proxy:p:h:1,proxyauth=:pass' (USER:PASS)"],
    ['socks4a:p:h:1,socksport=0', "bad socksport '0' in 'socks4a:p:h:1,socksport=0' (1-65535)"],
    ['http-proxy:p:h:1,proxyport=x', "bad proxyport 'x' in 'http-proxy:p:h:1,proxyport=x' (1-65535)"],
    ['tcp:h:1,bind=1.2.3.4:99999', "bad port '99999' in 'tcp:h:1,bind=1.2.3.4:99999' (0-65535)"],
    ['tcp:h:1,bind=[::1', "unclosed '[' in 'tcp:h:1,bind=[::1'"],
    ['tcp:h:1,proxy=ftp://x', "unknown proxy scheme 'ftp' in 'ftp://x' (valid: socks5://, socks5h://, socks4a://, socks4://, http://)"],
  ])('parseAddress(%j) fails: %s', (text, message) => {
    expect(usageError(() => parseAddress(text))).toBe(message);
  });

  it('parseAddress() reports the parameters before the options', () => {
    expect(usageError(() => parseAddress('tcp:localhost,forkk'))).toBe("missing port in 'tcp:localhost,forkk'");
  });
});

// ---------------------------------------------------------------------------
// formatAddress() and the round trip
// ---------------------------------------------------------------------------

describe('formatAddress()', () => {
  it.each([
    ['-', 'stdio'],
    ['STDIN,crnl', 'stdio,crlf'],
    ['TCP4:example.com:80', 'tcp:example.com:80,pf=ip4'],
    ['tcp:[fe80::1%eth0]:22,connect-timeout=2.5', 'tcp:[fe80::1%eth0]:22,connect-timeout=2.5'],
    ['TCP-L:8080,reuseaddr,fork', 'tcp-listen:8080,fork,reuseaddr'],
    ['tcp6-listen:[::]:0,backlog=5,max-children=2', 'tcp-listen:[::]:0,backlog=5,max-conns=2,pf=ip6'],
    ['UDP-RECVFROM:5353,fork', 'udp-listen:5353,fork'],
    ['udp:h:53,bind=:5000', 'udp:h:53,bind=:5000'],
    ['tcp:h:1,bind=[::1]', 'tcp:h:1,bind=[::1]'],
    ['tcp:h:1,bind=10.0.0.1:7', 'tcp:h:1,bind=10.0.0.1:7'],
    ['UNIX-CLIENT:@name', 'unix:@name'],
    ['unix-listen:/tmp/s,perm=600,unlink-early', 'unix-listen:/tmp/s,mode=0600,unlink-early'],
    ["unix:'/tmp/a,b'", "unix:'/tmp/a,b'"],
    ['SSL:h:443,openssl-verify=0,alpn=h2,alpn=http/1.1', 'tls:h:443,verify=0,alpn=h2:http/1.1'],
    ['tls:h:443,proxy=socks5h://127.0.0.1', 'tls:h:443,proxy=socks5://127.0.0.1:1080'],
    ['tls:h:443,proxy=socks5://[::1]:9050', "tls:h:443,proxy='socks5://[::1]:9050'"],
    ["tls:h:1,cert='/etc/a,b.pem'", "tls:h:1,cert='/etc/a,b.pem'"],
    ['SOCKS5-CONNECT:p:h:1', 'socks5:p:1080:h:1'],
    ['socks4a:p:h:1,socksport=9050,socksuser=me', 'socks4a:p:9050:h:1,socksuser=me'],
    ['SOCKS4:p:h:1', 'socks4:p:1080:h:1'],
    ['PROXY:p:h:443,proxyport=3128,proxyauth=u:pw', 'http-proxy:p:3128:h:443,proxyauth=u:pw'],
    ["exec:sh -c 'echo a,b',crlf", "exec:sh -c 'echo a,b',crlf"],
    ['SYSTEM:echo {a,b}', 'system:echo {a,b}'],
    ['CREATE:/tmp/o,mode=644', 'file:/tmp/o,mode=0644,create'],
    ['open:/tmp/i', 'file:/tmp/i'],
  ])('formatAddress(parseAddress(%j)) is %j', (text, canonical) => {
    expect(formatAddress(parseAddress(text))).toBe(canonical);
  });

  it.each([
    '-',
    'stdio,crlf',
    'tcp:example.com:80,pf=ip4,bind=10.0.0.1:5000,connect-timeout=0.5,proxy=http://u:p@a:3128,proxy=socks4://b,crlf',
    'TCP6:[2001:db8::1]:443',
    'tcp-listen:[fe80::1%eth0]:0,fork,reuseaddr,backlog=10,max-conns=3',
    'udp:[::1]:53,bind=[::1]:0',
    'udp-listen:0.0.0.0:5353,fork,reuseaddr,pf=ip4',
    'unix:@abstract',
    'unix-listen:/run/a:b.sock,fork,backlog=2,max-conns=2,mode=0600,unlink-early,crlf',
    "tls:h:443,verify=0,cafile='/x y/ca.pem',cert=c.pem,key=k.pem,servername=s,alpn='h2,http/1.1'",
    'tls-listen:[::]:8443,fork,verify=1,cafile=ca,cert=c,key=k,alpn=h2',
    'socks5:[::1]:1080:example.com:80,pf=ip6,bind=:0,connect-timeout=3',
    'socks4a:p:h:1,socksport=1081,socksuser=me',
    'SOCKS4:p:1081:10.0.0.1:22',
    "http-proxy:p:h:1,proxyport=3128,proxyauth='me:p,w'",
    'exec:printf "%s\\n" a\\,b \'c d\'',
    'system:cat | tr a b,crlf',
    'CREATE:/tmp/o,append,mode=0640',
    "file:'/tmp/a\"b'",
    'file:"/tmp/it\'s,here"',
  ])('parseAddress(formatAddress(parseAddress(%j))) gives the same address', (text) => {
    const spec = parseAddress(text);
    const canonical = formatAddress(spec);
    const again = parseAddress(canonical);
    expect(withoutText(again)).toEqual(withoutText(spec));
    expect(formatAddress(again)).toBe(canonical);
  });

  it('formatAddress() writes specs built by hand', () => {
    expect(formatAddress({ type: 'tcp', host: '::1', port: 80, options: { fork: undefined }, text: '' })).toBe('tcp:[::1]:80');
    expect(formatAddress({ type: 'tcp-listen', port: 0, options: { reuseAddr: false }, text: '' })).toBe('tcp-listen:0');
    expect(formatAddress({ type: 'tls', host: 'odd,host', port: 1, options: { verify: true }, text: '' })).toBe("tls:'odd,host':1,verify=1");
  });

  it('formatAddress() with redact writes *** for passwords', () => {
    const spec = parseAddress('tcp:h:1,proxy=socks5://me:secret@p:1080');
    expect(formatAddress(spec, { redact: true })).toBe('tcp:h:1,proxy=socks5://me:***@p:1080');
    expect(formatAddress(parseAddress('proxy:p:h:1,proxyauth=me:secret'), { redact: true })).toBe('http-proxy:p:8080:h:1,proxyauth=me:***');
  });
});

describe('dumpAddress()', () => {
  it('dumpAddress() gives the spec without its text, the canonical text and whether it listens', () => {
    expect(dumpAddress(parseAddress('TCP4-LISTEN:8080,fork'))).toEqual({
      type: 'tcp-listen',
      port: 8080,
      family: 4,
      options: { fork: true },
      canonical: 'tcp-listen:8080,fork,pf=ip4',
      listens: true,
    });
    expect(dumpAddress(parseAddress('-'))).toMatchObject({ canonical: 'stdio', listens: false });
  });

  it('dumpAddress() hides passwords, leaves out the typed text and leaves the spec alone', () => {
    const spec = parseAddress('tcp:h:1,proxy=http://me:secret@p:3128');
    const dump = dumpAddress(spec);
    expect(dump.options.proxy).toEqual([{ protocol: 'http', host: 'p', port: 3128, user: 'me', password: '***', remoteDns: true }]);
    expect(dump.canonical).toBe('tcp:h:1,proxy=http://me:***@p:3128');
    expect(JSON.stringify(dump)).not.toContain('secret');
    expect(spec.options.proxy![0]!.password).toBe('secret');
    const auth = dumpAddress(parseAddress('proxy:p:h:1,proxyauth=me:secret'));
    expect(auth.options.proxyAuth).toEqual({ user: 'me', password: '***' });
    expect(JSON.stringify(auth)).not.toContain('secret');
  });
});

// ---------------------------------------------------------------------------
// parsePort(), parseHostPort(), parseProxyUrl()
// ---------------------------------------------------------------------------

describe('parsePort()', () => {
  it('parsePort() reads 1-65535, and 0 with allowZero', () => {
    expect(parsePort('1')).toBe(1);
    expect(parsePort('65535', 'port')).toBe(65535);
    expect(parsePort('080')).toBe(80);
    expect(parsePort('0', 'port', { allowZero: true })).toBe(0);
  });

  it.each([
    [() => parsePort('0'), "bad port '0' (1-65535)"],
    [() => parsePort('65536', 'port', { allowZero: true }), "bad port '65536' (0-65535)"],
    [() => parsePort('x', 'source port'), "bad source port 'x' (1-65535)"],
    [() => parsePort(' 80'), "bad port ' 80' (1-65535)"],
    [() => parsePort('1e3'), "bad port '1e3' (1-65535)"],
    [() => parsePort('000080'), "bad port '000080' (1-65535)"],
    [() => parsePort(''), 'missing port'],
    [() => parsePort('', 'port', { context: 'connect h' }), "missing port in 'connect h'"],
    [() => parsePort('99999', 'port', { context: 'connect h 99999' }), "bad port '99999' in 'connect h 99999' (1-65535)"],
  ])('parsePort() fails: %#', (fn, message) => {
    expect(usageError(fn)).toBe(message);
  });
});

describe('parseHostPort()', () => {
  it('parseHostPort() reads HOST:PORT and [IPV6]:PORT', () => {
    expect(parseHostPort('example.com:80')).toEqual({ host: 'example.com', port: 80 });
    expect(parseHostPort('127.0.0.1:1')).toEqual({ host: '127.0.0.1', port: 1 });
    expect(parseHostPort('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(parseHostPort('[fe80::1%eth0]:22')).toEqual({ host: 'fe80::1%eth0', port: 22 });
  });

  it('parseHostPort() uses defaultPort when no port is given, and reads bare IPv6 as a host then', () => {
    expect(parseHostPort('proxy.lan', { defaultPort: 1080 })).toEqual({ host: 'proxy.lan', port: 1080 });
    expect(parseHostPort('[::1]', { defaultPort: 1080 })).toEqual({ host: '::1', port: 1080 });
    expect(parseHostPort('fe80::1%eth0', { defaultPort: 22 })).toEqual({ host: 'fe80::1%eth0', port: 22 });
    expect(parseHostPort('h:9', { defaultPort: 1 })).toEqual({ host: 'h', port: 9 });
  });

  it('parseHostPort() accepts port 0 only with allowZero', () => {
    expect(parseHostPort('h:0', { allowZero: true })).toEqual({ host: 'h', port: 0 });
    expect(usageError(() => parseHostPort('h:0'))).toBe("bad port '0' in 'h:0' (1-65535)");
  });

  it.each([
    ['localhost', {}, "missing port in 'localhost'"],
    [':80', {}, "missing host in ':80'"],
    ['h:', {}, "missing port in 'h:'"],
    ['h:99999', {}, "bad port '99999' in 'h:99999' (1-65535)"],
    ['::1:80', {}, "IPv6 address without brackets in '::1:80' (write [::1]:PORT)"],
    ['[::1', {}, "unclosed '[' in '[::1'"],
    ['[::1]80', {}, "bad address '[::1]80' in '[::1]80' (ADDR[:PORT], IPv6 in brackets: [::1]:80)"],
    ['[host]:80', {}, "bad IPv6 address '[host]' in '[host]:80' (e.g. [::1] or [fe80::1%eth0])"],
  ])('parseHostPort(%j, %j) fails: %s', (text, opts, message) => {
    expect(usageError(() => parseHostPort(text, opts))).toBe(message);
  });
});

describe('parseProxyUrl()', () => {
  it.each([
    ['socks5://127.0.0.1:1080', { protocol: 'socks5', host: '127.0.0.1', port: 1080, remoteDns: true }],
    ['socks5://proxy', { protocol: 'socks5', host: 'proxy', port: 1080, remoteDns: true }],
    ['SOCKS5H://proxy:9050/', { protocol: 'socks5', host: 'proxy', port: 9050, remoteDns: true }],
    ['socks4a://p', { protocol: 'socks4a', host: 'p', port: 1080, remoteDns: true }],
    ['socks4://p:1081', { protocol: 'socks4', host: 'p', port: 1081, remoteDns: false }],
    ['socks4://me@p', { protocol: 'socks4', host: 'p', port: 1080, user: 'me', remoteDns: false }],
    ['http://proxy.lan', { protocol: 'http', host: 'proxy.lan', port: 8080, remoteDns: true }],
    ['http://u:p@proxy.lan:3128', { protocol: 'http', host: 'proxy.lan', port: 3128, user: 'u', password: 'p', remoteDns: true }],
    ['socks5://[::1]:1080', { protocol: 'socks5', host: '::1', port: 1080, remoteDns: true }],
    ['socks5://[fe80::1%eth0]', { protocol: 'socks5', host: 'fe80::1%eth0', port: 1080, remoteDns: true }],
    ['socks5://us%40er:p%3Aa%2Css@h', { protocol: 'socks5', host: 'h', port: 1080, user: 'us@er', password: 'p:a,ss', remoteDns: true }],
    ['socks5://u:p@ss@h:1', { protocol: 'socks5', host: 'h', port: 1, user: 'u', password: 'p@ss', remoteDns: true }],
    ['http://u:@h', { protocol: 'http', host: 'h', port: 8080, user: 'u', password: '', remoteDns: true }],
  ])('parseProxyUrl(%j) reads it', (url, expected) => {
    expect(parseProxyUrl(url)).toEqual(expected);
  });

  it.each([
    ['127.0.0.1:1080', "missing scheme in proxy URL '127.0.0.1:1080' (valid: socks5://, socks5h://, socks4a://, socks4://, http://)"],
    ['https://p:443', "unknown proxy scheme 'https' in 'https://p:443' (valid: socks5://, socks5h://, socks4a://, socks4://, http://)"],
    ['http://p:3128/path', "proxy URL 'http://p:3128/path' must not have a path, query or fragment"],
    ['http://p?x', "proxy URL 'http://p?x' must not have a path, query or fragment"],
    ['socks5://', "missing host in 'socks5://'"],
    ['socks5://h:0', "bad port '0' in 'socks5://h:0' (1-65535)"],
    ['socks5://h:99999', "bad port '99999' in 'socks5://h:99999' (1-65535)"],
    ['socks5://:pw@h', "empty user name in proxy URL 'socks5://:pw@h'"],
    ['socks5://u:%E0%A4%A@h', "bad percent-encoding in proxy URL 'socks5://u:%E0%A4%A@h'"],
    ['socks4://u:p@h', "socks4 proxies take a user id but no password, in 'socks4://u:p@h'"],
    ['socks4a://u:p@h', "socks4a proxies take a user id but no password, in 'socks4a://u:p@h'"],
  ])('parseProxyUrl(%j) fails: %s', (url, message) => {
    expect(usageError(() => parseProxyUrl(url))).toBe(message);
  });

  it('formatProxyUrl() writes the URL back, percent-encoding credentials', () => {
    for (const url of ['socks5://us%40er:p%3Aa%2Css@h:1080', 'http://proxy.lan:8080', 'socks4://me@[::1]:1081', 'socks4a://h:1080']) {
      expect(formatProxyUrl(parseProxyUrl(url))).toBe(url);
    }
    expect(formatProxyUrl(parseProxyUrl('socks5h://h'))).toBe('socks5://h:1080');
    expect(formatProxyUrl(parseProxyUrl('http://u:pw@h'), { redact: true })).toBe('http://u:***@h:8080');
  });
});
