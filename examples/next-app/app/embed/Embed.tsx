'use client'

import { type MavEvent, MavHttpError, type MavScale } from '@mav/client'
import { MAVContainer } from '@mav/react'
import { useSearchParams } from 'next/navigation'
import { useEffect, useMemo, useState } from 'react'
import { embedFromQuery } from '../../lib/embed'
import { describeError } from '../../lib/errors'
import { DEFAULT_SETTINGS, type PanelId } from '../../lib/settings'
import { fetchRecording, recordedView } from '../../lib/share'
import { panelSpecs } from '../components/panelSpecs'

const API_BASE_URL = process.env.NEXT_PUBLIC_MAV_API_URL ?? '/api'

type Loaded = { events: MavEvent[]; panels?: PanelId[]; scale?: MavScale }

/** The recording alone: no form, no page chrome, sized by the iframe around it. */
export function Embed() {
  const params = useSearchParams()
  const query = useMemo(
    () =>
      embedFromQuery(
        new URLSearchParams(params.toString()),
        typeof window === 'undefined' ? 'http://localhost/' : window.location.href,
      ),
    [params],
  )
  const [loaded, setLoaded] = useState<Loaded | null>(null)
  const [problem, setProblem] = useState<string | null>(query.ok ? null : query.problem)
  const [step, setStep] = useState<number | null>(null)

  useEffect(() => {
    if (!query.ok) return
    const controller = new AbortController()
    const { source } = query.options
    const url = source.kind === 'saved' ? `${API_BASE_URL}/recordings/${source.id}` : source.url
    fetchRecording(url, controller.signal)
      .then(({ header, events }) => {
        const steps = events.filter((event) => event.type === 'step').length
        const wanted = query.options.step
        setStep(wanted === undefined || steps === 0 ? null : Math.min(wanted, steps - 1))
        setLoaded({ events, ...recordedView(header) })
      })
      .catch((error) => {
        if (controller.signal.aborted) return
        if (error instanceof MavHttpError && error.status === 404) {
          setProblem('It does not exist (deleted, or expired).')
          return
        }
        const friendly = describeError(error)
        setProblem(`${friendly.title}: ${friendly.detail}`)
      })
    return () => controller.abort()
  }, [query])

  const theme = query.ok ? query.options.theme : 'auto'
  // The page around the container takes the theme too, so the iframe has no white frame in dark mode.
  useEffect(() => {
    const root = document.documentElement
    document.body.classList.add('demo-embed-body')
    if (theme === 'auto') root.removeAttribute('data-mav-theme')
    else root.setAttribute('data-mav-theme', theme)
  }, [theme])
  if (problem) {
    return (
      <p className="demo-embed-problem" role="alert" data-mav-theme={theme === 'auto' ? undefined : theme}>
        Cannot show this recording. {problem}
      </p>
    )
  }
  if (!query.ok || !loaded) return <p className="demo-loading">Loading…</p>
  return (
    <MAVContainer
      className="demo-embed"
      events={loaded.events}
      stepIndex={step}
      onStepIndexChange={setStep}
      panels={panelSpecs(query.options.panels ?? loaded.panels ?? DEFAULT_SETTINGS.panels)}
      scale={loaded.scale}
      theme={theme}
      aria-label="Model internals"
    />
  )
}
