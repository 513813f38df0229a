import type { MavRunState, MavScale, MavStepEvent } from '@mav/client'
import {
  type CSSProperties,
  forwardRef,
  type HTMLAttributes,
  type PointerEvent,
  type RefObject,
  useEffect,
  useRef,
} from 'react'
import { MarkTicks } from './AnomalyTicks'
import { useAnomalyMarks } from './anomalyMarks'
import {
  type RunReader,
  type RunScope,
  selectIndex,
  useHold,
  usePanelReader,
  useRunScope,
  useScopeSelector,
} from './context'
import { type MavHistoryMetric, paintColumns, valuesOf } from './heatmapPixels'
import { Panel } from './Panel'

/** Props of {@link ActivationHistory}. */
export interface ActivationHistoryProps extends Omit<HTMLAttributes<HTMLElement>, 'title'> {
  /** Which heatmaps to draw, top to bottom. Default both. */
  metrics?: readonly MavHistoryMetric[]
  /** How each step's column is normalised before colouring (`applyScaling` to 0..1). Default `"linear"`. */
  scale?: MavScale
  /** Height of one layer row in CSS pixels. Default 3. */
  rowHeight?: number
  /** Heading and accessible name. Default `"Activation history"`. */
  title?: string
}

const METRIC_LABEL: Record<MavHistoryMetric, string> = {
  activations: 'MLP activations',
  attention_entropy: 'Attention entropy',
}

/** Columns the heatmap has room for: the run's `max_new_tokens`, or more if it went beyond. */
const selectCapacity = (state: MavRunState) => Math.max(state.meta?.request.max_new_tokens ?? 0, state.steps.length, 1)
const selectModelKnown = (state: MavRunState) => state.meta !== null || state.steps.length > 0
const WAITING = 'The history fills in as tokens arrive.'
const selectRows = (state: MavRunState, metric: MavHistoryMetric) => {
  const first = state.steps.at(0)
  if (first) return valuesOf(first, metric).length
  const layers = state.meta?.model.n_layers
  return layers === undefined ? 0 : metric === 'activations' ? layers + 1 : layers
}

/**
 * Draws one metric as a layers x steps heatmap on a canvas, outside React: it subscribes to the run
 * itself and writes only the pixels of new steps into an ImageData it keeps, then puts back just those
 * columns. A replay can bring hundreds of steps in one frame; one fillRect per cell would queue tens of
 * thousands of canvas commands that the compositor then rasterises inside that frame.
 * A full repaint happens only on resize, a new run, or more steps than the planned capacity.
 */
function useHeatmap(
  canvasRef: RefObject<HTMLCanvasElement | null>,
  view: RunReader,
  metric: MavHistoryMetric,
  scale: MavScale,
) {
  useEffect(() => {
    const canvas = canvasRef.current
    const context = canvas?.getContext('2d') ?? null
    if (canvas === null || context === null) return
    let drawn = 0
    let firstStep: MavStepEvent | undefined
    let layout = ''
    let image: ImageData | null = null
    let pending = 0
    // The width comes from the ResizeObserver, which reports after layout: reading clientWidth here
    // would force a layout of the whole container in the frame that mounts it.
    const observing = typeof ResizeObserver === 'function'
    let cssWidth = observing ? 0 : canvas.clientWidth || 300

    const paint = () => {
      if (cssWidth <= 0) return
      const state = view.getSnapshot()
      const steps = state.steps
      const capacity = selectCapacity(state)
      const rows = selectRows(state, metric)
      const ratio = typeof devicePixelRatio === 'number' ? devicePixelRatio : 1
      // One pixel per layer and at most one column per step, scaled up by the stylesheet (pixelated):
      // few pixels to write and a small canvas for the compositor.
      const width = Math.max(1, Math.min(capacity, Math.round(cssWidth * ratio)))
      const height = Math.max(1, rows)
      const key = `${width}x${height}:${capacity}:${rows}`
      if (key !== layout || steps.at(0) !== firstStep || steps.length < drawn || image === null) {
        layout = key
        firstStep = steps.at(0)
        drawn = 0
        canvas.width = width
        canvas.height = height
        image = context.createImageData(width, height)
      }
      if (rows === 0 || drawn >= steps.length) return
      const left = Math.floor((drawn * width) / capacity)
      const painted = paintColumns(image.data, width, rows, capacity, steps, drawn, metric, scale)
      drawn = painted.next
      if (painted.right > left) context.putImageData(image, 0, 0, left, 0, painted.right - left, height)
      if (drawn < steps.length && pending === 0) pending = requestAnimationFrame(continuePaint)
    }
    const continuePaint = () => {
      pending = 0
      paint()
    }

    paint()
    const unsubscribe = view.subscribe(paint)
    let observer: ResizeObserver | undefined
    if (observing) {
      observer = new ResizeObserver((entries) => {
        const width = entries[0]?.contentRect.width
        if (width !== undefined && width > 0 && width !== cssWidth) {
          cssWidth = width
          // In the next frame: this one is already laying out and painting a resize or a mount.
          if (pending === 0) pending = requestAnimationFrame(continuePaint)
        }
      })
      observer.observe(canvas)
    }
    return () => {
      unsubscribe()
      observer?.disconnect()
      if (pending !== 0) cancelAnimationFrame(pending)
    }
  }, [canvasRef, view, metric, scale])
}

interface HeatmapProps {
  scope: RunScope
  /** What the pixels follow; the frame (sizes, cursor) follows the scope's `high` reader. */
  pixels: RunReader
  metric: MavHistoryMetric
  scale: MavScale
  rowHeight: number
}

function Heatmap({ scope, pixels, metric, scale, rowHeight }: HeatmapProps) {
  const canvasRef = useRef<HTMLCanvasElement>(null)
  useHeatmap(canvasRef, pixels, metric, scale)
  const rows = useScopeSelector(scope, (state) => selectRows(state, metric))
  const capacity = useScopeSelector(scope, selectCapacity)
  const length = useScopeSelector(scope, (state) => state.steps.length)
  const index = useScopeSelector(scope, selectIndex)
  const marks = useAnomalyMarks(scope, pixels)

  const onPointerDown = (event: PointerEvent<HTMLDivElement>) => {
    const rect = event.currentTarget.getBoundingClientRect()
    if (rect.width <= 0 || length === 0) return
    const step = Math.floor(((event.clientX - rect.left) / rect.width) * capacity)
    scope.selection.set(Math.max(0, Math.min(length - 1, step)))
  }

  return (
    <figure className="mav-heatmap" data-metric={metric} data-steps={length} data-rows={rows}>
      <figcaption className="mav-heatmap-caption">{METRIC_LABEL[metric]}</figcaption>
      {/* Pointer selection is a shortcut; the timeline is the keyboard way to choose a step. */}
      <div className="mav-heatmap-plot" onPointerDown={onPointerDown}>
        <canvas
          ref={canvasRef}
          className="mav-heatmap-canvas"
          role="img"
          aria-label={`${METRIC_LABEL[metric]}: ${rows} layers by ${length} steps`}
          style={{ height: rows * rowHeight }}
        />
        {index >= 0 && (
          <span
            className="mav-heatmap-cursor"
            data-step={index}
            style={{ '--mav-cursor': (index + 0.5) / capacity } as CSSProperties}
          />
        )}
        {marks && <MarkTicks marks={marks} capacity={capacity} columns />}
      </div>
    </figure>
  )
}

/**
 * A small history of the whole run: for each metric a layers x steps heatmap on canvas (one column per
 * step, one row per layer, top = embeddings/first block), each column normalised by `applyScaling`
 * and coloured with viridis. A cursor marks the selected step; clicking a column selects it. With
 * anomaly marks on, marked steps get a tick above their column.
 */
export const ActivationHistory = forwardRef<HTMLElement, ActivationHistoryProps>(function ActivationHistory(
  {
    metrics = ['activations', 'attention_entropy'],
    scale = 'linear',
    rowHeight = 3,
    title = 'Activation history',
    ...rest
  },
  ref,
) {
  const scope = useRunScope('ActivationHistory')
  const waiting = useScopeSelector(scope, (state) => state.steps.length === 0)
  // The heatmaps mount, empty, once `meta` names the model: sized before the first step, which then
  // only paints pixels and moves nothing below.
  const known = useScopeSelector(scope, selectModelKnown)
  // Pixels in a turn after the panels', so a replay's backlog is not painted in their mount frame; held
  // from here, as the heatmaps mount later (at `meta`) and would otherwise start at the newest state.
  const pixels = usePanelReader(scope, 'low') as RunReader
  useHold(pixels)
  return (
    <Panel
      ref={ref}
      title={title}
      panel="activation_history"
      state={known ? 'ready' : 'empty'}
      message={WAITING}
      aside={known && waiting ? <span className="mav-muted">{WAITING}</span> : undefined}
      {...rest}
    >
      {metrics.map((metric) => (
        <Heatmap key={metric} scope={scope} pixels={pixels} metric={metric} scale={scale} rowHeight={rowHeight} />
      ))}
    </Panel>
  )
})
