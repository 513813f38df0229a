import { createRunStore, type MavEvent, type MavRunStore } from '@mav/client'
import { type ReactNode, useEffect, useMemo, useRef, useState } from 'react'
import { createRunScope, MavRunScopeContext, type MavUpdateMode, type RunScope, useCatchUpOnSelection } from './context'
import { sameContent } from './sameContent'
import { createSelection } from './selection'

/** Where a scope's run comes from and which step it shows. */
export interface MavRunSourceProps {
  /** The run to show, e.g. `useMavRun().store`. Takes precedence over `events`. */
  store?: MavRunStore
  /**
   * A finished or recorded list of events to show instead of a live store (e.g.
   * `parseRecording(text).events`). A new array with the same content keeps the step shown.
   */
  events?: readonly MavEvent[]
  /**
   * How store changes reach the panels: in animation frames, or at once. In `"frame"` mode, while a run
   * streams and the view follows it, a panel can show an older step than another at the end of a frame
   * for at most as many frames as the container has panels (each panel then gets a frame of its own; on
   * a fast machine every panel updates in every frame). A paused or scrubbed view shows one step in
   * every panel in the same frame, and a run that ends before its first step, or a reset store, says so
   * in every panel in the next frame. Default `"frame"`.
   */
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

/** `events`, or the previous array when the new one has the same content (an inline `parseRecording`). */
function useSameEvents(events: readonly MavEvent[] | undefined): readonly MavEvent[] | undefined {
  const last = useRef(events)
  if (events !== last.current && !(events && last.current && sameContent(events, last.current))) {
    last.current = events
  }
  return last.current
}

/** The scope for a set of source props; shared by `MavRunScope` and `MAVContainer`. */
export function useRunScopeValue({
  store: storeProp,
  events,
  updates = 'frame',
  stepIndex,
  onStepIndexChange,
}: MavRunSourceProps): RunScope {
  const [idleStore] = useState(createRunStore)
  const sameEvents = useSameEvents(events)
  const eventStore = useMemo(() => (sameEvents === undefined ? null : storeOf(sameEvents)), [sameEvents])
  const store = storeProp ?? eventStore ?? idleStore

  const onChange = useRef(onStepIndexChange)
  onChange.current = onStepIndexChange
  const [selection] = useState(() => createSelection(stepIndex ?? null, (index) => onChange.current?.(index)))
  const scope = useMemo(() => createRunScope(store, selection, updates), [store, selection, updates])
  useCatchUpOnSelection(scope)
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

  return scope
}

/**
 * Shares a run and the selected step with every panel, timeline and hook inside it, without any
 * layout: use it to place single panels anywhere (`MAVContainer` is this plus a grid).
 */
export function MavRunScope({ children, ...source }: MavRunScopeProps) {
  const scope = useRunScopeValue(source)
  return <MavRunScopeContext.Provider value={scope}>{children}</MavRunScopeContext.Provider>
}
