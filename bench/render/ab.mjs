// A/B of the render benchmark's page between two checkouts of this repository, in one browser: each
// round runs the same replay on both builds, alternating which goes first, so that a busy machine slows
// both alike. For comparing a change before committing it; figures go in the commit body.
//   node bench/render/ab.mjs /path/to/checkout-a /path/to/checkout-b [--rounds 8] [--big]
// Each round: a replay, a paced replay (10 steps per frame) and 10 timeline seeks per build.
// --big compares the 80-layer 10,000-step run of big.mjs instead of the default 30-layer 2,000 steps.
// --compare compares the replay of two runs into MAVCompare (run.mjs --only compare) instead.
// --detail compares the replay with heads and lens into every panel (run.mjs --only detail) instead.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { chromiumLaunchOptions } from '../../scripts/chromium.mjs'
import { timelineSeeks } from './big.mjs'
import { bundle, percentile, serve } from './run.mjs'

const args = process.argv.slice(2)
const roots = args.filter((arg) => !arg.startsWith('--') && !/^\d+$/.test(arg))
const rounds = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 8
const big = args.includes('--big')
// --seeks: only the replay and the timeline seeks (no paced runs), for a quicker comparison.
const seeksOnly = args.includes('--seeks')
const compare = args.includes('--compare')
const detail = args.includes('--detail')
const mode = compare ? 'compare' : detail ? 'detail' : 'container'
const steps = big ? 10000 : 2000
const layers = big ? 80 : 30
if (roots.length !== 2) throw new Error('usage: node bench/render/ab.mjs CHECKOUT_A CHECKOUT_B [--rounds N]')

const dirs = roots.map(() => mkdtempSync(join(tmpdir(), 'mav-render-ab-')))
const servers = []
const launch = chromiumLaunchOptions()
const browser = await chromium.launch({
  ...launch,
  args: [...launch.args, '--disable-frame-rate-limit', '--disable-gpu-vsync'],
})
try {
  const pages = []
  for (const [i, root] of roots.entries()) {
    await bundle(dirs[i], root)
    const server = await serve(dirs[i])
    servers.push(server)
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } })
    await page.goto(`http://127.0.0.1:${server.address().port}/`)
    await page.waitForFunction(() => document.title === 'ready')
    pages.push(page)
  }
  const runOnce = (page, perFrame) =>
    page.evaluate((options) => window.mavBench.run(options), { mode, steps, layers, perFrame })
  for (const page of pages) await runOnce(page, 0)
  const frames = roots.map(() => ({ replay: [], paced: [], seeks: [] }))
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0]
    for (const kind of ['replay', 'paced', 'seeks']) {
      if ((kind === 'paced' && seeksOnly) || ((compare || detail) && kind !== 'replay')) continue
      for (const i of order) {
        if (kind === 'seeks') {
          await pages[i].evaluate((o) => window.mavBench.run(o), { mode: 'container', steps, layers, keep: true })
          frames[i].seeks.push(...(await timelineSeeks(pages[i], 10)))
          await pages[i].evaluate(() => window.mavBench.release())
        } else {
          const result = await runOnce(pages[i], kind === 'paced' ? 10 : 0)
          frames[i][kind].push(...result.frames)
        }
      }
    }
  }
  for (const [i, root] of roots.entries()) {
    const { replay, paced, seeks } = frames[i]
    console.log(
      `${root}: replay p95 ${percentile(replay, 95).toFixed(1)} ms, median ${percentile(replay, 50).toFixed(1)} ms ` +
        `(${replay.length} frames); paced p95 ${percentile(paced, 95).toFixed(1)} ms, median ` +
        `${percentile(paced, 50).toFixed(1)} ms (${paced.length} frames); timeline seek p95 ` +
        `${percentile(seeks, 95).toFixed(1)} ms, median ${percentile(seeks, 50).toFixed(1)} ms (${seeks.length})`,
    )
  }
} finally {
  await browser.close()
  for (const server of servers) server.close()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
}
