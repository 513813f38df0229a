import { type MavClient, type MavEvent, MavHttpError, type MavRetryRunOptions, type MavRunRequest } from '@mav/client'

/** How long a refused run waits when no run of this comparison is ahead of it (another client is). */
const FALLBACK_WAIT_MS = 2000

export interface QueuedRunOptions {
  signal: AbortSignal
  /** Resolves when a run ahead of this one has ended (or at once when none is running). */
  turn: () => Promise<void>
  /** Told when the run starts waiting for a free slot (`true`) and when it got one (`false`). */
  onWaiting: (waiting: boolean) => void
  /** Settles when the run before this one has its first answer: runs ask in order. Default: at once. */
  after?: Promise<unknown>
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        resolve()
      },
      { once: true },
    )
  })
}

/**
 * The events of one run of a comparison. A server at its run limit answers 429; the run then waits
 * until a run ahead of it ends (or what Retry-After asks when none of ours is ahead) and asks again,
 * as often as it takes, instead of failing. Any other refusal is thrown, as `client.run` does.
 */
export async function* queuedRun(
  client: MavClient,
  request: MavRunRequest,
  { signal, turn, onWaiting, after }: QueuedRunOptions,
): AsyncGenerator<MavEvent> {
  await after
  for (;;) {
    if (signal.aborted) return
    // This queue does its own waiting: a client from `withRetries` must not retry on top of it.
    const options: MavRetryRunOptions = { signal, retry: false }
    const iterator = client.run(request, options)[Symbol.asyncIterator]()
    let first: IteratorResult<MavEvent>
    try {
      first = await iterator.next()
    } catch (error) {
      if (signal.aborted || !(error instanceof MavHttpError) || error.status !== 429) throw error
      onWaiting(true)
      const fallback = Math.max(FALLBACK_WAIT_MS, (error.retryAfter ?? 0) * 1000)
      await Promise.race([turn(), wait(fallback, signal)])
      if (signal.aborted) return
      continue
    }
    onWaiting(false)
    if (first.done) return
    yield first.value
    for (;;) {
      const next = await iterator.next()
      if (next.done) return
      yield next.value
    }
  }
}
