import type { MavEvent, MavRunState } from '@mav/client'

/**
 * The events of a run as a recording holds them: `meta`, the last `status` before the first token,
 * every `step`, then the `error` and `done` that ended it (those that happened).
 */
export function recordingFromState(state: MavRunState): MavEvent[] {
  const events: MavEvent[] = []
  if (state.meta) events.push(state.meta)
  if (state.phase) events.push(state.phase)
  for (const step of state.steps) events.push(step)
  if (state.error) events.push(state.error)
  if (state.done) events.push(state.done)
  else if (state.status === 'stopped' || state.status === 'error') {
    // Stopped by the person (the stream was closed, so the server sent no `done`): say so, so that a
    // replay ends as the run did instead of looking unfinished.
    const last = state.steps.last()
    events.push({
      type: 'done',
      reason: state.status,
      steps: state.steps.length,
      elapsed_ms: last?.elapsed_ms ?? 0,
    })
  }
  return events
}

/** `mav-<model>-<run id>.mavrec.jsonl`, safe as a file name. */
export function recordingFileName(state: MavRunState): string {
  const parts = ['mav', state.meta?.model.id, state.meta?.run_id].filter((part): part is string => Boolean(part))
  return `${parts.join('-').replace(/[^A-Za-z0-9._-]+/g, '_')}.mavrec.jsonl`
}
