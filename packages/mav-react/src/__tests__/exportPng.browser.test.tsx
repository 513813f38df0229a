import '../styles.css'
import { type MavEvent, parseRecording } from '@mav/client'
import { cleanup, render, screen } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import recordingText from '../__fixtures__/smollm2-demo.mavrec.jsonl?raw'
import { exportPng, MAVContainer } from '../index'

const recording: MavEvent[] = parseRecording(recordingText).events
const nextFrame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve))

async function decode(
  blob: Blob,
): Promise<{ width: number; height: number; pixel: (x: number, y: number) => number[] }> {
  expect(blob.type).toBe('image/png')
  const bytes = new Uint8Array(await blob.arrayBuffer())
  expect([...bytes.slice(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG')
  const bitmap = await createImageBitmap(blob)
  const canvas = document.createElement('canvas')
  canvas.width = bitmap.width
  canvas.height = bitmap.height
  const context = canvas.getContext('2d') as CanvasRenderingContext2D
  context.drawImage(bitmap, 0, 0)
  return {
    width: bitmap.width,
    height: bitmap.height,
    pixel: (x, y) => [...context.getImageData(Math.round(x), Math.round(y), 1, 1).data],
  }
}

afterEach(cleanup)

describe('exportPng (real Chromium)', () => {
  it('takes the whole container and each panel at the pixel ratio, text and canvases included', async () => {
    render(<MAVContainer events={recording} theme="light" aria-label="Model internals" />)
    const container = screen.getByLabelText('Model internals')
    for (let i = 0; i < 30; i++) await nextFrame()
    const heatmap = container.querySelector('.mav-heatmap-canvas') as HTMLCanvasElement
    expect(heatmap).not.toBeNull()

    const box = container.getBoundingClientRect()
    const whole = await decode(await exportPng(container, { pixelRatio: 2 }))
    // Within a pixel: a fractional CSS size rounds one way or the other.
    expect(Math.abs(whole.width - box.width * 2)).toBeLessThanOrEqual(1)
    expect(Math.abs(whole.height - box.height * 2)).toBeLessThanOrEqual(1)

    // The heatmap's pixels are in the image (a canvas copied, not left blank): sample its middle row.
    const hm = heatmap.getBoundingClientRect()
    const y = (hm.top + hm.height / 2 - box.top) * 2
    const painted = [0.02, 0.05].map((f) => whole.pixel((hm.left - box.left + hm.width * f) * 2, y))
    const background = whole.pixel(4, 4)
    for (const colour of painted) expect(colour).not.toEqual(background)

    // Text is drawn: the header row of the top predictions differs from the empty panel background.
    for (const panel of container.querySelectorAll<HTMLElement>('.mav-grid [data-panel]')) {
      const rect = panel.getBoundingClientRect()
      const image = await decode(await exportPng(panel, { pixelRatio: 2 }))
      expect(Math.abs(image.width - rect.width * 2)).toBeLessThanOrEqual(1)
      expect(Math.abs(image.height - rect.height * 2)).toBeLessThanOrEqual(1)
      const title = panel.querySelector('h2, h3, .mav-panel-title') as HTMLElement
      const t = title.getBoundingClientRect()
      let ink = 0
      for (let x = t.left; x < t.right; x += 2) {
        const [r, g, b] = image.pixel((x - rect.left) * 2, (t.top + t.height / 2 - rect.top) * 2) as number[]
        if ((r as number) + (g as number) + (b as number) < 400) ink++
      }
      expect(ink, `${panel.dataset.panel}: its title is drawn`).toBeGreaterThan(3)
    }
  })

  it('uses the screen pixel ratio by default and refuses what is not an element', async () => {
    render(<MAVContainer events={recording} aria-label="Model internals" />)
    const container = screen.getByLabelText('Model internals')
    await nextFrame()
    const image = await decode(await exportPng(container))
    const expected = container.getBoundingClientRect().width * window.devicePixelRatio
    expect(Math.abs(image.width - expected)).toBeLessThanOrEqual(1)
    await expect(exportPng(null as unknown as HTMLElement)).rejects.toThrow(/pass an element/)
  })
})
