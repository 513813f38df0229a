import { createParser, type EventSourceMessage } from 'eventsource-parser'
import { firstIssue, issuePath } from './errors'
import { eventDataSchemas, type MavEventType } from './protocol/events'
import { readStepFast } from './protocol/fastStep'
import type { MavErrorEvent, MavEvent, MavEventIssue } from './protocol/mavEvent'

/** Options of {@link parseMavStream}. */
export interface ParseMavStreamOptions {
  /** Stops reading and cancels the body when aborted; the iteration then ends without an error. */
  signal?: AbortSignal
  /** Called with the text of every SSE comment line (e.g. `ping` heartbeats). */
  onComment?: (comment: string) => void
}

const MAX_RAW_CHARS = 2000

function isKnownType(name: string): name is MavEventType {
  return Object.hasOwn(eventDataSchemas, name)
}

function invalidEvent(message: string, raw: string, issues?: MavEventIssue[]): MavErrorEvent {
  return {
    type: 'error',
    code: 'invalid_event',
    message,
    retryable: false,
    raw: raw.length > MAX_RAW_CHARS ? `${raw.slice(0, MAX_RAW_CHARS)}…` : raw,
    ...(issues ? { issues } : {}),
  }
}

/**
 * Turns one SSE message into a {@link MavEvent}. Unknown event names give `undefined` (ignored, so
 * newer servers can add events); bad JSON or schema violations give an `invalid_event` error event.
 */
export function decodeMavMessage(message: Pick<EventSourceMessage, 'event' | 'data'>): MavEvent | undefined {
  const name = message.event ?? 'message'
  if (!isKnownType(name)) return undefined
  let data: unknown
  try {
    data = JSON.parse(message.data)
  } catch (error) {
    return invalidEvent(`"${name}" event data is not JSON: ${(error as Error).message}`, message.data)
  }
  if (name === 'step') {
    const step = readStepFast(data)
    if (step) return { type: 'step', ...step }
  }
  const result = eventDataSchemas[name].safeParse(data)
  if (!result.success) {
    const issues = result.error.issues.map((issue) => ({ path: issuePath(issue.path), message: issue.message }))
    return invalidEvent(
      `"${name}" event does not match protocol mav/1${firstIssue(result.error)}`,
      message.data,
      issues,
    )
  }
  return { type: name, ...result.data } as MavEvent
}

/**
 * Reads a `text/event-stream` body of protocol mav/1 and yields its events in order.
 *
 * It never throws for bad server data: a malformed or schema-violating event becomes an `error` event
 * with code `"invalid_event"` and the stream goes on; a body that fails or ends before `done` yields an
 * error event (`"network_error"` / `"incomplete_stream"`, retryable). The same bytes give the same
 * events however they are split into chunks.
 */
export async function* parseMavStream(
  body: ReadableStream<Uint8Array>,
  options: ParseMavStreamOptions = {},
): AsyncGenerator<MavEvent, void, undefined> {
  const { signal, onComment } = options
  const pending: MavEvent[] = []
  let parseProblem: string | undefined
  const parser = createParser({
    onEvent: (message) => {
      const event = decodeMavMessage(message)
      if (event) pending.push(event)
    },
    onComment,
    onError: (error) => {
      parseProblem = error.message
    },
  })
  const decoder = new TextDecoder()
  const reader = body.getReader()
  const onAbort = () => {
    reader.cancel(signal?.reason).catch(() => {})
  }
  if (signal?.aborted) {
    onAbort()
    return
  }
  signal?.addEventListener('abort', onAbort, { once: true })
  let sawDone = false
  let finished = false
  try {
    while (true) {
      let chunk: ReadableStreamReadResult<Uint8Array>
      try {
        chunk = await reader.read()
      } catch (error) {
        if (signal?.aborted) return
        yield {
          type: 'error',
          code: 'network_error',
          message: `The event stream failed: ${(error as Error)?.message ?? String(error)}`,
          retryable: true,
        }
        return
      }
      if (signal?.aborted) return
      // An event cut off by the end of the body is dropped, as the SSE specification requires.
      parser.feed(chunk.done ? decoder.decode() : decoder.decode(chunk.value, { stream: true }))
      if (parseProblem !== undefined) {
        pending.push(invalidEvent(`Malformed SSE line: ${parseProblem}`, ''))
        parseProblem = undefined
      }
      while (pending.length > 0) {
        const event = pending.shift() as MavEvent
        if (event.type === 'done') sawDone = true
        yield event
      }
      if (chunk.done) break
    }
    finished = true
    if (!sawDone) {
      yield {
        type: 'error',
        code: 'incomplete_stream',
        message: 'The server closed the event stream before the "done" event.',
        retryable: true,
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort)
    // A consumer that stops iterating early must not leave the server generating for nobody.
    if (!finished) reader.cancel().catch(() => {})
    reader.releaseLock()
  }
}
