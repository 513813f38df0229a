import * as z from 'zod/mini'
import { count } from './primitives'

// Branch and step mode (issue 15): a run that continues from tokens taken as already generated.

/**
 * `forced` of a run request: tokens taken as already generated, in order, before generation proceeds
 * as usual. They are steps `0..token_ids.length - 1` of the run; its new tokens are numbered after them.
 */
export const forcedPrefixSchema = z.object({
  /** The model that produced `token_ids`; a server refuses a prefix made by another model (`400`). */
  model: z.string().check(z.minLength(1)),
  /** Vocabulary ids of the forced tokens (at least one). */
  token_ids: z.array(count()).check(z.minLength(1)),
  /**
   * Send a `step` event (marked `forced: true`) for each forced token, with the model's numbers at its
   * position, so the run shows the whole timeline. `false` sends only the new steps (step mode, where
   * the client already has the earlier ones). Default `true`.
   */
  echo: z._default(z.boolean(), true),
})

/** What a caller passes as `forced`. */
export type MavForcedPrefix = z.input<typeof forcedPrefixSchema>
