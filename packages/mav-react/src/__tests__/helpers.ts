import { createRunStore, type MavEvent, type MavRunStore, type MavStepEvent, parseRecording } from '@mav/client'
import { act } from '@testing-library/react'

import basicRunSse from '../../../../fixtures/protocol/basic-run.sse?raw'
import recordingText from '../__fixtures__/smollm2-demo.mavrec.jsonl?raw'

/** The golden SSE fixture shared with the client and server tests. */
export const basicRunBytes = () => new TextEncoder().encode(basicRunSse)

/** The events of the committed demo recording (a real 61-step run of the bundled 30-layer model). */
export function recordingEvents(): MavEvent[] {
  return parseRecording(recordingText).events
}

export const stepsOf = (events: readonly MavEvent[]) =>
  events.filter((event): event is MavStepEvent => event.type === 'step')

/** A small hand-made step. */
export function makeStep(overrides: Partial<MavStepEvent> = {}): MavStepEvent {
  return {
    type: 'step',
    step: 0,
    token: { id: 7, text: ' world' },
    text_delta: ' world',
    top: [
      { id: 7, text: ' world', prob: 0.5, logit: 12.5 },
      { id: 8, text: '\n', prob: 0.25, logit: 11.81 },
      { id: 9, text: ' the', prob: 0.125, logit: 11.12 },
    ],
    activations: [1, -2, 4, -8],
    attention_entropy: [0.5, 1, 2],
    distribution: { entropy: 1.234, top_probs: [0.5, 0.25, 0.125] },
    elapsed_ms: 10,
    ...overrides,
  }
}

/** A store that has received `events`, dispatched inside `act`. */
export function storeWith(events: readonly MavEvent[]): MavRunStore {
  const store = createRunStore()
  act(() => {
    store.reset('connecting')
    for (const event of events) store.dispatch(event)
  })
  return store
}

/** Dispatches events to a store inside `act`. */
export function dispatch(store: MavRunStore, ...events: MavEvent[]) {
  act(() => {
    for (const event of events) store.dispatch(event)
  })
}

/** A `text/event-stream` Response streaming `bytes` in chunks of `size`, aborting with `signal`. */
export function sseResponse(bytes: Uint8Array, size = 97, signal?: AbortSignal): Response {
  let offset = 0
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (signal?.aborted) {
        controller.error(new DOMException('aborted', 'AbortError'))
        return
      }
      if (offset >= bytes.length) {
        controller.close()
        return
      }
      controller.enqueue(bytes.slice(offset, offset + size))
      offset += size
    },
  })
  return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } })
}

/** The marked steps the first anomaly ticks inside `element` draw (their paths list them). */
export function drawnMarks(element: ParentNode): number[] {
  const paths = element.querySelector('.mav-marks')?.querySelectorAll<SVGElement>('.mav-mark') ?? []
  return [...paths].flatMap((path) => (path.dataset.steps ? path.dataset.steps.split(' ').map(Number) : []))
}
