'use client'

import { parseRecording } from '@mav/client'
import { MAVContainer, MavProvider, useMavRun } from '@mav/react'
import { useMavModels } from '@mav/react/query'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { useSearchParams } from 'next/navigation'
import { type FormEvent, useCallback, useEffect, useState } from 'react'
import { describeError, type FriendlyError } from '../lib/errors'
import { recordingFileName, recordingFromState } from '../lib/recording'
import { type DemoSettings, settingsFromQuery, settingsToQuery, toRunRequest } from '../lib/settings'
import { ErrorBanner } from './components/ErrorBanner'
import { RecordingControls } from './components/RecordingControls'
import { SettingsForm } from './components/SettingsForm'

/**
 * Where the browser sends mav/1 requests. `/api` goes through this app (proxy.ts forwards it, or the
 * Python function of a Vercel deployment serves it); set NEXT_PUBLIC_MAV_API_URL at build time to call a
 * backend on another origin directly (it must allow this origin in MAV_CORS_ORIGINS).
 */
const API_BASE_URL = process.env.NEXT_PUBLIC_MAV_API_URL ?? '/api'

export function Demo() {
  const [queryClient] = useState(() => new QueryClient())
  return (
    <QueryClientProvider client={queryClient}>
      <MavProvider baseUrl={API_BASE_URL}>
        <DemoPage />
      </MavProvider>
    </QueryClientProvider>
  )
}

const ACTIVE = new Set(['connecting', 'loading', 'streaming'])

/** A busy or restarting backend is waited for (what Retry-After says), a few times, instead of failing. */
const RETRY = { attempts: 4, maxDelayMs: 15_000 }

function DemoPage() {
  const searchParams = useSearchParams()
  const [settings, setSettings] = useState<DemoSettings>(() =>
    settingsFromQuery(new URLSearchParams(searchParams.toString())),
  )
  const [formError, setFormError] = useState<(FriendlyError & { field?: string }) | null>(null)
  const [replayError, setReplayError] = useState<FriendlyError | null>(null)
  const [source, setSource] = useState<'live' | 'recording' | null>(null)
  const run = useMavRun({ retry: RETRY })
  const models = useMavModels({ retry: false })
  const active = ACTIVE.has(run.state.status)

  // The settings live in the URL, so a visualisation set-up can be shared as a link.
  useEffect(() => {
    const query = settingsToQuery(settings).toString()
    const next = `${window.location.pathname}${query ? `?${query}` : ''}`
    if (next !== `${window.location.pathname}${window.location.search}`) window.history.replaceState(null, '', next)
  }, [settings])

  const onStart = useCallback(
    (event: FormEvent) => {
      event.preventDefault()
      const checked = toRunRequest(settings)
      if (!checked.ok) {
        const { field, label, message } = checked.problem
        setFormError({ kind: 'invalid', title: `Invalid value for ${label}`, detail: message, field })
        document.getElementById(`field-${field}`)?.focus()
        return
      }
      setFormError(null)
      setReplayError(null)
      setSource('live')
      void run.start(checked.request)
    },
    [settings, run.start],
  )

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

  const retry = run.state.retry
  const retryError = retry ? describeError(retry.error) : null
  const runError = run.state.error ? describeError(run.state.error) : null
  // Only live runs need the backend: while a recording plays, a missing backend is no error.
  const modelsError = models.error && source !== 'recording' ? describeError(models.error) : null
  const banner = formError ?? replayError ?? retryError ?? runError ?? modelsError

  return (
    <div className="demo">
      <header className="demo-header">
        <h1>MAV web</h1>
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
        <RecordingControls
          canDownload={!active && run.state.steps.length > 0}
          downloadName={recordingFileName(run.state)}
          getEvents={() => recordingFromState(run.state)}
          onOpen={onOpenRecording}
          disabled={active}
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
          {source === 'recording' ? 'Replaying a recording (no backend needed).' : source === 'live' ? 'Live run.' : ''}
        </p>
        <MAVContainer
          store={run.store}
          panels={settings.panels}
          scale={settings.scale}
          rows={settings.panels.length > 3 ? 2 : 1}
          aria-label="Model internals"
        />
      </main>
    </div>
  )
}
