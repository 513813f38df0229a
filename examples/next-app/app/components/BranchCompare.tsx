'use client'

import type { MavRunState, MavRunStore, MavScale } from '@mav/client'
import { MAVCompare, type MavBranchEvent, type MavPanelSpec, type UseMavRunResult } from '@mav/react'
import { useState } from 'react'
import { describeError } from '../../lib/errors'
import { ErrorBanner } from './ErrorBanner'

export interface BranchCompareProps {
  point: MavBranchEvent
  /** The run branched from: the page's store, live or replayed. */
  original: MavRunStore
  originalState: MavRunState
  branch: UseMavRunResult
  /** `/compare` with both runs' settings (the branch's forced tokens included): re-runs them. */
  link: string | null
  scale: MavScale
  maxBarLength: number
  limitChars: number
  onClose(): void
}

// Top predictions show which steps were forced (the branch point is the last of them).
const PANELS: readonly MavPanelSpec[] = ['generated_text', 'top_predictions']

/** The first step where the two runs chose different tokens, or -1 while they agree. */
function firstDifference(a: MavRunState, b: MavRunState): number {
  const length = Math.min(a.steps.length, b.steps.length)
  for (let i = 0; i < length; i++) if (a.steps.at(i)?.token.id !== b.steps.at(i)?.token.id) return i
  return -1
}

/**
 * A branch run compared with its original, opened at the branch point: the steps before it and the
 * chosen token are forced (marked "forced" in the top predictions), the rest is generated.
 */
export function BranchCompare({
  point,
  original,
  originalState,
  branch,
  link,
  scale,
  maxBarLength,
  limitChars,
  onClose,
}: BranchCompareProps) {
  const [stepIndex, setStepIndex] = useState<number | null>(point.step)
  const state = branch.state
  const differs = firstDifference(originalState, state)
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
      data-branch-at={point.step}
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
        {link && (
          <a className="demo-mode-link" href={link}>
            Open in compare mode (link)
          </a>
        )}
        <button type="button" onClick={onClose}>
          Close branch
        </button>
      </header>
      {state.error && <ErrorBanner error={describeError(state.error)} />}
      <MAVCompare
        runs={[
          { store: original, label: 'Original' },
          {
            store: branch.store,
            label: 'Branch',
            note: (
              <span className="compare-branch-note" data-branch-at={point.step}>
                Steps 1 to {point.step + 1} forced, step {point.step + 1} with <code>{JSON.stringify(point.text)}</code>
                ; the rest generated.
              </span>
            ),
          },
        ]}
        stepIndex={stepIndex}
        onStepIndexChange={setStepIndex}
        panels={PANELS}
        scale={scale}
        maxBarLength={maxBarLength}
        limitChars={limitChars}
        aria-label="Branch compared with the original"
      />
    </section>
  )
}
