import * as z from 'zod/mini'
import { doneDataSchema, errorDataSchema, metaDataSchema, statusDataSchema, stepDataSchema } from './events'

/** Where a schema check failed: a dotted path into the event data and what was wrong there. */
export const eventIssueSchema = z.object({
  path: z.string(),
  message: z.string(),
})
export type MavEventIssue = z.output<typeof eventIssueSchema>

/**
 * Every event a client yields: the wire data of one SSE event plus `type`, its SSE event name.
 * An `error` event made by the client for bad server data has code `"invalid_event"` and carries the
 * offending `raw` data and the schema `issues`.
 */
export const mavEventSchema = z.discriminatedUnion('type', [
  z.extend(metaDataSchema, { type: z.literal('meta') }),
  z.extend(statusDataSchema, { type: z.literal('status') }),
  z.extend(stepDataSchema, { type: z.literal('step') }),
  z.extend(errorDataSchema, {
    type: z.literal('error'),
    raw: z.optional(z.string()),
    issues: z.optional(z.array(eventIssueSchema)),
  }),
  z.extend(doneDataSchema, { type: z.literal('done') }),
])

/** One event of a mav/1 run, discriminated on `type`. */
export type MavEvent = z.output<typeof mavEventSchema>
export type MavMetaEvent = Extract<MavEvent, { type: 'meta' }>
export type MavStatusEvent = Extract<MavEvent, { type: 'status' }>
export type MavStepEvent = Extract<MavEvent, { type: 'step' }>
export type MavErrorEvent = Extract<MavEvent, { type: 'error' }>
export type MavDoneEvent = Extract<MavEvent, { type: 'done' }>
