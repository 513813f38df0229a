import type { MavStepEvent } from '@mav/client'
import { render, screen, within } from '@testing-library/react'
import { Profiler, type ProfilerOnRenderCallback } from 'react'
import { describe, expect, it, vi } from 'vitest'
import {
  AttentionEntropyPanel,
  GeneratedTextPanel,
  MAVContainer,
  type MavPanelProps,
  MavRunScope,
  MlpActivationsPanel,
  OutputDistributionPanel,
  Panel,
  TopPredictionsPanel,
  useMavPanel,
} from '../index'
import { FakeUPlot } from './fakeUPlot'
import { dispatch, recordingEvents, stepsOf, storeWith } from './helpers'

const TITLES = ['Generated text', 'Top predictions', 'MLP activations', 'Attention entropy', 'Output distribution']
const regionNames = () =>
  screen
    .getAllByRole('region')
    .map((region) => region.getAttribute('aria-labelledby'))
    .map((id) => document.getElementById(id as string)?.textContent)

const seen: MavPanelProps[] = []
function LastWordPanel(props: MavPanelProps) {
  seen.push(props)
  return (
    <Panel title="Last word" state={props.step ? 'ready' : 'empty'} message="Nothing yet">
      <output>{props.text.trim().split(/\s+/).at(-1)}</output>
    </Panel>
  )
}

const probe = { text: '' }
function Probe() {
  probe.text = useMavPanel().text
  return null
}

describe('MAVContainer', () => {
  it('shows the five panels as named regions, plus the history, for a list of events', () => {
    const events = recordingEvents()
    const { container } = render(<MAVContainer events={events} />)
    for (const title of TITLES) {
      expect(screen.getByRole('region', { name: title }).getAttribute('data-state')).toBe('ready')
    }
    expect(regionNames()).toEqual([...TITLES, 'Activation history'])
    const root = container.firstElementChild as HTMLElement
    expect(root.dataset.status).toBe('done')
    expect(root.style.getPropertyValue('--mav-columns')).toBe('3')
    // 30 blocks + embeddings, newest step.
    const rows = screen.getByRole('region', { name: 'MLP activations' }).querySelectorAll('[data-layer]')
    expect(rows).toHaveLength(31)
    expect(screen.getByRole('slider', { name: 'Step' }).getAttribute('aria-valuenow')).toBe(
      String(stepsOf(events).length),
    )
  })

  it('shows the selected panels in the given order, in `rows` rows', () => {
    const { container } = render(
      <MAVContainer
        events={recordingEvents()}
        panels={['output_distribution', 'generated_text']}
        rows={1}
        history={false}
        timeline={false}
      />,
    )
    expect(regionNames()).toEqual(['Output distribution', 'Generated text'])
    const root = container.firstElementChild as HTMLElement
    expect(root.style.getPropertyValue('--mav-columns')).toBe('2')
    expect(screen.queryByRole('slider')).toBeNull()
  })

  it('names the wrong panel and the right ones', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    // @ts-expect-error: not a panel name
    expect(() => render(<MAVContainer panels={['mlp']} />)).toThrow(
      'MAVContainer: panels[0] is "mlp"; expected one of "generated_text", "top_predictions", "mlp_activations", "attention_entropy", "output_distribution", "token_confidence" or a component',
    )
    // @ts-expect-error: the detail panels are passed by reference
    expect(() => render(<MAVContainer panels={['generated_text', 'attention_heads']} />)).toThrow(
      `MAVContainer: panels[1] is "attention_heads"; pass the element instead: import { AttentionHeadsPanel } from '@mav/react' and put <AttentionHeadsPanel /> in panels`,
    )
    vi.mocked(console.error).mockRestore()
  })

  it('renders custom panels with the same step props, like openmav external panels', () => {
    seen.length = 0
    const events = recordingEvents()
    const steps = stepsOf(events)
    render(<MAVContainer events={events} panels={['top_predictions', LastWordPanel]} scale="log" maxBarLength={12} />)
    const region = screen.getByRole('region', { name: 'Last word' })
    const lastWord = steps
      .map((step) => step.text_delta)
      .join('')
      .trim()
      .split(/\s+/)
      .at(-1) as string
    expect(region.querySelector('output')?.textContent).toBe(lastWord)
    const props = seen.at(-1) as MavPanelProps
    expect(props.step).toBe(steps.at(-1))
    expect(props.stepIndex).toBe(steps.length - 1)
    expect(props.meta?.model.n_layers).toBe(30)
    expect(props.status).toBe('done')
    expect(props.scale).toBe('log')
    expect(props.maxBarLength).toBe(12)
    expect(props.text).toBe(steps.map((step) => step.text_delta).join(''))
  })

  it('shows status, the error and empty panels for a failed run', () => {
    render(
      <MAVContainer
        events={[{ type: 'error', code: 'model_not_found', message: 'No model "gpt-5"', retryable: false }]}
      />,
    )
    expect(screen.getByRole('alert').textContent).toContain('No model "gpt-5"')
    for (const title of TITLES) {
      expect(screen.getByRole('region', { name: title }).getAttribute('data-state')).toBe('error')
    }
  })

  it('shows empty states without a run', () => {
    render(<MAVContainer />)
    for (const title of TITLES) {
      const region = screen.getByRole('region', { name: title })
      expect(region.getAttribute('data-state')).toBe('empty')
      expect(region.textContent).not.toBe(title)
    }
  })
})

describe('re-rendering', () => {
  it('does not re-render panels whose step did not change, and updates the chart without re-creating it', () => {
    const events = recordingEvents()
    const steps = stepsOf(events)
    const firstStep = events.findIndex((event) => event.type === 'step')
    const store = storeWith(events.slice(0, firstStep + 10))
    const renders: Record<string, number> = {}
    const onRender: ProfilerOnRenderCallback = (id) => {
      renders[id] = (renders[id] ?? 0) + 1
    }
    render(
      <MavRunScope store={store} updates="sync" stepIndex={3}>
        <Profiler id="text" onRender={onRender}>
          <GeneratedTextPanel />
        </Profiler>
        <Profiler id="predictions" onRender={onRender}>
          <TopPredictionsPanel />
        </Profiler>
        <Profiler id="activations" onRender={onRender}>
          <MlpActivationsPanel />
        </Profiler>
        <Profiler id="entropy" onRender={onRender}>
          <AttentionEntropyPanel />
        </Profiler>
        <Profiler id="distribution" onRender={onRender}>
          <OutputDistributionPanel />
        </Profiler>
        <Probe />
      </MavRunScope>,
    )
    const before = { ...renders }
    dispatch(store, ...(steps.slice(10, 30) as MavStepEvent[]))
    expect(renders).toEqual(before)
    expect(probe.text).toBe(
      steps
        .slice(0, 4)
        .map((step) => step.text_delta)
        .join(''),
    )
    expect(FakeUPlot.instances).toHaveLength(1)
    expect(FakeUPlot.instances[0]?.setData).not.toHaveBeenCalled()
  })

  it('batches store changes to one render per animation frame', async () => {
    const events = recordingEvents()
    const steps = stepsOf(events)
    const store = storeWith(events.slice(0, 3))
    let renders = 0
    render(
      <MavRunScope store={store}>
        <Profiler id="p" onRender={() => renders++}>
          <TopPredictionsPanel />
        </Profiler>
      </MavRunScope>,
    )
    const start = renders
    for (const step of steps.slice(1, 40)) store.dispatch(step)
    const region = screen.getByRole('region', { name: 'Top predictions' })
    await vi.waitFor(() =>
      expect(region.querySelector('[data-chosen]')?.getAttribute('data-token-id')).toBe(String(steps[39]?.token.id)),
    )
    expect(renders - start).toBeLessThanOrEqual(2)
    expect(within(region).getAllByRole('row').length).toBe(21)
  })
})
