// @vitest-environment node
import { renderToString } from 'react-dom/server'
import { describe, expect, it, vi } from 'vitest'
import { MAVContainer, MavProvider, OutputDistributionPanel } from '../index'
import { recordingEvents, stepsOf } from './helpers'

vi.unmock('uplot')

describe('server rendering (Next.js renders client components on the server first)', () => {
  it('renders the container and the panels to HTML without touching window', () => {
    const events = recordingEvents()
    const html = renderToString(
      <MavProvider baseUrl="/api">
        <MAVContainer events={events} />
      </MavProvider>,
    )
    expect(typeof window).toBe('undefined')
    expect(html).toContain('data-panel="mlp_activations"')
    expect(html).toContain('data-status="done"')
    expect(html).toContain(`aria-valuenow="${stepsOf(events).length}"`)
    expect(renderToString(<OutputDistributionPanel step={stepsOf(events)[0] ?? null} />)).toContain('mav-chart')
  })
})
