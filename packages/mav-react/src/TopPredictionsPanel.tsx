import type { MavStepEvent } from '@mav/client'
import { type CSSProperties, forwardRef, type HTMLAttributes } from 'react'
import { formatPercent, formatValue, visibleWhitespace } from './format'
import { Panel } from './Panel'
import { usePanelSource } from './usePanelSource'

/** Props of {@link TopPredictionsPanel}. */
export interface TopPredictionsPanelProps extends Omit<HTMLAttributes<HTMLElement>, 'title'> {
  /** The step to show, for use outside `MAVContainer`. Default: the container's selected step. */
  step?: MavStepEvent | null
  /** Show at most this many predictions. Default: all the step carries (`top_n`). */
  limit?: number
  /** Heading and accessible name. Default `"Top predictions"`. */
  title?: string
  /**
   * Called with the step and a prediction's token when the person asks to continue the run with that
   * token there; each row gets a button for it. Build the run with `branchRequest` of `@mav/client`.
   * Default: none (no buttons).
   */
  onBranch?: (point: MavBranchEvent) => void
}

/** What `onBranch` of {@link TopPredictionsPanel} receives. */
export interface MavBranchEvent {
  /** The step number (`step.step`) to branch at. */
  step: number
  /** The token to continue with at that step. */
  tokenId: number
  /** The token's text. */
  text: string
}

/** The "continue with this token" button of a token at a step (top predictions, logit lens). */
export function BranchButton({ onBranch, ...point }: MavBranchEvent & { onBranch: (point: MavBranchEvent) => void }) {
  return (
    <button
      type="button"
      className="mav-branch-button"
      title="Continue with this token"
      aria-label={`Continue with ${JSON.stringify(point.text)} at step ${point.step + 1}`}
      onClick={() => onBranch(point)}
    >
      <span aria-hidden="true">↪</span>
    </button>
  )
}

/**
 * The step's top predictions: token (whitespace made visible), probability in percent and logit,
 * with the token that was chosen marked.
 */
export const TopPredictionsPanel = forwardRef<HTMLElement, TopPredictionsPanelProps>(function TopPredictionsPanel(
  { step: stepProp, limit, title = 'Top predictions', onBranch, ...rest },
  ref,
) {
  const source = usePanelSource('TopPredictionsPanel', stepProp)
  const step = source.step
  const top = step ? (limit === undefined ? step.top : step.top.slice(0, Math.max(0, limit))) : []
  const chosenRank = step ? step.top.findIndex((prediction) => prediction.id === step.token.id) : -1

  return (
    <Panel
      ref={ref}
      title={title}
      panel="top_predictions"
      state={source.state}
      message={source.message}
      aside={
        step ? (
          <span className="mav-muted" data-forced={step.forced || undefined}>
            step {source.index + 1}
            {step.forced ? ' (forced)' : ''}
          </span>
        ) : undefined
      }
      {...rest}
    >
      <table className="mav-predictions">
        <thead>
          <tr>
            <th scope="col" className="mav-num">
              #
            </th>
            <th scope="col">Token</th>
            <th scope="col" className="mav-num">
              Probability
            </th>
            <th scope="col" className="mav-num">
              Logit
            </th>
            {onBranch && (
              <th scope="col">
                <span className="mav-sr-only">Branch</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {top.map((prediction, rank) => {
            const chosen = rank === chosenRank
            return (
              <tr
                // Ranks are the identity here: the same rank is updated in place from step to step.
                // biome-ignore lint/suspicious/noArrayIndexKey: see above
                key={rank}
                data-rank={rank + 1}
                data-token-id={prediction.id}
                data-chosen={chosen || undefined}
              >
                <td className="mav-num mav-muted">{rank + 1}</td>
                <td className="mav-token">
                  <code>{visibleWhitespace(prediction.text)}</code>
                  {chosen && (
                    // A check mark keeps the narrow token column for the token; readers hear "chosen".
                    <span className="mav-chosen">
                      <span aria-hidden="true">✓</span>
                      <span className="mav-sr-only"> chosen</span>
                    </span>
                  )}
                </td>
                {/* The bar's length is set on the cell alone: on the row, every cell would restyle. */}
                <td className="mav-num mav-prob" style={{ '--mav-p': prediction.prob } as CSSProperties}>
                  {formatPercent(prediction.prob)}
                </td>
                <td className="mav-num">{formatValue(prediction.logit)}</td>
                {onBranch && step && (
                  <td className="mav-branch">
                    <BranchButton step={step.step} tokenId={prediction.id} text={prediction.text} onBranch={onBranch} />
                  </td>
                )}
              </tr>
            )
          })}
        </tbody>
      </table>
    </Panel>
  )
})
