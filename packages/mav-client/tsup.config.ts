import { readdirSync } from 'node:fs'
import { defineConfig } from 'tsup'

const shared = {
  entry: { index: 'src/index.ts', protocol: 'src/protocol/index.ts' },
  dts: true,
  sourcemap: true,
  target: 'es2022',
  treeshake: true,
} as const

// `@mav/client/protocol` holds the zod schemas and nothing else. The ESM build is split into chunks so
// that an app importing only the store, scaling or replay (as `MAVContainer` does) never pulls in zod:
// with `"sideEffects": false`, bundlers skip a chunk none of whose exports are used. Each protocol
// module is also an (unexported) entry, which gives it a chunk of its own: in one shared chunk, a
// schema the app never uses (the recording header, the event union) would still be bundled, since a
// bundler cannot tell that building a schema has no side effects.
const protocolModules = Object.fromEntries(
  readdirSync('src/protocol')
    .filter((file) => file.endsWith('.ts') && file !== 'index.ts')
    .map((file) => [`protocol/${file.slice(0, -3)}`, `src/protocol/${file}`]),
)

export default defineConfig([
  { ...shared, entry: { ...shared.entry, ...protocolModules }, format: ['esm'], splitting: true, dts: false },
  { ...shared, format: ['esm'], dts: { only: true } },
  { ...shared, format: ['cjs'], splitting: false },
])
