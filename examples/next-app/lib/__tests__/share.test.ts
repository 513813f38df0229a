import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { parseRecording, serializeRecording } from '@mav/client'
import { embedFromQuery } from '../embed'
import { DEFAULT_SETTINGS } from '../settings'
import { readSharedRuns, settingsFromRecording, writeSharedRuns } from '../share'

const demo = readFileSync(
  new URL('../../../../packages/mav-react/src/__fixtures__/smollm2-demo.mavrec.jsonl', import.meta.url),
  'utf8',
)

function memoryStorage() {
  const items = new Map<string, string>()
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
  }
}

describe('shared runs', () => {
  test('a shared recording gives back the settings and the view it was made with', () => {
    const { events } = parseRecording(demo)
    const text = serializeRecording(events, { view: { panels: ['top_predictions', 'nope'], scale: 'log' } })
    const { header } = parseRecording(text)
    const settings = settingsFromRecording(header, events)
    assert.equal(settings.prompt, 'The old lighthouse keeper climbed the stairs one last time, and')
    assert.equal(settings.maxNewTokens, '61')
    assert.equal(settings.model, 'smollm2-135m-instruct')
    assert.deepEqual(settings.panels, ['top_predictions'], 'unknown panels are dropped')
    assert.equal(settings.scale, 'log')
    assert.deepEqual(settingsFromRecording(header, []), {
      ...DEFAULT_SETTINGS,
      panels: ['top_predictions'],
      scale: 'log',
    })
  })

  test('the list of shared runs survives storage, and bad or missing storage gives an empty list', () => {
    const storage = memoryStorage()
    const run = { id: 'A'.repeat(22), deleteToken: 't'.repeat(43), title: 'x', createdAt: '2026-01-01' }
    writeSharedRuns(storage, [run])
    assert.deepEqual(readSharedRuns(storage), [run])
    storage.setItem('mav.sharedRuns.v1', '{not json')
    assert.deepEqual(readSharedRuns(storage), [])
    storage.setItem('mav.sharedRuns.v1', JSON.stringify([run, { id: '../x', deleteToken: 1 }]))
    assert.deepEqual(readSharedRuns(storage), [run], 'entries that are not runs are left out')
    assert.deepEqual(readSharedRuns(undefined), [])
  })
})

describe('/embed query', () => {
  const base = 'https://mav.example/embed'

  test('r, panels, step and theme', () => {
    const query = new URLSearchParams({
      r: 'abcdefghijklmnopqrstuv',
      panels: 'generated_text,bogus,top_predictions',
      step: '4',
      theme: 'dark',
    })
    assert.deepEqual(embedFromQuery(query, base), {
      ok: true,
      options: {
        source: { kind: 'saved', id: 'abcdefghijklmnopqrstuv' },
        panels: ['generated_text', 'top_predictions'],
        step: 4,
        theme: 'dark',
      },
    })
  })

  test('src is resolved against the page and must be http(s)', () => {
    const relative = embedFromQuery(new URLSearchParams({ src: '/runs/a.mavrec.jsonl' }), base)
    assert.deepEqual(relative.ok && relative.options.source, {
      kind: 'url',
      url: 'https://mav.example/runs/a.mavrec.jsonl',
    })
    for (const src of ['javascript:alert(1)', 'data:text/plain,x', 'file:///etc/passwd']) {
      const result = embedFromQuery(new URLSearchParams({ src }), base)
      assert.equal(result.ok, false, src)
    }
  })

  test('a bad id, a bad step or theme, or no source at all', () => {
    assert.equal(embedFromQuery(new URLSearchParams({ r: '../../etc' }), base).ok, false)
    const result = embedFromQuery(new URLSearchParams({ r: 'abcdefghijklmnopqrstuv', step: '-2', theme: 'neon' }), base)
    assert.deepEqual(result.ok && [result.options.step, result.options.theme], [undefined, 'auto'])
    const none = embedFromQuery(new URLSearchParams(), base)
    assert.match(none.ok ? '' : none.problem, /\?r=<recording id> or \?src=/)
  })
})
