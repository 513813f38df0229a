import type { MavRunState, MavStepEvent } from '@mav/client'
import { forwardRef, type HTMLAttributes, useContext, useMemo } from 'react'
import { ConfidenceText } from './ConfidenceText'
import { MavRunScopeContext, selectIndex, useScopeSelector } from './context'
import { visibleWhitespace } from './format'
import { Panel } from './Panel'
import { usePanelSource } from './usePanelSource'

/** Props of {@link GeneratedTextPanel}. */
export interface GeneratedTextPanelProps extends Omit<HTMLAttributes<HTMLElement>, 'title'> {
  /** The step to show, for use outside `MAVContainer`. Default: the container's selected step. */
  step?: MavStepEvent | null
  /** Standalone only: the generated text up to and including `step`. Default: `step.text_delta`. */
  text?: string
  /** Standalone only: the prompt. Default: none (in a container: the run's prompt tokens). */
  prompt?: string
  /** Show the prompt, dimmed, before the generated text (within `limitChars`). Default true. */
  showPrompt?: boolean
  /** Show only the last `limitChars` characters, as openmav's `--limit-chars`. Default 250. */
  limitChars?: number
  /**
   * In a container: show each token tinted by the probability the model gave it, its top alternatives
   * on hover or focus, and move the timeline to it when activated. Default false.
   */
  confidence?: boolean
  /** Heading and accessible name. Default `"Generated text"`. */
  title?: string
}

const selectMeta = (state: MavRunState) => state.meta

/**
 * The decoded text so far (up to the selected step) after the dimmed prompt, its last `limitChars`
 * characters, with the newest token highlighted.
 */
export const GeneratedTextPanel = forwardRef<HTMLElement, GeneratedTextPanelProps>(function GeneratedTextPanel(
  {
    step: stepProp,
    text: textProp,
    prompt: promptProp,
    showPrompt = true,
    limitChars = 250,
    confidence = false,
    title = 'Generated text',
    ...rest
  },
  ref,
) {
  const context = useContext(MavRunScopeContext)
  const scope = stepProp === undefined ? context : null
  const tinted = confidence && scope !== null
  // The plain text is cheap to update and what a reader follows: in the first turn, with the timeline.
  // Tinted tokens are a span each, all new when a replay jumps many steps: a turn of their own.
  const source = usePanelSource('GeneratedTextPanel', stepProp, tinted ? 'normal' : 'high')
  const limit = Math.max(1, Math.floor(limitChars))
  // The plain text's selectors; tinted, it reads none of them.
  const textScope = tinted ? null : scope
  // Only the visible tail is selected, so a pinned step does not re-render while the run goes on.
  const scopedTail = useScopeSelector(textScope, (state: MavRunState, selected) => {
    const index = selectIndex(state, selected)
    const end = state.textEnds.at(index) ?? 0
    return state.text.slice(Math.max(0, end - limit - 1), end)
  })
  const scopedTokenLength = useScopeSelector(textScope, (state: MavRunState, selected) => {
    const index = selectIndex(state, selected)
    if (index < 0) return 0
    return (state.textEnds.at(index) ?? 0) - (index > 0 ? (state.textEnds.at(index - 1) ?? 0) : 0)
  })

  const meta = useScopeSelector(textScope, selectMeta)
  const runPrompt = useMemo(() => meta?.prompt_tokens.map((token) => token.text).join('') ?? '', [meta])
  const prompt = showPrompt ? (scope === null ? (promptProp ?? '') : runPrompt) : ''

  const step = source.step
  const full = scope === null ? (textProp ?? step?.text_delta ?? '') : scopedTail
  const tokenLength = Math.min(full.length, scope === null ? (step?.text_delta.length ?? 0) : scopedTokenLength)
  const shown = full.length > limit ? full.slice(full.length - limit) : full
  const room = limit - shown.length
  const promptShown = room > 0 ? prompt.slice(Math.max(0, prompt.length - room)) : ''
  const truncated = full.length > limit || prompt.length > promptShown.length
  const tokenStart = Math.max(0, shown.length - tokenLength)
  const before = shown.slice(0, tokenStart)
  const token = shown.slice(tokenStart)
  const tokenShown = token.trim() === '' && token !== '' ? `${token}${visibleWhitespace(token)}` : token

  return (
    <Panel
      ref={ref}
      title={title}
      panel="generated_text"
      state={source.state}
      message={source.message}
      aside={step ? <span className="mav-muted">step {source.index + 1}</span> : undefined}
      {...rest}
    >
      {tinted && source.reader !== null ? (
        <ConfidenceText scope={scope} reader={source.reader} limitChars={limit} />
      ) : (
        <p className="mav-text" data-truncated={truncated || undefined}>
          {truncated && <span className="mav-text-ellipsis">…</span>}
          {promptShown !== '' && <span className="mav-text-prompt">{promptShown}</span>}
          {before}
          <mark className="mav-text-token" data-step={source.index}>
            {tokenShown}
          </mark>
        </p>
      )}
    </Panel>
  )
})
