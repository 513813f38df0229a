import { describe, expect, it, vi } from 'vitest'
import { MavHttpError } from '../errors'
import { parseMavStream } from '../parseMavStream'
import type { MavEvent } from '../protocol/mavEvent'
import { createRunStore } from '../runStore'
import { collect, loadFixtures, streamOf } from './helpers'

const fixture = (name: string) => {
  const found = loadFixtures().find((f) => f.name === name)
  if (!found) throw new Error(`${name} fixture missing`)
  return collect(parseMavStream(streamOf([found.bytes])))
}

async function* from(events: MavEvent[]) {
  yield* events
}

describe('createRunStore', () => {
  it('follows a run from connecting to done', async () => {
    const events = await fixture('basic-run')
    const store = createRunStore()
    expect(store.getSnapshot().status).toBe('idle')
    const statuses: string[] = []
    store.subscribe(() => statuses.push(store.getSnapshot().status))
    await store.consume(from(events))
    const state = store.getSnapshot()
    expect(state.status).toBe('done')
    expect(state.steps.length).toBe(4)
    expect(state.text).toBe(",I'm a".replace(',I', ', I'))
    expect(state.textEnds.toArray()).toEqual([1, 3, 5, 7])
    expect(state.meta?.model.n_layers).toBe(12)
    expect(state.done?.reason).toBe('max_tokens')
    expect(statuses[0]).toBe('connecting')
    expect(statuses).toContain('streaming')
  })

  it('hands out immutable snapshots without copying the history', async () => {
    const events = (await fixture('basic-run')).filter((e) => e.type === 'step')
    const store = createRunStore()
    store.reset('streaming')
    store.dispatch(events[0] as MavEvent)
    const before = store.getSnapshot()
    store.dispatch(events[1] as MavEvent)
    const after = store.getSnapshot()
    expect(before.steps.length).toBe(1)
    expect(before.steps.at(1)).toBeUndefined()
    expect(after.steps.length).toBe(2)
    expect(after.steps.last()).toBe(events[1])
    expect(before.text).toBe(',')
    expect(after.meta).toBe(before.meta)
    expect(store.getSnapshot()).toBe(after)
    store.dispatch(events[2] as MavEvent)
    expect(after.steps.slice(-1)).toEqual([events[1]])
    expect(after.steps.slice(1, 10)).toEqual([events[1]])
    expect(before.steps.slice()).toEqual([events[0]])
    store.reset()
    expect(after.steps.length).toBe(2)
    expect(after.steps.toArray()).toEqual(events.slice(0, 2))
  })

  it('keeps invalid events as warnings and goes on; a real error ends the run', async () => {
    const store = createRunStore()
    await store.consume(from(await fixture('malformed')))
    const state = store.getSnapshot()
    expect(state.warnings).toHaveLength(3)
    expect(state.steps.length).toBe(1)
    expect(state.status).toBe('error')
    expect(state.error?.code).toBe('generation_failed')
  })

  it('shows loading while the model loads', () => {
    const store = createRunStore()
    store.reset('connecting')
    store.dispatch({ type: 'status', phase: 'loading_model', progress: 0.5 })
    expect(store.getSnapshot().status).toBe('loading')
    expect(store.getSnapshot().phase?.progress).toBe(0.5)
  })

  it('turns a refused request into an error state', async () => {
    const store = createRunStore()
    const refused: AsyncIterable<MavEvent> = {
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.reject(new MavHttpError(429, 'busy', { code: 'too_many_runs', retryAfter: 1 })),
      }),
    }
    await store.consume(refused)
    expect(store.getSnapshot()).toMatchObject({ status: 'error', error: { code: 'too_many_runs', retryable: true } })
  })

  it('marks an aborted consume as stopped, and a superseded one writes nothing', async () => {
    const events = await fixture('basic-run')
    const store = createRunStore()
    const first = new AbortController()
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    async function* slow() {
      yield events[0] as MavEvent
      await gate
      yield* events.slice(1)
    }
    const firstRun = store.consume(slow(), { signal: first.signal })
    await vi.waitFor(() => expect(store.getSnapshot().meta).not.toBeNull())
    first.abort()
    const secondRun = store.consume(from(events.slice(0, 3)))
    release()
    await Promise.all([firstRun, secondRun])
    const state = store.getSnapshot()
    expect(state.steps.length).toBe(1)
    expect(state.status).toBe('streaming')
  })

  it('stop() marks a live run stopped and leaves a finished one alone', async () => {
    const store = createRunStore()
    store.reset('streaming')
    store.stop()
    expect(store.getSnapshot().status).toBe('stopped')
    await store.consume(from(await fixture('basic-run')))
    store.stop()
    expect(store.getSnapshot().status).toBe('done')
  })
})
