import { MavProtocolError, parseRecording } from '@mav/client'
import { beforeAll, describe, expect, it } from 'vitest'
import hostileText from '../../../../fixtures/recordings/hostile.mavrec.jsonl?raw'
import recordingText from '../__fixtures__/smollm2-demo.mavrec.jsonl?raw'
import { escapeHtml, fillTemplate, playerTitle, scriptSafeJson } from '../player/playerData'

// The build puts the real page here (scripts/buildPlayer.mjs); its two slots are all this needs.
const TEMPLATE =
  '<title><!--MAV_TITLE--></title><script type="application/json" id="mav-player-data"><!--MAV_DATA--></script>'

let standaloneHtml: typeof import('../standalone').standaloneHtml
beforeAll(async () => {
  ;(globalThis as { __MAV_PLAYER_TEMPLATE__?: string }).__MAV_PLAYER_TEMPLATE__ = TEMPLATE
  standaloneHtml = (await import('../standalone')).standaloneHtml
})

/** What the player reads back: the data element's text, as the HTML parser hands it over. */
function readBack(html: string): unknown {
  const doc = new DOMParser().parseFromString(html, 'text/html')
  const scripts = doc.querySelectorAll('script')
  expect(scripts).toHaveLength(1)
  return JSON.parse(scripts[0]?.textContent ?? '')
}

describe('player data in a page', () => {
  it('script-safe JSON has no character that could end or confuse the script element', () => {
    const nasty = '</script><!--<script>&\u2028\u2029"\'\u0000'
    const json = scriptSafeJson({ text: nasty })
    expect(json).not.toMatch(/[<>&\u2028\u2029]/)
    expect(JSON.parse(json)).toEqual({ text: nasty })
  })

  it('a hostile recording round-trips through the page unchanged, and the title is text', () => {
    const html = standaloneHtml(hostileText, { theme: 'dark', step: 3 })
    expect(readBack(html)).toEqual({ recording: hostileText, options: { theme: 'dark', step: 3 } })
    const doc = new DOMParser().parseFromString(html, 'text/html')
    expect(doc.title.startsWith('</script><script>window.__mavHacked')).toBe(true)
    expect(doc.querySelectorAll('img, b, style')).toHaveLength(0)
  })

  it('keeps $ patterns in the data as they are', () => {
    const out = fillTemplate(TEMPLATE, { recording: "$& $' $` $$", options: {} }, '$&')
    expect(readBack(out)).toEqual({ recording: "$& $' $` $$", options: {} })
    expect(out).toContain('<title>$&amp;</title>')
  })

  it('escapes text for HTML', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;')
  })

  it("titles the page with the option, else the run's prompt, shortened", () => {
    const { events } = parseRecording(recordingText)
    expect(playerTitle(events, {})).toBe('The old lighthouse keeper climbed the stairs one last time, and')
    expect(playerTitle(events, { title: 'Mine' })).toBe('Mine')
    expect(playerTitle([], {})).toBe('MAV recording')
    expect(playerTitle(parseRecording(hostileText).events, {})).toHaveLength(80)
  })

  it('refuses a broken recording (naming the line) and unknown options', () => {
    const lines = recordingText.split('\n')
    const broken = [lines[0], lines[1], '{"type":"step"}'].join('\n')
    expect(() => standaloneHtml(broken)).toThrow(MavProtocolError)
    expect(() => standaloneHtml(broken)).toThrow(/line 3/)
    expect(() => standaloneHtml(recordingText, { panels: ['everything' as never] })).toThrow(/panels\[0\]/)
    expect(() => standaloneHtml(recordingText, { theme: 'neon' as never })).toThrow(/theme/)
    expect(() => standaloneHtml(recordingText, { step: -1 })).toThrow(/step/)
  })
})
