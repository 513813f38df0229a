import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { diffLayers, diffStep, resampleDepth, sharedSupportKl, tokenMatchFor } from '../compare'
import type { MavStepEvent } from '../protocol/mavEvent'

function step(token: { id: number; text: string }, top: [number, string, number][]): MavStepEvent {
  return {
    type: 'step',
    step: 0,
    token,
    text_delta: token.text,
    top: top.map(([id, text, prob]) => ({ id, text, prob, logit: 0 })),
    activations: [],
    attention_entropy: [],
    distribution: { entropy: 0, top_probs: [] },
    elapsed_ms: 0,
  }
}

/** A top-n list: distinct ids, probabilities summing to at most 1, most likely first. */
const topList = fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 12 }).chain((ids) =>
  fc
    .array(fc.double({ min: 0.001, max: 1, noNaN: true }), { minLength: ids.length, maxLength: ids.length })
    .map((weights) => {
      const total = weights.reduce((sum, w) => sum + w, 0) * 1.25
      return ids
        .map((id, i): [number, string, number] => [id, `t${id}`, (weights[i] as number) / total])
        .sort((x, y) => y[2] - x[2])
    }),
)
const stepArb = topList.chain((top) => fc.integer({ min: 0, max: 40 }).map((id) => step({ id, text: `t${id}` }, top)))

/** KL as the textbook sum over a shared support, written independently of the function under test. */
function referenceKl(p: Map<number, number>, q: Map<number, number>): number | null {
  const keys = [...p.keys()].filter((k) => q.has(k))
  if (keys.length === 0) return null
  const sp = keys.reduce((s, k) => s + (p.get(k) as number), 0)
  const sq = keys.reduce((s, k) => s + (q.get(k) as number), 0)
  return keys.reduce((s, k) => {
    const a = (p.get(k) as number) / sp
    const b = (q.get(k) as number) / sq
    return a === 0 ? s : s + a * Math.log(a / b)
  }, 0)
}

const mapOf = (s: MavStepEvent) => new Map(s.top.map((p) => [p.id, p.prob]))

describe('diffStep', () => {
  it('reads each run’s probability of its own and of the other token, or bounds it by the smallest listed', () => {
    fc.assert(
      fc.property(stepArb, stepArb, (a, b) => {
        const diff = diffStep(a, b)
        const check = (s: MavStepEvent, id: number, got: (typeof diff.own)[0]) => {
          const listed = s.top.find((p) => p.id === id)
          if (listed) expect(got).toEqual({ listed: true, prob: listed.prob })
          else expect(got).toEqual({ listed: false, below: Math.min(...s.top.map((p) => p.prob)) })
        }
        check(a, a.token.id, diff.own[0])
        check(b, b.token.id, diff.own[1])
        check(a, b.token.id, diff.other[0])
        check(b, a.token.id, diff.other[1])
        expect(diff.agree).toBe(a.token.id === b.token.id)
      }),
    )
  })

  it('KL on the shared support: the renormalised textbook sum, >= 0, 0 against itself', () => {
    fc.assert(
      fc.property(stepArb, stepArb, (a, b) => {
        const diff = diffStep(a, b)
        const expected = referenceKl(mapOf(a), mapOf(b))
        if (expected === null) expect(diff.kl).toBeNull()
        else expect(diff.kl).toBeCloseTo(Math.max(0, expected), 9)
        if (diff.kl !== null) expect(diff.kl).toBeGreaterThanOrEqual(0)
        expect(diffStep(a, a).kl).toBeCloseTo(0, 12)
        expect(diff.shared).toBe(a.top.filter((p) => b.top.some((q) => q.id === p.id)).length)
        expect(diff.sharedMass[0]).toBeLessThanOrEqual(1 + 1e-9)
      }),
    )
  })

  it('KL does not change when one run’s shared probabilities are all scaled by the same factor', () => {
    fc.assert(
      fc.property(stepArb, stepArb, fc.double({ min: 0.1, max: 0.9, noNaN: true }), (a, b, factor) => {
        const scaled = { ...b, top: b.top.map((p) => ({ ...p, prob: p.prob * factor })) }
        const one = diffStep(a, b).kl
        const two = diffStep(a, scaled).kl
        if (one === null) expect(two).toBeNull()
        else expect(two).toBeCloseTo(one, 9)
      }),
    )
  })

  it('matches by text across models, adding up predictions that decode to the same text', () => {
    const a = step({ id: 1, text: ' the' }, [
      [1, ' the', 0.5],
      [2, ' a', 0.2],
    ])
    const b = step({ id: 9, text: ' the' }, [
      [9, ' the', 0.3],
      [8, ' the', 0.1],
      [7, ' a', 0.4],
    ])
    const byText = diffStep(a, b, 'text')
    expect(byText.agree).toBe(true)
    expect(byText.own[1]).toEqual({ listed: true, prob: 0.4 })
    expect(byText.shared).toBe(2)
    expect(diffStep(a, b, 'id').agree).toBe(false)
    expect(diffStep(a, b, 'id').kl).toBeNull()
  })

  it('says Infinity when the reference gives mass to a shared token the other run rounds to 0', () => {
    const a = step({ id: 1, text: 'x' }, [
      [1, 'x', 0.5],
      [2, 'y', 0.5],
    ])
    const b = step({ id: 1, text: 'x' }, [
      [1, 'x', 0.9],
      [2, 'y', 0],
    ])
    expect(diffStep(a, b).kl).toBe(Number.POSITIVE_INFINITY)
    // b renormalised over {x, y} is (1, 0), a is (0.5, 0.5): 1 * ln(1 / 0.5).
    expect(diffStep(b, a).kl).toBeCloseTo(Math.log(2), 12)
    expect(sharedSupportKl(new Map([[1, 0]]), new Map([[1, 0.5]])).kl).toBeNull()
  })

  it('bounds a token outside an empty list by 1', () => {
    const a = step({ id: 1, text: 'x' }, [])
    expect(diffStep(a, a).own[0]).toEqual({ listed: false, below: 1 })
  })
})

describe('tokenMatchFor', () => {
  it('matches by id within one model and by text across models', () => {
    const model = { id: 'm', architecture: 'llama', n_layers: 2, n_heads: 1, vocab_size: 10 }
    expect(tokenMatchFor(model, { ...model })).toBe('id')
    expect(tokenMatchFor(model, { ...model, id: 'n' })).toBe('text')
    expect(tokenMatchFor(model, { ...model, vocab_size: 11 })).toBe('text')
    expect(tokenMatchFor(undefined, model)).toBe('id')
  })
})

const layers = fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 40 })

describe('resampleDepth and diffLayers', () => {
  it('same layer count: b - a layer by layer, not normalised; antisymmetric; 0 against itself', () => {
    fc.assert(
      fc.property(
        layers.chain((a) =>
          fc.tuple(
            fc.constant(a),
            fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: a.length, maxLength: a.length }),
          ),
        ),
        ([a, b]) => {
          const { values, normalised } = diffLayers(a, b)
          expect(normalised).toBe(false)
          expect(values).toEqual(a.map((x, i) => (b[i] as number) - x))
          expect(diffLayers(b, a).values).toEqual(values.map((v) => -v + 0))
          expect(diffLayers(a, a).values.every((v) => v === 0)).toBe(true)
        },
      ),
    )
  })

  it('resampling keeps both ends, stays within the range, is the identity at the same count', () => {
    fc.assert(
      fc.property(layers, fc.integer({ min: 1, max: 80 }), (values, points) => {
        const out = resampleDepth(values, points)
        expect(out).toHaveLength(points)
        expect(out[0]).toBe(values[0])
        if (points > 1) expect(out.at(-1)).toBe(values.at(-1))
        const lo = Math.min(...values)
        const hi = Math.max(...values)
        for (const v of out) {
          expect(v).toBeGreaterThanOrEqual(lo - 1e-6)
          expect(v).toBeLessThanOrEqual(hi + 1e-6)
        }
        expect(resampleDepth(values, values.length)).toEqual(values)
      }),
    )
  })

  it('different layer counts: both on the larger count’s depth grid, flagged normalised', () => {
    fc.assert(
      fc.property(layers, layers, (a, b) => {
        fc.pre(a.length !== b.length)
        const { values, normalised } = diffLayers(a, b)
        const points = Math.max(a.length, b.length)
        expect(normalised).toBe(true)
        expect(values).toHaveLength(points)
        const ra = resampleDepth(a, points)
        const rb = resampleDepth(b, points)
        expect(values).toEqual(rb.map((v, i) => v - (ra[i] as number)))
      }),
    )
    // A line over 3 layers read at 5 depths: halfway points land between layers.
    expect(resampleDepth([0, 10, 20], 5)).toEqual([0, 5, 10, 15, 20])
    expect(diffLayers([0, 10, 20], [1, 1, 1, 1, 1]).values).toEqual([1, -4, -9, -14, -19])
  })
})
