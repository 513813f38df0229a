import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createRunStore, MavHttpError, type MavStepEvent } from '@mav/client'
import { describeError } from '../errors'
import { recordingFromState } from '../recording'

describe('describeError', () => {
  test('the proxy failing to reach the backend, or a network error, says the backend is down', () => {
    assert.equal(
      describeError(new MavHttpError(500, 'HTTP 500 from /api/models: Internal Server Error')).kind,
      'backend-down',
    )
    assert.equal(describeError(new TypeError('Failed to fetch')).kind, 'backend-down')
    assert.equal(describeError({ type: 'error', code: 'http_502', message: 'x', retryable: true }).kind, 'backend-down')
  })

  test('429 says the backend is busy and when to retry', () => {
    const error = new MavHttpError(429, 'this server runs at most 2 generations at once', {
      code: 'too_many_runs',
      retryAfter: 2,
    })
    const friendly = describeError(error)
    assert.equal(friendly.kind, 'busy')
    assert.match(friendly.hint ?? '', /2 s/)
    assert.equal(describeError({ type: 'error', code: 'too_many_runs', message: 'x', retryable: true }).kind, 'busy')
  })

  test('a refused value names the control', () => {
    const error = new MavHttpError(400, 'temperature must be at least 0; got -1', {
      code: 'invalid_request',
      field: 'temperature',
    })
    assert.deepEqual(describeError(error).title, 'Invalid value for Temperature')
    const event = {
      type: 'error' as const,
      code: 'invalid_request',
      message: 'top_p must be at most 1',
      retryable: false,
    }
    assert.equal(describeError(event).kind, 'invalid')
  })

  test('an error during generation is a failed run', () => {
    const friendly = describeError({
      type: 'error',
      code: 'internal_error',
      message: 'CUDA out of memory',
      retryable: true,
    })
    assert.equal(friendly.kind, 'failed')
    assert.match(friendly.detail, /CUDA/)
  })
})

describe('recordingFromState', () => {
  const step = (n: number): MavStepEvent => ({
    type: 'step',
    step: n,
    token: { id: n, text: 'a' },
    text_delta: 'a',
    top: [{ id: n, text: 'a', prob: 1, logit: 1 }],
    activations: [1, 2],
    attention_entropy: [0.5],
    distribution: { entropy: 0, top_probs: [1] },
    elapsed_ms: 10 * (n + 1),
  })

  test('a run stopped by the person ends with a done event of reason stopped', () => {
    const store = createRunStore()
    store.reset('connecting')
    store.dispatch({
      type: 'meta',
      protocol: 'mav/1',
      run_id: 'r',
      model: { id: 'm', architecture: 'A', n_layers: 1, n_heads: 1, vocab_size: 10 },
      prompt_tokens: [],
      request: {
        prompt: 'p',
        max_new_tokens: 5,
        temperature: 0,
        top_k: 50,
        top_p: 1,
        min_p: 0,
        repetition_penalty: 1,
        seed: 42,
        aggregation: 'l2',
        top_n: 20,
      },
    })
    store.dispatch(step(0))
    store.dispatch(step(1))
    store.stop()
    const events = recordingFromState(store.getSnapshot())
    assert.deepEqual(
      events.map((event) => event.type),
      ['meta', 'step', 'step', 'done'],
    )
    assert.deepEqual(events.at(-1), { type: 'done', reason: 'stopped', steps: 2, elapsed_ms: 20 })
  })
})
