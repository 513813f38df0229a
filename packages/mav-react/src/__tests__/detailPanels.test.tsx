import {
  createRunStore,
  findAnomalies,
  type MavAnomaly,
  type MavEvent,
  type MavStepEvent,
  parseRecording,
  settlingLayer,
} from '@mav/client'
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import detailText from '../__fixtures__/smollm2-detail.mavrec.jsonl?raw'
import { MarkTicks } from '../AnomalyTicks'
import { visibleWhitespace } from '../format'
import {
  AttentionHeadsPanel,
  createAnomalyStore,
  GeneratedTextPanel,
  LogitLensPanel,
  MAVContainer,
  type MavBranchEvent,
  MavRunScope,
  Timeline,
} from '../index'
import { drawnMarks, makeStep, recordingEvents, stepsOf } from './helpers'

/** A real 14-step greedy run of the bundled SmolLM2 (30 layers, 9 heads) with `detail: ["heads", "lens"]`. */
const detailEvents = (): MavEvent[] => parseRecording(detailText).events

describe('the detail recording', { timeout: 30_000 }, () => {
  it('carries heads and lens on every step', () => {
    const steps = stepsOf(detailEvents())
    expect(steps).toHaveLength(14)
    for (const step of steps) {
      expect(step.heads?.entropy).toHaveLength(30)
      expect(step.heads?.entropy[0]).toHaveLength(9)
      expect(step.lens?.ids).toHaveLength(31)
      expect(step.lens?.ids.at(-1)?.[0]).toBe(step.token.id)
    }
  })
})

// 270 buttons per grid: slow in jsdom on a busy machine.
describe('AttentionHeadsPanel', { timeout: 30_000 }, () => {
  it('draws a layers x heads grid and, for a chosen head, the tokens it attends to with weights', () => {
    const events = detailEvents()
    const steps = stepsOf(events)
    const meta = events[0] as Extract<MavEvent, { type: 'meta' }>
    render(
      <MavRunScope events={events} stepIndex={5} updates="sync">
        <AttentionHeadsPanel />
      </MavRunScope>,
    )
    const region = screen.getByRole('region', { name: 'Attention heads' })
    const cells = region.querySelectorAll('[role="button"][data-head]')
    expect(cells).toHaveLength(270)
    const cell = region.querySelector('[data-layer="2"][data-head="4"]') as HTMLElement
    fireEvent.click(cell)
    const heads = steps[5]?.heads
    const positions = heads?.positions[2]?.[4] ?? []
    const items = Array.from(region.querySelectorAll<HTMLElement>('.mav-heads-targets li'))
    expect(items.map((item) => Number(item.dataset.position))).toEqual(positions)
    const prompt = meta.prompt_tokens
    const first = positions[0] as number
    const expectedText = first < prompt.length ? prompt[first]?.text : steps[first - prompt.length]?.token.text
    expect(items[0]?.textContent).toContain(`${heads?.weights_pct[2]?.[4]?.[0]}%`)
    expect(items[0]?.querySelector('code')?.textContent?.replace(/␣/g, ' ')).toBe(expectedText)
    // The text highlights the attended positions that it shows.
    const hits = Array.from(region.querySelectorAll<HTMLElement>('mark[data-position]')).map((m) =>
      Number(m.dataset.position),
    )
    expect(hits.length).toBeGreaterThan(0)
    expect(hits.every((p) => positions.includes(p))).toBe(true)
  })

  it('moves between cells with the arrow keys and chooses one with Enter', () => {
    const events = detailEvents()
    render(
      <MavRunScope events={events} updates="sync">
        <AttentionHeadsPanel />
      </MavRunScope>,
    )
    const region = screen.getByRole('region', { name: 'Attention heads' })
    const start = region.querySelector('[data-layer="0"][data-head="0"]') as HTMLElement
    // One tab stop for the whole grid, and it follows the cell moved to.
    const stops = () => Array.from(region.querySelectorAll<HTMLElement>('[data-head][tabindex="0"]'))
    expect(stops()).toEqual([start])
    start.focus()
    fireEvent.keyDown(start, { key: 'ArrowDown' })
    fireEvent.keyDown(document.activeElement as Element, { key: 'ArrowRight' })
    expect((document.activeElement as HTMLElement).dataset).toMatchObject({ layer: '1', head: '1' })
    expect(stops()).toEqual([document.activeElement])
    fireEvent.keyDown(document.activeElement as Element, { key: 'Enter' })
    expect(region.querySelector('[data-chosen]')?.getAttribute('data-chosen')).toBe('1:1')
    // A toggle: the chosen cell alone is pressed, and choosing it again lets it go.
    const pressed = () => Array.from(region.querySelectorAll<HTMLElement>('[data-head][aria-pressed="true"]'))
    expect(pressed()).toEqual([document.activeElement])
    expect(region.querySelectorAll('[data-head][aria-pressed="false"]')).toHaveLength(269)
    fireEvent.click(start)
    expect(pressed()).toEqual([start])
    fireEvent.keyDown(start, { key: ' ' })
    expect(pressed()).toEqual([])
    expect(region.querySelector('[data-chosen]')).toBeNull()
    expect(region.querySelector('.mav-heads-detail')).toBeNull()
  })

  it("names each cell with its head's figures at the shown step, the focused one at once", async () => {
    const events = detailEvents()
    const steps = stepsOf(events)
    const label = (step: number, layer: number, head: number) => {
      const heads = steps[step]?.heads
      return `L${layer + 1} head ${head + 1}: entropy ${heads?.entropy[layer]?.[head]?.toFixed(3)} nats, ${heads?.covered_pct[layer]?.[head]}% on its top 8 positions`
    }
    const { rerender } = render(
      <MavRunScope events={events} stepIndex={2} updates="sync">
        <AttentionHeadsPanel />
      </MavRunScope>,
    )
    const region = screen.getByRole('region', { name: 'Attention heads' })
    const cell = (layer: number, head: number) =>
      region.querySelector(`[data-layer="${layer}"][data-head="${head}"]`) as HTMLElement
    await waitFor(() => expect(cell(29, 8).getAttribute('aria-label')).toBe(label(2, 29, 8)))
    expect(cell(29, 8).title).toBe(label(2, 29, 8))
    cell(4, 3).focus()
    expect(cell(4, 3).getAttribute('aria-label')).toBe(label(2, 4, 3))
    rerender(
      <MavRunScope events={events} stepIndex={9} updates="sync">
        <AttentionHeadsPanel />
      </MavRunScope>,
    )
    // The focused cell is named with the new step's figures in the same commit; the others follow.
    expect(cell(4, 3).getAttribute('aria-label')).toBe(label(9, 4, 3))
    expect(screen.getByRole('button', { name: label(9, 4, 3) })).toBe(cell(4, 3))
    await waitFor(() => expect(cell(0, 0).getAttribute('aria-label')).toBe(label(9, 0, 0)))
    expect(cell(17, 6).title).toBe(label(9, 17, 6))
  })

  it('says how to get head detail for a run without it', () => {
    render(<AttentionHeadsPanel step={makeStep()} />)
    expect(screen.getByRole('region', { name: 'Attention heads' }).textContent).toContain('detail "heads"')
  })
})

describe('LogitLensPanel', () => {
  it('shows layers x top 5 and marks the layer where the choice settles', () => {
    const step = stepsOf(detailEvents())[3] as MavStepEvent
    render(<LogitLensPanel step={step} />)
    const region = screen.getByRole('region', { name: 'Logit lens' })
    const rows = region.querySelectorAll('tbody tr')
    expect(rows).toHaveLength(31)
    expect(rows[0]?.querySelectorAll('td')).toHaveLength(5)
    const settles = settlingLayer(step)
    expect(settles).not.toBeNull()
    expect(region.querySelector('tr[data-settles]')?.getAttribute('data-row')).toBe(String(settles))
    expect(region.querySelectorAll('tr[data-settles]')).toHaveLength(1)
  })

  it('writes each new step into the same cells', () => {
    const events = detailEvents()
    const steps = stepsOf(events)
    const points: MavBranchEvent[] = []
    const scope = (stepIndex: number) => (
      <MavRunScope events={events} stepIndex={stepIndex} updates="sync">
        <LogitLensPanel onBranch={(point) => points.push(point)} />
      </MavRunScope>
    )
    const { rerender } = render(scope(1))
    const region = screen.getByRole('region', { name: 'Logit lens' })
    const first = region.querySelector('tbody td')
    for (const index of [8, 3]) {
      rerender(scope(index))
      const step = steps[index] as MavStepEvent
      const lens = step.lens as NonNullable<MavStepEvent['lens']>
      const settles = settlingLayer(step)
      expect(region.querySelector('tbody td')).toBe(first)
      const rows = Array.from(region.querySelectorAll('tbody tr'))
      expect(rows).toHaveLength(lens.ids.length)
      for (const [row, tr] of rows.entries()) {
        expect(tr.hasAttribute('data-settles')).toBe(row === settles)
        expect(tr.querySelector('th')?.textContent).toBe(
          `${row === 0 ? 'emb' : `L${row}`}${row === settles ? ' ◀ settles' : ''}`,
        )
        for (const [i, td] of Array.from(tr.querySelectorAll('td')).entries()) {
          const id = lens.ids[row]?.[i] as number
          const probability = lens.probs[row]?.[i] ?? 0
          expect(td.getAttribute('data-token-id')).toBe(String(id))
          expect(td.hasAttribute('data-chosen')).toBe(id === step.token.id)
          expect(td.title).toBe(`${Math.round(probability * 1000) / 10}%`)
          const text = lens.texts[String(id)] ?? ''
          expect(td.textContent).toBe(`${visibleWhitespace(text)} ${(probability * 100).toFixed(1)}↪`)
          expect(td.querySelector('button')?.getAttribute('aria-label')).toBe(
            `Continue with ${JSON.stringify(text)} at step ${step.step + 1}`,
          )
        }
      }
      fireEvent.click(rows[4]?.querySelectorAll('td button')[2] as Element)
      const id = lens.ids[4]?.[2] as number
      expect(points.at(-1)).toEqual({ step: step.step, tokenId: id, text: lens.texts[String(id)] })
      expect(within(region).getByText(settles === null ? 'not settled' : /^settles at/)).toBeTruthy()
    }
  })

  it('writes nothing into a table it has just made, and later steps as a new table shows them', () => {
    const events = detailEvents()
    const scope = (stepIndex: number) => (
      <MavRunScope events={events} stepIndex={stepIndex} updates="sync">
        <LogitLensPanel onBranch={() => {}} />
      </MavRunScope>
    )
    const writes = new MutationObserver(() => {})
    writes.observe(document.body, { subtree: true, attributes: true, characterData: true })
    const { container, rerender } = render(scope(1))
    expect(writes.takeRecords()).toEqual([])
    writes.disconnect()
    // Every element with its attributes (in any order) and the text: what a reader and the eye get.
    const content = (root: Element | null) =>
      Array.from(
        root?.querySelectorAll('*') ?? [],
        (element) => `${element.tagName} ${Array.from(element.attributes, (a) => `${a.name}=${a.value}`).sort()}`,
      ).concat(root?.textContent ?? '')
    for (const index of [8, 3]) {
      rerender(scope(index))
      const fresh = render(scope(index))
      expect(content(container.querySelector('tbody'))).toEqual(content(fresh.container.querySelector('tbody')))
      fresh.unmount()
    }
  })

  it('draws the settling strip in a scope', () => {
    render(
      <MavRunScope events={detailEvents()} updates="sync">
        <LogitLensPanel />
      </MavRunScope>,
    )
    expect(screen.getByRole('img', { name: /Layers by steps/ })).toBeTruthy()
  })
})

describe('token confidence', () => {
  it('tints tokens by probability, shows alternatives on focus and moves the timeline on activation', () => {
    const events = recordingEvents()
    const steps = stepsOf(events)
    let selected: number | null = null
    render(
      <MavRunScope events={events} updates="sync" onStepIndexChange={(index) => (selected = index)}>
        <GeneratedTextPanel confidence limitChars={80} />
      </MavRunScope>,
    )
    const region = screen.getByRole('region', { name: 'Generated text' })
    const tokens = region.querySelectorAll<HTMLElement>('.mav-confidence-token')
    expect(tokens.length).toBeGreaterThan(3)
    const token = tokens[1] as HTMLElement
    const index = Number(token.dataset.step)
    const chosen = steps[index]?.top.find((t) => t.id === steps[index]?.token.id)?.prob ?? 0
    expect(Number(token.style.getPropertyValue('--mav-p'))).toBeCloseTo(chosen, 6)
    act(() => token.focus())
    const tip = within(region).getByRole('tooltip')
    expect(tip.querySelectorAll('li')).toHaveLength(Math.min(5, steps[index]?.top.length ?? 0))
    fireEvent.keyDown(token, { key: 'Enter' })
    expect(selected).toBe(index)
  })
})

describe('anomaly marks', () => {
  it('marks the steps the client rules find and jumps between them with ] and [', () => {
    const events = recordingEvents()
    const expected = findAnomalies(stepsOf(events), { lowProbability: 0.3 }).map((a) => a.step)
    expect(expected.length).toBeGreaterThan(1)
    const { container } = render(
      <MAVContainer events={events} updates="sync" anomalies={{ lowProbability: 0.3 }} panels={['generated_text']} />,
    )
    const slider = screen.getByRole('slider')
    expect(drawnMarks(slider)).toEqual(expected)
    const heatmaps = Array.from(container.querySelectorAll('.mav-heatmap'))
    expect(heatmaps.map((heatmap) => drawnMarks(heatmap))).toEqual([expected, expected])
    act(() => slider.focus())
    fireEvent.keyDown(slider, { key: 'Home' })
    fireEvent.keyDown(slider, { key: ']' })
    // The shown step is marked: the controls say why.
    expect(container.querySelector('.mav-anomaly-why')?.textContent).toMatch(/^Step \d+: low probability \(/)
    expect(Number(slider.getAttribute('aria-valuenow')) - 1).toBe(expected[0] === 0 ? expected[1] : expected[0])
    fireEvent.keyDown(slider, { key: 'End' })
    fireEvent.keyDown(slider, { key: '[' })
    const last = expected.at(-1) === steps(events).length - 1 ? expected.at(-2) : expected.at(-1)
    expect(Number(slider.getAttribute('aria-valuenow')) - 1).toBe(last)
  })

  it('re-marks when the user changes the threshold', () => {
    const events = recordingEvents()
    render(
      <MavRunScope events={events} updates="sync">
        <Timeline />
      </MavRunScope>,
    )
    expect(document.querySelector('.mav-mark')).toBeNull() // off unless asked for
    const { container } = render(<MAVContainer events={events} updates="sync" anomalies panels={[]} />)
    const input = within(container).getByRole('spinbutton') as HTMLInputElement
    expect(input.value).toBe('10')
    const count = () => drawnMarks(container.querySelector('.mav-slider') as HTMLElement).length
    const before = count()
    fireEvent.change(input, { target: { value: '60' } })
    expect(count()).toBe(findAnomalies(stepsOf(events), { lowProbability: 0.6 }).length)
    expect(count()).toBeGreaterThan(before)
  })
})

const steps = stepsOf

describe('createAnomalyStore', () => {
  it('gives each reader length a stable marks object (update lanes trail each other)', () => {
    const events = recordingEvents()
    const store = createRunStore()
    store.reset('connecting')
    for (const event of events.slice(0, 31)) store.dispatch(event)
    const behind = store.getSnapshot()
    for (const event of events.slice(31)) store.dispatch(event)
    const ahead = store.getSnapshot()
    const marks = createAnomalyStore({ lowProbability: 0.3 })
    const a = marks.marks(ahead)
    const b = marks.marks(behind)
    expect(marks.marks(ahead)).toBe(a)
    expect(marks.marks(behind)).toBe(b)
    const all = findAnomalies(stepsOf(events), { lowProbability: 0.3 }).map((x) => x.step)
    expect(a.marked).toEqual(all)
    expect(b.marked).toEqual(all.filter((step) => step < behind.steps.length))
  })

  it('follows a run store: each step is scored as it arrives, not by the frame that reads the marks', () => {
    const events = recordingEvents()
    const store = createRunStore()
    const marks = createAnomalyStore({ lowProbability: 0.3 })
    const stop = marks.follow(store)
    store.reset('connecting')
    for (const event of events.slice(0, 31)) store.dispatch(event)
    const early = store.getSnapshot()
    for (const event of events.slice(31)) store.dispatch(event)
    const all = findAnomalies(stepsOf(events), { lowProbability: 0.3 })
    // Read at an early snapshot, the shared record already holds every step's score.
    const view = marks.marks(early)
    expect(view.byStep.size).toBe(all.length)
    expect(view.marked).toEqual(all.map((x) => x.step).filter((step) => step < early.steps.length))
    expect(marks.marks(store.getSnapshot()).marked).toEqual(all.map((x) => x.step))
    // Stopped: a new run (new step objects) is scored when read, from its first step.
    stop()
    store.reset('connecting')
    for (const event of structuredClone(events.slice(0, 31))) store.dispatch(event)
    const again = marks.marks(store.getSnapshot())
    expect(again.byStep.size).toBe(again.marked.length)
    expect(again.marked).toEqual(view.marked)
  })
})

describe('MarkTicks', () => {
  const marksOf = (steps: number[], byStep = new Map<number, MavAnomaly>()) => {
    for (const step of steps) {
      if (!byStep.has(step)) {
        byStep.set(step, { step, kinds: ['low_probability'], probability: 0.05, entropyZ: 0, layer: 0, layerZ: 0 })
      }
    }
    return { marked: steps, byStep }
  }

  it('extends the ticks for new marks and widens the view as the track grows', () => {
    const byStep = new Map<number, MavAnomaly>()
    const { container, rerender } = render(<MarkTicks marks={marksOf([1, 4], byStep)} capacity={10} />)
    const path = () => container.querySelector('.mav-mark')
    const box = container.querySelector('.mav-marks')
    expect(drawnMarks(container)).toEqual([1, 4])
    expect(path()?.getAttribute('d')).toBe('M1 0V1M4 0V1')
    expect(box?.getAttribute('viewBox')).toBe('0 0 9 1')
    rerender(<MarkTicks marks={marksOf([1, 4, 12], byStep)} capacity={40} />)
    expect(drawnMarks(container)).toEqual([1, 4, 12])
    expect(path()?.getAttribute('d')).toBe('M1 0V1M4 0V1M12 0V1')
    // The slider's stops: step 39 is the right end.
    expect(box?.getAttribute('viewBox')).toBe('0 0 39 1')
    expect(container.querySelectorAll('.mav-mark')).toHaveLength(1)
  })

  it('redraws for a new run or threshold and for a reader behind the drawn ticks', () => {
    const { container, rerender } = render(<MarkTicks marks={marksOf([2, 5, 7])} capacity={10} columns />)
    // Column centres of a heatmap of 10 columns.
    expect(container.querySelector('.mav-mark')?.getAttribute('d')).toBe('M2.5 0V1M5.5 0V1M7.5 0V1')
    expect(container.querySelector('.mav-marks')?.getAttribute('viewBox')).toBe('0 0 10 1')
    rerender(<MarkTicks marks={marksOf([3])} capacity={10} columns />)
    expect(drawnMarks(container)).toEqual([3])
    const byStep = new Map<number, MavAnomaly>()
    rerender(<MarkTicks marks={marksOf([3, 6, 8], byStep)} capacity={10} columns />)
    rerender(<MarkTicks marks={marksOf([3, 6], byStep)} capacity={10} columns />)
    expect(drawnMarks(container)).toEqual([3, 6])
    expect(container.querySelector('.mav-mark')?.getAttribute('d')).toBe('M3.5 0V1M6.5 0V1')
  })

  it('draws many marks in paths of 256, extends only the last, and drops them for a new run', () => {
    const byStep = new Map<number, MavAnomaly>()
    const steps = (n: number) => Array.from({ length: n }, (_, i) => i * 2)
    const { container, rerender } = render(<MarkTicks marks={marksOf(steps(300), byStep)} capacity={700} />)
    const paths = () => [...container.querySelectorAll('.mav-mark')]
    expect(paths()).toHaveLength(2)
    expect(drawnMarks(container)).toEqual(steps(300))
    const full = paths()[0]?.getAttribute('d')
    expect(full?.match(/M/g)).toHaveLength(256)
    rerender(<MarkTicks marks={marksOf(steps(320), byStep)} capacity={700} />)
    expect(paths()[0]?.getAttribute('d')).toBe(full)
    expect(paths()[1]?.getAttribute('d')?.match(/M/g)).toHaveLength(64)
    expect(drawnMarks(container)).toEqual(steps(320))
    rerender(<MarkTicks marks={marksOf([5])} capacity={700} />)
    expect(paths()).toHaveLength(1)
    expect(drawnMarks(container)).toEqual([5])
  })
})
