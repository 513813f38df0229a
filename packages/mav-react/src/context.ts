import { createRunStore, type MavRunState, type MavRunStore, type MavStepEvent } from '@mav/client'
import { createContext, useContext, useEffect, useMemo, useSyncExternalStore } from 'react'
import {
  type MavUpdateMode,
  type MavUpdatePriority,
  type RunReader,
  schedulerFor,
  type UpdateScheduler,
} from './scheduler'
import { resolveIndex, type SelectionStore } from './selection'

export type { MavUpdateMode, MavUpdatePriority, RunReader } from './scheduler'

/** What `MAVContainer` and `MavRunScope` share with the components inside them. */
export interface MavRunScopeValue {
  /** The run store the panels show. */
  readonly store: MavRunStore
  /** Which step the panels show; `null` follows the newest. */
  readonly selection: SelectionStore
}

/** The scope as the components inside see it: the public value and the store's frame schedule. */
export interface RunScope {
  readonly value: MavRunScopeValue
  readonly store: MavRunStore
  readonly selection: SelectionStore
  readonly scheduler: UpdateScheduler
  /** The `high` reader: the container, the timeline, the status line and the generated text. */
  readonly high: RunReader
}

export const MavRunScopeContext = createContext<RunScope | null>(null)

/** `MAVContainer`'s `onBranch`, for the panels passed to it as elements (`<LogitLensPanel />`). */
export const MavBranchContext = createContext<
  ((point: { step: number; tokenId: number; text: string }) => void) | undefined
>(undefined)
MavRunScopeContext.displayName = 'MavRunScopeContext'

/** A scope over `store` and `selection`, scheduled per `updates`. */
export function createRunScope(store: MavRunStore, selection: SelectionStore, updates: MavUpdateMode): RunScope {
  const scheduler = schedulerFor(store, updates)
  return { value: { store, selection }, store, selection, scheduler, high: scheduler.reader('high') }
}

/**
 * Keeps the panels of a scope on one step when the step shown changes: a paused or scrubbed view shows
 * the same step everywhere in the frame that follows, whatever turn each panel is in.
 */
export function useCatchUpOnSelection(scope: RunScope) {
  useEffect(() => scope.selection.subscribe(() => scope.scheduler.catchUp()), [scope])
}

/** The enclosing scope. Throws outside `MAVContainer`/`MavRunScope`. */
export function useRunScope(caller: string): RunScope {
  const scope = useContext(MavRunScopeContext)
  if (scope === null) {
    throw new Error(`${caller} must be used within <MAVContainer> or <MavRunScope>`)
  }
  return scope
}

/** The store and the selection of the enclosing `MAVContainer`/`MavRunScope`. Throws outside one. */
export function useMavRunScope(): MavRunScopeValue {
  return useRunScope('useMavRunScope').value
}

/**
 * A reader of the scope's run in the turn `priority` asks for, kept for the component's life (one per
 * component: all its selectors then show the same step). `null` without a scope.
 */
export function usePanelReader(scope: RunScope | null, priority: MavUpdatePriority): RunReader | null {
  return useMemo(
    () => (scope === null ? null : priority === 'high' ? scope.high : scope.scheduler.reader(priority)),
    [scope, priority],
  )
}

/** Keeps `reader` in the schedule from the component's mount, before anything subscribes to it. */
export function useHold(reader: RunReader | null) {
  useEffect(() => reader?.hold(), [reader])
}

let idle: MavRunState | undefined
const idleState = () => {
  idle ??= createRunStore().getSnapshot()
  return idle
}
const noSubscription = () => () => {}

/**
 * Reads `selector(state, selected)` from a scope with `useSyncExternalStore`, through `reader` (default:
 * the scope's `high` reader): the component re-renders only when the selected value changes
 * (`Object.is`), so selectors return primitives or parts of the snapshot, never new objects. Without a
 * scope it reads an idle run.
 */
export function useScopeSelector<T>(
  scope: RunScope | null,
  selector: (state: MavRunState, selected: number | null) => T,
  reader: RunReader | null = scope?.high ?? null,
): T {
  const subscribe = useMemo(() => {
    if (scope === null || reader === null) return noSubscription
    return (listener: () => void) => {
      const offReader = reader.subscribe(listener)
      const offSelection = scope.selection.subscribe(listener)
      return () => {
        offReader()
        offSelection()
      }
    }
  }, [scope, reader])
  const read = () =>
    scope === null || reader === null
      ? selector(idleState(), null)
      : selector(reader.getSnapshot(), scope.selection.get())
  return useSyncExternalStore(subscribe, read, read)
}

/** A run store's state through its `high` reader, for `useMavRun`. */
export function useRunState(store: MavRunStore, updates: MavUpdateMode = 'frame'): MavRunState {
  const reader = schedulerFor(store, updates).reader('high')
  return useSyncExternalStore(reader.subscribe, reader.getSnapshot, reader.getSnapshot)
}

/** The index of the step a scope shows (-1 when there is none). */
export const selectIndex = (state: MavRunState, selected: number | null) => resolveIndex(selected, state.steps.length)

/** The step a scope shows, or `null`. */
export const selectStep = (state: MavRunState, selected: number | null): MavStepEvent | null =>
  state.steps.at(selectIndex(state, selected)) ?? null
