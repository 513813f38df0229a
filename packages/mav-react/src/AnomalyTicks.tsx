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

const SVG = 'http://www.w3.org/2000/svg'

/**
 * Ticks over a track of `capacity` steps, one per marked step (decorative: the buttons and keys are the
 * accessible way to reach them); `columns` places them at column centres (a heatmap), else at the
 * slider's stops. The ticks are lines of one SVG in step units, appended as steps are marked and never
 * re-rendered: a growing `capacity` only widens the view box (no element moves, none is a layer).
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
  const boxRef = useRef<SVGSVGElement>(null)
  const drawn = useRef<{ byStep: AnomalyMarks['byStep'] | null; count: number; last: number }>({
    byStep: null,
    count: 0,
    last: -1,
  })
  useLayoutEffect(() => {
    const box = boxRef.current
    if (box === null) return
    const now = drawn.current
    const marked = marks.marked
    // A new run or threshold, or a reader behind the ticks drawn: draw them all anew.
    if (
      now.byStep !== marks.byStep ||
      marked.length < now.count ||
      (now.count > 0 && marked[now.count - 1] !== now.last)
    ) {
      box.replaceChildren()
      now.byStep = marks.byStep
      now.count = 0
      now.last = -1
    }
    for (; now.count < marked.length; now.count++) {
      const step = marked[now.count] as number
      const x = String(columns ? step + 0.5 : step)
      const tick = document.createElementNS(SVG, 'line')
      tick.setAttribute('class', 'mav-mark')
      tick.setAttribute('x1', x)
      tick.setAttribute('x2', x)
      tick.setAttribute('y1', '0')
      tick.setAttribute('y2', '1')
      tick.dataset.step = String(step)
      const kinds = marks.byStep.get(step)?.kinds
      if (kinds) tick.dataset.kinds = kinds.join(' ')
      const title = document.createElementNS(SVG, 'title')
      title.textContent = describeMark(marks, step)
      tick.append(title)
      box.append(tick)
      now.last = step
    }
    const width = columns ? Math.max(1, capacity) : Math.max(1, capacity - 1)
    box.setAttribute('viewBox', `0 0 ${width} 1`)
  }, [marks, capacity, columns])
  return <svg ref={boxRef} className="mav-marks" aria-hidden="true" preserveAspectRatio="none" />
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
