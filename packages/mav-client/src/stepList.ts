/**
 * An immutable view of the first `length` items of an append-only buffer. Creating one is O(1), so a
 * store can hand out a new snapshot per token without copying the history.
 */
export interface StepList<T> extends Iterable<T> {
  /** Number of items in this view. */
  readonly length: number
  /** The item at `index` (negative counts from the end), or `undefined` when out of range. */
  at(index: number): T | undefined
  /** The newest item, or `undefined` when empty. */
  last(): T | undefined
  /** A copied array of items `start` (inclusive) to `end` (exclusive) of this view. */
  slice(start?: number, end?: number): T[]
  /** A copied array of every item. */
  toArray(): T[]
}

/** Wraps `buffer`, which the owner only ever appends to, as a view of its first `length` items. */
export function stepListView<T>(buffer: readonly T[], length: number): StepList<T> {
  const at = (index: number) => {
    const i = index < 0 ? length + index : index
    return i >= 0 && i < length ? buffer[i] : undefined
  }
  return {
    length,
    at,
    last: () => at(-1),
    slice: (start = 0, end = length) => {
      // Array#slice's index rules, bounded by this view's length (the buffer may be longer).
      const bound = (i: number) => (i < 0 ? Math.max(length + i, 0) : Math.min(i, length))
      return buffer.slice(bound(start), bound(end))
    },
    toArray: () => buffer.slice(0, length),
    *[Symbol.iterator]() {
      for (let i = 0; i < length; i++) yield buffer[i] as T
    },
  }
}
