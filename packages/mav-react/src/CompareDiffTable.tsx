import { diffStep, type MavRunState, type MavTokenMatch, type MavTokenProbability } from '@mav/client'
import type { CSSProperties } from 'react'
import { visibleWhitespace } from './format'

export interface CompareDiffTableProps {
  reference: MavRunState
  run: MavRunState
  referenceLabel: string
  label: string
  match: MavTokenMatch
  /** The step the timeline shows. */
  index: number
  /** Steps shown before and after it. Default 3. */
  around?: number
}

export function formatProbability(p: MavTokenProbability): string {
  return p.listed ? p.prob.toFixed(3) : `< ${p.below.toFixed(3)}`
}

export function formatKl(kl: number | null): string {
  if (kl === null) return 'n/a'
  return Number.isFinite(kl) ? kl.toFixed(3) : '∞'
}

/**
 * One row per step around the step shown, `run` against `reference`: the two tokens, whether they
 * agree, each run's probability of both tokens ("< p" when outside its top-n) and the KL divergence on
 * the shared top-n support (see `diffStep` in `@mav/client`).
 */
export function CompareDiffTable({
  reference,
  run,
  referenceLabel,
  label,
  match,
  index,
  around = 3,
}: CompareDiffTableProps) {
  const common = Math.min(reference.steps.length, run.steps.length)
  const from = Math.max(0, Math.min(index, common - 1) - around)
  const to = Math.min(common, Math.max(index, 0) + around + 1)
  const rows = []
  // Always 2 * around + 1 rows: the table keeps its height while a run streams.
  const filler = (key: number) => (
    <tr key={key} className="mav-compare-filler">
      <td colSpan={9} />
    </tr>
  )
  for (let i = from; i < to; i++) {
    const a = reference.steps.at(i)
    const b = run.steps.at(i)
    if (!a || !b) continue
    const diff = diffStep(a, b, match)
    rows.push(
      // Keyed by position: following a run, the rows' text changes in place instead of rows moving.
      <tr
        key={i - from}
        data-step={i}
        data-agree={diff.agree}
        data-kl={diff.kl === null ? 'none' : diff.kl}
        aria-current={i === index ? 'step' : undefined}
      >
        <th scope="row">{i + 1}</th>
        <td>
          <code className="mav-token">{visibleWhitespace(a.token.text)}</code>
        </td>
        <td>
          <code className="mav-token">{visibleWhitespace(b.token.text)}</code>
        </td>
        <td className="mav-compare-agree">{diff.agree ? 'yes' : 'no'}</td>
        <td data-listed={diff.own[0].listed}>{formatProbability(diff.own[0])}</td>
        <td data-listed={diff.other[0].listed}>{formatProbability(diff.other[0])}</td>
        <td data-listed={diff.own[1].listed}>{formatProbability(diff.own[1])}</td>
        <td data-listed={diff.other[1].listed}>{formatProbability(diff.other[1])}</td>
        <td title={`${diff.shared} shared tokens; mass ${diff.sharedMass.map((m) => m.toFixed(2)).join(' / ')}`}>
          {formatKl(diff.kl)}
        </td>
      </tr>,
    )
  }
  const empty = rows.length === 0
  for (let k = rows.length + (empty ? 1 : 0); k < 2 * around + 1; k++) rows.push(filler(k))
  const missing =
    index >= common && index >= 0
      ? `${run.steps.length <= index ? label : referenceLabel} has no step ${index + 1}`
      : null
  return (
    // A box of fixed height: a step's new numbers re-lay out the table only, not the page around it.
    <div className="mav-compare-table-box" style={{ '--mav-compare-rows': 2 * around + 1 } as CSSProperties}>
      <table className="mav-compare-table" data-run={label}>
        <caption>
          {label} against {referenceLabel}
          {missing && <span className="mav-muted"> ({missing})</span>}
        </caption>
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">{referenceLabel}</th>
            <th scope="col">{label}</th>
            <th scope="col">Agree</th>
            <th scope="col" title={`${referenceLabel}'s probability of its own token`}>
              P<sub>{referenceLabel}</sub>(own)
            </th>
            <th scope="col" title={`${referenceLabel}'s probability of ${label}'s token`}>
              P<sub>{referenceLabel}</sub>(other)
            </th>
            <th scope="col" title={`${label}'s probability of its own token`}>
              P<sub>{label}</sub>(own)
            </th>
            <th scope="col" title={`${label}'s probability of ${referenceLabel}'s token`}>
              P<sub>{label}</sub>(other)
            </th>
            <th scope="col" title="KL(reference ‖ run) in nats on the renormalised shared top-n support">
              KL
            </th>
          </tr>
        </thead>
        <tbody>
          {empty && (
            <tr>
              <td colSpan={9} className="mav-muted">
                No step both runs have yet.
              </td>
            </tr>
          )}
          {rows}
        </tbody>
      </table>
    </div>
  )
}
