import { describe, expect, it } from 'vitest';
import { SlotSet } from '../../src/core/slotset.js';

describe('SlotSet', () => {
  it('add(), has(), delete() and size behave as a Set does', () => {
    const s = new SlotSet<{ n: number }>();
    const a = { n: 1 };
    const b = { n: 2 };
    expect(s.add(a)).toBe(s);
    s.add(b);
    s.add(a);
    expect(s.size).toBe(2);
    expect(s.has(a)).toBe(true);
    expect(s.delete(a)).toBe(true);
    expect(s.delete(a)).toBe(false);
    expect(s.has(a)).toBe(false);
    expect(s.has(b)).toBe(true);
    expect(s.size).toBe(1);
    expect([...s]).toEqual([b]);
  });

  it('reuses a freed slot and never confuses its new item with the old one', () => {
    const s = new SlotSet<object>();
    const a = {};
    const b = {};
    const c = {};
    s.add(a);
    s.add(b);
    s.delete(a);
    s.add(c); // takes a's slot
    expect(s.has(a)).toBe(false);
    expect(s.has(c)).toBe(true);
    expect(s.delete(a)).toBe(false);
    expect(s.size).toBe(2);
    expect(new Set(s)).toEqual(new Set([b, c]));
  });

  it('an object can be in two sets at once', () => {
    const s1 = new SlotSet<object>();
    const s2 = new SlotSet<object>();
    const x = {};
    const y = {};
    s1.add(y);
    s1.add(x);
    s2.add(x);
    s1.delete(y);
    expect(s1.has(x)).toBe(true);
    expect(s2.has(x)).toBe(true);
    s2.delete(x);
    expect(s1.has(x)).toBe(true);
    expect(s2.has(x)).toBe(false);
  });

  it('clear() empties the set; items added before are no longer in it', () => {
    const s = new SlotSet<object>();
    const a = {};
    s.add(a);
    s.clear();
    expect(s.size).toBe(0);
    expect(s.has(a)).toBe(false);
    expect([...s]).toEqual([]);
    const b = {};
    s.add(b);
    expect(s.has(a)).toBe(false);
    expect(s.delete(a)).toBe(false);
    expect([...s]).toEqual([b]);
  });

  it('iterating while items are deleted visits each remaining item once', () => {
    const s = new SlotSet<{ n: number }>();
    const items = Array.from({ length: 10 }, (_, n) => ({ n }));
    for (const i of items) s.add(i);
    const seen: number[] = [];
    for (const i of s) {
      seen.push(i.n);
      s.delete(i);
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s.size).toBe(0);
  });

  it('values() and forEach() read it as a Set is read', () => {
    const s = new SlotSet<{ n: number }>();
    const a = { n: 1 };
    const b = { n: 2 };
    s.add(a).add(b);
    expect([...s.values()]).toEqual([a, b]);
    const seen: [number, number][] = [];
    s.forEach((x, y, set) => {
      expect(set).toBe(s);
      seen.push([x.n, y.n]);
    });
    expect(seen).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });
});
