/**
 * A set for objects that come and go by the thousand (open sockets,
 * accepted connections), kept in the numbered slots of one array.
 *
 * Why not a `Set`: V8 rebuilds a `Set`'s hash table every few dozen
 * deletions, and once the `Set` is long-lived the new table is allocated in
 * the old generation. Each table it leaves behind still points at the
 * entries it held (dead old objects are only swept by a full collection),
 * so every young-generation collection keeps those entries, and all they
 * reference, alive and promotes them: with a relay's sockets in a `Set`,
 * the per-connection objects survived young collections about twice as
 * often as without (bench/RESULTS.md). An array slot is cleared on
 * `delete()` and the array is only replaced when it grows.
 *
 * Each set stores an item's slot number on the item under its own symbol,
 * so an object can be in several of these sets at once.
 *
 * @module
 */

/**
 * A set of objects, iterated in slot order (a freed slot is reused, so this
 * is not insertion order).
 *
 * @example
 * const open = new SlotSet<net.Socket>();
 * open.add(socket);
 * socket.once('close', () => open.delete(socket));
 * for (const s of open) s.destroy();
 */
export class SlotSet<T extends object> implements Iterable<T> {
  private readonly _items: (T | undefined)[] = [];
  private readonly _free: number[] = [];
  private readonly _slot = Symbol('wirecat.slot');
  private _size = 0;

  /** How many items the set holds. */
  get size(): number {
    return this._size;
  }

  /**
   * Add an item (no effect when it is in the set already).
   *
   * @param item The item.
   * @returns This set.
   */
  add(item: T): this {
    if (this.has(item)) return this;
    const slot = this._free.length > 0 ? this._free.pop()! : this._items.length;
    this._items[slot] = item;
    (item as Record<symbol, number>)[this._slot] = slot;
    this._size++;
    return this;
  }

  /**
   * @param item The item.
   * @returns Whether it is in the set.
   */
  has(item: T): boolean {
    const slot = (item as Record<symbol, number | undefined>)[this._slot];
    return slot !== undefined && this._items[slot] === item;
  }

  /**
   * Remove an item.
   *
   * @param item The item.
   * @returns Whether it was in the set.
   */
  delete(item: T): boolean {
    if (!this.has(item)) return false;
    const slot = (item as Record<symbol, number>)[this._slot];
    this._items[slot] = undefined;
    this._free.push(slot);
    this._size--;
    return true;
  }

  /** Remove every item. */
  clear(): void {
    this._items.length = 0;
    this._free.length = 0;
    this._size = 0;
  }

  /** @returns The items, as `Set.prototype.values()` (in slot order). */
  values(): IterableIterator<T> {
    return this[Symbol.iterator]();
  }

  /**
   * Call `fn` with each item, as `Set.prototype.forEach()` (in slot order).
   *
   * @param fn Called with the item (twice, as a Set passes value and key) and this set.
   */
  forEach(fn: (item: T, again: T, set: this) => void): void {
    for (const item of this) fn(item, item, this);
  }

  /** @returns The items, in slot order; items added while iterating may or may not be visited. */
  *[Symbol.iterator](): IterableIterator<T> {
    const items = this._items;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (item !== undefined) yield item;
    }
  }
}
