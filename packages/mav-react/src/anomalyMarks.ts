import {
  createAnomalyDetector,
  DEFAULT_LOW_PROBABILITY,
  type MavAnomaly,
  type MavAnomalyDetector,
  type MavAnomalyOptions,
  type MavRunState,
  type MavRunStore,
  type MavStepEvent,
} from '@mav/client'
import { createContext, useContext, useSyncExternalStore } from 'react'
import { type RunReader, type RunScope, useScopeSelector } from './context'

/** The marked steps of a run, as the timeline and the heatmaps draw them. */
export interface AnomalyMarks {
  /** Marked step indices, ascending. */
  readonly marked: readonly number[]
  readonly byStep: ReadonlyMap<number, MavAnomaly>
}

/**
 * The anomaly rules of `@mav/client` kept up to date over one scope's run: the steps are scored as
 * they arrive (each against the run before it), once per threshold, so reading the marks per frame
 * costs only the new steps.
 */
export interface AnomalyStore {
  /** The low-probability threshold (0..1). */
  getThreshold(): number
  setThreshold(value: number): void
  subscribe(listener: () => void): () => void
  /** The marks of `state`'s steps; the same object for the same snapshot until the threshold changes. */
  marks(state: MavRunState): AnomalyMarks
  /**
   * Scores each step of `run` as it arrives, so that a frame reading the marks scores nothing: a replay
   * would otherwise leave its backlog of steps to whichever frame reads the marks first. Returns the stop.
   */
  follow(run: Pick<MavRunStore, 'getSnapshot' | 'subscribe'>): () => void
}

const EMPTY: AnomalyMarks = { marked: [], byStep: new Map() }

export function createAnomalyStore(options: MavAnomalyOptions = {}): AnomalyStore {
  const listeners = new Set<() => void>()
  let threshold = options.lowProbability ?? DEFAULT_LOW_PROBABILITY
  let detector: MavAnomalyDetector = createAnomalyDetector({ ...options, lowProbability: threshold })
  let first: MavStepEvent | undefined
  let marked: number[] = []
  let byStep = new Map<number, MavAnomaly>()
  // Readers of one scope trail each other by a few steps (update lanes), even across a new run: each
  // snapshot keeps its own marks object, so a reader sees one value per snapshot (useSyncExternalStore
  // re-reads every reader's value after each commit; a new object each time would never settle).
  let views = new WeakMap<MavRunState, AnomalyMarks>()
  const restart = () => {
    detector = createAnomalyDetector({ ...options, lowProbability: threshold })
    marked = []
    byStep = new Map()
  }
  /** Scores the steps of `state` not scored yet (all of them for a new run). */
  const score = (state: MavRunState) => {
    const steps = state.steps
    if (steps.length === 0) return
    if (steps.at(0) !== first) {
      first = steps.at(0)
      restart()
    }
    for (let i = detector.length; i < steps.length; i++) {
      const anomaly = detector.push(steps.at(i) as MavStepEvent)
      if (anomaly) {
        marked.push(anomaly.step)
        byStep.set(anomaly.step, anomaly)
      }
    }
  }
  return {
    follow(run) {
      const onChange = () => score(run.getSnapshot())
      onChange()
      return run.subscribe(onChange)
    },
    getThreshold: () => threshold,
    setThreshold(value) {
      const next = Math.max(0, Math.min(1, value))
      if (next === threshold || Number.isNaN(next)) return
      threshold = next
      restart()
      views = new WeakMap()
      for (const listener of listeners) listener()
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
    marks(state) {
      const cached = views.get(state)
      if (cached !== undefined) return cached
      const steps = state.steps
      if (steps.length === 0) return EMPTY
      score(state)
      let end = marked.length
      while (end > 0 && (marked[end - 1] as number) >= steps.length) end--
      const view = { marked: marked.slice(0, end), byStep }
      views.set(state, view)
      return view
    },
  }
}

/** The enclosing scope's anomaly marks, when `MAVContainer`'s `anomalies` (or `MavAnomalies`) turned them on. */
export const MavAnomalyContext = createContext<AnomalyStore | null>(null)
MavAnomalyContext.displayName = 'MavAnomalyContext'

export function useAnomalyStore(): AnomalyStore | null {
  return useContext(MavAnomalyContext)
}

const noSubscription = () => () => {}
const NONE = () => null

/**
 * The marks of the enclosing scope's run, through `reader` (default: the scope's `high` reader), or
 * `null` when anomalies are off. Re-renders when a step is marked or the threshold changes.
 */
export function useAnomalyMarks(scope: RunScope, reader?: RunReader): AnomalyMarks | null {
  const store = useAnomalyStore()
  useSyncExternalStore(store?.subscribe ?? noSubscription, store?.getThreshold ?? NONE, store?.getThreshold ?? NONE)
  return useScopeSelector(scope, store ? (state: MavRunState) => store.marks(state) : NONE, reader ?? scope.high)
}
