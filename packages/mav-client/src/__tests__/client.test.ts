import { describe, expect, it, vi } from 'vitest'
import { createMavClient } from '../client'
import { MavHttpError, MavProtocolError } from '../errors'
import { collect, encoder, loadFixtures, streamOf } from './helpers'

const basic = loadFixtures().find((f) => f.name === 'basic-run')
if (!basic) throw new Error('basic-run fixture missing')

const sse = (body: ReadableStream<Uint8Array>) =>
  new Response(body, { headers: { 'content-type': 'text/event-stream; charset=utf-8' } })
const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })

const model = {
  id: 'smollm2-135m-instruct',
  label: 'SmolLM2 135M Instruct',
  architecture: 'LlamaForCausalLM',
  n_layers: 30,
  n_heads: 9,
  vocab_size: 49152,
  n_params: 134515008,
  default: true,
  loaded: false,
}

describe('createMavClient', () => {
  it('lists models and reads health with the given headers', async () => {
    const fetch = vi.fn(async (url: string | URL | Request, _init?: RequestInit) =>
      String(url).endsWith('/models')
        ? json({ models: [model] })
        : json({ status: 'ok', active_runs: 0, loaded_models: [] }),
    )
    const client = createMavClient({
      baseUrl: 'http://127.0.0.1:8000/api/',
      fetch,
      headers: { authorization: 'Bearer t' },
    })
    expect(await client.listModels()).toEqual([model])
    expect(await client.health()).toEqual({ status: 'ok', active_runs: 0, loaded_models: [] })
    expect(fetch.mock.calls[0]?.[0]).toBe('http://127.0.0.1:8000/api/models')
    expect(fetch.mock.calls[0]?.[1]?.headers).toMatchObject({ authorization: 'Bearer t' })
  })

  it("reads each model's detail kinds, and refuses a listing with an unknown kind", async () => {
    const withDetail = { ...model, engine: 'torch', detail: ['heads'] }
    const listing = (detail: unknown) => vi.fn(async () => json({ models: [{ ...model, detail }] }))
    expect(
      await createMavClient({ baseUrl: '/api', fetch: vi.fn(async () => json({ models: [withDetail] })) }).listModels(),
    ).toEqual([withDetail])
    await expect(createMavClient({ baseUrl: '/api', fetch: listing(['attention']) }).listModels()).rejects.toThrow(
      MavProtocolError,
    )
  })

  it('streams a run: POSTs the request as JSON and yields the events', async () => {
    const fetch = vi.fn(async () => sse(streamOf([basic.bytes])))
    const client = createMavClient({ baseUrl: '/api', fetch, headers: () => ({ 'x-token': 'fresh' }) })
    const events = await collect(client.run({ prompt: 'Hello world', max_new_tokens: 4 }))
    expect(events.map((e) => e.type)).toEqual(['meta', 'status', 'step', 'step', 'step', 'step', 'done'])
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit]
    expect(url).toBe('/api/run')
    expect(init.method).toBe('POST')
    expect(JSON.parse(init.body as string)).toEqual({ prompt: 'Hello world', max_new_tokens: 4 })
    expect(init.headers).toMatchObject({ 'content-type': 'application/json', 'x-token': 'fresh' })
  })

  it('throws MavHttpError with the server error body before any stream', async () => {
    const fetch = vi.fn(async () =>
      json({ error: { code: 'invalid_request', message: 'top_n must be <= 100', field: 'top_n' } }, 422),
    )
    const client = createMavClient({ baseUrl: '/api', fetch })
    const error = await collect(client.run({ prompt: 'x', top_n: 500 })).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MavHttpError)
    expect(error).toMatchObject({
      status: 422,
      code: 'invalid_request',
      field: 'top_n',
      message: 'top_n must be <= 100',
      type: 'http',
    })
  })

  it('reads Retry-After of a 429', async () => {
    const fetch = vi.fn(async () =>
      json({ error: { code: 'too_many_runs', message: 'busy' } }, 429, { 'retry-after': '2' }),
    )
    const error = await collect(createMavClient({ baseUrl: '/api', fetch }).run({ prompt: 'x' })).catch((e) => e)
    expect(error).toMatchObject({ status: 429, code: 'too_many_runs', retryAfter: 2 })
  })

  it('describes an error body that is not protocol JSON', async () => {
    const fetch = vi.fn(async () => new Response('<html>Bad gateway</html>', { status: 502 }))
    const error = await createMavClient({ baseUrl: '/api', fetch })
      .health()
      .catch((e) => e)
    expect(error).toBeInstanceOf(MavHttpError)
    expect(error).toMatchObject({ status: 502, code: 'http_502' })
    expect((error as Error).message).toContain('Bad gateway')
  })

  it('throws MavProtocolError for a JSON answer that is not mav/1', async () => {
    const fetch = vi.fn(async () => json({ models: [{ id: 3 }] }))
    const error = await createMavClient({ baseUrl: '/api', fetch })
      .listModels()
      .catch((e) => e)
    expect(error).toBeInstanceOf(MavProtocolError)
    expect(error).toMatchObject({ type: 'invalid-response' })
    expect((error as Error).message).toContain('models.0.id')
  })

  it('throws MavProtocolError when /run does not answer with an event stream', async () => {
    const fetch = vi.fn(async () => json({ ok: true }))
    const error = await collect(createMavClient({ baseUrl: '/api', fetch }).run({ prompt: 'x' })).catch((e) => e)
    expect(error).toBeInstanceOf(MavProtocolError)
  })

  it('aborting a run cancels the fetch and the body', async () => {
    const cancel = vi.fn()
    let signalSeen: AbortSignal | undefined
    const fetch = vi.fn(async (_url: string | URL | Request, init?: RequestInit) => {
      signalSeen = init?.signal ?? undefined
      return sse(
        new ReadableStream({
          pull(controller) {
            controller.enqueue(encoder.encode('event: status\ndata: {"phase":"generating"}\n\n'))
          },
          cancel,
        }),
      )
    })
    const controller = new AbortController()
    const client = createMavClient({ baseUrl: '/api', fetch })
    let count = 0
    for await (const _event of client.run({ prompt: 'x' }, { signal: controller.signal })) {
      if (++count === 2) controller.abort()
    }
    expect(count).toBe(2)
    expect(signalSeen?.aborted).toBe(true)
    expect(cancel).toHaveBeenCalled()
  })

  it('reports an unreachable server as MavHttpError with status 0', async () => {
    const fetch = vi.fn(async () => {
      throw new TypeError('fetch failed')
    })
    const client = createMavClient({ baseUrl: 'http://127.0.0.1:9/api', fetch })
    const error = await collect(client.run({ prompt: 'x' })).catch((e) => e)
    expect(error).toBeInstanceOf(MavHttpError)
    expect(error).toMatchObject({ status: 0, code: 'unreachable' })
    expect((error as Error).message).toContain('http://127.0.0.1:9/api/run')
    await expect(client.listModels()).rejects.toMatchObject({ code: 'unreachable' })
  })

  it('ends quietly when aborted before the response arrives', async () => {
    const controller = new AbortController()
    const fetch = vi.fn(
      (_url: string | URL | Request, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))
        }),
    )
    const pending = collect(
      createMavClient({ baseUrl: '/api', fetch }).run({ prompt: 'x' }, { signal: controller.signal }),
    )
    controller.abort()
    expect(await pending).toEqual([])
  })

  it('builds the GET URL for EventSource', () => {
    const client = createMavClient({ baseUrl: '/api', fetch: vi.fn() })
    const url = client.runUrl({ prompt: 'a b&c' })
    expect(url.startsWith('/api/run?params=')).toBe(true)
    expect(JSON.parse(decodeURIComponent(url.split('params=')[1] as string))).toEqual({ prompt: 'a b&c' })
  })

  it('refuses a missing baseUrl with a message that says what to pass', () => {
    expect(() => createMavClient({} as never)).toThrow(/baseUrl/)
  })
})
