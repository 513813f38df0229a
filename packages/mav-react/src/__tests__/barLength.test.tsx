import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { render } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { MAVContainer, MlpActivationsPanel } from '../index'
import { makeStep, recordingEvents } from './helpers'

const stylesheet = readFileSync(join(import.meta.dirname, '../styles.css'), 'utf8')
const trackRule = /\.mav-bar-track\s*\{([^}]*)\}/.exec(stylesheet)?.[1] ?? ''

describe('maxBarLength', () => {
  it("sizes the bar track in character cells, as openmav's --max-bar-length pads its bars", () => {
    const step = makeStep({ activations: [1, 2, 4] })
    const { container, rerender } = render(<MlpActivationsPanel step={step} maxBarLength={8} />)
    const list = container.querySelector('.mav-bars') as HTMLElement
    expect(list.style.getPropertyValue('--mav-bar-cells')).toBe('8')
    // The longest bar fills its track: 8 cells; the others their share of it.
    const rows = [...container.querySelectorAll('.mav-bar-row')]
    expect(rows.map((row) => row.getAttribute('data-bar-length'))).toEqual(['2', '4', '8'])
    rerender(<MlpActivationsPanel step={step} maxBarLength={40} />)
    expect(list.style.getPropertyValue('--mav-bar-cells')).toBe('40')
    // What the stylesheet does with it: a track that many monospace cells long.
    expect(trackRule).toMatch(/flex:\s*0 1 calc\(var\(--mav-bar-cells, 20\) \* 1ch\)/)
    expect(trackRule).toMatch(/font-family:\s*var\(--mav-font-mono\)/)
  })

  it("reaches every bar panel from the container's option", () => {
    const { container } = render(<MAVContainer events={recordingEvents()} updates="sync" maxBarLength={12} />)
    const lists = [...container.querySelectorAll<HTMLElement>('.mav-bars')]
    expect(lists.map((list) => list.getAttribute('data-metric'))).toEqual(['activations', 'attention_entropy'])
    for (const list of lists) expect(list.style.getPropertyValue('--mav-bar-cells')).toBe('12')
  })
})
