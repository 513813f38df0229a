/**
 * Records the run that Storybook and the tests replay: a real greedy run of the bundled
 * SmolLM2-135M-Instruct through the reference backend (`.venv/bin/mav-server`, started here on a free
 * loopback port and stopped afterwards), saved as `src/__fixtures__/smollm2-demo.mavrec.jsonl`; with
 * `--detail`, a shorter run with every step detail on (`detail: ["heads", "lens"]`), saved as
 * `src/__fixtures__/smollm2-detail.mavrec.jsonl`.
 *
 *   pnpm --filter @mav/react fixtures [--detail]
 */
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { createMavClient, type MavEvent, parseRecording, serializeRecording } from '@mav/client'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const detail = process.argv.includes('--detail')
const name = detail ? 'smollm2-detail' : 'smollm2-demo'
const target = fileURLToPath(new URL(`../src/__fixtures__/${name}.mavrec.jsonl`, import.meta.url))
const request = {
  prompt: 'The old lighthouse keeper climbed the stairs one last time, and',
  max_new_tokens: detail ? 14 : 61,
  temperature: 0,
  chat: false,
  ...(detail ? { detail: ['heads' as const, 'lens' as const] } : {}),
}

const port = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address() as { port: number }
    probe.close(() => resolve(port))
  })
})
const server = spawn(`${root}.venv/bin/mav-server`, ['--host', '127.0.0.1', '--port', String(port), '--preload'], {
  stdio: 'inherit',
  env: { ...process.env, HF_HUB_OFFLINE: '1' },
})
try {
  const client = createMavClient({ baseUrl: `http://127.0.0.1:${port}/api` })
  const deadline = Date.now() + 180_000
  while (true) {
    const health = await client.health().catch(() => null)
    if (health?.loaded_models.length) break
    if (Date.now() > deadline) throw new Error('mav-server did not load the model within 3 minutes')
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  const events: MavEvent[] = []
  for await (const event of client.run(request)) events.push(event)
  const text = serializeRecording(events, { source: 'mav-server', model: 'smollm2-135m-instruct' })
  const steps = parseRecording(text).events.filter((event) => event.type === 'step').length
  writeFileSync(target, text)
  console.log(`wrote ${target}: ${events.length} events, ${steps} steps, ${text.length} bytes`)
} finally {
  server.kill('SIGTERM')
}
