/**
 * Decides how many update lanes one frame may flush, from what recent frames cost on this machine.
 * A fast machine ends up flushing every lane each frame (all panels show the same step); a slow one
 * flushes one lane per frame, so no frame carries the whole container's layout.
 */
export interface LanePacer {
  /** Lanes the next frame may flush (1..lanes). */
  perFrame(): number
  /** Reports a frame that flushed `flushed` lanes and started at `started` (a `performance.now()`). */
  measure(started: number, flushed: number): void
}

/** Runs `callback` once the current frame's rendering is done; null where that cannot be observed. */
export type AfterFrame = ((callback: () => void) => void) | null

/** Main-thread time a frame's lane updates may take: half a 60 Hz frame leaves room for the app. */
const TARGET_MS = 8
/** Past this, the frame flushed too much: fewer lanes at once. */
const LONG_MS = 12
/** Weight of the newest frame in the running per-lane cost: a dearer frame counts more than a cheaper
 * one, because lanes differ in cost and the next lanes to come may be the dear ones. */
const RISE = 0.6
const FALL = 0.1

let channel: { port: MessagePort; queue: Array<() => void> } | undefined

// A message posted during the frame's callbacks is delivered after its style, layout and paint. One
// channel serves every pacer of the page, made on first use (never during a server render).
const messageAfterFrame: AfterFrame =
  typeof MessageChannel === 'function'
    ? (callback) => {
        if (channel === undefined) {
          const ports = new MessageChannel()
          const queue: Array<() => void> = []
          ports.port1.onmessage = () => queue.shift()?.()
          // Node's ports keep a process alive; a browser has no unref.
          ;(ports.port1 as { unref?: () => void }).unref?.()
          channel = { port: ports.port2, queue }
        }
        channel.queue.push(callback)
        channel.port.postMessage(null)
      }
    : null

export function createLanePacer(lanes: number, afterFrame: AfterFrame = messageAfterFrame): LanePacer {
  let perFrame = 1
  let perLaneMs = Number.NaN
  return {
    perFrame: () => perFrame,
    measure(started, flushed) {
      if (afterFrame === null || flushed === 0) return
      afterFrame(() => {
        const cost = (performance.now() - started) / flushed
        if (Number.isNaN(perLaneMs)) perLaneMs = cost
        else perLaneMs += (cost > perLaneMs ? RISE : FALL) * (cost - perLaneMs)
        if (perLaneMs * perFrame > LONG_MS) perFrame = Math.max(1, perFrame - 1)
        else if (perLaneMs * (perFrame + 1) <= TARGET_MS) perFrame = Math.min(lanes, perFrame + 1)
      })
    },
  }
}
