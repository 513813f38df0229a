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

export default {
  stories: ['../packages/mav-react/src/**/*.stories.@(ts|tsx)'],
  framework: { name: resolvePackage('@storybook/react-vite'), options: {} },
  core: { disableTelemetry: true, disableWhatsNewNotifications: true },
  typescript: { reactDocgen: false },
  async viteFinal(config: { resolve?: { dedupe?: string[] } }) {
    config.resolve = { ...config.resolve, dedupe: [...(config.resolve?.dedupe ?? []), 'react', 'react-dom'] }
    return config
  },
}
