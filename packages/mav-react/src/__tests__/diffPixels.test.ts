import { createRunStore } from '@mav/client'
import { describe, expect, it } from 'vitest'
import { diffColumn, diverging, divergingIndex, paintDiffColumns } from '../diffPixels'
import { makeStep } from './helpers'

const rgbAt = (pixels: Uint8ClampedArray, width: number, x: number, row: number) => {
  const at = (row * width + x) * 4
  return [pixels[at], pixels[at + 1], pixels[at + 2]]
}
const paletteAt = (t: number) => {
  const i = divergingIndex(t) * 3
  return Array.from(diverging().subarray(i, i + 3))
}

describe('diff heatmap pixels', () => {
  it('maps -1, 0, +1 to blue, grey, red and clamps beyond', () => {
    expect(divergingIndex(-1)).toBe(1)
    expect(divergingIndex(0)).toBe(128)
    expect(paletteAt(0)).toEqual([240, 240, 240])
    expect(divergingIndex(1)).toBe(255)
    expect(divergingIndex(5)).toBe(255)
    expect(divergingIndex(Number.NaN)).toBe(divergingIndex(0))
    expect(paletteAt(-1)).toEqual([33, 102, 172])
    expect(paletteAt(1)).toEqual([178, 24, 43])
  })

  it('divides b - a by the reference’s largest |value| at the step', () => {
    const a = makeStep({ activations: [1, -2, 4, -8] })
    const b = makeStep({ activations: [1, 2, 4, -16] })
    expect(diffColumn(a, b, 'activations', [])).toEqual([0, 0.5, 0, -1])
  })

  it('paints one column per step of the shorter run: neutral where equal, coloured by sign', () => {
    const store = (steps: ReturnType<typeof makeStep>[]) => {
      const s = createRunStore()
      for (const step of steps) s.dispatch(step)
      return s.getSnapshot().steps
    }
    const a = store([makeStep({ step: 0 }), makeStep({ step: 1 }), makeStep({ step: 2 })])
    const b = store([makeStep({ step: 0 }), makeStep({ step: 1, activations: [9, -2, 4, -8] })])
    const width = 4
    const pixels = new Uint8ClampedArray(width * 4 * 4)
    const painted = paintDiffColumns(pixels, width, 4, 4, a, b, 0, 'activations', Number.POSITIVE_INFINITY)
    expect(painted).toEqual({ next: 2, left: 0, right: 2 })
    expect(rgbAt(pixels, width, 0, 0)).toEqual(paletteAt(0))
    expect(rgbAt(pixels, width, 1, 0)).toEqual(paletteAt(1))
    expect(rgbAt(pixels, width, 1, 1)).toEqual(paletteAt(0))
    expect(rgbAt(pixels, width, 2, 0)).toEqual([0, 0, 0])
  })
})
