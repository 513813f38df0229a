import { createMavClient, type MavClient, type MavModelInfo, withRetries } from '@mav/client'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { act, render, renderHook, screen, waitFor } from '@testing-library/react'
import type { ReactNode } from 'react'
import { describe, expect, it, vi } from 'vitest'
import { MAVContainer, MavProvider, useMavClient, useMavRun } from '../index'
import { mavQueryKeys, useMavModels } from '../query'
import { basicRunBytes, recordingEvents, sseResponse, stepsOf } from './helpers'

const MODEL: MavModelInfo = {
  id: 'smollm2-135m',
  label: 'SmolLM2 135M',
  architecture: 'LlamaForCausalLM',
  n_layers: 30,
  n_heads: 9,
  vocab_size: 49152,
  n_params: 134515008,
  default: true,
  loaded: true,
}

/** A fetch that answers `/models` with JSON and `/run` with the golden SSE fixture in awkward chunks. */
function fakeServer(options: { hang?: boolean } = {}) {
  const signals: AbortSignal[] = []
  const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input)
    if (url.endsWith('/models')) {
      return new Response(JSON.stringify({ models: [MODEL] }), { headers: { 'content-type': 'application/json' } })
    }
    if (url.endsWith('/run')) {
      const signal = init?.signal as AbortSignal
      signals.push(signal)
      if (options.hang) {
        // Sends the meta event, then nothing until aborted, like a slow model.
        const head = basicRunBytes().slice(0, 600)
        let sent = false
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (!sent) {
              sent = true
              controller.enqueue(head)
              return
            }
            return new Promise<void>((resolve) => {
              signal.addEventListener('abort', () => {
                controller.error(new DOMException('The operation was aborted.', 'AbortError'))
                resolve()
              })
            })
          },
        })
        return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
      }
      return sseResponse(basicRunBytes(), 37, signal)
    }
    return new Response('not found', { status: 404 })
  })
  const client = createMavClient({ baseUrl: 'http://mav.test/api', fetch: fetch as typeof globalThis.fetch })
  return { fetch, client, signals }
}

describe('MavProvider and useMavModels', () => {
  it("lists the models through TanStack Query, in the app's QueryClient under mavQueryKeys", async () => {
    const { client, fetch } = fakeServer()
    const queryClient = new QueryClient()
    const wrapper = ({ children }: { children: ReactNode }) => (
      <QueryClientProvider client={queryClient}>
        <MavProvider client={client}>{children}</MavProvider>
      </QueryClientProvider>
    )
    const { result } = renderHook(() => ({ models: useMavModels(), client: useMavClient() }), { wrapper })
    await waitFor(() => expect(result.current.models.isSuccess).toBe(true))
    expect(result.current.models.data).toEqual([MODEL])
    expect(result.current.client).toBe(client)
    expect(fetch).toHaveBeenCalledWith('http://mav.test/api/models', expect.anything())
    expect(queryClient.getQueryData(mavQueryKeys.models('http://mav.test/api'))).toEqual([MODEL])
  })

  it('builds a client from baseUrl, and says what is missing', () => {
    const wrapper = ({ children }: { children: ReactNode }) => <MavProvider baseUrl="/api/">{children}</MavProvider>
    expect(renderHook(() => useMavClient(), { wrapper }).result.current.baseUrl).toBe('/api')
    vi.spyOn(console, 'error').mockImplementation(() => {})
    expect(() => renderHook(() => useMavClient())).toThrow('useMavClient must be used within <MavProvider>')
    expect(() => render(<MavProvider>x</MavProvider>)).toThrow('MavProvider needs a `client` or a `baseUrl`')
    vi.mocked(console.error).mockRestore()
  })
})

function App({ client }: { client: MavClient }) {
  const run = useMavRun({ client })
  return (
    <>
      <button type="button" onClick={() => run.start({ prompt: 'Hello world' })}>
        Run
      </button>
      <output data-testid="status">{run.state.status}</output>
      <MAVContainer store={run.store} />
    </>
  )
}

describe('useMavRun', () => {
  it('streams a run from the client into the store and the panels', async () => {
    const { client } = fakeServer()
    render(<App client={client} />)
    act(() => screen.getByRole('button', { name: 'Run' }).click())
    await waitFor(() => expect(screen.getByTestId('status').textContent).toBe('done'))
    expect(screen.getByRole('region', { name: 'Generated text' }).querySelector('.mav-text')?.textContent).toBe(
      "Hello world, I'm a",
    )
    expect(screen.getByRole('slider', { name: 'Step' }).getAttribute('aria-valuemax')).toBe('4')
  })

  it('stop() cancels the fetch and marks the run stopped', async () => {
    const { client, signals } = fakeServer({ hang: true })
    const { result } = renderHook(() => useMavRun({ client, updates: 'sync' }))
    let done: Promise<void> = Promise.resolve()
    act(() => {
      done = result.current.start({ prompt: 'Hello' })
    })
    await waitFor(() => expect(result.current.state.meta).not.toBeNull())
    act(() => result.current.stop())
    await act(() => done)
    expect(signals[0]?.aborted).toBe(true)
    expect(result.current.state.status).toBe('stopped')
  })

  it('starting a new run aborts the old one, and unmounting aborts the current one', async () => {
    const { client, signals } = fakeServer({ hang: true })
    const { result, unmount } = renderHook(() => useMavRun({ client, updates: 'sync' }))
    act(() => {
      void result.current.start({ prompt: 'first' })
    })
    await waitFor(() => expect(signals).toHaveLength(1))
    act(() => {
      void result.current.start({ prompt: 'second' })
    })
    await waitFor(() => expect(signals).toHaveLength(2))
    expect(signals[0]?.aborted).toBe(true)
    expect(signals[1]?.aborted).toBe(false)
    await waitFor(() => expect(result.current.state.meta?.request.prompt).toBe('Hello world'))
    expect(result.current.state.status).toBe('streaming')
    unmount()
    expect(signals[1]?.aborted).toBe(true)
  })

  it('replays recorded events', async () => {
    const events = recordingEvents()
    const { result } = renderHook(() => useMavRun({ updates: 'sync' }))
    await act(() => result.current.replay(events, { speed: Number.POSITIVE_INFINITY }))
    expect(result.current.state.status).toBe('done')
    expect(result.current.state.steps.length).toBe(stepsOf(events).length)
  })

  it('retries a refused run when asked, showing the wait in state.retry', async () => {
    let calls = 0
    const { fetch: serverFetch } = fakeServer()
    const client = createMavClient({
      baseUrl: 'http://mav.test/api',
      fetch: (async (input: RequestInfo | URL, init?: RequestInit) =>
        calls++ === 0
          ? new Response(JSON.stringify({ error: { code: 'model_unavailable', message: 'loading' } }), {
              status: 503,
              headers: { 'content-type': 'application/json' },
            })
          : serverFetch(input, init)) as typeof globalThis.fetch,
    })
    const { result } = renderHook(() => useMavRun({ client, updates: 'sync', retry: { baseDelayMs: 40 } }))
    const waits: Array<{ status: string; attempt: number | undefined; code: string | undefined }> = []
    const store = result.current.store
    store.subscribe(() => {
      const { status, retry } = store.getSnapshot()
      if (retry) waits.push({ status, attempt: retry.attempt, code: retry.error.code })
    })
    let done: Promise<void> = Promise.resolve()
    act(() => {
      done = result.current.start({ prompt: 'Hello' })
    })
    await act(() => done)
    expect(waits).toEqual([{ status: 'connecting', attempt: 1, code: 'model_unavailable' }])
    expect(result.current.state.status).toBe('done')
    expect(result.current.state.retry).toBeNull()
  })

  it('shows the waits of a client that already retries, unless retry is false', async () => {
    const fetch = vi.fn(
      async () =>
        new Response(JSON.stringify({ error: { code: 'too_many_runs', message: 'busy' } }), {
          status: 429,
          headers: { 'content-type': 'application/json', 'retry-after': '0' },
        }),
    )
    const client = withRetries(createMavClient({ baseUrl: '/api', fetch: fetch as typeof globalThis.fetch }), {
      attempts: 1,
    })
    const { result, rerender } = renderHook(({ retry }) => useMavRun({ client, updates: 'sync', retry }), {
      initialProps: { retry: undefined as false | undefined },
    })
    const attempts: number[] = []
    result.current.store.subscribe(() => {
      const { retry } = result.current.store.getSnapshot()
      if (retry) attempts.push(retry.attempt)
    })
    await act(() => result.current.start({ prompt: 'Hello' }))
    expect(attempts).toEqual([1])
    expect(fetch).toHaveBeenCalledTimes(2)
    expect(result.current.state.error).toMatchObject({ code: 'too_many_runs' })
    rerender({ retry: false })
    await act(() => result.current.start({ prompt: 'Hello' }))
    expect(attempts).toEqual([1])
    expect(fetch).toHaveBeenCalledTimes(3)
  })

  it('stop() ends a retry wait at once', async () => {
    const fetch = vi.fn(
      async () =>
        new Response(JSON.stringify({ error: { code: 'too_many_runs', message: 'busy' } }), {
          status: 429,
          headers: { 'content-type': 'application/json', 'retry-after': '30' },
        }),
    )
    const client = createMavClient({ baseUrl: '/api', fetch: fetch as typeof globalThis.fetch })
    const { result } = renderHook(() => useMavRun({ client, updates: 'sync', retry: { attempts: 5 } }))
    let done: Promise<void> = Promise.resolve()
    act(() => {
      done = result.current.start({ prompt: 'Hello' })
    })
    await waitFor(() => expect(result.current.state.retry?.delayMs).toBeGreaterThanOrEqual(30_000))
    act(() => result.current.stop())
    await act(() => done)
    expect(result.current.state.status).toBe('stopped')
    expect(result.current.state.retry).toBeNull()
    expect(fetch).toHaveBeenCalledTimes(1)
  })

  it('needs a client to start', async () => {
    const { result } = renderHook(() => useMavRun())
    await expect(result.current.start({ prompt: 'x' })).rejects.toThrow('useMavRun().start needs a client')
  })
})
