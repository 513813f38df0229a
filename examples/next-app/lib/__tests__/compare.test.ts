import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import {
  branchRequest,
  type MavClient,
  type MavEvent,
  MavHttpError,
  type MavMetaEvent,
  type MavStepEvent,
  parseRecording,
} from '@mav/client'
import { branchPair, branchStep, compareFromQuery, compareLink, compareToQuery, examplePair } from '../compare'
import { queuedRun } from '../compareQueue'
import { DEFAULT_SETTINGS, toRunRequest } from '../settings'

describe('compare mode in the URL', () => {
  test('an empty query gives the example pair: the same prompt greedy and sampled', () => {
    const runs = compareFromQuery(new URLSearchParams())
    assert.equal(runs.length, 2)
    assert.equal(runs[0]?.temperature, '0')
    assert.equal(runs[1]?.temperature, '0.8')
  })

  test('2 to 4 runs, each request field under its letter, survive a round trip', () => {
    const runs = [
      { ...DEFAULT_SETTINGS, prompt: 'Ünïcode & a.b=c?', seed: '7', topN: '5', maxBarLength: '35', limitChars: '90' },
      {
        ...DEFAULT_SETTINGS,
        prompt: 'Other',
        temperature: '1.2',
        model: 'm2',
        chat: true,
        maxBarLength: '35',
        limitChars: '90',
      },
      { ...DEFAULT_SETTINGS, aggregation: 'max_abs' as const, topK: '0', maxBarLength: '35', limitChars: '90' },
    ]
    const link = new URL(`https://example.test${compareLink(runs)}`)
    assert.equal(link.pathname, '/compare')
    assert.equal(link.searchParams.get('b.temperature'), '1.2')
    assert.equal(link.searchParams.get('max_bar_length'), '35', 'display options once, unprefixed')
    assert.deepEqual(compareFromQuery(link.searchParams), runs)
    // Two default runs stay two default runs (not the example pair).
    assert.deepEqual(compareFromQuery(compareToQuery([DEFAULT_SETTINGS, DEFAULT_SETTINGS])), [
      DEFAULT_SETTINGS,
      DEFAULT_SETTINGS,
    ])
  })

  test('a hand-edited link: unknown letters and fields are ignored, the run count is bounded', () => {
    const runs = compareFromQuery(new URLSearchParams('runs=9&e.prompt=x&a.nope=1&b.prompt=B&scale=log'))
    assert.equal(runs.length, 4)
    assert.equal(runs[1]?.prompt, 'B')
    assert.ok(runs.every((run) => run.scale === 'log'))
    assert.equal(compareFromQuery(new URLSearchParams('c.prompt=C')).length, 3)
    assert.throws(() => compareLink([DEFAULT_SETTINGS]), /2 to 4/)
    assert.equal(examplePair({ ...DEFAULT_SETTINGS, temperature: '0.5' })[1]?.temperature, '0')
  })
})

const meta = { type: 'meta' } as MavEvent
const done = { type: 'done' } as MavEvent

/** A client whose `run` refuses with 429 `busyTimes` times, then streams `events`; counts the calls. */
function fakeClient(busyTimes: number, events: MavEvent[]) {
  let calls = 0
  const client = {
    run: () => ({
      async *[Symbol.asyncIterator]() {
        calls++
        if (calls <= busyTimes) throw new MavHttpError(429, 'busy', { code: 'busy', retryAfter: 1 })
        yield* events
      },
    }),
  } as unknown as MavClient
  return { client, calls: () => calls }
}

async function collect(iterable: AsyncIterable<MavEvent>) {
  const out: MavEvent[] = []
  for await (const event of iterable) out.push(event)
  return out
}

describe('a branch as a comparison link', () => {
  // A real greedy run of the bundled model (the react package's fixture).
  const recording = readFileSync(
    new URL('../../../../packages/mav-react/src/__fixtures__/smollm2-demo.mavrec.jsonl', import.meta.url),
    'utf8',
  )
  const events = parseRecording(recording).events
  const meta = events.find((event): event is MavMetaEvent => event.type === 'meta') as MavMetaEvent
  const steps = events.filter((event): event is MavStepEvent => event.type === 'step')
  const run = { meta, steps }

  test('is the run in one go and the branch request, through the URL and back', () => {
    const point = { step: 3, tokenId: steps[3]?.top[1]?.id as number }
    const display = { ...DEFAULT_SETTINGS, maxBarLength: '30' }
    const pair = branchPair(run, point, display)
    const link = compareLink(pair)
    assert.match(link, /b\.forced=/)
    assert.doesNotMatch(link, /a\.forced=/)
    const back = compareFromQuery(new URLSearchParams(link.slice(link.indexOf('?') + 1)))
    assert.equal(branchStep(back), 3, 'opens at the branch point')
    assert.equal(back[1]?.maxBarLength, '30')
    const [a, b] = back.map((settings) => toRunRequest(settings))
    assert.ok(a?.ok && b?.ok)
    assert.equal(a.request.forced, undefined)
    assert.equal(a.request.max_new_tokens, steps.length)
    assert.deepEqual(b.request, { ...branchRequest(run, point), model: meta.model.id })
  })

  test('forced tokens need the model and token ids, named on the field', () => {
    const bad = toRunRequest({ ...DEFAULT_SETTINGS, model: 'm', forced: '1,x' })
    assert.ok(!bad.ok && bad.problem.field === 'forced')
    const noModel = toRunRequest({ ...DEFAULT_SETTINGS, forced: '1,2' })
    assert.ok(!noModel.ok && noModel.problem.field === 'model')
    assert.equal(branchStep([DEFAULT_SETTINGS, DEFAULT_SETTINGS]), null)
  })
})

describe('queuedRun', () => {
  test('a refused run waits for its turn, says it is waiting, then streams', async () => {
    const { client, calls } = fakeClient(2, [meta, done])
    const waiting: boolean[] = []
    let turns = 0
    const events = await collect(
      queuedRun(
        client,
        { prompt: 'x' },
        {
          signal: new AbortController().signal,
          turn: async () => {
            turns++
          },
          onWaiting: (value) => waiting.push(value),
        },
      ),
    )
    assert.deepEqual(events, [meta, done])
    assert.equal(calls(), 3)
    assert.equal(turns, 2)
    assert.deepEqual(waiting, [true, true, false])
  })

  test('other refusals fail as before; an abort while waiting ends quietly', async () => {
    const refused = {
      run: () => ({
        // biome-ignore lint/correctness/useYield: refuses before any event
        async *[Symbol.asyncIterator]() {
          throw new MavHttpError(422, 'bad', { code: 'invalid_request' })
        },
      }),
    } as unknown as MavClient
    const options = { signal: new AbortController().signal, turn: async () => {}, onWaiting: () => {} }
    await assert.rejects(collect(queuedRun(refused, { prompt: 'x' }, options)), /bad/)

    const { client } = fakeClient(Number.POSITIVE_INFINITY, [])
    const controller = new AbortController()
    const pending = collect(
      queuedRun(
        client,
        { prompt: 'x' },
        { signal: controller.signal, turn: () => new Promise(() => {}), onWaiting: () => {} },
      ),
    )
    setTimeout(() => controller.abort(), 20)
    assert.deepEqual(await pending, [])
  })
})
