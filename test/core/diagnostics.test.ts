import { describe, expect, it } from 'vitest';
import { newConnectionStats, recordConnections, snapshot } from 'wirecat';

describe('diagnostics: connection records', () => {
  it('keeps no records until asked, then the last 10,000 in order', () => {
    recordConnections(false);
    const before = snapshot().connections.length;
    const unkept = newConnectionStats('tcp', 'accepted', 'x:1');
    expect(snapshot().connections.some((c) => c.id === unkept.id)).toBe(false);
    expect(snapshot().connections.length).toBe(before);

    recordConnections();
    const made = Array.from({ length: 10_005 }, (_, i) => newConnectionStats('tcp', 'connected', `h:${i}`));
    const kept = snapshot().connections;
    expect(kept.length).toBe(10_000);
    expect(kept[kept.length - 1]!.id).toBe(made[made.length - 1]!.id);
    expect(kept[0]!.id).toBe(made[5]!.id);
    expect(kept.every((c, i) => i === 0 || c.id === kept[i - 1]!.id + 1)).toBe(true);
    recordConnections(false);
  });
});
