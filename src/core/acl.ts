/**
 * Access lists for the proxy: which destinations may be reached
 * (`--allow-dest`, `--deny-dest`) and which clients may use it
 * (`--allow-from`, the same IP/CIDR lists as `listen --allow`).
 *
 * A destination entry is an IP address, a CIDR, a host name, `*.domain`
 * (the domain and every name under it) or `*` (any host), each with an
 * optional `:PORT` or `:LO-HI`; IPv6 addresses take the port inside
 * brackets: `[2001:db8::/32]:443`. Names match case-insensitively, a
 * trailing dot ignored. A list is checked against the name asked for and,
 * once it is resolved, against the address too.
 *
 * @module
 */

import { BlockList, isIP } from 'node:net';
import { UsageError } from './errors.js';

interface _Rule {
  /** `any`: every host; `ip`: an address or CIDR; `name`: exactly; `suffix`: the domain and names under it. */
  kind: 'any' | 'ip' | 'name' | 'suffix';
  /** For `ip`. */
  block?: BlockList;
  /** For `name` and `suffix`, lower case without a trailing dot. */
  name?: string;
  portLo: number;
  portHi: number;
  text: string;
}

function _normName(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; the scope of a link-local address dropped. */
function _normIp(ip: string): string {
  const bare = ip.replace(/%.*$/, '');
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  return m ? m[1]! : bare;
}

function _parsePorts(text: string, entry: string, flag: string): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(lo >= 1 && hi <= 65535 && lo <= hi)) throw new UsageError(`${flag}: bad port or range '${text}' in '${entry}' (PORT or LO-HI, 1-65535)`);
  return [lo, hi];
}

function _ipBlock(text: string, entry: string, flag: string): BlockList | undefined {
  const [addr, bits, extra] = text.split('/') as [string, string | undefined, string | undefined];
  const type = isIP(addr);
  if (type === 0 || extra !== undefined) return undefined;
  const bl = new BlockList();
  const fam = type === 6 ? 'ipv6' : 'ipv4';
  if (bits === undefined) bl.addAddress(addr, fam);
  else {
    const n = Number(bits);
    if (!/^\d{1,3}$/.test(bits) || n > (type === 6 ? 128 : 32)) throw new UsageError(`${flag}: bad prefix length in '${entry}'`);
    bl.addSubnet(addr, n, fam);
  }
  return bl;
}

/**
 * A parsed `--allow-dest` / `--deny-dest` list.
 *
 * @example
 * const deny = DestinationList.parse('10.0.0.0/8,*.internal,[::1],*:25', '--deny-dest');
 * deny.matchesName('db.internal', 5432);   // true
 * deny.matchesAddress('10.1.2.3', 80);     // true
 */
export class DestinationList {
  private readonly _rules: _Rule[];

  private constructor(rules: _Rule[]) {
    this._rules = rules;
  }

  /**
   * Parse a comma-separated list.
   *
   * @param list The list as given.
   * @param flag The flag, for errors.
   * @returns The list.
   * @throws {UsageError} For an entry that is none of the forms, a bad port or prefix.
   */
  static parse(list: string, flag: string): DestinationList {
    const rules: _Rule[] = [];
    for (const raw of list.split(',')) {
      const entry = raw.trim();
      if (entry === '') continue;
      let hostPart = entry;
      let portPart: string | undefined;
      if (entry.startsWith('[')) {
        const end = entry.indexOf(']');
        if (end < 0) throw new UsageError(`${flag}: unclosed '[' in '${entry}'`);
        hostPart = entry.slice(1, end);
        const after = entry.slice(end + 1);
        if (after.startsWith(':')) portPart = after.slice(1);
        else if (after !== '') throw new UsageError(`${flag}: bad entry '${entry}' ([IPV6]:PORT)`);
        if (!hostPart.includes(':')) throw new UsageError(`${flag}: brackets are for IPv6 addresses, in '${entry}'`);
      } else {
        const colons = entry.split(':').length - 1;
        if (colons === 1) {
          const i = entry.indexOf(':');
          hostPart = entry.slice(0, i);
          portPart = entry.slice(i + 1);
        }
        // More than one colon: a bare IPv6 address or CIDR, no port.
      }
      const [portLo, portHi] = portPart === undefined ? [1, 65535] : _parsePorts(portPart, entry, flag);
      if (hostPart === '*' || hostPart === '') {
        if (hostPart === '' && portPart === undefined) throw new UsageError(`${flag}: empty entry '${entry}'`);
        rules.push({ kind: 'any', portLo, portHi, text: entry });
        continue;
      }
      const block = _ipBlock(hostPart, entry, flag);
      if (block !== undefined) {
        rules.push({ kind: 'ip', block, portLo, portHi, text: entry });
        continue;
      }
      if (hostPart.includes('/') || hostPart.includes(':')) throw new UsageError(`${flag}: '${entry}' is not an IP address, CIDR or host name`);
      if (hostPart.startsWith('*.')) {
        const name = _normName(hostPart.slice(2));
        if (!/^[a-z0-9_.-]+$/i.test(name) || name === '') throw new UsageError(`${flag}: bad domain in '${entry}'`);
        rules.push({ kind: 'suffix', name, portLo, portHi, text: entry });
        continue;
      }
      const name = _normName(hostPart);
      if (!/^[a-z0-9_.-]+$/i.test(name) || name === '') {
        throw new UsageError(`${flag}: '${entry}' is not an IP address, CIDR, host name or *.domain (with an optional :PORT or :LO-HI)`);
      }
      rules.push({ kind: 'name', name, portLo, portHi, text: entry });
    }
    return new DestinationList(rules);
  }

  /** Whether the list has IP or CIDR entries (then a name must be resolved to be judged). */
  get hasAddressRules(): boolean {
    return this._rules.some((r) => r.kind === 'ip');
  }

  /** Whether the list has no entries. */
  get empty(): boolean {
    return this._rules.length === 0;
  }

  /**
   * Whether the destination as asked for matches: a name against names,
   * domains and `*`; an address literal against everything.
   *
   * @param host A host name or an address.
   * @param port The port.
   * @returns The first matching entry's text, or `undefined`.
   */
  matchesName(host: string, port: number): string | undefined {
    if (isIP(_normIp(host)) !== 0) return this.matchesAddress(host, port);
    const name = _normName(host);
    for (const r of this._rules) {
      if (port < r.portLo || port > r.portHi) continue;
      if (r.kind === 'any') return r.text;
      if (r.kind === 'name' && r.name === name) return r.text;
      if (r.kind === 'suffix' && (name === r.name || name.endsWith(`.${r.name}`))) return r.text;
    }
    return undefined;
  }

  /**
   * Whether a resolved address matches an IP or CIDR entry (or `*`).
   *
   * @param ip The address.
   * @param port The port.
   * @returns The first matching entry's text, or `undefined`.
   */
  matchesAddress(ip: string, port: number): string | undefined {
    const addr = _normIp(ip);
    const type = isIP(addr);
    if (type === 0) return undefined;
    const fam = type === 6 ? 'ipv6' : 'ipv4';
    for (const r of this._rules) {
      if (port < r.portLo || port > r.portHi) continue;
      if (r.kind === 'any') return r.text;
      if (r.kind === 'ip' && r.block!.check(addr, fam)) return r.text;
    }
    return undefined;
  }
}

/** What a destination policy decided. */
export type PolicyVerdict = { allowed: true } | { allowed: false; reason: string } | { allowed: 'resolve' };

/**
 * `--allow-dest` and `--deny-dest` together: deny wins; with an allow list,
 * only what it matches is allowed; a name is judged again by its address
 * once resolved.
 */
export class DestinationPolicy {
  /**
   * @param allow Only these (when given).
   * @param deny Never these.
   */
  constructor(
    readonly allow: DestinationList | undefined,
    readonly deny: DestinationList | undefined,
  ) {}

  /** Whether there is anything to check. */
  get active(): boolean {
    return (this.allow !== undefined && !this.allow.empty) || (this.deny !== undefined && !this.deny.empty);
  }

  /**
   * Judge the destination as asked for, before any lookup.
   *
   * @param host A name or an address.
   * @param port The port.
   * @returns Allowed, refused with a reason, or `resolve`: the name must be
   *   resolved and {@link checkAddress} asked (the address may be denied,
   *   or be what the allow list allows).
   */
  checkName(host: string, port: number): PolicyVerdict {
    const denied = this.deny?.matchesName(host, port);
    if (denied !== undefined) return { allowed: false, reason: `denied by --deny-dest '${denied}'` };
    const literal = isIP(_normIp(host)) !== 0;
    if (literal) {
      if (this.allow !== undefined && this.allow.matchesAddress(host, port) === undefined) return { allowed: false, reason: 'not in --allow-dest' };
      return { allowed: true };
    }
    const allowedByName = this.allow === undefined || this.allow.matchesName(host, port) !== undefined;
    const mustResolve = (this.deny?.hasAddressRules ?? false) || (!allowedByName && (this.allow?.hasAddressRules ?? false));
    if (mustResolve) return { allowed: 'resolve' };
    return allowedByName ? { allowed: true } : { allowed: false, reason: 'not in --allow-dest' };
  }

  /**
   * Judge a name's resolved address.
   *
   * @param host The name asked for.
   * @param ip Its address.
   * @param port The port.
   * @returns Allowed, or refused with a reason.
   */
  checkAddress(host: string, ip: string, port: number): PolicyVerdict {
    const denied = this.deny?.matchesAddress(ip, port);
    if (denied !== undefined) return { allowed: false, reason: `${host} resolves to ${ip}, denied by --deny-dest '${denied}'` };
    if (this.allow === undefined) return { allowed: true };
    if (this.allow.matchesName(host, port) !== undefined || this.allow.matchesAddress(ip, port) !== undefined) return { allowed: true };
    return { allowed: false, reason: 'not in --allow-dest' };
  }
}

/**
 * Whether a client's address is in an IP/CIDR list (from `parseAccessList`).
 *
 * @param list The list.
 * @param host The client's address (`::ffff:` mapped addresses match their IPv4 entries).
 * @returns True when it matches.
 */
export function clientMatches(list: BlockList, host: string): boolean {
  const plain = _normIp(host);
  const t = isIP(plain);
  if (t === 0) return false;
  return list.check(plain, t === 6 ? 'ipv6' : 'ipv4') || (plain !== host && isIP(host) === 6 && list.check(host, 'ipv6'));
}

/**
 * Whether a listening address is loopback only (127.0.0.0/8, ::1, localhost).
 *
 * @param host The address to bind.
 * @returns True for loopback.
 */
export function isLoopbackHost(host: string): boolean {
  const h = _normIp(host).toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return /^127\.\d+\.\d+\.\d+$/.test(h);
}
