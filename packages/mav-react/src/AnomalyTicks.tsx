import { nextMarked } from '@mav/client'
import type { CSSProperties } from 'react'
import { type AnomalyMarks, useAnomalyStore } from './anomalyMarks'
import { formatPercent } from './format'

const KIND_LABEL = {
  low_probability: 'low probability',
  entropy_jump: 'output entropy jump',
  attention_jump: 'attention entropy jump',
} as const

/** What a mark says about its step, for its tooltip and accessible name. */
export function describeMark(marks: AnomalyMarks, step: number): string {
  const anomaly = marks.byStep.get(step)
  if (!anomaly) return ''
  const parts = anomaly.kinds.map((kind) =>
    kind === 'low_probability' && anomaly.probability !== null
      ? `${KIND_LABEL[kind]} (${formatPercent(anomaly.probability)})`
      : kind === 'attention_jump'
        ? `${KIND_LABEL[kind]} (L${anomaly.layer + 1}, z ${anomaly.layerZ.toFixed(1)})`
        : `${KIND_LABEL[kind]} (z ${anomaly.entropyZ.toFixed(1)})`,
  )
  return `Step ${step + 1}: ${parts.join(', ')}`
}

/** Ticks over a track of `capacity` steps, one per marked step (decorative: the buttons and keys are the
 * accessible way to reach them); `columns` places them at column centres (a heatmap), else at the
 * slider's stops. */
export function MarkTicks({ marks, capacity, columns }: { marks: AnomalyMarks; capacity: number; columns?: boolean }) {
  const at = (step: number) => (columns ? (step + 0.5) / capacity : capacity > 1 ? step / (capacity - 1) : 0)
  return (
    <span className="mav-marks" aria-hidden="true">
      {marks.marked.map((step) => (
        <span
          key={step}
          className="mav-mark"
          data-step={step}
          data-kinds={marks.byStep.get(step)?.kinds.join(' ')}
          title={describeMark(marks, step)}
          style={{ '--mav-mark': at(step) } as CSSProperties}
        />
      ))}
    </span>
  )
}

/** The threshold field and previous/next mark buttons of the timeline. */
export function AnomalyControls({
  marks,
  index,
  select,
}: {
  marks: AnomalyMarks
  index: number
  select: (index: number) => void
}) {
  const store = useAnomalyStore()
  if (store === null) return null
  const previous = nextMarked(marks.marked, index, -1)
  const next = nextMarked(marks.marked, index, 1)
  return (
    <div className="mav-anomaly-controls">
      <label className="mav-anomaly-threshold">
        Mark p &lt;{' '}
        <input
          type="number"
          min={0}
          max={100}
          step={1}
          value={Math.round(store.getThreshold() * 100)}
          onChange={(event) => {
            const value = event.currentTarget.valueAsNumber
            if (Number.isFinite(value)) store.setThreshold(value / 100)
          }}
        />
        %
      </label>
      <button type="button" className="mav-button" onClick={() => select(previous)} disabled={previous < 0}>
        Previous mark
      </button>
      <button type="button" className="mav-button" onClick={() => select(next)} disabled={next < 0}>
        Next mark
      </button>
      <span className="mav-muted" data-marks={marks.marked.length}>
        {marks.marked.length} marked
      </span>
    </div>
  )
}
