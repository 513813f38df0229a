import type { MavRunModel } from './protocol/events'
import type { MavStepEvent } from './protocol/mavEvent'

/**
 * How tokens of two runs are matched: by vocabulary id (same model, same tokenizer) or by decoded text
 * (different models, whose ids mean different things).
 */
export type MavTokenMatch = 'id' | 'text'

/**
 * A run's probability of a token. A step carries only its `top_n` predictions, so a token outside them
 * has no number: it is `listed: false` with `below`, the smallest listed probability, which bounds it
 * from above (shown as "< below"). `below` is 1 when the step lists no predictions.
 */
export type MavTokenProbability = { listed: true; prob: number } | { listed: false; below: number }

/** Step `step` of a run (`b`) against the same step of a reference run (`a`). */
export interface MavStepDiff {
  /** The step index both runs are at. */
  step: number
  /** Both runs chose the same token (same id, or same text when matching by text). */
  agree: boolean
  /** Each run's probability of its own chosen token: `[a of a's, b of b's]`. */
  own: [MavTokenProbability, MavTokenProbability]
  /** Each run's probability of the other run's chosen token: `[a of b's, b of a's]`. */
  other: [MavTokenProbability, MavTokenProbability]
  /**
   * KL(P_a,S ‖ P_b,S) in nats over S, the tokens listed in both runs' top predictions, each run's
   * probabilities renormalised to sum to 1 over S; `null` when S is empty (nothing shared to compare).
   * `Infinity` when a token of S has probability 0 in `b` but not in `a` (a rounded probability).
   */
  kl: number | null
  /** How many tokens S holds. */
  shared: number
  /** The probability mass S covers in each run before renormalising: `[a, b]`. */
  sharedMass: [number, number]
}

/**
 * `"id"` when both runs use the same model (same id and vocabulary size), else `"text"`. Unknown
 * models (no `meta` yet) match by id.
 */
export function tokenMatchFor(a: MavRunModel | undefined, b: MavRunModel | undefined): MavTokenMatch {
  if (a === undefined || b === undefined) return 'id'
  return a.id === b.id && a.vocab_size === b.vocab_size ? 'id' : 'text'
}

type Key = number | string

/** A step's listed predictions as key -> probability; entries with the same text add up. */
function listedProbabilities(step: MavStepEvent, match: MavTokenMatch): Map<Key, number> {
  const probs = new Map<Key, number>()
  for (const prediction of step.top) {
    const key = match === 'id' ? prediction.id : prediction.text
    probs.set(key, (probs.get(key) ?? 0) + prediction.prob)
  }
  return probs
}

function smallestListed(step: MavStepEvent): number {
  let min = 1
  for (const prediction of step.top) min = Math.min(min, prediction.prob)
  return min
}

function probabilityIn(probs: Map<Key, number>, key: Key, below: number): MavTokenProbability {
  const prob = probs.get(key)
  return prob === undefined ? { listed: false, below } : { listed: true, prob }
}

/**
 * KL(P ‖ Q) in nats over the keys both maps hold, each side renormalised over those keys. Returns the
 * divergence (null when nothing is shared or a side has no mass there), the shared count and masses.
 */
export function sharedSupportKl(
  p: ReadonlyMap<Key, number>,
  q: ReadonlyMap<Key, number>,
): { kl: number | null; shared: number; mass: [number, number] } {
  let massP = 0
  let massQ = 0
  let shared = 0
  for (const [key, prob] of p) {
    const other = q.get(key)
    if (other === undefined) continue
    shared++
    massP += prob
    massQ += other
  }
  if (shared === 0 || massP <= 0 || massQ <= 0) return { kl: null, shared, mass: [massP, massQ] }
  let kl = 0
  for (const [key, prob] of p) {
    const other = q.get(key)
    if (other === undefined || prob <= 0) continue
    const ps = prob / massP
    const qs = other / massQ
    kl += qs > 0 ? ps * Math.log(ps / qs) : Number.POSITIVE_INFINITY
  }
  // Rounding can leave a tiny negative sum for equal distributions; KL is never below 0.
  return { kl: Math.max(0, kl), shared, mass: [massP, massQ] }
}

/** The diff row of one step of run `b` against the same step of reference run `a`. */
export function diffStep(a: MavStepEvent, b: MavStepEvent, match: MavTokenMatch = 'id'): MavStepDiff {
  const pa = listedProbabilities(a, match)
  const pb = listedProbabilities(b, match)
  const keyA = match === 'id' ? a.token.id : a.token.text
  const keyB = match === 'id' ? b.token.id : b.token.text
  const belowA = smallestListed(a)
  const belowB = smallestListed(b)
  const { kl, shared, mass } = sharedSupportKl(pa, pb)
  return {
    step: a.step,
    agree: keyA === keyB,
    own: [probabilityIn(pa, keyA, belowA), probabilityIn(pb, keyB, belowB)],
    other: [probabilityIn(pa, keyB, belowA), probabilityIn(pb, keyA, belowB)],
    kl,
    shared,
    sharedMass: mass,
  }
}

/**
 * `values` (one per layer, first to last) read at `points` evenly spaced depths from 0 (first) to 1
 * (last), linearly interpolated: how runs of models with different layer counts line up.
 */
export function resampleDepth(values: ArrayLike<number>, points: number, out: number[] = new Array(points)): number[] {
  const n = values.length
  for (let j = 0; j < points; j++) {
    if (n === 0) {
      out[j] = Number.NaN
      continue
    }
    const x = points === 1 || n === 1 ? 0 : (j * (n - 1)) / (points - 1)
    const i = Math.min(n - 2, Math.floor(x))
    if (i < 0) {
      out[j] = values[0] as number
      continue
    }
    const t = x - i
    const lo = values[i] as number
    const hi = values[i + 1] as number
    // The ends exactly: no interpolation error at the first and the last layer.
    out[j] = t === 0 ? lo : t === 1 ? hi : lo + (hi - lo) * t
  }
  return out
}

/**
 * Per-layer difference `b - a` of one metric at one step. Equal layer counts: layer by layer.
 * Different counts: both are resampled to the larger count on a normalised depth axis (0 = first
 * layer, 1 = last; see {@link resampleDepth}) and `normalised` is true.
 */
export function diffLayers(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  out?: number[],
): { values: number[]; normalised: boolean } {
  const normalised = a.length !== b.length
  const points = Math.max(a.length, b.length)
  const values = out ?? new Array<number>(points)
  if (!normalised) {
    for (let i = 0; i < points; i++) values[i] = (b[i] as number) - (a[i] as number)
    return { values, normalised }
  }
  const ra = resampleDepth(a, points)
  resampleDepth(b, points, values)
  for (let i = 0; i < points; i++) values[i] = (values[i] as number) - (ra[i] as number)
  return { values, normalised }
}
