/**
 * @module
 * A binary min-heap: the hold queue, the reorder buffer and the generator's merge all need "the
 * earliest pending thing" in O(log n).
 */

/** A min-heap ordered by `before(a, b)` (true when `a` must come out first). */
export interface Heap<T> {
  /** Number of items waiting. */
  readonly size: number;
  /** Add an item. */
  push(item: T): void;
  /** The first item without removing it, or undefined when empty. */
  peek(): T | undefined;
  /** Remove and return the first item, or undefined when empty. */
  pop(): T | undefined;
}

/** Create an empty heap. `before` must be a strict total order for a deterministic pop order. */
export function createHeap<T>(before: (a: T, b: T) => boolean): Heap<T> {
  const items: T[] = [];

  return {
    get size() {
      return items.length;
    },
    push(item) {
      items.push(item);
      let i = items.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        const p = items[parent] as T;
        if (!before(item, p)) break;
        items[i] = p;
        i = parent;
      }
      items[i] = item;
    },
    peek: () => items[0],
    pop() {
      if (items.length === 0) return undefined;
      const top = items[0] as T;
      const last = items.pop() as T;
      const n = items.length;
      if (n > 0) {
        let i = 0;
        for (;;) {
          const left = 2 * i + 1;
          if (left >= n) break;
          const right = left + 1;
          let child = left;
          if (right < n && before(items[right] as T, items[left] as T)) child = right;
          if (!before(items[child] as T, last)) break;
          items[i] = items[child] as T;
          i = child;
        }
        items[i] = last;
      }
      return top;
    },
  };
}
