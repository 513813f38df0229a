import { vi } from 'vitest'

/** Stands in for uPlot under jsdom (no canvas): records how the component drives the chart. */
export class FakeUPlot {
  static instances: FakeUPlot[] = []
  static paths = { bars: () => () => null }
  width: number
  height: number
  data: unknown
  setData = vi.fn((data: unknown) => {
    this.data = data
  })
  setSize = vi.fn()
  destroy = vi.fn()
  constructor(
    public options: { width: number; height: number },
    data: unknown,
    public target: HTMLElement,
  ) {
    this.width = options.width
    this.height = options.height
    this.data = data
    FakeUPlot.instances.push(this)
  }
}
