import * as z from 'zod/mini'
import { PROTOCOL_VERSION } from './events'

/** The format name in the first line of a `.mavrec.jsonl` file. */
export const RECORDING_FORMAT = 'mavrec/1'

/** First line of a recording. Unknown header fields are kept. */
export const recordingHeaderSchema = z.looseObject({
  format: z.literal(RECORDING_FORMAT),
  protocol: z.literal(PROTOCOL_VERSION),
  created_at: z.optional(z.string()),
  events: z.optional(z.int()),
})
export type MavRecordingHeader = z.output<typeof recordingHeaderSchema>
