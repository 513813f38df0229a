import type { MavRunState, MavStepEvent } from '@mav/client'
import { type CSSProperties, type PointerEvent, useEffect, useRef } from 'react'
import { paintDiffColumns } from './diffPixels'
import type { MavHistoryMetric } from './heatmapPixels'

export interface DiffHeatmapProps {
  reference: MavRunState
  run: MavRunState
  metric: MavHistoryMetric
  label: string
  /** The step the timeline shows (-1 for none). */
  index: number
  onSelect: (index: number) => void
  /** Height of one row in CSS pixels. Default 3. */
  rowHeight?: number
}

const METRIC_LABEL: Record<MavHistoryMetric, string> = {
  activations: 'MLP activation difference',
  attention_entropy: 'Attention entropy difference',
}
/** Most bitmap columns: a long run's steps share columns, the stylesheet stretches the bitmap. */
const MAX_COLUMNS = 1024

const capacityOf = (a: MavRunState, b: MavRunState) =>
  Math.max(a.meta?.request.max_new_tokens ?? 0, b.meta?.request.max_new_tokens ?? 0, a.steps.length, b.steps.length, 1)

const rowsOf = (state: MavRunState, metric: MavHistoryMetric) => {
  const first = state.steps.at(0)
  if (first) return (metric === 'activations' ? first.activations : first.attention_entropy).length
  const layers = state.meta?.model.n_layers
  return layers === undefined ? 0 : metric === 'activations' ? layers + 1 : layers
}

/**
 * `run - reference` of one per-layer metric as a layers x steps diverging heatmap (red: the run is
 * higher, blue: lower), each column divided by the reference's largest |value| at that step. New steps
 * paint only their own columns, as `ActivationHistory` does.
 */
export function DiffHeatmap({ reference, run, metric, label, index, onSelect, rowHeight = 3 }: DiffHeatmapProps) {
  const canvasRef = useRef<HTMLCanvasElement>(null)
  const painter = useRef<{ key: string; drawn: number; first: [unknown, unknown]; image: ImageData | null }>({
    key: '',
    drawn: 0,
    first: [undefined, undefined],
    image: null,
  })
  const capacity = capacityOf(reference, run)
  const rows = Math.max(rowsOf(reference, metric), rowsOf(run, metric))
  const common = Math.min(reference.steps.length, run.steps.length)
  const width = Math.max(1, Math.min(capacity, MAX_COLUMNS))

  useEffect(() => {
    const canvas = canvasRef.current
    const context = canvas?.getContext('2d') ?? null
    if (canvas === null || context === null || rows === 0) return
    const p = painter.current
    let pending = 0
    const paint = () => {
      pending = 0
      const key = `${width}x${rows}:${capacity}`
      const first: [MavStepEvent | undefined, MavStepEvent | undefined] = [reference.steps.at(0), run.steps.at(0)]
      if (key !== p.key || first[0] !== p.first[0] || first[1] !== p.first[1] || common < p.drawn || !p.image) {
        p.key = key
        p.first = first
        p.drawn = 0
        canvas.width = width
        canvas.height = rows
        p.image = context.createImageData(width, rows)
      }
      if (p.drawn >= common) return
      const painted = paintDiffColumns(p.image.data, width, rows, capacity, reference.steps, run.steps, p.drawn, metric)
      p.drawn = painted.next
      if (painted.right > painted.left) {
        context.putImageData(p.image, 0, 0, painted.left, 0, painted.right - painted.left, rows)
      }
      if (p.drawn < common) pending = requestAnimationFrame(paint)
    }
    paint()
    return () => {
      if (pending !== 0) cancelAnimationFrame(pending)
    }
  }, [reference.steps, run.steps, metric, width, rows, capacity, common])

  const onPointerDown = (event: PointerEvent<HTMLDivElement>) => {
    const rect = event.currentTarget.getBoundingClientRect()
    if (rect.width <= 0 || common === 0) return
    const step = Math.floor(((event.clientX - rect.left) / rect.width) * capacity)
    onSelect(Math.max(0, Math.min(common - 1, step)))
  }

  return (
    <figure className="mav-heatmap mav-diff-heatmap" data-metric={metric} data-steps={common} data-rows={rows}>
      <figcaption className="mav-heatmap-caption">
        {METRIC_LABEL[metric]} ({label})
      </figcaption>
      <div className="mav-heatmap-plot" onPointerDown={onPointerDown}>
        <canvas
          ref={canvasRef}
          className="mav-heatmap-canvas"
          role="img"
          aria-label={`${METRIC_LABEL[metric]}, ${label}: ${rows} layers by ${common} steps`}
          style={{ height: rows * rowHeight }}
        />
        {index >= 0 && index < common && (
          <span
            className="mav-heatmap-cursor"
            data-step={index}
            style={{ '--mav-cursor': (index + 0.5) / capacity } as CSSProperties}
          />
        )}
      </div>
    </figure>
  )
}
