import { createRunStore, type MavEvent, type MavRunStore, type MavStepEvent, parseRecording } from '@mav/client'
import recordingText from '../__fixtures__/smollm2-demo.mavrec.jsonl?raw'
import detailText from '../__fixtures__/smollm2-detail.mavrec.jsonl?raw'
import { syntheticRun } from '../__fixtures__/syntheticRun'

/** The demo recording: a real 61-step greedy run of the bundled SmolLM2-135M-Instruct (30 layers, 9 heads). */
export const recording: MavEvent[] = parseRecording(recordingText).events

/** A real 14-step greedy run of the bundled SmolLM2 with `detail: ["heads", "lens"]`. */
export const detailRecording: MavEvent[] = parseRecording(detailText).events

/** A step of the detail recording, for standalone panel stories. */
export const detailStep = detailRecording.filter(
  (event): event is MavStepEvent => event.type === 'step',
)[6] as MavStepEvent

export const recordedSteps = recording.filter((event): event is MavStepEvent => event.type === 'step')

/** A step in the middle of the recording, for standalone panel stories. */
export const sampleStep = recordedSteps[24] as MavStepEvent

/** The same run with signed activations, to show both bar colours. */
export const signedSteps = syntheticRun({ signed: true }).filter(
  (event): event is MavStepEvent => event.type === 'step',
)

/** A run that failed after 12 steps. */
export const failedRun: MavEvent[] = syntheticRun({ failAfter: 12 })

/** A run refused before any step. */
export const refusedRun: MavEvent[] = [
  { type: 'error', code: 'model_not_found', message: 'No model "llama-70b" on this server', retryable: false },
]

/** A store caught while the model loads. */
export function loadingStore(): MavRunStore {
  const store = createRunStore()
  store.reset('connecting')
  const meta = recording[0] as MavEvent
  store.dispatch(meta)
  store.dispatch({ type: 'status', phase: 'loading_model', progress: 0.42, message: 'Loading smollm2-135m' })
  return store
}

let long: MavEvent[] | undefined
/** A 2,000-step run of the same shape, made on first use. */
export function longRun(): MavEvent[] {
  long ??= syntheticRun({ steps: 2000, seed: 7 })
  return long
}
