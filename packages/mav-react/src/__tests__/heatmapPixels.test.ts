import { applyScaling, type MavScale, type MavStepEvent, type StepList } from '@mav/client'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type MavHistoryMetric, paintColumns, paletteIndex, valuesOf, viridis } from '../heatmapPixels'

/** The palette index as first written: the definition `paletteIndex` must keep. */
const roundedIndex = (t: number) => Math.max(0, Math.min(255, Math.round((Number.isFinite(t) ? Math.abs(t) : 0) * 255)))

const step = (activations: number[], attention: number[]) =>
  ({ activations, attention_entropy: attention }) as unknown as MavStepEvent

/** `steps` as the list a run store's snapshot holds. */
const listOf = (steps: MavStepEvent[]): StepList<MavStepEvent> => ({
  length: steps.length,
  at: (index) => steps.at(index),
  last: () => steps.at(-1),
  slice: (start, end) => steps.slice(start, end),
  toArray: () => steps.slice(),
  [Symbol.iterator]: () => steps[Symbol.iterator](),
})

/** The bitmap straight from the definition: each painted step's column from `applyScaling`. */
function reference(
  steps: MavStepEvent[],
  width: number,
  rows: number,
  capacity: number,
  metric: MavHistoryMetric,
  scale: MavScale,
) {
  const pixels = new Uint8ClampedArray(width * rows * 4)
  const colors = viridis()
  steps.forEach((s, i) => {
    const x0 = Math.min(width - 1, Math.floor((i * width) / capacity))
    const x1 = Math.min(width, Math.max(x0 + 1, Math.floor(((i + 1) * width) / capacity)))
    const scaled = applyScaling(valuesOf(s, metric), scale, 1)
    for (let row = 0; row < rows; row++) {
      const color = roundedIndex(scaled[row] ?? 0) * 3
      for (let x = x0; x < x1; x++) {
        pixels.set(
          [colors[color] as number, colors[color + 1] as number, colors[color + 2] as number, 255],
          (row * width + x) * 4,
        )
      }
    }
  })
  return pixels
}

describe('paletteIndex', () => {
  it('is Math.round(|t| * 255), clamped, at the edges', () => {
    const edges = [0, -0, 1, -1, 2, 0.5 / 255, 0.49999999999999994, 127.5 / 255, 254.5 / 255]
    for (const t of [...edges, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1 - Number.EPSILON]) {
      expect(paletteIndex(t)).toBe(roundedIndex(t))
    }
    // Every half-way point between two indices.
    for (let k = 0; k < 256; k++) expect(paletteIndex((k + 0.5) / 255)).toBe(roundedIndex((k + 0.5) / 255))
  })

  it('never meets the one x where floor(x + 0.5) and Math.round(x) differ', () => {
    // x = 0.5 - 2^-54. t * 255 grows with t, so the doubles t next to x / 255 are the only candidates.
    const x = 0.49999999999999994
    const bits = new Float64Array(1)
    const word = new BigInt64Array(bits.buffer)
    bits[0] = x / 255
    const centre = word[0] as bigint
    const products: number[] = []
    for (let k = -64n; k <= 64n; k++) {
      word[0] = centre + k
      const t = bits[0] as number
      products.push(t * 255)
      expect(paletteIndex(t)).toBe(roundedIndex(t))
    }
    expect(products.some((product) => product < x)).toBe(true)
    expect(products.some((product) => product > x)).toBe(true)
    expect(products).not.toContain(x)
  })

  it('is Math.round(|t| * 255), clamped, for any double', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.double({ min: -1.5, max: 1.5 })), (t) => {
        expect(paletteIndex(t)).toBe(roundedIndex(t))
      }),
      { numRuns: 20_000 },
    )
  })
})

describe('paintColumns', () => {
  const values = fc.oneof(
    fc.double({ min: -50, max: 50, noNaN: true }),
    fc.constantFrom(0, -0, Number.NaN, Number.POSITIVE_INFINITY, 1e-12),
  )
  const run = fc.array(
    fc.tuple(fc.array(values, { minLength: 4, maxLength: 4 }), fc.array(values, { minLength: 3, maxLength: 3 })),
    {
      minLength: 1,
      maxLength: 40,
    },
  )

  it('writes what applyScaling and the palette give, for every scale, with more or fewer steps than columns', () => {
    fc.assert(
      fc.property(
        run,
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 0, max: 30 }),
        fc.constantFrom<MavScale>('linear', 'log', 'minmax'),
        fc.constantFrom<MavHistoryMetric>('activations', 'attention_entropy'),
        (cols, width, extra, scale, metric) => {
          const steps = cols.map(([a, e]) => step(a, e))
          const capacity = steps.length + extra
          const rows = metric === 'activations' ? 4 : 3
          const pixels = new Uint8ClampedArray(width * rows * 4)
          const painted = paintColumns(pixels, width, rows, capacity, listOf(steps), 0, metric, scale, Infinity)
          expect(painted.next).toBe(steps.length)
          expect(Array.from(pixels)).toEqual(Array.from(reference(steps, width, rows, capacity, metric, scale)))
        },
      ),
      { numRuns: 300 },
    )
  })

  it('stops when the budget is spent and picks up where it stopped', () => {
    const steps = Array.from({ length: 50 }, (_, i) => step([i, -i, 1, 2], [0.5, i, 3]))
    const list = listOf(steps)
    const oneGo = new Uint8ClampedArray(20 * 4 * 4)
    paintColumns(oneGo, 20, 4, 50, list, 0, 'activations', 'linear', Infinity)
    const pieces = new Uint8ClampedArray(oneGo.length)
    const stops: number[] = []
    for (let from = 0; from < steps.length; ) {
      // A spent budget is checked every 8 steps.
      from = paintColumns(pieces, 20, 4, 50, list, from, 'activations', 'linear', -1).next
      stops.push(from)
    }
    expect(stops.slice(0, 3)).toEqual([7, 14, 21])
    expect(Array.from(pieces)).toEqual(Array.from(oneGo))
  })
})
