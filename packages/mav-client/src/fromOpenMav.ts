import type { MavStepEvent } from './protocol/mavEvent'

/**
 * One measurement as the seed's mav-web (and openmav's `ModelMeasurements`) serialize it. Tensors
 * arrive as nested arrays of any depth.
 */
export interface OpenMavMeasurement {
  mlp_activations: unknown
  attention_entropy_values: unknown
  top_ids: unknown
  top_probs: unknown
  logits: unknown
  decoded_tokens: string[]
  predicted_char: string
  next_token_probs?: unknown
  generated_text?: string
  [key: string]: unknown
}

/** Options of {@link fromOpenMavMeasurement}. */
export interface FromOpenMavOptions {
  /** Step number of this measurement. Default 0. */
  step?: number
  /** Milliseconds since the run started. Default 0. */
  elapsedMs?: number
  /** The sampled token's id, when the source knows it; otherwise it is looked up among the top ids. */
  tokenId?: number
}

function flatten(value: unknown, what: string): number[] {
  const out: number[] = []
  const walk = (item: unknown) => {
    if (Array.isArray(item)) for (const inner of item) walk(inner)
    else if (typeof item === 'number') out.push(item)
    else throw new TypeError(`fromOpenMavMeasurement: "${what}" must hold numbers, found ${JSON.stringify(item)}`)
  }
  walk(value)
  return out
}

function entropyOf(probs: number[]): number {
  let entropy = 0
  for (const p of probs) if (p > 0) entropy -= p * Math.log(p)
  return Math.max(0, entropy)
}

/**
 * Converts one measurement of an existing openmav backend into a mav/1 step, so our components can show
 * its streams. The full-vocabulary `logits` give each top token's logit; `next_token_probs`, when
 * present, give the entropy and the 100 largest probabilities (otherwise the top probabilities stand in).
 * openmav does not send the sampled token's id: unless `tokenId` is given, it is the top id whose text
 * matches `predicted_char`, else the most likely id.
 */
export function fromOpenMavMeasurement(data: OpenMavMeasurement, options: FromOpenMavOptions = {}): MavStepEvent {
  const topIds = flatten(data.top_ids, 'top_ids')
  const topProbs = flatten(data.top_probs, 'top_probs')
  const logits = flatten(data.logits, 'logits')
  const tokens = data.decoded_tokens ?? []
  const fullProbs = data.next_token_probs === undefined ? topProbs : flatten(data.next_token_probs, 'next_token_probs')
  const largest = [...fullProbs].sort((a, b) => b - a).slice(0, 100)
  const predicted = data.predicted_char ?? ''
  const wanted = predicted.trim().slice(0, 10) || ' '
  const matchIndex = tokens.indexOf(wanted)
  const tokenId = options.tokenId ?? topIds[Math.max(matchIndex, 0)] ?? 0
  return {
    type: 'step',
    step: options.step ?? 0,
    token: { id: tokenId, text: predicted },
    text_delta: predicted,
    top: topIds.map((id, i) => ({
      id,
      text: tokens[i] ?? '',
      prob: topProbs[i] ?? 0,
      logit: logits[id] ?? 0,
    })),
    activations: flatten(data.mlp_activations, 'mlp_activations'),
    attention_entropy: flatten(data.attention_entropy_values, 'attention_entropy_values'),
    distribution: { entropy: entropyOf(fullProbs), top_probs: largest },
    elapsed_ms: options.elapsedMs ?? 0,
  }
}
