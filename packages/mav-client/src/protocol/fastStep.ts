import type { MavPrediction, MavStepData } from './events'

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
  return out
}
