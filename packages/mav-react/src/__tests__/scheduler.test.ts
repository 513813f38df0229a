import { createRunStore, type MavEvent } from '@mav/client'
import { describe, expect, it, vi } from 'vitest'
import {
  createFrameScheduler,
  createPacer,
  type MavUpdatePriority,
  type Pacer,
  type RunReader,
  scheduleFrame,
  schedulerFor,
} from '../scheduler'
import { recordingEvents } from './helpers'

const frame = () => new Promise((resolve) => requestAnimationFrame(resolve))
async function frames(count: number) {
  for (let i = 0; i < count; i++) await frame()
}
const oneTurn: Pacer = { perFrame: () => 1, measure: () => {} }
const everyTurn: Pacer = { perFrame: () => 100, measure: () => {} }

/** The built-in container's shape: the shared high turn, four panels, the history's pixels. */
const CONTAINER: MavUpdatePriority[] = ['high', 'normal', 'normal', 'normal', 'normal', 'low']

/** Subscribes one listener per reader; `seen.at(-1)` collects the readers notified since the last mark. */
function watch(readers: RunReader[]) {
  const seen: number[][] = [[]]
  const off = readers.map((reader, index) => reader.subscribe(() => seen.at(-1)?.push(index)))
  return {
    seen,
    mark: () => seen.push([]),
    off: () => {
      for (const unsubscribe of off) unsubscribe()
    },
  }
}

/** A store and the container's readers on one turn per frame; `panels` are the turns but the `low` one
 * (the history's pixels keep a frame of their own). */
function oneTurnContainer() {
  const store = createRunStore()
  const scheduler = createFrameScheduler(store, scheduleFrame, oneTurn)
  const readers = CONTAINER.map((priority) => scheduler.reader(priority))
  const panels = readers.map((_, index) => index).filter((index) => CONTAINER[index] !== 'low')
  return { store, scheduler, readers, panels, ...watch(readers) }
}

describe('the frame schedule', () => {
  it('notifies once per frame with the newest snapshot, and is shared per store', async () => {
    const store = createRunStore()
    const scheduler = schedulerFor(store)
    expect(schedulerFor(store)).toBe(scheduler)
    expect(schedulerFor(store, 'sync').reader('normal').getSnapshot).toBe(store.getSnapshot)
    const reader = scheduler.reader('high')
    expect(scheduler.reader('high')).toBe(reader)
    expect(scheduler.reader('normal')).not.toBe(scheduler.reader('normal'))
    const listener = vi.fn()
    const unsubscribe = reader.subscribe(listener)
    const before = reader.getSnapshot()
    for (const event of recordingEvents()) store.dispatch(event)
    expect(reader.getSnapshot()).toBe(before)
    expect(listener).not.toHaveBeenCalled()
    await frames(2)
    expect(listener).toHaveBeenCalledTimes(1)
    expect(reader.getSnapshot()).toBe(store.getSnapshot())
    unsubscribe()
    store.reset()
    expect(reader.getSnapshot()).toBe(store.getSnapshot())
  })

  it('with one turn per frame, the turns take turns and every reader sees the newest snapshot', async () => {
    const store = createRunStore()
    const scheduler = createFrameScheduler(store, scheduleFrame, oneTurn)
    const readers = CONTAINER.map((priority) => scheduler.reader(priority))
    const all = readers.map((_, index) => index)
    const { seen, mark, off } = watch(readers)
    const events = recordingEvents()
    store.dispatch(events[0] as MavEvent)
    await frame()
    expect(seen).toEqual([[0]])
    expect(readers[1]?.getSnapshot()).not.toBe(store.getSnapshot())
    await frames(readers.length - 1)
    expect(seen.flat()).toEqual(all)
    for (const reader of readers) expect(reader.getSnapshot()).toBe(store.getSnapshot())
    // A change every frame: no frame updates two turns.
    mark()
    for (const event of events.slice(1, readers.length + 2)) {
      store.dispatch(event)
      await frame()
    }
    expect(seen.at(-1)).toEqual([...all, 0])
    await frames(readers.length - 1)
    for (const reader of readers) expect(reader.getSnapshot()).toBe(store.getSnapshot())
    off()
  })

  it('orders the turns: high, then normal in the order first read, then low', async () => {
    const store = createRunStore()
    const scheduler = createFrameScheduler(store, scheduleFrame, oneTurn)
    const low = scheduler.reader('low')
    const first = scheduler.reader('normal')
    const second = scheduler.reader('normal')
    const { seen, off } = watch([low, second, first, scheduler.reader('high')])
    for (const event of recordingEvents().slice(0, 4)) {
      store.dispatch(event)
      await frame()
    }
    expect(seen.flat()).toEqual([3, 1, 2, 0])
    off()
  })

  it('leaves out readers nobody reads', async () => {
    const store = createRunStore()
    const scheduler = createFrameScheduler(store, scheduleFrame, oneTurn)
    const [first, , third] = [scheduler.reader('normal'), scheduler.reader('normal'), scheduler.reader('normal')]
    const { seen, off } = watch([first as RunReader, third as RunReader])
    for (const event of recordingEvents().slice(0, 4)) {
      store.dispatch(event)
      await frame()
    }
    expect(seen.flat()).toEqual([0, 1, 0, 1])
    off()
  })

  it("gives each turn a frame of its own when it mounts the run's first step", async () => {
    const store = createRunStore()
    const scheduler = createFrameScheduler(store, scheduleFrame, everyTurn)
    const readers = CONTAINER.map((priority) => scheduler.reader(priority))
    const all = readers.map((_, index) => index)
    const { seen, mark, off } = watch(readers)
    const events = recordingEvents()
    const firstStep = events.findIndex((event) => event.type === 'step')
    // Before any step the turns are cheap: one frame updates them all.
    for (const event of events.slice(0, firstStep)) store.dispatch(event)
    await frame()
    expect(seen).toEqual([all])
    seen.length = 0
    store.dispatch(events[firstStep] as MavEvent)
    for (let i = 0; i <= readers.length; i++) {
      mark()
      await frame()
    }
    expect(seen).toEqual([...all.map((index) => [index]), []])
    seen.length = 0
    mark()
    store.dispatch(events[firstStep + 1] as MavEvent)
    await frame()
    expect(seen).toEqual([all])
    off()
  })

  it('a held reader takes the changes in its own turn, before anything subscribes to it', async () => {
    const store = createRunStore()
    const scheduler = createFrameScheduler(store, scheduleFrame, oneTurn)
    const high = scheduler.reader('high')
    const low = scheduler.reader('low')
    const { off } = watch([high])
    const release = low.hold()
    const held = low.getSnapshot()
    for (const event of recordingEvents().slice(0, 3)) store.dispatch(event)
    await frame()
    expect(high.getSnapshot()).toBe(store.getSnapshot())
    // Subscribing now finds the changes not yet taken: the next frame is the low turn's.
    const listener = vi.fn()
    const unsubscribe = low.subscribe(listener)
    expect(low.getSnapshot()).toBe(held)
    await frame()
    expect(listener).toHaveBeenCalledTimes(1)
    expect(low.getSnapshot()).toBe(store.getSnapshot())
    unsubscribe()
    release()
    off()
  })

  it('catches every reader up at once (a paused or scrubbed view)', async () => {
    const { store, scheduler, readers, off } = oneTurnContainer()
    for (const event of recordingEvents().slice(0, 8)) {
      store.dispatch(event)
      await frame()
    }
    const snapshots = new Set(readers.map((reader) => reader.getSnapshot()))
    expect(snapshots.size).toBeGreaterThan(1)
    scheduler.catchUp()
    for (const reader of readers) expect(reader.getSnapshot()).toBe(store.getSnapshot())
    off()
  })

  it("brings a run that ends before its first step to every panel's turn in the next frame", async () => {
    const { store, panels, seen, mark, off } = oneTurnContainer()
    const events = recordingEvents()
    // A run that ends between two frames, steps included: its turns still mount one per frame.
    store.reset('connecting')
    await frames(CONTAINER.length)
    for (const event of events) store.dispatch(event)
    mark()
    await frame()
    expect(seen.at(-1)).toHaveLength(1)
    // A failure before the first step reaches every turn at once.
    store.reset('connecting')
    await frames(2 * CONTAINER.length)
    store.fail(new Error('gone'))
    mark()
    await frame()
    expect(seen.at(-1)?.sort()).toEqual(panels)
    off()
  })

  it("brings a reset after a run's steps to every panel's turn in the next frame", async () => {
    const { store, readers, panels, seen, mark, off } = oneTurnContainer()
    store.reset('connecting')
    for (const event of recordingEvents()) store.dispatch(event)
    await frames(2 * CONTAINER.length)
    for (const reader of readers) expect(reader.getSnapshot()).toBe(store.getSnapshot())
    // Every turn shows the finished run's steps; a reset empties them all in one frame, rows unmounted.
    store.reset()
    mark()
    await frame()
    expect(seen.at(-1)?.sort()).toEqual(panels)
    for (const index of panels) expect(readers[index]?.getSnapshot().steps).toHaveLength(0)
    off()
  })

  it('updates several turns in the same frame once frames prove cheap', async () => {
    const store = createRunStore()
    const scheduler = createFrameScheduler(store)
    const { seen, mark, off } = watch(CONTAINER.map((priority) => scheduler.reader(priority)))
    const firstFrames: number[][] = []
    seen.length = 0
    for (const event of recordingEvents().slice(0, 12)) {
      mark()
      store.dispatch(event)
      await frame()
      firstFrames.push(seen.at(-1) as number[])
      // Later frames catch up on the other turns.
      mark()
      await frames(CONTAINER.length)
    }
    // jsdom frames cost little: the pacer goes from one turn per frame to several (how many depends on
    // the host's speed; the pacer's own tests pin the arithmetic).
    expect(firstFrames[0]).toEqual([0])
    expect(firstFrames.at(-1)?.length).toBeGreaterThanOrEqual(2)
    off()
  })
})

describe('createPacer', () => {
  const clock = { now: 0 }
  const at = (ms: number) => {
    clock.now = ms
  }
  const pacerWith = () => {
    vi.spyOn(performance, 'now').mockImplementation(() => clock.now)
    // Reports right away, as if the frame's rendering ended at the clock's time.
    return createPacer(
      () => 4,
      (callback) => callback(),
    )
  }
  /** `count` frames that each update as many turns as the pacer allows, at `msPerTurn` each. */
  const runFrames = (pacer: Pacer, count: number, msPerTurn: number) => {
    for (let frame = 0; frame < count; frame++) {
      at(0)
      const started = performance.now()
      at(pacer.perFrame() * msPerTurn)
      pacer.measure(started, pacer.perFrame())
    }
  }

  it('adds turns while each costs little, and drops back when frames run long', () => {
    const pacer = pacerWith()
    expect(pacer.perFrame()).toBe(1)
    runFrames(pacer, 5, 1.5)
    expect(pacer.perFrame()).toBe(4)
    runFrames(pacer, 10, 9)
    expect(pacer.perFrame()).toBe(1)
    vi.restoreAllMocks()
  })

  it('stays at one turn per frame when one turn already fills half a frame', () => {
    const pacer = pacerWith()
    for (let frame = 0; frame < 20; frame++) {
      at(5)
      pacer.measure(0, 1)
    }
    expect(pacer.perFrame()).toBe(1)
    vi.restoreAllMocks()
  })
})
