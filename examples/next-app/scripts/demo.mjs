#!/usr/bin/env node
// The one-command demo: starts mav-server with the bundled model and the Next.js example (a production
// build, built first when missing; `--dev` for `next dev`), prints the URL, and stops both on Ctrl-C.
//
//   node examples/next-app/scripts/demo.mjs [--dev] [--rebuild] [--port 3000] [--backend-port 8000]
//
// Prerequisites: the packages are built (`pnpm -r build`) and .venv/bin/mav-server exists (the root
// `npm run setup`). Set MAV_BACKEND_URL to use a backend that is already running instead of starting one.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  APP_DIR,
  freePort,
  hasProductionBuild,
  isStopping,
  NEXT_BIN,
  REPO_ROOT,
  run,
  startApp,
  startBackend,
  stopAll,
  stopAllOnExit,
  waitForHttp,
} from './lib/processes.mjs'

const { values } = parseArgs({
  options: {
    dev: { type: 'boolean', default: false },
    rebuild: { type: 'boolean', default: false },
    port: { type: 'string', default: process.env.PORT ?? '3000' },
    'backend-port': { type: 'string', default: process.env.MAV_PORT ?? '8000' },
    verbose: { type: 'boolean', default: false },
  },
})

/** `wanted` when it is free, otherwise any free port (so a second demo or a busy 3000 still works). */
async function portOr(wanted) {
  const { createServer } = await import('node:net')
  const free = await new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(Number(wanted), '127.0.0.1', () => server.close(() => resolve(true)))
  })
  return free ? Number(wanted) : freePort()
}

async function main() {
  stopAllOnExit()
  for (const pkg of ['mav-client', 'mav-react']) {
    if (!existsSync(join(REPO_ROOT, 'packages', pkg, 'dist/index.js'))) {
      throw new Error(`packages/${pkg} is not built. Run: pnpm -r --filter "./packages/*" build (or npm run setup)`)
    }
  }
  if (!existsSync(NEXT_BIN)) throw new Error('Next.js is not installed. Run pnpm install at the repository root.')

  let backendUrl = process.env.MAV_BACKEND_URL
  let backend = null
  if (backendUrl === undefined) {
    const backendPort = await portOr(values['backend-port'])
    backendUrl = `http://127.0.0.1:${backendPort}`
    console.log(`Starting mav-server with the bundled model on ${backendUrl} ...`)
    backend = startBackend(backendPort, { echo: values.verbose })
  } else {
    console.log(`Using the backend at ${backendUrl}`)
  }

  const mode = values.dev ? 'dev' : 'start'
  if (mode === 'start' && (values.rebuild || !hasProductionBuild())) {
    console.log('Building the example (next build) ...')
    await run(NEXT_BIN, ['build'], { cwd: APP_DIR })
  }
  const appPort = await portOr(values.port)
  const app = startApp(appPort, backendUrl, { mode, echo: values.verbose })
  const appUrl = `http://127.0.0.1:${appPort}`

  const started = Date.now()
  await Promise.all([
    waitForHttp(`${backendUrl}/api/health`, { proc: backend ?? undefined, timeoutMs: 180_000 }),
    waitForHttp(appUrl, { proc: app, timeoutMs: 120_000 }),
  ])
  console.log(`\nMAV demo ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${appUrl}`)
  console.log(`  backend ${backendUrl}/api (health: ${backendUrl}/api/health), app mode: next ${mode}`)
  console.log('  Press Ctrl-C to stop both.\n')

  const ended = await Promise.race([
    app.exited.then((info) => ['next', info]),
    ...(backend ? [backend.exited.then((info) => ['mav-server', info])] : []),
  ])
  const [which, info] = ended
  if (isStopping()) return // Ctrl-C: the exit hook stops the other one and exits
  const culprit = which === 'next' ? app : backend
  console.error(`${which} stopped unexpectedly (${JSON.stringify(info)}). Its last output:\n${culprit.tail()}`)
  await stopAll()
  process.exit(1)
}

main().catch(async (error) => {
  console.error(`demo failed: ${error.message}`)
  await stopAll()
  process.exit(1)
})
