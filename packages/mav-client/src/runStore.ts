import { MavHttpError, MavProtocolError } from './errors'
import type {
  MavDoneEvent,
  MavErrorEvent,
  MavEvent,
  MavMetaEvent,
  MavStatusEvent,
  MavStepEvent,
} from './protocol/mavEvent'
import type { MavRetryInfo } from './retry'
import { type StepList, stepListView } from './stepList'

/** Where a run is. `loading` covers `queued` and `loading_model` status phases. */
export type MavRunStatus = 'idle' | 'connecting' | 'loading' | 'streaming' | 'done' | 'error' | 'stopped'

/** An immutable snapshot of a run. A new object after every change; untouched parts keep their identity. */
export interface MavRunState {
  status: MavRunStatus
  /** The run's `meta` event, once received. */
  meta: MavMetaEvent | null
  /** The newest `status` event before the first step. */
  phase: MavStatusEvent | null
  /** Every step so far, in order. */
  steps: StepList<MavStepEvent>
  /** The decoded generated text so far (all `text_delta`s joined). */
  text: string
  /** Length of `text` after each step: `text.slice(0, textEnds.at(i))` is the text up to step `i`. */
  textEnds: StepList<number>
  /** The error that ended the run (an `error` event, or one made from a failed request). */
  error: MavErrorEvent | null
  /** Events the client could not read (`invalid_event`); the run went on. The newest 20. */
  warnings: readonly MavErrorEvent[]
  /** The `done` event, once received. */
  done: MavDoneEvent | null
  /** While a refused or dropped run waits to be tried again (status `connecting`): why, and until when. */
  retry: MavRetryInfo | null
}

/** A framework-agnostic store of one run at a time. */
export interface MavRunStore {
  /** Applies one event. */
  dispatch(event: MavEvent): void
  /** Calls `listener` after every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void
  /** The current snapshot (the same object until something changes). */
  getSnapshot(): MavRunState
  /** Clears everything and sets `status` (default `"idle"`). */
  reset(status?: MavRunStatus): void
  /** Marks the run stopped by the user, unless it already ended. */
  stop(): void
  /** Records an error that happened outside the stream (a refused request, a network failure). */
  fail(error: unknown): void
  /** Marks the run as waiting to be tried again (pass it as a run's `onRetry`); its next event clears it. */
  retrying(info: MavRetryInfo): void
  /**
   * Resets to `connecting` and dispatches every event of `events`; a thrown error becomes `fail`, an
   * abort through `signal` becomes `stop`. Resolves when the events end. With `append`, the run goes
   * on instead: its steps, text and first `meta` stay, and the new steps follow them (step mode, where
   * each request forces the steps so far and sends only the new ones).
   */
  consume(events: AsyncIterable<MavEvent>, options?: MavConsumeOptions): Promise<void>
}

/** Options of `MavRunStore.consume`. */
export interface MavConsumeOptions {
  /** Stops consuming (the run becomes `stopped`). Default: none. */
  signal?: AbortSignal
  /** Continue the run in the store instead of starting afresh. Default `false`. */
  append?: boolean
}

const MAX_WARNINGS = 20
const TERMINAL: ReadonlySet<MavRunStatus> = new Set(['done', 'error', 'stopped'])

/** Converts anything thrown into the `error` event a store shows. */
export function toErrorEvent(error: unknown): MavErrorEvent {
  if (error instanceof MavHttpError) {
    return {
      type: 'error',
      code: error.code,
      message: error.message,
      retryable: error.status === 0 || error.status === 429 || error.status >= 500,
    }
  }
  if (error instanceof MavProtocolError) {
    return { type: 'error', code: error.type, message: error.message, retryable: false }
  }
  const message = error instanceof Error ? error.message : String(error)
  return { type: 'error', code: 'network_error', message, retryable: true }
}

function isAbort(error: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || (error instanceof Error && error.name === 'AbortError')
}

/** Creates an empty run store (status `idle`). */
export function createRunStore(): MavRunStore {
  const listeners = new Set<() => void>()
  let steps: MavStepEvent[] = []
  let textEnds: number[] = []
  let state: MavRunState
  // Bumped by every reset, so a superseded `consume` loop can tell it must no longer write.
  let generation = 0
  let appending = false

  const initial = (status: MavRunStatus): MavRunState => {
    // Fresh buffers: old snapshots keep viewing the old ones, which are never written again.
    steps = []
    textEnds = []
    return {
      status,
      meta: null,
      phase: null,
      steps: stepListView(steps, 0),
      text: '',
      textEnds: stepListView(textEnds, 0),
      error: null,
      warnings: [],
      done: null,
      retry: null,
    }
  }
  state = initial('idle')

  const set = (next: MavRunState) => {
    state = next
    for (const listener of listeners) listener()
  }

  const dispatch = (event: MavEvent) => {
    if (state.retry !== null) state = { ...state, retry: null }
    switch (event.type) {
      case 'meta':
        set({
          ...state,
          // An appended request's meta describes one step of the run; the run's own stays.
          meta: appending && state.meta !== null ? state.meta : event,
          status: TERMINAL.has(state.status) ? state.status : 'streaming',
        })
        return
      case 'status': {
        if (TERMINAL.has(state.status)) return
        const status = event.phase === 'generating' ? 'streaming' : 'loading'
        set({ ...state, phase: event, status })
        return
      }
      case 'step': {
        steps.push(event)
        const text = state.text + event.text_delta
        textEnds.push(text.length)
        set({
          ...state,
          status: TERMINAL.has(state.status) ? state.status : 'streaming',
          steps: stepListView(steps, steps.length),
          textEnds: stepListView(textEnds, textEnds.length),
          text,
        })
        return
      }
      case 'error':
        if (event.code === 'invalid_event') {
          set({ ...state, warnings: [...state.warnings, event].slice(-MAX_WARNINGS) })
        } else {
          set({ ...state, error: event, status: 'error' })
        }
        return
      case 'done': {
        const status = event.reason === 'error' ? 'error' : event.reason === 'stopped' ? 'stopped' : 'done'
        set({ ...state, done: event, status: state.status === 'error' ? 'error' : status })
        return
      }
    }
  }

  const store: MavRunStore = {
    dispatch,
    subscribe(listener) {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
    getSnapshot: () => state,
    reset(status = 'idle') {
      generation++
      set(initial(status))
    },
    stop() {
      if (!TERMINAL.has(state.status) && state.status !== 'idle') set({ ...state, status: 'stopped', retry: null })
    },
    fail(error) {
      set({ ...state, error: toErrorEvent(error), status: 'error', retry: null })
    },
    retrying(info) {
      if (TERMINAL.has(state.status)) return
      // Only a run without steps is retried: nothing shown is lost, and the next try starts afresh.
      set({ ...initial('connecting'), retry: info })
    },
    async consume(events, options = {}) {
      if (options.append && state.meta !== null) {
        generation++
        set({ ...state, status: 'connecting', phase: null, error: null, done: null, retry: null })
      } else {
        store.reset('connecting')
      }
      appending = options.append === true
      const mine = generation
      const current = () => mine === generation
      try {
        for await (const event of events) {
          if (options.signal?.aborted || !current()) break
          dispatch(event)
        }
        if (options.signal?.aborted && current()) store.stop()
      } catch (error) {
        if (!current()) return
        if (isAbort(error, options.signal)) store.stop()
        else store.fail(error)
      }
    },
  }
  return store
}
