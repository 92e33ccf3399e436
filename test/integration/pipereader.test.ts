/**
 * PipeReader (src/core/pipereader.ts) on a real pipe: a chunk its consumer
 * kept is never overwritten by a later read, and released chunks' memory
 * is reused without losing or reordering a byte. The reader runs in its own
 * process (test/fixtures/pipe-reader.mjs) with a shell pipe as stdin.
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, run } from './helpers.js';
import { within } from './net-helpers.js';

/** The fixture with `file` as its stdin (a regular file, not a pipe); its stdout and exit code. */
async function fromFile(file: string, keepEvery: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const fd = openSync(file, 'r');
  const child = spawn(process.execPath, ['test/fixtures/pipe-reader.mjs', String(keepEvery), 'file'], { cwd: ROOT, stdio: [fd, 'pipe', 'pipe'] });
  closeSync(fd);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await within(new Promise<number | null>((r) => child.on('close', (c) => r(c))), 30000, 'the fixture to exit').finally(() => child.kill('SIGKILL'));
  return { code, stdout, stderr };
}

// Writes SIZE bytes of numbered 32-bit words in small pieces, so reads are
// many and small and a kept chunk sits in the slab while others are read.
const GEN = `const n=+process.argv[1],fs=require('fs'),b=Buffer.alloc(3000);let w=0,o=0;while(o<n){for(let i=0;i<b.length;i+=4)b.writeUInt32LE(w++>>>0,i);const c=b.subarray(0,Math.min(b.length,n-o));fs.writeSync(1,c);o+=c.length}`;

function words(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) b.writeUInt32LE((i / 4) >>> 0, i);
  return b;
}

function expected(size: number): string {
  return createHash('sha256').update(words(size)).digest('hex');
}

describe('PipeReader', () => {
  for (const [keepEvery, mode] of [[1, ''], [2, ''], [1000, ''], [1, 'any'], [2, 'any'], [1000, 'any']] as const) {
    const what = keepEvery === 1 ? 'every chunk' : keepEvery === 2 ? 'every second chunk' : `one chunk in ${keepEvery}`;
    const how = mode === 'any' ? ' (chunks of any size: one per event-loop turn)' : '';
    it(`delivers every byte in order when the consumer keeps ${what} and releases the others${how}`, async () => {
      const size = 8 * 1024 * 1024;
      const res = await run('sh', ['-c', `"$0" -e "$1" ${size} | "$0" test/fixtures/pipe-reader.mjs ${keepEvery} ${mode}`, process.execPath, GEN], { timeoutMs: 30000 });
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      const got = JSON.parse(res.stdout) as { bytes: number; sha256: string; chunks: number };
      expect(got.chunks).toBeGreaterThan(mode === 'any' ? 1 : 2);
      expect(got.bytes).toBe(size);
      expect(got.sha256).toBe(expected(size));
    }, 40000);
  }

  it('reads a regular file with fs.read into two buffers in turn, and a kept chunk is never overwritten', async () => {
    const size = 4 * 1024 * 1024;
    const dir = mkdtempSync(join(tmpdir(), 'wirecat-pipereader-'));
    try {
      const file = join(dir, 'words.bin');
      writeFileSync(file, words(size));
      for (const keepEvery of [1, 3]) {
        const res = await fromFile(file, keepEvery);
        expect(res.stderr).toBe('');
        expect(res.code).toBe(0);
        const got = JSON.parse(res.stdout) as { bytes: number; sha256: string; chunks: number };
        expect(got.chunks).toBe(size / 4096);
        expect(got.bytes).toBe(size);
        expect(got.sha256).toBe(expected(size));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40000);

  it('gives every chunk to each of two consumers, and one keeping a chunk protects it from the other releasing it', async () => {
    const size = 4 * 1024 * 1024;
    const res = await run('sh', ['-c', `"$0" -e "$1" ${size} | "$0" test/fixtures/pipe-reader.mjs 2 two`, process.execPath, GEN], { timeoutMs: 30000 });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as { bytes: number; sha256: string });
    expect(lines).toHaveLength(2);
    for (const got of lines) {
      expect(got.bytes).toBe(size);
      expect(got.sha256).toBe(expected(size));
    }
  }, 40000);
});
