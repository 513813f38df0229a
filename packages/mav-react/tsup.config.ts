import { copyFile, mkdir } from 'node:fs/promises'
import { defineConfig } from 'tsup'

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  treeshake: true,
  external: ['react', 'react/jsx-runtime', '@tanstack/react-query', '@mav/client', 'uplot'],
  // esbuild drops module-level directives when it bundles; Next.js App Router needs this one on the entry.
  banner: { js: "'use client'" },
  async onSuccess() {
    await mkdir('dist', { recursive: true })
    await copyFile('src/styles.css', 'dist/styles.css')
  },
})
