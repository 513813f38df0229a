import { defineConfig } from 'tsup'

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
  // No rollup tree-shaking pass: it drops the entry's 'use client', which Next.js App Router needs.
  // esbuild keeps it; scripts/finishDist.mjs fails the build if it ever goes missing.
})
