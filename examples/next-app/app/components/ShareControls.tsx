import { exportPng } from '@mav/react'
import { type RefObject, useEffect, useId, useState } from 'react'
import { describeError } from '../../lib/errors'
import { PANELS } from '../../lib/settings'
import { deleteRecording, readSharedRuns, type SharedRun, saveRecording, writeSharedRuns } from '../../lib/share'
import { downloadBlob } from './download'

export interface ShareControlsProps {
  apiBase: string
  /** A finished run (or an opened recording) is shown, so there is something to share. */
  canShare: boolean
  /** The recording of what is shown, as `.mavrec.jsonl` text, read when a button is pressed. */
  getRecording: () => string
  /** A name for the run in the person's list of shared runs. */
  title: string
  /** `mav-<model>-<run>`: the start of downloaded file names. */
  fileBase: string
  /** The `MAVContainer`, for PNG export. */
  containerRef: RefObject<HTMLDivElement | null>
  /** The panels shown, offered as PNG targets beside the whole view. */
  panels: readonly string[]
}

const PNG_TARGETS = [
  { id: 'container', label: 'Whole view' },
  ...PANELS.map((panel) => ({ id: panel.id, label: panel.label })),
  { id: 'activation_history', label: 'Activation history' },
]

function problem(error: unknown): string {
  const friendly = describeError(error)
  return `${friendly.title}: ${friendly.detail}`
}

/** "Share" (a link anyone can open), the person's shared runs with Delete, and PNG / HTML export. */
export function ShareControls({
  apiBase,
  canShare,
  getRecording,
  title,
  fileBase,
  containerRef,
  panels,
}: ShareControlsProps) {
  const titleId = useId()
  const targetId = useId()
  const [runs, setRuns] = useState<SharedRun[]>([])
  const [link, setLink] = useState<string | null>(null)
  const [busy, setBusy] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [target, setTarget] = useState('container')

  // localStorage exists only in the browser: read after the first render.
  useEffect(() => setRuns(readSharedRuns(window.localStorage)), [])

  const remember = (next: SharedRun[]) => {
    setRuns(next)
    writeSharedRuns(window.localStorage, next)
  }

  const work = async (name: string, task: () => Promise<void>) => {
    setBusy(name)
    setError(null)
    try {
      await task()
    } catch (caught) {
      setError(problem(caught))
    } finally {
      setBusy(null)
    }
  }

  const share = () =>
    work('share', async () => {
      const saved = await saveRecording(apiBase, getRecording())
      const run = { id: saved.id, deleteToken: saved.delete_token, title, createdAt: saved.created_at }
      remember([run, ...readSharedRuns(window.localStorage).filter((other) => other.id !== run.id)])
      setLink(new URL(`/r/${saved.id}`, window.location.href).href)
    })

  const remove = (run: SharedRun) =>
    work(`delete-${run.id}`, async () => {
      await deleteRecording(apiBase, run)
      remember(readSharedRuns(window.localStorage).filter((other) => other.id !== run.id))
      if (link?.endsWith(`/r/${run.id}`)) setLink(null)
    })

  const png = () =>
    work('png', async () => {
      const container = containerRef.current
      const element =
        target === 'container' ? container : container?.querySelector<HTMLElement>(`[data-panel="${target}"]`)
      if (!element) throw new Error('that panel is not shown')
      const suffix = target === 'container' ? '' : `-${target}`
      downloadBlob(await exportPng(element), `${fileBase}${suffix}.png`)
    })

  const html = () =>
    work('html', async () => {
      // The player page is large: loaded only when someone exports one.
      const { standaloneHtml } = await import('@mav/react/standalone')
      const page = standaloneHtml(getRecording())
      downloadBlob(new Blob([page], { type: 'text/html' }), `${fileBase}.html`)
    })

  const targets = PNG_TARGETS.filter(
    (option) => option.id === 'container' || option.id === 'activation_history' || panels.includes(option.id),
  )

  return (
    <section className="demo-recording demo-share" aria-labelledby={titleId} aria-busy={busy !== null}>
      <h2 id={titleId}>Share</h2>
      <button type="button" onClick={share} disabled={!canShare || busy !== null}>
        {busy === 'share' ? 'Saving…' : 'Share'}
      </button>
      {link && (
        <div className="demo-share-link">
          <input readOnly value={link} aria-label="Share link" onFocus={(event) => event.target.select()} />
          <button type="button" onClick={() => void navigator.clipboard?.writeText(link)}>
            Copy link
          </button>
        </div>
      )}
      <label htmlFor={targetId}>Image of</label>
      <div className="demo-share-link">
        <select id={targetId} value={target} onChange={(event) => setTarget(event.target.value)}>
          {targets.map((option) => (
            <option key={option.id} value={option.id}>
              {option.label}
            </option>
          ))}
        </select>
        <button type="button" onClick={png} disabled={!canShare || busy !== null}>
          Export PNG
        </button>
      </div>
      <button type="button" onClick={html} disabled={!canShare || busy !== null}>
        Export HTML
      </button>
      {error && (
        <p className="demo-field-error demo-share-error" role="status">
          {error}
        </p>
      )}
      {runs.length > 0 && (
        <div className="demo-shared-runs">
          <h3>Your shared runs</h3>
          <ul>
            {runs.map((run) => (
              <li key={run.id} data-recording-id={run.id}>
                <a href={`/r/${run.id}`}>{run.title}</a>
                <button
                  type="button"
                  onClick={() => remove(run)}
                  disabled={busy !== null}
                  aria-label={`Delete shared run ${run.title}`}
                >
                  Delete
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  )
}
