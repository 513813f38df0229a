import { createRunStore, type MavEvent, type MavRunState, type MavRunStore } from '@mav/client'
import { useMemo, useRef, useSyncExternalStore } from 'react'
import { sameContent } from './sameContent'
import { type MavUpdateMode, scheduleFrame } from './scheduler'

/** A store holding `events`, dispatched at once. */
export function storeOfEvents(events: readonly MavEvent[]): MavRunStore {
  const store = createRunStore()
  if (events.length > 0) store.reset('connecting')
  for (const event of events) store.dispatch(event)
  return store
}

/**
 * One store per run: the given store, or one made from the run's events (kept while a new array has
 * the same content, as `MAVContainer` does).
 */
export function useRunStores(runs: readonly { store?: MavRunStore; events?: readonly MavEvent[] }[]): MavRunStore[] {
  const made = useRef<{ events: readonly MavEvent[]; store: MavRunStore }[]>([])
  const idle = useRef<MavRunStore[]>([])
  const stores = runs.map((run, index) => {
    if (run.store) return run.store
    if (run.events) {
      const events = run.events
      let entry =
        made.current.find((item) => item.events === events) ??
        made.current.find((item) => sameContent(item.events, events))
      if (entry === undefined) {
        entry = { events, store: storeOfEvents(events) }
        made.current = [...made.current.slice(-7), entry]
      }
      return entry.store
    }
    idle.current[index] ??= createRunStore()
    return idle.current[index] as MavRunStore
  })
  const last = useRef(stores)
  if (stores.length !== last.current.length || stores.some((store, i) => store !== last.current[i])) {
    last.current = stores
  }
  return last.current
}

/**
 * The states of several runs. In `frame` mode one update per animation frame for all of them together,
 * however many events arrive (each store's own schedule would re-render the comparison once per run).
 */
export function useCompareStates(stores: readonly MavRunStore[], updates: MavUpdateMode = 'frame'): MavRunState[] {
  const source = useMemo(() => {
    const read = () => stores.map((store) => store.getSnapshot())
    let cached: MavRunState[] = read()
    let scheduled = false
    const listeners = new Set<() => void>()
    const publish = () => {
      if (!scheduled) return
      scheduled = false
      const next = read()
      if (next.every((state, i) => state === cached[i])) return
      cached = next
      for (const listener of listeners) listener()
    }
    const onChange = () => {
      if (scheduled) return
      scheduled = true
      if (updates === 'sync') publish()
      else scheduleFrame(publish)
    }
    const subscribe = (listener: () => void) => {
      listeners.add(listener)
      const offs = stores.map((store) => store.subscribe(onChange))
      // Changes between the first render and this subscription.
      onChange()
      return () => {
        listeners.delete(listener)
        for (const off of offs) off()
        scheduled = false
      }
    }
    return { getSnapshot: () => cached, subscribe }
  }, [stores, updates])
  return useSyncExternalStore(source.subscribe, source.getSnapshot, source.getSnapshot)
}
