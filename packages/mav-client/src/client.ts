import type * as z from 'zod/mini'
import { firstIssue, MavHttpError, MavProtocolError } from './errors'
import { parseMavStream } from './parseMavStream'
import {
  errorBodySchema,
  healthResponseSchema,
  type MavHealthResponse,
  type MavModelInfo,
  modelsResponseSchema,
} from './protocol/endpoints'
import type { MavEvent } from './protocol/mavEvent'
import type { MavRunRequest } from './protocol/request'

/** Headers sent with every request, or a function returning them (e.g. a fresh bearer token). */
export type MavHeaders = Record<string, string> | (() => Record<string, string>)

/** Options of {@link createMavClient}. */
export interface MavClientOptions {
  /** Base URL of the mav/1 endpoints, e.g. `"/api"` or `"http://127.0.0.1:8000/api"`. */
  baseUrl: string
  /** The fetch to use. Default: `globalThis.fetch`. */
  fetch?: typeof fetch
  /** Extra headers for every request. Default: none. */
  headers?: MavHeaders
}

/** Per-call options. */
export interface MavRequestOptions {
  /** Aborts the request; for `run`, also closes the stream, which stops generation on the server. */
  signal?: AbortSignal
}

/** Options of `run`. */
export interface MavRunOptions extends MavRequestOptions {}

/** A client of one mav/1 server. */
export interface MavClient {
  /** The base URL, without a trailing slash. */
  readonly baseUrl: string
  /** `GET /models`: the models the server can run. */
  listModels(options?: MavRequestOptions): Promise<MavModelInfo[]>
  /** `GET /health`. */
  health(options?: MavRequestOptions): Promise<MavHealthResponse>
  /**
   * `POST /run`: streams the run's events. Throws {@link MavHttpError} when the server refuses the
   * request or cannot be reached (status 0, code `"unreachable"`); after that, every problem arrives as
   * an `error` event. Aborting `signal` ends the iteration quietly. To try again after a refusal or a
   * drop that may pass, wrap the client in {@link withRetries}.
   */
  run(request: MavRunRequest, options?: MavRunOptions): AsyncIterable<MavEvent>
  /** The `GET /run?params=` URL of a request, for a plain `EventSource`. */
  runUrl(request: MavRunRequest): string
}

/** `Retry-After` in seconds: a number of seconds or an HTTP date. */
function retryAfterSeconds(header: string | null): number | undefined {
  if (header === null || header.trim() === '') return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return seconds
  const date = Date.parse(header)
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000)
}

async function httpError(response: Response): Promise<MavHttpError> {
  const retryAfter = retryAfterSeconds(response.headers.get('retry-after'))
  const retry = retryAfter === undefined ? {} : { retryAfter }
  const text = await response.text().catch(() => '')
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  const parsed = errorBodySchema.safeParse(json)
  if (parsed.success) {
    const { code, message, field } = parsed.data.error
    return new MavHttpError(response.status, message, {
      code,
      ...(field === undefined ? {} : { field }),
      ...retry,
      body: parsed.data,
    })
  }
  const detail = text.trim().slice(0, 200) || response.statusText || 'no body'
  return new MavHttpError(response.status, `HTTP ${response.status} from ${response.url || 'server'}: ${detail}`, retry)
}

async function readJson<S extends z.ZodMiniType>(response: Response, schema: S, what: string): Promise<z.output<S>> {
  if (!response.ok) throw await httpError(response)
  let json: unknown
  try {
    json = await response.json()
  } catch (error) {
    throw new MavProtocolError('invalid-response', `${what} did not answer with JSON`, { cause: error })
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    throw new MavProtocolError(
      'invalid-response',
      `${what} answered with data that is not mav/1${firstIssue(parsed.error)}`,
      {
        cause: parsed.error,
      },
    )
  }
  return parsed.data
}

/**
 * Creates a client of a mav/1 server.
 *
 * @example
 * const client = createMavClient({ baseUrl: '/api' })
 * for await (const event of client.run({ prompt: 'Hello' })) console.log(event.type)
 */
export function createMavClient(options: MavClientOptions): MavClient {
  if (typeof options?.baseUrl !== 'string') {
    throw new TypeError('createMavClient needs { baseUrl }, e.g. createMavClient({ baseUrl: "/api" })')
  }
  const baseUrl = options.baseUrl.replace(/\/+$/, '')
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const headers = (): Record<string, string> =>
    typeof options.headers === 'function' ? options.headers() : { ...options.headers }

  // A server that cannot be reached is an HTTP failure without a status (0), so callers handle one error
  // type for "the request did not work" and can tell the person the backend is down.
  const send = async (path: string, init: RequestInit) => {
    try {
      return await doFetch(`${baseUrl}${path}`, init)
    } catch (error) {
      if (init.signal?.aborted || (error as Error)?.name === 'AbortError') throw error
      const reason = (error as Error)?.message ?? String(error)
      throw new MavHttpError(0, `Could not reach the MAV server at ${baseUrl}${path}: ${reason}`, {
        code: 'unreachable',
      })
    }
  }
  const get = (path: string, signal?: AbortSignal) =>
    send(path, { headers: { accept: 'application/json', ...headers() }, signal })

  async function* runOnce(request: MavRunRequest, signal?: AbortSignal): AsyncGenerator<MavEvent> {
    let response: Response
    try {
      response = await send('/run', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers() },
        body: JSON.stringify(request),
        signal,
      })
    } catch (error) {
      // Aborting is the caller's own doing: the iteration ends quietly, before or after the stream starts.
      if (signal?.aborted) return
      throw error
    }
    if (!response.ok) throw await httpError(response)
    const type = response.headers.get('content-type') ?? ''
    if (!type.includes('text/event-stream') || !response.body) {
      await response.body?.cancel()
      throw new MavProtocolError(
        'invalid-response',
        `POST /run answered ${response.status} with content-type "${type}", expected text/event-stream`,
      )
    }
    yield* parseMavStream(response.body, signal ? { signal } : {})
  }

  return {
    baseUrl,
    async listModels(opts = {}) {
      const body = await readJson(await get('/models', opts.signal), modelsResponseSchema, 'GET /models')
      return body.models
    },
    async health(opts = {}) {
      return readJson(await get('/health', opts.signal), healthResponseSchema, 'GET /health')
    },
    run(request, opts = {}) {
      return runOnce(request, opts.signal)
    },
    runUrl(request) {
      return `${baseUrl}/run?params=${encodeURIComponent(JSON.stringify(request))}`
    },
  }
}
