import { type MavEvent, serializeRecording } from '@mav/client'
import { type ChangeEvent, useId, useState } from 'react'

export interface RecordingControlsProps {
  /** A run with at least one step has ended, so there is something to save. */
  canDownload: boolean
  downloadName: string
  /** The events to save, read when the button is pressed. */
  getEvents: () => MavEvent[]
  /** Called with a chosen `.mavrec.jsonl` file and the replay speed. */
  onOpen: (file: File, speed: number) => void
  /** While a run streams, opening a recording would end it: wait for Stop. */
  disabled: boolean
}

const SPEEDS = [
  { value: '1', label: 'Recorded speed' },
  { value: '4', label: '4× faster' },
  { value: 'Infinity', label: 'At once' },
]

/** "Download recording" of the run shown, and "Open recording" to replay one without a backend. */
export function RecordingControls({ canDownload, downloadName, getEvents, onOpen, disabled }: RecordingControlsProps) {
  const fileId = useId()
  const speedId = useId()
  const [speed, setSpeed] = useState('1')

  const download = () => {
    const text = serializeRecording(getEvents(), { source: 'examples/next-app' })
    const url = URL.createObjectURL(new Blob([text], { type: 'application/x-ndjson' }))
    const link = document.createElement('a')
    link.href = url
    link.download = downloadName
    document.body.append(link)
    link.click()
    link.remove()
    // Revoked on the next turn: some browsers read the URL after click() returns.
    setTimeout(() => URL.revokeObjectURL(url), 0)
  }

  const open = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0]
    event.target.value = ''
    if (file) onOpen(file, Number(speed))
  }

  return (
    <section className="demo-recording" aria-labelledby={`${fileId}-title`}>
      <h2 id={`${fileId}-title`}>Recording</h2>
      <button type="button" onClick={download} disabled={!canDownload}>
        Download recording
      </button>
      <label className="demo-file" htmlFor={fileId} data-disabled={disabled || undefined}>
        Open recording
        <input
          id={fileId}
          type="file"
          accept=".jsonl,.mavrec.jsonl,application/x-ndjson"
          onChange={open}
          disabled={disabled}
        />
      </label>
      <label htmlFor={speedId}>Replay speed</label>
      <select id={speedId} value={speed} onChange={(event) => setSpeed(event.target.value)}>
        {SPEEDS.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </section>
  )
}
