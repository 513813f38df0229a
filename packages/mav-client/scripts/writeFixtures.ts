/**
 * Writes the golden SSE fixtures shared by the TypeScript and Python tests (fixtures/protocol at the
 * repository root). Deterministic: the same bytes on every run, so a diff means the generator changed.
 * Each `<name>.sse` has a `<name>.expected.json`: the events a client must yield for it, where a client-
 * made `invalid_event` error is given by its `type` and `code` only.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const dir = fileURLToPath(new URL('../../../fixtures/protocol/', import.meta.url))
mkdirSync(dir, { recursive: true })

let seed = 7
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}
/** Wire precision of mav/1 (PROTOCOL.md, "Numbers"): decimals per kind of value. */
const round = (value: number, decimals: number) => Number(value.toFixed(decimals))

type Data = Record<string, unknown>
interface Frame {
  event?: string
  data: string
  id?: string
}

const N_LAYERS = 12
const VOCAB = 50257

function meta(): Data {
  return {
    protocol: 'mav/1',
    run_id: 'run_fixture_0001',
    model: { id: 'gpt2-fixture', architecture: 'GPT2LMHeadModel', n_layers: N_LAYERS, n_heads: 12, vocab_size: VOCAB },
    prompt_tokens: [
      { id: 15496, text: 'Hello' },
      { id: 995, text: ' world' },
    ],
    request: {
      model: 'gpt2-fixture',
      prompt: 'Hello world',
      max_new_tokens: 4,
      temperature: 0,
      top_k: 50,
      top_p: 1,
      min_p: 0,
      repetition_penalty: 1,
      seed: 42,
      aggregation: 'l2',
      top_n: 20,
      chat: false,
    },
  }
}

function step(index: number, token: { id: number; text: string }, textDelta: string): Data {
  const raw = Array.from({ length: 100 }, () => random() ** 6)
  const total = raw.reduce((a, b) => a + b, 0) * 1.25
  const probs = raw.map((p) => p / total).sort((a, b) => b - a)
  const top = probs.slice(0, 20).map((prob, i) => ({
    id: i === 0 ? token.id : Math.floor(random() * VOCAB),
    text: i === 0 ? token.text : ` w${Math.floor(random() * 100)}`,
    prob: round(prob, 4),
    logit: round(Math.log(prob) + 12, 2),
  }))
  return {
    step: index,
    token,
    text_delta: textDelta,
    top,
    activations: Array.from({ length: N_LAYERS + 1 }, (_, layer) => round(20 + layer * 8 + random() * 30, 2)),
    attention_entropy: Array.from({ length: N_LAYERS }, () => round(random() * 2.5, 3)),
    distribution: { entropy: round(3 + random() * 2, 3), top_probs: probs.map((p) => round(p, 4)) },
    elapsed_ms: round(40 + index * 35 + random() * 5, 1),
  }
}

const sse = (frames: Frame[], eol = '\n') =>
  frames
    .map((frame) => {
      const lines = []
      if (frame.event) lines.push(`event: ${frame.event}`)
      if (frame.id !== undefined) lines.push(`id: ${frame.id}`)
      for (const line of frame.data.split('\n')) lines.push(`data: ${line}`)
      return lines.join(eol) + eol + eol
    })
    .join('')

const frame = (event: string, data: Data, id?: string): Frame => ({
  event,
  data: JSON.stringify(data),
  ...(id === undefined ? {} : { id }),
})

function write(name: string, text: string, expected: unknown[]) {
  writeFileSync(`${dir}${name}.sse`, text)
  writeFileSync(`${dir}${name}.expected.json`, `${JSON.stringify(expected, null, 1)}\n`)
}

// 1. A complete greedy run.
const tokens = [
  { id: 11, text: ',' },
  { id: 314, text: ' I' },
  { id: 1101, text: "'m" },
  { id: 257, text: ' a' },
]
const steps = tokens.map((token, i) => step(i, token, token.text))
steps.forEach((s, i) => {
  s.elapsed_ms = round(40 + i * 35, 1)
})
const basic: Frame[] = [
  frame('meta', meta()),
  frame('status', { phase: 'generating', progress: 0 }),
  ...steps.map((s, i) => frame('step', s, String(i))),
  frame('done', { reason: 'max_tokens', steps: 4, elapsed_ms: 190 }),
]
const typed = (frames: Frame[]) => frames.map((f) => ({ type: f.event, ...JSON.parse(f.data) }))
write('basic-run', sse(basic), typed(basic))

// 2. The same run with CRLF line endings and a BOM.
write('crlf-bom', `\uFEFF${sse(basic, '\r\n')}`, typed(basic))

// 3. Heartbeats, retry and unknown events between the real ones: clients skip all of them.
const extras = `: ping\n\nretry: 3000\n\nevent: future_event\ndata: {"anything": true}\n\ndata: {"no": "event name"}\n\n`
write(
  'heartbeats-unknown',
  `: connected\n\n${sse(basic.slice(0, 2))}${extras}${sse(basic.slice(2, 4))}: ping\n\n${sse(basic.slice(4))}`,
  typed(basic),
)

// 4. Multi-byte text: an emoji split over two tokens (the first delta empty), CJK, combining marks.
const mb = [
  { token: { id: 12520, text: ' \uFFFD' }, delta: '' },
  { token: { id: 248, text: '\uFFFD' }, delta: ' 🚀' },
  { token: { id: 40367, text: '日本' }, delta: '日本' },
  { token: { id: 3467, text: 'é' }, delta: 'é' },
]
const multibyte: Frame[] = [
  frame('meta', meta()),
  ...mb.map((m, i) => frame('step', { ...step(i, m.token, m.delta), elapsed_ms: 50 + i * 30 }, String(i))),
  frame('done', { reason: 'eos', steps: 4, elapsed_ms: 200 }),
]
write('multibyte', sse(multibyte), typed(multibyte))

// 5. Broken events among good ones: bad JSON, a schema violation, a wrong type; then an error and done.
const good = step(0, tokens[0] as { id: number; text: string }, ',')
const malformed: Frame[] = [
  frame('meta', meta()),
  { event: 'step', data: '{"step": 0, "token": ', id: '0' },
  frame('step', { ...good, top: [{ id: 1, text: 'x', prob: 1.7, logit: 0 }] }, '0'),
  frame('step', { ...good, activations: 'many' }, '0'),
  frame('step', good, '0'),
  frame('error', { code: 'generation_failed', message: 'CUDA out of memory', retryable: true }),
  frame('done', { reason: 'error', steps: 1, elapsed_ms: 80 }),
]
write('malformed', sse(malformed), [
  ...typed(malformed.slice(0, 1)),
  { type: 'error', code: 'invalid_event' },
  { type: 'error', code: 'invalid_event' },
  { type: 'error', code: 'invalid_event' },
  ...typed(malformed.slice(4)),
])

// 6. A multi-line data field (JSON spread over lines is still one event).
const multiline: Frame[] = [
  { event: 'meta', data: JSON.stringify(meta(), null, 1) },
  frame('done', { reason: 'stopped', steps: 0, elapsed_ms: 5 }),
]
write('multiline-data', sse(multiline), typed(multiline))

// 7. A stream cut off in the middle of an event.
const cut = sse(basic.slice(0, 3))
write('truncated', `${cut}event: step\nid: 1\ndata: {"step": 1,`, [
  ...typed(basic.slice(0, 3)),
  { type: 'error', code: 'incomplete_stream' },
])

console.log(`wrote fixtures to ${dir}`)
