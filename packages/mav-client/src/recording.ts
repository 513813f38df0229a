import { firstIssue, MavProtocolError } from './errors'
import { PROTOCOL_VERSION } from './protocol/events'
import { type MavEvent, mavEventSchema } from './protocol/mavEvent'
import { type MavRecordingHeader, RECORDING_FORMAT, recordingHeaderSchema } from './protocol/recordingHeader'

/** A parsed recording. */
export interface MavRecording {
  header: MavRecordingHeader
  events: MavEvent[]
}

/**
 * Writes events as a `.mavrec.jsonl` recording: a header line
 * `{ "format": "mavrec/1", "protocol": "mav/1", "created_at", "events" }` (plus `extra` fields), then one
 * event per line, each with its `type`.
 */
export function serializeRecording(events: Iterable<MavEvent>, extra: Record<string, unknown> = {}): string {
  const list = Array.from(events)
  const header = {
    ...extra,
    format: RECORDING_FORMAT,
    protocol: PROTOCOL_VERSION,
    created_at: new Date().toISOString(),
    events: list.length,
  }
  return `${[header, ...list].map((line) => JSON.stringify(line)).join('\n')}\n`
}

/**
 * Reads a `.mavrec.jsonl` recording and validates every line. Throws {@link MavProtocolError} of type
 * `"invalid-recording"` naming the 1-based line of the first problem.
 */
export function parseRecording(text: string): MavRecording {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  const fail = (line: number, message: string, cause?: unknown) => {
    throw new MavProtocolError('invalid-recording', `Recording line ${line}: ${message}`, { line, cause })
  }
  const parseLine = (index: number): unknown => {
    try {
      return JSON.parse(lines[index] as string)
    } catch (error) {
      return fail(index + 1, `not JSON (${(error as Error).message})`, error)
    }
  }
  if ((lines[0] ?? '').trim() === '') fail(1, 'empty file, expected a mavrec/1 header')
  const header = recordingHeaderSchema.safeParse(parseLine(0))
  if (!header.success) {
    fail(1, `not a ${RECORDING_FORMAT} header for protocol ${PROTOCOL_VERSION}${firstIssue(header.error)}`)
  }
  const events: MavEvent[] = []
  for (let index = 1; index < lines.length; index++) {
    if ((lines[index] as string).trim() === '') continue
    const parsed = mavEventSchema.safeParse(parseLine(index))
    if (!parsed.success) fail(index + 1, `not a mav/1 event${firstIssue(parsed.error)}`, parsed.error)
    else events.push(parsed.data)
  }
  return { header: (header as { data: MavRecordingHeader }).data, events }
}
