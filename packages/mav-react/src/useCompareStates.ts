import { createRunStore, type MavEvent, type MavRunState, type MavRunStore } from '@mav/client'
import { useMemo, useRef, useSyncExternalStore } from 'react'
import { sameContent } from './sameContent'
import { type MavUpdateMode, schedulerFor } from './scheduler'

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
 * The states of several runs, read through each store's `high` reader: in `frame` mode one update per
 * animation frame however many events arrive, in the turn the timelines and status lines use.
 */
export function useCompareStates(stores: readonly MavRunStore[], updates: MavUpdateMode = 'frame'): MavRunState[] {
  const source = useMemo(() => {
    const readers = stores.map((store) => schedulerFor(store, updates).reader('high'))
    let cached: MavRunState[] = readers.map((reader) => reader.getSnapshot())
    const getSnapshot = () => {
      const next = readers.map((reader) => reader.getSnapshot())
      if (next.some((state, i) => state !== cached[i])) cached = next
      return cached
    }
    const subscribe = (listener: () => void) => {
      const offs = readers.map((reader) => reader.subscribe(listener))
      return () => {
        for (const off of offs) off()
      }
    }
    return { getSnapshot, subscribe }
  }, [stores, updates])
  return useSyncExternalStore(source.subscribe, source.getSnapshot, source.getSnapshot)
}
