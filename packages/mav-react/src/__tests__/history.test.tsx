import { fireEvent, render, screen } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { ActivationHistory, MavRunScope, Timeline } from '../index'
import { recordingEvents, stepsOf } from './helpers'

describe('ActivationHistory', () => {
  it('draws a layers x steps heatmap per metric and selects the clicked step', () => {
    const events = recordingEvents()
    const steps = stepsOf(events)
    render(
      <MavRunScope events={events} updates="sync">
        <Timeline />
        <ActivationHistory />
      </MavRunScope>,
    )
    const region = screen.getByRole('region', { name: 'Activation history' })
    const figures = Array.from(region.querySelectorAll<HTMLElement>('figure'))
    expect(figures.map((figure) => [figure.dataset.metric, figure.dataset.rows, figure.dataset.steps])).toEqual([
      ['activations', '31', String(steps.length)],
      ['attention_entropy', '30', String(steps.length)],
    ])
    expect(screen.getByRole('img', { name: `MLP activations: 31 layers by ${steps.length} steps` })).toBeTruthy()
    const plot = figures[0]?.querySelector('.mav-heatmap-plot') as HTMLElement
    plot.getBoundingClientRect = () => ({ left: 0, width: 610, top: 0, height: 93 }) as DOMRect
    // 61 planned columns of 10 px: x = 125 is column 12.
    fireEvent.pointerDown(plot, { clientX: 125 })
    expect(screen.getByRole('slider').getAttribute('aria-valuenow')).toBe('13')
    expect(figures[1]?.querySelector('.mav-heatmap-cursor')?.getAttribute('data-step')).toBe('12')
  })

  it('mounts its heatmaps, empty, once the run names its model', () => {
    const events = recordingEvents()
    const beforeSteps = events.slice(
      0,
      events.findIndex((event) => event.type === 'step'),
    )
    render(
      <MavRunScope events={beforeSteps} updates="sync">
        <ActivationHistory />
      </MavRunScope>,
    )
    const region = screen.getByRole('region', { name: 'Activation history' })
    expect(region.dataset.state).toBe('ready')
    const figures = Array.from(region.querySelectorAll<HTMLElement>('figure'))
    expect(figures.map((figure) => [figure.dataset.rows, figure.dataset.steps])).toEqual([
      ['31', '0'],
      ['30', '0'],
    ])
    expect(region.textContent).toContain('The history fills in as tokens arrive.')
  })

  it('shows an empty state before the first step', () => {
    render(
      <MavRunScope>
        <ActivationHistory metrics={['attention_entropy']} />
      </MavRunScope>,
    )
    expect(screen.getByRole('region', { name: 'Activation history' }).dataset.state).toBe('empty')
  })
})
