import type { ChangeEvent } from 'react'
import { TimelineButtons } from './TimelineButtons'

export interface CompareTimelineProps {
  /** Steps of the longest run. */
  length: number
  /** The step shown (0-based); -1 when there is none. */
  index: number
  /** `null`: every run follows its newest step. */
  selected: number | null
  /** Some run is still streaming. */
  live: boolean
  onSelect: (index: number | null) => void
}

/**
 * One slider over the longest run: choosing step k shows step k in every run (a run that ended earlier
 * stays on its last step). "Follow live" lets every run show its newest step.
 */
export function CompareTimeline({ length, index, selected, live, onSelect }: CompareTimelineProps) {
  const following = selected === null
  const last = length - 1
  const select = (next: number) => onSelect(Math.max(0, Math.min(last, next)))
  return (
    <div className="mav-timeline mav-compare-timeline" data-state={following ? 'live' : 'paused'}>
      <TimelineButtons
        length={length}
        index={index}
        pressed={following && live}
        followable={!following || live}
        onFollow={() => (following ? select(index) : onSelect(null))}
        select={select}
      />
      <input
        className="mav-compare-slider"
        type="range"
        aria-label="Step of every run"
        min={length === 0 ? 0 : 1}
        max={Math.max(length, 0)}
        value={index + 1}
        disabled={length === 0}
        onChange={(event: ChangeEvent<HTMLInputElement>) => select(Number(event.target.value) - 1)}
      />
      <output className="mav-timeline-value" data-step={index}>
        {length === 0 ? '0 / 0' : `${index + 1} / ${length}`}
      </output>
    </div>
  )
}
