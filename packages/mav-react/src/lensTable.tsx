import type { MavStepEvent } from '@mav/client'
import { forwardRef } from 'react'
import { visibleWhitespace } from './format'

type Lens = NonNullable<MavStepEvent['lens']>

export const lensRowLabel = (row: number) => (row === 0 ? 'emb' : `L${row}`)

/** The lens table's shape: the candidates per row, and whether each has a "continue" button. */
export function lensShape(lens: Lens | undefined, branch: boolean): string {
  return lens ? `${lens.ids.map((ids) => ids.length).join()}${branch ? ' branch' : ''}` : ''
}

const tokenText = (lens: Lens, id: number) => lens.texts[String(id)] ?? `#${id}`
const cellTitle = (probability: number) => `${Math.round(probability * 1000) / 10}%`
const cellPercent = (probability: number) => (probability * 100).toFixed(1)
const SETTLES = ' ◀ settles'
const branchLabel = (text: string, step: number) => `Continue with ${JSON.stringify(text)} at step ${step + 1}`

export interface LensTableProps {
  /** The step the table is made with; later steps are written by {@link writeLens}. */
  step: MavStepEvent & { lens: Lens }
  settles: number | null
  /** A "continue with this token" button per candidate. */
  branch: boolean
  /** Called with the "continue" button clicked (one listener for the table, not one per button). */
  onBranch?: (button: Element) => void
}

/**
 * The logit lens of one step as a table: a row per layer, its top candidates with their probabilities.
 * Made once per shape; `writeLens` rewrites its cells for each new step.
 */
export const LensTable = forwardRef<HTMLTableElement, LensTableProps>(function LensTable(
  { step, settles, branch, onBranch },
  ref,
) {
  const { lens } = step
  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents: the clicks come from the cells' buttons, keyboard included
    <table
      ref={ref}
      className="mav-lens-table"
      data-branch={branch ? '' : undefined}
      onClick={(event) => {
        const button = (event.target as Element).closest('.mav-branch-button')
        if (button) onBranch?.(button)
      }}
    >
      <thead>
        <tr>
          <th scope="col">layer</th>
          <th scope="col" colSpan={lens.ids[0]?.length ?? 5}>
            top candidates
          </th>
        </tr>
      </thead>
      <tbody>
        {lens.ids.map((ids, row) => (
          <tr
            // biome-ignore lint/suspicious/noArrayIndexKey: rows are layers
            key={row}
            data-row={row}
            data-settles={row === settles || undefined}
            aria-current={row === settles ? 'true' : undefined}
          >
            <th scope="row">
              {lensRowLabel(row)}
              <span className="mav-lens-settles">{row === settles ? SETTLES : ''}</span>
            </th>
            {ids.map((id, i) => {
              const probability = lens.probs[row]?.[i] ?? 0
              const text = tokenText(lens, id)
              return (
                <td
                  // biome-ignore lint/suspicious/noArrayIndexKey: ranks are positional
                  key={i}
                  data-chosen={id === step.token.id || undefined}
                  data-token-id={id}
                  title={cellTitle(probability)}
                >
                  <code className="mav-token">{visibleWhitespace(text)}</code>{' '}
                  <span className="mav-muted">{cellPercent(probability)}</span>
                  {branch && (
                    <button
                      type="button"
                      className="mav-branch-button"
                      title="Continue with this token"
                      aria-label={branchLabel(text, step.step)}
                    >
                      <span aria-hidden="true">↪</span>
                    </button>
                  )}
                </td>
              )
            })}
          </tr>
        ))}
      </tbody>
    </table>
  )
})

function setAttribute(element: Element, name: string, value: string | null) {
  if (value === null) element.removeAttribute(name)
  else element.setAttribute(name, value)
}

/** Sets an element's only text, keeping its text node (the one React made) when there is one. */
function setText(element: Element | undefined, text: string) {
  const node = element?.firstChild
  if (node?.nodeType === 3 && node === element?.lastChild) node.nodeValue = text
  else if (element) element.textContent = text
}

/** What {@link writeLens} last wrote into each cell of one table, so that it compares in JS, not DOM. */
export interface LensWritten {
  settles: number | null | undefined
  step: number
  ids: number[]
  texts: string[]
  percents: string[]
  chosen: boolean[]
}

/**
 * What a table made by {@link LensTable} with `step` and `settles` holds; without a step, an empty record
 * (the next {@link writeLens} with it writes every cell).
 */
export function lensWritten(step?: MavStepEvent, settles: number | null = null): LensWritten {
  const written: LensWritten = { settles: undefined, step: -1, ids: [], texts: [], percents: [], chosen: [] }
  const lens = step?.lens
  if (!step || !lens) return written
  written.settles = settles
  written.step = step.step
  lens.ids.forEach((ids, row) => {
    ids.forEach((id, i) => {
      const at = row * ids.length + i
      written.ids[at] = id
      written.texts[at] = tokenText(lens, id)
      written.percents[at] = cellPercent(lens.probs[row]?.[i] ?? 0)
      written.chosen[at] = id === step.token.id
    })
  })
  return written
}

/**
 * Writes `step`'s lens into a table made by {@link LensTable} with the same shape, touching only what
 * differs from what `written` says is there: no reconciliation of its cells per step, and unchanged
 * text is not laid out again.
 */
export function writeLens(table: HTMLTableElement, step: MavStepEvent, settles: number | null, written: LensWritten) {
  const lens = step.lens
  const rows = table.tBodies[0]?.rows
  if (!lens || !rows) return
  const stepMoved = written.step !== step.step
  written.step = step.step
  for (let row = 0; row < rows.length; row++) {
    const tr = rows[row] as HTMLTableRowElement
    const on = row === settles
    if (written.settles === undefined || on !== (row === written.settles)) {
      setAttribute(tr, 'data-settles', on ? 'true' : null)
      setAttribute(tr, 'aria-current', on ? 'true' : null)
      setText(tr.cells[0]?.lastElementChild ?? undefined, on ? SETTLES : '')
    }
    const ids = lens.ids[row] ?? []
    for (let i = 0; i < ids.length; i++) {
      const td = tr.cells[i + 1]
      if (!td) continue
      const at = row * ids.length + i
      const id = ids[i] as number
      const text = tokenText(lens, id)
      const probability = lens.probs[row]?.[i] ?? 0
      const percent = cellPercent(probability)
      const chosen = id === step.token.id
      if (written.ids[at] !== id) td.setAttribute('data-token-id', String(id))
      if (written.chosen[at] !== chosen) setAttribute(td, 'data-chosen', chosen ? 'true' : null)
      if (written.texts[at] !== text) setText(td.children[0], visibleWhitespace(text))
      if (written.percents[at] !== percent) {
        td.title = cellTitle(probability)
        setText(td.children[1], percent)
      }
      const button = td.children[2]
      if (button && (stepMoved || written.texts[at] !== text))
        button.setAttribute('aria-label', branchLabel(text, step.step))
      written.ids[at] = id
      written.texts[at] = text
      written.percents[at] = percent
      written.chosen[at] = chosen
    }
  }
  written.settles = settles
}
/** The candidate a "continue" button of the table stands for, at `step`. */
export function lensBranchPoint(button: Element, step: MavStepEvent) {
  const id = Number(button.closest('td')?.dataset.tokenId)
  if (!step.lens || !Number.isInteger(id)) return null
  return { step: step.step, tokenId: id, text: tokenText(step.lens, id) }
}
