import { forwardRef, type HTMLAttributes, type ReactNode, useId } from 'react'

/** What a panel body shows: its data, or why there is none. */
export type MavPanelState = 'ready' | 'empty' | 'loading' | 'error'

/** Props of {@link Panel}. */
export interface PanelProps extends Omit<HTMLAttributes<HTMLElement>, 'title'> {
  /** The heading, which is also the region's accessible name. */
  title: string
  /** Extra heading content (units, a summary value), outside the accessible name. */
  aside?: ReactNode
  /** Set as `data-panel`, for styling and tests. Default: none. */
  panel?: string
  /** `ready` shows `children`; the others show `message`. Default `"ready"`. */
  state?: MavPanelState
  /** What to show instead of the data when `state` is not `ready`. */
  message?: ReactNode
}

/**
 * The frame every panel uses: a labelled region (a `<section>` named by its heading, so `role="region"`) with a body
 * that shows the data or an empty/loading/error message. Custom panels use it to look like the rest.
 */
export const Panel = forwardRef<HTMLElement, PanelProps>(function Panel(
  { title, aside, panel, state = 'ready', message, className, children, ...rest },
  ref,
) {
  const titleId = useId()
  return (
    <section
      ref={ref}
      aria-labelledby={titleId}
      aria-busy={state === 'loading' || undefined}
      data-panel={panel}
      data-state={state}
      className={className ? `mav-panel ${className}` : 'mav-panel'}
      {...rest}
    >
      <div className="mav-panel-header">
        <h3 className="mav-panel-title" id={titleId}>
          {title}
        </h3>
        {aside !== undefined && <div className="mav-panel-aside">{aside}</div>}
      </div>
      <div className="mav-panel-body">
        {state === 'ready' ? (
          children
        ) : (
          <p className="mav-panel-message" data-message={state}>
            {message}
          </p>
        )}
      </div>
    </section>
  )
})
