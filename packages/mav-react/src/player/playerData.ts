import type { MavEvent, MavScale } from '@mav/client'
import type { MavPanelName } from '../MAVContainer'

/** A panel of the standalone player, by name: the container's names and the two detail panels. */
export type MavPlayerPanelName = MavPanelName | 'attention_heads' | 'logit_lens'

/** How a standalone player shows its recording. */
export interface MavPlayerOptions {
  /** Panels, in order. Default: the recording's own (`view.panels` in its header), else all five. */
  panels?: readonly MavPlayerPanelName[]
  /** Step to show first (0-based); the last one when past the end. Default: the last step. */
  step?: number
  /** Colour theme. Default `"auto"` (follows the viewer's system). */
  theme?: 'auto' | 'light' | 'dark'
  /** Bar scaling. Default: the recording's own (`view.scale`), else `"linear"`. */
  scale?: MavScale
  /** Page title. Default: the run's prompt. */
  title?: string
}

/** What a player page carries: the recording's text, untouched, and how to show it. */
export interface MavPlayerData {
  recording: string
  options: MavPlayerOptions
}

/** The id of the `<script type="application/json">` element holding {@link MavPlayerData}. */
export const PLAYER_DATA_ID = 'mav-player-data'
export const DATA_SLOT = '<!--MAV_DATA-->'
export const TITLE_SLOT = '<!--MAV_TITLE-->'

const SCRIPT_UNSAFE: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
}

/**
 * JSON that can sit inside a `<script>` element: no `<` (so no `</script>` or `<!--`), no `>` or `&`,
 * and the two line separators that old JavaScript parsers took for line ends, all as `\u` escapes.
 */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (char) => SCRIPT_UNSAFE[char] as string)
}

const HTML_UNSAFE: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Text for HTML content or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_UNSAFE[char] as string)
}

/** Fills a player template's two slots; a function replacement, so `$` in the data stays as it is. */
export function fillTemplate(template: string, data: MavPlayerData, title: string): string {
  const filled = template.replace(TITLE_SLOT, () => escapeHtml(title)).replace(DATA_SLOT, () => scriptSafeJson(data))
  return filled
}

/** The title a player shows: the option, else the prompt (shortened). */
export function playerTitle(events: readonly MavEvent[], options: MavPlayerOptions): string {
  if (options.title) return options.title
  const meta = events.find((event) => event.type === 'meta')
  const prompt = meta?.type === 'meta' ? meta.request.prompt.replace(/\s+/g, ' ').trim() : ''
  if (!prompt) return 'MAV recording'
  return prompt.length > 80 ? `${prompt.slice(0, 79)}…` : prompt
}
