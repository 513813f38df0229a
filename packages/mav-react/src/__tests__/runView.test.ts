import { createRunStore } from '@mav/client'
import { describe, expect, it, vi } from 'vitest'
import { runView } from '../runView'
import { recordingEvents } from './helpers'

describe('runView', () => {
  it('notifies once per frame with the newest snapshot, and is shared per store', async () => {
    const store = createRunStore()
    const view = runView(store)
    expect(runView(store)).toBe(view)
    expect(runView(store, 'sync')).toBe(store)
    const listener = vi.fn()
    const unsubscribe = view.subscribe(listener)
    const before = view.getSnapshot()
    for (const event of recordingEvents()) store.dispatch(event)
    expect(view.getSnapshot()).toBe(before)
    expect(listener).not.toHaveBeenCalled()
    await new Promise((resolve) => requestAnimationFrame(resolve))
    await new Promise((resolve) => requestAnimationFrame(resolve))
    expect(listener).toHaveBeenCalledTimes(1)
    expect(view.getSnapshot()).toBe(store.getSnapshot())
    unsubscribe()
    store.reset()
    expect(view.getSnapshot()).toBe(store.getSnapshot())
  })

  it('updates one lane per frame, taking turns, and every lane sees the newest snapshot', async () => {
    const store = createRunStore()
    const views = [0, 1, 2].map((lane) => runView(store, 'frame', lane as 0 | 1 | 2))
    expect(new Set(views).size).toBe(3)
    const seen: number[] = []
    const off = views.map((view, lane) => view.subscribe(() => seen.push(lane)))
    const frame = () => new Promise((resolve) => requestAnimationFrame(resolve))
    const events = recordingEvents()
    store.dispatch(events[0] as never)
    await frame()
    expect(seen).toEqual([0])
    expect(views[1]?.getSnapshot()).not.toBe(store.getSnapshot())
    await frame()
    await frame()
    expect(seen).toEqual([0, 1, 2])
    for (const view of views) expect(view.getSnapshot()).toBe(store.getSnapshot())
    // A change every frame: the lanes take turns, so no frame updates two.
    seen.length = 0
    for (const event of events.slice(1, 6)) {
      store.dispatch(event)
      await frame()
    }
    expect(seen).toEqual([0, 1, 2, 0, 1])
    await frame()
    await frame()
    for (const view of views) expect(view.getSnapshot()).toBe(store.getSnapshot())
    for (const unsubscribe of off) unsubscribe()
  })

  it('skips lanes nobody reads', async () => {
    const store = createRunStore()
    const [first, , third] = [0, 1, 2].map((lane) => runView(store, 'frame', lane as 0 | 1 | 2))
    const seen: string[] = []
    const off = [first?.subscribe(() => seen.push('first')), third?.subscribe(() => seen.push('third'))]
    const frame = () => new Promise((resolve) => requestAnimationFrame(resolve))
    const events = recordingEvents()
    for (const event of events.slice(0, 4)) {
      store.dispatch(event)
      await frame()
    }
    expect(seen).toEqual(['first', 'third', 'first', 'third'])
    for (const unsubscribe of off) unsubscribe?.()
  })
})
