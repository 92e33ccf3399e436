import { describe, expect, it } from 'vitest';
import { commandOf, normalizeArgv } from '../src/cli.js';
import { parseWithYargs } from '../src/cliparser.js';
import { GLOBAL_CONFLICTS, GLOBAL_OPTIONS } from '../src/commands/context.js';
import * as udpSend from '../src/commands/udp-send.js';
import { parseFast } from '../src/fastparse.js';

const globals = { options: GLOBAL_OPTIONS, conflicts: GLOBAL_CONFLICTS };
const camel = (k: string) => k.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
const KEYS = ['host', 'port', 'message', ...Object.keys(GLOBAL_OPTIONS), ...Object.keys(udpSend.options)].map(camel);

/** Only what a command reads: the camel-case keys of its positionals and flags. */
function project(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(KEYS.filter((k) => args[k] !== undefined).map((k) => [k, args[k]]));
}

const H = ['127.0.0.1', '9'];
const CASES: string[][] = [
  ['udp-send', ...H],
  ['udp-send', ...H, 'a', 'b c', ''],
  ['udp-send', ...H, '007', '1e3', '0x10', '1.50', 'true', 'null'],
  ['udp-send', ...H, '-5'],
  ['udp-send', '[::1]', '9', 'x'],
  ['udp-send', 'localhost', '08125', 'deploys:1|c'],
  ['udp-send', '127.0.0.1'],
  ['udp-send'],
  ['-v', 'udp-send', ...H],
  ['-vv', 'udp-send', ...H],
  ['-v', 'udp-send', '-v', ...H, '-v'],
  ['--verbose', 'udp-send', ...H],
  ['-vvv', '--verbose', 'udp-send', ...H],
  ['udp-send', '--count', '3', ...H, 'x'],
  ['udp-send', '--count=3', ...H, 'x'],
  ['udp-send', '--count', '0x10', ...H],
  ['udp-send', '--count', '1.5', ...H],
  ['udp-send', '--count', 'abc', ...H],
  ['udp-send', '--count', '', ...H],
  ['udp-send', '--count', '1e3', ...H],
  ['udp-send', '--count', ' 2', ...H],
  ['udp-send', '--count', '-1', ...H],
  ['udp-send', '--count', '2', '--count', '3', ...H],
  ['udp-send', ...H, '--count'],
  ['udp-send', '--rate', '1000', ...H],
  ['udp-send', '--interval', '5', ...H],
  ['udp-send', '--interval', '5', '--rate', '2', ...H],
  ['udp-send', '--hex', ...H, 'de ad'],
  ['udp-send', '--hex', 'true', ...H],
  ['udp-send', '--hex=true', ...H],
  ['udp-send', '--no-hex', ...H],
  ['udp-send', '--whole', ...H],
  ['udp-send', '-b', '--broadcast', ...H],
  ['udp-send', '-b', ...H],
  ['udp-send', '--broadcast', ...H],
  ['udp-send', '--ttl', '4', ...H],
  ['udp-send', '--ttl', '300', ...H],
  ['udp-send', '--source-port', '5000', ...H],
  ['udp-send', '-p', '5000', ...H],
  ['udp-send', '-p5000', ...H],
  ['udp-send', '--source-port=5000', ...H],
  ['udp-send', '--sourcePort', '5000', ...H],
  ['udp-send', '--multicast-interface', 'lo', '239.1.2.3', '9'],
  ['udp-send', '--wait-reply', ...H],
  ['udp-send', '--wait-reply', '1', ...H, 'q'],
  ['udp-send', '--wait-reply', '0.5', ...H],
  ['udp-send', ...H, 'x', '--wait-reply'],
  ['udp-send', ...H, '--wait-reply', '--hex'],
  ['udp-send', '--wait-reply=2', ...H],
  ['udp-send', '--wait-reply', "'2'", ...H],
  ['--json', 'udp-send', ...H],
  ['--quiet', 'udp-send', ...H],
  ['--stats', 'udp-send', ...H],
  ['--stats', 'json', 'udp-send', ...H],
  ['udp-send', '--stats', ...H],
  ['--stats-file', '/tmp/s.json', 'udp-send', ...H],
  ['--stats-file=/tmp/s.json', 'udp-send', ...H],
  ['-4', 'udp-send', ...H],
  ['-6', 'udp-send', '::1', '9'],
  ['-4', '-6', 'udp-send', ...H],
  ['-w', '5', 'udp-send', ...H],
  ['--timeout=5', 'udp-send', ...H],
  ['-i', '3', 'udp-send', ...H],
  ['--idle-timeout', '0.5', 'udp-send', ...H],
  ['--color', 'udp-send', ...H],
  ['--no-color', 'udp-send', ...H],
  ['--checksum', 'udp-send', ...H],
  ['-x', 'udp-send', ...H],
  ['-x', '/tmp/dump.txt', 'udp-send', ...H],
  ['udp-send', ...H, '--', '-x'],
  ['udp-send', '--bogus', ...H],
  ['udp-send', ...H, 'x', '--count', '2', 'y'],
  ['udp-send', '-vb', ...H],
  ['udp-send', '-', '9'],
  ['udp-send', ...H, '--help'],
];

describe('parseFast()', () => {
  it('parseFast() gives what yargs gives, or leaves the command line to yargs', async () => {
    let quick = 0;
    for (const argv of CASES) {
      const norm = normalizeArgv(argv);
      const fast = parseFast(norm, 'udp-send', udpSend, globals);
      if (fast === undefined) continue;
      quick++;
      const slow = await parseWithYargs(norm, [udpSend], '0.0.0');
      expect({ argv, failure: slow.failure, chosen: slow.chosen !== undefined }).toEqual({ argv, failure: undefined, chosen: true });
      expect({ argv, args: project(fast) }).toEqual({ argv, args: project(slow.chosen!.args) });
    }
    // The common command lines do take the quick way.
    expect(quick).toBeGreaterThan(45);
  });

  it('parseFast() leaves help, unknown, repeated, grouped and conflicting flags to yargs', () => {
    const declined = [
      ['udp-send', ...H, '--help'],
      ['udp-send', '--bogus', ...H],
      ['udp-send', '--count', '2', '--count', '3', ...H],
      ['udp-send', '-vb', ...H],
      ['udp-send', '--interval', '5', '--rate', '2', ...H],
      ['-4', '-6', 'udp-send', ...H],
      ['udp-send', '--hex', 'true', ...H],
      ['udp-send', ...H, '--', '-x'],
      ['udp-send'],
      ['udp-send', ...H, '--count'],
    ];
    for (const argv of declined) expect({ argv, args: parseFast(normalizeArgv(argv), 'udp-send', udpSend, globals) }).toEqual({ argv, args: undefined });
  });

  it('commandOf() names the command only when nothing but global options come before it', () => {
    expect(commandOf(['udp-send', ...H])).toBe('udp-send');
    expect(commandOf(['-vv', '--json', '-w', '5', '--stats', '-x', '-4', '--no-color', '--timeout=3', 'connect', ...H])).toBe('connect');
    expect(commandOf(['--stats-file', 'connect', 'udp-send', ...H])).toBe('udp-send');
    expect(commandOf(['-o', 'connect', 'listen', '9000'])).toBeUndefined();
    expect(commandOf(['-p', '5000', 'udp-send', ...H])).toBeUndefined();
    expect(commandOf(['frobnicate'])).toBeUndefined();
  });
});
