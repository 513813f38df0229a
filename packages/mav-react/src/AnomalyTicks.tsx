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

/** Marks per path: a new mark re-parses only its own path, not every tick drawn before it. */
const CHUNK = 256

interface Drawn {
  byStep: AnomalyMarks['byStep'] | null
  /** The paths drawn into, the first one React's; each holds up to CHUNK ticks. */
  paths: SVGPathElement[]
  count: number
  last: number
  /** The last path's `d` and `data-steps`, as written. */
  d: string
  steps: string
}

/**
 * Ticks over a track of `capacity` steps, one per marked step (decorative: the buttons and keys are the
 * accessible way to reach them); `columns` places them at column centres (a heatmap), else at the
 * slider's stops. The ticks are SVG paths in step units, extended as steps are marked (a run marked at
 * every step would otherwise re-parse thousands of ticks per frame); a growing `capacity` only widens
 * the view box. Each path's `data-steps` lists its marked steps.
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
  const pathRef = useRef<SVGPathElement>(null)
  const drawn = useRef<Drawn>({ byStep: null, paths: [], count: 0, last: -1, d: '', steps: '' })
  useLayoutEffect(() => {
    const box = boxRef.current
    const first = pathRef.current
    if (box === null || first === null) return
    const now = drawn.current
    const marked = marks.marked
    // A new run or threshold, a reader behind the ticks drawn, or a new first path: draw them all anew.
    if (
      now.byStep !== marks.byStep ||
      marked.length < now.count ||
      (now.count > 0 && marked[now.count - 1] !== now.last) ||
      now.paths[0] !== first
    ) {
      for (const path of now.paths.slice(1)) path.remove()
      Object.assign(now, { byStep: marks.byStep, paths: [first], count: 0, last: -1, d: '', steps: '' })
      first.removeAttribute('d')
      delete first.dataset.steps
    }
    if (now.count < marked.length) {
      let path = now.paths.at(-1) as SVGPathElement
      for (; now.count < marked.length; now.count++) {
        if (now.count > 0 && now.count % CHUNK === 0) {
          path.setAttribute('d', now.d)
          path.dataset.steps = now.steps
          path = path.cloneNode(false) as SVGPathElement
          box.append(path)
          now.paths.push(path)
          now.d = ''
          now.steps = ''
        }
        const step = marked[now.count] as number
        now.d += `M${columns ? step + 0.5 : step} 0V1`
        now.steps += now.steps === '' ? String(step) : ` ${step}`
        now.last = step
      }
      path.setAttribute('d', now.d)
      path.dataset.steps = now.steps
    }
    const width = columns ? Math.max(1, capacity) : Math.max(1, capacity - 1)
    box.setAttribute('viewBox', `0 0 ${width} 1`)
  }, [marks, capacity, columns])
  return (
    <svg ref={boxRef} className="mav-marks" aria-hidden="true" preserveAspectRatio="none">
      <path ref={pathRef} className="mav-mark" />
    </svg>
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
      {marks.byStep.has(index) && (
        <span className="mav-anomaly-why" data-step={index}>
          {describeMark(marks, index)}
        </span>
      )}
    </div>
  )
}
