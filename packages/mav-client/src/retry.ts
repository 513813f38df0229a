import type { MavClient, MavRunOptions } from './client'
import { MavHttpError } from './errors'
import type { MavErrorEvent, MavEvent } from './protocol/mavEvent'
import type { MavRunRequest } from './protocol/request'
import { toErrorEvent } from './runStore'

/**
 * When `run` tries again after a refusal or a dropped stream: `429` and `503` answers (waiting what
 * `Retry-After` says), a server that cannot be reached, and `retryable` errors before the first step.
 * A run that has shown a step is never restarted.
 */
export interface MavRetryPolicy {
  /** Tries after the first one. Default 3. */
  attempts?: number
  /** First wait in ms when the server names none; doubled for each later try, with jitter. Default 1000. */
  baseDelayMs?: number
  /** Longest single wait in ms; a server asking for longer (`Retry-After`) ends the retries. Default 30000. */
  maxDelayMs?: number
  /** Called before each wait, e.g. to count down. Default: none. */
  onRetry?: (info: MavRetryInfo) => void
}

/** A retry about to happen, as reported to `onRetry`. */
export interface MavRetryInfo {
  /** Which retry comes next: 1 for the first. */
  attempt: number
  /** The most retries the policy allows. */
  attempts: number
  /** How long the wait before it is, in ms. */
  delayMs: number
  /** When it starts, in `Date.now()` milliseconds: what a countdown counts down to. */
  at: number
  /** Why the last try failed. */
  error: MavErrorEvent
}

/** A policy with every default filled in. */
export type MavResolvedRetryPolicy = Required<Omit<MavRetryPolicy, 'onRetry'>> & Pick<MavRetryPolicy, 'onRetry'>

/** Fills in the defaults; `false` or nothing means no retries. */
export function resolveRetryPolicy(policy: MavRetryPolicy | false | undefined): MavResolvedRetryPolicy | undefined {
  if (!policy) return undefined
  const { attempts = 3, baseDelayMs = 1000, maxDelayMs = 30_000, onRetry } = policy
  for (const [name, value] of Object.entries({ attempts, baseDelayMs, maxDelayMs })) {
    if (!Number.isFinite(value) || value < 0) {
      throw new TypeError(`retry.${name} must be a finite number >= 0; got ${value}`)
    }
  }
  return { attempts, baseDelayMs, maxDelayMs, ...(onRetry ? { onRetry } : {}) }
}

/**
 * The wait in ms before retry number `attempt` (1-based) after `failure` (what a try threw, or the
 * error event that ended it before its first step), or `undefined` when it must not be retried.
 */
export function retryDelay(
  failure: unknown,
  attempt: number,
  policy: MavResolvedRetryPolicy,
  random: () => number = Math.random,
): number | undefined {
  if (attempt > policy.attempts) return undefined
  // Equal jitter: never less than half the backoff, so clients refused together spread out.
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
  const jittered = Math.round(backoff / 2 + (random() * backoff) / 2)
  if (failure instanceof MavHttpError) {
    if (failure.status === 0) return jittered
    if (failure.status !== 429 && failure.status !== 503) return undefined
    if (failure.retryAfter === undefined) return jittered
    const asked = Math.max(0, failure.retryAfter * 1000)
    if (asked > policy.maxDelayMs) return undefined
    // What the server asked for, and up to a fifth more, never less.
    return Math.min(policy.maxDelayMs, Math.round(asked * (1 + random() / 5)))
  }
  const event = failure as MavErrorEvent
  if (event?.type === 'error' && event.retryable && event.code !== 'invalid_event') return jittered
  return undefined
}

/** Resolves `true` after `ms`, or `false` as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve(false)
      return
    }
    const onAbort = () => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** Options of `run` on a client from {@link withRetries}. */
export interface MavRetryRunOptions extends MavRunOptions {
  /** Retries for this run; `false` turns them off. Default: the policy given to `withRetries`. */
  retry?: MavRetryPolicy | false
  /** Called before each retry's wait (besides the policy's own `onRetry`). Default: none. */
  onRetry?: (info: MavRetryInfo) => void
}

/** A client whose `run` tries again, from {@link withRetries}. */
export interface MavRetryingClient extends MavClient {
  /**
   * As {@link MavClient.run}, but a refusal or a drop that may pass is tried again first (a retried run
   * yields its `meta` again). Aborting `signal` ends the iteration quietly, waits included.
   */
  run(request: MavRunRequest, options?: MavRetryRunOptions): AsyncIterable<MavEvent>
}

// The client each retrying client wraps, so wrapping one again replaces its policy instead of nesting.
const wrapped = new WeakMap<MavClient, MavClient>()

/**
 * `client` with retries of `run`: a separate import, so an app that never retries does not carry them.
 * Wrapping a client from `withRetries` again replaces its policy. Without `policy`, only runs given a
 * `retry` option retry.
 *
 * @example
 * const client = withRetries(createMavClient({ baseUrl: '/api' }), { attempts: 3 })
 */
export function withRetries(client: MavClient, policy?: MavRetryPolicy | false): MavRetryingClient {
  const inner = wrapped.get(client) ?? client
  // Impossible numbers fail here, where the policy is written, not at the first refusal.
  resolveRetryPolicy(policy)
  const retrying: MavRetryingClient = {
    baseUrl: inner.baseUrl,
    listModels: (opts) => inner.listModels(opts),
    health: (opts) => inner.health(opts),
    runUrl: (request) => inner.runUrl(request),
    async *run(request, opts = {}) {
      const { retry, onRetry, ...runOptions } = opts
      const active = resolveRetryPolicy(retry ?? policy)
      if (active === undefined) {
        yield* inner.run(request, runOptions)
        return
      }
      for (let attempt = 1; ; attempt++) {
        let failure: unknown
        let stepped = false
        try {
          for await (const event of inner.run(request, runOptions)) {
            if (event.type === 'step') stepped = true
            // Held back: if a retry follows, the person never needs to see it.
            if (event.type === 'error' && !stepped && retryDelay(event, attempt, active, () => 0) !== undefined) {
              failure = event
              break
            }
            yield event
          }
        } catch (error) {
          if (opts.signal?.aborted) return
          if (retryDelay(error, attempt, active, () => 0) === undefined) throw error
          failure = error
        }
        if (failure === undefined || opts.signal?.aborted) return
        const delayMs = retryDelay(failure, attempt, active) as number
        const error = (failure as MavEvent).type === 'error' ? (failure as MavErrorEvent) : toErrorEvent(failure)
        const info: MavRetryInfo = { attempt, attempts: active.attempts, delayMs, at: Date.now() + delayMs, error }
        active.onRetry?.(info)
        onRetry?.(info)
        if (!(await sleep(delayMs, opts.signal))) return
      }
    },
  }
  wrapped.set(retrying, inner)
  return retrying
}
