import '../styles.css'
import { cleanup, render } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { MlpActivationsPanel } from '../index'
import { makeStep } from './helpers'

afterEach(cleanup)

const trackWidth = (maxBarLength: number) => {
  const { container } = render(
    <div className="mav-root" style={{ width: 900 }}>
      <MlpActivationsPanel step={makeStep({ activations: [1, 3] })} maxBarLength={maxBarLength} />
    </div>,
  )
  const tracks = [...container.querySelectorAll('.mav-bar-track')]
  const bars = [...container.querySelectorAll('.mav-bar')]
  return {
    track: (tracks[0] as Element).getBoundingClientRect().width,
    longest: (bars[1] as Element).getBoundingClientRect().width,
  }
}

describe('maxBarLength in Chromium', () => {
  it('makes the longest bar that many character cells long', () => {
    const short = trackWidth(10)
    const long = trackWidth(40)
    expect(short.track).toBeGreaterThan(0)
    expect(long.track / short.track).toBeCloseTo(4, 1)
    // The longest bar fills its track.
    expect(long.longest).toBeCloseTo(long.track, 0)
  })
})
