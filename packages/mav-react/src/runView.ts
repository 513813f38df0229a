import type { MavRunState, MavRunStore } from '@mav/client'
import { createLanePacer, type LanePacer } from './lanePacer'

/**
 * When React hears about store changes. `frame` batches them to one notification per animation frame
 * (a fast replay can dispatch thousands of events between two frames); `sync` passes every change on
 * at once, which tests and custom integrations sometimes want.
 */
export type MavUpdateMode = 'frame' | 'sync'

/**
 * Which update lane a subscriber is in. Updating every panel of a 30-layer model in one frame costs
 * more than a 60 Hz frame on a slow machine (mostly layout of the changed numbers), so in `frame` mode
 * the panels are spread over six lanes and a frame updates as many lanes, taking turns, as recent
 * frames show it has time for: all of them on a fast machine, one on a slow one. Each lane still sees
 * every change, at most five frames after the others. In `sync` mode every lane is the store.
 */
export type MavUpdateLane = 0 | 1 | 2 | 3 | 4 | 5

/** How many lanes take turns. */
export const MAV_UPDATE_LANES = 6

/**
 * The lane of each built-in view, chosen so the lanes cost about the same; the generated text,
 * timeline, status line and the history's frame are in lane 0, the default. The history's pixels have a
 * lane of their own: a replay arriving at once gives them thousands of steps' columns to paint, which
 * would otherwise land in the frame that mounts another panel's rows.
 */
export const PANEL_LANES = {
  top_predictions: 1,
  attention_entropy: 2,
  mlp_activations: 3,
  output_distribution: 4,
  activation_history: 5,
} as const satisfies Record<string, MavUpdateLane>

/** The read side of a run store that React subscribes to: `subscribe` + `getSnapshot`. */
export interface RunView {
  subscribe(listener: () => void): () => void
  getSnapshot(): MavRunState
}

export type Schedule = (flush: () => void) => void

export const scheduleFrame: Schedule = (flush) => {
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(flush)
  else setTimeout(flush, 16)
}

interface Lane extends RunView {
  /** Takes the store's newest snapshot and notifies; false when it already had it. */
  flush(): boolean
  stale(): boolean
  /** Read, and about to go from no step to the store's first steps. */
  mounting(): boolean
}

/**
 * Views of `store`, one per lane; a frame updates as many lanes as `pacer` allows, taking turns.
 * Exported for tests; `runView` is the API.
 */
export function createFrameViews(store: MavRunStore, schedule: Schedule, pacer: LanePacer): readonly RunView[] {
  let scheduled = false
  let next = 0
  let subscribers = 0
  let unsubscribe: (() => void) | null = null

  const onChange = () => {
    if (scheduled) return
    scheduled = true
    schedule(frame)
  }
  // Each frame flushes up to `pacer.perFrame()` stale lanes, taking turns, and asks for another frame
  // while one is stale. A lane about to show the run's first step mounts every row of its panels, which
  // costs several updates: it gets a frame of its own, whatever the pacer has learnt from updates.
  const frame = () => {
    scheduled = false
    const started = performance.now()
    const budget = pacer.perFrame()
    let flushed = 0
    const first = next
    for (let turn = 0; turn < lanes.length && flushed < budget; turn++) {
      const index = (first + turn) % lanes.length
      const lane = lanes[index] as Lane
      const mounting = lane.mounting()
      if (mounting && flushed > 0) break
      if (lane.flush()) {
        flushed++
        next = (index + 1) % lanes.length
        if (mounting) break
      }
    }
    pacer.measure(started, flushed)
    if (lanes.some((lane) => lane.stale())) onChange()
  }

  const lane = (): Lane => {
    const listeners = new Set<() => void>()
    let snapshot = store.getSnapshot()
    return {
      flush() {
        const latest = store.getSnapshot()
        if (latest === snapshot) return false
        snapshot = latest
        // A lane nobody reads does not spend a frame.
        if (listeners.size === 0) return false
        for (const listener of listeners) listener()
        return true
      },
      stale: () => listeners.size > 0 && store.getSnapshot() !== snapshot,
      mounting: () => listeners.size > 0 && snapshot.steps.length === 0 && store.getSnapshot().steps.length > 0,
      subscribe(listener) {
        listeners.add(listener)
        if (listeners.size === 1) snapshot = store.getSnapshot()
        if (subscribers++ === 0) unsubscribe = store.subscribe(onChange)
        return () => {
          listeners.delete(listener)
          if (--subscribers === 0 && unsubscribe !== null) {
            unsubscribe()
            unsubscribe = null
          }
        }
      },
      // Unsubscribed readers (the first render, the server) see the store as it is now.
      getSnapshot: () => (listeners.size === 0 ? store.getSnapshot() : snapshot),
    }
  }
  const lanes: Lane[] = Array.from({ length: MAV_UPDATE_LANES }, lane)
  return lanes
}

const frameViews = new WeakMap<MavRunStore, readonly RunView[]>()

/**
 * The shared view of `store` for `mode` and `lane`: every component of one store shares one frame
 * subscription.
 */
export function runView(store: MavRunStore, mode: MavUpdateMode = 'frame', lane: MavUpdateLane = 0): RunView {
  if (mode === 'sync') return store
  let views = frameViews.get(store)
  if (views === undefined) {
    views = createFrameViews(store, scheduleFrame, createLanePacer(MAV_UPDATE_LANES))
    frameViews.set(store, views)
  }
  return views[lane] as RunView
}
