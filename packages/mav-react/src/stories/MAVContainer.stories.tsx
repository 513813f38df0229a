import { createRunStore, type MavEvent, type MavStepEvent } from '@mav/client'
import type { Meta, StoryObj } from '@storybook/react-vite'
import { useEffect, useState } from 'react'
import { AttentionHeadsPanel, LogitLensPanel, MAVContainer, type MAVContainerProps, useMavRun } from '../index'
import { ConfidencePanel } from './ConfidencePanel'
import { detailRecording, failedRun, loadingStore, longRun, recording, refusedRun } from './data'

const meta = {
  title: 'MAVContainer',
  component: MAVContainer,
  args: { events: recording, rows: 2, scale: 'linear', maxBarLength: 20, limitChars: 250 },
  argTypes: {
    scale: { control: 'inline-radio', options: ['linear', 'log', 'minmax'] },
    rows: { control: { type: 'number', min: 1, max: 5 } },
    events: { control: false },
    store: { control: false },
    panels: { control: false },
  },
} satisfies Meta<typeof MAVContainer>
export default meta
type Story = StoryObj<typeof meta>

/** The whole recorded run; the timeline chooses the step every panel shows. */
export const Recording: Story = {}

/** A real run with detail on: the opt-in panels, and anomaly marks on the timeline and heatmaps. */
export const DeeperViews: Story = {
  args: {
    events: detailRecording,
    anomalies: true,
    panels: ['token_confidence', <AttentionHeadsPanel key="heads" />, <LogitLensPanel key="lens" />, 'top_predictions'],
  },
}

/** Anomaly marks over the longer demo run (`]`/`[` on the timeline jump between them). */
export const AnomalyMarks: Story = { args: { anomalies: { lowProbability: 0.3 } } }

type ReplayProps = MAVContainerProps & { speed: number }

function ReplayOnce({ speed, events, ...props }: ReplayProps) {
  const run = useMavRun()
  useEffect(() => {
    void run.replay(events ?? recording, { speed })
    return () => run.stop()
  }, [run.replay, run.stop, events, speed])
  return (
    <div>
      <p>
        <button type="button" className="mav-button" onClick={run.stop}>
          Stop
        </button>
      </p>
      <MAVContainer {...props} store={run.store} />
    </div>
  )
}

/** The run replayed with its recorded timing: panels follow live until you move the timeline. */
function LiveReplay(props: ReplayProps) {
  const [round, setRound] = useState(0)
  return (
    <div>
      <button type="button" className="mav-button" onClick={() => setRound((n) => n + 1)}>
        Replay
      </button>
      <ReplayOnce key={round} {...props} />
    </div>
  )
}

export const Live: StoryObj<ReplayProps> = {
  args: { speed: 1 },
  render: (args) => <LiveReplay {...args} />,
}

/** openmav's `--selected-panels` and `--num-grid-rows`: two panels in one row. */
export const SelectedPanels: Story = {
  args: { panels: ['top_predictions', 'output_distribution'], rows: 1, history: false },
}

/** A custom panel (see `ConfidencePanel.tsx`) beside built-in ones. */
export const CustomPanel: Story = {
  args: { panels: ['generated_text', 'top_predictions', ConfidencePanel], rows: 1 },
}

export const LogScale: Story = { args: { scale: 'log', maxBarLength: 12 } }

export const Dark: Story = { args: { theme: 'dark' } }

export const Loading: Story = {
  args: { events: undefined },
  render: (args) => <MAVContainer {...args} store={loadingStore()} />,
}

export const Empty: Story = { args: { events: undefined } }

/** A run refused before the first token. */
export const ErrorBeforeStart: Story = { args: { events: refusedRun } }

/** A run that failed after 12 tokens: the data stays, the error is announced. */
export const ErrorMidRun: Story = { args: { events: failedRun } }

/** 2,000 steps of a 30-layer model replayed as fast as possible. */
export const LongRun: StoryObj<ReplayProps> = {
  args: { speed: Number.POSITIVE_INFINITY },
  render: (args) => <LiveReplay {...args} events={longRun()} />,
}

type StressProps = MAVContainerProps & { stepsPerFrame: number }

/** Feeds a 2,000-step run straight into a store, `stepsPerFrame` per animation frame, and reports frame times. */
function StressRun({ stepsPerFrame, ...props }: StressProps) {
  const [store] = useState(createRunStore)
  const [stats, setStats] = useState('running…')
  useEffect(() => {
    const events = longRun()
    const steps = events.filter((event): event is MavStepEvent => event.type === 'step')
    store.reset('connecting')
    store.dispatch(events[0] as MavEvent)
    const frames: number[] = []
    let sent = 0
    let handle = 0
    const frame = (time: number) => {
      frames.push(time)
      for (let k = 0; k < stepsPerFrame && sent < steps.length; k++) store.dispatch(steps[sent++] as MavStepEvent)
      if (sent < steps.length) {
        handle = requestAnimationFrame(frame)
        return
      }
      store.dispatch(events.at(-1) as MavEvent)
      const deltas = frames
        .slice(1)
        .map((t, i) => t - (frames[i] as number))
        .sort((a, b) => a - b)
      const at = (q: number) => (deltas[Math.min(deltas.length - 1, Math.floor(deltas.length * q))] ?? 0).toFixed(1)
      setStats(`${deltas.length} frames: median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms`)
    }
    handle = requestAnimationFrame(frame)
    return () => cancelAnimationFrame(handle)
  }, [store, stepsPerFrame])
  return (
    <div>
      <output data-testid="frame-stats">{stats}</output>
      <MAVContainer {...props} store={store} />
    </div>
  )
}

/** 2,000 steps x 30 layers arriving `stepsPerFrame` per frame; the line above reports the frame times. */
export const StressTest: StoryObj<StressProps> = {
  args: { stepsPerFrame: 10 },
  render: (args) => <StressRun {...args} />,
}
