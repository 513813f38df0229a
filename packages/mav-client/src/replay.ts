import type { MavEvent } from './protocol/mavEvent'

/** Options of {@link replay}. */
export interface ReplayOptions {
  /** Playback speed: 2 plays twice as fast; `Infinity` yields everything without waiting. Default 1. */
  speed?: number
  /** Ends the replay when aborted. */
  signal?: AbortSignal
}

/** When an event happened, in ms since the run started: steps and `done` carry it, others inherit it. */
function recordedTime(event: MavEvent, previous: number): number {
  return event.type === 'step' || event.type === 'done' ? Math.max(previous, event.elapsed_ms) : previous
}

function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

/**
 * Plays recorded events back with their recorded timing (`elapsed_ms` of steps and `done`) divided by
 * `speed`. Ends quietly when `signal` aborts.
 */
export async function* replay(events: Iterable<MavEvent>, options: ReplayOptions = {}): AsyncGenerator<MavEvent> {
  const { speed = 1, signal } = options
  if (!(speed > 0)) throw new RangeError(`replay: speed must be > 0 (Infinity for no waiting), got ${speed}`)
  let clock = 0
  // Deadlines are measured from the start, so slow consumers and timer rounding do not add up.
  const startedAt = Date.now()
  for (const event of events) {
    if (signal?.aborted) return
    clock = recordedTime(event, clock)
    const due = startedAt + clock / speed - Date.now()
    if (speed !== Number.POSITIVE_INFINITY && due > 0) {
      await wait(due, signal)
      if (signal?.aborted) return
    }
    yield event
  }
}
