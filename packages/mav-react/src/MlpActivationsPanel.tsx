import type { MavScale, MavStepEvent } from '@mav/client'
import { forwardRef, type HTMLAttributes } from 'react'
import { LayerBars } from './LayerBars'
import { Panel } from './Panel'
import { usePanelSource } from './usePanelSource'

/** Props of {@link MlpActivationsPanel}. */
export interface MlpActivationsPanelProps extends Omit<HTMLAttributes<HTMLElement>, 'title'> {
  /** The step to show, for use outside `MAVContainer`. Default: the container's selected step. */
  step?: MavStepEvent | null
  /** How bar lengths are derived, as openmav's `--scale`. Default `"linear"`. */
  scale?: MavScale
  /** Length of the longest bar in `applyScaling` units, as openmav's `--max-bar-length`. Default 20. */
  maxBarLength?: number
  /** Heading and accessible name. Default `"MLP activations"`. */
  title?: string
}

/**
 * One bar per layer, embeddings (`emb`, `data-layer="0"`) then every block (`L1`..): the step's
 * per-layer activation with the run's aggregation, coloured by sign, raw value printed.
 */
export const MlpActivationsPanel = forwardRef<HTMLElement, MlpActivationsPanelProps>(function MlpActivationsPanel(
  { step: stepProp, scale = 'linear', maxBarLength = 20, title = 'MLP activations', ...rest },
  ref,
) {
  const source = usePanelSource('MlpActivationsPanel', stepProp)
  return (
    <Panel
      ref={ref}
      title={title}
      panel="mlp_activations"
      state={source.state}
      message={source.message}
      aside={<span className="mav-muted">{scale}</span>}
      {...rest}
    >
      {source.step && (
        <LayerBars
          values={source.step.activations}
          firstLayer={0}
          scale={scale}
          maxBarLength={maxBarLength}
          metric="activations"
        />
      )}
    </Panel>
  )
})
