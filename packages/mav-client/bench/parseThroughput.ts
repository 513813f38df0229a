/**
 * Parse + validate throughput of parseMavStream for 30-layer step events (SmolLM2-shaped, top_n 20).
 * Prints events/s (min/median/max over repeats). Not a test: figures depend on the machine.
 *
 *   pnpm --filter @mav/client bench [--quick] [--json out.json]
 */
import { writeFileSync } from 'node:fs'
import { parseMavStream } from '../src/parseMavStream'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const jsonIndex = args.indexOf('--json')
const jsonPath = jsonIndex >= 0 ? args[jsonIndex + 1] : undefined
const events = quick ? 2_000 : 20_000
const repeats = quick ? 2 : 5
const chunkBytes = 16 * 1024

function stepEvent(step: number): string {
  const probs = Array.from({ length: 100 }, (_, i) => Number((0.3 / (i + 1) ** 1.3).toFixed(4)))
  const data = {
    step,
    token: { id: 1000 + (step % 500), text: ' word' },
    text_delta: ' word',
    top: probs
      .slice(0, 20)
      .map((prob, i) => ({ id: 100 + i, text: ` t${i}`, prob, logit: Number((20 - i * 0.7).toFixed(2)) })),
    activations: Array.from({ length: 31 }, (_, i) => Number((10 + i * 3.1 + (step % 7)).toFixed(2))),
    attention_entropy: Array.from({ length: 30 }, (_, i) => Number(((i % 9) * 0.31).toFixed(3))),
    distribution: { entropy: 3.25, top_probs: probs },
    elapsed_ms: step * 25.5,
  }
  return `event: step\nid: ${step}\ndata: ${JSON.stringify(data)}\n\n`
}

const done = `event: done\ndata: ${JSON.stringify({ reason: 'max_tokens', steps: events, elapsed_ms: events * 25.5 })}\n\n`
const bytes = new TextEncoder().encode(Array.from({ length: events }, (_, i) => stepEvent(i)).join('') + done)

function body(): ReadableStream<Uint8Array> {
  let offset = 0
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close()
      controller.enqueue(bytes.subarray(offset, offset + chunkBytes))
      offset += chunkBytes
    },
  })
}

const rates: number[] = []
for (let r = 0; r < repeats + 1; r++) {
  const started = performance.now()
  let count = 0
  for await (const event of parseMavStream(body())) {
    if (event.type === 'done') continue
    if (event.type !== 'step') throw new Error(`unexpected ${event.type}: ${JSON.stringify(event).slice(0, 300)}`)
    count++
  }
  const seconds = (performance.now() - started) / 1000
  if (count !== events) throw new Error(`parsed ${count} of ${events} events`)
  if (r > 0) rates.push(count / seconds) // the first pass warms the JIT up
}
rates.sort((a, b) => a - b)
const median = rates[Math.floor(rates.length / 2)] as number
const min = Math.round(rates[0] as number)
const max = Math.round(rates[rates.length - 1] as number)
const summary = {
  client_events_per_s: Math.round(median),
  details: { client_events_per_s: { min, median: Math.round(median), max, repeats, events } },
}
console.log(
  `parseMavStream: ${events} step events of ${Math.round(bytes.length / events)} B (30 layers, top_n 20): ` +
    `median ${summary.client_events_per_s} events/s (min ${min}, max ${max}, ${repeats} repeats); goal >= 20000`,
)
if (jsonPath) writeFileSync(jsonPath, `${JSON.stringify(summary, null, 2)}\n`)
