import { type MavEvent, runRequestSchema } from '@mav/client'

/** The shape of a synthetic run. */
export interface SyntheticShape {
  /** Generated tokens. */
  steps: number
  /** Transformer blocks: `activations` carries one more (the embeddings), `attention_entropy` this many. */
  layers?: number
  /** Attention heads (`meta`, and `heads` with `detail`). Default 9. */
  heads?: number
  /** Top predictions per step (`request.top_n`). Default 20. */
  topN?: number
  /** Seed of the pseudo-random values: another seed gives another run of the same shape. Default 11. */
  seed?: number
  /** Every step carries `heads` and `lens` too (from a pool of 32, so a long replay holds 32 copies). */
  detail?: boolean
}

/**
 * A deterministic run of `steps` tokens ~25 ms apart, SmolLM2-shaped by default (30 layers, 9 heads,
 * top_n 20); `layers: 80, heads: 64` is a 70B-class model. Protocol-valid: the page checks it with the
 * zod schema before measuring.
 */
export function syntheticRun(shape: SyntheticShape): MavEvent[] {
  const { steps, layers = 30, heads = 9, topN = 20, detail = false } = shape
  let seed = shape.seed ?? 11
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed / 2147483648
  }
  const round = (value: number, decimals: number) => Number(value.toFixed(decimals))
  const words = [' the', ' model', ' is', ' a', ' small', ' language', ',', ' and', ' it', ' writes', '.', ' text']
  const events: MavEvent[] = [
    {
      type: 'meta',
      protocol: 'mav/1',
      run_id: 'bench',
      model: { id: 'synthetic', architecture: 'LlamaForCausalLM', n_layers: layers, n_heads: heads, vocab_size: 49152 },
      prompt_tokens: [{ id: 1, text: 'Bench' }],
      request: runRequestSchema.parse({ prompt: 'Bench', max_new_tokens: steps, top_n: topN }),
    },
  ]
  const pool = detail ? Array.from({ length: 32 }, () => detailOf(layers, heads, random)) : []
  for (let step = 0; step < steps; step++) {
    const raw = Array.from({ length: 100 }, () => random() ** 5)
    const total = raw.reduce((a, b) => a + b, 0) * 1.3
    const probs = raw.map((p) => round(p / total, 4)).sort((a, b) => b - a)
    const word = words[step % words.length] as string
    events.push({
      type: 'step',
      step,
      token: { id: 100 + (step % words.length), text: word },
      text_delta: word,
      top: probs.slice(0, topN).map((prob, i) => ({
        id: i === 0 ? 100 + (step % words.length) : 1000 + Math.floor(random() * 40000),
        text: i === 0 ? word : ` w${i}`,
        prob,
        logit: round(Math.log(prob + 1e-6) + 20, 2),
      })),
      activations: Array.from({ length: layers + 1 }, (_, l) =>
        round(5 + l * 4 + random() * 40 - (l === 0 ? 0 : 8), 2),
      ),
      attention_entropy: Array.from({ length: layers }, () => round(random() * 3, 3)),
      distribution: { entropy: round(2 + random() * 3, 3), top_probs: probs },
      elapsed_ms: round(30 + step * 25, 1),
      ...pool[step % 32],
    })
  }
  events.push({ type: 'done', reason: 'max_tokens', steps, elapsed_ms: 30 + steps * 25 })
  return events
}

function detailOf(layers: number, heads: number, random: () => number) {
  const round = (value: number, decimals: number) => Number(value.toFixed(decimals))
  const grid = <T>(make: () => T) => Array.from({ length: layers }, () => Array.from({ length: heads }, make))
  const weights = () => Array.from({ length: 8 }, () => Math.round(random() * 30)).sort((a, b) => b - a) as number[]
  const w = grid(weights)
  const ids = Array.from({ length: layers + 1 }, () => Array.from({ length: 5 }, () => 100 + Math.floor(random() * 12)))
  return {
    heads: {
      entropy: grid(() => round(random() * 3, 3)),
      positions: grid(() => Array.from({ length: 8 }, () => Math.floor(random() * 40))),
      weights_pct: w,
      covered_pct: w.map((layer) =>
        layer.map((head) =>
          Math.min(
            100,
            head.reduce((a, b) => a + b, 0),
          ),
        ),
      ),
    },
    lens: {
      ids,
      probs: ids.map(() => Array.from({ length: 5 }, () => round(random() * 0.2, 3)).sort((a, b) => b - a)),
      texts: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [String(100 + i), ` w${i}`])),
    },
  }
}
