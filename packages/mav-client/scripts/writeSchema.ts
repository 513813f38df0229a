import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { protocolJsonSchemaText } from './protocolJsonSchema'

const target = fileURLToPath(new URL('../schema/mav-protocol.schema.json', import.meta.url))
writeFileSync(target, protocolJsonSchemaText())
console.log(`wrote ${target}`)
