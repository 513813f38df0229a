import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { chosenProbability, createAnomalyDetector, findAnomalies, nextMarked, robustZ } from '../anomalies'
import { headTargets, settlingLayer } from '../detail'
import type { MavStepData } from '../protocol/events'

function step(index: number, prob: number, entropy: number, attention: number[]): MavStepData {
  return {
    step: index,
    token: { id: 1, text: 'a' },
    text_delta: 'a',
    top: [
      { id: prob >= 0.5 ? 1 : 2, text: 'x', prob: Math.max(prob, 0.5), logit: 1 },
      { id: prob >= 0.5 ? 2 : 1, text: 'y', prob: Math.min(prob, 0.5), logit: 0 },
    ],
    activations: [1, 2],
    attention_entropy: attention,
    distribution: { entropy, top_probs: [0.5] },
    elapsed_ms: index,
  }
}

/** The modified z-score computed the slow way: sort, median, sort deviations, median. */
function slowZ(history: number[], value: number): number {
  const sorted = [...history].sort((a, b) => a - b)
  const med = (xs: number[]) => {
    const n = xs.length
    return n % 2 ? (xs[n >> 1] as number) : ((xs[(n >> 1) - 1] as number) + (xs[n >> 1] as number)) / 2
  }
  const m = med(sorted)
  const mad = med(sorted.map((x) => Math.abs(x - m)).sort((a, b) => a - b))
  if (mad === 0) {
    const mean = sorted.reduce((a, x) => a + Math.abs(x - m), 0) / sorted.length
    return mean === 0 ? 0 : (value - m) / (mean * 1.2533)
  }
  return (0.6745 * (value - m)) / mad
}

describe('anomaly rules', () => {
  it('robustZ equals the modified z-score computed by sorting', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 1, maxLength: 40 }),
        fc.double({ min: -100, max: 100, noNaN: true }),
        (history, value) => {
          const sorted = [...history].sort((a, b) => a - b)
          expect(robustZ(sorted, value)).toBeCloseTo(slowZ(history, value), 9)
        },
      ),
    )
  })

  it('robustZ matches the sorting way on long histories full of ties', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -6, max: 6 }), { minLength: 1, maxLength: 600 }),
        fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { maxLength: 60 }),
        fc.integer({ min: -20, max: 20 }),
        (ties, spread, value) => {
          const history = [...ties.map((x) => x / 2), ...spread]
          const sorted = [...history].sort((a, b) => a - b)
          expect(robustZ(sorted, value)).toBeCloseTo(slowZ(history, value), 9)
        },
      ),
      { numRuns: 300 },
    )
  })

  it("reads the chosen token's probability, or the last listed one as its upper bound", () => {
    expect(chosenProbability(step(0, 0.8, 1, []))).toBe(0.8)
    expect(chosenProbability(step(0, 0.05, 1, []))).toBe(0.05)
    expect(chosenProbability({ ...step(0, 0.8, 1, []), token: { id: 9, text: 'z' } })).toBe(0.5)
  })

  it('marks low probabilities at the threshold the user sets', () => {
    const steps = [step(0, 0.9, 1, [1]), step(1, 0.08, 1, [1]), step(2, 0.3, 1, [1])]
    expect(findAnomalies(steps).map((a) => [a.step, a.kinds])).toEqual([[1, ['low_probability']]])
    expect(findAnomalies(steps, { lowProbability: 0.5 }).map((a) => a.step)).toEqual([1, 2])
  })

  it('marks output and attention entropy jumps against the run so far, after the warm-up', () => {
    const steps = Array.from({ length: 20 }, (_, i) => step(i, 0.9, 1 + (i % 3) * 0.1, [2 + (i % 2) * 0.1, 1]))
    steps[12] = step(12, 0.9, 4, [2, 1])
    steps[15] = step(15, 0.9, 1.1, [2, 0.1 + 1])
    steps[16] = step(16, 0.9, 1.1, [2.05, 3])
    steps[3] = step(3, 0.9, 9, [2, 1]) // within the warm-up: not scored
    const found = findAnomalies(steps)
    expect(found.map((a) => [a.step, a.kinds])).toEqual([
      [12, ['entropy_jump']],
      [16, ['attention_jump']],
    ])
    expect(found[1]?.layer).toBe(1)
    expect(found[1]?.layerZ).toBeGreaterThan(3.5)
  })

  it('scores a run pushed step by step as the whole run at once', () => {
    const steps = Array.from({ length: 60 }, (_, i) => step(i, ((i * 37) % 100) / 100, (i * 13) % 7, [(i * 7) % 5, 1]))
    const detector = createAnomalyDetector()
    const live = steps.map((s) => detector.push(s)).filter((a) => a !== null)
    expect(live).toEqual(findAnomalies(steps))
    expect(detector.length).toBe(60)
  })

  it('finds the next and previous marked step', () => {
    const marked = [2, 5, 9]
    expect(nextMarked(marked, 0, 1)).toBe(2)
    expect(nextMarked(marked, 5, 1)).toBe(9)
    expect(nextMarked(marked, 9, 1)).toBe(-1)
    expect(nextMarked(marked, 5, -1)).toBe(2)
    expect(nextMarked(marked, 6, -1)).toBe(5)
    expect(nextMarked(marked, 2, -1)).toBe(-1)
  })
})

describe('detail helpers', () => {
  const base = step(0, 0.9, 1, [1])
  it('finds the lens row from which the chosen token stays on top', () => {
    const lens = { ids: [[5], [1], [7], [1], [1]], probs: [[0.1], [0.2], [0.3], [0.4], [0.9]], texts: {} }
    expect(settlingLayer({ ...base, lens })).toBe(3)
    expect(settlingLayer({ ...base, lens: { ...lens, ids: [[5], [1], [7], [1], [4]] } })).toBeNull()
    expect(settlingLayer(base)).toBeNull()
  })

  it("lists a head's positions with weights", () => {
    const heads = { entropy: [[1]], positions: [[[4, 0]]], weights_pct: [[[70, 20]]], covered_pct: [[90]] }
    expect(headTargets({ ...base, heads }, 0, 0)).toEqual([
      { position: 4, weight: 0.7 },
      { position: 0, weight: 0.2 },
    ])
    expect(headTargets(base, 0, 0)).toEqual([])
  })
})
