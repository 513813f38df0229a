import type { MavMetaEvent, MavStepEvent } from './protocol/mavEvent'
import type { MavEffectiveRequest, MavRunRequest } from './protocol/request'
import type { StepList } from './stepList'

/** The parts of a run a branch or a next step is built from (a `MavRunState` has them). */
export interface MavRunSource {
  meta: MavMetaEvent | null
  steps: StepList<MavStepEvent> | readonly MavStepEvent[]
}

/** Where a branch leaves its run: the step and the token to take there instead of the chosen one. */
export interface MavBranchPoint {
  /** The step number (`step.step`) to branch at. */
  step: number
  /** The token to force at that step. */
  tokenId: number
}

/** The protocol's default `max_new_tokens`. */
const DEFAULT_MAX_NEW_TOKENS = 50

function tokenIds(steps: MavRunSource['steps'], end: number): number[] {
  const ids: number[] = []
  for (const step of steps) {
    if (ids.length >= end) break
    ids.push(step.token.id)
  }
  return ids
}

function withoutForced(request: MavEffectiveRequest): MavRunRequest {
  const { forced: _forced, ...rest } = request
  return rest
}

/**
 * The request of a branch: the run's prompt and parameters, its tokens before `point.step` and
 * `point.tokenId` forced (sent as steps marked `forced`), then as many new tokens as the run had after
 * that step (at least one), so the branch lines up with the run step for step. With the token the run
 * chose, a greedy branch gives back the run.
 */
export function branchRequest(run: MavRunSource, point: MavBranchPoint): MavRunRequest {
  const { meta, steps } = run
  if (meta === null) throw new TypeError('branchRequest needs a run that has its meta event')
  if (!Number.isSafeInteger(point.step) || point.step < 0 || point.step > steps.length) {
    throw new RangeError(`branchRequest: step must be between 0 and ${steps.length} for this run; got ${point.step}`)
  }
  if (!Number.isSafeInteger(point.tokenId) || point.tokenId < 0) {
    throw new RangeError(`branchRequest: tokenId must be a token id (an integer >= 0); got ${point.tokenId}`)
  }
  // A run stepped one token per request says less in its meta than it has: its steps count too.
  const length = Math.max((meta.forced_steps ?? 0) + meta.request.max_new_tokens, steps.length)
  return {
    ...withoutForced(meta.request),
    max_new_tokens: Math.max(1, length - point.step - 1),
    forced: { model: meta.model.id, token_ids: [...tokenIds(steps, point.step), point.tokenId] },
  }
}

/**
 * Step mode: the request for the next `count` tokens of `request` after the steps `run` has (the first
 * ones when it has none), with those steps forced and not sent again (`echo: false`). The server keeps
 * nothing between these requests. `undefined` when the run is complete: it has `request.max_new_tokens`
 * steps (default 50) or ended on an end token.
 */
export function nextStepRequest(
  request: MavRunRequest,
  run: MavRunSource & { done?: { reason: string } | null },
  count = 1,
): MavRunRequest | undefined {
  const total = request.max_new_tokens ?? DEFAULT_MAX_NEW_TOKENS
  const have = run.steps.length
  if (have >= total || run.done?.reason === 'eos') return undefined
  const { forced: _forced, ...base } = request
  const next = { ...base, max_new_tokens: Math.min(Math.max(1, count), total - have) }
  if (have === 0) return next
  if (run.meta === null) throw new TypeError('nextStepRequest needs the meta event of a run that has steps')
  return { ...next, forced: { model: run.meta.model.id, token_ids: tokenIds(run.steps, have), echo: false } }
}
