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
    const [first, second] = [runView(store, 'frame', 0), runView(store, 'frame', 1)]
    expect(second).not.toBe(first)
    const seen: string[] = []
    const off = [first.subscribe(() => seen.push('lane0')), second.subscribe(() => seen.push('lane1'))]
    const frame = () => new Promise((resolve) => requestAnimationFrame(resolve))
    const events = recordingEvents()
    store.dispatch(events[0] as never)
    await frame()
    expect(seen).toEqual(['lane0'])
    expect(second.getSnapshot()).not.toBe(store.getSnapshot())
    await frame()
    expect(seen).toEqual(['lane0', 'lane1'])
    expect(second.getSnapshot()).toBe(store.getSnapshot())
    // A change every frame: the lanes alternate, so no frame updates both.
    seen.length = 0
    for (const event of events.slice(1, 5)) {
      store.dispatch(event)
      await frame()
    }
    expect(seen).toEqual(['lane0', 'lane1', 'lane0', 'lane1'])
    await frame()
    await frame()
    expect(first.getSnapshot()).toBe(store.getSnapshot())
    expect(second.getSnapshot()).toBe(store.getSnapshot())
    for (const unsubscribe of off) unsubscribe()
  })
})
