import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Protocol, StdioTransport, type Failure } from 'wirecat';

describe('StdioTransport: closing waits for the output', () => {
  it('loseWriteConnection() then loseConnection() ends only after a slow output has taken every byte', async () => {
    let taken = 0;
    let finished = false;
    const out = new Writable({
      highWaterMark: 16,
      write(chunk: Buffer, _e, cb) {
        setTimeout(() => {
          taken += chunk.length;
          cb();
        }, 20);
      },
      final(cb) {
        setTimeout(() => {
          finished = true;
          cb();
        }, 20);
      },
    });
    const lost = new Promise<{ taken: number; finished: boolean }>((resolve, reject) => {
      class P extends Protocol {
        override connectionLost(_r: Failure): void {
          resolve({ taken, finished });
        }
      }
      const t = new StdioTransport(new P(), { stdin: Readable.from([]), stdout: out, noInput: true, closeOutput: true, kind: 'file', name: 'slow' });
      t.write(Buffer.alloc(1000, 1));
      t.write(Buffer.alloc(500, 2));
      // What a relay's close does: EOF to this side, then close both.
      t.loseWriteConnection();
      t.loseConnection();
      setTimeout(() => reject(new Error('connectionLost not called within 5 s')), 5000);
    });
    expect(await lost).toEqual({ taken: 1500, finished: true });
  });
});
