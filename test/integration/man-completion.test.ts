import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT, wirecat } from './helpers.js';

// What a user installs besides the commands: the man page, the completion
// script and the runtime line of --version -v. .ci/run runs this file a
// second time against the standalone binary (WIRECAT_BIN), where the man page
// and the completion scripts are assets of the executable.

const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string };
const standalone = process.env.WIRECAT_BIN !== undefined && process.env.WIRECAT_BIN !== '';

describe('man, completion, --version -v', () => {
  it('wirecat man prints man/wirecat.1, nothing on stderr', async () => {
    const r = await wirecat(['man']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(`${ROOT}/man/wirecat.1`, 'utf8'));
  });

  it('--help lists man and completion', async () => {
    const r = await wirecat(['--help']);
    expect(r.stdout).toMatch(/wirecat man\s/);
    expect(r.stdout).toMatch(/wirecat completion\s/);
  });

  it('--version -v adds the runtime line; --version alone does not', async () => {
    const r = await wirecat(['--version', '-v']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [v, runtime, ...rest] = r.stdout.split('\n');
    expect(v).toBe(pkg.version);
    expect(runtime).toMatch(new RegExp(`^node v\\d+\\.\\d+\\.\\d+ ${process.platform}-${process.arch}$`));
    if (standalone) expect(runtime).toMatch(/^node v26\./);
    expect(rest).toEqual(['']);
    expect((await wirecat(['-V'])).stdout).toBe(`${pkg.version}\n`);
  });

  it('completion: a bash script, zsh when $SHELL is zsh; the script asks wirecat --get-yargs-completions', async () => {
    const bash = await wirecat(['completion'], { env: { SHELL: '/bin/bash', ZSH_NAME: '' } });
    expect(bash.stderr).toBe('');
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain('complete -o bashdefault -o default -F _wirecat_yargs_completions wirecat');
    expect(bash.stdout).toContain('wirecat --get-yargs-completions');
    const zsh = await wirecat(['completion'], { env: { SHELL: '/usr/bin/zsh' } });
    expect(zsh.stdout).toMatch(/^#compdef wirecat/);
    const words = await wirecat(['--get-yargs-completions', 'wirecat', 'con']);
    expect(words.stderr).toBe('');
    expect(words.stdout.split('\n')).toContain('connect');
    const flags = await wirecat(['--get-yargs-completions', 'wirecat', 'connect', '--ti']);
    expect(flags.stdout.split('\n')).toContain('--timeout');
  });
});
