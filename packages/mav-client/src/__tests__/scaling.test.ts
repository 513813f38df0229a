import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { applyScaling, type MavScale } from '../scaling'

/** The definition, written with spreads and maps: what the loops must give, NaN and -0 included. */
function reference(values: number[], scale: MavScale, maxBarLength: number): number[] {
  let scaled = [...values]
  if (scaled.length === 0) return scaled
  if (scale === 'log') scaled = scaled.map((value) => Math.log1p(Math.abs(value)))
  if (scale === 'minmax') {
    const min = Math.min(...scaled)
    const max = Math.max(...scaled)
    scaled = max - min > 1e-9 ? scaled.map((value) => (value - min) / (max - min)) : scaled.map(() => 0)
  }
  const max = Math.max(...scaled)
  return max > 0 ? scaled.map((value) => (value / max) * maxBarLength) : scaled
}

const value = fc.oneof(
  fc.double(),
  fc.constantFrom(0, -0, 1e-12, -1e-12, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
)
const scale = fc.constantFrom<MavScale>('linear', 'log', 'minmax')

describe('applyScaling', () => {
  it('gives the definition value for value, into a fresh array or into a reused buffer', () => {
    const buffer = new Float64Array(64)
    fc.assert(
      fc.property(fc.array(value, { maxLength: 40 }), scale, fc.double({ min: 0, max: 100 }), (values, s, length) => {
        const expected = reference(values, s, length)
        expect(applyScaling(values, s, length)).toEqual(expected)
        applyScaling(values, s, length, buffer)
        expect(Array.from(buffer.subarray(0, values.length))).toEqual(expected)
      }),
    )
  })

  it('writes into the buffer it is given and returns that buffer', () => {
    const buffer = new Float64Array(3)
    expect(applyScaling([1, 2, 4], 'linear', 1, buffer)).toBe(buffer)
    expect(Array.from(buffer)).toEqual([0.25, 0.5, 1])
  })
})
