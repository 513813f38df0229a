import { diffLayers, type MavStepEvent, type StepList } from '@mav/client'
import { interpolatePalette, type MavHistoryMetric, paintSteps, valuesOf } from './heatmapPixels'

// A diverging palette (blue = the run is lower than the reference, red = higher, light grey = equal),
// ColorBrewer RdBu's ends: distinguishable with the common colour-vision deficiencies.
const DIVERGING = [
  [33, 102, 172],
  [146, 197, 222],
  [240, 240, 240],
  [244, 165, 130],
  [178, 24, 43],
] as const

let palette: Uint8Array | undefined
/** The diverging palette as 256 RGB triples: entry 1 is -1, 128 is exactly 0, 255 is +1 (0 = 1). */
export function diverging(): Uint8Array {
  palette ??= interpolatePalette(DIVERGING, (i) => (Math.max(-1, (i - 128) / 127) + 1) / 2)
  return palette
}

/** The palette entry of `t` in [-1, 1] (clamped; 0 when not finite). */
export function divergingIndex(t: number): number {
  const x = Number.isFinite(t) ? Math.max(-1, Math.min(1, t)) : 0
  return 128 + Math.round(x * 127)
}

/**
 * One step's column of the difference heatmap: `b - a` per layer (on the normalised depth axis when
 * the layer counts differ) divided by the reference's largest |value| at that step, so +1 is "higher
 * by as much as the reference's biggest layer". Written into `out`; returns it.
 */
export function diffColumn(a: MavStepEvent, b: MavStepEvent, metric: MavHistoryMetric, out: number[]): number[] {
  const va = valuesOf(a, metric)
  const { values } = diffLayers(va, valuesOf(b, metric), out)
  let scale = 0
  for (let i = 0; i < va.length; i++) scale = Math.max(scale, Math.abs(va[i] as number))
  for (let i = 0; i < values.length; i++) values[i] = scale > 0 ? (values[i] as number) / scale : 0
  return values
}

const column: number[] = []

/**
 * Paints the columns of steps `from`.. (up to the shorter run) into a `width` x `rows` RGBA bitmap
 * planned for `capacity` steps, until `budgetMs` is spent; returns the next step to paint and the
 * columns written ([left, right)).
 */
export function paintDiffColumns(
  pixels: Uint8ClampedArray,
  width: number,
  rows: number,
  capacity: number,
  a: StepList<MavStepEvent>,
  b: StepList<MavStepEvent>,
  from: number,
  metric: MavHistoryMetric,
  budgetMs = 2,
): { next: number; left: number; right: number } {
  const end = Math.min(a.length, b.length)
  const left = Math.min(width, Math.floor((from * width) / capacity))
  const { next, right } = paintSteps({ pixels, width, rows, capacity }, diverging(), from, end, budgetMs, (i, out) => {
    const values = diffColumn(a.at(i) as MavStepEvent, b.at(i) as MavStepEvent, metric, column)
    for (let row = 0; row < rows; row++) out[row] = divergingIndex(values[row] ?? 0)
  })
  return { next, left, right }
}
