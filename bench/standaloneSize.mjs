// Size of the standalone player page (`mav-html`, `standaloneHtml`, the notebook view) without data:
// what every exported file weighs before its recording. Reads @mav/react's build.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { root } from '../scripts/lib.mjs'

export function standaloneSize() {
  const file = join(root, 'packages/mav-react/dist/player/mav-player.html')
  let page
  try {
    page = readFileSync(file)
  } catch {
    throw new Error(`${file} is missing: build @mav/react first`)
  }
  const gzip = gzipSync(page, { level: 9 }).length
  console.log(`standalone page: ${page.length} B, ${gzip} B gzip`)
  return {
    standalone_html_bytes: page.length,
    details: {
      standalone_html_bytes: { note: `${gzip} B gzip; React, react-dom, uPlot, @mav/client and styles inside` },
    },
  }
}
