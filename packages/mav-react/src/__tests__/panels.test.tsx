import { applyScaling, binDistribution, createRunStore } from '@mav/client'
import { render, screen, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import {
  AttentionEntropyPanel,
  GeneratedTextPanel,
  MavRunScope,
  MlpActivationsPanel,
  OutputDistributionPanel,
  RunStatus,
  TopPredictionsPanel,
} from '../index'
import { FakeUPlot } from './fakeUPlot'
import { dispatch, makeStep, recordingEvents, stepsOf, storeWith } from './helpers'

const rowsOf = (region: HTMLElement) => Array.from(region.querySelectorAll<HTMLElement>('[data-layer]'))
const barScale = (row: HTMLElement) => (row.querySelector('.mav-bar') as HTMLElement).style.transform

describe('TopPredictionsPanel', () => {
  it('shows tokens with visible whitespace, probabilities in percent, logits, and marks the chosen token', () => {
    render(<TopPredictionsPanel step={makeStep()} />)
    const region = screen.getByRole('region', { name: 'Top predictions' })
    const rows = within(region).getAllByRole('row').slice(1)
    expect(
      rows.map((row) =>
        within(row)
          .getAllByRole('cell')
          .map((cell) => cell.textContent),
      ),
    ).toEqual([
      ['1', '␣world✓ chosen', '50.00%', '12.50'],
      ['2', '↵', '25.00%', '11.81'],
      ['3', '␣the', '12.50%', '11.12'],
    ])
    expect(rows[0]?.dataset.chosen).toBe('true')
    expect(rows[1]?.dataset.chosen).toBeUndefined()
    expect(region.dataset.state).toBe('ready')
  })

  it('limits the rows', () => {
    render(<TopPredictionsPanel step={makeStep()} limit={2} />)
    expect(within(screen.getByRole('region', { name: 'Top predictions' })).getAllByRole('row')).toHaveLength(3)
  })
})

describe('MlpActivationsPanel', () => {
  it.each(['linear', 'log', 'minmax'] as const)('sizes bars with applyScaling(%s)', (scale) => {
    const step = makeStep()
    render(<MlpActivationsPanel step={step} scale={scale} maxBarLength={10} />)
    const rows = rowsOf(screen.getByRole('region', { name: 'MLP activations' }))
    const expected = applyScaling(step.activations, scale, 10).map((length) => Math.abs(length))
    expect(rows.map((row) => Number(row.dataset.barLength))).toEqual(expected.map((v) => Number(v.toFixed(4))))
    // A bar never outgrows its track (linear keeps openmav's signed maximum, so |-8| > 4 would).
    expect(rows.map(barScale)).toEqual(expected.map((v) => `scaleX(${Number(Math.min(1, v / 10).toFixed(4))})`))
  })

  it('labels embeddings then blocks, prints raw values and colours by sign', () => {
    render(<MlpActivationsPanel step={makeStep()} />)
    const rows = rowsOf(screen.getByRole('region', { name: 'MLP activations' }))
    expect(rows.map((row) => row.dataset.layer)).toEqual(['0', '1', '2', '3'])
    expect(rows.map((row) => row.textContent)).toEqual(['emb1.00', 'L1-2.00', 'L24.00', 'L3-8.00'])
    expect(rows.map((row) => row.dataset.sign)).toEqual(['positive', 'negative', 'positive', 'negative'])
  })
})

describe('AttentionEntropyPanel', () => {
  it('shows one bar per block, numbered from 1, with raw values', () => {
    const step = makeStep()
    render(<AttentionEntropyPanel step={step} scale="log" maxBarLength={20} />)
    const rows = rowsOf(screen.getByRole('region', { name: 'Attention entropy' }))
    expect(rows.map((row) => row.dataset.layer)).toEqual(['1', '2', '3'])
    expect(rows.map((row) => row.querySelector('.mav-bar-value')?.textContent)).toEqual(['0.50', '1.00', '2.00'])
    const expected = applyScaling(step.attention_entropy, 'log', 20)
    expect(rows.map((row) => Number(row.dataset.barLength))).toEqual(expected.map((v) => Number(v.toFixed(4))))
  })
})

describe('GeneratedTextPanel', () => {
  it('shows the text up to the selected step with the newest token highlighted', () => {
    const events = recordingEvents()
    render(
      <MavRunScope events={events} updates="sync">
        <GeneratedTextPanel limitChars={40} />
      </MavRunScope>,
    )
    const region = screen.getByRole('region', { name: 'Generated text' })
    const steps = stepsOf(events)
    const text = steps.map((step) => step.text_delta).join('')
    const last = steps.at(-1)?.text_delta as string
    const paragraph = region.querySelector('.mav-text') as HTMLElement
    expect(paragraph.textContent).toBe(`…${text.slice(-40)}`)
    expect(region.querySelector('mark')?.textContent).toBe(last)
    expect(paragraph.dataset.truncated).toBe('true')
  })

  it('shows the prompt, dimmed, before the generated text when there is room', () => {
    const events = recordingEvents()
    const firstStep = events.findIndex((event) => event.type === 'step')
    render(
      <MavRunScope events={events.slice(0, firstStep + 2)} updates="sync">
        <GeneratedTextPanel />
      </MavRunScope>,
    )
    const region = screen.getByRole('region', { name: 'Generated text' })
    const steps = stepsOf(events).slice(0, 2)
    const meta = events.find((event) => event.type === 'meta')
    const prompt = meta?.type === 'meta' ? meta.prompt_tokens.map((token) => token.text).join('') : ''
    expect(prompt).toBe('The old lighthouse keeper climbed the stairs one last time, and')
    expect(region.querySelector('.mav-text-prompt')?.textContent).toBe(prompt)
    expect(region.querySelector('.mav-text')?.textContent).toBe(
      `${prompt}${steps.map((step) => step.text_delta).join('')}`,
    )
  })

  it('makes a whitespace-only newest token visible', () => {
    render(<GeneratedTextPanel step={makeStep({ text_delta: '\n' })} text={'Hello\n'} />)
    expect(screen.getByRole('region', { name: 'Generated text' }).querySelector('mark')?.textContent).toBe('\n↵')
  })
})

describe('OutputDistributionPanel', () => {
  it('charts the bins highest first with uPlot and shows the entropy', () => {
    const step = stepsOf(recordingEvents())[0]
    if (!step) throw new Error('fixture has no steps')
    render(<OutputDistributionPanel step={step} />)
    const region = screen.getByRole('region', { name: 'Output distribution' })
    expect(region.textContent).toContain(`entropy ${step.distribution.entropy.toFixed(3)} nats`)
    const bins = binDistribution(step.distribution.top_probs, 20).reverse()
    const rows = Array.from(region.querySelectorAll<HTMLElement>('[data-bin]'))
    expect(rows).toHaveLength(20)
    expect(rows.map((row) => Number(row.dataset.sum))).toEqual(bins.map((bin) => bin.sum))
    expect(FakeUPlot.instances).toHaveLength(1)
    expect((FakeUPlot.instances[0] as FakeUPlot).data).toEqual([expect.any(Array), bins.map((bin) => bin.sum)])
    expect(((FakeUPlot.instances[0] as FakeUPlot).data as number[][])[1]).toEqual(bins.map((bin) => bin.sum))
  })

  it('creates the chart once and updates it with setData, then destroys it on unmount', () => {
    const events = recordingEvents()
    const steps = stepsOf(events)
    const store = storeWith(events.slice(0, 4))
    const { unmount } = render(
      <MavRunScope store={store} updates="sync">
        <OutputDistributionPanel />
      </MavRunScope>,
    )
    expect(FakeUPlot.instances).toHaveLength(1)
    const chart = FakeUPlot.instances[0] as FakeUPlot
    dispatch(store, steps[1] as (typeof steps)[number], steps[2] as (typeof steps)[number])
    expect(FakeUPlot.instances).toHaveLength(1)
    expect(chart.setData).toHaveBeenCalledTimes(1)
    const sums = binDistribution((steps[2] as (typeof steps)[number]).distribution.top_probs, 20)
      .reverse()
      .map((bin) => bin.sum)
    expect(chart.setData.mock.calls[0]?.[0]).toEqual([expect.any(Array), sums])
    unmount()
    expect(chart.destroy).toHaveBeenCalledTimes(1)
  })
})

describe('panel states', () => {
  it('shows an empty state, not a blank panel, before any run', () => {
    render(
      <MavRunScope store={createRunStore()}>
        <TopPredictionsPanel />
      </MavRunScope>,
    )
    const region = screen.getByRole('region', { name: 'Top predictions' })
    expect(region.dataset.state).toBe('empty')
    expect(region.textContent).toContain('No tokens yet')
  })

  it('shows loading while connecting and model loading progress', () => {
    const store = createRunStore()
    render(
      <MavRunScope store={store} updates="sync">
        <MlpActivationsPanel />
      </MavRunScope>,
    )
    const region = screen.getByRole('region', { name: 'MLP activations' })
    dispatch(store, { type: 'status', phase: 'loading_model', progress: 0.4 })
    expect(region.dataset.state).toBe('loading')
    expect(region.textContent).toContain('Loading model (40%)…')
  })

  it('shows the model loading as a progress bar with its name', () => {
    const store = createRunStore()
    render(
      <MavRunScope store={store} updates="sync">
        <RunStatus />
      </MavRunScope>,
    )
    expect(screen.queryByRole('progressbar')).toBeNull()
    dispatch(store, { type: 'status', phase: 'loading_model', progress: 0.3, message: 'Loading SmolLM2 135M Instruct' })
    const bar = screen.getByRole('progressbar', { name: 'Loading SmolLM2 135M Instruct' })
    expect(bar.getAttribute('aria-valuenow')).toBe('30')
    expect(screen.getByText('30%')).toBeTruthy()
    dispatch(store, { type: 'status', phase: 'loading_model', progress: 0.9, message: 'Loading SmolLM2 135M Instruct' })
    expect(bar.getAttribute('aria-valuenow')).toBe('90')
    dispatch(store, { type: 'status', phase: 'generating', progress: 0 })
    expect(screen.queryByRole('progressbar')).toBeNull()
  })

  it('shows the error that ended a run without steps', () => {
    const store = storeWith([{ type: 'error', code: 'model_not_found', message: 'No model "x"', retryable: false }])
    render(
      <MavRunScope store={store}>
        <AttentionEntropyPanel />
      </MavRunScope>,
    )
    const region = screen.getByRole('region', { name: 'Attention entropy' })
    expect(region.dataset.state).toBe('error')
    expect(region.textContent).toContain('Run failed: No model "x"')
  })

  it('explains how to use a panel outside a container', () => {
    expect(() => render(<TopPredictionsPanel />)).toThrow(
      'TopPredictionsPanel must be used within <MAVContainer> or <MavRunScope>, or be given a `step` prop',
    )
  })
})
