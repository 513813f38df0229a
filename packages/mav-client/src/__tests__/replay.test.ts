import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { MavEvent } from '../protocol/mavEvent'
import { replay } from '../replay'

const step = (n: number, elapsed: number): MavEvent => ({
  type: 'step',
  step: n,
  token: { id: n, text: 'x' },
  text_delta: 'x',
  top: [],
  activations: [1],
  attention_entropy: [],
  distribution: { entropy: 0, top_probs: [] },
  elapsed_ms: elapsed,
})

const recorded: MavEvent[] = [
  { type: 'status', phase: 'generating' },
  step(0, 100),
  step(1, 300),
  step(2, 350),
  { type: 'done', reason: 'max_tokens', steps: 3, elapsed_ms: 400 },
]

describe('replay', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  async function timeline(speed: number) {
    const times: Array<[string, number]> = []
    const start = Date.now()
    const done = (async () => {
      for await (const event of replay(recorded, { speed })) times.push([event.type, Date.now() - start])
    })()
    await vi.runAllTimersAsync()
    await done
    return times
  }

  it('honours the recorded timing', async () => {
    expect(await timeline(1)).toEqual([
      ['status', 0],
      ['step', 100],
      ['step', 300],
      ['step', 350],
      ['done', 400],
    ])
  })

  it('scales the timing by speed', async () => {
    const times = (await timeline(4)).map(([, t]) => t)
    ;[0, 25, 75, 87.5, 100].forEach((expected, i) => {
      expect(Math.abs((times[i] as number) - expected)).toBeLessThanOrEqual(1)
    })
  })

  it('does not wait at speed Infinity', async () => {
    vi.useRealTimers()
    const started = performance.now()
    const events = []
    for await (const event of replay(recorded, { speed: Number.POSITIVE_INFINITY })) events.push(event)
    expect(events).toEqual(recorded)
    expect(performance.now() - started).toBeLessThan(50)
  })

  it('ends quietly when aborted during a wait', async () => {
    const controller = new AbortController()
    const seen: string[] = []
    const done = (async () => {
      for await (const event of replay(recorded, { signal: controller.signal })) seen.push(event.type)
    })()
    await vi.advanceTimersByTimeAsync(150)
    controller.abort()
    await vi.runAllTimersAsync()
    await done
    expect(seen).toEqual(['status', 'step'])
  })

  it('refuses a speed that is not positive', async () => {
    await expect(replay(recorded, { speed: 0 }).next()).rejects.toThrow(/speed must be > 0/)
  })
})
