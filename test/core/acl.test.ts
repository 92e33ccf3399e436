// The proxy's access lists: destination entries (IPs, CIDRs, names,
// *.domain, *, each with a port or range), deny-wins policy, judged by name
// and again by address; client lists; loopback detection.
import { describe, expect, it } from 'vitest';
import { DestinationList, DestinationPolicy, clientMatches, isLoopbackHost } from '../../src/core/acl.js';
import { UsageError } from '../../src/core/errors.js';
import { parseAccessList } from '../../src/core/netcat.js';

describe('DestinationList', () => {
  const list = DestinationList.parse('10.0.0.0/8, 192.168.1.5:22, [2001:db8::/32]:443, ::1, example.com:80-90, *.internal, *:25', '--deny-dest');

  it.each([
    ['10.1.2.3', 1, true],
    ['192.168.1.5', 22, true],
    ['192.168.1.5', 23, false],
    ['2001:db8::7', 443, true],
    ['2001:db8::7', 80, false],
    ['::1', 9, true],
    ['::ffff:10.0.0.1', 80, true],
    ['example.com', 85, true],
    ['EXAMPLE.com.', 80, true],
    ['example.com', 91, false],
    ['www.example.com', 80, false],
    ['db.internal', 5432, true],
    ['internal', 1, true],
    ['notinternal', 1, false],
    ['anything.org', 25, true],
    ['8.8.8.8', 53, false],
  ])('matchesName(%j, %i) is %s', (host, port, expected) => {
    expect(list.matchesName(host, port) !== undefined).toBe(expected);
  });

  it('matchesAddress() only looks at IP entries and *', () => {
    expect(list.matchesAddress('10.9.9.9', 1)).toBe('10.0.0.0/8');
    expect(list.matchesAddress('1.1.1.1', 25)).toBe('*:25');
    expect(list.matchesAddress('1.1.1.1', 80)).toBeUndefined();
    expect(list.hasAddressRules).toBe(true);
    expect(DestinationList.parse('example.com', 'x').hasAddressRules).toBe(false);
  });

  it.each(['10.0.0.0/33', 'host:0', 'host:9-1', 'host:70000', '[::1', '[1.2.3.4]:80', 'bad host!', '*.', ':'])('parse(%j) throws UsageError', (entry) => {
    expect(() => DestinationList.parse(entry, '--allow-dest')).toThrow(UsageError);
  });
});

describe('DestinationPolicy', () => {
  const policy = (allow?: string, deny?: string) =>
    new DestinationPolicy(allow === undefined ? undefined : DestinationList.parse(allow, 'a'), deny === undefined ? undefined : DestinationList.parse(deny, 'd'));

  it('deny wins over allow', () => {
    expect(policy('*', '127.0.0.1').checkName('127.0.0.1', 80)).toMatchObject({ allowed: false });
  });

  it('with an allow list, anything else is refused', () => {
    const p = policy('*.example.com:443');
    expect(p.checkName('www.example.com', 443)).toEqual({ allowed: true });
    expect(p.checkName('www.example.com', 80)).toEqual({ allowed: false, reason: 'not in --allow-dest' });
    expect(p.checkName('1.2.3.4', 443)).toEqual({ allowed: false, reason: 'not in --allow-dest' });
  });

  it('a name is resolved when IP entries could decide, and judged by its address', () => {
    const p = policy(undefined, '127.0.0.0/8');
    expect(p.checkName('localhost', 80)).toEqual({ allowed: 'resolve' });
    expect(p.checkAddress('localhost', '127.0.0.1', 80)).toMatchObject({ allowed: false, reason: "localhost resolves to 127.0.0.1, denied by --deny-dest '127.0.0.0/8'" });
    expect(p.checkAddress('example.com', '93.184.216.34', 80)).toEqual({ allowed: true });
    const a = policy('10.0.0.0/8');
    expect(a.checkName('intranet', 80)).toEqual({ allowed: 'resolve' });
    expect(a.checkAddress('intranet', '10.1.1.1', 80)).toEqual({ allowed: true });
    expect(a.checkAddress('intranet', '11.1.1.1', 80)).toMatchObject({ allowed: false });
  });

  it('is inactive without entries', () => {
    expect(policy().active).toBe(false);
    expect(policy('x').active).toBe(true);
  });
});

describe('client lists and loopback', () => {
  it('clientMatches() reads IPv4-mapped addresses as IPv4', () => {
    const l = parseAccessList('127.0.0.0/8,::1', '--allow-from');
    expect(clientMatches(l, '127.0.0.1')).toBe(true);
    expect(clientMatches(l, '::ffff:127.0.0.1')).toBe(true);
    expect(clientMatches(l, '::1')).toBe(true);
    expect(clientMatches(l, '10.0.0.1')).toBe(false);
  });

  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['localhost', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.1', false],
  ])('isLoopbackHost(%j) is %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});
