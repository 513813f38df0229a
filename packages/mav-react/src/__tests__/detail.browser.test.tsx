import '../styles.css'
import { findAnomalies, type MavEvent, type MavStepEvent, parseRecording, settlingLayer } from '@mav/client'
import { cleanup, render, screen } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { userEvent } from 'vitest/browser'
import detailText from '../__fixtures__/smollm2-detail.mavrec.jsonl?raw'
import { AttentionHeadsPanel, LogitLensPanel, MAVContainer } from '../index'

const events: MavEvent[] = parseRecording(detailText).events
const steps = events.filter((event): event is MavStepEvent => event.type === 'step')
const nextFrame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve))
async function settle(done: () => boolean, frames = 30) {
  for (let i = 0; i < frames && !done(); i++) await nextFrame()
}

afterEach(cleanup)

describe('deeper views in Chromium (a real SmolLM2 run with detail on)', () => {
  it('chooses a head with the keyboard, draws the settling strip, and jumps between marks', async () => {
    const { container } = render(
      <MAVContainer
        events={events}
        anomalies={{ lowProbability: 0.5 }}
        panels={[<AttentionHeadsPanel key="heads" />, <LogitLensPanel key="lens" />, 'token_confidence']}
      />,
    )
    await settle(() => container.querySelectorAll('.mav-heads-cell').length === 270)
    const first = container.querySelector<HTMLButtonElement>('.mav-heads-cell[data-layer="0"][data-head="0"]')
    expect(first).not.toBeNull()
    // Real layout: the grid's cells are laid out and visible.
    expect(first?.getBoundingClientRect().width).toBeGreaterThan(4)
    first?.focus()
    await userEvent.keyboard('{ArrowDown}{ArrowDown}{ArrowRight}{Enter}')
    await settle(() => container.querySelector('[data-chosen="2:1"]') !== null)
    expect(container.querySelectorAll('.mav-heads-targets li').length).toBe(8)

    const strip = screen.getByRole('img', { name: /Layers by steps/ }) as HTMLCanvasElement
    await settle(() => strip.width === steps.length)
    const context = strip.getContext('2d') as CanvasRenderingContext2D
    const last = steps.length - 1
    const settles = settlingLayer(steps[last] as MavStepEvent) ?? 31
    const pixel = context.getImageData(last, 30, 1, 1).data
    expect(pixel[2]).toBe(settles <= 30 ? 178 : 230)

    const marked = findAnomalies(steps, { lowProbability: 0.5 }).map((a) => a.step)
    const slider = screen.getByRole('slider')
    slider.focus()
    await userEvent.keyboard('{Home}]')
    await settle(() => slider.getAttribute('aria-valuenow') !== '1')
    const firstMark = marked.find((step) => step > 0) ?? 0
    expect(Number(slider.getAttribute('aria-valuenow')) - 1).toBe(firstMark)
  })
})
