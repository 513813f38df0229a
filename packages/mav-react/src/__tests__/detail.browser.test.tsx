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

/** 0..255 RGBA of a computed colour (`rgb()`, `rgba()` or `color(srgb ...)`). */
function rgba(css: string): number[] {
  const numbers = (css.match(/[\d.]+/g) ?? []).map(Number)
  if (css.startsWith('color(')) {
    const [r = 0, g = 0, b = 0, a = 1] = numbers
    return [r * 255, g * 255, b * 255, a * 255]
  }
  const [r = 0, g = 0, b = 0, a = 1] = numbers
  return [r, g, b, a * 255]
}

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
    // The cells' colours are painted on a canvas under them: the colour the cell's CSS mix would give.
    const shown = steps.at(-1) as MavStepEvent
    const canvas = container.querySelector<HTMLCanvasElement>('.mav-heads-canvas') as HTMLCanvasElement
    // Painted once the cells are measured (after layout): the canvas then has the cells' height.
    await settle(() => canvas.style.height !== '')
    const meta = events.find((event) => event.type === 'meta')
    const bound = Math.log(Math.max(2, (meta?.type === 'meta' ? meta.prompt_tokens.length : 0) + shown.step))
    for (const [layer, head] of [
      [3, 4],
      [20, 0],
    ] as const) {
      const cell = container.querySelector(`.mav-heads-cell[data-layer="${layer}"][data-head="${head}"]`) as HTMLElement
      const box = cell.getBoundingClientRect()
      const origin = canvas.getBoundingClientRect()
      const ratio = canvas.width / origin.width
      const x = Math.floor((box.left + box.width / 2 - origin.left) * ratio)
      const y = Math.floor((box.top + box.height / 2 - origin.top) * ratio)
      const pixel = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(x, y, 1, 1).data
      const h = Math.min(1, (shown.heads?.entropy[layer]?.[head] ?? 0) / bound)
      const probe = document.createElement('div')
      probe.style.background = `color-mix(in srgb, var(--mav-accent) ${(1 - h) * 100}%, var(--mav-track))`
      container.append(probe)
      const expected = rgba(getComputedStyle(probe).backgroundColor)
      probe.remove()
      for (let i = 0; i < 4; i++)
        expect(Math.abs((pixel[i] as number) - (expected[i] as number))).toBeLessThanOrEqual(3)
    }
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
    // Focus gone, the chosen head keeps its outline.
    const chosenCell = container.querySelector('.mav-heads-cell[data-layer="2"][data-head="1"]') as HTMLElement
    expect(chosenCell.getAttribute('aria-pressed')).toBe('true')
    expect(getComputedStyle(chosenCell).outlineStyle).toBe('solid')
    expect(getComputedStyle(first as HTMLElement).outlineStyle).toBe('none')
    await userEvent.keyboard('{Home}]')
    await settle(() => slider.getAttribute('aria-valuenow') !== '1')
    const firstMark = marked.find((step) => step > 0) ?? 0
    expect(Number(slider.getAttribute('aria-valuenow')) - 1).toBe(firstMark)
  })
})
