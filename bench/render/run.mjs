// Render benchmark: a 2,000-step 30-layer run replayed as fast as the page accepts into MAVContainer
// (all panels, timeline, history) in headless Chromium, frame times from requestAnimationFrame deltas,
// against the same page without the container; then timeline scrubs to random steps. Then the
// big-model run of big.mjs (80 layers, 10,000 steps): frames, heap, timeline seeks; then two
// 2,000-step runs fed together into MAVCompare; then the default run with detail (heads, lens) and
// every panel, the opt-in ones included, with anomaly marks.
//   node bench/render/run.mjs [--quick] [--json out.json] [--frames] [--trace trace.json]
//                             [--only default|big|compare|detail] [--from CHECKOUT]
// MAV_BENCH_NO_MINIFY=1 keeps function names in the page, for profiles.
// bench/render/ab.mjs compares two checkouts with this page.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { extname, join } from 'node:path'
import { build } from 'esbuild'
import { chromium } from 'playwright-core'
import { chromiumLaunchOptions } from '../../scripts/chromium.mjs'
import { root } from '../../scripts/lib.mjs'
import { bigRun } from './big.mjs'
import { percentile } from './stats.mjs'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const jsonPath = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined
const steps = quick ? 200 : 2000
// A run is about ten frames, so the p95 of ten runs rests on its five dearest frames; twenty runs put it
// on ten, and one slow moment of the machine moves it less.
const repeats = quick ? 1 : 20
const scrubs = quick ? 5 : 40
const pacedRepeats = quick ? 1 : 3
const compareRepeats = quick ? 1 : 20
const detailRepeats = quick ? 1 : 20
// --trace FILE: record a Chrome performance trace of one container run and print where frame time goes.
const tracePath = args.includes('--trace') ? args[args.indexOf('--trace') + 1] : undefined
// --frames: print every frame time of every run.
const printFrames = args.includes('--frames')
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined
// --from CHECKOUT: measure that checkout's built packages with this page (figures from before a change).
const from = args.includes('--from') ? args[args.indexOf('--from') + 1] : undefined

export { percentile }

const round = (n) => Number(n.toFixed(2))
const spread = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  return {
    min: round(sorted[0]),
    median: round(sorted[Math.floor(sorted.length / 2)]),
    max: round(sorted.at(-1)),
    repeats: values.length,
  }
}

/** Bundles the page of checkout `from` (default: this one) into `dir/out`. */
export async function bundle(dir, from = root) {
  // Resolve @mav/* through their built exports, as an app would, and React from the one copy @mav/react uses.
  mkdirSync(join(dir, 'node_modules', '@mav'), { recursive: true })
  symlinkSync(join(from, 'packages/mav-client'), join(dir, 'node_modules/@mav/client'))
  symlinkSync(join(from, 'packages/mav-react'), join(dir, 'node_modules/@mav/react'))
  await build({
    entryPoints: [join(from, 'bench/render/page.tsx')],
    bundle: true,
    minify: !process.env.MAV_BENCH_NO_MINIFY,
    format: 'esm',
    outdir: join(dir, 'out'),
    entryNames: 'page',
    jsx: 'automatic',
    nodePaths: [join(dir, 'node_modules'), join(from, 'packages/mav-react/node_modules')],
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  })
  writeFileSync(
    join(dir, 'out', 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="page.css"><title>loading</title></head>' +
      '<body></body><script type="module" src="page.js"></script></html>',
  )
}

export function serve(dir) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' }
  const server = createServer((req, res) => {
    const name = req.url === '/' ? 'index.html' : req.url.slice(1).split('?')[0]
    try {
      const body = readFileSync(join(dir, 'out', name))
      res.writeHead(200, { 'content-type': types[extname(name)] ?? 'application/octet-stream' }).end(body)
    } catch {
      res.writeHead(404).end()
    }
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

/** Prints the main thread's busiest trace events (self time is not separated; nested events overlap). */
function summarizeTrace(file) {
  const { traceEvents } = JSON.parse(readFileSync(file, 'utf8'))
  const main = traceEvents.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
  const totals = new Map()
  for (const e of traceEvents) {
    if (e.ph !== 'X' || e.tid !== main?.tid || !e.dur) continue
    totals.set(e.name, (totals.get(e.name) ?? 0) + e.dur / 1000)
  }
  const top = [...totals].sort((a, b) => b[1] - a[1]).slice(0, 15)
  console.log(`trace ${file}: main-thread totals (ms)`)
  for (const [name, ms] of top) console.log(`  ${ms.toFixed(1).padStart(8)}  ${name}`)
  // Each layout with how much of the tree it had to redo: the cost of a frame follows the dirty objects.
  const layouts = traceEvents.filter((e) => e.ph === 'X' && e.tid === main?.tid && e.name === 'Layout' && e.dur)
  console.log('layouts (ms, dirty objects / total objects):')
  console.log(
    `  ${layouts.map((e) => `${(e.dur / 1000).toFixed(1)} (${e.args?.beginData?.dirtyObjects}/${e.args?.beginData?.totalObjects})`).join(', ')}`,
  )
}

/** Records a Chrome performance trace of `work` into the --trace file and prints its summary. */
async function trace(browser, page, work) {
  await browser.startTracing(page, { path: tracePath, screenshots: false })
  await work()
  await browser.stopTracing()
  summarizeTrace(tracePath)
}

/** The default run (30 layers, 2,000 steps) on a page of its own; returns its figures. */
async function defaultRun(browser, url) {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } })
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`))
  await page.goto(url)
  await page.waitForFunction(() => document.title === 'ready')
  const runOnce = (mode, steps, scrubs, minMs, perFrame = 0) =>
    page.evaluate((options) => window.mavBench.run(options), { mode, steps, scrubs, minMs, perFrame })
  // One unmeasured pass of each page first: the first run also measures the JIT compiling the panels.
  const warm = await runOnce('container', steps, 0, 0)
  await runOnce('baseline', steps, 0, warm.feedMs)
  if (tracePath && only !== 'big' && only !== 'compare' && only !== 'detail')
    await trace(browser, page, () => runOnce('container', steps, 0, 0))
  const frames = { container: [], baseline: [] }
  // The first frames of a run mount the panels and then paint the history's backlog, one update lane
  // each (MAV_UPDATE_LANES in @mav/react, six); the rest update them.
  const MOUNT_FRAMES = 6
  const mountFrames = []
  const laterFrames = []
  const p95 = { container: [], baseline: [] }
  const scrub = []
  for (let r = 0; r < repeats; r++) {
    let containerMs = 0
    for (const mode of ['container', 'baseline']) {
      const result = await runOnce(mode, steps, scrubs, containerMs)
      containerMs = result.feedMs
      frames[mode].push(...result.frames)
      if (mode === 'container') {
        mountFrames.push(...result.frames.slice(0, MOUNT_FRAMES))
        laterFrames.push(...result.frames.slice(MOUNT_FRAMES))
      }
      if (printFrames) console.log(`${mode} frames (ms): ${result.frames.map((f) => f.toFixed(0)).join(' ')}`)
      p95[mode].push(percentile(result.frames, 95))
      scrub.push(...result.scrub)
      console.log(
        `${mode}: ${result.events} events in ${result.feedMs.toFixed(0)} ms, ${result.frames.length} frames, ` +
          `p95 ${percentile(result.frames, 95).toFixed(2)} ms, max ${Math.max(...result.frames).toFixed(2)} ms` +
          (result.scrub.length ? `, scrub p95 ${percentile(result.scrub, 95).toFixed(1)} ms` : ''),
      )
    }
  }
  // The same run at a steady 10 steps per frame: hundreds of frames, the mount a few of them.
  const paced = []
  const pacedP95 = []
  for (let r = 0; r < pacedRepeats; r++) {
    const result = await runOnce('container', steps, 0, 0, 10)
    paced.push(...result.frames)
    pacedP95.push(percentile(result.frames, 95))
    if (printFrames) console.log(`paced frames (ms): ${result.frames.map((f) => f.toFixed(0)).join(' ')}`)
  }
  console.log(
    `container at 10 steps per frame: ${paced.length} frames, median ${percentile(paced, 50).toFixed(2)} ms, ` +
      `p95 ${percentile(paced, 95).toFixed(2)} ms, max ${Math.max(...paced).toFixed(2)} ms`,
  )
  const over = (values, ms) => values.filter((value) => value > ms).length
  // The p95 is over every frame of every repeat: one repeat is only a few dozen frames.
  const all = frames.container
  const afterMount = laterFrames.length ? round(percentile(laterFrames, 95)) : null
  const figures = {
    render_frames_over_16_7_ms: over(all, 16.7),
    render_frame_ms_median: round(percentile(all, 50)),
    render_frame_ms_max: round(Math.max(...all)),
    render_p95_frame_ms_after_mount: afterMount,
  }
  const summary = {
    render_p95_frame_ms: round(percentile(all, 95)),
    render_p95_frame_ms_baseline: round(percentile(frames.baseline, 95)),
    render_p95_frame_ms_paced: round(percentile(paced, 95)),
    scrub_ms_p95: round(percentile(scrub, 95)),
    details: {
      ...figures,
      render_p95_frame_ms: {
        ...spread(p95.container),
        frames: all.length,
        note:
          `p95 of all ${all.length} frames of ${repeats} runs (spread: per run); median frame ` +
          `${figures.render_frame_ms_median} ms; ${figures.render_frames_over_16_7_ms} frames over 16.7 ms, ` +
          `${over(mountFrames, 16.7)} of them among each run's first ${MOUNT_FRAMES} (mounting the panels); ` +
          `p95 after those ${afterMount === null ? 'n/a (no later frames)' : `${afterMount} ms`}`,
      },
      render_p95_frame_ms_paced: {
        ...spread(pacedP95),
        frames: paced.length,
        note:
          `the same run fed 10 steps per frame, p95 of all ${paced.length} frames of ${pacedRepeats} runs (spread: per run): ` +
          `median frame ${round(percentile(paced, 50))} ms, max ${round(Math.max(...paced))} ms, ` +
          `${over(paced, 16.7)} frames over 16.7 ms`,
      },
      render_p95_frame_ms_baseline: { ...spread(p95.baseline), frames: frames.baseline.length },
      scrub_ms_p95: {
        min: round(Math.min(...scrub)),
        median: round(percentile(scrub, 50)),
        max: round(Math.max(...scrub)),
        repeats: scrub.length,
      },
    },
  }
  await page.close()
  return summary
}

/** Two 2,000-step runs fed together into MAVCompare (columns, diff rows, difference heatmaps). */
async function compareRun(browser, url) {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } })
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`))
  await page.goto(url)
  await page.waitForFunction(() => document.title === 'ready')
  const runOnce = () => page.evaluate((options) => window.mavBench.run(options), { mode: 'compare', steps })
  await runOnce()
  if (tracePath && only === 'compare') await trace(browser, page, runOnce)
  const compare = []
  const compareP95 = []
  for (let r = 0; r < compareRepeats; r++) {
    const result = await runOnce()
    compare.push(...result.frames)
    compareP95.push(percentile(result.frames, 95))
    if (printFrames) console.log(`compare frames (ms): ${result.frames.map((f) => f.toFixed(0)).join(' ')}`)
  }
  const over = compare.filter((value) => value > 16.7).length
  console.log(
    `compare (2 runs): ${compare.length} frames, median ${percentile(compare, 50).toFixed(2)} ms, ` +
      `p95 ${percentile(compare, 95).toFixed(2)} ms, max ${Math.max(...compare).toFixed(2)} ms`,
  )
  await page.close()
  return {
    render_p95_frame_ms_compare: round(percentile(compare, 95)),
    details: {
      render_p95_frame_ms_compare: {
        ...spread(compareP95),
        frames: compare.length,
        note:
          `two ${steps}-step runs fed together into MAVCompare, p95 of all ${compare.length} frames of ` +
          `${compareRepeats} runs (spread: per run); median ${round(percentile(compare, 50))} ms, ` +
          `${over} frames over 16.7 ms`,
      },
    },
  }
}

/** The default run with steps carrying heads and lens, every panel mounted and anomaly marks on. */
async function detailRun(browser, url) {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } })
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`))
  await page.goto(url)
  await page.waitForFunction(() => document.title === 'ready')
  const runOnce = () => page.evaluate((options) => window.mavBench.run(options), { mode: 'detail', steps })
  await runOnce()
  if (tracePath && only === 'detail') await trace(browser, page, runOnce)
  const frames = []
  const p95 = []
  for (let r = 0; r < detailRepeats; r++) {
    const result = await runOnce()
    frames.push(...result.frames)
    p95.push(percentile(result.frames, 95))
    if (printFrames) console.log(`detail frames (ms): ${result.frames.map((f) => f.toFixed(0)).join(' ')}`)
  }
  const over = frames.filter((value) => value > 16.7).length
  console.log(
    `detail (8 panels, anomalies): ${frames.length} frames, p95 ${percentile(frames, 95).toFixed(2)} ms, ` +
      `max ${Math.max(...frames).toFixed(2)} ms`,
  )
  await page.close()
  return {
    render_p95_frame_ms_detail: round(percentile(frames, 95)),
    details: {
      render_p95_frame_ms_detail: {
        ...spread(p95),
        frames: frames.length,
        note:
          `the same replay with steps carrying heads and lens, every panel mounted (the opt-in ones too) and ` +
          `anomaly marks on; p95 of all frames of ${detailRepeats} runs; ${over} frames over 16.7 ms`,
      },
    },
  }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'mav-render-'))
  let browser
  let server
  try {
    await bundle(dir, from)
    server = await serve(dir)
    // Chromium paces requestAnimationFrame to a 60 Hz display by default, so every delta is a multiple of
    // 16.7 ms and even an empty page misses a 16 ms goal. Without the frame-rate limit the next frame
    // starts when the last one is done, and a delta is what that frame cost.
    const launch = chromiumLaunchOptions()
    browser = await chromium.launch({
      ...launch,
      args: [...launch.args, '--disable-frame-rate-limit', '--disable-gpu-vsync'],
    })
    const url = `http://127.0.0.1:${server.address().port}/`
    const summary = { details: {} }
    for (const [name, part] of [
      ['default', defaultRun],
      ['big', (b, u) => bigRun(b, u, { quick, printFrames, trace: tracePath && only === 'big' ? trace : undefined })],
      ['compare', compareRun],
      ['detail', detailRun],
    ]) {
      if (only !== undefined && only !== name) continue
      const { details, ...figures } = await part(browser, url)
      Object.assign(summary, figures)
      Object.assign(summary.details, details)
    }
    console.log(JSON.stringify(summary))
    if (jsonPath) writeFileSync(jsonPath, `${JSON.stringify(summary, null, 2)}\n`)
  } finally {
    await browser?.close()
    server?.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
