import { afterEach, beforeEach, vi } from 'vitest'
import { FakeUPlot } from './fakeUPlot'

// jsdom has no canvas: uPlot is replaced by a recorder here, and drawn for real in the browser test.
vi.mock('uplot', () => ({ default: FakeUPlot }))

if (typeof HTMLCanvasElement !== 'undefined') {
  // jsdom logs "not implemented" for getContext; the components handle a missing context.
  HTMLCanvasElement.prototype.getContext = (() => null) as typeof HTMLCanvasElement.prototype.getContext
}

beforeEach(() => {
  FakeUPlot.instances = []
})

afterEach(async () => {
  if (typeof document === 'undefined') return
  const { cleanup } = await import('@testing-library/react')
  cleanup()
})
