import type { MavPrediction, MavStepData, MavStepHeads, MavStepLens } from './events'

// Steps are the hot path, where zod's generic checks cost most: this copy of `stepDataSchema` accepts
// exactly what it accepts (a property test holds them together); on `undefined` zod explains why.

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0
const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value)
const isProbability = (value: unknown): value is number => isFiniteNumber(value) && value >= 0 && value <= 1
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function numbers(value: unknown, check: (item: unknown) => boolean, maxLength = Number.POSITIVE_INFINITY) {
  if (!Array.isArray(value) || value.length > maxLength) return undefined
  for (let i = 0; i < value.length; i++) if (!check(value[i])) return undefined
  return value.slice() as number[]
}

function predictions(value: unknown): MavPrediction[] | undefined {
  if (!Array.isArray(value)) return undefined
  const out: MavPrediction[] = new Array(value.length)
  for (let i = 0; i < value.length; i++) {
    const item = value[i]
    if (!isRecord(item)) return undefined
    const { id, text, prob, logit } = item
    if (!isCount(id) || typeof text !== 'string' || !isProbability(prob) || !isFiniteNumber(logit)) return undefined
    out[i] = { id, text, prob, logit }
  }
  return out
}

const isPercent = (value: unknown): value is number => isCount(value) && value <= 100
const isNonNegative = (value: unknown): value is number => isFiniteNumber(value) && value >= 0

/** An array of arrays (`depth` levels) of items passing `check`, copied; `undefined` if any is not. */
function nested(value: unknown, depth: number, check: (item: unknown) => boolean): unknown[] | undefined {
  if (depth === 1) return numbers(value, check)
  if (!Array.isArray(value)) return undefined
  const out = new Array(value.length)
  for (let i = 0; i < value.length; i++) {
    const row = nested(value[i], depth - 1, check)
    if (!row) return undefined
    out[i] = row
  }
  return out
}

function heads(value: unknown): MavStepHeads | undefined {
  if (!isRecord(value)) return undefined
  const entropy = nested(value.entropy, 2, isNonNegative)
  const positions = nested(value.positions, 3, isCount)
  const weights = nested(value.weights_pct, 3, isPercent)
  const covered = nested(value.covered_pct, 2, isPercent)
  if (!entropy || !positions || !weights || !covered) return undefined
  return { entropy, positions, weights_pct: weights, covered_pct: covered } as MavStepHeads
}

function lens(value: unknown): MavStepLens | undefined {
  if (!isRecord(value) || !isRecord(value.texts)) return undefined
  const ids = nested(value.ids, 2, isCount)
  const probs = nested(value.probs, 2, isProbability)
  if (!ids || !probs) return undefined
  const texts: Record<string, string> = {}
  for (const key of Object.keys(value.texts)) {
    const text = value.texts[key]
    if (typeof text !== 'string') return undefined
    texts[key] = text
  }
  return { ids, probs, texts } as MavStepLens
}

/** The step data, checked and copied, or `undefined` when it breaks any rule of `stepDataSchema`. */
export function readStepFast(data: unknown): MavStepData | undefined {
  if (!isRecord(data)) return undefined
  const { step, token, text_delta, distribution, elapsed_ms, forced } = data
  if (!isCount(step) || typeof text_delta !== 'string') return undefined
  if (forced !== undefined && typeof forced !== 'boolean') return undefined
  if (!isRecord(token) || !isCount(token.id) || typeof token.text !== 'string') return undefined
  if (!isRecord(distribution) || !isFiniteNumber(distribution.entropy) || distribution.entropy < 0) return undefined
  if (!isFiniteNumber(elapsed_ms) || elapsed_ms < 0) return undefined
  const top = predictions(data.top)
  const activations = numbers(data.activations, isFiniteNumber)
  const attention = numbers(data.attention_entropy, isFiniteNumber)
  const topProbs = numbers(distribution.top_probs, isProbability, 100)
  if (!top || !activations || !attention || !topProbs) return undefined
  const stepHeads = data.heads === undefined ? undefined : heads(data.heads)
  const stepLens = data.lens === undefined ? undefined : lens(data.lens)
  if ((data.heads !== undefined && !stepHeads) || (data.lens !== undefined && !stepLens)) return undefined
  const out: MavStepData = {
    step,
    token: { id: token.id, text: token.text },
    text_delta,
    top,
    activations,
    attention_entropy: attention,
    distribution: { entropy: distribution.entropy, top_probs: topProbs },
    elapsed_ms,
  }
  if (forced !== undefined) out.forced = forced
  if (stepHeads) out.heads = stepHeads
  if (stepLens) out.lens = stepLens
  return out
}
