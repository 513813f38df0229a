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
