import type { MavStepEvent } from '@mav/client'
import { type RefObject, useCallback, useLayoutEffect, useRef } from 'react'

type Heads = NonNullable<MavStepEvent['heads']>

const idle: (work: () => void) => () => void =
  typeof requestIdleCallback === 'function'
    ? (work) => {
        const handle = requestIdleCallback(work)
        return () => cancelIdleCallback(handle)
      }
    : (work) => {
        const handle = setTimeout(work, 50)
        return () => clearTimeout(handle)
      }

/** Names one cell of the heads grid (`data-layer`, `data-head`) with its head's figures at a step. */
function labelCell(cell: HTMLElement, heads: Heads) {
  const layer = Number(cell.dataset.layer)
  const head = Number(cell.dataset.head)
  const entropy = heads.entropy[layer]?.[head] ?? 0
  const label = `L${layer + 1} head ${head + 1}: entropy ${entropy.toFixed(3)} nats, ${heads.covered_pct[layer]?.[head] ?? 0}% on its top 8 positions`
  cell.setAttribute('aria-label', label)
  cell.title = label
}

/**
 * Keeps each cell's accessible name and tooltip on the shown step's figures. The cell with focus and
 * the one under the pointer are named with every step; the others once the page is idle, so a fast
 * replay does not rename hundreds of cells per frame. Returns `name(cell)` for a cell about to be
 * read (focused or hovered).
 */
export function useCellLabels(gridRef: RefObject<HTMLElement | null>, heads: Heads | undefined, cells: unknown) {
  const hovered = useRef<HTMLElement | null>(null)
  const shown = useRef(heads)
  shown.current = heads
  // biome-ignore lint/correctness/useExhaustiveDependencies: `cells` re-runs it when the cells are new
  useLayoutEffect(() => {
    const grid = gridRef.current
    if (!grid || !heads) return
    const focused = document.activeElement
    if (focused instanceof HTMLElement && focused.dataset.head !== undefined && grid.contains(focused))
      labelCell(focused, heads)
    if (hovered.current && grid.contains(hovered.current)) labelCell(hovered.current, heads)
    return idle(() => {
      for (const cell of grid.querySelectorAll<HTMLElement>('[data-head]')) labelCell(cell, heads)
    })
  }, [gridRef, heads, cells])
  return useCallback((cell: HTMLElement, pointer = false) => {
    if (pointer) hovered.current = cell
    if (shown.current) labelCell(cell, shown.current)
  }, [])
}
