// Storybook for @mav/react. Its packages are devDependencies of packages/mav-react (so React resolves to
// one copy), hence they are resolved from there. Run from that package:
//   pnpm --filter @mav/react storybook          (dev server on :6006)
//   pnpm --filter @mav/react storybook:build    (static build into packages/mav-react/storybook-static)
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const packageDir = join(here, '../packages/mav-react')
const require = createRequire(join(packageDir, 'package.json'))
const resolvePackage = (name: string) => dirname(require.resolve(join(name, 'package.json')))

interface Warning {
  code?: string
}
interface BundlerOptions {
  onwarn?: (warning: Warning, warn: (warning: Warning) => void) => void
}
interface ViteConfig {
  resolve?: { dedupe?: string[] }
  build?: { chunkSizeWarningLimit?: number; rollupOptions?: BundlerOptions; rolldownOptions?: BundlerOptions }
}

export default {
  stories: ['../packages/mav-react/src/**/*.stories.@(ts|tsx)'],
  framework: { name: resolvePackage('@storybook/react-vite'), options: {} },
  core: { disableTelemetry: true, disableWhatsNewNotifications: true },
  typescript: { reactDocgen: false },
  async viteFinal(config: ViteConfig) {
    config.resolve = { ...config.resolve, dedupe: [...(config.resolve?.dedupe ?? []), 'react', 'react-dom'] }
    const build = config.build ?? {}
    // 'use client' is meaningless inside a Storybook bundle (the library's own build keeps it).
    const quiet = (options: BundlerOptions = {}): BundlerOptions => ({
      ...options,
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return
        if (options.onwarn) options.onwarn(warning, warn)
        else warn(warning)
      },
    })
    config.build = {
      ...build,
      // The stories bundle the whole library into a few chunks; that size is expected here.
      chunkSizeWarningLimit: 4096,
      rollupOptions: quiet(build.rollupOptions),
      rolldownOptions: quiet(build.rolldownOptions),
    }
    return config
  },
}
