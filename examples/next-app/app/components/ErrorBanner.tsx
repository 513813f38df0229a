import type { FriendlyError } from '../../lib/errors'

/** The one place errors are shown: a headline, the detail, and what to do about it. */
export function ErrorBanner({ error }: { error: FriendlyError }) {
  return (
    <div className="demo-banner" role="alert" data-kind={error.kind}>
      <strong className="demo-banner-title">{error.title}</strong>
      <span className="demo-banner-detail">{error.detail}</span>
      {error.hint && <span className="demo-banner-hint">{error.hint}</span>}
    </div>
  )
}
