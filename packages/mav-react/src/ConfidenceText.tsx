import { chosenProbability, type MavRunState, type MavStepEvent } from '@mav/client'
import { type CSSProperties, memo, useState } from 'react'
import { type RunReader, type RunScope, useScopeSelector } from './context'
import { formatPercent, visibleWhitespace } from './format'

const ALTERNATIVES = 5

/** Index of the first step shown so that the text from it to `index` fits `limit` characters. */
function firstShown(state: MavRunState, index: number, limit: number): number {
  const end = state.textEnds.at(index) ?? 0
  let first = index
  while (first > 0 && end - (state.textEnds.at(first - 1) ?? 0) <= limit) first--
  return first
}

interface TokenProps {
  scope: RunScope
  at: number
  step: MavStepEvent
  current: boolean
  setOpen: (at: number | null) => void
}

/** One token; memoised, so a new step renders the new token and the one that was current, not all. */
const ConfidenceToken = memo(function ConfidenceToken({ scope, at, step, current, setOpen }: TokenProps) {
  const p = chosenProbability(step) ?? 0
  return (
    // biome-ignore lint/a11y/useSemanticElements: inline tokens in running text, not block buttons
    <span
      role="button"
      tabIndex={0}
      className="mav-confidence-token"
      data-step={at}
      data-current={current || undefined}
      aria-label={`${visibleWhitespace(step.token.text)}: ${formatPercent(p)}, step ${at + 1}`}
      style={{ '--mav-p': p } as CSSProperties}
      onMouseEnter={() => setOpen(at)}
      onMouseLeave={() => setOpen(null)}
      onFocus={() => setOpen(at)}
      onBlur={() => setOpen(null)}
      onClick={() => scope.selection.set(at)}
      onKeyDown={(event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault()
          scope.selection.set(at)
        }
      }}
    >
      {step.token.text}
    </span>
  )
})

/**
 * The generated text token by token, each tinted by the probability the model gave it (lighter is
 * less likely); hovering or focusing a token shows its top alternatives, activating it (click, Enter)
 * moves the timeline there.
 */
export function ConfidenceText({
  scope,
  reader,
  limitChars,
}: {
  scope: RunScope
  /** The panel's turn: every step it shows comes through it. */
  reader: RunReader
  limitChars: number
}) {
  const index = useScopeSelector(
    scope,
    (state, selected) => {
      const length = state.steps.length
      return length === 0 ? -1 : selected === null ? length - 1 : Math.min(selected, length - 1)
    },
    reader,
  )
  const first = useScopeSelector(scope, (state) => (index < 0 ? 0 : firstShown(state, index, limitChars)), reader)
  const [open, setOpen] = useState<number | null>(null)
  const steps = reader.getSnapshot().steps
  const shown: MavStepEvent[] = []
  for (let i = first; i <= index; i++) shown.push(steps.at(i) as MavStepEvent)
  const openStep = open !== null && open >= first && open <= index ? steps.at(open) : undefined

  return (
    <div className="mav-confidence">
      <p className="mav-text" data-first={first}>
        {first > 0 && <span className="mav-text-ellipsis">…</span>}
        {shown.map((step, i) => {
          const at = first + i
          return <ConfidenceToken key={at} scope={scope} at={at} step={step} current={at === index} setOpen={setOpen} />
        })}
      </p>
      {openStep && (
        <div className="mav-confidence-tip" role="tooltip" data-step={open ?? undefined}>
          <span>
            Step {(open ?? 0) + 1}: <code className="mav-token">{visibleWhitespace(openStep.token.text)}</code>{' '}
            {formatPercent(chosenProbability(openStep) ?? 0)}
          </span>
          <ol className="mav-confidence-alternatives">
            {openStep.top.slice(0, ALTERNATIVES).map((entry) => (
              <li key={entry.id} data-chosen={entry.id === openStep.token.id || undefined}>
                <code className="mav-token">{visibleWhitespace(entry.text)}</code> {formatPercent(entry.prob)}
              </li>
            ))}
          </ol>
        </div>
      )}
    </div>
  )
}
