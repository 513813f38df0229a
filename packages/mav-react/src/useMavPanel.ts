import type { MavMetaEvent, MavRunState, MavRunStatus, MavScale, MavStepEvent } from '@mav/client'
import { useCallback, useSyncExternalStore } from 'react'
import {
  type MavUpdatePriority,
  selectIndex,
  selectStep,
  usePanelReader,
  useRunScope,
  useScopeSelector,
} from './context'

/**
 * The props every panel placed in `MAVContainer`'s `panels` receives, as openmav's `external_panels`
 * receive the measurements of the current token. A custom panel is a plain component of these props.
 */
export interface MavPanelProps {
  /** The selected step (the timeline's choice, or the newest), `null` before the first step. */
  step: MavStepEvent | null
  /** Index of `step` in the run, -1 without one. */
  stepIndex: number
  /** The run's `meta` event (model, prompt tokens, effective request), once received. */
  meta: MavMetaEvent | null
  /** The generated text up to and including `step`. */
  text: string
  /** Where the run is. */
  status: MavRunStatus
  /** The container's `scale`. */
  scale: MavScale
  /** The container's `maxBarLength`. */
  maxBarLength: number
}

const selectMeta = (state: MavRunState) => state.meta
const selectStatus = (state: MavRunState) => state.status
const selectText = (state: MavRunState, selected: number | null) =>
  state.text.slice(0, state.textEnds.at(selectIndex(state, selected)) ?? 0)

/** Options of {@link useMavPanel}. */
export interface UseMavPanelOptions {
  /** Passed through as `scale`. Default `"linear"`. */
  scale?: MavScale
  /** Passed through as `maxBarLength`. Default 20. */
  maxBarLength?: number
  /**
   * Where the panel's updates go in the frame schedule: `"high"` for a view that costs little to update
   * (it updates with the timeline), `"normal"` for one with rows, tables or a chart (a turn of its own),
   * `"low"` for catch-up work that may trail the other panels. Default `"normal"`.
   */
  priority?: MavUpdatePriority
}

/**
 * The panel props of the enclosing `MAVContainer`/`MavRunScope`, for custom panels rendered as
 * children rather than through `panels`. Re-renders only when one of them changes.
 */
export function useMavPanel(options: UseMavPanelOptions = {}): MavPanelProps {
  const scope = useRunScope('useMavPanel')
  const reader = usePanelReader(scope, options.priority ?? 'normal')
  return {
    step: useScopeSelector(scope, selectStep, reader),
    stepIndex: useScopeSelector(scope, selectIndex, reader),
    meta: useScopeSelector(scope, selectMeta, reader),
    text: useScopeSelector(scope, selectText, reader),
    status: useScopeSelector(scope, selectStatus, reader),
    scale: options.scale ?? 'linear',
    maxBarLength: options.maxBarLength ?? 20,
  }
}

/** The step selection of the enclosing scope, for building another timeline or a keyboard shortcut. */
export interface MavSelection {
  /** The step shown, -1 without steps. */
  stepIndex: number
  /** Steps in the run so far. */
  length: number
  /** Whether the newest step is followed. */
  following: boolean
  /** Pins step `index` (clamped to the run). */
  select(index: number): void
  /** Follows the newest step again. */
  follow(): void
}

/** Reads and changes which step the enclosing `MAVContainer`/`MavRunScope` shows. */
export function useMavSelection(): MavSelection {
  const scope = useRunScope('useMavSelection')
  const { selection } = scope
  const stepIndex = useScopeSelector(scope, selectIndex)
  const length = useScopeSelector(scope, (state) => state.steps.length)
  const following = useSyncExternalStore(
    selection.subscribe,
    () => selection.get() === null,
    () => true,
  )
  const select = useCallback(
    (index: number) => selection.set(Math.max(0, Math.min(scope.high.getSnapshot().steps.length - 1, index))),
    [selection, scope],
  )
  const follow = useCallback(() => selection.set(null), [selection])
  return { stepIndex, length, following, select, follow }
}
