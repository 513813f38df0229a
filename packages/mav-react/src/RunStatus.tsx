import type { MavRunState } from '@mav/client'
import { forwardRef, type HTMLAttributes } from 'react'
import { useRunScope, useScopeSelector } from './context'

/** Props of {@link RunStatus}. */
export type RunStatusProps = HTMLAttributes<HTMLDivElement>

const STATUS_LABEL: Record<MavRunState['status'], string> = {
  idle: 'Idle',
  connecting: 'Connecting',
  loading: 'Loading',
  streaming: 'Streaming',
  done: 'Done',
  error: 'Error',
  stopped: 'Stopped',
}

const selectStatus = (state: MavRunState) => state.status
const selectModel = (state: MavRunState) => state.meta?.model ?? null
const selectLength = (state: MavRunState) => state.steps.length
const selectError = (state: MavRunState) => state.error
const selectWarnings = (state: MavRunState) => state.warnings.length
const selectLoading = (state: MavRunState) => (state.status === 'loading' ? state.phase : null)

/**
 * One line about the run: model, status (`data-status`), tokens so far, and the error that ended it
 * (announced with `role="alert"`). While the server loads the model's weights, a progress bar
 * (`role="progressbar"`) with the server's message (`Loading <model>`) and the share loaded.
 */
export const RunStatus = forwardRef<HTMLDivElement, RunStatusProps>(function RunStatus({ className, ...rest }, ref) {
  const scope = useRunScope('RunStatus')
  const status = useScopeSelector(scope, selectStatus)
  const model = useScopeSelector(scope, selectModel)
  const length = useScopeSelector(scope, selectLength)
  const error = useScopeSelector(scope, selectError)
  const warnings = useScopeSelector(scope, selectWarnings)
  const loading = useScopeSelector(scope, selectLoading)
  return (
    <div ref={ref} className={className ? `mav-status ${className}` : 'mav-status'} data-status={status} {...rest}>
      <span className="mav-status-badge" data-status={status}>
        {STATUS_LABEL[status]}
      </span>
      {model && (
        <span className="mav-status-model">
          {model.id} <span className="mav-muted">· {model.n_layers} layers</span>
        </span>
      )}
      {loading?.phase === 'loading_model' && (
        <LoadingBar progress={loading.progress} label={loading.message ?? `Loading ${model?.id ?? 'the model'}`} />
      )}
      <span className="mav-status-count">
        {length} {length === 1 ? 'token' : 'tokens'}
      </span>
      {warnings > 0 && (
        <span className="mav-status-warnings" title="Events the client could not read; the run went on.">
          {warnings} skipped {warnings === 1 ? 'event' : 'events'}
        </span>
      )}
      {error && (
        <p className="mav-status-error" role="alert">
          {error.message} <span className="mav-muted">({error.code})</span>
        </p>
      )}
    </div>
  )
})

function LoadingBar({ progress, label }: { progress: number | undefined; label: string }) {
  const percent = progress === undefined ? undefined : Math.round(progress * 100)
  return (
    <span className="mav-status-loading">
      <span className="mav-status-loading-label">{label}</span>
      <span
        className="mav-status-loading-bar"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
      >
        <span className="mav-status-loading-fill" style={{ width: `${percent ?? 0}%` }} />
      </span>
      {percent !== undefined && <span className="mav-muted">{percent}%</span>}
    </span>
  )
}
