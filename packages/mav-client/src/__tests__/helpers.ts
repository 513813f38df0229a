import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { MavEvent } from '../protocol/mavEvent'

export const fixturesDir = fileURLToPath(new URL('../../../../fixtures/protocol/', import.meta.url))

export interface Fixture {
  name: string
  bytes: Uint8Array
  expected: Array<Partial<MavEvent> & { type: string }>
}

export function loadFixtures(): Fixture[] {
  return readdirSync(fixturesDir)
    .filter((file) => file.endsWith('.sse'))
    .map((file) => {
      const name = file.slice(0, -'.sse'.length)
      return {
        name,
        bytes: new Uint8Array(readFileSync(`${fixturesDir}${file}`)),
        expected: JSON.parse(readFileSync(`${fixturesDir}${name}.expected.json`, 'utf8')),
      }
    })
}

/** A body that delivers `bytes` in the given chunks, in order. */
export function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let index = 0
  return new ReadableStream({
    pull(controller) {
      const chunk = chunks[index++]
      if (chunk) controller.enqueue(chunk)
      else controller.close()
    },
  })
}

/** Cuts `bytes` at the given offsets. */
export function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.min(Math.max(c, 0), bytes.length)))].sort((a, b) => a - b)
  const chunks: Uint8Array[] = []
  let start = 0
  for (const point of [...points, bytes.length]) {
    if (point > start) chunks.push(bytes.subarray(start, point))
    start = point
  }
  return chunks
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of iterable) out.push(item)
  return out
}

/** Client-made error events are compared by type and code only, as the fixtures list them. */
export function comparable(events: MavEvent[]): unknown[] {
  return events.map((event) =>
    event.type === 'error' && ['invalid_event', 'incomplete_stream', 'network_error'].includes(event.code)
      ? { type: event.type, code: event.code }
      : event,
  )
}

export const encoder = new TextEncoder()
