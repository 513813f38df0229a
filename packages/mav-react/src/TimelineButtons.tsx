export interface TimelineButtonsProps {
  /** Steps there are; 0 disables every button. */
  length: number
  /** The step shown (0-based). */
  index: number
  /** Whether "Follow live" shows as pressed. */
  pressed: boolean
  /** Whether "Follow live" can do anything (a paused view of a finished run can still go to its end). */
  followable: boolean
  onFollow: () => void
  /** Shows step `next`, clamped by the caller. */
  select: (next: number) => void
}

/** "Follow live", "Previous step" and "Next step": the buttons of every timeline. */
export function TimelineButtons({ length, index, pressed, followable, onFollow, select }: TimelineButtonsProps) {
  return (
    <div className="mav-timeline-buttons">
      <button
        type="button"
        className="mav-button"
        aria-pressed={pressed}
        onClick={onFollow}
        disabled={length === 0 || !followable}
      >
        Follow live
      </button>
      <button type="button" className="mav-button" onClick={() => select(index - 1)} disabled={index <= 0}>
        Previous step
      </button>
      <button type="button" className="mav-button" onClick={() => select(index + 1)} disabled={index >= length - 1}>
        Next step
      </button>
    </div>
  )
}
