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
  forced: true,
  heads: {
    entropy: [
      [0.5, 1],
      [2, 3],
    ],
    positions: [
      [
        [0, 2],
        [1, 0],
      ],
      [
        [2, 1],
        [0, 1],
      ],
    ],
    weights_pct: [
      [
        [60, 40],
        [99, 1],
      ],
      [
        [100, 0],
        [50, 50],
      ],
    ],
    covered_pct: [
      [100, 100],
      [100, 100],
    ],
  },
  lens: {
    ids: [
      [7, 42],
      [42, 7],
    ],
    probs: [
      [0.5, 0.25],
      [0.75, 0.125],
    ],
    texts: { '7': ' dog', '42': ' cat' },
  },
})

type Path = Array<string | number>

/** Every place in a step the schema describes: each field, and the first two items of each array. */
function schemaPaths(schema: unknown, at: Path = []): Path[] {
  const def = (schema as { _zod: { def: { type: string; shape?: object; element?: unknown; innerType?: unknown } } })
    ._zod.def
  if (def.type === 'optional') return schemaPaths(def.innerType, at)
  const paths = [at]
  if (def.type === 'object') {
    for (const [key, field] of Object.entries(def.shape ?? {})) paths.push(...schemaPaths(field, [...at, key]))
  } else if (def.type === 'array') {
    for (const index of [0, 1]) paths.push(...schemaPaths(def.element, [...at, index]))
  }
  return paths
}

// Derived from the schema, so a field added to it and forgotten in the fast path fails this test.
const paths: Path[] = [...schemaPaths(stepDataSchema), ['extra_field']]

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

  it("mutates every field of the schema, the sample step's arrays two items deep", () => {
    const leaves = paths.filter((path) => path.length > 0 && path[0] !== 'extra_field')
    expect(leaves.map((path) => path.join('.'))).toEqual(
      expect.arrayContaining(['step', 'token.id', 'top.1.logit', 'distribution.top_probs.1', 'elapsed_ms']),
    )
    const get = (path: Path) => path.reduce<unknown>((value, key) => (value as Record<string, unknown>)?.[key], valid())
    for (const path of leaves) expect(get(path), path.join('.')).not.toBeUndefined()
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
