import { type MavRecording, type MavScale, parseRecording } from '@mav/client'
import { useMemo, useState } from 'react'
import { AttentionHeadsPanel } from '../AttentionHeadsPanel'
import { LogitLensPanel } from '../LogitLensPanel'
import { MAV_PANELS, MAVContainer, type MavPanelName, type MavPanelSpec } from '../MAVContainer'
import { useMavRun } from '../useMavRun'
import { type MavPlayerData, type MavPlayerPanelName, playerTitle } from './playerData'

const SCALES: readonly MavScale[] = ['linear', 'log', 'minmax']

function knownPanels(value: unknown): MavPanelName[] | undefined {
  if (!Array.isArray(value)) return undefined
  const panels = value.filter((name): name is MavPanelName => MAV_PANELS.includes(name as MavPanelName))
  return panels.length > 0 ? panels : undefined
}

// The player page carries every panel, so the detail panels can be named.
function panelSpec(name: MavPlayerPanelName): MavPanelSpec {
  if (name === 'attention_heads') return <AttentionHeadsPanel />
  if (name === 'logit_lens') return <LogitLensPanel />
  return name
}

/** The recording's own view settings (`view` in its header, written by the example app). */
function recordedView(recording: MavRecording): { panels?: MavPanelName[]; scale?: MavScale } {
  const view = (recording.header as { view?: { panels?: unknown; scale?: unknown } }).view
  const scale = SCALES.find((name) => name === view?.scale)
  return { panels: knownPanels(view?.panels), scale }
}

export interface MavPlayerProps {
  data: MavPlayerData
}

/** A recording with every panel and the timeline, and a button that plays it again with its timing. */
export function MavPlayer({ data }: MavPlayerProps) {
  const parsed = useMemo(() => {
    try {
      return { recording: parseRecording(data.recording) }
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) }
    }
  }, [data.recording])
  const options = data.options
  const run = useMavRun()
  const [replaying, setReplaying] = useState(false)
  const events = parsed.recording?.events
  const stepCount = useMemo(() => events?.filter((event) => event.type === 'step').length ?? 0, [events])
  const [step, setStep] = useState<number | null>(() =>
    options.step === undefined || stepCount === 0 ? null : Math.max(0, Math.min(stepCount - 1, options.step)),
  )

  if (!parsed.recording || !events) {
    return (
      <div className="mav-player" role="alert">
        <h1>This recording cannot be shown</h1>
        <p>{parsed.error}</p>
      </div>
    )
  }
  const view = recordedView(parsed.recording)
  const meta = events.find((event) => event.type === 'meta')
  const created = parsed.recording.header.created_at
  const replay = () => {
    setReplaying(true)
    void run.replay(events, { speed: 1 })
  }

  return (
    <div className="mav-player">
      <header className="mav-player-header">
        <h1>{playerTitle(events, options)}</h1>
        <p className="mav-player-facts">
          {meta?.type === 'meta' && <span>{meta.model.id}</span>}
          <span>
            {stepCount} token{stepCount === 1 ? '' : 's'}
          </span>
          {created && <time dateTime={created}>{created.slice(0, 10)}</time>}
        </p>
        <button type="button" className="mav-player-replay" onClick={replay}>
          {replaying ? 'Replay again' : 'Replay'}
        </button>
      </header>
      <MAVContainer
        {...(replaying ? { store: run.store } : { events, stepIndex: step, onStepIndexChange: setStep })}
        panels={(options.panels ?? view.panels ?? MAV_PANELS).map(panelSpec)}
        scale={options.scale ?? view.scale ?? 'linear'}
        theme={options.theme ?? 'auto'}
        aria-label="Model internals"
      />
      <footer className="mav-player-footer">Recorded with MAV web. This page works offline and loads nothing.</footer>
    </div>
  )
}
