/**
 * Writes the recording that Storybook and the tests replay, from the deterministic synthetic run.
 * Replace `src/__fixtures__/smollm2-demo.mavrec.jsonl` with a real recording of the bundled model once
 * the Python backend can make one; nothing else needs to change.
 *
 *   pnpm --filter @mav/react fixtures
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseRecording, serializeRecording } from '@mav/client'
import { syntheticRun } from '../src/__fixtures__/syntheticRun'

const target = fileURLToPath(new URL('../src/__fixtures__/smollm2-demo.mavrec.jsonl', import.meta.url))
const text = serializeRecording(syntheticRun(), {
  source: 'synthetic',
  generator: 'packages/mav-react/scripts/writeRecording.ts',
})
  // A fixed timestamp keeps the file byte-identical across runs.
  .replace(/"created_at":"[^"]*"/, '"created_at":"2026-01-01T00:00:00.000Z"')
const { events } = parseRecording(text)
writeFileSync(target, text)
console.log(`wrote ${target}: ${events.length} events, ${(text.length / 1024).toFixed(1)} KiB`)
