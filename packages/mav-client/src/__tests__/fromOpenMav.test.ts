import { describe, expect, it } from 'vitest'
import { fromOpenMavMeasurement } from '../fromOpenMav'
import { stepDataSchema } from '../protocol/events'

// Shaped like the seed's mav-web JSON: tensors as nested arrays, logits [1, 1, vocab].
const vocab = 8
const probs = [0.5, 0.2, 0.1, 0.1, 0.05, 0.03, 0.01, 0.01]
const measurement = {
  mlp_activations: [[10.5], [20.25], [-3]],
  mlp_normalized: [[5], [10], [1.5]],
  attention_entropy_values: [[1.25], [0.5]],
  attention_entropy_values_normalized: [[20], [8]],
  generated_text: 'Hello',
  predicted_char: ' world',
  next_token_probs: probs,
  top_ids: [0, 1, 2],
  top_probs: [0.5, 0.2, 0.1],
  logits: [[Array.from({ length: vocab }, (_, i) => 10 - i)]],
  decoded_tokens: ['x', 'world', 'y'],
}

describe('fromOpenMavMeasurement', () => {
  it('makes a valid mav/1 step from an openmav measurement', () => {
    const step = fromOpenMavMeasurement(measurement, { step: 3, elapsedMs: 120 })
    const { type, ...data } = step
    expect(type).toBe('step')
    expect(stepDataSchema.safeParse(data).success).toBe(true)
    expect(step).toMatchObject({
      step: 3,
      token: { id: 1, text: ' world' },
      text_delta: ' world',
      activations: [10.5, 20.25, -3],
      attention_entropy: [1.25, 0.5],
      elapsed_ms: 120,
    })
    expect(step.top).toEqual([
      { id: 0, text: 'x', prob: 0.5, logit: 10 },
      { id: 1, text: 'world', prob: 0.2, logit: 9 },
      { id: 2, text: 'y', prob: 0.1, logit: 8 },
    ])
    const entropy = -probs.reduce((sum, p) => sum + p * Math.log(p), 0)
    expect(step.distribution.entropy).toBeCloseTo(entropy, 10)
    expect(step.distribution.top_probs).toEqual([...probs].sort((a, b) => b - a))
  })

  it('uses a given token id', () => {
    expect(fromOpenMavMeasurement(measurement, { tokenId: 7 }).token.id).toBe(7)
  })

  it('names the field that does not hold numbers', () => {
    expect(() => fromOpenMavMeasurement({ ...measurement, top_probs: ['a'] })).toThrow(/"top_probs"/)
  })
})
