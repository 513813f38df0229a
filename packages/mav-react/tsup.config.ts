import { readFile } from 'node:fs/promises'
import { defineConfig, type Options } from 'tsup'

type EsbuildPlugin = NonNullable<Options['esbuildPlugins']>[number]

// A component made at module level is a call, which a bundler keeps unless it is marked pure; marked,
// an app that imports MAVContainer leaves out MAVCompare, the detail panels and the rest it never uses.
const pureComponents: EsbuildPlugin = {
  name: 'pure-components',
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/].*\.tsx?$/ }, async ({ path }) => ({
      contents: (await readFile(path, 'utf8')).replace(
        /^((?:export )?const \w+(?:: [^=\n]+)? = )(forwardRef|memo|createContext)\b/gm,
        '$1/* @__PURE__ */ $2',
      ),
      loader: path.endsWith('.tsx') ? 'tsx' : 'ts',
    }))
  },
}

export default defineConfig({
  entry: ['src/index.ts', 'src/query.ts', 'src/standalone.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  // One file per entry: index.js must start with its 'use client'.
  splitting: false,
  target: 'es2022',
  // '@mav/react' itself: the query entry imports the main one rather than a copy of its contexts.
  external: [
    'react',
    'react/jsx-runtime',
    '@tanstack/react-query',
    '@mav/client',
    '@mav/react',
    'uplot',
    'modern-screenshot',
  ],
  esbuildPlugins: [pureComponents],
  // No rollup tree-shaking pass: it drops the entry's 'use client', which Next.js App Router needs.
  // esbuild keeps it; scripts/finishDist.mjs fails the build if it ever goes missing.
})
