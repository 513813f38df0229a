import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { stepDataSchema } from '../protocol/events'
import { readStepFast } from '../protocol/fastStep'

const valid = () => ({
  step: 3,
  token: { id: 42, text: ' cat' },
  text_delta: ' cat',
  top: [
    { id: 42, text: ' cat', prob: 0.5, logit: 12.25 },
    { id: 7, text: ' dog', prob: 0.25, logit: -1 },
  ],
  activations: [1.5, -2, 300],
  attention_entropy: [0, 2.5],
  distribution: { entropy: 1.2, top_probs: [0.5, 0.25, 0] },
  elapsed_ms: 12.5,
})

const paths: Array<Array<string | number>> = [
  [],
  ['step'],
  ['token'],
  ['token', 'id'],
  ['token', 'text'],
  ['text_delta'],
  ['top'],
  ['top', 0],
  ['top', 1, 'id'],
  ['top', 0, 'text'],
  ['top', 1, 'prob'],
  ['top', 0, 'logit'],
  ['activations'],
  ['activations', 2],
  ['attention_entropy', 0],
  ['distribution'],
  ['distribution', 'entropy'],
  ['distribution', 'top_probs'],
  ['distribution', 'top_probs', 1],
  ['elapsed_ms'],
  ['extra_field'],
]

const oddValues = fc.oneof(
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    -1,
    1.5,
    0,
    1,
    2 ** 53,
    -0,
    '',
    '1',
    null,
    true,
    [],
    {},
    Array.from({ length: 101 }, () => 0.001),
    Array.from({ length: 100 }, () => 0.001),
    [1, 'x'],
    [{ id: 1, text: 'a', prob: 0.1, logit: 1 }],
  ),
  fc.double(),
  fc.integer(),
  fc.string(),
  fc.array(fc.double({ min: -2, max: 2 }), { maxLength: 4 }),
)

function setAt(target: unknown, path: Array<string | number>, value: unknown): unknown {
  if (path.length === 0) return value
  const [head, ...rest] = path
  if (target === null || typeof target !== 'object') return target
  const copy = (Array.isArray(target) ? [...target] : { ...target }) as Record<string | number, unknown>
  copy[head as string | number] = setAt(copy[head as string | number], rest, value)
  return copy
}

describe('readStepFast', () => {
  it('accepts a valid step and returns what zod returns', () => {
    expect(readStepFast(valid())).toEqual(stepDataSchema.parse(valid()))
  })

  it('agrees with stepDataSchema on every mutation', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...paths), oddValues), { minLength: 1, maxLength: 3 }),
        (mutations) => {
          const data = mutations.reduce<unknown>((acc, [path, value]) => setAt(acc, path, value), valid())
          const zod = stepDataSchema.safeParse(data)
          const fast = readStepFast(data)
          expect(fast !== undefined).toBe(zod.success)
          if (zod.success) expect(fast).toEqual(zod.data)
        },
      ),
      { numRuns: 3000 },
    )
  })
})
