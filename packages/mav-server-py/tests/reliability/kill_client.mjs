// Drives @mav/client (the built package) against a server the Python test controls, printing one JSON
// line per event, per retry notice, and at the end; a throw is printed, never raised.
// Usage: node kill_client.mjs BASE_URL MODEL MAX_NEW_TOKENS RETRY(0|1)
import { createMavClient, withRetries } from '../../../mav-client/dist/index.js'

const [baseUrl, model, maxNewTokens, retry] = process.argv.slice(2)
const print = (line) => process.stdout.write(`${JSON.stringify(line)}\n`)
const plain = createMavClient({ baseUrl })
const client = retry === '1' ? withRetries(plain, { attempts: 200, baseDelayMs: 250, maxDelayMs: 1000 }) : plain
const options = retry === '1' ? { onRetry: (info) => print({ retry: info.attempt, code: info.error.code }) } : {}
try {
  for await (const event of client.run(
    { model, prompt: 'Once upon a time', max_new_tokens: Number(maxNewTokens) },
    options,
  )) {
    print(
      event.type === 'error' ? { type: 'error', code: event.code, retryable: event.retryable } : { type: event.type },
    )
  }
  print({ end: true })
} catch (error) {
  print({ thrown: `${error?.name}: ${error?.message}` })
}
