import { branchRequest, createMavClient, type MavRunRequest, parseRecording } from '@mav/client'
import { act, fireEvent, render, renderHook, screen, waitFor } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import detailText from '../__fixtures__/smollm2-detail.mavrec.jsonl?raw'
import { LogitLensPanel, MAVContainer, type MavBranchEvent, TopPredictionsPanel, useMavRun } from '../index'
import { stepsOf } from './helpers'

const VOCAB = 50
const MODEL = 'toy'

/** The toy model's greedy choice after `tokens`, and its three most likely tokens there. */
const greedy = (tokens: number[]) => (tokens.reduce((a, b) => a * 7 + b, 3) % (VOCAB - 1)) + 1
const top = (tokens: number[]) => {
  const first = greedy(tokens)
  return [first, (first + 1) % VOCAB, (first + 2) % VOCAB].map((id, rank) => ({
    id,
    text: `t${id}`,
    prob: [0.5, 0.25, 0.125][rank] as number,
    logit: 3 - rank,
  }))
}

/**
 * A mav/1 server over a deterministic toy model that honours `forced` as the protocol says (forced steps
 * echoed and marked, or only counted), and records each request. Unit test of the React layer: the real
 * server's side of this contract is tested in mav-server-py and end to end in the example's e2e tests.
 */
function toyServer() {
  const requests: MavRunRequest[] = []
  let open = 0
  const fetch = vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => {
    const request = JSON.parse(String(init?.body)) as MavRunRequest
    requests.push(request)
    open++
    const forced = request.forced?.token_ids ?? []
    const echo = request.forced?.echo ?? true
    const tokens = [1, 2, 3] // the prompt
    const frames: string[] = []
    const send = (event: string, data: object) => frames.push(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    send('meta', {
      protocol: 'mav/1',
      run_id: `run_${requests.length}`,
      model: { id: MODEL, architecture: 'Toy', n_layers: 1, n_heads: 1, vocab_size: VOCAB },
      prompt_tokens: tokens.map((id) => ({ id, text: `p${id}` })),
      request: { ...request, temperature: 0, top_k: 50, top_p: 1, min_p: 0, repetition_penalty: 1, seed: 42 },
      ...(forced.length ? { forced_steps: forced.length } : {}),
    })
    const total = forced.length + (request.max_new_tokens ?? 50)
    for (let step = 0; step < total; step++) {
      const isForced = step < forced.length
      const id = isForced ? (forced[step] as number) : greedy(tokens)
      if (!isForced || echo) {
        send('step', {
          step,
          token: { id, text: `t${id}` },
          text_delta: `t${id} `,
          top: top(tokens),
          activations: [1, 2],
          attention_entropy: [0.5],
          distribution: { entropy: 1, top_probs: [0.5, 0.25, 0.125] },
          elapsed_ms: step,
          ...(isForced ? { forced: true } : {}),
        })
      }
      tokens.push(id)
    }
    send('done', { reason: 'max_tokens', steps: total, elapsed_ms: total })
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(frames.join('')))
        controller.close()
        open--
      },
    })
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
  })
  const client = createMavClient({ baseUrl: 'http://mav.test/api', fetch: fetch as typeof globalThis.fetch })
  return { client, requests, open: () => open }
}

const ids = (state: { steps: { toArray(): { token: { id: number } }[] } }) =>
  state.steps.toArray().map((s) => s.token.id)

describe('step mode (useMavRun().step / finish)', () => {
  it('generates one token per press, nothing between presses, and the same run as in one go', async () => {
    const server = toyServer()
    const whole = renderHook(() => useMavRun({ client: server.client, updates: 'sync' }))
    const request: MavRunRequest = { prompt: 'Hi', max_new_tokens: 6 }
    await act(() => whole.result.current.start(request))
    const expected = ids(whole.result.current.state)
    expect(expected).toHaveLength(6)

    const stepped = renderHook(() => useMavRun({ client: server.client, updates: 'sync' }))
    server.requests.length = 0
    for (let press = 1; press <= 6; press++) {
      await act(async () => {
        expect(await stepped.result.current.step(request)).toBe(true)
      })
      const state = stepped.result.current.state
      expect(state.status).toBe('done')
      expect(ids(state)).toEqual(expected.slice(0, press))
      expect(server.open()).toBe(0) // no stream open, no run held between presses
      // Nothing arrives until the next press.
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(stepped.result.current.state.steps.length).toBe(press)
    }
    expect(server.requests.map((r) => r.max_new_tokens)).toEqual([1, 1, 1, 1, 1, 1])
    expect(server.requests[0]?.forced).toBeUndefined()
    expect(server.requests[3]?.forced).toEqual({ model: MODEL, token_ids: expected.slice(0, 3), echo: false })
    expect(stepped.result.current.state.text).toBe(whole.result.current.state.text)
    await act(async () => {
      expect(await stepped.result.current.step(request)).toBe(false) // complete: no request
    })
    expect(server.requests).toHaveLength(6)
  })

  it('runs to the end in one stream from wherever the steps are', async () => {
    const server = toyServer()
    const { result } = renderHook(() => useMavRun({ client: server.client, updates: 'sync' }))
    const request: MavRunRequest = { prompt: 'Hi', max_new_tokens: 5 }
    await act(() => result.current.step(request))
    await act(() => result.current.step(request))
    await act(() => result.current.finish(request))
    expect(server.requests.at(-1)?.max_new_tokens).toBe(3)
    expect(result.current.state.steps.toArray().map((s) => s.step)).toEqual([0, 1, 2, 3, 4])
    // A branch of the stepped run at its first step, with its token: the same run, as long.
    const branch = renderHook(() => useMavRun({ client: server.client, updates: 'sync' }))
    const stepped = result.current.state
    await act(() =>
      branch.result.current.start(branchRequest(stepped, { step: 0, tokenId: ids(stepped)[0] as number })),
    )
    expect(ids(branch.result.current.state)).toEqual(ids(stepped))
    // Another request starts a new stepped run.
    await act(() => result.current.step({ ...request, prompt: 'Other' }))
    expect(result.current.state.steps.length).toBe(1)
    expect(server.requests.at(-1)?.forced).toBeUndefined()
  })
})

describe('branching from TopPredictionsPanel', () => {
  it('continues with the chosen token: the branch is the original run, its first steps marked forced', async () => {
    const server = toyServer()
    const original = renderHook(() => useMavRun({ client: server.client, updates: 'sync' }))
    await act(() => original.result.current.start({ prompt: 'Hi', max_new_tokens: 8 }))
    const run = original.result.current.state
    const onBranch = vi.fn()
    render(<TopPredictionsPanel step={run.steps.at(3) ?? null} onBranch={onBranch} />)
    const chosen = run.steps.at(3)?.token
    fireEvent.click(screen.getByRole('button', { name: `Continue with "${chosen?.text}" at step 4` }))
    expect(onBranch).toHaveBeenCalledWith({ step: 3, tokenId: chosen?.id, text: chosen?.text })

    const branch = renderHook(() => useMavRun({ client: server.client, updates: 'sync' }))
    await act(() => branch.result.current.start(branchRequest(run, onBranch.mock.calls[0]?.[0])))
    const state = branch.result.current.state
    expect(ids(state)).toEqual(ids(run))
    expect(state.steps.toArray().map((s) => s.forced === true)).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ])
    expect(state.meta?.forced_steps).toBe(4)

    // Another token at step 3: the steps before are the original's, the rest differ.
    const other = run.steps.at(3)?.top[1]?.id as number
    const diverged = renderHook(() => useMavRun({ client: server.client, updates: 'sync' }))
    await act(() => diverged.result.current.start(branchRequest(run, { step: 3, tokenId: other })))
    await waitFor(() => expect(diverged.result.current.state.status).toBe('done'))
    expect(ids(diverged.result.current.state).slice(0, 4)).toEqual([...ids(run).slice(0, 3), other])
    expect(ids(diverged.result.current.state)).not.toEqual(ids(run))
  })

  it('shows no buttons without onBranch, and marks a forced step', () => {
    const step = {
      type: 'step' as const,
      step: 2,
      token: { id: 4, text: 't4' },
      text_delta: 't4',
      top: top([1]),
      activations: [1],
      attention_entropy: [1],
      distribution: { entropy: 1, top_probs: [0.5] },
      elapsed_ms: 1,
      forced: true,
    }
    const { container } = render(<TopPredictionsPanel step={step} />)
    expect(screen.queryAllByRole('button')).toHaveLength(0)
    expect(container.querySelector('[data-forced]')?.textContent).toContain('forced')
  })
})

describe('branching from LogitLensPanel', () => {
  it("gives every candidate the container's continue-with-this-token action", () => {
    const events = parseRecording(detailText).events
    const step = stepsOf(events).at(-1) as NonNullable<ReturnType<typeof stepsOf>[number]>
    const points: MavBranchEvent[] = []
    render(<MAVContainer events={events} panels={['logit_lens']} updates="sync" onBranch={(p) => points.push(p)} />)
    const lens = screen.getByRole('region', { name: 'Logit lens' })
    const cells = lens.querySelectorAll('tbody td')
    expect(lens.querySelectorAll('tbody td button')).toHaveLength(cells.length)
    // The top candidate of the embeddings row: a token the top predictions may not list.
    const cell = cells[0] as HTMLElement
    const id = Number(cell.getAttribute('data-token-id'))
    const text = step.lens?.texts[String(id)] as string
    const button = screen.getByRole('button', {
      name: `Continue with ${JSON.stringify(text)} at step ${step.step + 1}`,
    })
    button.focus()
    expect(document.activeElement).toBe(button)
    fireEvent.click(button)
    expect(points).toEqual([{ step: step.step, tokenId: id, text }])
  })

  it('has no buttons without onBranch', () => {
    const step = stepsOf(parseRecording(detailText).events)[2]
    render(<LogitLensPanel step={step} />)
    expect(screen.queryAllByRole('button')).toHaveLength(0)
  })
})
