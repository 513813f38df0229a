import { createRunStore } from '@mav/client'
import { describe, expect, it, vi } from 'vitest'
import { createLanePacer, type LanePacer } from '../lanePacer'
import { createFrameViews, MAV_UPDATE_LANES, type MavUpdateLane, runView, scheduleFrame } from '../runView'
import { recordingEvents } from './helpers'

const frame = () => new Promise((resolve) => requestAnimationFrame(resolve))
/** 0, 1, ... MAV_UPDATE_LANES - 1. */
const ALL = Array.from({ length: MAV_UPDATE_LANES }, (_, lane) => lane)
async function frames(count: number) {
  for (let i = 0; i < count; i++) await frame()
}

describe('runView', () => {
  it('notifies once per frame with the newest snapshot, and is shared per store', async () => {
    const store = createRunStore()
    const view = runView(store)
    expect(runView(store)).toBe(view)
    expect(runView(store, 'sync')).toBe(store)
    const listener = vi.fn()
    const unsubscribe = view.subscribe(listener)
    const before = view.getSnapshot()
    for (const event of recordingEvents()) store.dispatch(event)
    expect(view.getSnapshot()).toBe(before)
    expect(listener).not.toHaveBeenCalled()
    await new Promise((resolve) => requestAnimationFrame(resolve))
    await new Promise((resolve) => requestAnimationFrame(resolve))
    expect(listener).toHaveBeenCalledTimes(1)
    expect(view.getSnapshot()).toBe(store.getSnapshot())
    unsubscribe()
    store.reset()
    expect(view.getSnapshot()).toBe(store.getSnapshot())
  })

  it('with one lane per frame, the lanes take turns and every lane sees the newest snapshot', async () => {
    const store = createRunStore()
    const oneLane: LanePacer = { perFrame: () => 1, measure: () => {} }
    const views = createFrameViews(store, scheduleFrame, oneLane)
    const seen: number[] = []
    const off = views.map((view, lane) => view.subscribe(() => seen.push(lane)))
    const events = recordingEvents()
    store.dispatch(events[0] as never)
    await frame()
    expect(seen).toEqual([0])
    expect(views[1]?.getSnapshot()).not.toBe(store.getSnapshot())
    await frames(MAV_UPDATE_LANES - 1)
    expect(seen).toEqual(ALL)
    for (const view of views) expect(view.getSnapshot()).toBe(store.getSnapshot())
    // A change every frame: the lanes take turns, so no frame updates two.
    seen.length = 0
    for (const event of events.slice(1, MAV_UPDATE_LANES + 2)) {
      store.dispatch(event)
      await frame()
    }
    expect(seen).toEqual([...ALL, 0])
    await frames(MAV_UPDATE_LANES - 1)
    for (const view of views) expect(view.getSnapshot()).toBe(store.getSnapshot())
    for (const unsubscribe of off) unsubscribe()
  })

  it('skips lanes nobody reads', async () => {
    const store = createRunStore()
    const oneLane: LanePacer = { perFrame: () => 1, measure: () => {} }
    const [first, , third] = createFrameViews(store, scheduleFrame, oneLane)
    const seen: string[] = []
    const off = [first?.subscribe(() => seen.push('first')), third?.subscribe(() => seen.push('third'))]
    for (const event of recordingEvents().slice(0, 4)) {
      store.dispatch(event)
      await frame()
    }
    expect(seen).toEqual(['first', 'third', 'first', 'third'])
    for (const unsubscribe of off) unsubscribe?.()
  })

  it("gives each lane a frame of its own when it mounts the run's first step", async () => {
    const store = createRunStore()
    const allLanes: LanePacer = { perFrame: () => MAV_UPDATE_LANES, measure: () => {} }
    const views = createFrameViews(store, scheduleFrame, allLanes)
    const seen: number[][] = []
    const off = views.map((view, lane) => view.subscribe(() => seen.at(-1)?.push(lane)))
    const events = recordingEvents()
    const firstStep = events.findIndex((event) => event.type === 'step')
    const perFrame = async () => {
      seen.push([])
      await frame()
    }
    // Before any step the lanes are cheap: one frame updates them all.
    for (const event of events.slice(0, firstStep)) store.dispatch(event)
    await perFrame()
    expect(seen).toEqual([ALL])
    seen.length = 0
    store.dispatch(events[firstStep] as never)
    for (let i = 0; i <= MAV_UPDATE_LANES; i++) await perFrame()
    expect(seen).toEqual([...ALL.map((lane) => [lane]), []])
    seen.length = 0
    store.dispatch(events[firstStep + 1] as never)
    await perFrame()
    expect(seen).toEqual([ALL])
    for (const unsubscribe of off) unsubscribe()
  })

  it('updates several lanes in the same frame once frames prove cheap', async () => {
    const store = createRunStore()
    const views = ALL.map((lane) => runView(store, 'frame', lane as MavUpdateLane))
    const seen: number[][] = []
    const off = views.map((view, lane) => view.subscribe(() => seen.at(-1)?.push(lane)))
    for (const event of recordingEvents().slice(0, 12)) {
      seen.push([])
      store.dispatch(event)
      await frame()
      // What the first frame after the change updated; later frames catch up on the other lanes.
      seen.push([])
      await frames(MAV_UPDATE_LANES)
    }
    const firstFrames = seen.filter((_, i) => i % 2 === 0)
    // jsdom frames cost little: the pacer goes from one lane per frame to several (how many depends on
    // the host's speed; createLanePacer's own tests pin the arithmetic).
    expect(firstFrames[0]).toEqual([0])
    expect(firstFrames.at(-1)?.length).toBeGreaterThanOrEqual(2)
    for (const unsubscribe of off) unsubscribe()
  })
})

describe('createLanePacer', () => {
  const clock = { now: 0 }
  const at = (ms: number) => {
    clock.now = ms
  }
  const pacerWith = () => {
    vi.spyOn(performance, 'now').mockImplementation(() => clock.now)
    // Reports right away, as if the frame's rendering ended at the clock's time.
    return createLanePacer(4, (callback) => callback())
  }
  /** `count` frames that each flush as many lanes as the pacer allows, at `msPerLane` each. */
  const runFrames = (pacer: LanePacer, count: number, msPerLane: number) => {
    for (let frame = 0; frame < count; frame++) {
      at(0)
      const started = performance.now()
      at(pacer.perFrame() * msPerLane)
      pacer.measure(started, pacer.perFrame())
    }
  }

  it('adds lanes while each costs little, and drops back when frames run long', () => {
    const pacer = pacerWith()
    expect(pacer.perFrame()).toBe(1)
    runFrames(pacer, 5, 1.5)
    expect(pacer.perFrame()).toBe(4)
    runFrames(pacer, 10, 9)
    expect(pacer.perFrame()).toBe(1)
    vi.restoreAllMocks()
  })

  it('stays at one lane per frame when one lane already fills half a frame', () => {
    const pacer = pacerWith()
    for (let frame = 0; frame < 20; frame++) {
      at(5)
      pacer.measure(0, 1)
    }
    expect(pacer.perFrame()).toBe(1)
    vi.restoreAllMocks()
  })
})
