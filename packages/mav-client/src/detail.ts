import type { MavStepData } from './protocol/events'

/**
 * The logit-lens row (0 = embeddings, i = block i) from which on the token the step chose is the top
 * candidate of every later row: where the model "settles". `null` without `lens`, or when the last row's
 * top candidate is not the chosen token (a sampled step).
 */
export function settlingLayer(step: MavStepData): number | null {
  const ids = step.lens?.ids
  if (!ids || ids.length === 0) return null
  const chosen = step.token.id
  let row = ids.length
  while (row > 0 && ids[row - 1]?.[0] === chosen) row--
  return row === ids.length ? null : row
}

/** The positions one head weighs most with their weights (0..1), strongest first; `[]` without `heads`. */
export function headTargets(step: MavStepData, layer: number, head: number): { position: number; weight: number }[] {
  const positions = step.heads?.positions[layer]?.[head]
  const weights = step.heads?.weights_pct[layer]?.[head]
  if (!positions || !weights) return []
  return positions.map((position, i) => ({ position, weight: (weights[i] ?? 0) / 100 }))
}
