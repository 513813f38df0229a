// Child processes for the demo and the tests: free loopback ports, servers started in their own
// process group (so a server's children go with it), readiness polling, and cleanup that also runs on
// Ctrl-C, on SIGTERM and on an uncaught error.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** examples/next-app */
export const APP_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
/** The repository root. */
export const REPO_ROOT = resolve(APP_DIR, '../..')
/** The console script the Python package installs into the root virtual environment. */
export const MAV_SERVER = process.env.MAV_SERVER_BIN ?? join(REPO_ROOT, '.venv/bin/mav-server')
export const NEXT_BIN = join(APP_DIR, 'node_modules/.bin/next')

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolvePort(port))
    })
  })
}

const running = new Set()

/**
 * Starts `command` in its own process group. Output goes to this process's stderr prefixed with
 * `[name]` when `echo` is set, and the last 200 lines are kept for error messages either way.
 */
export function startProcess(name, command, args, { env = {}, cwd = APP_DIR, echo = false } = {}) {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines = []
  const keep = (chunk) => {
    for (const line of chunk.toString().split('\n')) {
      if (line === '') continue
      lines.push(line)
      if (lines.length > 200) lines.shift()
      if (echo) process.stderr.write(`[${name}] ${line}\n`)
    }
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const exited = new Promise((resolveExit) => {
    child.on('exit', (code, signal) => resolveExit({ code, signal }))
    child.on('error', (error) => resolveExit({ code: null, signal: null, error }))
  })
  const proc = {
    name,
    child,
    exited,
    exitInfo: null,
    tail: (count = 40) => lines.slice(-count).join('\n'),
    /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves when the process is gone. */
    async stop(graceMs = 5000) {
      running.delete(proc)
      if (proc.exitInfo !== null) return proc.exitInfo
      signalGroup(child.pid, 'SIGTERM')
      const timer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), graceMs)
      const info = await exited
      clearTimeout(timer)
      // The leader may exit before its children (next start forks workers): finish the group off.
      signalGroup(child.pid, 'SIGKILL')
      return info
    },
  }
  exited.then((info) => {
    proc.exitInfo = info
  })
  running.add(proc)
  return proc
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal)
  } catch {
    // The group is already gone.
  }
}

let stopping = false
/** True once `stopAll` began: a child that exits after that was stopped on purpose. */
export const isStopping = () => stopping

/** Stops every process started here that is still running. */
export async function stopAll() {
  stopping = true
  await Promise.all([...running].map((proc) => proc.stop()))
}

let hooked = false
/** Makes Ctrl-C, SIGTERM and fatal errors stop every started process before this one exits. */
export function stopAllOnExit() {
  if (hooked) return
  hooked = true
  const bail = (code) => {
    stopAll().finally(() => process.exit(code))
  }
  process.once('SIGINT', () => bail(130))
  process.once('SIGTERM', () => bail(143))
  process.once('uncaughtException', (error) => {
    console.error(error)
    bail(1)
  })
  // Last resort when the process exits without the hooks above: no grace, but no orphans.
  process.once('exit', () => {
    for (const proc of running) signalGroup(proc.child.pid, 'SIGKILL')
  })
}

/**
 * Polls `url` until it answers 2xx. Fails early, with the process's last output, when `proc` exits, and
 * after `timeoutMs`.
 */
export async function waitForHttp(url, { proc, timeoutMs = 60_000, intervalMs = 250 } = {}) {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer yet'
  while (Date.now() < deadline) {
    if (proc?.exitInfo) {
      throw new Error(
        `${proc.name} exited (${JSON.stringify(proc.exitInfo)}) before ${url} answered. Its last output:\n${proc.tail()}`,
      )
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) })
      if (response.ok) return response
      last = `HTTP ${response.status}`
    } catch (error) {
      last = error.cause?.code ?? error.message
    }
    await new Promise((r) => setTimeout(r, intervalMs))
  }
  const tail = proc ? ` Its last output:\n${proc.tail()}` : ''
  throw new Error(`${url} did not answer within ${timeoutMs} ms (${last}).${tail}`)
}

/**
 * Starts the reference backend on 127.0.0.1:`port` with the bundled model loaded up front. `env` adds
 * variables (e.g. MAV_RECORDINGS_DB, where shared runs are stored).
 */
export function startBackend(port, { echo = false, extraArgs = [], env = {} } = {}) {
  if (!existsSync(MAV_SERVER)) {
    throw new Error(
      `${MAV_SERVER} does not exist. Install the Python backend first: npm run setup (from the repository root), or python3 -m venv .venv && .venv/bin/pip install -e packages/mav-server-py`,
    )
  }
  return startProcess(
    'mav-server',
    MAV_SERVER,
    ['--host', '127.0.0.1', '--port', String(port), '--preload', ...extraArgs],
    {
      cwd: REPO_ROOT,
      echo,
      env: { HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', ...env },
    },
  )
}

/** `next start` (mode `start`, needs a build) or `next dev` of the example, proxying `/api/*` to `backendUrl`. */
export function startApp(port, backendUrl, { mode = 'start', echo = false } = {}) {
  return startProcess('next', NEXT_BIN, [mode, '--hostname', '127.0.0.1', '--port', String(port)], {
    echo,
    env: { MAV_BACKEND_URL: backendUrl },
  })
}

/** True when `.next` holds a production build. */
export function hasProductionBuild() {
  return existsSync(join(APP_DIR, '.next/BUILD_ID'))
}

/** Runs a command to completion, output passed through; rejects on a non-zero exit. */
export function run(command, args, { cwd = APP_DIR, env = {} } = {}) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env },
      stdio: ['ignore', 'inherit', 'inherit'],
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (code === 0) resolveRun()
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`))
    })
  })
}
