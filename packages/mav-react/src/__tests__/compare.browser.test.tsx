import '../styles.css'
import { createRunStore, type MavEvent, parseRecording } from '@mav/client'
import { act, cleanup, render, screen } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { userEvent } from 'vitest/browser'
import recordingText from '../__fixtures__/smollm2-demo.mavrec.jsonl?raw'
import { MAVCompare } from '../index'

const recording: MavEvent[] = parseRecording(recordingText).events
const nextFrame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve))
async function settle(done: () => boolean, frames = 30) {
  for (let i = 0; i < frames && !done(); i++) await nextFrame()
}

/** Every step's activations scaled by `factor` from step `from` on, and, with `keep`, only that many layers. */
function variant(events: readonly MavEvent[], factor: number, from: number, keep?: number): MavEvent[] {
  return events.map((event) => {
    if (event.type === 'meta' && keep !== undefined) return { ...event, model: { ...event.model, n_layers: keep } }
    if (event.type !== 'step') return event
    const activations = event.activations.map((v) => (event.step >= from ? v * factor : v))
    return keep === undefined
      ? { ...event, activations }
      : {
          ...event,
          activations: activations.slice(0, keep + 1),
          attention_entropy: event.attention_entropy.slice(0, keep),
        }
  })
}

/** The RGB of the canvas pixel at the middle of step `step`'s column, row `row`. */
function pixel(canvas: HTMLCanvasElement, step: number, steps: number, row: number): number[] {
  const context = canvas.getContext('2d') as CanvasRenderingContext2D
  const x = Math.floor(((step + 0.5) * canvas.width) / steps)
  return Array.from(context.getImageData(x, row, 1, 1).data.subarray(0, 3))
}

afterEach(cleanup)

describe('MAVCompare in Chromium', () => {
  it('streams a live run beside a recording, one timeline for both, and paints the difference', async () => {
    const store = createRunStore()
    const other = variant(recording, 2, 10)
    const { container } = render(
      <MAVCompare
        panels={['generated_text', 'top_predictions']}
        runs={[
          { store, label: 'Live' },
          { events: other, label: 'Recorded' },
        ]}
      />,
    )
    act(() => {
      store.reset('connecting')
      for (const event of recording) store.dispatch(event)
    })
    const steps = recording.filter((event) => event.type === 'step').length
    const canvas = () =>
      container.querySelector('.mav-diff-heatmap[data-metric="activations"] canvas') as HTMLCanvasElement
    await settle(() => container.querySelector('.mav-diff-heatmap')?.getAttribute('data-steps') === String(steps))
    await nextFrame()
    // Before step 10 the runs are equal (neutral grey); after it the recorded run is higher (red).
    const grey = pixel(canvas(), 2, 61, 5)
    // The layer with the largest value: doubled, it is +1 reference-max higher, the reddest red.
    const step20 = recording.find((event) => event.type === 'step' && event.step === 20)
    const values = step20?.type === 'step' ? step20.activations.map(Math.abs) : []
    const red = pixel(canvas(), 20, 61, values.indexOf(Math.max(...values)))
    expect(grey[0]).toBe(grey[2])
    expect((red[0] as number) - (red[2] as number)).toBeGreaterThan(120)

    const slider = screen.getByRole('slider', { name: 'Step of every run' })
    slider.focus()
    await userEvent.keyboard('{Home}')
    await settle(() => container.querySelector('.mav-compare')?.getAttribute('data-step') === '0')
    for (const label of ['Live', 'Recorded']) {
      const column = screen.getByRole('region', { name: label })
      await settle(() => column.querySelector('[data-chosen]')?.closest('[data-step]') !== null)
    }
    const tokens = () =>
      [...container.querySelectorAll('.mav-compare-column')].map((column) =>
        column.querySelector('tr[data-chosen]')?.getAttribute('data-token-id'),
      )
    const first = recording.find((event) => event.type === 'step')
    await settle(() => tokens().every((id) => id === String(first?.type === 'step' ? first.token.id : -1)))
    expect(tokens()).toEqual([
      String(first?.type === 'step' && first.token.id),
      String(first?.type === 'step' && first.token.id),
    ])
    expect(container.querySelector('tr[aria-current="step"]')?.getAttribute('data-step')).toBe('0')
  })

  it('puts a 12-layer model beside a 30-layer one on a normalised depth axis', async () => {
    const { container } = render(
      <MAVCompare runs={[{ events: recording }, { events: variant(recording, 1, 0, 12) }]} />,
    )
    await settle(() => container.querySelector('[data-note="normalised-depth"]') !== null)
    expect(screen.getByText(/normalised depth axis/).textContent).toContain('Run A: 30, Run B: 12')
    const canvas = container.querySelector('.mav-diff-heatmap[data-metric="activations"] canvas') as HTMLCanvasElement
    await settle(() => canvas.height === 31)
    expect(canvas.height).toBe(31)
    // The first layer (embeddings) sits at depth 0 in both: no difference there.
    const top = pixel(canvas, 5, 61, 0)
    expect(top[0]).toBe(top[2])
  })
})
