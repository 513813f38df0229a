import '../styles.css'
import { type MavEvent, parseRecording } from '@mav/client'
import { cleanup, render, screen } from '@testing-library/react'
import type { CSSProperties } from 'react'
import { afterEach, describe, expect, it } from 'vitest'
import recordingText from '../__fixtures__/smollm2-demo.mavrec.jsonl?raw'
import { MAVContainer } from '../index'
import stylesheet from '../styles.css?raw'

const recording: MavEvent[] = parseRecording(recordingText).events
const nextFrame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve))
async function settle(done: () => boolean, frames = 30) {
  for (let i = 0; i < frames && !done(); i++) await nextFrame()
}

/** The theme variables: every custom property the stylesheet declares on :root. */
const rootBlock = /:root\s*\{([^}]*)\}/.exec(stylesheet)?.[1] ?? ''
const THEME_VARIABLES = Array.from(rootBlock.matchAll(/(--mav-[a-z0-9-]+)\s*:/g), (match) => match[1] as string)

/** A value of the right kind for each variable, unlike any default. */
function overrideOf(name: string, index: number): string {
  if (name === '--mav-font' || name === '--mav-font-mono') return `"Override ${index}", serif`
  if (/radius|gap|height/.test(name)) return `${11 + index}px`
  return `rgb(${index + 1}, ${2 * index + 3}, ${3 * index + 5})`
}

/** The most common fully opaque colour of a canvas, as `r,g,b`. */
function mainColor(canvas: HTMLCanvasElement): string {
  const { data } = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, canvas.width, canvas.height)
  const counts = new Map<string, number>()
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] !== 255) continue
    const key = `${data[i]},${data[i + 1]},${data[i + 2]}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'none'
}

const chartCanvas = () => document.querySelector<HTMLCanvasElement>('.mav-chart canvas')
const background = (selector: string) => getComputedStyle(document.querySelector(selector) as Element).backgroundColor

afterEach(cleanup)

describe('theming in Chromium', () => {
  it('lets every --mav-* variable set on an ancestor reach every component, in a pinned theme too', async () => {
    expect(THEME_VARIABLES.length).toBeGreaterThan(20)
    const overrides = Object.fromEntries(THEME_VARIABLES.map((name, index) => [name, overrideOf(name, index)]))
    render(
      <div style={overrides as CSSProperties}>
        <MAVContainer events={recording} theme="dark" />
      </div>,
    )
    await settle(() => chartCanvas() !== null)
    const parts = document.querySelectorAll(
      '.mav-container, .mav-status, .mav-timeline, .mav-panel, .mav-bar-row, .mav-heatmap, .mav-chart',
    )
    expect(parts.length).toBeGreaterThan(60)
    for (const part of parts) {
      const style = getComputedStyle(part)
      for (const [name, value] of Object.entries(overrides)) {
        expect(style.getPropertyValue(name).trim(), `${name} on ${part.className}`).toBe(value)
      }
    }
    // And the stylesheet uses them.
    const mlp = screen.getByRole('region', { name: 'MLP activations' })
    const at = (name: string) => overrides[name] as string
    expect(getComputedStyle(mlp).borderTopLeftRadius).toBe(at('--mav-radius'))
    expect(getComputedStyle(mlp).fontFamily).toBe(at('--mav-font'))
    expect(getComputedStyle(mlp.querySelector('.mav-bar-row') as Element).height).toBe(at('--mav-bar-row-height'))
    expect(background('.mav-container')).toBe(at('--mav-bg'))
    expect(background('.mav-panel')).toBe(at('--mav-surface'))
    expect(background('.mav-slider-fill')).toBe(at('--mav-accent'))
  })

  it('follows the color-scheme of the page by default, and pins light or dark with `theme`', () => {
    const dark = 'rgb(18, 19, 23)'
    const light = 'rgb(255, 255, 255)'
    const { rerender } = render(
      <div style={{ colorScheme: 'dark' }}>
        <MAVContainer events={recording} />
      </div>,
    )
    expect(background('.mav-container')).toBe(dark)
    rerender(
      <div style={{ colorScheme: 'dark' }}>
        <MAVContainer events={recording} theme="light" />
      </div>,
    )
    expect(background('.mav-container')).toBe(light)
    rerender(
      <div style={{ colorScheme: 'light' }}>
        <MAVContainer events={recording} theme="dark" />
      </div>,
    )
    expect(background('.mav-container')).toBe(dark)
    // A page that declares no colour scheme is light, as the browser draws it.
    rerender(
      <div>
        <MAVContainer events={recording} />
      </div>,
    )
    expect(background('.mav-container')).toBe(light)
  })

  it('redraws the distribution bars in the new colour when the theme changes at run time', async () => {
    const lightBar = '0,114,178'
    const darkBar = '86,180,233'
    const { rerender } = render(
      <div>
        <MAVContainer events={recording} theme="light" />
      </div>,
    )
    await settle(() => chartCanvas() !== null)
    await nextFrame()
    const canvas = chartCanvas() as HTMLCanvasElement
    expect(mainColor(canvas)).toBe(lightBar)
    // The container's own theme.
    rerender(
      <div>
        <MAVContainer events={recording} theme="dark" />
      </div>,
    )
    await settle(() => mainColor(canvas) === darkBar)
    expect(mainColor(canvas)).toBe(darkBar)
    // The page's colour scheme, with the default theme: nothing on the container changes.
    rerender(
      <div style={{ colorScheme: 'light' }}>
        <MAVContainer events={recording} />
      </div>,
    )
    await settle(() => mainColor(canvas) === lightBar)
    expect(mainColor(canvas)).toBe(lightBar)
    const page = canvas.closest('.mav-container')?.parentElement as HTMLElement
    page.style.colorScheme = 'dark'
    await settle(() => mainColor(canvas) === darkBar)
    expect(mainColor(canvas)).toBe(darkBar)
    expect(chartCanvas()).toBe(canvas)
  })
})
