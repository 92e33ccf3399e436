import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, wirecat } from './helpers.js';

const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string };

describe('bin/wirecat', () => {
  it('--version prints the package version on stdout and nothing on stderr', async () => {
    const r = await wirecat(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${pkg.version}\n`);
    expect(r.stderr).toBe('');
  });

  it('--help prints usage with the exit codes on stdout and exits 0', async () => {
    const r = await wirecat(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('wirecat <command> [options]');
    expect(r.stdout).toContain('2 usage error');
    expect(r.stderr).toBe('');
  });

  it('an unknown subcommand exits 2 with one line on stderr and nothing on stdout', async () => {
    const r = await wirecat(['frobnicate', 'x']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("wirecat: unknown command 'frobnicate' (see 'wirecat --help')\n");
  });

  it('an unknown flag exits 2 with one line naming it', async () => {
    const r = await wirecat(['--frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^wirecat: .*frobnicate/);
  });

  it("a command's flag before the command, with another command's name as its value, is read as the full parser reads it", async () => {
    // `-o connect` is listen's output file: the command is `listen`, not `connect`.
    const dir = mkdtempSync(join(tmpdir(), 'wirecat-cli-'));
    try {
      const l = await wirecat(['-o', 'connect', 'listen', '192.0.2.1', '9'], { cwd: dir });
      expect(l.stderr).toMatch(/^wirecat: listen: /);
      expect(l.code).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // `-e` is no option of connect's: yargs, knowing every command, names it alone.
    const c = await wirecat(['-e', 'udp-send', 'connect', '127.0.0.1', '1']);
    expect(c.stderr).toBe('wirecat: connect: Unknown argument: e\n');
    expect(c.code).toBe(2);
  });

  it('no subcommand at all exits 2 with one line', async () => {
    const r = await wirecat([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('wirecat: a command is required (see wirecat --help)\n');
  });
});
