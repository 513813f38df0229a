import * as z from 'zod/mini'
import { count, finite, probability, tokenSchema } from './primitives'
import { runRequestSchema } from './request'

/** The protocol name every `meta` event carries. */
export const PROTOCOL_VERSION = 'mav/1'

/** Facts about the model a run uses. */
export const runModelSchema = z.object({
  id: z.string(),
  architecture: z.string(),
  n_layers: count(),
  n_heads: count(),
  vocab_size: count(),
  /** The engine that runs the model (`torch`, `numpy`); optional (older servers leave it out). */
  engine: z.optional(z.string()),
})

/** First event of every run. */
export const metaDataSchema = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  run_id: z.string(),
  model: runModelSchema,
  prompt_tokens: z.array(tokenSchema),
  request: runRequestSchema,
  /** Branch and step mode: how many of the run's first steps were forced (`request.forced`); absent when none. */
  forced_steps: z.optional(count()),
})

/** Progress before the first step (queueing, loading weights). */
export const statusDataSchema = z.object({
  phase: z.enum(['queued', 'loading_model', 'generating']),
  progress: z.optional(probability()),
  message: z.optional(z.string()),
})

/** One prediction of the next token. */
export const predictionSchema = z.object({
  id: count(),
  text: z.string(),
  prob: probability(),
  logit: finite(),
})

const percent = () => z.int().check(z.gte(0), z.lte(100))

/**
 * `detail: ["heads"]`: each layer's heads (`[layer][head]`) for the step's newest position. Positions index
 * the prompt tokens then the generated tokens (0 is the first prompt token).
 */
export const stepHeadsSchema = z.object({
  /** Entropy (nats, 3 decimals) of each head's attention row; `attention_entropy[layer]` is their mean. */
  entropy: z.array(z.array(z.number().check(z.gte(0)))),
  /** The positions each head weighs most, strongest first (8, fewer while the sequence is shorter). */
  positions: z.array(z.array(z.array(count()))),
  /** Their attention weights, in whole percent (0..100). */
  weights_pct: z.array(z.array(z.array(percent()))),
  /** The weight those positions carry together, in whole percent. */
  covered_pct: z.array(z.array(percent())),
})

/**
 * `detail: ["lens"]`: the logit lens. Row 0 is the embeddings, row i block i's output, each through the
 * model's final norm and unembedding; the last row is the step's own prediction.
 */
export const stepLensSchema = z.object({
  /** Top 5 token ids per row, most likely first. */
  ids: z.array(z.array(count())),
  /** Their probabilities (softmax over the whole vocabulary, 3 decimals). */
  probs: z.array(z.array(probability())),
  /** The text of every id in `ids`, keyed by the id. */
  // An object of strings as a catchall: it reuses z.object's code, where z.record adds its own to every app.
  texts: z.catchall(z.object({}), z.string()),
})

/** One generated token with what the model did to produce it. */
export const stepDataSchema = z.object({
  step: count(),
  token: tokenSchema,
  text_delta: z.string(),
  top: z.array(predictionSchema),
  activations: z.array(finite()),
  attention_entropy: z.array(finite()),
  distribution: z.object({
    entropy: z.number().check(z.gte(0)),
    top_probs: z.array(probability()).check(z.maxLength(100)),
  }),
  elapsed_ms: z.number().check(z.gte(0)),
  /** Branch and step mode: `true` when the token was forced by the request, not chosen; absent otherwise. */
  forced: z.optional(z.boolean()),
  /** Present when the run asked for `detail: ["heads"]`. */
  heads: z.optional(stepHeadsSchema),
  /** Present when the run asked for `detail: ["lens"]`. */
  lens: z.optional(stepLensSchema),
})

/** A failure after the stream started. */
export const errorDataSchema = z.object({
  code: z.string(),
  message: z.string(),
  retryable: z.boolean(),
})

/** Last event of every run. */
export const doneDataSchema = z.object({
  reason: z.enum(['max_tokens', 'eos', 'stopped', 'error']),
  steps: count(),
  elapsed_ms: z.number().check(z.gte(0)),
})

/** The `data:` schema of each SSE event name of protocol mav/1. */
export const eventDataSchemas = {
  meta: metaDataSchema,
  status: statusDataSchema,
  step: stepDataSchema,
  error: errorDataSchema,
  done: doneDataSchema,
} as const

/** An SSE event name of protocol mav/1. */
export type MavEventType = keyof typeof eventDataSchemas

export type MavMetaData = z.output<typeof metaDataSchema>
export type MavStatusData = z.output<typeof statusDataSchema>
export type MavStepData = z.output<typeof stepDataSchema>
export type MavPrediction = z.output<typeof predictionSchema>
export type MavErrorData = z.output<typeof errorDataSchema>
export type MavDoneData = z.output<typeof doneDataSchema>
export type MavRunModel = z.output<typeof runModelSchema>
export type MavStepHeads = z.output<typeof stepHeadsSchema>
export type MavStepLens = z.output<typeof stepLensSchema>
