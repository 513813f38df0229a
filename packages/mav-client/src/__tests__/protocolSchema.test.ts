import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { protocolJsonSchemaText } from '../../scripts/protocolJsonSchema'
import { mavEventSchema } from '../protocol/mavEvent'
import { runRequestSchema } from '../protocol/request'

describe('JSON Schema', () => {
  it('the committed schema is the one generated from the zod schemas (run `pnpm --filter @mav/client schema`)', () => {
    const committed = readFileSync(new URL('../../schema/mav-protocol.schema.json', import.meta.url), 'utf8')
    expect(committed).toBe(protocolJsonSchemaText())
  })
})

describe('zod schemas', () => {
  it('fills every request default', () => {
    expect(runRequestSchema.parse({ prompt: 'Hi' })).toEqual({
      prompt: 'Hi',
      max_new_tokens: 50,
      temperature: 0,
      top_k: 50,
      top_p: 1,
      min_p: 0,
      repetition_penalty: 1,
      seed: 42,
      aggregation: 'l2',
      top_n: 20,
    })
  })

  it.each([
    [{ prompt: '' }, 'prompt'],
    [{ prompt: 'x', top_n: 101 }, 'top_n'],
    [{ prompt: 'x', top_p: 0 }, 'top_p'],
    [{ prompt: 'x', temperature: -1 }, 'temperature'],
    [{ prompt: 'x', aggregation: 'mean' }, 'aggregation'],
    [{ prompt: 'x', max_new_tokens: 1.5 }, 'max_new_tokens'],
    [{ prompt: 'x', seed: -1 }, 'seed'],
    // Values the sampler cannot use, or a JavaScript number cannot carry exactly.
    [{ prompt: 'x', temperature: 1e-37 }, 'temperature'],
    [{ prompt: 'x', temperature: 101 }, 'temperature'],
    [{ prompt: 'x', repetition_penalty: 5e-324 }, 'repetition_penalty'],
    [{ prompt: 'x', repetition_penalty: 1e300 }, 'repetition_penalty'],
    [{ prompt: 'x', max_new_tokens: 2 ** 53 }, 'max_new_tokens'],
    [{ prompt: 'x', top_k: 2 ** 53 }, 'top_k'],
    [{ prompt: 'x', detail: ['lens', 'lens', 'heads'] }, 'detail'],
    [{ prompt: 'x', detail: 'lens' }, 'detail'],
  ])('rejects %j at %s', (input, field) => {
    const result = runRequestSchema.safeParse(input)
    expect(result.success).toBe(false)
    expect(result.error?.issues[0]?.path).toEqual([field])
  })

  it('says what temperature must be', () => {
    const result = runRequestSchema.safeParse({ prompt: 'x', temperature: 0.001 })
    expect(result.error?.issues[0]?.message).toBe('must be 0 (greedy) or between 0.01 and 100')
    expect(runRequestSchema.parse({ prompt: 'x', temperature: 0.01 }).temperature).toBe(0.01)
  })

  it('keeps the event union discriminated on type', () => {
    expect(mavEventSchema.safeParse({ type: 'done', reason: 'eos', steps: 2, elapsed_ms: 4 }).success).toBe(true)
    expect(mavEventSchema.safeParse({ type: 'finish', reason: 'eos' }).success).toBe(false)
  })
})
