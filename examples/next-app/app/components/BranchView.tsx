'use client'

import type { MavRunState, MavScale } from '@mav/client'
import { MAVContainer, type MavBranchEvent, type MavPanelSpec, type UseMavRunResult } from '@mav/react'

export interface BranchViewProps {
  point: MavBranchEvent
  original: MavRunState
  branch: UseMavRunResult
  panels: readonly MavPanelSpec[]
  scale: MavScale
  onClose(): void
}

/** The first step where the two runs chose different tokens, or -1 while they agree. */
function firstDifference(a: MavRunState, b: MavRunState): number {
  const length = Math.min(a.steps.length, b.steps.length)
  for (let i = 0; i < length; i++) if (a.steps.at(i)?.token.id !== b.steps.at(i)?.token.id) return i
  return -1
}

/**
 * A branch run next to its original: the steps before the branch point and the chosen token are forced
 * (marked "forced" in the top predictions), the rest is generated.
 */
export function BranchView({ point, original, branch, panels, scale, onClose }: BranchViewProps) {
  const state = branch.state
  const differs = firstDifference(original, state)
  const finished = state.status === 'done'
  const summary =
    differs >= 0
      ? `first differs from the original at step ${differs + 1}`
      : finished
        ? 'the same tokens as the original'
        : 'the same tokens so far'
  return (
    <section
      className="demo-branch"
      aria-label="Branch run"
      data-branch-status={state.status}
      data-branch-steps={state.steps.length}
      data-branch-differs-at={differs}
      data-branch-tokens={state.steps
        .toArray()
        .map((step) => step.token.id)
        .join(',')}
    >
      <header className="demo-branch-header">
        <h2>
          Branch: step {point.step + 1} continued with <code>{JSON.stringify(point.text)}</code>
        </h2>
        <p className="demo-hint">{state.steps.length > 0 ? `${state.steps.length} steps, ${summary}.` : 'Starting…'}</p>
        <button type="button" onClick={onClose}>
          Close branch
        </button>
      </header>
      <MAVContainer store={branch.store} panels={panels} scale={scale} rows={2} aria-label="Branch run internals" />
    </section>
  )
}
