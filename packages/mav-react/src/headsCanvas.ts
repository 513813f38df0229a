import { type RefObject, useLayoutEffect, useState } from 'react'
import { watchColor } from './watchColor'

/** Where each cell of the heads grid sits, in CSS pixels from the grid's padding box. */
export interface CellLayout {
  /** `[x, y, width, height]` per cell, in the order `layer * heads + head`. */
  boxes: Float64Array
  heads: number
  /** The canvas's CSS width (the grid's) and the cells' extent in height. */
  width: number
  height: number
  context: CanvasRenderingContext2D
  /** The theme's accent and track colours, resolved through the canvas's styles. */
  accent: string
  track: string
}

/** The palette the stylesheet gives the canvas: `color` is the accent, the border colour the track. */
function readColors(canvas: HTMLCanvasElement) {
  const style = getComputedStyle(canvas)
  return { accent: style.color || '#0072b2', track: style.borderTopColor || 'rgba(0, 0, 0, 0.07)' }
}

/** Reads where the cells of `grid` are, once per new set of cells and on every resize of the grid. */
export function useCellLayout(
  gridRef: RefObject<HTMLElement | null>,
  canvasRef: RefObject<HTMLCanvasElement | null>,
  cells: unknown,
): CellLayout | null {
  const [layout, setLayout] = useState<CellLayout | null>(null)
  // biome-ignore lint/correctness/useExhaustiveDependencies: `cells` re-runs it when the cells are new
  useLayoutEffect(() => {
    const grid = gridRef.current
    const canvas = canvasRef.current
    const context = canvas?.getContext('2d') ?? null
    if (grid === null || canvas === null || context === null) {
      setLayout(null)
      return
    }
    // The rows are alike (a label, then a cell per head): the first row's cells give the columns and
    // each row its top, a few reads per row rather than four per cell.
    const measure = () => {
      const rows = grid.querySelectorAll<HTMLElement>('.mav-heads-row')
      const first = rows[0]?.querySelectorAll<HTMLElement>('.mav-heads-cell') ?? []
      const heads = first.length
      const columns = Array.from(first, (cell) => [cell.offsetLeft, cell.offsetWidth] as const)
      const below = (first[0]?.offsetTop ?? 0) - (rows[0]?.offsetTop ?? 0)
      const cellHeight = first[0]?.offsetHeight ?? 0
      const boxes = new Float64Array(rows.length * heads * 4)
      let height = 0
      for (let layer = 0; layer < rows.length; layer++) {
        const top = (rows[layer] as HTMLElement).offsetTop + below
        for (let head = 0; head < heads; head++) {
          const at = (layer * heads + head) * 4
          const [left, width] = columns[head] as readonly [number, number]
          boxes[at] = left
          boxes[at + 1] = top
          boxes[at + 2] = width
          boxes[at + 3] = cellHeight
        }
        height = Math.max(height, top + cellHeight)
      }
      setLayout({ boxes, heads, width: canvas.clientWidth, height, context, ...readColors(canvas) })
    }
    const unwatch = watchColor(canvas, () => setLayout((last) => last && { ...last, ...readColors(canvas) }))
    if (typeof ResizeObserver === 'undefined') {
      measure()
      return unwatch
    }
    // Measured when the observer reports, after layout: reading the cells here would force a layout of
    // the whole container in the frame that mounts the grid.
    const observer = new ResizeObserver(measure)
    observer.observe(grid)
    return () => {
      unwatch()
      observer.disconnect()
    }
  }, [gridRef, canvasRef, cells])
  return layout
}

/**
 * Paints each cell's colour on `canvas` (under the transparent cell buttons): the track colour, then the
 * accent at `1 - entropy / bound` (the CSS `color-mix` the cells had, as alpha compositing in sRGB).
 */
export function paintCells(
  canvas: HTMLCanvasElement,
  layout: CellLayout,
  entropy: readonly (readonly number[])[],
  bound: number,
) {
  const { context, accent, track } = layout
  const ratio = window.devicePixelRatio || 1
  // From the layout, measured on resize: reading the canvas here would force a layout per step.
  const width = Math.max(1, Math.round(layout.width * ratio))
  const height = Math.max(1, Math.round(layout.height * ratio))
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width
    canvas.height = height
    canvas.style.height = `${layout.height}px`
  }
  context.clearRect(0, 0, width, height)
  const { boxes, heads } = layout
  const rect = (at: number): [number, number, number, number] => {
    const x = Math.round((boxes[at] as number) * ratio)
    const y = Math.round((boxes[at + 1] as number) * ratio)
    const w = Math.round(((boxes[at] as number) + (boxes[at + 2] as number)) * ratio) - x
    const h = Math.round(((boxes[at + 1] as number) + (boxes[at + 3] as number)) * ratio) - y
    return [x, y, w, h]
  }
  const cells = Math.min(entropy.length * heads, boxes.length / 4)
  // Two passes, so the colour is parsed twice per paint, not twice per cell.
  context.globalAlpha = 1
  context.fillStyle = track
  for (let i = 0; i < cells; i++) context.fillRect(...rect(i * 4))
  context.fillStyle = accent
  for (let i = 0; i < cells; i++) {
    context.globalAlpha = 1 - Math.min(1, (entropy[Math.floor(i / heads)]?.[i % heads] ?? 0) / bound)
    context.fillRect(...rect(i * 4))
  }
  context.globalAlpha = 1
}
