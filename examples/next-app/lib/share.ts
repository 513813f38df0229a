import { type MavEvent, MavHttpError, type MavMetaEvent, type MavRecordingHeader, parseRecording } from '@mav/client'
import { DEFAULT_SETTINGS, type DemoSettings, PANELS, type PanelId, SCALES, settingsFromRequest } from './settings'

/** What `POST /api/recordings` answers. */
export interface SavedRecording {
  id: string
  delete_token: string
  url: string
  created_at: string
  expires_at: string | null
  steps: number
}

/** A run this browser shared: enough to show its link and to delete it. */
export interface SharedRun {
  id: string
  deleteToken: string
  title: string
  createdAt: string
}

/** The form of a recording id (128 random bits, base64url). */
export const RECORDING_ID = /^[A-Za-z0-9_-]{22}$/

/** The `view` a shared recording carries in its header: how it was shown. */
export interface RecordedView {
  panels: PanelId[]
  scale: DemoSettings['scale']
}

async function failure(response: Response): Promise<MavHttpError> {
  let body: { error?: { code: string; message: string; field?: string } } | undefined
  try {
    body = await response.json()
  } catch {}
  const retryAfter = Number(response.headers.get('retry-after'))
  const error = body?.error
  return new MavHttpError(response.status, error?.message ?? `HTTP ${response.status}`, {
    code: error?.code,
    field: error?.field,
    retryAfter: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    body: error ? { error } : undefined,
  })
}

/** gzip in the browser when it can (recordings shrink several times), so large runs fit proxies' limits. */
async function compressed(text: string): Promise<{ body: BodyInit; encoding?: string }> {
  if (typeof CompressionStream === 'undefined') return { body: text }
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'))
  return { body: await new Response(stream).blob(), encoding: 'gzip' }
}

/** Saves a recording on the backend: its id (for the link) and the secret that deletes it. */
export async function saveRecording(apiBase: string, text: string): Promise<SavedRecording> {
  const { body, encoding } = await compressed(text)
  const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' }
  if (encoding) headers['content-encoding'] = encoding
  const response = await fetch(`${apiBase}/recordings`, { method: 'POST', headers, body })
  if (!response.ok) throw await failure(response)
  return (await response.json()) as SavedRecording
}

/** Deletes a shared recording; a recording already gone counts as deleted. */
export async function deleteRecording(apiBase: string, run: SharedRun): Promise<void> {
  const response = await fetch(`${apiBase}/recordings/${encodeURIComponent(run.id)}`, {
    method: 'DELETE',
    headers: { 'mav-delete-token': run.deleteToken },
  })
  if (!response.ok && response.status !== 404) throw await failure(response)
}

/** Reads a recording from a URL (a saved one, or any `.mavrec.jsonl` the browser may fetch). */
export async function fetchRecording(url: string, signal?: AbortSignal) {
  const response = await fetch(url, { signal })
  if (!response.ok) throw await failure(response)
  return parseRecording(await response.text())
}

/** The recording's own view, when its header has a valid one. */
export function recordedView(header: MavRecordingHeader): Partial<RecordedView> {
  const view = (header as { view?: { panels?: unknown; scale?: unknown } }).view
  const known = new Set<string>(PANELS.map((panel) => panel.id))
  const panels = Array.isArray(view?.panels)
    ? view.panels.filter((id): id is PanelId => typeof id === 'string' && known.has(id))
    : undefined
  const scale = SCALES.find((name) => name === view?.scale)
  return { ...(panels && panels.length > 0 ? { panels } : {}), ...(scale ? { scale } : {}) }
}

/** The form as it was for a recorded run: its request, and the view it was shared with. */
export function settingsFromRecording(header: MavRecordingHeader, events: readonly MavEvent[]): DemoSettings {
  const meta = events.find((event): event is MavMetaEvent => event.type === 'meta')
  const settings: DemoSettings = { ...DEFAULT_SETTINGS, ...recordedView(header) }
  if (!meta) return settings
  // A step-mode run's forced prefix is its own earlier steps: its form is the run made in one go.
  return { ...settingsFromRequest(meta.request, settings), forced: '', detail: settings.detail }
}

const STORAGE_KEY = 'mav.sharedRuns.v1'

function isSharedRun(value: unknown): value is SharedRun {
  const run = value as SharedRun
  return (
    typeof run === 'object' &&
    run !== null &&
    typeof run.id === 'string' &&
    RECORDING_ID.test(run.id) &&
    typeof run.deleteToken === 'string' &&
    typeof run.title === 'string' &&
    typeof run.createdAt === 'string'
  )
}

/** The runs this browser shared, newest first (what localStorage holds; nothing when it is unusable). */
export function readSharedRuns(storage: Pick<Storage, 'getItem'> | undefined): SharedRun[] {
  try {
    const parsed: unknown = JSON.parse(storage?.getItem(STORAGE_KEY) ?? '[]')
    return Array.isArray(parsed) ? parsed.filter(isSharedRun) : []
  } catch {
    return []
  }
}

export function writeSharedRuns(storage: Pick<Storage, 'setItem'> | undefined, runs: readonly SharedRun[]): void {
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify(runs))
  } catch {
    // Storage full or disabled: the list lasts until the page closes.
  }
}
