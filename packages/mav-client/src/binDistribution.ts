/** One bin of the output distribution. */
export interface MavDistributionBin {
  /** Sum of the probabilities that fall in this bin. */
  sum: number
  /** The bin's label: its largest probability (openmav prints it with 4 decimals). */
  label: number
}

/**
 * openmav's "Output Distribution" bins: the top probabilities sorted ascending, cut into `bins` slices
 * at `trunc(i * n / bins)`, each summed and labelled with its last (largest) value, exactly as
 * `OutputDistributionPanel` computes them. Returned in that ascending order; openmav draws them
 * reversed, highest first.
 */
export function binDistribution(topProbs: ArrayLike<number>, bins = 20): MavDistributionBin[] {
  if (!Number.isInteger(bins) || bins < 1) {
    throw new RangeError(`binDistribution: bins must be a positive integer, got ${bins}`)
  }
  const sorted = Array.from(topProbs).sort((a, b) => a - b)
  const n = sorted.length
  if (n === 0) return []
  const step = n / bins
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? n : Math.trunc(i * step)))
  return Array.from({ length: bins }, (_, i) => {
    const start = edges[i] as number
    const end = edges[i + 1] as number
    let sum = 0
    for (let k = start; k < end; k++) sum += sorted[k] as number
    // numpy reads index -1 as the last element; an empty first bin is labelled that way in openmav.
    const labelIndex = end - 1 < 0 ? n + end - 1 : end - 1
    return { sum, label: sorted[labelIndex] as number }
  })
}
