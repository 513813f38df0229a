'use client'

import { branchRequest, MavHttpError, nextStepRequest, parseRecording, serializeRecording } from '@mav/client'
import { MAVContainer, type MavBranchEvent, MavProvider, useMavRun } from '@mav/react'
import { useMavModels } from '@mav/react/query'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { useSearchParams } from 'next/navigation'
import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react'
import { branchPair, compareLink, compareLinkFrom } from '../lib/compare'
import { describeError, type FriendlyError } from '../lib/errors'
import { recordingFileName, recordingFromState } from '../lib/recording'
import { type DemoSettings, displayOptions, settingsFromQuery, settingsToQuery, toRunRequest } from '../lib/settings'
import { fetchRecording, settingsFromRecording } from '../lib/share'
import { BranchCompare } from './components/BranchCompare'
import { ErrorBanner } from './components/ErrorBanner'
import { RecordingControls } from './components/RecordingControls'
import { SettingsForm } from './components/SettingsForm'
import { ShareControls } from './components/ShareControls'
import { StepControls } from './components/StepControls'

/**
 * Where the browser sends mav/1 requests. `/api` goes through this app (proxy.ts forwards it, or the
 * Python function of a Vercel deployment serves it); set NEXT_PUBLIC_MAV_API_URL at build time to call a
 * backend on another origin directly (it must allow this origin in MAV_CORS_ORIGINS).
 */
const API_BASE_URL = process.env.NEXT_PUBLIC_MAV_API_URL ?? '/api'

/** The demo page; with `recordingId` (the `/r/<id>` link of a shared run) it opens and replays that run. */
export function Demo({ recordingId }: { recordingId?: string }) {
  const [queryClient] = useState(() => new QueryClient())
  return (
    <QueryClientProvider client={queryClient}>
      <MavProvider baseUrl={API_BASE_URL}>
        <DemoPage recordingId={recordingId} />
      </MavProvider>
    </QueryClientProvider>
  )
}

const ACTIVE = new Set(['connecting', 'loading', 'streaming'])

/** A busy or restarting backend is waited for (what Retry-After says), a few times, instead of failing. */
const RETRY = { attempts: 4, maxDelayMs: 15_000 }

function sharedRunError(error: unknown): FriendlyError {
  if (error instanceof MavHttpError && error.status === 404) {
    return {
      kind: 'invalid',
      title: 'This shared run does not exist',
      detail: 'It was deleted by the person who shared it, or it expired.',
    }
  }
  const friendly = describeError(error)
  return friendly.kind === 'backend-down' ? friendly : { ...friendly, title: 'Cannot open this shared run' }
}

function DemoPage({ recordingId }: { recordingId?: string }) {
  const searchParams = useSearchParams()
  // Forced tokens are a branch's, shown in compare mode; a single run generates all of its own.
  const [settings, setSettings] = useState<DemoSettings>(() => ({
    ...settingsFromQuery(new URLSearchParams(searchParams.toString())),
    forced: '',
  }))
  const [formError, setFormError] = useState<(FriendlyError & { field?: string }) | null>(null)
  const [replayError, setReplayError] = useState<FriendlyError | null>(null)
  const [source, setSource] = useState<'live' | 'recording' | 'shared' | null>(recordingId ? 'shared' : null)
  const run = useMavRun({ retry: RETRY })
  const containerRef = useRef<HTMLDivElement>(null)
  const models = useMavModels({ retry: false })
  const active = ACTIVE.has(run.state.status)
  const branch = useMavRun({ retry: RETRY })
  const [branchPoint, setBranchPoint] = useState<MavBranchEvent | null>(null)
  const [branchLink, setBranchLink] = useState<string | null>(null)
  const [stepMode, setStepMode] = useState(false)
  // Read when a branch starts, so the callback stays the same while the run streams.
  const runState = useRef(run.state)
  runState.current = run.state

  // The settings live in the URL, so a visualisation set-up can be shared as a link. A shared run's
  // link stays as it is while it is shown.
  useEffect(() => {
    if (source === 'shared') return
    const query = settingsToQuery(settings).toString()
    const next = `/${query ? `?${query}` : ''}`
    if (next !== `${window.location.pathname}${window.location.search}`) window.history.replaceState(null, '', next)
  }, [settings, source])

  // A shared run: fetched from the backend, shown with the settings it was made with, and replayed.
  useEffect(() => {
    if (!recordingId) return
    const controller = new AbortController()
    fetchRecording(`${API_BASE_URL}/recordings/${encodeURIComponent(recordingId)}`, controller.signal)
      .then(({ header, events }) => {
        setSettings(settingsFromRecording(header, events))
        void run.replay(events, { speed: 1 })
      })
      .catch((error) => {
        if (!controller.signal.aborted) setReplayError(sharedRunError(error))
      })
    return () => controller.abort()
  }, [recordingId, run.replay])

  /** The form's request, or null after pointing at the field that is wrong. */
  const checkedRequest = useCallback(() => {
    const checked = toRunRequest(settings)
    if (!checked.ok) {
      const { field, label, message } = checked.problem
      setFormError({ kind: 'invalid', title: `Invalid value for ${label}`, detail: message, field })
      document.getElementById(`field-${field}`)?.focus()
      return null
    }
    setFormError(null)
    setReplayError(null)
    return checked.request
  }, [settings])

  const closeBranch = useCallback(() => {
    branch.stop()
    // A branch opened later must not show this one's steps for a frame.
    branch.store.reset()
    setBranchPoint(null)
  }, [branch.stop, branch.store])

  const onStart = useCallback(
    (event: FormEvent) => {
      event.preventDefault()
      const request = checkedRequest()
      if (request === null) return
      setSource('live')
      closeBranch()
      if (stepMode) {
        run.store.reset()
        void run.step(request)
      } else {
        void run.start(request)
      }
    },
    [checkedRequest, stepMode, run.start, run.step, run.store, closeBranch],
  )

  const onNextStep = useCallback(() => {
    const request = checkedRequest()
    if (request === null) return
    setSource('live')
    void run.step(request)
  }, [checkedRequest, run.step])

  const onFinishSteps = useCallback(() => {
    const request = checkedRequest()
    if (request === null) return
    setSource('live')
    void run.finish(request)
  }, [checkedRequest, run.finish])

  const onBranch = useCallback(
    (point: MavBranchEvent) => {
      const original = runState.current
      setBranchPoint(point)
      setBranchLink(compareLink(branchPair(original, { step: point.step, tokenId: point.tokenId }, settings)))
      void branch.start(branchRequest(original, point))
    },
    [branch.start, settings],
  )

  const formRequest = toRunRequest(settings)
  const stepsComplete =
    run.state.steps.length > 0 && (!formRequest.ok || nextStepRequest(formRequest.request, run.state) === undefined)

  const onOpenRecording = useCallback(
    async (file: File, speed: number) => {
      setFormError(null)
      try {
        const { events } = parseRecording(await file.text())
        setReplayError(null)
        setSource('recording')
        void run.replay(events, { speed })
      } catch (error) {
        setReplayError({
          kind: 'invalid',
          title: `Cannot open ${file.name}`,
          detail: error instanceof Error ? error.message : String(error),
          hint: 'Choose a .mavrec.jsonl file saved with "Download recording".',
        })
      }
    },
    [run.replay],
  )

  const getRecording = () =>
    serializeRecording(recordingFromState(run.state), {
      source: 'examples/next-app',
      view: { panels: settings.panels, scale: settings.scale },
    })
  const fileBase = recordingFileName(run.state).replace(/\.mavrec\.jsonl$/, '')

  const retry = run.state.retry
  const retryError = retry ? describeError(retry.error) : null
  const runError = run.state.error ? describeError(run.state.error) : null
  // Only live runs need the backend: while a recording plays, a missing backend is no error.
  const modelsError = models.error && source !== 'recording' && source !== 'shared' ? describeError(models.error) : null
  const banner = formError ?? replayError ?? retryError ?? runError ?? modelsError

  return (
    <div className="demo">
      <header className="demo-header">
        <h1>MAV web</h1>
        <a className="demo-mode-link" href={compareLinkFrom(settings)}>
          Compare runs
        </a>
        <p>
          Watch a language model think, token by token: what it writes, what it nearly wrote, and what happens inside
          each of its layers.
        </p>
      </header>

      <aside className="demo-controls">
        <SettingsForm
          settings={settings}
          onChange={(next) => {
            setSettings(next)
            // The person is fixing it: the old complaint would now be about a value that is gone.
            setFormError(null)
          }}
          onSubmit={onStart}
          onStop={run.stop}
          active={active}
          models={models.data}
          modelsPending={models.isPending}
          problem={formError?.field ? { field: formError.field, message: formError.detail } : undefined}
        />
        <StepControls
          on={stepMode}
          onToggle={setStepMode}
          onNext={onNextStep}
          onFinish={onFinishSteps}
          busy={active}
          complete={stepsComplete}
        />
        <RecordingControls
          canDownload={!active && run.state.steps.length > 0}
          downloadName={recordingFileName(run.state)}
          getEvents={() => recordingFromState(run.state)}
          onOpen={onOpenRecording}
          disabled={active}
        />
        <ShareControls
          apiBase={API_BASE_URL}
          canShare={!active && run.state.steps.length > 0}
          getRecording={getRecording}
          title={settings.prompt.slice(0, 60) || 'Untitled run'}
          fileBase={fileBase}
          containerRef={containerRef}
          panels={settings.panels}
        />
      </aside>

      <main className="demo-main">
        {banner && <ErrorBanner error={banner} retry={banner === retryError && retry ? retry : undefined} />}
        <p
          id="demo-run"
          className="demo-source"
          data-source={source ?? 'none'}
          data-run-status={run.state.status}
          data-run-steps={run.state.steps.length}
        >
          {source === 'recording'
            ? 'Replaying a recording (no backend needed).'
            : source === 'shared'
              ? 'Replaying a shared run.'
              : source === 'live'
                ? 'Live run.'
                : ''}
        </p>
        <div className="demo-compare" data-branch={branchPoint ? 'open' : undefined}>
          <MAVContainer
            ref={containerRef}
            store={run.store}
            panels={settings.panels}
            scale={settings.scale}
            {...displayOptions(settings)}
            anomalies={settings.detail}
            onBranch={source !== null && !active && run.state.meta !== null ? onBranch : undefined}
            aria-label="Model internals"
          />
          {branchPoint && (
            <BranchCompare
              key={`${branchPoint.step}:${branchPoint.tokenId}`}
              point={branchPoint}
              original={run.store}
              originalState={run.state}
              branch={branch}
              link={branchLink}
              scale={settings.scale}
              maxBarLength={displayOptions(settings).maxBarLength}
              limitChars={displayOptions(settings).limitChars}
              onClose={closeBranch}
            />
          )}
        </div>
      </main>
    </div>
  )
}
