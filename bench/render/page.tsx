// The page the render benchmark drives in Chromium: feeds a long run into a store as fast as the page
// accepts (one event per task) while requestAnimationFrame deltas are recorded, with MAVContainer
// mounted (all panels, the timeline, the history) or not mounted (the baseline); or two runs fed
// together into MAVCompare (its default columns, diff rows and difference heatmaps); `detail` mounts
// every panel, the opt-in ones included, with anomaly marks, over a run whose steps carry heads and lens.
import { createRunStore, type MavEvent, type MavRunStore, mavEventSchema } from '@mav/client'
import { AttentionHeadsPanel, LogitLensPanel, MAVCompare, MAVContainer, type MavPanelSpec } from '@mav/react'
import '@mav/react/styles.css'
import { useState } from 'react'
import { flushSync } from 'react-dom'
import { createRoot, type Root } from 'react-dom/client'
import { type SyntheticShape, syntheticRun } from './synthetic'

type Mode = 'container' | 'baseline' | 'compare' | 'detail'
const runs = new Map<string, MavEvent[]>()
const ALL_PANELS: MavPanelSpec[] = [
  'generated_text',
  'top_predictions',
  'mlp_activations',
  'attention_entropy',
  'output_distribution',
  <AttentionHeadsPanel key="attention_heads" />,
  <LogitLensPanel key="logit_lens" />,
  'token_confidence',
]
let setStep: (step: number | null) => void = () => {}

function App({ mode, store, other }: { mode: Mode; store: MavRunStore; other: MavRunStore }) {
  const [stepIndex, setStepIndex] = useState<number | null>(null)
  setStep = setStepIndex
  if (mode === 'baseline') return <p>baseline: no container</p>
  if (mode === 'compare') {
    return <MAVCompare runs={[{ store }, { store: other }]} stepIndex={stepIndex} onStepIndexChange={setStepIndex} />
  }
  if (mode === 'detail') {
    return (
      <MAVContainer
        store={store}
        stepIndex={stepIndex}
        onStepIndexChange={setStepIndex}
        panels={ALL_PANELS}
        rows={3}
        anomalies
      />
    )
  }
  return <MAVContainer store={store} stepIndex={stepIndex} onStepIndexChange={setStepIndex} />
}

const channel = new MessageChannel()
const queue: Array<() => void> = []
channel.port1.onmessage = () => queue.shift()?.()
// A message posted in a frame's requestAnimationFrame callback is delivered after that frame's paint.
const nextTask = () =>
  new Promise<void>((resolve) => {
    queue.push(resolve)
    channel.port2.postMessage(null)
  })
const nextFrame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve))

function shown(step: number, tokenId: number): boolean {
  const mark = document.querySelector('.mav-text-token')
  const chosen = document.querySelector('[data-chosen]')
  return mark?.getAttribute('data-step') === String(step) && chosen?.getAttribute('data-token-id') === String(tokenId)
}

/** The events of a run of `shape`, made and checked against the protocol once per shape. */
function eventsOf(shape: SyntheticShape): MavEvent[] {
  const key = JSON.stringify(shape)
  let events = runs.get(key)
  if (events === undefined) {
    events = syntheticRun(shape)
    for (const event of events) mavEventSchema.parse(event)
    runs.set(key, events)
  }
  return events
}

interface RunOptions extends SyntheticShape {
  mode: Mode
  /** Scrubs through the `stepIndex` prop after the replay. */
  scrubs?: number
  /** Sample frames at least this long (the baseline matches the container's feed time). */
  minMs?: number
  /** 0 feeds one event per task; otherwise this many events per frame. */
  perFrame?: number
  /** Leave the container mounted (for `seek` and heap figures); `release` unmounts it. */
  keep?: boolean
}

let mounted: { root: Root; events: MavEvent[] } | null = null

/**
 * One run: `perFrame` 0 feeds one event per task, as fast as the page accepts; otherwise `perFrame`
 * events per frame (a steady flood, long enough that mounting the panels is a small part of it).
 */
async function run({ mode, scrubs = 0, minMs = 0, perFrame = 0, keep = false, ...shape }: RunOptions) {
  release()
  // Made once per shape, as a replay parses its recording before it starts: building the events right
  // before each run would leave their garbage to a collection inside the measured frames.
  const events = eventsOf(mode === 'detail' ? { ...shape, detail: true } : shape)
  const steps = shape.steps
  const otherEvents = mode === 'compare' ? eventsOf({ ...shape, seed: 29 }) : []
  const store = createRunStore()
  const other = createRunStore()
  const host = document.createElement('div')
  document.body.replaceChildren(host)
  const root = createRoot(host)
  flushSync(() => root.render(<App mode={mode} store={store} other={other} />))
  await nextFrame()

  // Chromium starts a frame without waiting for the display (see run.mjs) only when something changed,
  // and an idle frame waits 16.7 ms. A pixel that changes every frame keeps both pages producing frames
  // back to back, so a delta is one frame's cost: the baseline's is this page's own.
  const tick = document.createElement('i')
  tick.style.cssText = 'position:fixed;left:0;top:0;width:1px;height:1px;background:currentColor'
  document.body.append(tick)
  const frames: number[] = []
  let last = await nextFrame()
  let running = true
  const loop = (now: number) => {
    tick.style.opacity = frames.length % 2 === 0 ? '0.5' : '0.6'
    frames.push(now - last)
    last = now
    if (running) requestAnimationFrame(loop)
  }
  requestAnimationFrame(loop)
  const started = performance.now()
  store.reset('connecting')
  if (mode === 'compare') other.reset('connecting')
  for (const [index, event] of events.entries()) {
    store.dispatch(event)
    if (mode === 'compare') other.dispatch(otherEvents[index] as MavEvent)
    if (perFrame === 0) await nextTask()
    else if ((index + 1) % perFrame === 0) await nextFrame()
  }
  const feedMs = performance.now() - started
  // The replay is over when the page shows it: sampling goes on until two frames in a row change
  // nothing on the page (the panels updated in later lanes included). The baseline, which feeds in a
  // blink, keeps sampling as long as the container's feed took.
  let mutations = 0
  const changes = new MutationObserver((records) => {
    mutations += records.length
  })
  changes.observe(host, { subtree: true, childList: true, characterData: true, attributes: true })
  // Checked at the same point of every frame, so each check covers one whole frame's updates.
  let seen = -1
  let quiet = 0
  while (quiet < 2 || performance.now() - started < minMs) {
    await nextFrame()
    quiet = mutations === seen ? quiet + 1 : 0
    seen = mutations
  }
  changes.disconnect()
  running = false

  const scrub: number[] = []
  if (mode !== 'baseline') {
    let seed = 5
    for (let i = 0; i < scrubs; i++) {
      seed = (seed * 16807) % 2147483647
      const step = seed % steps
      const event = events[step + 1]
      const tokenId = event?.type === 'step' ? event.token.id : -1
      const t0 = performance.now()
      setStep(step)
      while (!shown(step, tokenId)) await nextFrame()
      scrub.push(performance.now() - t0)
    }
  }
  tick.remove()
  if (keep) mounted = { root, events }
  else root.unmount()
  return { frames: frames.slice(1), feedMs, events: events.length, scrub }
}

/** Unmounts a container that `run` kept. */
function release() {
  mounted?.root.unmount()
  mounted = null
  document.body.replaceChildren()
}

/** Where the pointer goes on the timeline's slider to ask for `fraction` of the run (0..1). */
function sliderPoint(fraction: number) {
  const slider = document.querySelector('.mav-slider') as HTMLElement
  const rect = slider.getBoundingClientRect()
  return { x: rect.left + fraction * rect.width, y: rect.top + rect.height / 2 }
}

let seeking: Promise<{ step: number; ms: number }> | null = null

/**
 * Arms the measure of one timeline seek of the kept container: from the `pointerdown` on the slider to
 * the end of the first frame painted with the chosen step in the text, the predictions and the
 * timeline's value. The pointer itself comes from the driver (real input through Chromium).
 */
function armSeek() {
  const kept = mounted
  if (kept === null) throw new Error('armSeek needs a container kept by run({ keep: true })')
  const slider = document.querySelector('.mav-slider') as HTMLElement
  const before = slider.getAttribute('aria-valuenow')
  seeking = new Promise((resolve) => {
    let t0 = 0
    const onDown = () => {
      t0 = performance.now()
      document.removeEventListener('pointerdown', onDown, true)
      requestAnimationFrame(check)
    }
    const check = () => {
      const now = slider.getAttribute('aria-valuenow')
      const step = Number(now) - 1
      const event = kept.events[step + 1]
      const tokenId = event?.type === 'step' ? event.token.id : -1
      const value = document.querySelector('.mav-timeline-value')?.getAttribute('data-step')
      if (now !== before && value === String(step) && shown(step, tokenId)) {
        // This frame paints what the check saw; the message arrives once it has.
        nextTask().then(() => resolve({ step, ms: performance.now() - t0 }))
      } else {
        requestAnimationFrame(check)
      }
    }
    document.addEventListener('pointerdown', onDown, true)
  })
}

/** The measure armed by `armSeek`, once the seek is painted. */
function seekDone() {
  if (seeking === null) throw new Error('seekDone without armSeek')
  const done = seeking
  seeking = null
  return done
}

Object.assign(window, { mavBench: { run, release, sliderPoint, armSeek, seekDone } })
document.title = 'ready'
