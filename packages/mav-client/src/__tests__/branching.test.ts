import { describe, expect, it } from 'vitest'
import { branchRequest, nextStepRequest } from '../branching'
import { parseMavStream } from '../parseMavStream'
import type { MavEvent, MavMetaEvent, MavStepEvent } from '../protocol/mavEvent'
import { runRequestSchema } from '../protocol/request'
import { createRunStore } from '../runStore'
import { collect, loadFixtures, streamOf } from './helpers'

async function basicRun(): Promise<MavEvent[]> {
  const found = loadFixtures().find((f) => f.name === 'basic-run')
  if (!found) throw new Error('basic-run fixture missing')
  return collect(parseMavStream(streamOf([found.bytes])))
}

async function* from(events: MavEvent[]) {
  yield* events
}

describe('branchRequest', () => {
  it("forces the run's tokens before the step and the chosen token, and keeps the run's length", async () => {
    const events = await basicRun()
    const store = createRunStore()
    await store.consume(from(events))
    const run = store.getSnapshot()
    const meta = run.meta as MavMetaEvent
    const ids = run.steps.toArray().map((s) => s.token.id)
    const request = branchRequest(run, { step: 2, tokenId: 77 })
    expect(request.forced).toEqual({ model: meta.model.id, token_ids: [ids[0], ids[1], 77] })
    expect(request.max_new_tokens).toBe(meta.request.max_new_tokens - 3)
    expect(request.prompt).toBe(meta.request.prompt)
    expect(request.seed).toBe(meta.request.seed)
    expect(runRequestSchema.safeParse(request).success).toBe(true)
    // The last step leaves nothing to generate after it: a branch there still asks for one token.
    expect(branchRequest(run, { step: run.steps.length - 1, tokenId: 5 }).max_new_tokens).toBe(1)
  })

  it('counts a branch run’s own forced steps in its length, and refuses points outside the run', async () => {
    const events = await basicRun()
    const meta = events[0] as MavMetaEvent
    const steps = events.filter((e): e is MavStepEvent => e.type === 'step')
    const branched: MavMetaEvent = {
      ...meta,
      forced_steps: 2,
      request: { ...meta.request, max_new_tokens: 2, forced: { model: meta.model.id, token_ids: [1, 2], echo: true } },
    }
    const request = branchRequest({ meta: branched, steps }, { step: 0, tokenId: 9 })
    expect(request.forced?.token_ids).toEqual([9])
    expect(request.max_new_tokens).toBe(3) // the branch run had 2 forced + 2 new steps
    expect(() => branchRequest({ meta: null, steps }, { step: 0, tokenId: 1 })).toThrow(/meta/)
    expect(() => branchRequest({ meta, steps }, { step: 9, tokenId: 1 })).toThrow(/step must be between 0 and 4/)
    expect(() => branchRequest({ meta, steps }, { step: 1, tokenId: -1 })).toThrow(/tokenId/)
  })
})

describe('nextStepRequest and appended runs (step mode)', () => {
  it('asks for one token at a time with the steps so far forced and not sent again, then for none', async () => {
    const events = await basicRun()
    const meta = events[0] as MavMetaEvent
    const steps = events.filter((e): e is MavStepEvent => e.type === 'step')
    const done = events.at(-1) as MavEvent
    const request = { prompt: meta.request.prompt, max_new_tokens: 4 }
    const store = createRunStore()
    const first = nextStepRequest(request, store.getSnapshot())
    expect(first).toEqual({ prompt: meta.request.prompt, max_new_tokens: 1 })
    // Each press: the server answers meta, the one new step, done. The store appends it.
    for (const [index, step] of steps.entries()) {
      const next = nextStepRequest(request, store.getSnapshot())
      if (index > 0) {
        expect(next?.forced).toEqual({
          model: meta.model.id,
          token_ids: steps.slice(0, index).map((s) => s.token.id),
          echo: false,
        })
      }
      const answer: MavEvent[] = [
        { ...meta, ...(index > 0 ? { forced_steps: index } : {}) },
        step,
        { ...(done as Extract<MavEvent, { type: 'done' }>), steps: index + 1 },
      ]
      await store.consume(from(answer), { append: true })
      const state = store.getSnapshot()
      expect(state.status).toBe('done')
      expect(state.steps.length).toBe(index + 1)
      expect(state.meta?.forced_steps).toBeUndefined() // the run's first meta stays
    }
    const state = store.getSnapshot()
    expect(state.text).toBe(steps.map((s) => s.text_delta).join(''))
    expect(nextStepRequest(request, state)).toBeUndefined()
    expect(nextStepRequest({ ...request, max_new_tokens: 10 }, state, 100)?.max_new_tokens).toBe(6) // run to end
    expect(nextStepRequest({ ...request, max_new_tokens: 10 }, { ...state, done: { reason: 'eos' } })).toBeUndefined()
  })
})
