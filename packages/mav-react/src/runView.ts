import type { MavRunState, MavRunStore } from '@mav/client'

/**
 * When React hears about store changes. `frame` batches them to one notification per animation frame
 * (a fast replay can dispatch thousands of events between two frames); `sync` passes every change on
 * at once, which tests and custom integrations sometimes want.
 */
export type MavUpdateMode = 'frame' | 'sync'

/** The read side of a run store that React subscribes to: `subscribe` + `getSnapshot`. */
export interface RunView {
  subscribe(listener: () => void): () => void
  getSnapshot(): MavRunState
}

type Schedule = (flush: () => void) => void

const scheduleFrame: Schedule = (flush) => {
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(flush)
  else setTimeout(flush, 16)
}

/** A view of `store` that notifies at most once per frame and holds one snapshot between frames. */
function createFrameView(store: MavRunStore, schedule: Schedule): RunView {
  const listeners = new Set<() => void>()
  let snapshot = store.getSnapshot()
  let scheduled = false
  let unsubscribe: (() => void) | null = null

  const flush = () => {
    scheduled = false
    const next = store.getSnapshot()
    if (next === snapshot) return
    snapshot = next
    for (const listener of listeners) listener()
  }
  const onChange = () => {
    if (scheduled) return
    scheduled = true
    schedule(flush)
  }

  return {
    subscribe(listener) {
      listeners.add(listener)
      if (unsubscribe === null) {
        snapshot = store.getSnapshot()
        unsubscribe = store.subscribe(onChange)
      }
      return () => {
        listeners.delete(listener)
        if (listeners.size === 0 && unsubscribe !== null) {
          unsubscribe()
          unsubscribe = null
        }
      }
    },
    // Unsubscribed readers (the first render, the server) see the store as it is now.
    getSnapshot: () => (unsubscribe === null ? store.getSnapshot() : snapshot),
  }
}

const frameViews = new WeakMap<MavRunStore, RunView>()

/** The shared view of `store` for `mode`: every component of one store shares one frame subscription. */
export function runView(store: MavRunStore, mode: MavUpdateMode = 'frame'): RunView {
  if (mode === 'sync') return store
  let view = frameViews.get(store)
  if (view === undefined) {
    view = createFrameView(store, scheduleFrame)
    frameViews.set(store, view)
  }
  return view
}
