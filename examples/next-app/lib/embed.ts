import { PANELS, type PanelId } from './settings'
import { RECORDING_ID } from './share'

/** What `/embed` shows, read from its query. */
export interface EmbedOptions {
  /** Where the recording comes from: a saved id's URL under the API, or `src`. */
  source: { kind: 'saved'; id: string } | { kind: 'url'; url: string }
  panels?: PanelId[]
  /** 0-based step shown first. */
  step?: number
  theme: 'auto' | 'light' | 'dark'
}

export type EmbedQuery = { ok: true; options: EmbedOptions } | { ok: false; problem: string }

/** Reads `?r=<id>` or `?src=<recording URL>`, and `panels`, `step`, `theme`; `base` resolves a relative `src`. */
export function embedFromQuery(query: URLSearchParams, base: string): EmbedQuery {
  const id = query.get('r')
  const src = query.get('src')
  let source: EmbedOptions['source']
  if (id !== null) {
    if (!RECORDING_ID.test(id)) return { ok: false, problem: `r=${JSON.stringify(id)} is not a recording id` }
    source = { kind: 'saved', id }
  } else if (src !== null) {
    let url: URL
    try {
      url = new URL(src, base)
    } catch {
      return { ok: false, problem: `src=${JSON.stringify(src)} is not a URL` }
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      return { ok: false, problem: `src must be an http(s) URL; got ${url.protocol}` }
    }
    source = { kind: 'url', url: url.href }
  } else {
    return { ok: false, problem: 'give ?r=<recording id> or ?src=<URL of a .mavrec.jsonl recording>' }
  }
  const options: EmbedOptions = { source, theme: 'auto' }
  const panels = query.get('panels')
  if (panels !== null) {
    const known = new Set<string>(PANELS.map((panel) => panel.id))
    const chosen = panels.split(',').filter((name): name is PanelId => known.has(name))
    if (chosen.length > 0) options.panels = chosen
  }
  const step = Number(query.get('step'))
  if (query.get('step') !== null && Number.isInteger(step) && step >= 0) options.step = step
  const theme = query.get('theme')
  if (theme === 'light' || theme === 'dark') options.theme = theme
  return { ok: true, options }
}
