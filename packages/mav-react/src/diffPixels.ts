import { diffLayers, type MavStepEvent, type StepList } from '@mav/client'
import { interpolatePalette, type MavHistoryMetric, valuesOf } from './heatmapPixels'

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
  const colors = diverging()
  const end = Math.min(a.length, b.length)
  const left = Math.min(width, Math.floor((from * width) / capacity))
  let right = left
  const started = performance.now()
  let i = from
  for (; i < end; i++) {
    if ((i - from) % 8 === 7 && performance.now() - started > budgetMs) break
    const x0 = Math.min(width - 1, Math.floor((i * width) / capacity))
    const next = Math.floor(((i + 1) * width) / capacity)
    // More steps than columns: a step whose one column the next step paints over is not painted.
    if (next === x0 && i + 1 < end) continue
    const x1 = Math.min(width, Math.max(x0 + 1, next))
    right = Math.max(right, x1)
    const values = diffColumn(a.at(i) as MavStepEvent, b.at(i) as MavStepEvent, metric, column)
    for (let row = 0; row < rows; row++) {
      const color = divergingIndex(values[row] ?? 0) * 3
      for (let x = x0; x < x1; x++) {
        const at = (row * width + x) * 4
        pixels[at] = colors[color] as number
        pixels[at + 1] = colors[color + 1] as number
        pixels[at + 2] = colors[color + 2] as number
        pixels[at + 3] = 255
      }
    }
  }
  return { next: i, left, right }
}
