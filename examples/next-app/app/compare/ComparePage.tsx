'use client'

import { createRunStore, type MavRunRequest, type MavRunStore, type MavScale } from '@mav/client'
import { MAVCompare, type MavCompareRun, MavProvider, useMavClient } from '@mav/react'
import { useMavModels } from '@mav/react/query'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { useSearchParams } from 'next/navigation'
import {
  type CSSProperties,
  type FormEvent,
  useCallback,
  useEffect,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react'
import {
  branchStep,
  compareFromQuery,
  compareToQuery,
  MAX_RUNS,
  MIN_RUNS,
  RUN_LETTERS,
  runLabel,
} from '../../lib/compare'
import { queuedRun } from '../../lib/compareQueue'
import { describeError, type FriendlyError } from '../../lib/errors'
import { type DemoSettings, displayOptions, SCALES, settingsToQuery, toRunRequest } from '../../lib/settings'
import { CompareRunForm } from '../components/CompareRunForm'
import { ErrorBanner } from '../components/ErrorBanner'

/** Where the browser sends mav/1 requests, as in the single-run page (app/Demo.tsx). */
const API_BASE_URL = process.env.NEXT_PUBLIC_MAV_API_URL ?? '/api'

/** Compare mode: 2 to 4 columns of run settings, started together, shown side by side. */
export function ComparePage() {
  const [queryClient] = useState(() => new QueryClient())
  return (
    <QueryClientProvider client={queryClient}>
      <MavProvider baseUrl={API_BASE_URL}>
        <Compare />
      </MavProvider>
    </QueryClientProvider>
  )
}

const ACTIVE = new Set(['connecting', 'loading', 'streaming'])

/** The statuses of every store, as one string (re-renders only when one changes). */
function useStatuses(stores: readonly MavRunStore[]): string[] {
  const subscribe = useCallback(
    (listener: () => void) => {
      const offs = stores.map((store) => store.subscribe(listener))
      return () => {
        for (const off of offs) off()
      }
    },
    [stores],
  )
  const read = () => stores.map((store) => store.getSnapshot().status).join(',')
  return useSyncExternalStore(subscribe, read, read).split(',')
}

type Problem = FriendlyError & { run: number; field: string }

function Compare() {
  const searchParams = useSearchParams()
  const [runs, setRuns] = useState<DemoSettings[]>(() => compareFromQuery(new URLSearchParams(searchParams.toString())))
  const [stores] = useState(() => RUN_LETTERS.map(() => createRunStore()))
  const [waiting, setWaiting] = useState<boolean[]>(() => RUN_LETTERS.map(() => false))
  const [problem, setProblem] = useState<Problem | null>(null)
  // A branch opens where it leaves its run; the timeline is free from there.
  const [step, setStep] = useState<number | null>(() => branchStep(runs))
  const controller = useRef<AbortController | null>(null)
  const client = useMavClient()
  const models = useMavModels({ retry: false })
  const shown = stores.slice(0, runs.length)
  const statuses = useStatuses(shown)
  const active = statuses.some((status) => ACTIVE.has(status))

  // The whole comparison lives in the URL, so it can be shared as a link.
  useEffect(() => {
    const next = `/compare?${compareToQuery(runs)}`
    if (next !== `${window.location.pathname}${window.location.search}`) window.history.replaceState(null, '', next)
  }, [runs])

  useEffect(() => () => controller.current?.abort(), [])

  const setRun = (index: number, next: DemoSettings) => {
    setRuns((current) => current.map((run, i) => (i === index ? next : run)))
    setProblem(null)
  }
  // Display settings are one for the whole comparison: kept the same in every run.
  const setDisplay = (change: Partial<DemoSettings>) =>
    setRuns((current) => current.map((run) => ({ ...run, ...change })))

  const onStart = (event: FormEvent) => {
    event.preventDefault()
    const requests: MavRunRequest[] = []
    for (const [index, run] of runs.entries()) {
      const checked = toRunRequest(run)
      if (!checked.ok) {
        const { field, label, message } = checked.problem
        setProblem({
          kind: 'invalid',
          title: `Invalid value for ${label} of ${runLabel(index)}`,
          detail: message,
          run: index,
          field,
        })
        document.getElementById(`field-${RUN_LETTERS[index]}-${field}`)?.focus()
        return
      }
      requests.push(checked.request)
    }
    setProblem(null)
    controller.current?.abort()
    const next = new AbortController()
    controller.current = next
    const { signal } = next
    const running = requests.map(() => true)
    const ended: Promise<void>[] = []
    const answered: Promise<void>[] = []
    requests.forEach((request, index) => {
      let answer = () => {}
      answered[index] = new Promise<void>((resolve) => {
        answer = resolve
      })
      // A run refused for a full server waits for any other run of ours to end, then asks again.
      const turn = () => {
        const others = ended.filter((_, j) => j !== index && running[j])
        return others.length > 0 ? Promise.race(others) : new Promise<void>(() => {})
      }
      const events = queuedRun(client, request, {
        signal,
        turn,
        after: answered[index - 1],
        onWaiting: (value) => {
          answer()
          if (!signal.aborted) setWaiting((current) => current.map((w, i) => (i === index ? value : w)))
        },
      })
      ended[index] = (stores[index] as MavRunStore).consume(events, { signal }).finally(() => {
        running[index] = false
        answer()
        setWaiting((current) => current.map((w, i) => (i === index ? false : w)))
      })
    })
  }

  const onStop = () => {
    controller.current?.abort()
    controller.current = null
    for (const store of shown) store.stop()
  }

  const first = runs[0] as DemoSettings
  const display = displayOptions(first)
  const runningLabels = (except: number) =>
    statuses.flatMap((status, i) => (i !== except && ACTIVE.has(status) && !waiting[i] ? [runLabel(i)] : []))
  const compareRuns: MavCompareRun[] = shown.map((store, i) => {
    const busyWith = runningLabels(i)
    const forced = runs[i]?.forced.trim() ? (runs[i]?.forced.split(',').length ?? 0) : 0
    return {
      store,
      label: runLabel(i),
      note: waiting[i] ? (
        <span className="compare-waiting" data-waiting="true">
          Waiting: the server runs no more at once
          {busyWith.length > 0 ? `; starts when ${busyWith.join(' or ')} ends` : '; starts when a run slot frees up'}.
        </span>
      ) : forced > 0 ? (
        <span className="compare-branch-note" data-branch-at={forced - 1}>
          Branch at step {forced}: steps 1 to {forced} forced, the rest generated.
        </span>
      ) : undefined,
    }
  })
  const modelsError = models.error ? describeError(models.error) : null
  const banner = problem ?? modelsError

  return (
    <div className="compare">
      <header className="demo-header">
        <h1>MAV web: compare runs</h1>
        <p>
          Two to four runs side by side on one timeline: where their tokens part, how sure each was, and how their
          layers differ. The settings are in the URL: copy it to share the comparison.{' '}
          <a href={`/?${settingsToQuery(first)}`}>Single run</a>
        </p>
      </header>

      <form className="compare-form" onSubmit={onStart} noValidate aria-label="Compare settings">
        <div className="compare-run-forms" style={{ '--compare-runs': runs.length } as CSSProperties}>
          {runs.map((run, index) => (
            <CompareRunForm
              // biome-ignore lint/suspicious/noArrayIndexKey: a column per run letter
              key={index}
              letter={RUN_LETTERS[index] as string}
              label={runLabel(index)}
              settings={run}
              onChange={(next) => setRun(index, next)}
              models={models.data}
              modelsPending={models.isPending}
              problem={problem?.run === index ? { field: problem.field, message: problem.detail } : undefined}
              onRemove={
                index >= MIN_RUNS && !active
                  ? () => setRuns((current) => current.filter((_, i) => i !== index))
                  : undefined
              }
              disabled={active}
            />
          ))}
        </div>
        <div className="compare-actions">
          <fieldset className="compare-display" disabled={active}>
            <legend>Display</legend>
            <label>
              Scale{' '}
              <select value={first.scale} onChange={(event) => setDisplay({ scale: event.target.value as MavScale })}>
                {SCALES.map((value) => (
                  <option key={value} value={value}>
                    {value}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Max bar length{' '}
              <input
                type="number"
                min="1"
                value={first.maxBarLength}
                onChange={(event) => setDisplay({ maxBarLength: event.target.value })}
              />
            </label>
            <label>
              Limit chars{' '}
              <input
                type="number"
                min="1"
                value={first.limitChars}
                onChange={(event) => setDisplay({ limitChars: event.target.value })}
              />
            </label>
          </fieldset>
          <button
            type="button"
            className="demo-secondary"
            disabled={active || runs.length >= MAX_RUNS}
            onClick={() => setRuns((current) => [...current, { ...(current.at(-1) as DemoSettings) }])}
          >
            Add a run
          </button>
          {active ? (
            <button key="stop" type="button" className="demo-primary" data-action="stop" onClick={onStop}>
              Stop all
            </button>
          ) : (
            <button key="start" type="submit" className="demo-primary" data-action="start">
              Start all
            </button>
          )}
        </div>
      </form>

      {banner && <ErrorBanner error={banner} />}
      <MAVCompare
        runs={compareRuns}
        stepIndex={step}
        onStepIndexChange={setStep}
        scale={first.scale}
        maxBarLength={display.maxBarLength}
        limitChars={display.limitChars}
        aria-label="Runs compared"
        data-run-statuses={statuses.join(' ')}
      />
    </div>
  )
}
