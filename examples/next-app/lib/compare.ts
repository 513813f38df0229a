import { branchRequest, type MavBranchPoint, type MavRunSource } from '@mav/client'
import {
  DEFAULT_SETTINGS,
  type DemoSettings,
  REQUEST_QUERY_NAMES,
  settingsFromQuery,
  settingsFromRequest,
  settingsToQuery,
} from './settings'

/** The letters of a comparison's runs, in order: their names ("Run A") and URL prefixes (`a.prompt`). */
export const RUN_LETTERS = ['a', 'b', 'c', 'd'] as const
export const MIN_RUNS = 2
export const MAX_RUNS = RUN_LETTERS.length

export const runLabel = (index: number) => `Run ${(RUN_LETTERS[index] ?? '?').toUpperCase()}`

const isRequestName = (name: string) => REQUEST_QUERY_NAMES.includes(name)

/** A first comparison: the same prompt greedy and sampled. */
export function examplePair(base: DemoSettings = DEFAULT_SETTINGS): DemoSettings[] {
  return [base, { ...base, temperature: base.temperature === '0' ? '0.8' : '0' }]
}

/**
 * Reads a comparison from a URL query: each run's request under its letter (`a.prompt`, `b.temperature`,
 * ...), the display settings once, unprefixed (`scale`, `max_bar_length`, `limit_chars`, `panels`).
 * `runs=N` says how many runs (2 to 4); a query without any run gives the example pair.
 */
export function compareFromQuery(query: URLSearchParams): DemoSettings[] {
  const display = new URLSearchParams()
  const perRun = RUN_LETTERS.map(() => new URLSearchParams())
  let highest = -1
  for (const [key, value] of query) {
    const dot = key.indexOf('.')
    const index = dot === 1 ? RUN_LETTERS.indexOf(key[0] as (typeof RUN_LETTERS)[number]) : -1
    if (index >= 0 && isRequestName(key.slice(2))) {
      perRun[index]?.set(key.slice(2), value)
      highest = Math.max(highest, index)
    } else if (!isRequestName(key)) {
      display.set(key, value)
    }
  }
  const asked = Number(query.get('runs'))
  if (highest < 0 && !query.has('runs')) return examplePair(settingsFromQuery(display))
  const count = Math.min(MAX_RUNS, Math.max(MIN_RUNS, highest + 1, Number.isInteger(asked) ? asked : 0))
  return perRun.slice(0, count).map((own) => {
    const merged = new URLSearchParams(display)
    for (const [key, value] of own) merged.set(key, value)
    return settingsFromQuery(merged)
  })
}

/** The query of a comparison: `runs`, each run's request fields that differ from the defaults, the display once (from the first run). */
export function compareToQuery(runs: readonly DemoSettings[]): URLSearchParams {
  const query = new URLSearchParams()
  query.set('runs', String(runs.length))
  runs.forEach((run, index) => {
    for (const [key, value] of settingsToQuery(run)) {
      if (isRequestName(key)) query.set(`${RUN_LETTERS[index]}.${key}`, value)
    }
  })
  for (const [key, value] of settingsToQuery(runs[0] ?? DEFAULT_SETTINGS)) {
    if (!isRequestName(key)) query.set(key, value)
  }
  return query
}

/** The link that opens compare mode with these runs (what "Compare" buttons elsewhere link to). */
export function compareLink(runs: readonly DemoSettings[]): string {
  if (runs.length < MIN_RUNS || runs.length > MAX_RUNS) {
    throw new RangeError(`compareLink: ${runs.length} runs; a comparison has ${MIN_RUNS} to ${MAX_RUNS}`)
  }
  return `/compare?${compareToQuery(runs)}`
}

/** Compare mode starting from one run's settings: it, and it greedy or sampled (whichever it is not). */
export function compareLinkFrom(settings: DemoSettings): string {
  return compareLink(examplePair(settings))
}

/**
 * A branch as a comparison: the run as made in one go, and the branch (its request from `branchRequest`:
 * the same settings, the run's tokens before the branch point and the chosen token forced). Opening it
 * re-runs both, so a greedy or seeded run comes back as it was. `display` gives the view settings.
 */
export function branchPair(run: MavRunSource, point: MavBranchPoint, display: DemoSettings): DemoSettings[] {
  const { meta } = run
  if (meta === null) throw new TypeError('branchPair needs a run that has its meta event')
  const branch = branchRequest(run, point)
  const { forced: _forced, ...request } = meta.request
  // A stepped run's meta asks for one token after a forced prefix: as one run, it is all its steps.
  const length = Math.max((meta.forced_steps ?? 0) + request.max_new_tokens, run.steps.length)
  const model = meta.model.id
  return [
    settingsFromRequest({ ...request, model, max_new_tokens: length }, display),
    settingsFromRequest({ ...branch, model }, display),
  ]
}

/** The step a comparison opens at: the branch point of the first run with forced tokens, else none. */
export function branchStep(runs: readonly DemoSettings[]): number | null {
  const forced = runs.find((run) => run.forced.trim() !== '')
  return forced ? forced.forced.split(',').length - 1 : null
}
