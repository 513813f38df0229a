// `vercel build` of this example without a Vercel account: a hand-written project link with the settings
// the dashboard would hold, the CLI pinned in devDependencies, and the tools its Python builder looks for
// on PATH (a real python3.12 for the python3.12 runtime, and uv). Shared by validate-deploy.mjs and the
// benchmark, which reads the built function's size.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, join, relative } from 'node:path'
import { APP_DIR, REPO_ROOT } from './processes.mjs'

export const VERCEL_DIR = join(APP_DIR, '.vercel')
export const OUTPUT_DIR = join(VERCEL_DIR, 'output')
/** The Python function of `vercel.json` (`api/index.py`) as the build writes it. */
export const FUNCTION_DIR = join(OUTPUT_DIR, 'functions/api/index.func')
const VERCEL_BIN = join(APP_DIR, 'node_modules/.bin/vercel')
const UV_BIN = join(REPO_ROOT, '.venv/bin/uv')

/** What `vercel link` would write; ids are placeholders, nothing here talks to Vercel's API. */
const PROJECT = {
  projectId: 'prj_mav_local_build',
  orgId: 'team_mav_local_build',
  settings: {
    framework: 'nextjs',
    // The Node.js line the Next.js functions run on; the CLI refuses the discontinued 20.x.
    nodeVersion: '24.x',
    // The link sits in the dashboard's Root Directory (examples/next-app) itself, so none is set here.
    rootDirectory: null,
    installCommand: null,
    buildCommand: null,
    devCommand: null,
    outputDirectory: null,
  },
}

function probe(python) {
  const result = spawnSync(python, ['-c', 'import sys; print(sys.executable); print("%d.%d" % sys.version_info[:2])'], {
    encoding: 'utf8',
  })
  if (result.status !== 0) return undefined
  const [executable, version] = result.stdout.trim().split('\n')
  return version === '3.12' ? executable : undefined
}

/**
 * A working CPython 3.12: `$PYTHON312`, else `python3.12` on PATH, else pyenv's, else Debian's. A pyenv
 * shim on PATH is skipped when 3.12 is not its selected version (it fails to run).
 */
export function findPython312() {
  const pyenv = join(process.env.PYENV_ROOT ?? join(homedir(), '.pyenv'), 'versions')
  const pyenvVersions = existsSync(pyenv)
    ? readdirSync(pyenv)
        .filter((name) => /^3\.12\.\d+$/.test(name))
        .sort((a, b) => Number(b.split('.')[2]) - Number(a.split('.')[2]))
        .map((name) => join(pyenv, name, 'bin/python3.12'))
    : []
  const candidates = [process.env.PYTHON312, 'python3.12', ...pyenvVersions, '/usr/bin/python3.12'].filter(Boolean)
  for (const candidate of candidates) {
    const executable = probe(candidate)
    if (executable) return executable
  }
  throw new Error(
    `vercel build needs CPython 3.12 (the function's runtime is python3.12; its wheels are built for it), and ` +
      `none runs here (tried ${candidates.join(', ')}). Install one (e.g. pyenv install 3.12) or set ` +
      'PYTHON312=/path/to/python3.12.',
  )
}

/** A folder for the front of PATH holding only what the Python builder looks up there. */
function toolsOnPath() {
  if (!existsSync(UV_BIN)) throw new Error(`${UV_BIN} is missing: run npm run setup (it installs the pinned uv)`)
  const dir = join(VERCEL_DIR, 'tools')
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  symlinkSync(findPython312(), join(dir, 'python3.12'))
  symlinkSync(UV_BIN, join(dir, 'uv'))
  return dir
}

/**
 * Runs the pinned `vercel build --standalone` in the example, as Vercel's build step would: vercel.json's
 * install and build commands (workspace packages, then `next build`), then the Python function with uv.
 * `--standalone` copies every file into `.vercel/output`, so the function folder runs on its own.
 */
export async function vercelBuild() {
  if (!existsSync(VERCEL_BIN)) throw new Error(`${VERCEL_BIN} is missing: run npm run setup`)
  mkdirSync(VERCEL_DIR, { recursive: true })
  // Without a uv.lock the builder locks pyproject.toml and leaves uv.lock here; the next build would
  // install from that one as it is, however old.
  rmSync(join(APP_DIR, 'uv.lock'), { force: true })
  writeFileSync(join(VERCEL_DIR, 'project.json'), `${JSON.stringify(PROJECT, null, 2)}\n`)
  const tools = toolsOnPath()
  const pnpmBin = join(REPO_ROOT, '.tools/node_modules/.bin')
  const env = {
    ...process.env,
    PATH: [tools, pnpmBin, process.env.PATH].join(delimiter),
    VERCEL_TELEMETRY_DISABLED: '1',
    NEXT_TELEMETRY_DISABLED: '1',
    NO_UPDATE_NOTIFIER: '1',
  }
  const args = ['build', '--standalone', '--global-config', join(VERCEL_DIR, 'cli')]
  const code = await new Promise((resolve) => {
    const child = spawn(VERCEL_BIN, args, { cwd: APP_DIR, env, stdio: ['ignore', 'inherit', 'inherit'] })
    child.on('error', () => resolve(127))
    child.on('exit', (status, signal) => resolve(status ?? (signal ? 128 : 1)))
  })
  if (code !== 0) throw new Error(`vercel ${args.join(' ')} failed with exit code ${code} (its output is above)`)
}

/** Every file under `dir`, with its size in bytes, paths relative to `dir`. */
export function filesUnder(dir) {
  const files = []
  const walk = (at) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name)
      if (entry.isDirectory()) walk(path)
      else files.push({ path: relative(dir, path), bytes: statSync(path).size })
    }
  }
  walk(dir)
  return files
}

/** The built Python function's files in MiB, as Vercel's builder adds them up (file sizes, uncompressed). */
export function functionMib(dir = FUNCTION_DIR) {
  if (!existsSync(join(dir, '.vc-config.json'))) {
    throw new Error(`${dir} has no build: run pnpm --filter @mav/example-next-app validate:deploy`)
  }
  const bytes = filesUnder(dir).reduce((sum, file) => sum + file.bytes, 0)
  return Math.round((bytes / 2 ** 20) * 10) / 10
}

export const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'))
