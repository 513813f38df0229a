import type { MavRunState, MavRunStatus, MavStepEvent } from '@mav/client'
import { useContext } from 'react'
import {
  MavRunScopeContext,
  type MavUpdatePriority,
  type RunReader,
  selectIndex,
  selectStep,
  usePanelReader,
  useScopeSelector,
} from './context'
import type { MavPanelState } from './Panel'

/** Where a panel's data comes from and what to show while there is none. */
export interface PanelSource {
  step: MavStepEvent | null
  /** Index of `step` in the run, -1 without one. */
  index: number
  status: MavRunStatus
  state: MavPanelState
  message: string
  /** The reader the panel's turn goes through (null standalone): for the panel's own selectors. */
  reader: RunReader | null
}

const selectStatus = (state: MavRunState) => state.status
const selectError = (state: MavRunState) => state.error?.message ?? null
const selectPhase = (state: MavRunState) => state.phase

function waitingMessage(phase: MavRunState['phase']): string {
  if (phase?.phase === 'loading_model') {
    const progress = phase.progress === undefined ? '' : ` (${Math.round(phase.progress * 100)}%)`
    return `${phase.message ?? 'Loading model'}${progress}…`
  }
  if (phase?.phase === 'queued') return `${phase.message ?? 'Queued'}…`
  return 'Waiting for the first token…'
}

/**
 * The step a built-in panel shows: its `step` prop when given (standalone use), otherwise the step
 * selected in the enclosing `MAVContainer`/`MavRunScope`, updated with `priority` (see `MavUpdatePriority`).
 */
export function usePanelSource(
  component: string,
  stepProp: MavStepEvent | null | undefined,
  priority: MavUpdatePriority = 'normal',
): PanelSource {
  const context = useContext(MavRunScopeContext)
  const standalone = stepProp !== undefined
  if (!standalone && context === null) {
    throw new Error(`${component} must be used within <MAVContainer> or <MavRunScope>, or be given a \`step\` prop`)
  }
  const scope = standalone ? null : context
  const reader = usePanelReader(scope, priority)
  const scopedStep = useScopeSelector(scope, selectStep, reader)
  const scopedIndex = useScopeSelector(scope, selectIndex, reader)
  const status = useScopeSelector(scope, selectStatus, reader)
  const error = useScopeSelector(scope, selectError, reader)
  const phase = useScopeSelector(scope, selectPhase, reader)

  const step = standalone ? stepProp : scopedStep
  const index = standalone ? (stepProp?.step ?? -1) : scopedIndex
  const shown = { step, index, status, reader }
  if (step !== null) return { ...shown, state: 'ready', message: '' }
  if (status === 'error') return { ...shown, state: 'error', message: `Run failed: ${error ?? 'unknown error'}` }
  if (status === 'connecting') return { ...shown, state: 'loading', message: 'Connecting…' }
  if (status === 'loading' || status === 'streaming') {
    return { ...shown, state: 'loading', message: waitingMessage(phase) }
  }
  if (status === 'stopped') return { ...shown, state: 'empty', message: 'Stopped before the first token.' }
  return { ...shown, state: 'empty', message: 'No tokens yet. Start a run to see this panel.' }
}
