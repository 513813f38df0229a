import * as z from 'zod/mini'
import { count } from './primitives'
import { detailSchema } from './request'

/** One entry of `GET /models`. */
export const modelInfoSchema = z.object({
  id: z.string(),
  label: z.string(),
  architecture: z.string(),
  n_layers: count(),
  n_heads: count(),
  vocab_size: count(),
  n_params: count(),
  default: z.boolean(),
  loaded: z.boolean(),
  /** The engine that serves the model on this server (`torch`, `numpy`); optional (older servers leave it out). */
  engine: z.optional(z.string()),
  /**
   * The `detail` kinds (`RunRequest.detail`) this model gives on this server; a run asking for another is
   * refused with `400`. Optional (older servers leave it out: ask, and handle the `400`).
   */
  detail: z.optional(z.array(detailSchema)),
})
export type MavModelInfo = z.output<typeof modelInfoSchema>

/** Body of `GET /models`. */
export const modelsResponseSchema = z.object({ models: z.array(modelInfoSchema) })
export type MavModelsResponse = z.output<typeof modelsResponseSchema>

/** Body of `GET /health`. */
export const healthResponseSchema = z.object({
  status: z.literal('ok'),
  active_runs: count(),
  loaded_models: z.array(z.string()),
})
export type MavHealthResponse = z.output<typeof healthResponseSchema>

/** Body of every 4xx/5xx answer given before a stream starts. */
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    field: z.optional(z.string()),
  }),
})
export type MavErrorBody = z.output<typeof errorBodySchema>
