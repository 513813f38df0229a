import { defineConfig } from 'tsup'

// `@mav/client/protocol` holds the zod schemas and nothing else. The ESM build is split into chunks so
// that an app importing only the store, scaling or replay (as `MAVContainer` does) never pulls in zod:
// with `"sideEffects": false`, bundlers skip a chunk none of whose exports are used.
const shared = {
  entry: { index: 'src/index.ts', protocol: 'src/protocol/index.ts' },
  dts: true,
  sourcemap: true,
  target: 'es2022',
  treeshake: true,
} as const

export default defineConfig([
  { ...shared, format: ['esm'], splitting: true },
  { ...shared, format: ['cjs'], splitting: false },
])
