import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createMavClient } from '../client'
import { MavHttpError } from '../errors'
import type { MavEvent } from '../protocol/mavEvent'
import { type MavRetryInfo, resolveRetryPolicy, retryDelay, withRetries } from '../retry'
import { createRunStore } from '../runStore'
import { encoder, loadFixtures, streamOf } from './helpers'

const basic = loadFixtures().find((f) => f.name === 'basic-run')
if (!basic) throw new Error('basic-run fixture missing')
const text = new TextDecoder().decode(basic.bytes)
/** The basic run cut right before its first step: a stream dropped early. */
const beforeFirstStep = encoder.encode(text.slice(0, text.indexOf('event: step')))
/** The basic run cut after its first step. */
const afterFirstStep = encoder.encode(text.slice(0, text.indexOf('event: step', text.indexOf('event: step') + 1)))

const sse = (bytes: Uint8Array) =>
  new Response(streamOf([bytes]), { headers: { 'content-type': 'text/event-stream; charset=utf-8' } })
const refusal = (status: number, code: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ error: { code, message: `refused with ${code}` } }), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  })
const serverError = encoder.encode(
  'event: meta\ndata: {"protocol":"mav/1","run_id":"r","model":{"id":"m","architecture":"a","n_layers":1,"n_heads":1,"vocab_size":2},"prompt_tokens":[],"request":{"prompt":"x","max_new_tokens":1,"temperature":0,"top_k":0,"top_p":1,"min_p":0,"repetition_penalty":1,"seed":1,"aggregation":"l2","top_n":1}}\n\n' +
    'event: error\ndata: {"code":"model_unavailable","message":"loading failed","retryable":true}\n\n' +
    'event: done\ndata: {"reason":"error","steps":0,"elapsed_ms":1}\n\n',
)

/** A fetch that answers each call with the next of `answers` (a Response or an Error to throw). */
function fetchOf(...answers: Array<() => Response | Error>) {
  return vi.fn(async (_url: string | URL | Request, _init?: RequestInit) => {
    const next = answers.shift()
    if (!next) throw new Error('no more answers')
    const answer = next()
    if (answer instanceof Error) throw answer
    return answer
  })
}

/** Iterates `events` to the end while fake timers run; what it yielded, or what it threw. */
async function drain(events: AsyncIterable<MavEvent>) {
  const seen: MavEvent[] = []
  let thrown: unknown
  const done = (async () => {
    try {
      for await (const event of events) seen.push(event)
    } catch (error) {
      thrown = error
    }
  })()
  await vi.runAllTimersAsync()
  await done
  return { seen, thrown, types: seen.map((e) => (e.type === 'error' ? `error:${e.code}` : e.type)) }
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 })
  vi.spyOn(Math, 'random').mockReturnValue(0.5)
})
afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

describe('withRetries', () => {
  it('waits what Retry-After says after a 429, reports the wait, then streams', async () => {
    const fetch = fetchOf(
      () => refusal(429, 'too_many_runs', { 'retry-after': '2' }),
      () => sse(basic.bytes),
    )
    const retries: MavRetryInfo[] = []
    const client = withRetries(createMavClient({ baseUrl: '/api', fetch }))
    const { types, thrown } = await drain(
      client.run({ prompt: 'x' }, { retry: { attempts: 2 }, onRetry: (info) => retries.push(info) }),
    )
    expect(thrown).toBeUndefined()
    expect(types).toEqual(['meta', 'status', 'step', 'step', 'step', 'step', 'done'])
    expect(fetch).toHaveBeenCalledTimes(2)
    expect(retries).toHaveLength(1)
    const [info] = retries as [MavRetryInfo]
    expect(info).toMatchObject({ attempt: 1, attempts: 2, delayMs: 2200, at: 1_000_000 + 2200 })
    expect(info.error).toMatchObject({ type: 'error', code: 'too_many_runs', retryable: true })
  })

  it('backs off with jitter after a 503 without Retry-After, doubling each time', async () => {
    const fetch = fetchOf(
      () => refusal(503, 'model_unavailable'),
      () => refusal(503, 'model_unavailable'),
      () => sse(basic.bytes),
    )
    const delays: number[] = []
    const client = withRetries(createMavClient({ baseUrl: '/api', fetch }), { baseDelayMs: 400 })
    const { types } = await drain(client.run({ prompt: 'x' }, { onRetry: (info) => delays.push(info.delayMs) }))
    expect(types.at(-1)).toBe('done')
    // Equal jitter with random() = 0.5: three quarters of 400, then of 800.
    expect(delays).toEqual([300, 600])
  })

  it('gives up when the server asks for a longer wait than the policy allows', async () => {
    const fetch = fetchOf(() => refusal(429, 'too_many_runs', { 'retry-after': '120' }))
    const client = withRetries(createMavClient({ baseUrl: '/api', fetch }))
    const { thrown } = await drain(client.run({ prompt: 'x' }, { retry: { maxDelayMs: 10_000 } }))
    expect(thrown).toBeInstanceOf(MavHttpError)
    expect((thrown as MavHttpError).status).toBe(429)
    expect(fetch).toHaveBeenCalledTimes(1)
  })

  it('stops after the policy attempts and throws the last refusal', async () => {
    const fetch = fetchOf(
      ...Array.from({ length: 5 }, () => () => refusal(429, 'too_many_runs', { 'retry-after': '1' })),
    )
    const client = withRetries(createMavClient({ baseUrl: '/api', fetch }))
    const { thrown } = await drain(client.run({ prompt: 'x' }, { retry: { attempts: 2 } }))
    expect((thrown as MavHttpError).code).toBe('too_many_runs')
    expect(fetch).toHaveBeenCalledTimes(3)
  })

  it('never retries a request the server refused for its content, nor without a policy', async () => {
    const invalid = fetchOf(() => refusal(400, 'invalid_request'))
    const one = await drain(
      withRetries(createMavClient({ baseUrl: '/api', fetch: invalid })).run({ prompt: 'x' }, { retry: {} }),
    )
    expect((one.thrown as MavHttpError).status).toBe(400)
    expect(invalid).toHaveBeenCalledTimes(1)
    const busy = fetchOf(() => refusal(429, 'too_many_runs', { 'retry-after': '1' }))
    const two = await drain(withRetries(createMavClient({ baseUrl: '/api', fetch: busy })).run({ prompt: 'x' }))
    expect((two.thrown as MavHttpError).status).toBe(429)
    expect(busy).toHaveBeenCalledTimes(1)
  })

  it('never retries on a plain client, nor when a run says retry: false', async () => {
    const plain = fetchOf(() => refusal(429, 'too_many_runs', { 'retry-after': '1' }))
    const one = await drain(createMavClient({ baseUrl: '/api', fetch: plain }).run({ prompt: 'x' }))
    expect((one.thrown as MavHttpError).status).toBe(429)
    expect(plain).toHaveBeenCalledTimes(1)
    const off = fetchOf(() => refusal(503, 'model_unavailable'))
    const client = withRetries(createMavClient({ baseUrl: '/api', fetch: off }), { attempts: 5 })
    const two = await drain(client.run({ prompt: 'x' }, { retry: false }))
    expect((two.thrown as MavHttpError).status).toBe(503)
    expect(off).toHaveBeenCalledTimes(1)
  })

  it('replaces the policy when wrapped again instead of nesting retries', async () => {
    const fetch = fetchOf(...Array.from({ length: 9 }, () => () => refusal(503, 'model_unavailable')))
    const client = withRetries(withRetries(createMavClient({ baseUrl: '/api', fetch }), { attempts: 3 }), {
      attempts: 1,
    })
    const { thrown } = await drain(client.run({ prompt: 'x' }))
    expect((thrown as MavHttpError).status).toBe(503)
    expect(fetch).toHaveBeenCalledTimes(2)
  })

  it('passes the other calls to the client it wraps', async () => {
    const fetch = fetchOf(
      () => new Response(JSON.stringify({ models: [] }), { headers: { 'content-type': 'application/json' } }),
    )
    const client = withRetries(createMavClient({ baseUrl: '/api/', fetch }), {})
    expect(client.baseUrl).toBe('/api')
    expect(client.runUrl({ prompt: 'x' })).toBe('/api/run?params=%7B%22prompt%22%3A%22x%22%7D')
    await expect(client.listModels()).resolves.toEqual([])
    expect(fetch.mock.calls[0]?.[0]).toBe('/api/models')
  })

  it('refuses a policy with impossible numbers when it wraps', () => {
    expect(() => withRetries(createMavClient({ baseUrl: '/api' }), { baseDelayMs: Number.NaN })).toThrow(
      /baseDelayMs must be a finite number/,
    )
  })

  it('retries a server that cannot be reached', async () => {
    const fetch = fetchOf(
      () => new TypeError('fetch failed'),
      () => sse(basic.bytes),
    )
    const client = withRetries(createMavClient({ baseUrl: '/api', fetch }), {})
    const { types } = await drain(client.run({ prompt: 'x' }))
    expect(types.at(-1)).toBe('done')
    expect(fetch).toHaveBeenCalledTimes(2)
  })

  it('retries a retryable error event before the first step without showing it', async () => {
    const fetch = fetchOf(
      () => sse(serverError),
      () => sse(basic.bytes),
    )
    const client = withRetries(createMavClient({ baseUrl: '/api', fetch }), {})
    const { types } = await drain(client.run({ prompt: 'x' }))
    expect(types).toEqual(['meta', 'meta', 'status', 'step', 'step', 'step', 'step', 'done'])
  })

  it('retries a stream dropped before its first step', async () => {
    const fetch = fetchOf(
      () => sse(beforeFirstStep),
      () => sse(basic.bytes),
    )
    const client = withRetries(createMavClient({ baseUrl: '/api', fetch }), {})
    const { types } = await drain(client.run({ prompt: 'x' }))
    expect(types).toEqual(['meta', 'status', 'meta', 'status', 'step', 'step', 'step', 'step', 'done'])
  })

  it('never restarts a run that has shown a step: the drop is yielded, retryable', async () => {
    const fetch = fetchOf(() => sse(afterFirstStep))
    const client = withRetries(createMavClient({ baseUrl: '/api', fetch }), {})
    const { types, seen, thrown } = await drain(client.run({ prompt: 'x' }))
    expect(thrown).toBeUndefined()
    expect(types).toEqual(['meta', 'status', 'step', 'error:incomplete_stream'])
    expect(seen.at(-1)).toMatchObject({ retryable: true })
    expect(fetch).toHaveBeenCalledTimes(1)
  })

  it('yields the held-back error when no retry is left', async () => {
    const fetch = fetchOf(
      () => sse(serverError),
      () => sse(serverError),
    )
    const client = withRetries(createMavClient({ baseUrl: '/api', fetch }), { attempts: 1 })
    const { types } = await drain(client.run({ prompt: 'x' }))
    expect(types).toEqual(['meta', 'meta', 'error:model_unavailable', 'done'])
  })

  it('ends quietly when aborted during a wait, without another request', async () => {
    const fetch = fetchOf(
      () => refusal(429, 'too_many_runs', { 'retry-after': '20' }),
      () => sse(basic.bytes),
    )
    const controller = new AbortController()
    const client = withRetries(createMavClient({ baseUrl: '/api', fetch }))
    const events: MavEvent[] = []
    let ended = false
    const iteration = (async () => {
      for await (const event of client.run({ prompt: 'x' }, { signal: controller.signal, retry: {} }))
        events.push(event)
      ended = true
    })()
    await vi.advanceTimersByTimeAsync(1000)
    expect(ended).toBe(false)
    controller.abort()
    await vi.advanceTimersByTimeAsync(0)
    await iteration
    expect(ended).toBe(true)
    expect(events).toEqual([])
    expect(fetch).toHaveBeenCalledTimes(1)
  })
})

describe('retryDelay', () => {
  const policy = resolveRetryPolicy({ baseDelayMs: 1000, maxDelayMs: 5000, attempts: 10 })
  if (!policy) throw new Error('policy')
  const dropped = { type: 'error', code: 'network_error', message: 'x', retryable: true } as const

  it('doubles up to the cap, never below half of it', () => {
    const low = [1, 2, 3, 4, 5].map((n) => retryDelay(dropped, n, policy, () => 0))
    const high = [1, 2, 3, 4, 5].map((n) => retryDelay(dropped, n, policy, () => 1))
    expect(low).toEqual([500, 1000, 2000, 2500, 2500])
    expect(high).toEqual([1000, 2000, 4000, 5000, 5000])
  })

  it('says no to what is not retryable and past the attempts', () => {
    expect(retryDelay({ ...dropped, retryable: false }, 1, policy)).toBeUndefined()
    expect(retryDelay({ ...dropped, code: 'invalid_event' }, 1, policy)).toBeUndefined()
    expect(retryDelay(dropped, 11, policy)).toBeUndefined()
    expect(retryDelay(new Error('bug'), 1, policy)).toBeUndefined()
    expect(retryDelay(new MavHttpError(500, 'x'), 1, policy)).toBeUndefined()
  })

  it('refuses a policy with impossible numbers', () => {
    expect(() => resolveRetryPolicy({ attempts: -1 })).toThrow(/attempts must be a finite number/)
  })
})

describe('run store while retrying', () => {
  it('shows the wait as connecting with the retry, and the next event clears it', async () => {
    const fetch = fetchOf(
      () => refusal(503, 'model_unavailable', { 'retry-after': '1' }),
      () => sse(basic.bytes),
    )
    const client = withRetries(createMavClient({ baseUrl: '/api', fetch }), {})
    const store = createRunStore()
    const states: Array<{ status: string; retry: MavRetryInfo | null }> = []
    store.subscribe(() => states.push({ status: store.getSnapshot().status, retry: store.getSnapshot().retry }))
    const done = store.consume(client.run({ prompt: 'x' }, { onRetry: store.retrying }))
    await vi.runAllTimersAsync()
    await done
    const waiting = states.find((s) => s.retry !== null)
    expect(waiting).toMatchObject({ status: 'connecting', retry: { attempt: 1, delayMs: 1100 } })
    expect(store.getSnapshot()).toMatchObject({ status: 'done', retry: null, error: null })
  })
})
