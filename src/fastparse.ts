/**
 * The command line's quick parser: for a simple command line of a command
 * that declares its flags as a table (`options`), the same arguments yargs
 * would give, without loading yargs (about a third of `udp-send`'s
 * start-up).
 *
 * It answers only when it is sure; anything it does not know for certain
 * yargs would read the same way (`--help`, an unknown or repeated flag, a
 * value that starts with `-` or a quote, `--flag=value` for a boolean, a
 * boolean followed by `true`/`false`, `--`, grouped short flags, a missing
 * value or positional, conflicting flags) makes it return `undefined`, and
 * `src/cli.ts` asks yargs, which also words the errors.
 * test/fastparse.test.ts compares the two on many command lines.
 *
 * @module
 */

import type { Options } from 'yargs';

/** What the quick parser needs from a command module. */
export interface FastParsable {
  /** The yargs command string: the name, then `<required>`, `[optional]` and `[rest..]` positionals. */
  command: string;
  /** The command's flags, as given to yargs. */
  options: Record<string, Options>;
  /** Pairs of flags yargs is told conflict. */
  conflicts?: readonly (readonly [string, string])[];
}

type _Kind = 'boolean' | 'count' | 'number' | 'string';

interface _Flag {
  key: string;
  kind: _Kind;
  requiresArg: boolean;
}

/** Option properties that change nothing in what a simple command line parses into. */
const _NEUTRAL = new Set(['alias', 'type', 'describe', 'description', 'desc', 'global', 'requiresArg']);

/** `source-port` → `sourcePort`, as yargs names its keys. */
function _camel(key: string): string {
  return key.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** The flags by every spelling the quick parser accepts: `--long`, and `-s` for one-letter names and aliases. */
function _flagTable(tables: Record<string, Options>[]): Map<string, _Flag> {
  const byName = new Map<string, _Flag>();
  for (const table of tables) {
    for (const [key, o] of Object.entries(table)) {
      if (Object.keys(o).some((k) => !_NEUTRAL.has(k))) continue; // choices, coerce, default, array...: yargs' job
      const kind = o.type as _Kind | undefined;
      if (kind !== 'boolean' && kind !== 'count' && kind !== 'number' && kind !== 'string') continue;
      const flag: _Flag = { key, kind, requiresArg: o.requiresArg === true };
      const names = [key, ...(o.alias === undefined ? [] : Array.isArray(o.alias) ? o.alias : [o.alias])];
      for (const n of names) byName.set(n.length === 1 ? `-${n}` : `--${n}`, flag);
    }
  }
  return byName;
}

/**
 * Parse a simple command line without yargs.
 *
 * @param argv The arguments after the program name, as `src/cli.ts` normalised them.
 * @param name The subcommand (the first word that is not an option).
 * @param module The subcommand's declarations.
 * @param globals The global options' declarations and conflicts.
 * @returns What yargs would hand the command (camel-case keys, counts
 *   default to 0, absent flags absent), or `undefined` to ask yargs.
 */
export function parseFast(
  argv: readonly string[],
  name: string,
  module: FastParsable,
  globals: Omit<FastParsable, 'command'>,
): Record<string, unknown> | undefined {
  const words = module.command.split(' ');
  if (words[0] !== name) return undefined;
  const positionals = words.slice(1).map((w) => {
    const m = /^([<[])([a-z][a-z0-9-]*)(\.\.)?[>\]]$/.exec(w);
    return m === null ? undefined : { key: _camel(m[2]!), required: m[1] === '<', rest: m[3] !== undefined };
  });
  if (positionals.some((p) => p === undefined)) return undefined;
  const flags = _flagTable([globals.options, module.options]);
  const out: Record<string, unknown> = {};
  const given = new Set<string>();
  const words2: string[] = [];
  let seenCommand = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-')) {
      if (!seenCommand) {
        if (a !== name) return undefined;
        seenCommand = true;
      } else words2.push(a);
      continue;
    }
    if (a === '-' || a === '--') return undefined;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const spelled = eq < 0 ? a : a.slice(0, eq);
    let inline = eq < 0 ? undefined : a.slice(eq + 1);
    let flag = flags.get(spelled);
    let negated = false;
    if (flag === undefined && spelled.startsWith('--no-')) {
      flag = flags.get(`--${spelled.slice(5)}`);
      negated = true;
      if (flag === undefined || flag.kind !== 'boolean' || inline !== undefined) return undefined;
    }
    if (flag === undefined && /^-v{2,}$/.test(spelled) && flags.get('-v')?.kind === 'count') {
      // -vv, -vvv: yargs counts each letter.
      flag = flags.get('-v')!;
      if (given.has(flag.key)) return undefined;
      given.add(flag.key);
      out[_camel(flag.key)] = spelled.length - 1;
      continue;
    }
    if (flag === undefined) return undefined;
    const key = _camel(flag.key);
    if (flag.kind === 'count') {
      if (inline !== undefined) return undefined;
      out[key] = ((out[key] as number | undefined) ?? 0) + 1;
      given.add(flag.key);
      continue;
    }
    if (given.has(flag.key)) return undefined; // yargs makes an array of a repeated flag
    given.add(flag.key);
    if (flag.kind === 'boolean') {
      const next = argv[i + 1];
      if (inline !== undefined || next === 'true' || next === 'false') return undefined;
      out[key] = !negated;
      continue;
    }
    if (inline === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('-')) {
        // At the end, a string flag that takes an optional value is empty; anything else is yargs' to judge.
        if (next === undefined && flag.kind === 'string' && !flag.requiresArg) {
          out[key] = '';
          continue;
        }
        return undefined;
      }
      inline = next;
      i++;
    }
    if (inline === '' || inline.startsWith('"') || inline.startsWith("'") || inline.startsWith('-')) return undefined;
    out[key] = flag.kind === 'number' ? Number(inline) : inline;
  }
  if (!seenCommand) return undefined;
  for (const [a, b] of [...(globals.conflicts ?? []), ...(module.conflicts ?? [])]) if (given.has(a) && given.has(b)) return undefined;
  let w = 0;
  for (const p of positionals) {
    if (p!.rest) {
      out[p!.key] = words2.slice(w); // [] when none, as yargs
      w = words2.length;
    } else if (w < words2.length) out[p!.key] = words2[w++];
    else if (p!.required) return undefined;
  }
  if (w < words2.length) return undefined;
  for (const f of flags.values()) if (f.kind === 'count' && out[_camel(f.key)] === undefined) out[_camel(f.key)] = 0;
  return out;
}
