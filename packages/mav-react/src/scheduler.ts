import type { MavRunState, MavRunStore } from '@mav/client'

// The frame schedule: when each component hears about a run store's changes. Everything about turns,
// their order and what a frame can afford lives here; components only ask for a priority.

/**
 * When React hears about store changes. `frame` batches them into animation frames (a fast replay can
 * dispatch thousands of events between two frames); `sync` passes every change on at once, which tests
 * and custom integrations sometimes want.
 */
export type MavUpdateMode = 'frame' | 'sync'

/**
 * Where a component's updates go in the frame schedule.
 * - `"high"`: shares the first turn with the timeline, the status line and the generated text. For
 *   views that cost little to update (a line of text, a few numbers).
 * - `"normal"`: a turn of its own. For panels whose update costs layout or drawing (rows per layer,
 *   a table, a chart): a frame updates as many turns as recent frames show it has time for.
 * - `"low"`: a turn of its own after every `normal` one. For catch-up work that may trail the panels,
 *   such as painting a replay's backlog of steps.
 */
export type MavUpdatePriority = 'high' | 'normal' | 'low'

/** What a component reads a run through: the pair `useSyncExternalStore` takes, plus a hold. */
export interface RunReader {
  subscribe(listener: () => void): () => void
  getSnapshot(): MavRunState
  /**
   * Keeps the reader in the schedule while no component subscribes, so that from now on it takes the
   * store's changes in its own turns (a subscriber arriving later finds them not yet taken). Returns
   * the release.
   */
  hold(): () => void
}

/** The frame schedule of one store. */
export interface UpdateScheduler {
  /** A reader for `priority`: `high` readers share one turn; each `normal` or `low` reader is a turn. */
  reader(priority: MavUpdatePriority): RunReader
  /** Brings every reader to the store's newest snapshot now, so that every component shows one step. */
  catchUp(): void
}

export type Schedule = (flush: () => void) => void

let frameFlushes: Array<() => void> = []

function runFrameFlushes() {
  const flushes = frameFlushes
  frameFlushes = []
  for (const flush of flushes) {
    try {
      flush()
    } catch (error) {
      // Reported, as an animation frame callback's error would be, without losing the other flushes.
      queueMicrotask(() => {
        throw error
      })
    }
  }
}

/**
 * Runs `flush` in the next animation frame. Every flush of a frame (each store's schedule, a
 * comparison's runs) shares one callback, so React renders and commits what they change once.
 */
export const scheduleFrame: Schedule = (flush) => {
  if (typeof requestAnimationFrame !== 'function') {
    setTimeout(flush, 16)
    return
  }
  frameFlushes.push(flush)
  if (frameFlushes.length === 1) requestAnimationFrame(runFrameFlushes)
}

/** A run in these states still changes; in any other, the store holds its last state. */
const ACTIVE: ReadonlySet<MavRunState['status']> = new Set(['connecting', 'loading', 'streaming'])

/** Decides how many turns one frame may update, from what recent frames cost on this machine. */
export interface Pacer {
  /** Turns the next frame may update (at least 1). */
  perFrame(): number
  /** Reports a frame that updated `flushed` turns and started at `started` (a `performance.now()`). */
  measure(started: number, flushed: number): void
}

/** Runs `callback` once the current frame's rendering is done; null where that cannot be observed. */
export type AfterFrame = ((callback: () => void) => void) | null

/** Main-thread time a frame's updates may take: half a 60 Hz frame leaves room for the app. */
const TARGET_MS = 8
/** Past this, the frame updated too much: fewer turns at once. */
const LONG_MS = 12
// A dearer frame moves the running per-turn cost more than a cheaper one: turns differ in cost, and
// the next ones to come may be the dear ones.
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

/**
 * A pacer that starts at one turn per frame and adds turns while each costs little: a fast machine ends
 * up updating every turn each frame, a slow one a turn per frame. `most()` caps it.
 */
export function createPacer(most: () => number, afterFrame: AfterFrame = messageAfterFrame): Pacer {
  let perFrame = 1
  let perTurnMs = Number.NaN
  return {
    perFrame: () => perFrame,
    measure(started, flushed) {
      if (afterFrame === null || flushed === 0) return
      afterFrame(() => {
        const cost = (performance.now() - started) / flushed
        if (Number.isNaN(perTurnMs)) perTurnMs = cost
        else perTurnMs += (cost > perTurnMs ? RISE : FALL) * (cost - perTurnMs)
        if (perTurnMs * perFrame > LONG_MS) perFrame = Math.max(1, perFrame - 1)
        else if (perTurnMs * (perFrame + 1) <= TARGET_MS) perFrame = Math.max(1, Math.min(most(), perFrame + 1))
      })
    },
  }
}

interface Turn extends RunReader {
  readonly priority: MavUpdatePriority
  /** Takes the store's newest snapshot and notifies; false when it already had it. */
  flush(): boolean
  stale(): boolean
  /** About to go from no step to the store's first steps. */
  mounting(): boolean
}

/**
 * Turns over `store`: a frame updates as many as `pacer` allows, taking turns in order (the `high`
 * turn, the `normal` ones in the order they were first read, then the `low` ones). A turn joins the
 * schedule when it is first read or held and leaves when nothing reads or holds it.
 */
export function createFrameScheduler(
  store: MavRunStore,
  schedule: Schedule = scheduleFrame,
  pacer?: Pacer,
): UpdateScheduler {
  const turns: Turn[] = []
  const pace = pacer ?? createPacer(() => turns.length)
  let next: Turn | undefined
  let scheduled = false
  let unsubscribe: (() => void) | null = null

  const onChange = () => {
    if (scheduled) return
    scheduled = true
    schedule(frame)
  }
  // A turn about to show the run's first step mounts every row of its components, which costs several
  // updates: it gets a frame of its own, whatever the pacer has learnt.
  const frame = () => {
    scheduled = false
    const started = performance.now()
    const order = turns.slice()
    let flushed = 0
    // A run over with no step (failed or stopped before its first, or a reset): every panel's status line
    // says so at once, which mounts no rows.
    const latest = store.getSnapshot()
    if (!ACTIVE.has(latest.status) && latest.steps.length === 0) {
      for (const turn of order) if (turn.priority !== 'low' && turn.flush()) flushed++
    }
    const budget = pace.perFrame()
    const start = next === undefined ? 0 : Math.max(0, order.indexOf(next))
    for (let step = 0; step < order.length && flushed < budget; step++) {
      const index = (start + step) % order.length
      const turn = order[index] as Turn
      const mounting = turn.mounting()
      if (mounting && flushed > 0) break
      if (turn.flush()) {
        flushed++
        next = order[(index + 1) % order.length]
        if (mounting) break
      }
    }
    pace.measure(started, flushed)
    if (turns.some((turn) => turn.stale())) onChange()
  }

  const join = (turn: Turn) => {
    if (turns.length === 0) unsubscribe = store.subscribe(onChange)
    const firstLow = turns.findIndex((other) => other.priority === 'low')
    if (turn.priority === 'high') turns.unshift(turn)
    else if (turn.priority === 'normal' && firstLow >= 0) turns.splice(firstLow, 0, turn)
    else turns.push(turn)
  }
  const leave = (turn: Turn) => {
    const index = turns.indexOf(turn)
    if (index < 0) return
    turns.splice(index, 1)
    if (next === turn) next = turns[index % Math.max(1, turns.length)]
    if (turns.length === 0 && unsubscribe !== null) {
      unsubscribe()
      unsubscribe = null
    }
  }

  const createTurn = (priority: MavUpdatePriority): Turn => {
    const listeners = new Set<() => void>()
    let holds = 0
    let snapshot = store.getSnapshot()
    const active = () => listeners.size > 0 || holds > 0
    const enter = () => {
      snapshot = store.getSnapshot()
      join(turn)
    }
    const exit = () => {
      if (!active()) leave(turn)
    }
    const turn: Turn = {
      priority,
      flush() {
        const latest = store.getSnapshot()
        if (latest === snapshot) return false
        snapshot = latest
        for (const listener of listeners) listener()
        return true
      },
      stale: () => store.getSnapshot() !== snapshot,
      mounting: () => snapshot.steps.length === 0 && store.getSnapshot().steps.length > 0,
      subscribe(listener) {
        const entering = !active()
        listeners.add(listener)
        if (entering) enter()
        return () => {
          if (listeners.delete(listener)) exit()
        }
      },
      hold() {
        const entering = !active()
        holds++
        if (entering) enter()
        let held = true
        return () => {
          if (!held) return
          held = false
          holds--
          exit()
        }
      },
      // Readers outside the schedule (a first render, the server) see the store as it is now.
      getSnapshot: () => (active() ? snapshot : store.getSnapshot()),
    }
    return turn
  }

  const high = createTurn('high')
  return {
    reader: (priority) => (priority === 'high' ? high : createTurn(priority)),
    catchUp() {
      for (const turn of turns.slice()) turn.flush()
    },
  }
}

/** Every reader is the store itself: each change reaches every component at once. */
function syncScheduler(store: MavRunStore): UpdateScheduler {
  const reader: RunReader = { subscribe: store.subscribe, getSnapshot: store.getSnapshot, hold: () => () => {} }
  return { reader: () => reader, catchUp: () => {} }
}

const frameSchedulers = new WeakMap<MavRunStore, UpdateScheduler>()
const syncSchedulers = new WeakMap<MavRunStore, UpdateScheduler>()

/** The shared schedule of `store` for `mode`: every component of one store shares one frame subscription. */
export function schedulerFor(store: MavRunStore, mode: MavUpdateMode = 'frame'): UpdateScheduler {
  const cache = mode === 'sync' ? syncSchedulers : frameSchedulers
  let scheduler = cache.get(store)
  if (scheduler === undefined) {
    scheduler = mode === 'sync' ? syncScheduler(store) : createFrameScheduler(store)
    cache.set(store, scheduler)
  }
  return scheduler
}

/** Uses `scheduler` for `store` from now on. For tests that need a schedule they can pace themselves. */
export function setSchedulerFor(store: MavRunStore, scheduler: UpdateScheduler): void {
  frameSchedulers.set(store, scheduler)
}
