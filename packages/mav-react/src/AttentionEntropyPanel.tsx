import type { MavScale, MavStepEvent } from '@mav/client'
import { forwardRef, type HTMLAttributes } from 'react'
import { LayerBars } from './LayerBars'
import { Panel } from './Panel'
import { usePanelSource } from './usePanelSource'

/** Props of {@link AttentionEntropyPanel}. */
export interface AttentionEntropyPanelProps extends Omit<HTMLAttributes<HTMLElement>, 'title'> {
  /** The step to show, for use outside `MAVContainer`. Default: the container's selected step. */
  step?: MavStepEvent | null
  /** How bar lengths are derived, as openmav's `--scale`. Default `"linear"`. */
  scale?: MavScale
  /** Length of the longest bar in `applyScaling` units, as openmav's `--max-bar-length`. Default 20. */
  maxBarLength?: number
  /** Heading and accessible name. Default `"Attention entropy"`. */
  title?: string
}

/**
 * One bar per block (`L1`.., `data-layer` = block number): the entropy in nats of the newest token's
 * attention row, mean over heads, raw value printed.
 */
export const AttentionEntropyPanel = forwardRef<HTMLElement, AttentionEntropyPanelProps>(function AttentionEntropyPanel(
  { step: stepProp, scale = 'linear', maxBarLength = 20, title = 'Attention entropy', ...rest },
  ref,
) {
  const source = usePanelSource('AttentionEntropyPanel', stepProp)
  return (
    <Panel
      ref={ref}
      title={title}
      panel="attention_entropy"
      state={source.state}
      message={source.message}
      aside={<span className="mav-muted">{scale}, nats</span>}
      {...rest}
    >
      {source.step && (
        <LayerBars
          values={source.step.attention_entropy}
          firstLayer={1}
          scale={scale}
          maxBarLength={maxBarLength}
          metric="attention_entropy"
        />
      )}
    </Panel>
  )
})
