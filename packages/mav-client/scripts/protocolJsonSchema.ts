import * as z from 'zod/mini'
import { errorBodySchema, healthResponseSchema, modelsResponseSchema } from '../src/protocol/endpoints'
import { eventDataSchemas } from '../src/protocol/events'
import { recordingHeaderSchema } from '../src/protocol/recordingHeader'
import { runRequestSchema } from '../src/protocol/request'

type Json = Record<string, unknown>

/** Servers may add optional fields (protocol rule), so no object is closed; `$schema` lives only at the root. */
function open(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(open)
  if (node === null || typeof node !== 'object') return node
  const out: Json = {}
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema' || (key === 'additionalProperties' && value === false)) continue
    out[key] = open(value)
  }
  return out
}

function convert(schema: z.ZodMiniType, io: 'input' | 'output', description: string): Json {
  return { description, ...(open(z.toJSONSchema(schema, { io, unrepresentable: 'throw' })) as Json) }
}

/** The JSON Schema of protocol mav/1, generated from the zod schemas (the source of truth). */
export function protocolJsonSchema(): Json {
  const events = Object.fromEntries(
    Object.entries(eventDataSchemas).map(([name, schema]) => [
      `${name}_event`,
      convert(schema, 'output', `data of the SSE event "${name}"`),
    ]),
  )
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'mav-protocol.schema.json',
    title: 'MAV web streaming protocol mav/1',
    description:
      'Generated from the zod schemas of @mav/client by scripts/writeSchema.ts; do not edit. See PROTOCOL.md.',
    $defs: {
      run_request: convert(runRequestSchema, 'input', 'body of POST /run and JSON of GET /run?params='),
      ...events,
      models_response: convert(modelsResponseSchema, 'output', 'body of GET /models'),
      health_response: convert(healthResponseSchema, 'output', 'body of GET /health'),
      error_body: convert(errorBodySchema, 'output', 'body of every 4xx/5xx answer before a stream'),
      recording_header: convert(recordingHeaderSchema, 'output', 'first line of a .mavrec.jsonl recording'),
    },
  }
}

/** The committed file's exact text. */
export function protocolJsonSchemaText(): string {
  return `${JSON.stringify(protocolJsonSchema(), null, 2)}\n`
}
