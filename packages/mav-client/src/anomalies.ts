import type { MavStepData } from './protocol/events'

/** Why a step is marked. */
export type MavAnomalyKind = 'low_probability' | 'entropy_jump' | 'attention_jump'

/** Options of {@link createAnomalyDetector} and {@link findAnomalies}. */
export interface MavAnomalyOptions {
  /** Mark a step whose chosen token had a probability below this. Default 0.1. */
  lowProbability?: number
  /** Mark a jump whose robust z-score (either way) is at least this. Default 3.5. */
  zThreshold?: number
  /** Steps seen before jumps are scored (a median of fewer says little). Default 8. */
  warmup?: number
}

/** A marked step. */
export interface MavAnomaly {
  /** Index of the step in the run. */
  step: number
  kinds: MavAnomalyKind[]
  /** The chosen token's probability; when it is not among `top`, the last entry's (an upper bound). */
  probability: number | null
  /** Robust z-score of the output entropy against the steps before (0 during the warm-up). */
  entropyZ: number
  /** The block (0-based) whose attention entropy moved most, and its robust z-score. */
  layer: number
  layerZ: number
}

export const DEFAULT_LOW_PROBABILITY = 0.1
const DEFAULT_Z = 3.5
const DEFAULT_WARMUP = 8

/**
 * The probability the model gave the token it chose, from the step's `top` list; when the token is not
 * in it, the smallest listed probability (the chosen one is below it), or `null` without a list.
 */
export function chosenProbability(step: MavStepData): number | null {
  for (const entry of step.top) if (entry.id === step.token.id) return entry.prob
  return step.top.at(-1)?.prob ?? null
}

/** Index of the first value of the ascending `sorted` above `value`. */
function upperBound(sorted: readonly number[], value: number): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((sorted[mid] as number) <= value) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Inserts `value` into the ascending array `sorted`. */
function insertSorted(sorted: number[], value: number) {
  sorted.splice(upperBound(sorted, value), 0, value)
}

function median(sorted: readonly number[]): number {
  const n = sorted.length
  const mid = n >>> 1
  return n % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/**
 * The `k`-th smallest (1-based) absolute deviation from `m` of the ascending `sorted`, whose values
 * up to `split` are at or below `m`: the deviations on each side of `split` are two sorted lists, and
 * the k-th of their union is found by bisecting how many come from the left one.
 */
function kthDeviation(sorted: readonly number[], m: number, split: number, k: number): number {
  const n = sorted.length
  // left(i): the i-th smallest deviation below the median; right(j): the j-th above it (0-based).
  const left = (i: number) => m - (sorted[split - 1 - i] as number)
  const right = (j: number) => (sorted[split + j] as number) - m
  let lo = Math.max(0, k - (n - split))
  let hi = Math.min(k, split)
  while (lo < hi) {
    const i = (lo + hi) >>> 1
    if (left(i) < right(k - i - 1)) lo = i + 1
    else hi = i
  }
  const j = k - lo
  const a = lo > 0 ? left(lo - 1) : Number.NEGATIVE_INFINITY
  const b = j > 0 ? right(j - 1) : Number.NEGATIVE_INFINITY
  return Math.max(a, b)
}

/** The median absolute deviation of an ascending array from its median `m`, in O(log n): no sort, no
 * walk over the deviations. */
function medianAbsoluteDeviation(sorted: readonly number[], m: number): number {
  const n = sorted.length
  const split = upperBound(sorted, m)
  const mid = n >>> 1
  if (n % 2) return kthDeviation(sorted, m, split, mid + 1)
  return (kthDeviation(sorted, m, split, mid) + kthDeviation(sorted, m, split, mid + 1)) / 2
}

/**
 * The robust z-score of `value` against the ascending `sorted` history: 0.6745 (x - median) / MAD
 * (Iglewicz and Hoaglin's modified z); with a MAD of 0, the mean absolute deviation stands in, and a
 * flat history scores 0.
 */
export function robustZ(sorted: readonly number[], value: number): number {
  if (sorted.length === 0) return 0
  const m = median(sorted)
  let spread = medianAbsoluteDeviation(sorted, m)
  if (spread === 0) {
    let total = 0
    for (const x of sorted) total += Math.abs(x - m)
    spread = (total / sorted.length) * 1.2533
    if (spread === 0) return 0
    return (value - m) / spread
  }
  return (0.6745 * (value - m)) / spread
}

/** Scores steps in order, each against the run so far; reuse it as a run grows (`push` is O(log steps)
 * per score, plus one sorted insert per value). */
export interface MavAnomalyDetector {
  /** Scores the run's next step (steps must come in order) and adds it to the history. */
  push(step: MavStepData): MavAnomaly | null
  /** Steps pushed so far. */
  readonly length: number
}

/**
 * A detector of the steps worth a look: the chosen token had a probability below `lowProbability`, or
 * the output entropy or a block's attention entropy jumped (robust z-score against the run so far).
 */
export function createAnomalyDetector(options: MavAnomalyOptions = {}): MavAnomalyDetector {
  const low = options.lowProbability ?? DEFAULT_LOW_PROBABILITY
  const threshold = options.zThreshold ?? DEFAULT_Z
  const warmup = Math.max(1, options.warmup ?? DEFAULT_WARMUP)
  const entropies: number[] = []
  const layers: number[][] = []
  let length = 0
  return {
    get length() {
      return length
    },
    push(step) {
      const index = length++
      const kinds: MavAnomalyKind[] = []
      const probability = chosenProbability(step)
      if (probability !== null && probability < low) kinds.push('low_probability')
      const scored = entropies.length >= warmup
      const entropyZ = scored ? robustZ(entropies, step.distribution.entropy) : 0
      if (Math.abs(entropyZ) >= threshold) kinds.push('entropy_jump')
      let layer = 0
      let layerZ = 0
      const attention = step.attention_entropy
      for (let i = 0; i < attention.length; i++) {
        const history = layers[i] ?? []
        layers[i] = history
        const value = attention[i] as number
        if (scored) {
          const z = robustZ(history, value)
          if (Math.abs(z) > Math.abs(layerZ)) {
            layer = i
            layerZ = z
          }
        }
        insertSorted(history, value)
      }
      if (Math.abs(layerZ) >= threshold) kinds.push('attention_jump')
      insertSorted(entropies, step.distribution.entropy)
      return kinds.length === 0 ? null : { step: index, kinds, probability, entropyZ, layer, layerZ }
    },
  }
}

/** The marked steps of a whole run, in order (see {@link createAnomalyDetector}). */
export function findAnomalies(steps: Iterable<MavStepData>, options: MavAnomalyOptions = {}): MavAnomaly[] {
  const detector = createAnomalyDetector(options)
  const out: MavAnomaly[] = []
  for (const step of steps) {
    const anomaly = detector.push(step)
    if (anomaly) out.push(anomaly)
  }
  return out
}

/** The nearest marked step after (`direction` 1) or before (-1) `from` in the ascending `marked`, or -1. */
export function nextMarked(marked: readonly number[], from: number, direction: 1 | -1): number {
  let lo = 0
  let hi = marked.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((marked[mid] as number) <= from) lo = mid + 1
    else hi = mid
  }
  // `lo` is the first index with a value above `from`.
  if (direction === 1) return lo < marked.length ? (marked[lo] as number) : -1
  let i = lo - 1
  while (i >= 0 && (marked[i] as number) >= from) i--
  return i >= 0 ? (marked[i] as number) : -1
}
