import { applyScaling, type MavRunState, type MavScale, type MavStepEvent } from '@mav/client'
import {
  type CSSProperties,
  forwardRef,
  type HTMLAttributes,
  type PointerEvent,
  type RefObject,
  useEffect,
  useRef,
} from 'react'
import { type MavRunScopeValue, selectIndex, useMavRunScope, useScopeSelector } from './context'
import { Panel } from './Panel'

/** A per-layer metric of each step. */
export type MavHistoryMetric = 'activations' | 'attention_entropy'

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

// Viridis stops: perceptually uniform and readable with the common colour-vision deficiencies.
const VIRIDIS = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
] as const

let palette: string[] | undefined
function colorOf(t: number): string {
  if (palette === undefined) {
    palette = Array.from({ length: 256 }, (_, i) => {
      const x = (i / 255) * (VIRIDIS.length - 1)
      const k = Math.min(VIRIDIS.length - 2, Math.floor(x))
      const f = x - k
      const a = VIRIDIS[k] as readonly number[]
      const b = VIRIDIS[k + 1] as readonly number[]
      const mix = (c: number) => Math.round((a[c] as number) + ((b[c] as number) - (a[c] as number)) * f)
      return `rgb(${mix(0)},${mix(1)},${mix(2)})`
    })
  }
  const index = Math.max(0, Math.min(255, Math.round((Number.isFinite(t) ? t : 0) * 255)))
  return palette[index] as string
}

const valuesOf = (step: MavStepEvent, metric: MavHistoryMetric) =>
  metric === 'activations' ? step.activations : step.attention_entropy

/** Columns the heatmap has room for: the run's `max_new_tokens`, or more if it went beyond. */
const selectCapacity = (state: MavRunState) => Math.max(state.meta?.request.max_new_tokens ?? 0, state.steps.length, 1)
const selectRows = (state: MavRunState, metric: MavHistoryMetric) => {
  const first = state.steps.at(0)
  if (first) return valuesOf(first, metric).length
  const layers = state.meta?.model.n_layers
  return layers === undefined ? 0 : metric === 'activations' ? layers + 1 : layers
}

/**
 * Draws one metric as a layers x steps heatmap on a canvas, outside React: it subscribes to the run
 * itself and paints only the columns of new steps, so a 2,000-step run costs one column per token.
 * A full repaint happens only on resize, a new run, or more steps than the planned capacity.
 */
function useHeatmap(
  canvasRef: RefObject<HTMLCanvasElement | null>,
  scope: MavRunScopeValue,
  metric: MavHistoryMetric,
  scale: MavScale,
  rowHeight: number,
) {
  useEffect(() => {
    const canvas = canvasRef.current
    const context = canvas?.getContext('2d') ?? null
    if (canvas === null || context === null) return
    let drawn = 0
    let firstStep: MavStepEvent | undefined
    let layout = ''
    // Read once, then kept by the ResizeObserver: reading clientWidth per token could force a layout.
    let cssWidth = canvas.clientWidth || 300

    const paint = () => {
      const state = scope.view.getSnapshot()
      const steps = state.steps
      const capacity = selectCapacity(state)
      const rows = selectRows(state, metric)
      const ratio = typeof devicePixelRatio === 'number' ? devicePixelRatio : 1
      const width = Math.max(1, Math.round(cssWidth * ratio))
      const height = Math.max(1, Math.round(rows * rowHeight * ratio))
      const key = `${width}x${height}:${capacity}:${rows}`
      if (key !== layout || steps.at(0) !== firstStep || steps.length < drawn) {
        layout = key
        firstStep = steps.at(0)
        drawn = 0
        canvas.width = width
        canvas.height = height
        context.clearRect(0, 0, width, height)
      }
      if (rows === 0) return
      const rowPixels = height / rows
      for (let i = drawn; i < steps.length; i++) {
        const step = steps.at(i) as MavStepEvent
        const x0 = Math.floor((i * width) / capacity)
        const x1 = Math.max(x0 + 1, Math.floor(((i + 1) * width) / capacity))
        const normalised = applyScaling(valuesOf(step, metric), scale, 1)
        for (let row = 0; row < rows; row++) {
          context.fillStyle = colorOf(Math.abs(normalised[row] ?? 0))
          const y0 = Math.floor(row * rowPixels)
          context.fillRect(x0, y0, x1 - x0, Math.max(1, Math.floor((row + 1) * rowPixels) - y0))
        }
      }
      drawn = steps.length
    }

    paint()
    const unsubscribe = scope.view.subscribe(paint)
    let observer: ResizeObserver | undefined
    if (typeof ResizeObserver === 'function') {
      observer = new ResizeObserver((entries) => {
        const width = entries[0]?.contentRect.width
        if (width !== undefined && width > 0 && width !== cssWidth) {
          cssWidth = width
          paint()
        }
      })
      observer.observe(canvas)
    }
    return () => {
      unsubscribe()
      observer?.disconnect()
    }
  }, [canvasRef, scope, metric, scale, rowHeight])
}

interface HeatmapProps {
  scope: MavRunScopeValue
  metric: MavHistoryMetric
  scale: MavScale
  rowHeight: number
}

function Heatmap({ scope, metric, scale, rowHeight }: HeatmapProps) {
  const canvasRef = useRef<HTMLCanvasElement>(null)
  useHeatmap(canvasRef, scope, metric, scale, rowHeight)
  const rows = useScopeSelector(scope, (state) => selectRows(state, metric))
  const capacity = useScopeSelector(scope, selectCapacity)
  const length = useScopeSelector(scope, (state) => state.steps.length)
  const index = useScopeSelector(scope, selectIndex)

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
      </div>
    </figure>
  )
}

/**
 * A small history of the whole run: for each metric a layers x steps heatmap on canvas (one column per
 * step, one row per layer, top = embeddings/first block), each column normalised by `applyScaling`
 * and coloured with viridis. A cursor marks the selected step; clicking a column selects it.
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
  const scope = useMavRunScope('ActivationHistory')
  const length = useScopeSelector(scope, (state) => state.steps.length)
  return (
    <Panel
      ref={ref}
      title={title}
      panel="activation_history"
      state={length > 0 ? 'ready' : 'empty'}
      message="The history fills in as tokens arrive."
      {...rest}
    >
      {metrics.map((metric) => (
        <Heatmap key={metric} scope={scope} metric={metric} scale={scale} rowHeight={rowHeight} />
      ))}
    </Panel>
  )
})
