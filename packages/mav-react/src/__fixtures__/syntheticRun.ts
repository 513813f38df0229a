import type { MavEvent, MavStepEvent } from '@mav/client'

/**
 * A deterministic, protocol-valid run shaped like the bundled SmolLM2-135M (30 layers, 9 heads,
 * vocabulary 49,152). It stands in for a real recording until the Python backend can make one; the
 * numbers follow the shapes a real run shows (activation norms growing with depth, attention entropy
 * bounded by log(context), a peaked output distribution), not any real model's values.
 */
export interface SyntheticRunOptions {
  /** Generated tokens. Default: the length of the built-in continuation (60). Longer runs cycle it. */
  steps?: number
  /** Transformer blocks. Default 30. */
  layers?: number
  /** Attention heads (reported in `meta` only). Default 9. */
  heads?: number
  /** PRNG seed. Default 42. */
  seed?: number
  /** Signed activations (as some openmav aggregations give) so panels show both colours. Default false. */
  signed?: boolean
  /** Stop with an `error` event after this many steps instead of `done`. Default: never. */
  failAfter?: number
}

export const SYNTHETIC_PROMPT = 'The printing press changed Europe because'

const CONTINUATION =
  ' it made books cheap enough for ordinary people to own. Before Gutenberg, a single Bible could take a scribe three years to copy by hand.' +
  '\n\nWithin fifty years, printers in more than 200 cities had produced millions of volumes — pamphlets, grammars, maps and calendars. Ideas travelled faster than censors could follow.'

const POOL = [
  ' the',
  ' a',
  ' and',
  ',',
  '.',
  ' of',
  ' to',
  ' in',
  ' it',
  ' was',
  ' that',
  ' books',
  ' people',
  ' print',
  ' knowledge',
  ' ideas',
  ' could',
  ' would',
  ' first',
  ' new',
  ' many',
  ' more',
  ' for',
  ' by',
  ' with',
  '\n',
  '\n\n',
  ' Europe',
  ' church',
  ' printed',
  ' spread',
  ' quickly',
  ' every',
  ' cheaper',
  ' copies',
  ' years',
  ' one',
  ' two',
  ' hundred',
  ' texts',
  ' reading',
  ' writing',
  ' literacy',
  ' scholars',
  ' monks',
  ' Latin',
  ' languages',
  ' press',
  ' press',
  "'s",
  ' also',
  ' only',
  ' even',
  ' most',
  ' as',
  ' on',
  ' they',
  ' he',
  ' its',
  ' made',
  ' allowed',
  ' meant',
  ' became',
  ' The',
  ' This',
  ' In',
  ' —',
  ' million',
  ' works',
  ' volumes',
]

/** Splits text the way a byte-level BPE roughly does: words with their leading space, punctuation alone. */
export function roughTokens(text: string): string[] {
  return text.match(/\n+| ?[A-Za-z]+|'[a-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]/g) ?? []
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function tokenId(text: string, vocab: number): number {
  let h = 2166136261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
  return (h >>> 0) % vocab
}

const round = (x: number, digits = 4) => Number(x.toPrecision(digits))

/** Builds the events of a synthetic run: `meta`, two `status` events, the steps, then `done` or `error`. */
export function syntheticRun(options: SyntheticRunOptions = {}): MavEvent[] {
  const tokens = roughTokens(CONTINUATION)
  const { steps = tokens.length, layers = 30, heads = 9, seed = 42, signed = false, failAfter } = options
  const vocab = 49152
  const random = mulberry32(seed)
  const gauss = () => {
    const u = Math.max(random(), 1e-12)
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random())
  }
  const promptTokens = roughTokens(SYNTHETIC_PROMPT).map((text) => ({ id: tokenId(text, vocab), text }))
  const events: MavEvent[] = [
    {
      type: 'meta',
      protocol: 'mav/1',
      run_id: `run_synthetic_${seed}_${steps}`,
      model: {
        id: 'smollm2-135m',
        architecture: 'LlamaForCausalLM',
        n_layers: layers,
        n_heads: heads,
        vocab_size: vocab,
      },
      prompt_tokens: promptTokens,
      request: {
        model: 'smollm2-135m',
        prompt: SYNTHETIC_PROMPT,
        max_new_tokens: steps,
        temperature: 0,
        top_k: 50,
        top_p: 1,
        min_p: 0,
        repetition_penalty: 1,
        seed,
        aggregation: 'l2',
        top_n: 20,
        chat: false,
      },
    },
    { type: 'status', phase: 'loading_model', progress: 0.5, message: 'Loading smollm2-135m' },
    { type: 'status', phase: 'generating', progress: 0 },
  ]

  let elapsed = 310
  for (let step = 0; step < steps; step++) {
    if (failAfter !== undefined && step >= failAfter) {
      events.push({
        type: 'error',
        code: 'generation_failed',
        message: 'CUDA out of memory (synthetic)',
        retryable: true,
      })
      events.push({ type: 'done', reason: 'error', steps: step, elapsed_ms: elapsed })
      return events
    }
    const text = tokens[step % tokens.length] as string
    const context = promptTokens.length + step + 1

    // A peaked distribution: the chosen (greedy) token first, the rest decaying like a Zipf tail.
    const top1 = 0.12 + 0.83 * random() ** 1.5
    const decay = 0.35 + 1.2 * random()
    const raw = Array.from({ length: 100 }, (_, k) =>
      k === 0 ? 1 : Math.exp(-decay * k ** 0.6) * (0.9 + 0.2 * random()),
    )
    raw.sort((a, b) => b - a)
    const mass = top1 + (1 - top1) * 0.85
    const rawSum = raw.reduce((sum, p) => sum + p, 0)
    const scale = Math.min(top1 / (raw[0] as number), mass / rawSum)
    const topProbs = raw.map((p) => round(p * scale))
    const tail = Math.max(0, 1 - topProbs.reduce((sum, p) => sum + p, 0))
    let entropy = topProbs.reduce((h, p) => (p > 0 ? h - p * Math.log(p) : h), 0)
    if (tail > 0) entropy += tail * Math.log((vocab - 100) / tail)

    const candidates = [text]
    while (candidates.length < 20) {
      const pick = POOL[Math.floor(random() * POOL.length)] as string
      if (!candidates.includes(pick)) candidates.push(pick)
    }
    const topLogit = 14 + 6 * random()
    const p0 = topProbs[0] as number
    const top = candidates.map((candidate, k) => {
      const prob = topProbs[k] as number
      return { id: tokenId(candidate, vocab), text: candidate, prob, logit: round(topLogit + Math.log(prob / p0)) }
    })

    const activations = Array.from({ length: layers + 1 }, (_, layer) => {
      const depth = layer / layers
      let norm = layer === 0 ? 0.9 + 0.3 * random() : 4 + 70 * depth ** 1.3
      if (layer === layers) norm *= 1.9
      if (layer === 3) norm *= 1.6
      norm *= 1 + 0.12 * gauss()
      const value = signed && random() < 0.3 ? -norm : norm
      return round(value)
    })
    const attentionEntropy = Array.from({ length: layers }, (_, layer) => {
      const depth = layer / Math.max(1, layers - 1)
      const fraction = 0.25 + 0.45 * Math.cos(depth * Math.PI) ** 2 + 0.08 * gauss()
      return round(Math.max(0.02, Math.min(1, fraction)) * Math.log(context))
    })

    elapsed += 24 + 10 * random()
    const event: MavStepEvent = {
      type: 'step',
      step,
      token: { id: tokenId(text, vocab), text },
      text_delta: text,
      top,
      activations,
      attention_entropy: attentionEntropy,
      distribution: { entropy: round(entropy), top_probs: topProbs },
      elapsed_ms: Math.round(elapsed),
    }
    events.push(event)
  }
  events.push({ type: 'done', reason: 'max_tokens', steps, elapsed_ms: Math.round(elapsed) + 3 })
  return events
}
