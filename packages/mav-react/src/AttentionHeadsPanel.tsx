import { headTargets, type MavRunState, type MavStepEvent } from '@mav/client'
import {
  type CSSProperties,
  forwardRef,
  type HTMLAttributes,
  type KeyboardEvent,
  useContext,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from 'react'
import { MavRunScopeContext, useScopeSelector } from './context'
import { formatPercent, visibleWhitespace } from './format'
import { paintCells, useCellLayout } from './headsCanvas'
import { headsGridHtml } from './headsGrid'
import { useCellLabels } from './headsLabels'
import { Panel } from './Panel'
import { usePanelSource } from './usePanelSource'

/** Props of {@link AttentionHeadsPanel}. */
export interface AttentionHeadsPanelProps extends Omit<HTMLAttributes<HTMLElement>, 'title'> {
  /** The step to show, for use outside `MAVContainer`. Default: the container's selected step. */
  step?: MavStepEvent | null
  /** Standalone only: the text of each position (prompt tokens, then generated ones). Default: none. */
  tokens?: readonly string[]
  /** Tokens of context shown before the step's token. Default 40. */
  contextTokens?: number
  /** Heading and accessible name. Default `"Attention heads"`. */
  title?: string
}

interface Cell {
  layer: number
  head: number
}

const selectMeta = (state: MavRunState) => state.meta

/** The text of each position the head attends to: prompt tokens, then generated tokens. */
function tokenAt(state: MavRunState | null, tokens: readonly string[] | undefined, position: number): string {
  if (tokens) return tokens[position] ?? ''
  const prompt = state?.meta?.prompt_tokens ?? []
  if (position < prompt.length) return prompt[position]?.text ?? ''
  return state?.steps.at(position - prompt.length)?.token.text ?? ''
}

/**
 * A layers x heads grid of each head's attention entropy for the shown step (`detail: ["heads"]`):
 * darker is more focused. Choosing a cell (click, or arrows then Enter/Space) shows the positions that
 * head weighs most, with their weights, highlighted in the text before the token.
 */
export const AttentionHeadsPanel = forwardRef<HTMLElement, AttentionHeadsPanelProps>(function AttentionHeadsPanel(
  { step: stepProp, tokens, contextTokens = 40, title = 'Attention heads', ...rest },
  ref,
) {
  const source = usePanelSource('AttentionHeadsPanel', stepProp, 'low')
  const context = useContext(MavRunScopeContext)
  const scope = stepProp === undefined ? context : null
  const meta = useScopeSelector(scope, selectMeta)
  const [chosen, setChosen] = useState<Cell | null>(null)
  const [active, setActive] = useState<Cell>({ layer: 0, head: 0 })
  const gridRef = useRef<HTMLDivElement>(null)
  const heads = source.step?.heads
  const layers = heads?.entropy.length ?? 0
  const headCount = heads?.entropy[0]?.length ?? 0
  // Entropy is at most log(length); the colour scale is that bound, so cells mean the same at every step.
  const promptLength = meta?.prompt_tokens.length ?? 0
  // The step's token is chosen at the position before it, which attends to itself and what precedes it.
  const length = source.step ? Math.max(1, promptLength + source.step.step) : 1
  const bound = Math.log(Math.max(2, length))

  // Choosing the chosen head again lets it go.
  const toggle = (cell: Cell) =>
    setChosen((prev) => (prev?.layer === cell.layer && prev.head === cell.head ? null : cell))

  const move = (event: KeyboardEvent<HTMLDivElement>) => {
    if (!heads) return
    const delta: Record<string, [number, number]> = {
      ArrowUp: [-1, 0],
      ArrowDown: [1, 0],
      ArrowLeft: [0, -1],
      ArrowRight: [0, 1],
    }
    if (event.key === 'Enter' || event.key === ' ') {
      toggle(active)
      event.preventDefault()
      return
    }
    const d = delta[event.key]
    if (!d) return
    event.preventDefault()
    const next = {
      layer: Math.max(0, Math.min(layers - 1, active.layer + d[0])),
      head: Math.max(0, Math.min(headCount - 1, active.head + d[1])),
    }
    setActive(next)
    gridRef.current?.querySelector<HTMLElement>(`[data-layer="${next.layer}"][data-head="${next.head}"]`)?.focus()
  }

  // The cells are made once per grid shape, from markup (headsGridHtml); each step paints their colours
  // on one canvas under them and names them (useCellLabels): no reconciliation and no restyle of the
  // cells per token.
  const grid = useMemo(() => (layers === 0 ? null : { __html: headsGridHtml(layers, headCount) }), [layers, headCount])
  const canvasRef = useRef<HTMLCanvasElement>(null)
  const layout = useCellLayout(gridRef, canvasRef, grid)
  const name = useCellLabels(gridRef, heads, grid)
  // The cells outlive renders (see grid): the chosen one is marked pressed here, not by React.
  useLayoutEffect(() => {
    const root = gridRef.current
    if (!root || !grid) return
    for (const cell of root.querySelectorAll('[aria-pressed="true"]')) cell.setAttribute('aria-pressed', 'false')
    if (chosen)
      root
        .querySelector(`[data-layer="${chosen.layer}"][data-head="${chosen.head}"]`)
        ?.setAttribute('aria-pressed', 'true')
  }, [chosen, grid])
  useLayoutEffect(() => {
    const canvas = canvasRef.current
    if (canvas && heads && layout) paintCells(canvas, layout, heads.entropy, bound)
  }, [heads, bound, layout])

  const state = scope?.store.getSnapshot() ?? null
  const targets = chosen && source.step ? headTargets(source.step, chosen.layer, chosen.head) : []
  const weightOf = new Map(targets.map((t) => [t.position, t.weight]))
  const start = Math.max(0, length - contextTokens)
  const shown = chosen ? Array.from({ length: length - start }, (_, i) => start + i) : []
  const missing = source.state === 'ready' && !heads

  return (
    <Panel
      ref={ref}
      title={title}
      panel="attention_heads"
      state={missing ? 'empty' : source.state}
      message={missing ? 'This run has no head detail: start it with detail "heads".' : source.message}
      aside={<span className="mav-muted">entropy per head, nats</span>}
      {...rest}
    >
      {heads && (
        <div className="mav-heads" data-layers={layers} data-heads={headCount}>
          {/* Tab reaches the grid once; arrow keys move between the cells, Enter or Space chooses one. */}
          {/* biome-ignore lint/a11y/useSemanticElements: a labelled group of buttons, not a form */}
          <div
            ref={gridRef}
            role="group"
            aria-label="Attention entropy by layer and head"
            className="mav-heads-grid"
            onKeyDown={move}
            onClick={(event) => {
              const cell = (event.target as HTMLElement).closest<HTMLElement>('[data-head]')
              if (!cell) return
              const picked = { layer: Number(cell.dataset.layer), head: Number(cell.dataset.head) }
              setActive(picked)
              toggle(picked)
            }}
            onFocus={(event) => {
              const cell = (event.target as HTMLElement).closest<HTMLElement>('[data-head]')
              if (!cell) return
              for (const stop of gridRef.current?.querySelectorAll<HTMLElement>('[data-head][tabindex="0"]') ?? [])
                if (stop !== cell) stop.tabIndex = -1
              cell.tabIndex = 0
              name(cell)
              setActive({ layer: Number(cell.dataset.layer), head: Number(cell.dataset.head) })
            }}
            onPointerOver={(event) => {
              const cell = (event.target as HTMLElement).closest<HTMLElement>('[data-head]')
              if (cell) name(cell, true)
            }}
            data-chosen={chosen ? `${chosen.layer}:${chosen.head}` : undefined}
          >
            {/* biome-ignore lint/a11y/noAriaHiddenOnFocusable: not focusable; the cells carry the names */}
            <canvas ref={canvasRef} className="mav-heads-canvas" aria-hidden="true" />
            {/* biome-ignore lint/security/noDangerouslySetInnerHtml: markup of numbers only (headsGridHtml) */}
            {grid && <div className="mav-heads-rows" dangerouslySetInnerHTML={grid} />}
          </div>
          {chosen && (
            <div className="mav-heads-detail" aria-live="polite">
              <p className="mav-heads-caption">
                L{chosen.layer + 1} head {chosen.head + 1} attends to{' '}
                {formatPercent((heads.covered_pct[chosen.layer]?.[chosen.head] ?? 0) / 100)} on:
              </p>
              <ol className="mav-heads-targets">
                {targets.map(({ position, weight }) => (
                  <li key={position} data-position={position} data-weight={weight}>
                    <code className="mav-token">{visibleWhitespace(tokenAt(state, tokens, position))}</code>{' '}
                    <span className="mav-muted">
                      #{position} · {Math.round(weight * 100)}%
                    </span>
                  </li>
                ))}
              </ol>
              <p className="mav-text mav-heads-text">
                {start > 0 && <span className="mav-text-ellipsis">…</span>}
                {shown.map((position) => {
                  const weight = weightOf.get(position)
                  const text = tokenAt(state, tokens, position)
                  return weight === undefined ? (
                    <span key={position}>{text}</span>
                  ) : (
                    <mark
                      key={position}
                      className="mav-heads-hit"
                      data-position={position}
                      title={`${Math.round(weight * 100)}%`}
                      style={{ '--mav-w': weight } as CSSProperties}
                    >
                      {text}
                    </mark>
                  )
                })}
              </p>
            </div>
          )}
        </div>
      )}
    </Panel>
  )
})
