import { applyScaling, type MavScale, type MavStepEvent, type StepList } from '@mav/client'

/** A per-layer metric of each step. */
export type MavHistoryMetric = 'activations' | 'attention_entropy'

export const valuesOf = (step: MavStepEvent, metric: MavHistoryMetric) =>
  metric === 'activations' ? step.activations : step.attention_entropy

// Viridis stops: perceptually uniform and readable with the common colour-vision deficiencies.
const VIRIDIS = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
] as const

/**
 * 256 RGB triples along `stops`, linearly interpolated: entry i sits at `at(i)` (0..1) of the way from
 * the first stop to the last.
 */
export function interpolatePalette(stops: readonly (readonly number[])[], at: (i: number) => number): Uint8Array {
  const palette = new Uint8Array(256 * 3)
  for (let i = 0; i < 256; i++) {
    const x = at(i) * (stops.length - 1)
    const k = Math.min(stops.length - 2, Math.floor(x))
    const a = stops[k] as readonly number[]
    const b = stops[k + 1] as readonly number[]
    for (let c = 0; c < 3; c++) {
      palette[i * 3 + c] = Math.round((a[c] as number) + ((b[c] as number) - (a[c] as number)) * (x - k))
    }
  }
  return palette
}

let palette: Uint8Array | undefined
/** Viridis as 256 RGB triples, built on first use. */
export function viridis(): Uint8Array {
  palette ??= interpolatePalette(VIRIDIS, (i) => i / 255)
  return palette
}

/**
 * The palette entry of a value scaled to 0..1: `min(255, Math.round(|t| * 255))`, 0 when `t` is not
 * finite. Written with `Math.floor`, which V8 runs faster: for x >= 0, `floor(x + 0.5)` differs from
 * `Math.round(x)` only at x = 0.5 - 2^-54, which no `|t| * 255` produces (a test walks around it).
 */
export function paletteIndex(t: number): number {
  const x = (Number.isFinite(t) ? Math.abs(t) : 0) * 255
  return x < 255 ? Math.floor(x + 0.5) : 255
}

/** Longest one call of `paintColumns` runs, in ms. */
const PAINT_BUDGET_MS = 2

// Reused for every step's column.
let normalised = new Float64Array(64)

/** A `width` x `rows` RGBA bitmap with one column per step, planned for `capacity` steps. */
export interface StepBitmap {
  pixels: Uint8ClampedArray
  width: number
  rows: number
  capacity: number
}

// Reused for every step's column: thousands of steps in one frame allocate nothing.
let entries = new Uint8Array(64)

/**
 * Paints the columns of steps `from`..`end` (exclusive) until `budgetMs` is spent, each row in the
 * palette entry `fill(step, entries)` writes for it; returns the next step to paint and the right edge
 * of the columns written.
 */
export function paintSteps(
  bitmap: StepBitmap,
  colors: Uint8Array,
  from: number,
  end: number,
  budgetMs: number,
  fill: (step: number, entries: Uint8Array) => void,
): { next: number; right: number } {
  const { pixels, width, rows, capacity } = bitmap
  if (entries.length < rows) entries = new Uint8Array(rows)
  let right = Math.min(width, Math.floor((from * width) / capacity))
  const started = performance.now()
  let i = from
  for (; i < end; i++) {
    // Many steps at once (a replay arriving in one go, a resize) are painted over several frames.
    if ((i - from) % 8 === 7 && performance.now() - started > budgetMs) break
    const x0 = Math.min(width - 1, Math.floor((i * width) / capacity))
    const next = Math.floor(((i + 1) * width) / capacity)
    // More steps than columns: a step whose one column the next step paints over is not painted.
    if (next === x0 && i + 1 < end) continue
    const x1 = Math.min(width, Math.max(x0 + 1, next))
    right = Math.max(right, x1)
    fill(i, entries)
    // One bitmap row per layer (the stylesheet gives it its height).
    for (let row = 0; row < rows; row++) {
      const color = (entries[row] as number) * 3
      for (let x = x0; x < x1; x++) {
        const at = (row * width + x) * 4
        pixels[at] = colors[color] as number
        pixels[at + 1] = colors[color + 1] as number
        pixels[at + 2] = colors[color + 2] as number
        pixels[at + 3] = 255
      }
    }
  }
  return { next: i, right }
}

/**
 * Writes the columns of `steps` from `from` on into a `width` x `rows` RGBA bitmap planned for
 * `capacity` steps, until `budgetMs` is spent; returns the next step to paint and the right edge of the
 * columns written.
 */
export function paintColumns(
  pixels: Uint8ClampedArray,
  width: number,
  rows: number,
  capacity: number,
  steps: StepList<MavStepEvent>,
  from: number,
  metric: MavHistoryMetric,
  scale: MavScale,
  budgetMs = PAINT_BUDGET_MS,
): { next: number; right: number } {
  return paintSteps({ pixels, width, rows, capacity }, viridis(), from, steps.length, budgetMs, (i, out) => {
    const values = valuesOf(steps.at(i) as MavStepEvent, metric)
    if (normalised.length < values.length) normalised = new Float64Array(values.length)
    applyScaling(values, scale, 1, normalised)
    for (let row = 0; row < rows; row++) out[row] = paletteIndex(normalised[row] ?? 0)
  })
}
