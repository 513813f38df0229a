import { describe, expect, it } from 'vitest'
import { binDistribution } from '../binDistribution'
import { applyScaling, type MavScale } from '../scaling'
import vectors from './vectors/openmav.json'

// The vectors were computed by openmav 0.0.12 itself (scripts/openmav_vectors.py) on float32 data;
// we compute in float64, hence the small relative tolerance.
describe('parity with openmav', () => {
  for (const vector of vectors.scaling) {
    it(`applyScaling ${vector.name} ${vector.scale} ${vector.max_bar_length}`, () => {
      const actual = applyScaling(vector.values, vector.scale as MavScale, vector.max_bar_length)
      expect(actual).toHaveLength(vector.expected.length)
      actual.forEach((value, i) => {
        expect(value).toBeCloseTo(vector.expected[i] as number, 4)
      })
    })
  }

  for (const vector of vectors.distribution) {
    it(`binDistribution ${vector.name} (${vector.bins} bins)`, () => {
      const bins = binDistribution(vector.top_probs, vector.bins)
      const maxSum = Math.max(...bins.map((b) => b.sum)) || 1
      // openmav lists bins highest first, with bars of int(sum / max * resolution) characters.
      const ours = bins.reverse().map((bin) => ({
        label: bin.label.toFixed(4),
        bar: Math.trunc((bin.sum / maxSum) * vector.bar_resolution),
      }))
      expect(ours.map((b) => b.label)).toEqual(vector.openmav.map((b) => b.label))
      ours.forEach((bin, i) => {
        expect(Math.abs(bin.bar - (vector.openmav[i]?.bar as number))).toBeLessThanOrEqual(1)
      })
    })
  }

  it('applyScaling refuses an unknown scale with the accepted names', () => {
    expect(() => applyScaling([1], 'cubic' as MavScale)).toThrow(/"linear", "log" or "minmax"/)
  })

  it('binDistribution of nothing is no bins', () => {
    expect(binDistribution([])).toEqual([])
    expect(() => binDistribution([0.5], 0)).toThrow(/positive integer/)
  })
})
