import { fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vitest/config'

// The query entry imports the package by name (see src/useMavModels.ts): the source, in tests.
const self = { find: /^@mav\/react$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) }

export default defineConfig({
  plugins: [react()],
  resolve: { alias: [self] },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    exclude: ['src/**/*.browser.test.{ts,tsx}'],
    setupFiles: ['src/__tests__/setup.ts'],
  },
})
