// The page the render benchmark drives in Chromium: feeds a long run into a store as fast as the page
// accepts (one event per task) while requestAnimationFrame deltas are recorded, with MAVContainer
// mounted (all panels, the timeline, the history) or not mounted (the baseline); `detail` mounts every
// panel, the opt-in ones included, with anomaly marks, over a run whose steps carry heads and lens.
import { createRunStore, type MavEvent, type MavRunStore } from '@mav/client'
import { MAVContainer } from '@mav/react'
import '@mav/react/styles.css'
import { useState } from 'react'
import { flushSync } from 'react-dom'
import { createRoot } from 'react-dom/client'
import { syntheticRun } from './synthetic'

type Mode = 'container' | 'baseline' | 'detail'
const runs = new Map<string, MavEvent[]>()
const ALL_PANELS = [
  'generated_text',
  'top_predictions',
  'mlp_activations',
  'attention_entropy',
  'output_distribution',
  'attention_heads',
  'logit_lens',
  'token_confidence',
] as const
let setStep: (step: number | null) => void = () => {}

function App({ mode, store }: { mode: Mode; store: MavRunStore }) {
  const [stepIndex, setStepIndex] = useState<number | null>(null)
  setStep = setStepIndex
  if (mode === 'baseline') return <p>baseline: no container</p>
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

/**
 * One run: `perFrame` 0 feeds one event per task, as fast as the page accepts; otherwise `perFrame`
 * events per frame (a steady flood, long enough that mounting the panels is a small part of it).
 */
async function run(mode: Mode, steps: number, scrubs: number, minMs = 0, perFrame = 0) {
  // Made once per length, as a replay parses its recording before it starts: building 2,000 events
  // right before each run would leave their garbage to a collection inside the measured frames.
  const key = `${steps}:${mode === 'detail'}`
  const events = runs.get(key) ?? syntheticRun(steps, 30, mode === 'detail')
  runs.set(key, events)
  const store = createRunStore()
  const host = document.createElement('div')
  document.body.replaceChildren(host)
  const root = createRoot(host)
  flushSync(() => root.render(<App mode={mode} store={store} />))
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
  for (const [index, event] of events.entries()) {
    store.dispatch(event)
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
  root.unmount()
  tick.remove()
  return { frames: frames.slice(1), feedMs, events: events.length, scrub }
}

Object.assign(window, { mavBench: { run } })
document.title = 'ready'
