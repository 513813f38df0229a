import type { MavAnomalyOptions, MavRunState, MavScale } from '@mav/client'
import {
  type ComponentType,
  type CSSProperties,
  Fragment,
  forwardRef,
  type HTMLAttributes,
  isValidElement,
  memo,
  type ReactElement,
  type ReactNode,
  useEffect,
  useMemo,
} from 'react'
import { ActivationHistory } from './ActivationHistory'
import { AttentionEntropyPanel } from './AttentionEntropyPanel'
import { createAnomalyStore, MavAnomalyContext } from './anomalyMarks'
import { MavBranchContext, MavRunScopeContext, useScopeSelector } from './context'
import { GeneratedTextPanel } from './GeneratedTextPanel'
import { type MavRunSourceProps, useRunScopeValue } from './MavRunScope'
import { MlpActivationsPanel } from './MlpActivationsPanel'
import { OutputDistributionPanel } from './OutputDistributionPanel'
import { RunStatus } from './RunStatus'
import { Timeline } from './Timeline'
import { type MavBranchEvent, TopPredictionsPanel } from './TopPredictionsPanel'
import { type MavPanelProps, useMavPanel } from './useMavPanel'

/**
 * The built-in panels named by string, as openmav's `--selected-panels`; `token_confidence` (the
 * generated text tinted by probability) is opt-in.
 */
export type MavPanelName =
  | 'generated_text'
  | 'top_predictions'
  | 'mlp_activations'
  | 'attention_entropy'
  | 'output_distribution'
  | 'token_confidence'

/**
 * An entry of `MAVContainer`'s `panels`: a built-in panel's name; a custom panel component (given
 * `useMavPanel`'s props); or an element rendered as it is, such as `<AttentionHeadsPanel />` or
 * `<LogitLensPanel />` (passed by reference, so an app that never shows them does not bundle them).
 */
export type MavPanelSpec = MavPanelName | ComponentType<MavPanelProps> | ReactElement

/** Every built-in panel, in openmav's default order. */
export const MAV_PANELS: readonly MavPanelName[] = [
  'generated_text',
  'top_predictions',
  'mlp_activations',
  'attention_entropy',
  'output_distribution',
]

/** Props of {@link MAVContainer}. */
export interface MAVContainerProps extends MavRunSourceProps, Omit<HTMLAttributes<HTMLDivElement>, 'children'> {
  /** Which panels, in which order, as openmav's `--selected-panels`; custom components allowed. Default: all five. */
  panels?: readonly MavPanelSpec[]
  /** Grid rows, as openmav's `--num-grid-rows`; columns = ceil(panels / rows). One column on narrow containers. Default 2. */
  rows?: number
  /** Bar scaling of the activation and entropy panels, as openmav's `--scale`. Default `"linear"`. */
  scale?: MavScale
  /** Longest bar in character cells (its track), as openmav's `--max-bar-length`. Default 20. */
  maxBarLength?: number
  /** Characters of generated text shown, as openmav's `--limit-chars`. Default 250. */
  limitChars?: number
  /** Show the timeline above the panels. Default true. */
  timeline?: boolean
  /** Show the activation history heatmaps below the panels. Default true. */
  history?: boolean
  /** Show the run status line. Default true. */
  statusBar?: boolean
  /**
   * Colour theme. `"auto"` follows the page: the `color-scheme` in effect where the container sits (a
   * page with `color-scheme: light dark` follows the system's setting; one that sets none is light).
   * `"light"`/`"dark"` pin one and keep every `--mav-*` colour set on an ancestor. Default `"auto"`.
   */
  theme?: 'auto' | 'light' | 'dark'
  /** "Continue with this token" in the top predictions and logit lens panels (see `TopPredictionsPanel`'s `onBranch`). Default: none. */
  onBranch?: (point: MavBranchEvent) => void
  /**
   * Mark steps worth a look on the timeline and the history heatmaps: the chosen token below a
   * probability the user sets (default 10%) or a jump in output or attention entropy (`findAnomalies`
   * of `@mav/client`); `]`/`[` on the timeline go to the next/previous mark. `true` for the defaults.
   * Default false.
   */
  anomalies?: boolean | MavAnomalyOptions
  /** Rendered after the history, inside the run scope (so `useMavPanel` works there). */
  children?: ReactNode
}

interface CustomPanelHostProps {
  component: ComponentType<MavPanelProps>
  scale: MavScale
  maxBarLength: number
}

const CustomPanelHost = memo(function CustomPanelHost({
  component: Component,
  scale,
  maxBarLength,
}: CustomPanelHostProps) {
  const props = useMavPanel({ scale, maxBarLength })
  return <Component {...props} />
})

const selectStatus = (state: MavRunState) => state.status
const selectLayers = (state: MavRunState) => state.meta?.model.n_layers
const selectTopN = (state: MavRunState) => state.meta?.request.top_n

/** The opt-in panels named by string, beside the default five. */
export const MAV_DETAIL_PANELS: readonly MavPanelName[] = ['token_confidence']
const KNOWN_PANELS: readonly MavPanelName[] = [...MAV_PANELS, ...MAV_DETAIL_PANELS]
const BY_REFERENCE: Record<string, string> = { attention_heads: 'AttentionHeadsPanel', logit_lens: 'LogitLensPanel' }

function panelName(spec: MavPanelSpec, index: number): string {
  if (isValidElement(spec)) return `element-${index}`
  if (typeof spec !== 'string') return `custom-${index}`
  const component = BY_REFERENCE[spec]
  if (component) {
    throw new TypeError(
      `MAVContainer: panels[${index}] is ${JSON.stringify(spec)}; pass the element instead: import { ${component} } from '@mav/react' and put <${component} /> in panels`,
    )
  }
  if (!KNOWN_PANELS.includes(spec as MavPanelName)) {
    throw new TypeError(
      `MAVContainer: panels[${index}] is ${JSON.stringify(spec)}; expected one of ${KNOWN_PANELS.map((name) => `"${name}"`).join(', ')} or a component`,
    )
  }
  return spec
}

/**
 * The whole view: run status, timeline, the selected panels in a responsive grid, and the activation
 * history, all showing the step chosen on the timeline. Give it a live `store` (from `useMavRun`) or a
 * list of recorded `events`.
 *
 * @example
 * const run = useMavRun()
 * <MAVContainer store={run.store} panels={['generated_text', 'top_predictions', WordLengthPanel]} rows={1} />
 * <MAVContainer store={run.store} panels={[...MAV_PANELS, <AttentionHeadsPanel />, <LogitLensPanel />]} />
 */
export const MAVContainer = forwardRef<HTMLDivElement, MAVContainerProps>(function MAVContainer(
  {
    store,
    events,
    updates,
    stepIndex,
    onStepIndexChange,
    panels = MAV_PANELS,
    rows = 2,
    scale = 'linear',
    maxBarLength = 20,
    limitChars = 250,
    timeline = true,
    history = true,
    statusBar = true,
    theme = 'auto',
    onBranch,
    anomalies = false,
    className,
    style,
    children,
    ...rest
  },
  ref,
) {
  const scope = useRunScopeValue({ store, events, updates, stepIndex, onStepIndexChange })
  const anomalyOptions = anomalies === false ? null : anomalies === true ? {} : anomalies
  const optionsKey = anomalyOptions === null ? null : JSON.stringify(anomalyOptions)
  // biome-ignore lint/correctness/useExhaustiveDependencies: the options' content, not their identity
  const anomalyStore = useMemo(
    () => (anomalyOptions === null ? null : createAnomalyStore(anomalyOptions)),
    [optionsKey, scope.store],
  )
  useEffect(() => anomalyStore?.follow(scope.store), [anomalyStore, scope.store])
  const status = useScopeSelector(scope, selectStatus)
  // Known from the run's `meta`, before its first step: the panels keep the height their rows will take
  // (styles.css), so the first token fills them in without moving anything below.
  const layers = useScopeSelector(scope, selectLayers)
  const topN = useScopeSelector(scope, selectTopN)
  const names = panels.map(panelName)
  const rowCount = Math.max(1, Math.floor(rows))
  const columns = Math.max(1, Math.ceil(panels.length / rowCount))

  const render = (spec: MavPanelSpec, index: number) => {
    const key = names[index] as string
    if (isValidElement(spec)) return <Fragment key={key}>{spec}</Fragment>
    switch (spec) {
      case 'generated_text':
        return <GeneratedTextPanel key={key} limitChars={limitChars} />
      case 'top_predictions':
        return <TopPredictionsPanel key={key} onBranch={onBranch} />
      case 'mlp_activations':
        return <MlpActivationsPanel key={key} scale={scale} maxBarLength={maxBarLength} />
      case 'attention_entropy':
        return <AttentionEntropyPanel key={key} scale={scale} maxBarLength={maxBarLength} />
      case 'output_distribution':
        return <OutputDistributionPanel key={key} />
      case 'token_confidence':
        return <GeneratedTextPanel key={key} limitChars={limitChars} confidence title="Token confidence" />
      default:
        return <CustomPanelHost key={key} component={spec} scale={scale} maxBarLength={maxBarLength} />
    }
  }

  return (
    <MavRunScopeContext.Provider value={scope}>
      <MavAnomalyContext.Provider value={anomalyStore}>
        <MavBranchContext.Provider value={onBranch}>
          <div
            ref={ref}
            className={className ? `mav-root mav-container ${className}` : 'mav-root mav-container'}
            data-status={status}
            data-mav-theme={theme === 'auto' ? undefined : theme}
            data-layers={layers}
            data-top-n={topN}
            style={
              {
                ...style,
                '--mav-columns': columns,
                '--mav-rows': rowCount,
                '--mav-layers': layers,
                '--mav-top-n': topN,
              } as CSSProperties
            }
            {...rest}
          >
            {statusBar && <RunStatus />}
            {timeline && <Timeline />}
            <div className="mav-grid" data-columns={columns} data-panels={names.join(' ')}>
              {panels.map(render)}
            </div>
            {history && <ActivationHistory scale={scale} />}
            {children}
          </div>
        </MavBranchContext.Provider>
      </MavAnomalyContext.Provider>
    </MavRunScopeContext.Provider>
  )
})
