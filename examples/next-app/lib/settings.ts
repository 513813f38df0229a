import { type MavRunRequest, type MavScale, runRequestSchema } from '@mav/client'

/** The panels a visualisation can show, in openmav's `--selected-panels` names. */
export const PANELS = [
  { id: 'generated_text', label: 'Generated text' },
  { id: 'top_predictions', label: 'Top predictions' },
  { id: 'mlp_activations', label: 'MLP activations' },
  { id: 'attention_entropy', label: 'Attention entropy' },
  { id: 'output_distribution', label: 'Output distribution' },
  // Opt-in: the first two need a run with detail on.
  { id: 'attention_heads', label: 'Attention heads' },
  { id: 'logit_lens', label: 'Logit lens' },
  { id: 'token_confidence', label: 'Token confidence' },
] as const

export type PanelId = (typeof PANELS)[number]['id']

export const SCALES: readonly MavScale[] = ['linear', 'log', 'minmax']
export const AGGREGATIONS = ['l2', 'max_abs'] as const

/**
 * Everything the form holds. Numbers stay the text the person typed until Start, so a half-typed
 * value ("0.") is not rewritten under their cursor; {@link toRunRequest} checks them.
 */
export interface DemoSettings {
  prompt: string
  /** Model id; `""` lets the server pick its default. */
  model: string
  maxNewTokens: string
  temperature: string
  topK: string
  topP: string
  minP: string
  repetitionPenalty: string
  seed: string
  /** Predictions per step (`top_n`). */
  topN: string
  /** A branch's forced tokens (`forced.token_ids`), comma-separated ids; `""` for none. Needs `model`. */
  forced: string
  aggregation: (typeof AGGREGATIONS)[number]
  scale: MavScale
  chat: boolean
  /** Ask for every step detail (heads, logit lens) and mark anomalies. */
  detail: boolean
  panels: PanelId[]
  /** Longest bar, as openmav's `--max-bar-length`. */
  maxBarLength: string
  /** Characters of generated text shown, as openmav's `--limit-chars`. */
  limitChars: string
  /** Grid rows, as openmav's `--num-grid-rows`; `""` = 1 for up to 3 panels, else 2. */
  rows: string
}

export const DEFAULT_SETTINGS: DemoSettings = {
  prompt: 'The printing press changed Europe because',
  model: '',
  maxNewTokens: '50',
  temperature: '0',
  topK: '50',
  topP: '1',
  minP: '0',
  repetitionPenalty: '1',
  seed: '42',
  topN: '20',
  forced: '',
  aggregation: 'l2',
  scale: 'linear',
  chat: false,
  detail: false,
  panels: ['generated_text', 'top_predictions', 'mlp_activations', 'attention_entropy', 'output_distribution'],
  maxBarLength: '20',
  limitChars: '250',
  rows: '',
}

type RequestTextKey =
  | 'prompt'
  | 'model'
  | 'maxNewTokens'
  | 'temperature'
  | 'topK'
  | 'topP'
  | 'minP'
  | 'repetitionPenalty'
  | 'seed'
  | 'topN'
  | 'forced'
type DisplayTextKey = 'maxBarLength' | 'limitChars' | 'rows'
type TextKey = RequestTextKey | DisplayTextKey

/** URL query name of each request setting: the request's wire names, so a shared link reads like the API. */
export const REQUEST_QUERY_KEYS: Record<RequestTextKey, string> = {
  prompt: 'prompt',
  model: 'model',
  maxNewTokens: 'max_new_tokens',
  temperature: 'temperature',
  topK: 'top_k',
  topP: 'top_p',
  minP: 'min_p',
  repetitionPenalty: 'repetition_penalty',
  seed: 'seed',
  topN: 'top_n',
  forced: 'forced',
}

/** URL query name of each display setting: openmav's option names. */
const DISPLAY_QUERY_KEYS: Record<DisplayTextKey, string> = {
  maxBarLength: 'max_bar_length',
  limitChars: 'limit_chars',
  rows: 'num_grid_rows',
}

const QUERY_KEYS: Record<TextKey, string> = { ...REQUEST_QUERY_KEYS, ...DISPLAY_QUERY_KEYS }

/** Query names that belong to a run's request (the rest are how runs are shown). */
export const REQUEST_QUERY_NAMES: readonly string[] = [...Object.values(REQUEST_QUERY_KEYS), 'aggregation', 'chat']

/** The form label of each request field, for error messages that point at the right control. */
export const FIELD_LABELS: Record<string, string> = {
  prompt: 'Prompt',
  model: 'Model',
  max_new_tokens: 'Max tokens',
  temperature: 'Temperature',
  top_k: 'Top-k',
  top_p: 'Top-p',
  min_p: 'Min-p',
  repetition_penalty: 'Repetition penalty',
  seed: 'Seed',
  top_n: 'Top-n',
  forced: 'Forced tokens',
  aggregation: 'Aggregation',
  chat: 'Chat template',
  detail: 'Deeper views',
}

const oneOf = <T extends string>(values: readonly T[], value: string | null, fallback: T): T =>
  value !== null && (values as readonly string[]).includes(value) ? (value as T) : fallback

/** Reads settings from a URL query; anything missing or unknown keeps its default. */
export function settingsFromQuery(query: URLSearchParams): DemoSettings {
  const settings: DemoSettings = { ...DEFAULT_SETTINGS }
  for (const [key, name] of Object.entries(QUERY_KEYS) as [TextKey, string][]) {
    const value = query.get(name)
    if (value !== null) settings[key] = value
  }
  settings.aggregation = oneOf(AGGREGATIONS, query.get('aggregation'), DEFAULT_SETTINGS.aggregation)
  settings.scale = oneOf(SCALES, query.get('scale'), DEFAULT_SETTINGS.scale)
  const chat = query.get('chat')
  if (chat !== null) settings.chat = chat === '1' || chat === 'true'
  const detail = query.get('detail')
  if (detail !== null) settings.detail = detail === '1' || detail === 'true'
  const panels = query.get('panels')
  if (panels !== null) {
    const known = new Set<string>(PANELS.map((panel) => panel.id))
    settings.panels = panels.split(',').filter((id): id is PanelId => known.has(id))
  }
  return settings
}

/** Writes the settings that differ from the defaults, so the shared link stays short. */
export function settingsToQuery(settings: DemoSettings): URLSearchParams {
  const query = new URLSearchParams()
  for (const [key, name] of Object.entries(QUERY_KEYS) as [TextKey, string][]) {
    if (settings[key] !== DEFAULT_SETTINGS[key]) query.set(name, settings[key])
  }
  if (settings.aggregation !== DEFAULT_SETTINGS.aggregation) query.set('aggregation', settings.aggregation)
  if (settings.scale !== DEFAULT_SETTINGS.scale) query.set('scale', settings.scale)
  if (settings.chat !== DEFAULT_SETTINGS.chat) query.set('chat', settings.chat ? '1' : '0')
  if (settings.detail !== DEFAULT_SETTINGS.detail) query.set('detail', settings.detail ? '1' : '0')
  if (settings.panels.join(',') !== DEFAULT_SETTINGS.panels.join(',')) query.set('panels', settings.panels.join(','))
  return query
}

/** A form value the request cannot use: which field, under which label, and why. */
export interface SettingsProblem {
  field: string
  label: string
  message: string
}

export type RunRequestResult = { ok: true; request: MavRunRequest } | { ok: false; problem: SettingsProblem }

function problem(field: string, message: string): RunRequestResult {
  return { ok: false, problem: { field, label: FIELD_LABELS[field] ?? field, message } }
}

/**
 * Turns the form into a `POST /run` body, checked with the protocol's own schema, so a bad value is
 * reported on its control before anything is sent.
 */
export function toRunRequest(settings: DemoSettings): RunRequestResult {
  const numbers: [string, string][] = [
    ['max_new_tokens', settings.maxNewTokens],
    ['temperature', settings.temperature],
    ['top_k', settings.topK],
    ['top_p', settings.topP],
    ['min_p', settings.minP],
    ['repetition_penalty', settings.repetitionPenalty],
    ['seed', settings.seed],
    ['top_n', settings.topN],
  ]
  const body: Record<string, unknown> = {
    prompt: settings.prompt,
    aggregation: settings.aggregation,
    chat: settings.chat,
  }
  if (settings.detail) body.detail = ['heads', 'lens']
  if (settings.model !== '') body.model = settings.model
  for (const [field, text] of numbers) {
    const trimmed = text.trim()
    const value = Number(trimmed)
    if (trimmed === '' || !Number.isFinite(value)) {
      return problem(field, `"${text}" is not a number`)
    }
    body[field] = value
  }
  if (settings.prompt.trim() === '') return problem('prompt', 'enter some text for the model to continue')
  if (settings.forced.trim() !== '') {
    const ids = settings.forced.split(',').map((id) => Number(id.trim()))
    if (!ids.every((id) => Number.isSafeInteger(id) && id >= 0)) {
      return problem('forced', `"${settings.forced}" is not a list of token ids (integers >= 0, comma-separated)`)
    }
    if (settings.model === '') return problem('model', 'forced tokens need the model that made them')
    body.forced = { model: settings.model, token_ids: ids }
  }
  const parsed = runRequestSchema.safeParse(body)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const field = String(issue?.path[0] ?? 'request')
    return problem(field, `${JSON.stringify(body[field])} is not allowed: ${issue?.message ?? 'invalid value'}`)
  }
  return { ok: true, request: body as MavRunRequest }
}

/** The form's settings of a request (e.g. a run's `meta.request`): its fields over `base`'s. */
export function settingsFromRequest(request: MavRunRequest, base: DemoSettings = DEFAULT_SETTINGS): DemoSettings {
  return {
    ...base,
    prompt: request.prompt,
    model: request.model ?? '',
    maxNewTokens: String(request.max_new_tokens ?? DEFAULT_SETTINGS.maxNewTokens),
    temperature: String(request.temperature ?? DEFAULT_SETTINGS.temperature),
    topK: String(request.top_k ?? DEFAULT_SETTINGS.topK),
    topP: String(request.top_p ?? DEFAULT_SETTINGS.topP),
    minP: String(request.min_p ?? DEFAULT_SETTINGS.minP),
    repetitionPenalty: String(request.repetition_penalty ?? DEFAULT_SETTINGS.repetitionPenalty),
    seed: String(request.seed ?? DEFAULT_SETTINGS.seed),
    topN: String(request.top_n ?? DEFAULT_SETTINGS.topN),
    forced: request.forced?.token_ids.join(',') ?? '',
    aggregation: request.aggregation ?? DEFAULT_SETTINGS.aggregation,
    chat: request.chat ?? DEFAULT_SETTINGS.chat,
    detail: (request.detail?.length ?? 0) > 0,
  }
}

/** What `MAVContainer` takes for the display settings; a value it cannot use falls back to the default. */
export interface DisplayOptions {
  maxBarLength: number
  limitChars: number
  rows: number
}

function positive(text: string, fallback: number, integer: boolean): number {
  const value = Number(text.trim())
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) return fallback
  return integer ? Math.max(1, Math.round(value)) : value
}

/** The display settings as numbers, each falling back to its default when unusable. */
export function displayOptions(settings: DemoSettings): DisplayOptions {
  return {
    maxBarLength: positive(settings.maxBarLength, Number(DEFAULT_SETTINGS.maxBarLength), false),
    limitChars: positive(settings.limitChars, Number(DEFAULT_SETTINGS.limitChars), true),
    rows: positive(settings.rows, settings.panels.length > 3 ? 2 : 1, true),
  }
}
