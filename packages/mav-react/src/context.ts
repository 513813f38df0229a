import { createRunStore, type MavRunState, type MavRunStore, type MavStepEvent } from '@mav/client'
import { createContext, useCallback, useContext, useSyncExternalStore } from 'react'
import type { MavUpdateLane, RunView } from './runView'
import { resolveIndex, type SelectionStore } from './selection'

/** What `MAVContainer` and `MavRunScope` share with the panels inside them. */
export interface MavRunScopeValue {
  /** The run store the panels show. */
  store: MavRunStore
  /** The (frame-batched) view of `store` that components subscribe to: lane 0. */
  view: RunView
  /** The view of each lane; the lanes are updated in turns (see `MavUpdateLane`). `lanes[0]` is `view`. */
  lanes: readonly RunView[]
  /** Which step the panels show; `null` follows the newest. */
  selection: SelectionStore
}

export const MavRunScopeContext = createContext<MavRunScopeValue | null>(null)
MavRunScopeContext.displayName = 'MavRunScopeContext'

/** The enclosing run scope. Throws outside `MAVContainer`/`MavRunScope`. */
export function useMavRunScope(caller = 'useMavRunScope'): MavRunScopeValue {
  const scope = useContext(MavRunScopeContext)
  if (scope === null) {
    throw new Error(`${caller} must be used within <MAVContainer> or <MavRunScope>`)
  }
  return scope
}

let idle: MavRunState | undefined
const idleState = () => {
  idle ??= createRunStore().getSnapshot()
  return idle
}
const noSubscription = () => () => {}

/**
 * Reads `selector(state, selected)` from a scope with `useSyncExternalStore`: the component re-renders
 * only when the selected value changes (`Object.is`), so selectors return primitives or parts of the
 * snapshot, never new objects. Without a scope it reads an idle run.
 */
export function useScopeSelector<T>(
  scope: MavRunScopeValue | null,
  selector: (state: MavRunState, selected: number | null) => T,
  lane: MavUpdateLane = 0,
): T {
  const view = scope === null ? null : (scope.lanes[lane] ?? scope.view)
  const subscribe = useCallback(
    (listener: () => void) => {
      if (scope === null || view === null) return () => {}
      const offView = view.subscribe(listener)
      const offSelection = scope.selection.subscribe(listener)
      return () => {
        offView()
        offSelection()
      }
    },
    [scope, view],
  )
  const read = () =>
    scope === null || view === null ? selector(idleState(), null) : selector(view.getSnapshot(), scope.selection.get())
  return useSyncExternalStore(scope === null ? noSubscription : subscribe, read, read)
}

/** The index of the step a scope shows (-1 when there is none). */
export const selectIndex = (state: MavRunState, selected: number | null) => resolveIndex(selected, state.steps.length)

/** The step a scope shows, or `null`. */
export const selectStep = (state: MavRunState, selected: number | null): MavStepEvent | null =>
  state.steps.at(selectIndex(state, selected)) ?? null
