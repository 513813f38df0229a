/** How bar lengths are derived from raw values, as openmav's `--scale`. */
export type MavScale = 'linear' | 'log' | 'minmax'

/**
 * Bar lengths for raw per-layer values, the same numbers as openmav's `DataConverter.apply_scaling`:
 * `log` takes `log1p(|x|)`, `minmax` maps to [0, 1] (all zeros when the range is below 1e-9), then
 * everything is divided by the maximum and multiplied by `maxBarLength` (unless the maximum is <= 0).
 * Signs survive `linear`, so callers use `Math.abs` for the length and the sign for the colour.
 * Defaults: `scale` `"linear"`, `maxBarLength` 20.
 *
 * Given `out`, writes into its first `values.length` entries instead of a new array and returns it: a
 * loop over many steps (a heatmap painting a long history) then allocates nothing.
 */
export function applyScaling(values: ArrayLike<number>, scale?: MavScale, maxBarLength?: number): number[]
export function applyScaling<Out extends { [index: number]: number }>(
  values: ArrayLike<number>,
  scale: MavScale,
  maxBarLength: number,
  out: Out,
): Out
export function applyScaling(
  values: ArrayLike<number>,
  scale: MavScale = 'linear',
  maxBarLength = 20,
  out: { [index: number]: number } = new Array<number>(values.length),
): { [index: number]: number } {
  const n = values.length
  if (scale === 'linear') {
    for (let i = 0; i < n; i++) out[i] = values[i] as number
  } else if (scale === 'log') {
    for (let i = 0; i < n; i++) out[i] = Math.log1p(Math.abs(values[i] as number))
  } else if (scale === 'minmax') {
    let min = Number.POSITIVE_INFINITY
    let max = Number.NEGATIVE_INFINITY
    for (let i = 0; i < n; i++) {
      min = Math.min(min, values[i] as number)
      max = Math.max(max, values[i] as number)
    }
    const range = max - min
    for (let i = 0; i < n; i++) out[i] = range > 1e-9 ? ((values[i] as number) - min) / range : 0
  } else {
    throw new TypeError(`applyScaling: scale must be "linear", "log" or "minmax", got ${JSON.stringify(scale)}`)
  }
  // Math.max over a loop, as over a spread: a NaN anywhere makes it NaN (and the values stay unscaled).
  let max = Number.NEGATIVE_INFINITY
  for (let i = 0; i < n; i++) max = Math.max(max, out[i] as number)
  if (max > 0) for (let i = 0; i < n; i++) out[i] = ((out[i] as number) / max) * maxBarLength
  return out
}
