import { type MavErrorEvent, MavHttpError, toErrorEvent } from '@mav/client'
import { FIELD_LABELS } from './settings'

/** What the error banner says: a headline a person understands, the detail, and what to do. */
export interface FriendlyError {
  kind: 'backend-down' | 'invalid' | 'busy' | 'failed'
  title: string
  detail: string
  hint?: string
}

const START_BACKEND =
  'Start it with "npm run demo" from the repository root (or run .venv/bin/mav-server and point MAV_BACKEND_URL at it), then reload this page.'

// Codes the reference server answers before a stream when it refuses a request (4xx).
const REFUSED_CODES = /^(invalid_|unknown_|unauthorized|forbidden|prompt_|bad_request)/

/** `http_404` -> 404: the code a client gives an HTTP error whose body had none. */
function httpStatusOf(code: string): number | undefined {
  const match = /^http_(\d{3})$/.exec(code)
  return match ? Number(match[1]) : undefined
}

// The Next.js proxy answers 500/502/503/504 with a plain-text body when it cannot reach the backend.
const PROXY_STATUSES = new Set([500, 502, 503, 504])

function isBackendDown(event: MavErrorEvent, error: unknown): boolean {
  if (event.code === 'network_error') return true
  if (error instanceof MavHttpError) return PROXY_STATUSES.has(error.status) && error.body === undefined
  return /^http_50[0234]$/.test(event.code)
}

/** Turns anything a run or a request can fail with into the banner's words. */
export function describeError(error: unknown): FriendlyError {
  const event: MavErrorEvent =
    typeof error === 'object' && error !== null && (error as MavErrorEvent).type === 'error'
      ? (error as MavErrorEvent)
      : toErrorEvent(error)
  if (isBackendDown(event, error)) {
    return {
      kind: 'backend-down',
      title: 'Cannot reach the MAV backend',
      detail: `The server behind /api did not answer (${event.message}).`,
      hint: START_BACKEND,
    }
  }
  const status = error instanceof MavHttpError ? error.status : httpStatusOf(event.code)
  if (status === 429 || /overload|busy|too_many|capacity/i.test(event.code)) {
    const retryAfter = error instanceof MavHttpError ? error.retryAfter : undefined
    return {
      kind: 'busy',
      title: 'The backend is busy',
      detail: event.message,
      hint:
        retryAfter === undefined
          ? 'It is already running as many generations as it allows. Try again in a moment.'
          : `It is already running as many generations as it allows. Try again in ${retryAfter} s.`,
    }
  }
  if ((status !== undefined && status >= 400 && status < 500) || REFUSED_CODES.test(event.code)) {
    const field = error instanceof MavHttpError ? error.field : undefined
    const label = field === undefined ? undefined : (FIELD_LABELS[field] ?? field)
    return {
      kind: 'invalid',
      title: label === undefined ? 'The backend refused the request' : `Invalid value for ${label}`,
      detail: event.message,
      hint:
        status === 401 || event.code === 'unauthorized'
          ? 'The backend needs an API token (MAV_API_TOKEN); this page does not send one.'
          : undefined,
    }
  }
  return {
    kind: 'failed',
    title: event.retryable ? 'The run failed (it may work if you try again)' : 'The run failed',
    detail: event.message,
  }
}
