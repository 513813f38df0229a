import { nextMarked } from '@mav/client'
import { useLayoutEffect, useRef } from 'react'
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

/** Where ticks sit along their box, as a multiple of the box's width: step over `denominator`. */
const tickDenominator = (capacity: number, columns: boolean) =>
  columns ? Math.max(1, capacity) : Math.max(1, capacity - 1)

/**
 * Ticks over a track of `capacity` steps, one per marked step (decorative: the buttons and keys are the
 * accessible way to reach them); `columns` places them at column centres (a heatmap), else at the
 * slider's stops. Ticks are appended as steps are marked, never re-rendered: a growing `capacity`
 * scales their box (a transform, no layout), and only when that halves the ticks are they placed anew.
 */
export function MarkTicks({
  marks,
  capacity,
  columns = false,
}: {
  marks: AnomalyMarks
  capacity: number
  columns?: boolean
}) {
  const boxRef = useRef<HTMLSpanElement>(null)
  const drawn = useRef<{ byStep: AnomalyMarks['byStep'] | null; count: number; last: number; denominator: number }>({
    byStep: null,
    count: 0,
    last: -1,
    denominator: 1,
  })
  useLayoutEffect(() => {
    const box = boxRef.current
    if (box === null) return
    const now = drawn.current
    const denominator = tickDenominator(capacity, columns)
    const marked = marks.marked
    const scale = now.denominator / denominator
    // A new run or threshold, a reader behind the ticks drawn, or ticks squeezed to half: place all anew.
    const stale =
      now.byStep !== marks.byStep ||
      marked.length < now.count ||
      (now.count > 0 && marked[now.count - 1] !== now.last) ||
      scale < 0.5 ||
      scale > 1
    if (stale) {
      box.replaceChildren()
      now.byStep = marks.byStep
      now.count = 0
      now.last = -1
      now.denominator = denominator
    }
    const at = (step: number) => ((columns ? step + 0.5 : step) / now.denominator).toString()
    for (; now.count < marked.length; now.count++) {
      const step = marked[now.count] as number
      const tick = document.createElement('span')
      tick.className = 'mav-mark'
      tick.dataset.step = String(step)
      const kinds = marks.byStep.get(step)?.kinds
      if (kinds) tick.dataset.kinds = kinds.join(' ')
      tick.title = describeMark(marks, step)
      tick.style.setProperty('--mav-mark', at(step))
      box.append(tick)
      now.last = step
    }
    // The transform itself, not a custom property: that would be inherited and restyle every tick.
    box.style.transform = `scaleX(${now.denominator / denominator})`
  }, [marks, capacity, columns])
  return <span ref={boxRef} className="mav-marks" aria-hidden="true" />
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
