/** How bar lengths are derived from raw values, as openmav's `--scale`. */
export type MavScale = 'linear' | 'log' | 'minmax'

/**
 * Bar lengths for raw per-layer values, the same numbers as openmav's `DataConverter.apply_scaling`:
 * `log` takes `log1p(|x|)`, `minmax` maps to [0, 1] (all zeros when the range is below 1e-9), then
 * everything is divided by the maximum and multiplied by `maxBarLength` (unless the maximum is <= 0).
 * Signs survive `linear`, so callers use `Math.abs` for the length and the sign for the colour.
 */
export function applyScaling(values: ArrayLike<number>, scale: MavScale = 'linear', maxBarLength = 20): number[] {
  let scaled = Array.from(values)
  if (scaled.length === 0) return scaled
  if (scale === 'log') {
    scaled = scaled.map((value) => Math.log1p(Math.abs(value)))
  } else if (scale === 'minmax') {
    const min = Math.min(...scaled)
    const max = Math.max(...scaled)
    scaled = max - min > 1e-9 ? scaled.map((value) => (value - min) / (max - min)) : scaled.map(() => 0)
  } else if (scale !== 'linear') {
    throw new TypeError(`applyScaling: scale must be "linear", "log" or "minmax", got ${JSON.stringify(scale)}`)
  }
  const max = Math.max(...scaled)
  return max > 0 ? scaled.map((value) => (value / max) * maxBarLength) : scaled
}
