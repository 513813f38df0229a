import { parseRecording } from '@mav/client'
import { fillTemplate, type MavPlayerOptions, type MavPlayerPanelName, playerTitle } from './player/playerData'

export type { MavPlayerOptions, MavPlayerPanelName } from './player/playerData'

// The built player page (dist/player/mav-player.html), put here by scripts/buildPlayer.mjs.
declare const __MAV_PLAYER_TEMPLATE__: string

const THEMES = ['auto', 'light', 'dark']
// Not MAV_PANELS: that would bring the components into this module; the type keeps the two in step.
const PANELS = Object.keys({
  generated_text: true,
  top_predictions: true,
  mlp_activations: true,
  attention_entropy: true,
  output_distribution: true,
  attention_heads: true,
  logit_lens: true,
  token_confidence: true,
} satisfies Record<MavPlayerPanelName, true>)

function checkOptions(options: MavPlayerOptions): void {
  options.panels?.forEach((name, index) => {
    if (!PANELS.includes(name)) {
      throw new TypeError(
        `standaloneHtml: panels[${index}] is ${JSON.stringify(name)}; expected one of ${PANELS.join(', ')}`,
      )
    }
  })
  if (options.theme !== undefined && !THEMES.includes(options.theme)) {
    throw new TypeError(`standaloneHtml: theme is ${JSON.stringify(options.theme)}; expected auto, light or dark`)
  }
  if (options.step !== undefined && !(Number.isInteger(options.step) && options.step >= 0)) {
    throw new TypeError(`standaloneHtml: step is ${options.step}; expected an integer >= 0`)
  }
}

/**
 * One self-contained HTML page that plays a `.mavrec.jsonl` recording: the player (built from
 * `@mav/react`), its styles and the recording inlined, every panel and the timeline. It loads nothing
 * (its content security policy allows no network) and opens from a file. The recording is checked first:
 * a broken one throws `MavProtocolError` naming the line.
 *
 * @example
 * const html = standaloneHtml(await file.text(), { theme: 'dark' })
 */
export function standaloneHtml(recording: string, options: MavPlayerOptions = {}): string {
  checkOptions(options)
  const { events } = parseRecording(recording)
  return fillTemplate(__MAV_PLAYER_TEMPLATE__, { recording, options }, playerTitle(events, options))
}
