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
})
