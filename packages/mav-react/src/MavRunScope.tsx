import { createRunStore, type MavEvent, type MavRunStore } from '@mav/client'
import { type ReactNode, useEffect, useMemo, useRef, useState } from 'react'
import { MavRunScopeContext, type MavRunScopeValue } from './context'
import { MAV_UPDATE_LANES, type MavUpdateLane, type MavUpdateMode, type RunView, runView } from './runView'
import { createSelection } from './selection'

/** Where a scope's run comes from and which step it shows. */
export interface MavRunSourceProps {
  /** The run to show, e.g. `useMavRun().store`. Takes precedence over `events`. */
  store?: MavRunStore
  /** A finished or recorded list of events to show instead of a live store (e.g. `parseRecording(text).events`). */
  events?: readonly MavEvent[]
  /** How store changes reach React: batched per animation frame, or at once. Default `"frame"`. */
  updates?: MavUpdateMode
  /** The step to show (controlled); `null` follows the newest step. Default: uncontrolled, following. */
  stepIndex?: number | null
  /** Called when the timeline, a heatmap click or a key changes the step shown. */
  onStepIndexChange?: (stepIndex: number | null) => void
}

/** Props of {@link MavRunScope}. */
export interface MavRunScopeProps extends MavRunSourceProps {
  children?: ReactNode
}

/** A store holding `events`, dispatched at once. */
function storeOf(events: readonly MavEvent[]): MavRunStore {
  const store = createRunStore()
  if (events.length > 0) store.reset('connecting')
  for (const event of events) store.dispatch(event)
  return store
}

/** The scope value for a set of source props; shared by `MavRunScope` and `MAVContainer`. */
export function useRunScopeValue({
  store: storeProp,
  events,
  updates = 'frame',
  stepIndex,
  onStepIndexChange,
}: MavRunSourceProps): MavRunScopeValue {
  const [idleStore] = useState(createRunStore)
  const eventStore = useMemo(() => (events === undefined ? null : storeOf(events)), [events])
  const store = storeProp ?? eventStore ?? idleStore

  const onChange = useRef(onStepIndexChange)
  onChange.current = onStepIndexChange
  const [selection] = useState(() => createSelection(stepIndex ?? null, (index) => onChange.current?.(index)))
  useEffect(() => {
    if (stepIndex !== undefined) selection.set(stepIndex)
  }, [selection, stepIndex])

  // A new run (the store was reset, or another store) starts again at "follow live".
  const controlled = stepIndex !== undefined
  useEffect(() => {
    if (controlled) return
    selection.set(null)
    return store.subscribe(() => {
      if (store.getSnapshot().steps.length === 0) selection.set(null)
    })
  }, [store, selection, controlled])

  return useMemo(() => {
    const lanes = Array.from({ length: MAV_UPDATE_LANES }, (_, lane) => runView(store, updates, lane as MavUpdateLane))
    return { store, view: lanes[0] as RunView, lanes, selection }
  }, [store, updates, selection])
}

/**
 * Shares a run and the selected step with every panel, timeline and hook inside it, without any
 * layout: use it to place single panels anywhere (`MAVContainer` is this plus a grid).
 */
export function MavRunScope({ children, ...source }: MavRunScopeProps) {
  const value = useRunScopeValue(source)
  return <MavRunScopeContext.Provider value={value}>{children}</MavRunScopeContext.Provider>
}
