import type { MavModelInfo } from '@mav/client'
import { AGGREGATIONS, type DemoSettings } from '../../lib/settings'
import { Field, ModelSelect, NUMBER_FIELDS } from './SettingsForm'

export interface CompareRunFormProps {
  /** The run's letter: ids are `field-<letter>-<wire name>`. */
  letter: string
  label: string
  settings: DemoSettings
  onChange: (settings: DemoSettings) => void
  models: MavModelInfo[] | undefined
  modelsPending: boolean
  /** A control holding a bad value (its request field) and what is wrong. */
  problem?: { field: string; message: string }
  /** Present for the third and fourth run: takes the run out of the comparison. */
  onRemove?: () => void
  disabled: boolean
}

/** One column of compare mode: a run's model, prompt and sampling (every request field). */
export function CompareRunForm({
  letter,
  label,
  settings,
  onChange,
  models,
  modelsPending,
  problem,
  onRemove,
  disabled,
}: CompareRunFormProps) {
  const set = <K extends keyof DemoSettings>(key: K, value: DemoSettings[K]) => onChange({ ...settings, [key]: value })
  const id = (field: string) => `field-${letter}-${field}`
  const errorFor = (field: string) => (problem?.field === field ? problem.message : undefined)
  return (
    <fieldset className="compare-run-form" aria-label={`${label} settings`} disabled={disabled}>
      <legend>
        {label}
        {onRemove && (
          <button type="button" className="compare-remove" onClick={onRemove} aria-label={`Remove ${label}`}>
            ×
          </button>
        )}
      </legend>
      {settings.forced.trim() !== '' && (
        <p className="compare-forced" id={id('forced')} tabIndex={-1}>
          Branch: its first {settings.forced.split(',').length} tokens are forced
          {errorFor('forced') ? ` (${errorFor('forced')})` : ''}.{' '}
          <button type="button" className="demo-secondary" onClick={() => set('forced', '')}>
            Generate all
          </button>
        </p>
      )}
      <Field id={id('prompt')} label="Prompt" error={errorFor('prompt')}>
        <textarea
          id={id('prompt')}
          rows={3}
          value={settings.prompt}
          onChange={(event) => set('prompt', event.target.value)}
          aria-invalid={errorFor('prompt') ? true : undefined}
        />
      </Field>
      <Field id={id('model')} label="Model">
        <ModelSelect
          id={id('model')}
          value={settings.model}
          onChange={(model) => set('model', model)}
          models={models}
          modelsPending={modelsPending}
        />
      </Field>
      <div className="demo-grid">
        {NUMBER_FIELDS.map(({ key, field, label: text, hint, step }) => (
          <Field key={key} id={id(field)} label={text} hint={hint} error={errorFor(field)}>
            <input
              id={id(field)}
              type="number"
              inputMode="decimal"
              step={step}
              value={settings[key]}
              onChange={(event) => set(key, event.target.value)}
              aria-invalid={errorFor(field) ? true : undefined}
            />
          </Field>
        ))}
        <Field id={id('aggregation')} label="Aggregation">
          <select
            id={id('aggregation')}
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
      </div>
      <div className="demo-check">
        <input
          id={id('chat')}
          type="checkbox"
          checked={settings.chat}
          onChange={(event) => set('chat', event.target.checked)}
        />
        <label htmlFor={id('chat')}>Chat template</label>
      </div>
    </fieldset>
  )
}
