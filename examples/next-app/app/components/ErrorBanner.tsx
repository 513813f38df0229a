import { useEffect, useState } from 'react'
import type { FriendlyError } from '../../lib/errors'

/** While a refused run waits to be tried again: when, and which try it will be. */
export interface RetryNotice {
  at: number
  attempt: number
  attempts: number
}

/** Whole seconds until `at` (a `Date.now()` time), ticking while the component is shown. */
function useSecondsUntil(at: number | undefined): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (at === undefined) return
    setNow(Date.now())
    const timer = setInterval(() => setNow(Date.now()), 250)
    return () => clearInterval(timer)
  }, [at])
  return at === undefined ? 0 : Math.max(0, Math.ceil((at - now) / 1000))
}

/** The one place errors are shown: a headline, the detail, and what to do about it (or when it retries). */
export function ErrorBanner({ error, retry }: { error: FriendlyError; retry?: RetryNotice }) {
  const seconds = useSecondsUntil(retry?.at)
  const hint = retry
    ? `${seconds > 0 ? `Trying again in ${seconds} s` : 'Trying again now'} (attempt ${retry.attempt} of ${retry.attempts}).`
    : error.hint
  return (
    <div className="demo-banner" role="alert" data-kind={error.kind} data-retrying={retry ? 'true' : undefined}>
      <strong className="demo-banner-title">{error.title}</strong>
      <span className="demo-banner-detail">{error.detail}</span>
      {hint && <span className="demo-banner-hint">{hint}</span>}
    </div>
  )
}
