import * as z from 'zod/mini'
import { forcedPrefixSchema } from './forced'
import { count } from './primitives'

/** The aggregation openmav applies to each layer's hidden state of the newest token. */
export const aggregationSchema = z.enum(['l2', 'max_abs'])
export type MavAggregation = z.infer<typeof aggregationSchema>

/** Extra per-step data a run can opt into (`detail`): `heads` (each attention head), `lens` (the logit lens). */
export const detailSchema = z.enum(['heads', 'lens'])
export type MavDetail = z.infer<typeof detailSchema>

/** Upper bound of `top_n`: predictions per step. */
export const MAX_TOP_N = 100

/** Smallest positive `temperature`; below it the sampler's float32 scores overflow. */
export const MIN_TEMPERATURE = 0.01
/** Largest `temperature`. */
export const MAX_TEMPERATURE = 100
const TEMPERATURE_RANGE = { error: `must be 0 (greedy) or between ${MIN_TEMPERATURE} and ${MAX_TEMPERATURE}` }
/** Smallest `repetition_penalty`; with the largest, what keeps penalised scores finite. */
export const MIN_REPETITION_PENALTY = 0.01
/** Largest `repetition_penalty`. */
export const MAX_REPETITION_PENALTY = 100

/**
 * Body of `POST /run` (and the JSON in `GET /run?params=`). Every field but `prompt` has a default,
 * applied by the server; `meta.request` echoes the effective values.
 */
export const runRequestSchema = z.object({
  /** Model id from `GET /models`. Default: the server's default model. */
  model: z.optional(z.string().check(z.minLength(1))),
  /** The prompt text. Required, non-empty. */
  prompt: z.string().check(z.minLength(1)),
  /**
   * New tokens to generate, at least 1 (integers are at most 2^53-1, like every integer here). Default 50;
   * a server caps the default to its own limit and refuses a larger value asked for explicitly.
   */
  max_new_tokens: z._default(z.int().check(z.gte(1)), 50),
  /** Sampling temperature: 0 means greedy, otherwise 0.01..100. Default 0. */
  temperature: z._default(
    z.union(
      [
        z.literal(0),
        z.number().check(z.gte(MIN_TEMPERATURE, TEMPERATURE_RANGE), z.lte(MAX_TEMPERATURE, TEMPERATURE_RANGE)),
      ],
      TEMPERATURE_RANGE,
    ),
    0,
  ),
  /** Keep the k most likely tokens before sampling; 0 disables. Default 50. */
  top_k: z._default(count(), 50),
  /** Nucleus sampling mass in (0, 1]. Default 1. */
  top_p: z._default(z.number().check(z.gt(0), z.lte(1)), 1),
  /** Drop tokens below `min_p` times the top probability, in [0, 1]. Default 0. */
  min_p: z._default(z.number().check(z.gte(0), z.lte(1)), 0),
  /** Repetition penalty as in transformers, 0.01..100; 1 disables. Default 1. */
  repetition_penalty: z._default(z.number().check(z.gte(MIN_REPETITION_PENALTY), z.lte(MAX_REPETITION_PENALTY)), 1),
  /** Random seed in 0..2^32-1; the same seed and parameters reproduce a sampled run. Default 42. */
  seed: z._default(z.int().check(z.gte(0), z.lte(4294967295)), 42),
  /** Per-layer activation aggregation. Default `"l2"`. */
  aggregation: z._default(aggregationSchema, 'l2'),
  /** Predictions per step, 1..100. Default 20. */
  top_n: z._default(z.int().check(z.gte(1), z.lte(MAX_TOP_N)), 20),
  /** Wrap the prompt in the model's chat template. Default: the server decides (the reference server: on when the model has one). */
  chat: z.optional(z.boolean()),
  /** Branch and step mode: tokens taken as already generated (see `forcedPrefixSchema`). Default: none. */
  forced: z.optional(forcedPrefixSchema),
  /**
   * Extra per-step data: `"heads"` adds `step.heads`, `"lens"` adds `step.lens`. Default: none (`[]`, or
   * left out: steps as without the field; `meta.request` then leaves it out too). A server answers 400
   * (`field: "detail"`) for a kind the model cannot give.
   */
  detail: z.optional(z.array(detailSchema).check(z.maxLength(2))),
})

/** What a caller passes: only `prompt` is required. */
export type MavRunRequest = z.input<typeof runRequestSchema>
/** The effective parameters, every default applied (as echoed in `meta.request`). */
export type MavEffectiveRequest = z.output<typeof runRequestSchema>
