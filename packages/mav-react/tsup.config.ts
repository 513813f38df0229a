import { copyFile, mkdir } from 'node:fs/promises'
import { defineConfig } from 'tsup'

export default defineConfig({
  entry: ['src/index.ts', 'src/standalone.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  // One file per entry: index.js must start with its 'use client'.
  splitting: false,
  target: 'es2022',
  external: ['react', 'react/jsx-runtime', '@tanstack/react-query', '@mav/client', 'uplot', 'modern-screenshot'],
  // No rollup tree-shaking pass: it drops the entry's 'use client', which Next.js App Router needs.
  // esbuild keeps it; scripts/checkDist.mjs fails the build if it ever goes missing.
  async onSuccess() {
    await mkdir('dist', { recursive: true })
    await copyFile('src/styles.css', 'dist/styles.css')
  },
})
