import { binDistribution, type MavDistributionBin, type MavStepEvent } from '@mav/client'
import { forwardRef, type HTMLAttributes, useEffect, useMemo, useRef } from 'react'
import uPlot from 'uplot'
import { formatPercent, formatValue } from './format'
import { Panel } from './Panel'
import { usePanelSource } from './usePanelSource'
import { watchColor } from './watchColor'

/** Props of {@link OutputDistributionPanel}. */
export interface OutputDistributionPanelProps extends Omit<HTMLAttributes<HTMLElement>, 'title'> {
  /** The step to show, for use outside `MAVContainer`. Default: the container's selected step. */
  step?: MavStepEvent | null
  /** Number of bins of the top-100 probabilities. Default 20, as openmav. */
  bins?: number
  /** Chart height in CSS pixels. Default 160. */
  chartHeight?: number
  /** Heading and accessible name. Default `"Output distribution"`. */
  title?: string
}

/** Bins highest first, as openmav draws them. */
function highestFirst(step: MavStepEvent | null, bins: number): MavDistributionBin[] {
  return step ? binDistribution(step.distribution.top_probs, bins).reverse() : []
}

/** The bar colour: the host's `color`, which the stylesheet sets to `--mav-chart-bar`, resolved. */
const readBarColor = (host: Element) => getComputedStyle(host).color || '#0072b2'

interface DistributionChartProps {
  bins: MavDistributionBin[]
  height: number
}

/** Top of the y scale for bins whose largest sum is `max`. */
const yTop = (max: number) => Math.max(max, 1e-6) * 1.05

/**
 * The uPlot bar chart: created once per mount, `setData` on every new step, `setSize` on resize,
 * destroyed on unmount. uPlot draws only the bars; the axis labels are HTML beside it, because drawing
 * axis text on the canvas for every token costs more than everything else in the panel together.
 */
function DistributionChart({ bins, height }: DistributionChartProps) {
  const hostRef = useRef<HTMLDivElement>(null)
  const chartRef = useRef<uPlot | null>(null)
  const binsRef = useRef(bins)
  const lastData = useRef<MavDistributionBin[] | null>(null)
  binsRef.current = bins
  const count = bins.length

  useEffect(() => {
    const host = hostRef.current
    if (host === null) return
    let chart: uPlot | null = null
    let bar = ''
    const create = (width: number) => {
      bar = readBarColor(host)
      const options: uPlot.Options = {
        width: Math.max(60, width),
        height,
        legend: { show: false },
        cursor: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        padding: [4, 0, 0, 0],
        scales: {
          x: { time: false, range: [-0.5, count - 0.5] },
          y: { range: (_u, _min, max) => [0, yTop(max)] },
        },
        axes: [{ show: false }, { show: false }],
        series: [
          {},
          {
            label: 'Probability mass',
            fill: () => bar,
            stroke: () => bar,
            width: 0,
            points: { show: false },
            paths: uPlot.paths.bars?.({ size: [0.8, 64] }),
          },
        ],
      }
      const bins = binsRef.current
      chart = new uPlot(options, [bins.map((_, i) => i), bins.map((bin) => bin.sum)], host)
      chartRef.current = chart
      lastData.current = bins
    }
    let observer: ResizeObserver | undefined
    if (typeof ResizeObserver === 'function') {
      // The chart is made in the first report, after layout: reading the host's width or the theme's
      // colours before it would force a layout and style pass of the whole container in its first frame.
      observer = new ResizeObserver((entries) => {
        const width = Math.round(entries[0]?.contentRect.width ?? 0)
        if (width <= 0) return
        if (chart === null) create(width)
        else if (width !== chart.width) chart.setSize({ width, height })
      })
      observer.observe(host)
    } else {
      create(host.clientWidth || 280)
    }
    const unwatch = watchColor(host, () => {
      if (chart === null) return
      bar = readBarColor(host)
      // The bars' paths hold the colour they were built with: rebuild them.
      chart.redraw(true)
    })
    return () => {
      unwatch()
      observer?.disconnect()
      chart?.destroy()
      chartRef.current = null
      lastData.current = null
    }
  }, [count, height])

  useEffect(() => {
    const chart = chartRef.current
    // Before the chart exists, the constructor takes the newest bins.
    if (chart === null || lastData.current === bins) return
    lastData.current = bins
    chart.setData([bins.map((_, i) => i), bins.map((bin) => bin.sum)], true)
  }, [bins])

  const top = yTop(Math.max(0, ...bins.map((bin) => bin.sum)))
  const first = bins[0]
  const middle = bins[Math.floor(bins.length / 2)]
  const last = bins.at(-1)
  return (
    <div className="mav-chart-frame" aria-hidden="true">
      <div className="mav-chart-y">
        <span>{formatPercent(top).replace(/\.\d+%$/, '%')}</span>
        <span>0%</span>
      </div>
      <div ref={hostRef} className="mav-chart" style={{ height }} />
      <div className="mav-chart-x">
        <span>{first?.label.toFixed(4)}</span>
        <span>{middle?.label.toFixed(4)}</span>
        <span>{last?.label.toFixed(4)}</span>
      </div>
    </div>
  )
}

/**
 * openmav's output distribution: the step's top-100 probabilities cut into `bins` bins (highest first)
 * as a uPlot bar chart, plus the entropy over the full vocabulary. The bins are also listed in a
 * visually hidden table for screen readers.
 */
export const OutputDistributionPanel = forwardRef<HTMLElement, OutputDistributionPanelProps>(
  function OutputDistributionPanel(
    { step: stepProp, bins: binCount = 20, chartHeight = 160, title = 'Output distribution', ...rest },
    ref,
  ) {
    const source = usePanelSource('OutputDistributionPanel', stepProp)
    const step = source.step
    const bins = useMemo(() => highestFirst(step, binCount), [step, binCount])
    const mass = step ? step.distribution.top_probs.reduce((sum, p) => sum + p, 0) : 0
    return (
      <Panel
        ref={ref}
        title={title}
        panel="output_distribution"
        state={source.state}
        message={source.message}
        aside={
          step ? (
            <span className="mav-muted" data-entropy={step.distribution.entropy}>
              entropy {formatValue(step.distribution.entropy, 3)} nats
            </span>
          ) : undefined
        }
        {...rest}
      >
        {step && (
          <>
            <DistributionChart bins={bins} height={chartHeight} />
            <p className="mav-distribution-summary">
              Entropy <strong>{formatValue(step.distribution.entropy, 3)}</strong> nats · top-
              {step.distribution.top_probs.length} mass {formatPercent(mass)} · {bins.length} bins, highest first
            </p>
            <table className="mav-sr-only">
              <caption>Probability mass per bin, highest first</caption>
              <thead>
                <tr>
                  <th scope="col">Bin (largest probability)</th>
                  <th scope="col">Mass</th>
                </tr>
              </thead>
              <tbody>
                {bins.map((bin, index) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: bins are positional
                  <tr key={index} data-bin={index} data-sum={bin.sum}>
                    <td>{bin.label.toFixed(4)}</td>
                    <td>{formatPercent(bin.sum)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </Panel>
    )
  },
)
