import {
  type MavEvent,
  type MavRunState,
  type MavRunStore,
  type MavScale,
  type MavTokenMatch,
  tokenMatchFor,
} from '@mav/client'
import {
  type CSSProperties,
  forwardRef,
  type HTMLAttributes,
  memo,
  type ReactNode,
  useCallback,
  useRef,
  useState,
} from 'react'
import { CompareDiffTable } from './CompareDiffTable'
import { CompareTimeline } from './CompareTimeline'
import { DiffHeatmap } from './DiffHeatmap'
import type { MavHistoryMetric } from './heatmapPixels'
import { MAVContainer, type MavPanelSpec } from './MAVContainer'
import type { MavUpdateMode } from './scheduler'
import { useCompareStates, useRunStores } from './useCompareStates'

/** One run of a comparison: a live store or recorded events, and how to name it. */
export interface MavCompareRun {
  /** The run, e.g. `useMavRun().store`. Takes precedence over `events`. */
  store?: MavRunStore
  /** A recorded run's events (e.g. `parseRecording(text).events`). */
  events?: readonly MavEvent[]
  /** Its name in headings and diff rows. Default `"Run A"`, `"Run B"`, ... */
  label?: string
  /** Shown under the name, e.g. why the run has not started yet. */
  note?: ReactNode
}

/** Props of {@link MAVCompare}. */
export interface MAVCompareProps extends Omit<HTMLAttributes<HTMLDivElement>, 'children'> {
  /** 2 to 4 runs; the first is the reference every other run is diffed against. */
  runs: readonly MavCompareRun[]
  /** The step every run shows (controlled); `null` lets each follow its newest. Default: uncontrolled. */
  stepIndex?: number | null
  /** Called when the timeline, a heatmap click or a panel changes the step shown. */
  onStepIndexChange?: (stepIndex: number | null) => void
  /**
   * The panels of each run's column. Default `["generated_text"]`: the diff rows carry each run's token
   * and probabilities; add `"top_predictions"` and others at the cost of more work per frame.
   */
  panels?: readonly MavPanelSpec[]
  /** Which per-layer differences to draw as heatmaps. Default both. */
  metrics?: readonly MavHistoryMetric[]
  /** Bar scaling in the columns' panels, as openmav's `--scale`. Default `"linear"`. */
  scale?: MavScale
  /** Longest bar, as openmav's `--max-bar-length`. Default 20. */
  maxBarLength?: number
  /** Characters of generated text shown per run, as openmav's `--limit-chars`. Default 250. */
  limitChars?: number
  /** Steps shown in each diff table before and after the step shown. Default 3. */
  diffRowsAround?: number
  /** How store changes reach the view, as `MAVContainer`'s `updates`. Default `"frame"`. */
  updates?: MavUpdateMode
  /** Colour theme, as `MAVContainer`'s. Default `"auto"`. */
  theme?: 'auto' | 'light' | 'dark'
}

const DEFAULT_PANELS: readonly MavPanelSpec[] = ['generated_text']
const BOTH: readonly MavHistoryMetric[] = ['activations', 'attention_entropy']
const ACTIVE = new Set(['connecting', 'loading', 'streaming'])
const defaultLabel = (index: number) => `Run ${String.fromCharCode(65 + index)}`
const layersOf = (state: MavRunState) => state.meta?.model.n_layers ?? null

interface ColumnProps {
  store: MavRunStore
  label: string
  note: ReactNode
  stepIndex: number | null
  onStepIndexChange: (index: number | null) => void
  panels: readonly MavPanelSpec[]
  scale: MavScale
  maxBarLength: number
  limitChars: number
  updates: MavUpdateMode
}

// Memoised: the comparison re-renders once a frame while runs stream; each column updates on its own schedule.
const CompareColumn = memo(function CompareColumn({ store, label, note, ...view }: ColumnProps) {
  return (
    <section className="mav-compare-column" data-run={label} aria-label={label}>
      <h3 className="mav-compare-label">{label}</h3>
      {note && <p className="mav-compare-note">{note}</p>}
      <MAVContainer store={store} timeline={false} history={false} rows={view.panels.length} {...view} />
    </section>
  )
})

/**
 * 2 to 4 runs side by side (live stores or recordings, any mix) on one timeline: step k is shown in
 * every run. Under the columns, each run against the first: a diff row per step (tokens agree? each
 * run's probability of both tokens, KL on the shared top-n support) and diverging heatmaps of the
 * per-layer differences over steps. Models with different layer counts are compared on a normalised
 * depth axis, and the view says so. The arithmetic is `diffStep`/`diffLayers` of `@mav/client`.
 *
 * @example
 * <MAVCompare runs={[{ store: a.store, label: 'T=0' }, { events: recorded, label: 'T=1' }]} />
 */
export const MAVCompare = forwardRef<HTMLDivElement, MAVCompareProps>(function MAVCompare(
  {
    runs,
    stepIndex,
    onStepIndexChange,
    panels = DEFAULT_PANELS,
    metrics = BOTH,
    scale = 'linear',
    maxBarLength = 20,
    limitChars = 250,
    diffRowsAround = 3,
    updates = 'frame',
    theme = 'auto',
    className,
    style,
    ...rest
  },
  ref,
) {
  if (runs.length < 2 || runs.length > 4) {
    throw new TypeError(`MAVCompare: runs has ${runs.length} entries; pass 2 to 4 runs`)
  }
  const stores = useRunStores(runs)
  const states = useCompareStates(stores, updates)
  const [own, setOwn] = useState<number | null>(null)
  const selected = stepIndex === undefined ? own : stepIndex
  const onChange = useRef(onStepIndexChange)
  onChange.current = onStepIndexChange
  const select = useCallback((index: number | null) => {
    setOwn(index)
    onChange.current?.(index)
  }, [])

  const labels = runs.map((run, i) => run.label ?? defaultLabel(i))
  const lengths = states.map((state) => state.steps.length)
  const length = Math.max(...lengths)
  const common = Math.min(...lengths)
  const index = length === 0 ? -1 : selected === null ? length - 1 : Math.min(selected, length - 1)
  // Following live, the diff shows the newest step every run has.
  const diffIndex = selected === null ? common - 1 : index
  const live = states.some((state) => ACTIVE.has(state.status))
  const reference = states[0] as MavRunState
  const layers = states.map(layersOf)
  const normalised = layers.some((count) => count !== null && layers[0] !== null && count !== layers[0])
  const matches: MavTokenMatch[] = states.map((state) => tokenMatchFor(reference.meta?.model, state.meta?.model))
  const byText = matches.some((match) => match === 'text')

  return (
    <div
      ref={ref}
      className={className ? `mav-root mav-compare ${className}` : 'mav-root mav-compare'}
      data-runs={runs.length}
      data-step={diffIndex}
      data-normalised={normalised}
      data-mav-theme={theme === 'auto' ? undefined : theme}
      style={{ ...style, '--mav-compare-columns': runs.length } as CSSProperties}
      {...rest}
    >
      <CompareTimeline length={length} index={index} selected={selected} live={live} onSelect={select} />
      {(normalised || byText) && (
        <ul className="mav-compare-notes">
          {normalised && (
            <li data-note="normalised-depth">
              Layer counts differ ({labels.map((label, i) => `${label}: ${layers[i] ?? '?'}`).join(', ')}): layers are
              compared on a normalised depth axis, 0 = the first layer (embeddings for activations), 1 = the last.
            </li>
          )}
          {byText && <li data-note="text-match">Different models: tokens are matched by their text, not their ids.</li>}
        </ul>
      )}
      <div className="mav-compare-columns">
        {stores.map((store, i) => (
          <CompareColumn
            // biome-ignore lint/suspicious/noArrayIndexKey: a column per run position
            key={i}
            store={store}
            label={labels[i] as string}
            note={runs[i]?.note}
            stepIndex={selected}
            onStepIndexChange={select}
            panels={panels}
            scale={scale}
            maxBarLength={maxBarLength}
            limitChars={limitChars}
            updates={updates}
          />
        ))}
      </div>
      {states.slice(1).map((state, k) => {
        const i = k + 1
        const label = labels[i] as string
        return (
          <section key={i} className="mav-compare-diff" data-run={label} aria-label={`${label} against ${labels[0]}`}>
            <CompareDiffTable
              reference={reference}
              run={state}
              referenceLabel={labels[0] as string}
              label={label}
              match={matches[i] as MavTokenMatch}
              index={diffIndex}
              around={diffRowsAround}
            />
            {metrics.map((metric) => (
              <DiffHeatmap
                key={metric}
                reference={reference}
                run={state}
                metric={metric}
                label={`${label} − ${labels[0]}`}
                index={diffIndex}
                onSelect={select}
              />
            ))}
          </section>
        )
      })}
    </div>
  )
})
