import { type MavRunState, type MavStepEvent, settlingLayer } from '@mav/client'
import {
  type CSSProperties,
  forwardRef,
  type HTMLAttributes,
  type ReactNode,
  type RefObject,
  useContext,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
} from 'react'
import { MavBranchContext, MavRunScopeContext, type RunReader, usePanelReader } from './context'
import {
  LensTable,
  type LensTableProps,
  type LensWritten,
  lensBranchPoint,
  lensRowLabel,
  lensShape,
  lensWritten,
  writeLens,
} from './lensTable'
import { Panel } from './Panel'
import type { MavBranchEvent } from './TopPredictionsPanel'
import { usePanelSource } from './usePanelSource'

/** Props of {@link LogitLensPanel}. */
export interface LogitLensPanelProps extends Omit<HTMLAttributes<HTMLElement>, 'title'> {
  /** The step to show, for use outside `MAVContainer`. Default: the container's selected step. */
  step?: MavStepEvent | null
  /** Show the run's "which layer settles" strip (in a container). Default true. */
  history?: boolean
  /** Heading and accessible name. Default `"Logit lens"`. */
  title?: string
  /** "Continue with this token" for each candidate, as `TopPredictionsPanel`'s `onBranch`. Default: the `onBranch` of the `MAVContainer` it is in, else none. */
  onBranch?: (point: MavBranchEvent) => void
}

/**
 * Paints, per step, the lens rows from the settling layer on (the chosen token on top from there to the
 * output) as a layers x steps strip: one pixel per cell, new steps only, like the history heatmaps.
 */
function useSettlingStrip(canvasRef: RefObject<HTMLCanvasElement | null>, view: RunReader | null, mounted: boolean) {
  // biome-ignore lint/correctness/useExhaustiveDependencies: `mounted` re-runs it when the canvas appears
  useEffect(() => {
    const canvas = canvasRef.current
    const context = canvas?.getContext('2d') ?? null
    if (canvas === null || context === null || view === null) return
    let drawn = 0
    let first: MavStepEvent | undefined
    let image: ImageData | null = null
    const paint = () => {
      const state: MavRunState = view.getSnapshot()
      const steps = state.steps
      const rows = (state.meta?.model.n_layers ?? 0) + 1
      const capacity = Math.max(state.meta?.request.max_new_tokens ?? 0, steps.length, 1)
      if (image === null || image.width !== capacity || image.height !== rows || steps.at(0) !== first) {
        canvas.width = capacity
        canvas.height = Math.max(1, rows)
        image = context.createImageData(capacity, Math.max(1, rows))
        drawn = 0
        first = steps.at(0)
      }
      if (drawn >= steps.length) return
      const data = image.data
      const left = drawn
      for (; drawn < steps.length; drawn++) {
        const settles = settlingLayer(steps.at(drawn) as MavStepEvent)
        for (let row = 0; row < rows; row++) {
          // Row 0 (embeddings) at the top, as in the table; settled cells dark blue, the rest light.
          const on = settles !== null && row >= settles
          const at = (row * capacity + drawn) * 4
          data[at] = on ? 0 : 220
          data[at + 1] = on ? 114 : 224
          data[at + 2] = on ? 178 : 230
          data[at + 3] = 255
        }
      }
      context.putImageData(image, 0, 0, left, 0, drawn - left, rows)
    }
    paint()
    return view.subscribe(paint)
  }, [canvasRef, view, mounted])
}

/**
 * The logit lens of the shown step (`detail: ["lens"]`): for the embeddings and each block, the top 5
 * next-token candidates its hidden state gives through the final norm and unembedding, with the row
 * where the chosen token becomes and stays the top candidate marked; and a layers x steps strip of
 * where each step settled.
 */
export const LogitLensPanel = forwardRef<HTMLElement, LogitLensPanelProps>(function LogitLensPanel(
  { step: stepProp, history = true, title = 'Logit lens', onBranch: onBranchProp, ...rest },
  ref,
) {
  const containerBranch = useContext(MavBranchContext)
  const onBranch = onBranchProp ?? containerBranch
  const source = usePanelSource('LogitLensPanel', stepProp, 'low')
  const context = useContext(MavRunScopeContext)
  const scope = stepProp === undefined ? context : null
  const pixels = usePanelReader(history ? scope : null, 'low')
  const canvasRef = useRef<HTMLCanvasElement>(null)
  const step = source.step
  const lens = step?.lens
  const settles = step ? settlingLayer(step) : null
  const missing = source.state === 'ready' && !lens
  useSettlingStrip(canvasRef, pixels, source.state === 'ready' && !missing)

  // The table is made once per shape and each step written into its cells: a new step's ~150 cells
  // would otherwise be reconciled, and every text in them laid out again, whether it changed or not.
  const tableRef = useRef<HTMLTableElement>(null)
  const shownStep = useRef(step)
  shownStep.current = step
  const branchRef = useRef(onBranch)
  branchRef.current = onBranch
  const shape = lensShape(lens, onBranch !== undefined)
  // biome-ignore lint/correctness/useExhaustiveDependencies: made per shape; `writeLens` brings it up to date
  const made = useMemo(
    () =>
      step?.lens
        ? {
            table: (
              <LensTable
                ref={tableRef}
                step={step as LensTableProps['step']}
                settles={settles}
                branch={onBranch !== undefined}
                onBranch={(button) => {
                  const point = shownStep.current ? lensBranchPoint(button, shownStep.current) : null
                  if (point) branchRef.current?.(point)
                }}
              />
            ),
            step,
            settles,
          }
        : null,
    [shape],
  )
  const table = made?.table ?? null
  const written = useRef<{ table: ReactNode; cells: LensWritten } | null>(null)
  useLayoutEffect(() => {
    if (made === null) return
    // New cells hold what React made them with: the step they were made with, not what was last written.
    if (written.current?.table !== made.table) {
      written.current = { table: made.table, cells: lensWritten(made.step, made.settles) }
    }
    if (tableRef.current && step) writeLens(tableRef.current, step, settles, written.current.cells)
  }, [step, settles, made])

  return (
    <Panel
      ref={ref}
      title={title}
      panel="logit_lens"
      state={missing ? 'empty' : source.state}
      message={missing ? 'This run has no lens detail: start it with detail "lens".' : source.message}
      aside={
        <span className="mav-muted" data-settles={settles ?? undefined}>
          {settles === null ? 'not settled' : `settles at ${lensRowLabel(settles)}`}
        </span>
      }
      {...rest}
    >
      {table && (
        <div className="mav-lens" style={{ '--mav-lens-rows': lens?.ids.length } as CSSProperties}>
          {table}
        </div>
      )}
      {history && scope && lens && (
        <figure className="mav-lens-strip">
          <figcaption className="mav-heatmap-caption">Which layer settles, by step</figcaption>
          <canvas
            ref={canvasRef}
            className="mav-heatmap-canvas"
            role="img"
            aria-label="Layers by steps: filled from the layer where each step's chosen token stays on top"
          />
        </figure>
      )}
    </Panel>
  )
})
