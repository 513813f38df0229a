import { applyScaling, type MavScale } from '@mav/client'
import { type CSSProperties, memo, useMemo } from 'react'
import { formatValue } from './format'

interface LayerBarsProps {
  values: readonly number[]
  /** Layer number of `values[0]`: 0 when the first value is the embeddings, 1 for block outputs. */
  firstLayer: number
  scale: MavScale
  maxBarLength: number
  metric: 'activations' | 'attention_entropy'
}

const sign = (value: number) => (value > 0 ? 'positive' : value < 0 ? 'negative' : 'zero')

/**
 * One bar per layer: length from `applyScaling` (in `maxBarLength` units, exposed as
 * `data-bar-length`) on a track `maxBarLength` character cells long, colour by the raw value's sign,
 * the raw value printed.
 */
export const LayerBars = memo(function LayerBars({ values, firstLayer, scale, maxBarLength, metric }: LayerBarsProps) {
  const lengths = useMemo(() => applyScaling(values, scale, maxBarLength), [values, scale, maxBarLength])
  return (
    <ol
      className="mav-bars"
      data-metric={metric}
      data-scale={scale}
      // The track is maxBarLength character cells wide, as openmav pads its bars to that many characters.
      style={{ '--mav-bar-count': values.length, '--mav-bar-cells': maxBarLength } as CSSProperties}
    >
      {values.map((value, index) => {
        const layer = firstLayer + index
        const length = Math.abs(lengths[index] ?? 0)
        const fraction = maxBarLength > 0 ? Math.min(1, length / maxBarLength) : 0
        return (
          <li
            // biome-ignore lint/suspicious/noArrayIndexKey: one row per layer, the layer is the identity
            key={index}
            className="mav-bar-row"
            data-layer={layer}
            data-sign={sign(value)}
            data-bar-length={Number(length.toFixed(4))}
          >
            <span className="mav-bar-label">{layer === 0 ? 'emb' : `L${layer}`}</span>
            <span className="mav-bar-track" aria-hidden="true">
              {/* scaleX, not width: a new token then repaints the bars without a layout pass */}
              <span className="mav-bar" style={{ transform: `scaleX(${Number(fraction.toFixed(4))})` }} />
            </span>
            <span className="mav-bar-value">{formatValue(value)}</span>
          </li>
        )
      })}
    </ol>
  )
})
