/**
 * `--crlf` / socat's `crlf` line-end conversion (src/core/crlf.ts), across
 * chunk boundaries: a relay direction sees a stream in arbitrary pieces.
 */
import { describe, expect, it } from 'vitest';
import { crlfToLfStream, lfToCrlf, lfToCrlfStream } from '../../src/core/crlf.js';

describe('lfToCrlf', () => {
  it('adds a CR before each bare LF and leaves CRLF alone', () => {
    expect(lfToCrlf(Buffer.from('a\nb\r\nc\n')).toString()).toBe('a\r\nb\r\nc\r\n');
    const same = Buffer.from('no line end');
    expect(lfToCrlf(same)).toBe(same);
  });

  it('lfToCrlfStream(): a CR ending one chunk and an LF starting the next stay one CRLF', () => {
    const t = lfToCrlfStream();
    const out = ['a\r', '\nb\n', '\n', 'c\r', 'x\n'].map((s) => t(Buffer.from(s)).toString()).join('');
    expect(out).toBe('a\r\nb\r\n\r\nc\rx\r\n');
  });

  it('lfToCrlfStream(): each stream has its own state', () => {
    const t1 = lfToCrlfStream();
    const t2 = lfToCrlfStream();
    expect(t1(Buffer.from('a\r')).toString()).toBe('a\r');
    expect(t2(Buffer.from('\n')).toString()).toBe('\r\n');
    expect(t1(Buffer.from('\n')).toString()).toBe('\n');
  });
});

describe('crlfToLfStream', () => {
  it('a CRLF split between two chunks becomes one LF; a CR before anything else stays', () => {
    const t = crlfToLfStream();
    const out = ['a\r', '\nb\r\n', 'c\r', 'x', '\r', '', '\n', 'd\r'].map((s) => t(Buffer.from(s)).toString()).join('');
    expect(out).toBe('a\nb\nc\rx\nd');
    // The CR that ended the stream comes back at EOF, once.
    expect(t.flush?.()?.toString()).toBe('\r');
    expect(t.flush?.()).toBeUndefined();
  });
});
