import type { MavModelInfo, MavScale } from '@mav/client'
import type { FormEvent, ReactNode } from 'react'
import { AGGREGATIONS, type DemoSettings, PANELS, type PanelId, SCALES } from '../../lib/settings'

export interface SettingsFormProps {
  settings: DemoSettings
  onChange: (settings: DemoSettings) => void
  /** "Start": the form is submitted. */
  onSubmit: (event: FormEvent) => void
  onStop: () => void
  /** A run is streaming: the button says "Stop". */
  active: boolean
  models: MavModelInfo[] | undefined
  modelsPending: boolean
  /** A control holding a bad value (its request field) and what is wrong, shown beside it. */
  problem?: { field: string; message: string }
}

type NumberKey = 'maxNewTokens' | 'temperature' | 'topK' | 'topP' | 'minP' | 'repetitionPenalty' | 'seed' | 'topN'

/** The numeric request controls: settings key, wire field (for ids and errors), label, hint. */
export const NUMBER_FIELDS: { key: NumberKey; field: string; label: string; hint: string; step: string }[] = [
  { key: 'maxNewTokens', field: 'max_new_tokens', label: 'Max tokens', hint: '1 – 1024', step: '1' },
  { key: 'temperature', field: 'temperature', label: 'Temperature', hint: '0 = greedy', step: '0.1' },
  { key: 'topK', field: 'top_k', label: 'Top-k', hint: '0 = off', step: '1' },
  { key: 'topP', field: 'top_p', label: 'Top-p', hint: '(0, 1]', step: '0.05' },
  { key: 'minP', field: 'min_p', label: 'Min-p', hint: '[0, 1]', step: '0.05' },
  { key: 'repetitionPenalty', field: 'repetition_penalty', label: 'Repetition penalty', hint: '1 = off', step: '0.05' },
  { key: 'seed', field: 'seed', label: 'Seed', hint: '0 – 4294967295', step: '1' },
  { key: 'topN', field: 'top_n', label: 'Top-n', hint: 'predictions, 1 – 100', step: '1' },
]

type DisplayKey = 'maxBarLength' | 'limitChars' | 'rows'

/** openmav's display options (not sent to the server): how the panels show a run. */
const DISPLAY_FIELDS: { key: DisplayKey; id: string; label: string; hint: string; placeholder?: string }[] = [
  { key: 'maxBarLength', id: 'max_bar_length', label: 'Max bar length', hint: 'longest bar, in character cells' },
  { key: 'limitChars', id: 'limit_chars', label: 'Limit chars', hint: 'generated text shown' },
  { key: 'rows', id: 'num_grid_rows', label: 'Grid rows', hint: 'panel rows', placeholder: 'auto' },
]

interface FieldProps {
  id: string
  label: string
  hint?: string
  /** What is wrong with the value, shown under the control (the page may have scrolled the banner away). */
  error?: string
  children: ReactNode
}

export function Field({ id, label, hint, error, children }: FieldProps) {
  return (
    <div className="demo-field">
      <label htmlFor={id}>{label}</label>
      {children}
      {hint && (
        <span className="demo-hint" id={`${id}-hint`}>
          {hint}
        </span>
      )}
      {error && (
        <span className="demo-field-error" id={`${id}-error`}>
          {error}
        </span>
      )}
    </div>
  )
}

export function modelLabel(model: MavModelInfo): string {
  const params =
    model.n_params >= 1e9 ? `${(model.n_params / 1e9).toFixed(1)}B` : `${Math.round(model.n_params / 1e6)}M`
  return `${model.label} (${params}, ${model.n_layers} layers)`
}

export function defaultLabel(models: MavModelInfo[] | undefined): string {
  const fallback = models?.find((model) => model.default)
  return fallback ? `Server default: ${modelLabel(fallback)}` : 'Server default'
}

/** The backend's models, the server default first; a model from a link the backend lacks stays shown. */
export function ModelSelect({
  id,
  value,
  onChange,
  models,
  modelsPending,
  invalid,
}: {
  id: string
  value: string
  onChange: (model: string) => void
  models: MavModelInfo[] | undefined
  modelsPending: boolean
  invalid?: boolean
}) {
  return (
    <select id={id} value={value} onChange={(event) => onChange(event.target.value)} aria-invalid={invalid}>
      <option value="">{modelsPending ? 'Loading models…' : defaultLabel(models)}</option>
      {models?.map((model) => (
        <option key={model.id} value={model.id}>
          {modelLabel(model)}
        </option>
      ))}
      {value !== '' && models && !models.some((model) => model.id === value) && (
        <option value={value}>{value} (not offered by this backend)</option>
      )}
    </select>
  )
}

/** Prompt, model, sampling, display and panel settings, with the Start/Stop button. */
export function SettingsForm({
  settings,
  onChange,
  onSubmit,
  onStop,
  active,
  models,
  modelsPending,
  problem,
}: SettingsFormProps) {
  const set = <K extends keyof DemoSettings>(key: K, value: DemoSettings[K]) => onChange({ ...settings, [key]: value })
  const invalid = (field: string) => (problem?.field === field ? true : undefined)
  const errorFor = (field: string) => (problem?.field === field ? problem.message : undefined)
  const describedBy = (field: string, hint: boolean) =>
    [hint ? `field-${field}-hint` : '', invalid(field) ? `field-${field}-error` : ''].filter(Boolean).join(' ') ||
    undefined
  const togglePanel = (id: PanelId, on: boolean) =>
    set(
      'panels',
      PANELS.map((panel) => panel.id).filter((panel) => (panel === id ? on : settings.panels.includes(panel))),
    )

  return (
    <form className="demo-form" onSubmit={onSubmit} noValidate aria-label="Run settings">
      <Field id="field-prompt" label="Prompt" error={errorFor('prompt')}>
        <textarea
          id="field-prompt"
          rows={4}
          value={settings.prompt}
          onChange={(event) => set('prompt', event.target.value)}
          aria-invalid={invalid('prompt')}
          aria-describedby={describedBy('prompt', false)}
          required
        />
      </Field>

      <Field id="field-model" label="Model">
        <ModelSelect
          id="field-model"
          value={settings.model}
          onChange={(model) => set('model', model)}
          models={models}
          modelsPending={modelsPending}
          invalid={invalid('model')}
        />
      </Field>

      <div className="demo-grid">
        {NUMBER_FIELDS.map(({ key, field, label, hint, step }) => (
          <Field key={key} id={`field-${field}`} label={label} hint={hint} error={errorFor(field)}>
            <input
              id={`field-${field}`}
              type="number"
              inputMode="decimal"
              step={step}
              value={settings[key]}
              onChange={(event) => set(key, event.target.value)}
              aria-invalid={invalid(field)}
              aria-describedby={describedBy(field, true)}
            />
          </Field>
        ))}
        <Field id="field-aggregation" label="Aggregation">
          <select
            id="field-aggregation"
            value={settings.aggregation}
            onChange={(event) => set('aggregation', event.target.value as DemoSettings['aggregation'])}
          >
            {AGGREGATIONS.map((value) => (
              <option key={value} value={value}>
                {value === 'l2' ? 'L2 norm' : 'Max |value|'}
              </option>
            ))}
          </select>
        </Field>
        <Field id="field-scale" label="Scale">
          <select
            id="field-scale"
            value={settings.scale}
            onChange={(event) => set('scale', event.target.value as MavScale)}
          >
            {SCALES.map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </Field>
      </div>

      <fieldset className="demo-grid demo-display">
        <legend>Display</legend>
        {DISPLAY_FIELDS.map(({ key, id, label, hint, placeholder }) => (
          <Field key={key} id={`field-${id}`} label={label} hint={hint}>
            <input
              id={`field-${id}`}
              type="number"
              inputMode="numeric"
              min="1"
              step="1"
              placeholder={placeholder}
              value={settings[key]}
              onChange={(event) => set(key, event.target.value)}
              aria-describedby={`field-${id}-hint`}
            />
          </Field>
        ))}
      </fieldset>

      <div className="demo-check">
        <input
          id="field-chat"
          type="checkbox"
          checked={settings.chat}
          onChange={(event) => set('chat', event.target.checked)}
        />
        <label htmlFor="field-chat">Chat template</label>
      </div>

      <div className="demo-check">
        <input
          id="field-detail"
          type="checkbox"
          checked={settings.detail}
          onChange={(event) => set('detail', event.target.checked)}
        />
        <label htmlFor="field-detail">Deeper views (heads, logit lens, anomaly marks)</label>
      </div>

      <fieldset className="demo-panels">
        <legend>Panels</legend>
        {PANELS.map((panel) => (
          <div className="demo-check" key={panel.id}>
            <input
              id={`panel-${panel.id}`}
              type="checkbox"
              checked={settings.panels.includes(panel.id)}
              onChange={(event) => togglePanel(panel.id, event.target.checked)}
            />
            <label htmlFor={`panel-${panel.id}`}>{panel.label}</label>
          </div>
        ))}
      </fieldset>

      {active ? (
        <button key="stop" type="button" className="demo-primary" data-action="stop" onClick={onStop}>
          Stop
        </button>
      ) : (
        <button key="start" type="submit" className="demo-primary" data-action="start">
          Start
        </button>
      )}
    </form>
  )
}
