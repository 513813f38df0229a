import { type MavPanelProps, Panel } from '../index'

/**
 * An example custom panel. It is a plain component of `MavPanelProps`, the props every panel in
 * `MAVContainer`'s `panels` receives (as openmav's `external_panels` plugins receive the measurements),
 * and it uses the exported `Panel` frame and the `mav-stats` list style to look like the built-in panels.
 */
export function ConfidencePanel({ step, stepIndex }: MavPanelProps) {
  const first = step?.top[0]
  const second = step?.top[1]
  const chosenRank = step ? step.top.findIndex((prediction) => prediction.id === step.token.id) + 1 : 0
  return (
    <Panel title="Confidence" panel="confidence" state={step ? 'ready' : 'empty'} message="No step yet.">
      {step && first && (
        <dl className="mav-stats" data-step={stepIndex}>
          <dt>Chosen token rank</dt>
          <dd>{chosenRank > 0 ? chosenRank : 'outside top'}</dd>
          <dt>Top-1 probability</dt>
          <dd>{(first.prob * 100).toFixed(1)}%</dd>
          <dt>Margin over top-2 (logits)</dt>
          <dd>{second ? (first.logit - second.logit).toFixed(2) : '–'}</dd>
          <dt>Entropy</dt>
          <dd>{step.distribution.entropy.toFixed(2)} nats</dd>
        </dl>
      )}
    </Panel>
  )
}
