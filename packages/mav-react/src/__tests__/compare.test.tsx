import { diffStep, type MavEvent, type MavStepEvent } from '@mav/client'
import { fireEvent, render, screen, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { MAVCompare } from '../index'
import { dispatch, recordingEvents, stepsOf, storeWith } from './helpers'

/** The recording with its tokens swapped at `at` for its second-best prediction, as another sampler would pick. */
function divergedRun(events: readonly MavEvent[], at: number): MavEvent[] {
  let seen = -1
  return events.map((event) => {
    if (event.type !== 'step') return event
    seen++
    if (seen !== at) return { ...event, activations: event.activations.map((v) => v * 1.5) }
    const second = event.top[1] as MavStepEvent['top'][0]
    return { ...event, token: { id: second.id, text: second.text }, text_delta: second.text }
  })
}

/** The recording as if from a model with `keep` layers: every per-layer list cut, `meta` saying so. */
function fewerLayers(events: readonly MavEvent[], keep: number): MavEvent[] {
  return events.map((event) => {
    if (event.type === 'meta') return { ...event, model: { ...event.model, n_layers: keep } }
    if (event.type !== 'step') return event
    return {
      ...event,
      activations: event.activations.slice(0, keep + 1),
      attention_entropy: event.attention_entropy.slice(0, keep),
    }
  })
}

const chosenIn = (label: string) =>
  Number(
    within(screen.getByRole('region', { name: label }))
      .getByRole('region', { name: 'Top predictions' })
      .querySelector('tr[data-chosen]')
      ?.getAttribute('data-token-id'),
  )

describe('MAVCompare', () => {
  it('moves every run to the step the one timeline chooses, live store and recording alike', () => {
    const events = recordingEvents()
    const other = divergedRun(events, 4)
    const store = storeWith(events)
    render(
      <MAVCompare
        updates="sync"
        panels={['generated_text', 'top_predictions']}
        runs={[
          { store, label: 'Live' },
          { events: other, label: 'Recorded' },
        ]}
      />,
    )
    const slider = screen.getByRole('slider', { name: 'Step of every run' })
    const steps = stepsOf(events)
    const otherSteps = stepsOf(other)
    expect(slider.getAttribute('max')).toBe(String(steps.length))
    // Following: each run shows its newest step.
    expect(chosenIn('Live')).toBe(steps.at(-1)?.token.id)
    fireEvent.change(slider, { target: { value: '5' } })
    expect(chosenIn('Live')).toBe(steps[4]?.token.id)
    expect(chosenIn('Recorded')).toBe(otherSteps[4]?.token.id)
    expect(chosenIn('Live')).not.toBe(chosenIn('Recorded'))
    fireEvent.click(screen.getByRole('button', { name: 'Next step' }))
    expect(chosenIn('Live')).toBe(steps[5]?.token.id)
    expect(chosenIn('Recorded')).toBe(otherSteps[5]?.token.id)
  })

  it('shows a diff row per step: agreement, both probabilities of both tokens, KL', () => {
    const events = recordingEvents()
    const other = divergedRun(events, 4)
    render(<MAVCompare updates="sync" stepIndex={4} runs={[{ events }, { events: other }]} />)
    expect(screen.queryByRole('region', { name: 'Top predictions' })).toBeNull()
    const table = screen.getByRole('table', { name: /Run B against Run A/ })
    const row = table.querySelector('tr[data-step="4"]') as HTMLElement
    expect(row.getAttribute('aria-current')).toBe('step')
    expect(row.getAttribute('data-agree')).toBe('false')
    const a = stepsOf(events)[4] as MavStepEvent
    const b = stepsOf(other)[4] as MavStepEvent
    const diff = diffStep(a, b)
    const cells = within(row)
      .getAllByRole('cell')
      .map((cell) => cell.textContent)
    // Step, token A, token B (the row header is the step), agree, four probabilities, KL.
    expect(cells[2]).toBe('no')
    expect(cells[3]).toBe((a.top[0] as MavStepEvent['top'][0]).prob.toFixed(3))
    expect(cells[4]).toBe((a.top[1] as MavStepEvent['top'][0]).prob.toFixed(3))
    expect(cells[7]).toBe(diff.kl?.toFixed(3))
    // Same distributions: KL 0 and agreeing tokens on the neighbouring rows.
    const before = table.querySelector('tr[data-step="3"]') as HTMLElement
    expect(before.getAttribute('data-agree')).toBe('true')
    expect(Number(before.getAttribute('data-kl'))).toBeCloseTo(0, 9)
    expect(table.querySelectorAll('tbody tr:not(.mav-compare-filler)')).toHaveLength(7)
  })

  it('never makes up a probability for a token outside a run’s top-n', () => {
    const events = recordingEvents()
    const outside = events.map((event) =>
      event.type === 'step' && event.step === 2 ? { ...event, token: { id: 999_999, text: '~zz' } } : event,
    )
    render(<MAVCompare updates="sync" stepIndex={2} runs={[{ events }, { events: outside }]} />)
    const table = screen.getByRole('table', { name: /Run B against Run A/ })
    const row = table.querySelector('tr[data-step="2"]') as HTMLElement
    const cells = within(row).getAllByRole('cell')
    const smallest = Math.min(...(stepsOf(events)[2] as MavStepEvent).top.map((p) => p.prob))
    expect(cells[4]?.textContent).toBe(`< ${smallest.toFixed(3)}`)
    expect(cells[4]?.getAttribute('data-listed')).toBe('false')
  })

  it('compares models with different layer counts on a normalised depth axis and says so', () => {
    const events = recordingEvents()
    const small = fewerLayers(events, 12)
    const { container } = render(<MAVCompare updates="sync" runs={[{ events }, { events: small, label: 'Small' }]} />)
    const root = container.querySelector('.mav-compare') as HTMLElement
    expect(root.getAttribute('data-normalised')).toBe('true')
    expect(screen.getByText(/normalised depth axis/).textContent).toContain('Run A: 30, Small: 12')
    const heatmaps = container.querySelectorAll('.mav-diff-heatmap')
    expect([...heatmaps].map((figure) => figure.getAttribute('data-rows'))).toEqual(['31', '30'])
  })

  it('says nothing about depth for equal layer counts, and follows a live run’s newest shared step', () => {
    const events = recordingEvents()
    const first = events.findIndex((event) => event.type === 'step')
    const store = storeWith(events.slice(0, first + 3))
    const { container } = render(<MAVCompare updates="sync" runs={[{ events }, { store }]} />)
    const root = container.querySelector('.mav-compare') as HTMLElement
    expect(root.getAttribute('data-normalised')).toBe('false')
    expect(root.getAttribute('data-step')).toBe('2')
    dispatch(store, events[first + 3] as MavEvent)
    expect(root.getAttribute('data-step')).toBe('3')
  })

  it('takes 2 to 4 runs and says so otherwise', () => {
    const events = recordingEvents()
    expect(() => render(<MAVCompare runs={[{ events }]} />)).toThrow(/pass 2 to 4 runs/)
    expect(() => render(<MAVCompare runs={Array.from({ length: 5 }, () => ({ events }))} />)).toThrow(/5 entries/)
  })
})
