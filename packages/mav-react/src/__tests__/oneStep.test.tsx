import { createRunStore, type MavEvent, type MavStepEvent } from '@mav/client'
import { act, fireEvent, render, screen, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { MAV_PANELS, MAVCompare, MAVContainer, type MavPanelProps, Panel, useMavPanel } from '../index'
import { createFrameScheduler, scheduleFrame, setSchedulerFor } from '../scheduler'
import { recordingEvents, stepsOf } from './helpers'

/** One animation frame, then React's work for it. */
async function frame() {
  await new Promise((resolve) => requestAnimationFrame(resolve))
  await act(async () => {})
}

/** Which step each part of a container (default: the page's only one) shows, by what it renders. */
function shownSteps(steps: MavStepEvent[], root: HTMLElement = document.body): Record<string, number> {
  const region = (name: string) => within(root).getByRole('region', { name })
  const bars = (name: string) =>
    Array.from(region(name).querySelectorAll('.mav-bar-value'))
      .map((cell) => cell.textContent)
      .join(' ')
  const indexOf = (matches: (step: MavStepEvent) => boolean) => steps.findIndex(matches)
  const entropy = Number(region('Output distribution').querySelector('[data-entropy]')?.getAttribute('data-entropy'))
  const shown: Record<string, number> = {
    text: Number(root.querySelector('.mav-text-token')?.getAttribute('data-step')),
    predictions: Number(/step (\d+)/.exec(region('Top predictions').textContent ?? '')?.[1]) - 1,
    activations: indexOf((step) => step.activations.map((v) => v.toFixed(2)).join(' ') === bars('MLP activations')),
    entropy: indexOf((step) => step.attention_entropy.map((v) => v.toFixed(2)).join(' ') === bars('Attention entropy')),
    distribution: indexOf((step) => step.distribution.entropy === entropy),
  }
  const timeline = root.querySelector('.mav-timeline-value')
  if (timeline) shown.timeline = Number(timeline.getAttribute('data-step'))
  const history = root.querySelector('.mav-heatmap-cursor')
  if (history) shown.history = Number(history.getAttribute('data-step'))
  return shown
}

/** A store whose frame schedule updates one turn per frame, as on a slow machine. */
function slowStore() {
  const store = createRunStore()
  setSchedulerFor(store, createFrameScheduler(store, scheduleFrame, { perFrame: () => 1, measure: () => {} }))
  return store
}

const distinct = (shown: Record<string, number>) => new Set(Object.values(shown))

function StepPanel({ stepIndex }: MavPanelProps) {
  return (
    <Panel title="Step" panel="step">
      <output>{stepIndex}</output>
    </Panel>
  )
}

/** A cheap custom panel rendered as a child: it asks to update with the timeline. */
function QuickStep() {
  const { stepIndex } = useMavPanel({ priority: 'high' })
  return (
    <Panel title="Quick step" panel="quick-step">
      <output>{stepIndex}</output>
    </Panel>
  )
}

describe('one step everywhere', () => {
  it('a paused or scrubbed view shows one step in every panel, in the same frame', async () => {
    const events = recordingEvents()
    const steps = stepsOf(events)
    const firstStep = events.findIndex((event) => event.type === 'step')
    const store = createRunStore()
    // A slow machine: one turn per frame, so panels in later turns trail the timeline while streaming.
    setSchedulerFor(store, createFrameScheduler(store, scheduleFrame, { perFrame: () => 1, measure: () => {} }))
    act(() => {
      store.reset('connecting')
      for (const event of events.slice(0, firstStep)) store.dispatch(event)
    })
    render(<MAVContainer store={store} />)
    for (const step of steps.slice(0, 14)) {
      act(() => store.dispatch(step))
      await frame()
    }
    const streaming = shownSteps(steps)
    expect(distinct(streaming).size).toBeGreaterThan(1)

    // Pause (Space on the slider) where the timeline is: every panel shows that step right away.
    const slider = screen.getByRole('slider', { name: 'Step' })
    act(() => fireEvent.keyDown(slider, { key: ' ' }))
    const paused = shownSteps(steps)
    expect(distinct(paused)).toEqual(new Set([streaming.timeline]))
    // The run goes on behind a paused view: nothing moves.
    for (const step of steps.slice(14, 20)) {
      act(() => store.dispatch(step))
      await frame()
    }
    expect(shownSteps(steps)).toEqual(paused)
    // A scrub to a step the trailing turns have not taken yet.
    act(() => fireEvent.keyDown(slider, { key: 'PageUp' }))
    const scrubbed = shownSteps(steps)
    expect(distinct(scrubbed).size).toBe(1)
    expect(scrubbed.timeline).toBeGreaterThan(paused.timeline as number)
    act(() => fireEvent.keyDown(slider, { key: 'Home' }))
    expect(distinct(shownSteps(steps))).toEqual(new Set([0]))
  }, 30_000)

  it('keeps a paused step when `events` is a new array with the same content', () => {
    const total = stepsOf(recordingEvents()).length
    // Each call parses the recording again: new objects, the same content, as an inline parseRecording.
    const { rerender } = render(<MAVContainer events={recordingEvents()} />)
    const slider = screen.getByRole('slider', { name: 'Step' })
    act(() => fireEvent.keyDown(slider, { key: 'Home' }))
    expect(slider.getAttribute('aria-valuenow')).toBe('1')
    rerender(<MAVContainer events={recordingEvents()} />)
    expect(slider.getAttribute('aria-valuenow')).toBe('1')
    expect(slider.getAttribute('data-state')).toBe('paused')
    // Other events are another run: back to following it.
    const shorter = recordingEvents().slice(0, -5) as MavEvent[]
    rerender(<MAVContainer events={shorter} />)
    expect(slider.getAttribute('data-state')).toBe('live')
    expect(Number(slider.getAttribute('aria-valuenow'))).toBeLessThan(total)
  })

  it('gives a custom panel the priority it asks for', async () => {
    const events = recordingEvents()
    const steps = stepsOf(events)
    const firstStep = events.findIndex((event) => event.type === 'step')
    const store = createRunStore()
    setSchedulerFor(store, createFrameScheduler(store, scheduleFrame, { perFrame: () => 1, measure: () => {} }))
    act(() => {
      store.reset('connecting')
      for (const event of events.slice(0, firstStep + 1)) store.dispatch(event)
    })
    render(
      <MAVContainer store={store} panels={['top_predictions', StepPanel]} history={false}>
        <QuickStep />
      </MAVContainer>,
    )
    const shown = (name: string) => screen.getByRole('region', { name }).querySelector('output')?.textContent
    await frame()
    await frame()
    await frame()
    // With one turn per frame: after one new step and one frame, the first turn (the timeline's, and
    // the "high" panel's) shows it; a "normal" panel (the default) has a turn of its own, later.
    act(() => store.dispatch(steps[1] as MavStepEvent))
    await frame()
    expect(document.querySelector('.mav-timeline-value')?.getAttribute('data-step')).toBe('1')
    expect(shown('Quick step')).toBe('1')
    expect(shown('Step')).toBe('0')
    await frame()
    await frame()
    expect(shown('Step')).toBe('1')
  }, 15_000)

  it('tinted tokens take a turn of their own; the plain text moves with the timeline', async () => {
    const events = recordingEvents()
    const steps = stepsOf(events)
    const firstStep = events.findIndex((event) => event.type === 'step')
    const store = slowStore()
    act(() => {
      store.reset('connecting')
      for (const event of events.slice(0, firstStep + 1)) store.dispatch(event)
    })
    render(<MAVContainer store={store} panels={['generated_text', 'token_confidence']} history={false} />)
    for (let i = 0; i < 3; i++) await frame()
    const tinted = () =>
      screen
        .getByRole('region', { name: 'Token confidence' })
        .querySelector('[data-current]')
        ?.getAttribute('data-step')
    const plain = () => screen.getByRole('region', { name: 'Generated text' }).querySelector('.mav-text-token')
    expect(tinted()).toBe('0')

    act(() => store.dispatch(steps[1] as MavStepEvent))
    await frame()
    expect(document.querySelector('.mav-timeline-value')?.getAttribute('data-step')).toBe('1')
    expect(plain()?.getAttribute('data-step')).toBe('1')
    expect(tinted()).toBe('0')
    await frame()
    expect(tinted()).toBe('1')
    // Paused, both show the timeline's step in the same frame.
    act(() => store.dispatch(steps[2] as MavStepEvent))
    await frame()
    act(() => fireEvent.keyDown(screen.getByRole('slider', { name: 'Step' }), { key: ' ' }))
    expect(plain()?.getAttribute('data-step')).toBe('2')
    expect(tinted()).toBe('2')
  }, 15_000)

  it('a run that fails before its first step says so in every panel, in the next frame', async () => {
    const store = slowStore()
    act(() => store.reset('connecting'))
    render(<MAVContainer store={store} />)
    for (let i = 0; i < 8; i++) await frame()
    act(() => store.fail(new Error('the server went away')))
    await frame()
    for (const name of ['Top predictions', 'MLP activations', 'Attention entropy', 'Output distribution']) {
      expect(screen.getByRole('region', { name }).textContent).toMatch(/Run failed: the server went away/)
    }
  }, 30_000)

  it('a paused or scrubbed comparison shows one step in every panel of every run, in the same frame', async () => {
    const events = recordingEvents()
    // Another run of the same length: its steps tell its column's panels apart from the first run's.
    const other = events.map((event) =>
      event.type === 'step' ? { ...event, activations: event.activations.map((v) => v * 1.5) } : event,
    )
    const runs = [
      { store: slowStore(), steps: stepsOf(events), label: 'A' },
      { store: slowStore(), steps: stepsOf(other), label: 'B' },
    ]
    const feed = (from: number, to: number) =>
      act(() => {
        for (let i = from; i < to; i++) {
          runs[0]?.store.dispatch(events[i] as MavEvent)
          runs[1]?.store.dispatch(other[i] as MavEvent)
        }
      })
    act(() => {
      for (const run of runs) run.store.reset('connecting')
    })
    const { container } = render(
      <MAVCompare runs={runs.map(({ store, label }) => ({ store, label }))} panels={MAV_PANELS} />,
    )
    for (let i = 0; i < 10; i++) {
      feed(i, i + 1)
      await frame()
    }
    const shown = () => runs.map(({ steps, label }) => shownSteps(steps, screen.getByRole('region', { name: label })))
    const diffStep = () =>
      Number(container.querySelector('.mav-compare-table tr[aria-current="step"]')?.getAttribute('data-step'))
    expect(distinct(shown()[0] as Record<string, number>).size).toBeGreaterThan(1)

    const slider = screen.getByRole('slider', { name: 'Step of every run' })
    act(() => fireEvent.change(slider, { target: { value: '4' } }))
    for (const steps of shown()) expect(distinct(steps)).toEqual(new Set([3]))
    expect(diffStep()).toBe(3)
    // The runs go on behind the paused view: nothing moves.
    for (let i = 10; i < 14; i++) {
      feed(i, i + 1)
      await frame()
    }
    for (const steps of shown()) expect(distinct(steps)).toEqual(new Set([3]))
    // A scrub to the newest step, which the trailing turns have not taken yet.
    const newest = stepsOf(events.slice(0, 14)).length - 1
    act(() => fireEvent.change(slider, { target: { value: String(newest + 1) } }))
    for (const steps of shown()) expect(distinct(steps)).toEqual(new Set([newest]))
    expect(diffStep()).toBe(newest)
  }, 30_000)
})
