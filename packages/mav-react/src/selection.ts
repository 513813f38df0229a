/**
 * Which step the panels show. `null` follows the newest step ("live"); a number pins that step, and
 * the panels stay on it while the run goes on.
 */
export interface SelectionStore {
  get(): number | null
  set(index: number | null): void
  subscribe(listener: () => void): () => void
}

/** Creates a selection that starts at `initial` (default `null`, following the newest step). */
export function createSelection(
  initial: number | null = null,
  onChange?: (index: number | null) => void,
): SelectionStore {
  const listeners = new Set<() => void>()
  let selected = initial
  return {
    get: () => selected,
    set(index) {
      const next = index === null ? null : Math.max(0, Math.trunc(index))
      if (next === selected) return
      selected = next
      onChange?.(next)
      for (const listener of listeners) listener()
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
  }
}

/** The step index a selection resolves to for a run of `length` steps: -1 when there is none. */
export function resolveIndex(selected: number | null, length: number): number {
  if (length === 0) return -1
  return selected === null ? length - 1 : Math.min(selected, length - 1)
}
