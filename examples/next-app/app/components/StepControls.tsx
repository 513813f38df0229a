'use client'

import { useEffect } from 'react'

export interface StepControlsProps {
  on: boolean
  onToggle(on: boolean): void
  onNext(): void
  onFinish(): void
  /** A token is on its way. */
  busy: boolean
  /** The stepped run has all its tokens (or ended on an end token). */
  complete: boolean
}

/** Elements where Enter already means something (typing, pressing a control). */
const OWN_ENTER = new Set(['INPUT', 'TEXTAREA', 'SELECT', 'BUTTON', 'A'])

/**
 * Step mode: the run advances one token per press of "Next token" (or Enter anywhere but in a field),
 * each in a request of its own, so nothing is generated and nothing is kept on the server in between.
 */
export function StepControls({ on, onToggle, onNext, onFinish, busy, complete }: StepControlsProps) {
  useEffect(() => {
    if (!on) return
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null
      if (event.key !== 'Enter' || event.repeat || (target && OWN_ENTER.has(target.tagName))) return
      if (target?.isContentEditable) return
      event.preventDefault()
      if (!busy && !complete) onNext()
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [on, busy, complete, onNext])

  return (
    <fieldset className="demo-steps" data-step-mode={on || undefined}>
      <legend>Step mode</legend>
      <label className="demo-check">
        <input type="checkbox" checked={on} onChange={(event) => onToggle(event.target.checked)} /> One token per press
      </label>
      {on && (
        <>
          <div className="demo-steps-buttons">
            <button type="button" onClick={onNext} disabled={busy || complete}>
              Next token
            </button>
            <button type="button" onClick={onFinish} disabled={busy || complete}>
              Run to end
            </button>
          </div>
          <p className="demo-hint">
            Enter also generates the next token. Each press is its own request: the server keeps nothing between
            presses.
          </p>
        </>
      )}
    </fieldset>
  )
}
