import type { MavErrorBody } from './protocol/endpoints'

/** The part of a zod error the messages use. */
interface Issues {
  readonly issues: ReadonlyArray<{ readonly path: ReadonlyArray<PropertyKey>; readonly message: string }>
}

/** A zod issue's path as the messages print it: `top.0.prob`. */
export const issuePath = (path: ReadonlyArray<PropertyKey>) => path.map(String).join('.')

/** ` at "path": message` for the first issue of a zod error, or `''` when it has none. */
export function firstIssue(error: Issues): string {
  const issue = error.issues[0]
  return issue ? ` at "${issuePath(issue.path)}": ${issue.message}` : ''
}

/** Why a {@link MavProtocolError} was thrown. */
export type MavProtocolErrorType = 'invalid-response' | 'invalid-recording' | 'unsupported-protocol'

/**
 * Data from a server or a recording that does not follow protocol mav/1, where there is no stream to
 * report it in (a JSON endpoint, a recording file).
 */
export class MavProtocolError extends Error {
  override readonly name = 'MavProtocolError'
  /** What kind of violation this is. */
  readonly type: MavProtocolErrorType
  /** 1-based line of a recording where the problem is, when there is one. */
  readonly line: number | undefined

  constructor(type: MavProtocolErrorType, message: string, options: { line?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.type = type
    this.line = options.line
  }
}

/**
 * A non-2xx answer before any stream started. `code`, `message` and `field` come from the server's
 * `{ "error": { ... } }` body when it sent one.
 */
export class MavHttpError extends Error {
  override readonly name = 'MavHttpError'
  readonly type = 'http' as const
  /** HTTP status code. */
  readonly status: number
  /** The server's error code, or `http_<status>` when the body had none. */
  readonly code: string
  /** The request field the server rejected, when it named one. */
  readonly field: string | undefined
  /** Seconds to wait before retrying, from `Retry-After` (e.g. on 429). */
  readonly retryAfter: number | undefined
  /** The parsed error body, when the server sent a protocol error body. */
  readonly body: MavErrorBody | undefined

  constructor(
    status: number,
    message: string,
    options: { code?: string; field?: string; retryAfter?: number; body?: MavErrorBody } = {},
  ) {
    super(message)
    this.status = status
    this.code = options.code ?? `http_${status}`
    this.field = options.field
    this.retryAfter = options.retryAfter
    this.body = options.body
  }
}
