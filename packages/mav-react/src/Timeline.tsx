import type { MavRunState } from '@mav/client'
import { nextMarked } from '@mav/client'
import {
  type CSSProperties,
  forwardRef,
  type HTMLAttributes,
  type KeyboardEvent,
  type PointerEvent,
  useCallback,
  useRef,
  useSyncExternalStore,
} from 'react'
import { AnomalyControls, MarkTicks } from './AnomalyTicks'
import { useAnomalyMarks } from './anomalyMarks'
import { selectIndex, useRunScope, useScopeSelector } from './context'
import { visibleWhitespace } from './format'
import { TimelineButtons } from './TimelineButtons'

/** Props of {@link Timeline}. */
export interface TimelineProps extends HTMLAttributes<HTMLDivElement> {
  /** Accessible name of the slider. Default `"Step"`. */
  label?: string
  /** Steps moved by PageUp/PageDown. Default 10. */
  pageSize?: number
}

const selectLength = (state: MavRunState) => state.steps.length
const selectStatus = (state: MavRunState) => state.status
const selectTokenText = (state: MavRunState, selected: number | null) =>
  state.steps.at(selectIndex(state, selected))?.token.text ?? null
const ACTIVE: ReadonlySet<MavRunState['status']> = new Set(['connecting', 'loading', 'streaming'])

/**
 * A slider over all steps of the run: every panel in the same `MAVContainer`/`MavRunScope` shows the
 * chosen step. "Follow live" (the default) tracks the newest step while streaming; moving the slider,
 * the arrow keys or Previous/Next pause on a step, like openmav's `--interactive` step mode, while the
 * run keeps streaming behind. Once the run has ended the button is no longer pressed and only goes to
 * the last step. Keys on the slider: arrows ±1, PageUp/PageDown ±`pageSize`, Home = first step, End =
 * follow live, Space = pause/follow. With anomaly marks on (`MAVContainer`'s `anomalies`), marked steps
 * show as ticks on the track and `]`/`[` go to the next/previous marked step.
 */
export const Timeline = forwardRef<HTMLDivElement, TimelineProps>(function Timeline(
  { label = 'Step', pageSize = 10, className, ...rest },
  ref,
) {
  const scope = useRunScope('Timeline')
  const { selection } = scope
  const length = useScopeSelector(scope, selectLength)
  const index = useScopeSelector(scope, selectIndex)
  const status = useScopeSelector(scope, selectStatus)
  const tokenText = useScopeSelector(scope, selectTokenText)
  const marks = useAnomalyMarks(scope)
  const selected = useSyncExternalStore(selection.subscribe, selection.get, selection.get)
  const following = selected === null
  const live = following && ACTIVE.has(status)
  const last = length - 1

  const select = useCallback((next: number) => selection.set(Math.max(0, Math.min(last, next))), [selection, last])
  const follow = useCallback(() => selection.set(null), [selection])
  const toggle = () => (following ? select(index) : follow())

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (length === 0) return
    let handled = true
    switch (event.key) {
      case 'ArrowRight':
      case 'ArrowUp':
        select(index + 1)
        break
      case 'ArrowLeft':
      case 'ArrowDown':
        select(index - 1)
        break
      case 'PageUp':
        select(index + pageSize)
        break
      case 'PageDown':
        select(index - pageSize)
        break
      case 'Home':
        select(0)
        break
      case 'End':
        follow()
        break
      case ' ':
        toggle()
        break
      case ']':
      case '[': {
        const mark = marks ? nextMarked(marks.marked, index, event.key === ']' ? 1 : -1) : -1
        if (mark >= 0) select(mark)
        else handled = marks !== null
        break
      }
      default:
        handled = false
    }
    if (handled) event.preventDefault()
  }

  const trackRef = useRef<HTMLDivElement>(null)
  const fromPointer = (event: PointerEvent<HTMLDivElement>) => {
    const track = trackRef.current
    if (track === null || length === 0) return
    const rect = track.getBoundingClientRect()
    const fraction = rect.width > 0 ? (event.clientX - rect.left) / rect.width : 1
    select(Math.round(fraction * last))
  }

  const fraction = length > 1 ? index / last : length === 1 ? 1 : 0
  const valueText =
    length === 0 ? 'No steps yet' : `Step ${index + 1} of ${length}: ${visibleWhitespace(tokenText ?? '')}`

  return (
    <div
      ref={ref}
      className={className ? `mav-timeline ${className}` : 'mav-timeline'}
      data-state={following ? 'live' : 'paused'}
      data-status={status}
      {...rest}
    >
      {/* After the run, nothing is live: the button only goes back to the last step. */}
      <TimelineButtons
        length={length}
        index={index}
        pressed={live}
        followable={!following || live}
        onFollow={ACTIVE.has(status) ? toggle : follow}
        select={select}
      />
      <div
        ref={trackRef}
        className="mav-slider"
        role="slider"
        tabIndex={0}
        aria-label={label}
        aria-valuemin={length === 0 ? 0 : 1}
        aria-valuemax={Math.max(length, 0)}
        aria-valuenow={index + 1}
        aria-valuetext={valueText}
        aria-disabled={length === 0 || undefined}
        data-state={following ? 'live' : 'paused'}
        style={{ '--mav-fraction': fraction } as CSSProperties}
        onKeyDown={onKeyDown}
        onPointerDown={(event) => {
          event.currentTarget.setPointerCapture?.(event.pointerId)
          fromPointer(event)
        }}
        onPointerMove={(event) => {
          if (event.buttons !== 0 && event.currentTarget.hasPointerCapture?.(event.pointerId)) fromPointer(event)
        }}
      >
        <span className="mav-slider-fill" />
        {marks && <MarkTicks marks={marks} capacity={length} />}
        <span className="mav-slider-thumb" />
      </div>
      <output className="mav-timeline-value" data-step={index}>
        {length === 0 ? (
          '0 / 0'
        ) : (
          <>
            {index + 1} / {length}{' '}
            {tokenText !== null && <code className="mav-token">{visibleWhitespace(tokenText)}</code>}
          </>
        )}
      </output>
      {marks && <AnomalyControls marks={marks} index={index} select={select} />}
    </div>
  )
})
