import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { DEFAULT_SETTINGS, displayOptions, settingsFromQuery, settingsToQuery, toRunRequest } from '../settings'

describe('settings in the URL', () => {
  test('defaults make an empty query, and an empty query gives the defaults', () => {
    assert.equal(settingsToQuery(DEFAULT_SETTINGS).toString(), '')
    assert.deepEqual(settingsFromQuery(new URLSearchParams()), DEFAULT_SETTINGS)
  })

  test('every setting survives a round trip through a shared link', () => {
    const settings = {
      ...DEFAULT_SETTINGS,
      prompt: 'Ünïcode & spaces?',
      model: 'smollm2-135m-instruct',
      maxNewTokens: '200',
      temperature: '0.7',
      topK: '0',
      topP: '0.9',
      minP: '0.05',
      repetitionPenalty: '1.2',
      seed: '7',
      topN: '5',
      aggregation: 'max_abs' as const,
      scale: 'log' as const,
      chat: true,
      panels: ['mlp_activations' as const, 'attention_entropy' as const],
      maxBarLength: '35',
      limitChars: '400',
      rows: '3',
    }
    const link = `https://example.test/?${settingsToQuery(settings)}`
    assert.deepEqual(settingsFromQuery(new URL(link).searchParams), settings)
  })

  test('unknown values in a hand-edited link fall back to the defaults', () => {
    const settings = settingsFromQuery(new URLSearchParams('scale=cubic&aggregation=mean&panels=mlp_activations,nope'))
    assert.equal(settings.scale, DEFAULT_SETTINGS.scale)
    assert.equal(settings.aggregation, DEFAULT_SETTINGS.aggregation)
    assert.deepEqual(settings.panels, ['mlp_activations'])
  })
})

describe('toRunRequest', () => {
  test('the defaults make a valid request with numbers, without a model', () => {
    const result = toRunRequest(DEFAULT_SETTINGS)
    assert.ok(result.ok)
    assert.deepEqual(result.request, {
      prompt: DEFAULT_SETTINGS.prompt,
      aggregation: 'l2',
      chat: false,
      max_new_tokens: 50,
      temperature: 0,
      top_k: 50,
      top_p: 1,
      min_p: 0,
      repetition_penalty: 1,
      seed: 42,
      top_n: 20,
    })
  })

  test('deeper views ask for every step detail, and survive a shared link', () => {
    const settings = { ...DEFAULT_SETTINGS, detail: true }
    const result = toRunRequest(settings)
    assert.ok(result.ok)
    assert.deepEqual(result.request.detail, ['heads', 'lens'])
    assert.equal(settingsToQuery(settings).get('detail'), '1')
    assert.deepEqual(settingsFromQuery(settingsToQuery(settings)), settings)
  })

  test('a bad value names its control, the value and why', () => {
    const cases: [Partial<typeof DEFAULT_SETTINGS>, string, RegExp][] = [
      [{ temperature: '-1' }, 'Temperature', /-1/],
      [{ topP: '0' }, 'Top-p', /0/],
      [{ maxNewTokens: '2.5' }, 'Max tokens', /2\.5/],
      [{ minP: 'abc' }, 'Min-p', /"abc" is not a number/],
      [{ repetitionPenalty: '' }, 'Repetition penalty', /not a number/],
      [{ prompt: '   ' }, 'Prompt', /enter some text/],
      [{ seed: '-3' }, 'Seed', /-3/],
      [{ topN: '101' }, 'Top-n', /101/],
    ]
    for (const [change, label, message] of cases) {
      const result = toRunRequest({ ...DEFAULT_SETTINGS, ...change })
      assert.ok(!result.ok, JSON.stringify(change))
      assert.equal(result.problem.label, label)
      assert.match(result.problem.message, message)
    }
  })
})

describe('displayOptions', () => {
  test("openmav's display options by their names in the URL, as numbers for MAVContainer", () => {
    const settings = settingsFromQuery(new URLSearchParams('max_bar_length=35&limit_chars=400&num_grid_rows=3'))
    assert.deepEqual(displayOptions(settings), { maxBarLength: 35, limitChars: 400, rows: 3 })
  })

  test('an unusable value falls back to the default; rows default by the number of panels', () => {
    const settings = { ...DEFAULT_SETTINGS, maxBarLength: 'x', limitChars: '-5', rows: '' }
    assert.deepEqual(displayOptions(settings), { maxBarLength: 20, limitChars: 250, rows: 2 })
    assert.equal(displayOptions({ ...settings, panels: ['generated_text'] }).rows, 1)
    assert.equal(displayOptions({ ...settings, rows: '2.6' }).rows, 3)
  })
})
