// The big-model part of the render benchmark: a 70B-class run (80 layers, 64 heads) of 10,000 steps
// replayed into MAVContainer with every default panel, on a page of its own. Frame times as run.mjs
// measures them; the page's JS heap after a garbage collection with the finished run on screen; and
// timeline seeks made with Chromium's own pointer, from the pointerdown to the frame painted with the
// chosen step.
import { percentile } from './stats.mjs'

const round = (n) => Number(n.toFixed(2))
const spread = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  return {
    min: round(sorted[0]),
    median: round(percentile(sorted, 50)),
    max: round(sorted.at(-1)),
    repeats: values.length,
  }
}

/** Used JS heap of `page` in MB after a full garbage collection. */
async function heapMb(cdp) {
  await cdp.send('HeapProfiler.collectGarbage')
  const { usedSize } = await cdp.send('Runtime.getHeapUsage')
  return usedSize / 2 ** 20
}

/**
 * Seeks the kept container `count` times by clicking the timeline's slider at seeded places; returns
 * each seek's time and step.
 */
export async function timelineSeeks(page, count) {
  const times = []
  let seed = 7
  let previous = -1
  for (let i = 0; i < count; i++) {
    let fraction
    do {
      seed = (seed * 16807) % 2147483647
      fraction = 0.02 + (seed / 2147483647) * 0.96
    } while (Math.abs(fraction - previous) < 0.01)
    previous = fraction
    const point = await page.evaluate((f) => window.mavBench.sliderPoint(f), fraction)
    await page.evaluate(() => window.mavBench.armSeek())
    await page.mouse.click(point.x, point.y)
    const { ms } = await page.evaluate(() => window.mavBench.seekDone())
    times.push(ms)
  }
  return times
}

/** Runs the 80 x 10,000 replay on a new page of `browser` at `url`; returns its figures. */
export async function bigRun(browser, url, { quick = false, printFrames = false, trace } = {}) {
  const shape = { steps: quick ? 500 : 10000, layers: 80, heads: 64 }
  const repeats = quick ? 1 : 3
  const seeks = quick ? 5 : 40
  const label = `${shape.layers}x${shape.steps}`
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } })
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`))
  try {
    await page.goto(url)
    await page.waitForFunction(() => document.title === 'ready')
    const cdp = await page.context().newCDPSession(page)
    const runOnce = (options) => page.evaluate((o) => window.mavBench.run(o), { ...shape, ...options })
    const warm = await runOnce({ mode: 'container' })
    await runOnce({ mode: 'baseline', minMs: warm.feedMs })
    if (trace) await trace(browser, page, () => runOnce({ mode: 'container' }))
    const frames = { container: [], baseline: [] }
    const p95 = { container: [], baseline: [] }
    for (let r = 0; r < repeats; r++) {
      let containerMs = 0
      for (const mode of ['container', 'baseline']) {
        const result = await runOnce({ mode, minMs: containerMs })
        containerMs = result.feedMs
        frames[mode].push(...result.frames)
        p95[mode].push(percentile(result.frames, 95))
        if (printFrames)
          console.log(`${label} ${mode} frames (ms): ${result.frames.map((f) => f.toFixed(0)).join(' ')}`)
        console.log(
          `${label} ${mode}: ${result.events} events in ${result.feedMs.toFixed(0)} ms, ${result.frames.length} frames, ` +
            `p95 ${percentile(result.frames, 95).toFixed(2)} ms, max ${Math.max(...result.frames).toFixed(2)} ms`,
        )
      }
    }
    // The heap with the run's events alone (as an app holds a parsed recording), then with the finished
    // run on screen, then after seeks all over it.
    const eventsOnly = await heapMb(cdp)
    await runOnce({ mode: 'container', keep: true })
    const shown = await heapMb(cdp)
    const seekMs = await timelineSeeks(page, seeks)
    const afterSeeks = await heapMb(cdp)
    await page.evaluate(() => window.mavBench.release())
    console.log(
      `${label} heap: ${eventsOnly.toFixed(1)} MB with the events only, ${shown.toFixed(1)} MB with the run shown, ` +
        `${afterSeeks.toFixed(1)} MB after ${seeks} seeks; seek p95 ${percentile(seekMs, 95).toFixed(1)} ms`,
    )
    const all = frames.container
    return {
      render_p95_frame_ms_80x10k: round(percentile(all, 95)),
      render_p95_frame_ms_80x10k_baseline: round(percentile(frames.baseline, 95)),
      page_heap_mb_80x10k: round(Math.max(shown, afterSeeks)),
      scrub_p95_ms_80x10k: round(percentile(seekMs, 95)),
      details: {
        render_p95_frame_ms_80x10k: {
          ...spread(p95.container),
          frames: all.length,
          note:
            `${label} (64 heads, top_n 20) fed one event per task: p95 of all ${all.length} frames of ${repeats} ` +
            `runs (spread: per run); median frame ${round(percentile(all, 50))} ms, max ${round(Math.max(...all))} ms, ` +
            `${all.filter((f) => f > 16.7).length} frames over 16.7 ms`,
        },
        render_p95_frame_ms_80x10k_baseline: { ...spread(p95.baseline), frames: frames.baseline.length },
        page_heap_mb_80x10k: {
          note:
            `used JS heap after a forced GC with the finished ${label} run shown (${round(shown)} MB) and after ` +
            `${seeks} seeks (${round(afterSeeks)} MB); the events alone: ${round(eventsOnly)} MB`,
        },
        scrub_p95_ms_80x10k: {
          ...spread(seekMs),
          note: `${seeks} clicks on the timeline's slider: pointerdown to the end of the frame painted with that step`,
        },
      },
    }
  } finally {
    await page.close()
  }
}
