import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { parseMavStream } from '../parseMavStream'
import { collect, comparable, encoder, loadFixtures, split, streamOf } from './helpers'

const fixtures = loadFixtures()

describe('parseMavStream on the golden fixtures', () => {
  it('has every fixture', () => {
    expect(fixtures.map((f) => f.name).sort()).toEqual([
      'basic-run',
      'crlf-bom',
      'heartbeats-unknown',
      'malformed',
      'multibyte',
      'multiline-data',
      'truncated',
    ])
  })

  for (const fixture of fixtures) {
    it(`${fixture.name}: yields the expected events in one chunk`, async () => {
      const events = await collect(parseMavStream(streamOf([fixture.bytes])))
      expect(comparable(events)).toEqual(fixture.expected)
    })

    it(`${fixture.name}: yields identical events for any chunking`, async () => {
      const reference = await collect(parseMavStream(streamOf([fixture.bytes])))
      await fc.assert(
        fc.asyncProperty(fc.array(fc.nat({ max: fixture.bytes.length }), { maxLength: 40 }), async (cuts) => {
          const events = await collect(parseMavStream(streamOf(split(fixture.bytes, cuts))))
          expect(events).toEqual(reference)
        }),
        { numRuns: 60 },
      )
    })
  }

  it('yields identical events when fed one byte at a time (every multi-byte character split)', async () => {
    const multibyte = fixtures.find((f) => f.name === 'multibyte')
    if (!multibyte) throw new Error('multibyte fixture missing')
    const bytes = Array.from(multibyte.bytes, (b) => Uint8Array.of(b))
    const events = await collect(parseMavStream(streamOf(bytes)))
    expect(comparable(events)).toEqual(multibyte.expected)
    const deltas = events.flatMap((e) => (e.type === 'step' ? [e.text_delta] : []))
    expect(deltas.join('')).toBe(' 🚀日本é')
  })
})

describe('parseMavStream on bad data', () => {
  it('reports bad JSON and schema violations with the raw data and the issues, then goes on', async () => {
    const text = [
      'event: done\ndata: {"reason": "max_tokens", "steps": -1, "elapsed_ms": 3}\n\n',
      'event: status\ndata: not json\n\n',
      'event: done\ndata: {"reason": "eos", "steps": 1, "elapsed_ms": 3}\n\n',
    ].join('')
    const events = await collect(parseMavStream(streamOf([encoder.encode(text)])))
    expect(events).toHaveLength(3)
    const [first, second, third] = events
    expect(first).toMatchObject({ type: 'error', code: 'invalid_event', retryable: false })
    expect(first?.type === 'error' && first.issues?.[0]?.path).toBe('steps')
    expect(first?.type === 'error' && first.raw).toContain('"steps": -1')
    expect(second).toMatchObject({ type: 'error', code: 'invalid_event', raw: 'not json' })
    expect(third).toEqual({ type: 'done', reason: 'eos', steps: 1, elapsed_ms: 3 })
  })

  it('reports a body that fails mid-stream as a retryable network error instead of throwing', async () => {
    let sent = false
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (!sent) {
          sent = true
          controller.enqueue(encoder.encode('event: status\ndata: {"phase": "queued"}\n\n'))
        } else controller.error(new Error('connection reset'))
      },
    })
    const events = await collect(parseMavStream(body))
    expect(events).toEqual([
      { type: 'status', phase: 'queued' },
      expect.objectContaining({ type: 'error', code: 'network_error', retryable: true }),
    ])
  })

  it('truncates huge raw data in invalid_event errors', async () => {
    const huge = `event: step\ndata: {"x": "${'a'.repeat(100_000)}"}\n\nevent: done\ndata: {"reason":"eos","steps":0,"elapsed_ms":1}\n\n`
    const [error] = await collect(parseMavStream(streamOf([encoder.encode(huge)])))
    expect(error?.type === 'error' && error.raw?.length).toBeLessThan(2100)
  })
})

describe('parseMavStream and AbortSignal', () => {
  it('stops reading and cancels the body when aborted', async () => {
    const cancel = vi.fn()
    let pulls = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++
        controller.enqueue(encoder.encode(`event: status\ndata: {"phase": "generating", "progress": 0}\n\n`))
      },
      cancel,
    })
    const controller = new AbortController()
    const seen = []
    for await (const event of parseMavStream(body, { signal: controller.signal })) {
      seen.push(event)
      if (seen.length === 3) controller.abort()
    }
    expect(seen).toHaveLength(3)
    expect(cancel).toHaveBeenCalled()
    expect(pulls).toBeLessThan(10)
  })

  it('cancels the body when the consumer stops iterating early', async () => {
    const cancel = vi.fn()
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(encoder.encode(`event: status\ndata: {"phase": "queued"}\n\n`))
      },
      cancel,
    })
    for await (const _event of parseMavStream(body)) break
    expect(cancel).toHaveBeenCalled()
  })

  it('yields nothing for an already aborted signal', async () => {
    const events = await collect(
      parseMavStream(streamOf([encoder.encode('event: status\ndata: {"phase":"queued"}\n\n')]), {
        signal: AbortSignal.abort(),
      }),
    )
    expect(events).toEqual([])
  })

  it('passes comments to onComment', async () => {
    const comments: string[] = []
    await collect(
      parseMavStream(
        streamOf([encoder.encode(': ping\n\nevent: done\ndata: {"reason":"eos","steps":0,"elapsed_ms":1}\n\n')]),
        {
          onComment: (c) => comments.push(c),
        },
      ),
    )
    expect(comments.map((c) => c.trim())).toEqual(['ping'])
  })
})
