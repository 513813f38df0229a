import {
  createRunStore,
  type MavClient,
  type MavEvent,
  type MavRetryPolicy,
  type MavRetryRunOptions,
  type MavRunRequest,
  type MavRunState,
  type MavRunStore,
  nextStepRequest,
  replay as replayEvents,
  withRetries,
} from '@mav/client'
import { useCallback, useContext, useEffect, useRef, useState } from 'react'
import { type MavUpdateMode, useRunState } from './context'
import { MavClientContext } from './MavProvider'

/** Options of {@link useMavRun}. */
export interface UseMavRunOptions {
  /** The client for `start`. Default: the enclosing `MavProvider`'s. */
  client?: MavClient
  /** How store changes reach this component: once per animation frame, or at once. Default `"frame"`. */
  updates?: MavUpdateMode
  /**
   * Retries of `start` when the server refuses or drops the run in a way that may pass (429, 503, a
   * drop before the first step). While it waits, `state.retry` says why and until when, so a UI can
   * count down; `stop()` ends the wait. The hook wraps the client with `withRetries` for it; `false`
   * turns off the retries of a client that already has them. Default: the client's (none unless it
   * comes from `withRetries`).
   */
  retry?: MavRetryPolicy | false
}

/** Options of `replay` from {@link useMavRun}. */
export interface UseMavRunReplayOptions {
  /** Playback speed: 2 is twice as fast, `Infinity` as fast as possible. Default 1. */
  speed?: number
}

/** What {@link useMavRun} returns. */
export interface UseMavRunResult {
  /** The run's snapshot (status, meta, steps, text, error, ...). */
  state: MavRunState
  /** The run store; pass it to `MAVContainer`/`MavRunScope` so panels subscribe themselves. */
  store: MavRunStore
  /** Aborts any current run and streams a new one from the client. Resolves when the stream ends. */
  start(request: MavRunRequest): Promise<void>
  /** Aborts the current run or replay (the fetch is cancelled; status becomes `stopped`). */
  stop(): void
  /** Aborts any current run and plays `events` back with their recorded timing. */
  replay(events: Iterable<MavEvent>, options?: UseMavRunReplayOptions): Promise<void>
  /**
   * Step mode: generates the next token of `request` (its `max_new_tokens` is the run's length), in a
   * request of its own that forces the steps so far: the server keeps nothing between presses. The
   * first press, or one with another request, starts the run afresh. Resolves `false` when the run was
   * already complete.
   */
  step(request: MavRunRequest): Promise<boolean>
  /** Step mode: generates the rest of `request` after the steps so far, in one stream. */
  finish(request: MavRunRequest): Promise<boolean>
}

/**
 * One run at a time, on the client's run store. Starting a run or a replay aborts the previous one,
 * and unmounting aborts whatever is running.
 *
 * @example
 * const run = useMavRun()
 * <button onClick={() => run.start({ prompt: 'Hello' })}>Run</button>
 * <MAVContainer store={run.store} />
 */
export function useMavRun(options: UseMavRunOptions = {}): UseMavRunResult {
  const contextClient = useContext(MavClientContext)
  const client = options.client ?? contextClient
  const clientRef = useRef(client)
  clientRef.current = client
  const retryRef = useRef(options.retry)
  retryRef.current = options.retry

  const [store] = useState(createRunStore)
  const controller = useRef<AbortController | null>(null)
  const state = useRunState(store, options.updates)

  const begin = useCallback(() => {
    controller.current?.abort()
    const next = new AbortController()
    controller.current = next
    return next.signal
  }, [])

  // The request a stepped run belongs to (without its length): another one starts a new run.
  const stepping = useRef<string | null>(null)

  const stream = useCallback(
    (request: MavRunRequest, append: boolean) => {
      const current = clientRef.current
      if (current === null) {
        return Promise.reject(
          new Error('useMavRun().start needs a client: render it inside <MavProvider> or pass { client }'),
        )
      }
      const signal = begin()
      const retry = retryRef.current
      // A client that already retries still reports its waits; one that does not ignores `onRetry`.
      const runOptions: MavRetryRunOptions = {
        signal,
        ...(retry === false ? { retry } : {}),
        onRetry: (info) => {
          if (!signal.aborted) store.retrying(info)
        },
      }
      const client = retry ? withRetries(current, retry) : current
      // `run` is lazy: the fetch starts when `consume` asks for the first event.
      return store.consume(client.run(request, runOptions), { signal, append })
    },
    [begin, store],
  )

  const start = useCallback(
    (request: MavRunRequest) => {
      stepping.current = null
      return stream(request, false)
    },
    [stream],
  )

  const advance = useCallback(
    async (request: MavRunRequest, count: number) => {
      const key = JSON.stringify({ ...request, max_new_tokens: undefined })
      const state = store.getSnapshot()
      const fresh = stepping.current !== key || state.meta === null || state.steps.length === 0
      const next = nextStepRequest(request, fresh ? { meta: null, steps: [] } : state, count)
      if (next === undefined) return false
      stepping.current = key
      await stream(next, !fresh)
      return true
    },
    [store, stream],
  )
  const step = useCallback((request: MavRunRequest) => advance(request, 1), [advance])
  const finish = useCallback((request: MavRunRequest) => advance(request, Number.MAX_SAFE_INTEGER), [advance])

  const replay = useCallback(
    (events: Iterable<MavEvent>, replayOptions: UseMavRunReplayOptions = {}) => {
      stepping.current = null
      const signal = begin()
      const list = Array.from(events)
      return store.consume(replayEvents(list, { speed: replayOptions.speed ?? 1, signal }), { signal })
    },
    [begin, store],
  )

  const stop = useCallback(() => {
    controller.current?.abort()
    controller.current = null
    store.stop()
  }, [store])

  useEffect(
    () => () => {
      controller.current?.abort()
      controller.current = null
    },
    [],
  )

  return { state, store, start, stop, replay, step, finish }
}
