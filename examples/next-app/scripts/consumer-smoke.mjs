#!/usr/bin/env node
// Consumer smoke test: proves `npm install @mav/react` works for real users. Packs @mav/client and
// @mav/react as they would be published (pnpm pack), creates fresh Vite + React + TypeScript apps in a
// temporary folder outside the workspace, installs the tarballs there with npm, type-checks and builds
// it, then opens the built app in Chromium and checks that a recorded run renders the model's layers;
// again after adding TanStack Query 4, and after moving to 5.
//
//   node examples/next-app/scripts/consumer-smoke.mjs [--keep]
//
// Needs the npm registry (for React, Vite, TypeScript) and the packages built (it builds them if not).
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { chromium } from 'playwright-core'
import { chromiumLaunchOptions } from '../../../scripts/chromium.mjs'
import { freePort, REPO_ROOT, run, startProcess, stopAll, stopAllOnExit, waitForHttp } from './lib/processes.mjs'

const { values } = parseArgs({ options: { keep: { type: 'boolean', default: false } } })
const PNPM = existsSync(join(REPO_ROOT, '.tools/node_modules/.bin/pnpm'))
  ? join(REPO_ROOT, '.tools/node_modules/.bin/pnpm')
  : 'pnpm'
const PACKAGES = ['mav-client', 'mav-react']

// What `npm create vite@latest -- --template react-ts` sets up, pinned.
const VERSIONS = {
  react: '19.3.1',
  'react-dom': '19.3.1',
  vite: '8.3.8',
  '@vitejs/plugin-react': '6.3.0',
  typescript: '5.9.3',
  '@types/react': '19.3.3',
  '@types/react-dom': '19.3.0',
}
// TanStack Query is an optional peer of @mav/react, needed by `@mav/react/query` alone: the app starts
// without it, then moves to 4, then to 5.
const TANSTACK_5 = '5.108.4'
const TANSTACK_4 = '4.44.0'

const RECORDING_TS = `import { type MavEvent, parseRecording, serializeRecording } from '@mav/client'

const N_LAYERS = 30

/** A made-up three-token run of a 30-layer model, written and read back as a .mavrec.jsonl recording. */
export function recordedRun(): MavEvent[] {
  const events: MavEvent[] = [
    {
      type: 'meta',
      protocol: 'mav/1',
      run_id: 'consumer-smoke',
      model: { id: 'tiny', architecture: 'LlamaForCausalLM', n_layers: N_LAYERS, n_heads: 9, vocab_size: 100 },
      prompt_tokens: [{ id: 1, text: 'Hello' }],
      request: {
        model: 'tiny', prompt: 'Hello', max_new_tokens: 3, temperature: 0, top_k: 50, top_p: 1, min_p: 0,
        repetition_penalty: 1, seed: 42, aggregation: 'l2', top_n: 2, chat: false,
      },
    },
  ]
  for (let step = 0; step < 3; step++) {
    events.push({
      type: 'step',
      step,
      token: { id: 10 + step, text: \` t\${step}\` },
      text_delta: \` t\${step}\`,
      top: [
        { id: 10 + step, text: \` t\${step}\`, prob: 0.6, logit: 3 },
        { id: 20, text: ' other', prob: 0.3, logit: 2 },
      ],
      activations: Array.from({ length: N_LAYERS + 1 }, (_, layer) => (layer + 1) * (step + 1)),
      attention_entropy: Array.from({ length: N_LAYERS }, (_, layer) => layer / 10),
      distribution: { entropy: 1.5, top_probs: [0.6, 0.3, 0.1] },
      elapsed_ms: 10 * (step + 1),
    })
  }
  events.push({ type: 'done', reason: 'max_tokens', steps: 3, elapsed_ms: 40 })
  return parseRecording(serializeRecording(events)).events
}
`

// The recording replayed through useMavRun into MAVContainer with a custom panel: no TanStack Query.
const PLAYER_TSX = `import { MAVContainer, type MavPanelProps, Panel, useMavRun } from '@mav/react'
import '@mav/react/styles.css'
import { useEffect } from 'react'
import { recordedRun } from './recording'

/** A custom panel, the way openmav's external panels plug in. */
function TokenLengthPanel({ step }: MavPanelProps) {
  return (
    <Panel title="Token length" state={step ? 'ready' : 'empty'} message="No token yet">
      {step?.token.text.length}
    </Panel>
  )
}

export function Player() {
  const run = useMavRun()
  useEffect(() => {
    void run.replay(recordedRun(), { speed: Number.POSITIVE_INFINITY })
  }, [run.replay])
  return (
    <>
      <p id="status">{run.state.status}</p>
      <MAVContainer store={run.store} panels={['generated_text', 'mlp_activations', 'attention_entropy', TokenLengthPanel]} />
    </>
  )
}
`

// The same with the model list from useMavModels, in the app's QueryClientProvider (TanStack 4 or 5).
const QUERY_APP_TSX = `import { createMavClient } from '@mav/client'
import { MavProvider } from '@mav/react'
import { useMavModels } from '@mav/react/query'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { Player } from './Player'

const queryClient = new QueryClient()

function Models() {
  const models = useMavModels({ retry: false, enabled: false })
  return <p id="models">{models.data?.length ?? 0} models</p>
}

export default function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <MavProvider client={createMavClient({ baseUrl: '/api' })}>
        <Models />
        <Player />
      </MavProvider>
    </QueryClientProvider>
  )
}
`

const PLAIN_APP_TSX = `import { Player } from './Player'

export default function App() {
  return <Player />
}
`

const tsconfig = (types) =>
  `${JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2022',
        useDefineForClassFields: true,
        lib: ['ES2022', 'DOM', 'DOM.Iterable'],
        module: 'ESNext',
        types,
        skipLibCheck: true,
        moduleResolution: 'bundler',
        allowImportingTsExtensions: true,
        verbatimModuleSyntax: true,
        moduleDetection: 'force',
        noEmit: true,
        jsx: 'react-jsx',
        strict: true,
        noUnusedLocals: true,
        noUnusedParameters: true,
        noFallthroughCasesInSwitch: true,
        noUncheckedSideEffectImports: true,
      },
      include: ['src', 'vite.config.ts'],
    },
    null,
    2,
  )}\n`

const FILES = {
  'index.html': `<!doctype html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1.0" />
    <title>MAV consumer</title>
  </head>
  <body>
    <div id="root"></div>
    <script type="module" src="/src/main.tsx"></script>
  </body>
</html>
`,
  'src/main.tsx': `import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import App from './App.tsx'

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
`,
  'src/recording.ts': RECORDING_TS,
  'src/Player.tsx': PLAYER_TSX,
  'vite.config.ts': `import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

export default defineConfig({ plugins: [react()] })
`,
}

const npmEnv = { npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' }

/** Writes an app that depends on the packed tarballs (and `extra`), and installs it with npm. */
async function createApp(dir, tarball, { extra = {}, files }) {
  await mkdir(join(dir, 'src'), { recursive: true })
  const pkg = {
    name: 'mav-consumer',
    private: true,
    version: '0.0.0',
    type: 'module',
    scripts: { typecheck: 'tsc -p tsconfig.json', build: 'vite build' },
    dependencies: {
      '@mav/client': tarball('client').replace('./', '../'),
      '@mav/react': tarball('react').replace('./', '../'),
      react: VERSIONS.react,
      'react-dom': VERSIONS['react-dom'],
      ...extra,
    },
    devDependencies: {
      '@types/react': VERSIONS['@types/react'],
      '@types/react-dom': VERSIONS['@types/react-dom'],
      '@vitejs/plugin-react': VERSIONS['@vitejs/plugin-react'],
      typescript: VERSIONS.typescript,
      vite: VERSIONS.vite,
    },
    // @mav/react's dependency on @mav/client must be met by the packed tarball, never by the registry.
    overrides: { '@mav/client': '$@mav/client' },
  }
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)
  for (const [file, text] of Object.entries({ ...FILES, ...files })) await writeFile(join(dir, file), text)
  await run('npm', ['install', '--no-audit', '--no-fund'], { cwd: dir, env: npmEnv })
  const lock = JSON.parse(await readFile(join(dir, 'package-lock.json'), 'utf8'))
  for (const name of ['@mav/client', '@mav/react']) {
    const entries = Object.entries(lock.packages).filter(([path]) => path.endsWith(`node_modules/${name}`))
    assert.equal(entries.length, 1, `one copy of ${name} installed`)
    assert.match(entries[0][1].resolved ?? '', /tarballs\/mav-/, `${name} comes from the packed tarball`)
  }
}

/** Type-checks and builds the app, serves the build and checks in Chromium that the replay renders. */
async function checkApp(dir, browser, { label, models }) {
  await run('npm', ['run', 'typecheck'], { cwd: dir, env: npmEnv })
  await run('npm', ['run', 'build'], { cwd: dir, env: npmEnv })
  const assets = await readdir(join(dir, 'dist/assets'))
  assert.ok(assets.some((file) => file.endsWith('.js')) && assets.some((file) => file.endsWith('.css')))
  const port = await freePort()
  const preview = startProcess(
    `vite preview (${label})`,
    join(dir, 'node_modules/.bin/vite'),
    ['preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
    { cwd: dir },
  )
  try {
    await waitForHttp(`http://127.0.0.1:${port}/`, { proc: preview, timeoutMs: 30_000 })
    const page = await browser.newPage()
    const errors = []
    page.on('pageerror', (error) => errors.push(error.message))
    await page.goto(`http://127.0.0.1:${port}/`)
    await page.locator('#status', { hasText: 'done' }).waitFor({ timeout: 15_000 })
    // Panels update in turns after the status line: wait for each to show the run.
    const layers = (name) => page.getByRole('region', { name }).locator('li[data-layer]')
    await layers('MLP activations').nth(30).waitFor({ timeout: 10_000 })
    assert.equal(await layers('MLP activations').count(), 31, `${label}: the embeddings and 30 layers`)
    await layers('Attention entropy').nth(29).waitFor({ timeout: 10_000 })
    assert.equal(await layers('Attention entropy').count(), 30, `${label}: 30 layers of attention entropy`)
    await page.getByRole('region', { name: 'Token length' }).getByText('3').waitFor({ timeout: 10_000 })
    if (models) assert.equal(await page.locator('#models').textContent(), '0 models', `${label}: useMavModels`)
    assert.deepEqual(errors, [], `${label}: no errors in the page`)
    await page.close()
  } finally {
    await preview.stop()
  }
}

async function main() {
  stopAllOnExit()
  const started = Date.now()
  for (const pkg of PACKAGES) {
    if (!existsSync(join(REPO_ROOT, 'packages', pkg, 'dist/index.js'))) {
      console.log(`building packages/${pkg} (no dist yet)`)
      await run(PNPM, ['--filter', `./packages/${pkg}`, 'run', 'build'], { cwd: REPO_ROOT })
    }
  }

  const dir = await mkdtemp(join(tmpdir(), 'mav-consumer-'))
  assert.ok(relative(REPO_ROOT, dir).startsWith('..'), 'the apps live outside the workspace')
  console.log(`consumer apps in ${dir}`)
  const browser = await chromium.launch(chromiumLaunchOptions())
  const passed = []
  try {
    const tarballs = join(dir, 'tarballs')
    await mkdir(tarballs)
    for (const pkg of PACKAGES) {
      await run(PNPM, ['pack', '--pack-destination', tarballs], { cwd: join(REPO_ROOT, 'packages', pkg) })
    }
    const packed = await readdir(tarballs)
    const tarball = (name) => {
      const file = packed.find((f) => f.startsWith(`mav-${name}-`) && f.endsWith('.tgz'))
      assert.ok(file, `pnpm pack wrote the @mav/${name} tarball (found: ${packed.join(', ')})`)
      return `file:./tarballs/${file}`
    }

    // One app: first without TanStack Query (and without vite/client's `*.css` types, so the stylesheet
    // import is typed by @mav/react itself), then moved to TanStack Query 4, then to 5.
    const app = join(dir, 'app')
    await createApp(app, tarball, { files: { 'src/App.tsx': PLAIN_APP_TSX, 'tsconfig.json': tsconfig([]) } })
    assert.ok(!existsSync(join(app, 'node_modules/@tanstack/react-query')), 'no TanStack Query installed')
    await checkApp(app, browser, { label: 'no TanStack Query', models: false })
    passed.push('no TanStack Query')
    await writeFile(join(app, 'src/App.tsx'), QUERY_APP_TSX)
    for (const [label, version] of [
      ['TanStack Query 4', TANSTACK_4],
      ['TanStack Query 5', TANSTACK_5],
    ]) {
      await run('npm', ['install', '--no-audit', '--no-fund', `@tanstack/react-query@${version}`], {
        cwd: app,
        env: npmEnv,
      })
      await checkApp(app, browser, { label, models: true })
      passed.push(label)
    }
    console.log(
      `consumer smoke test: ${passed.length} passed, 0 failed (${passed.join(', ')}; ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    )
  } finally {
    await browser.close()
    await stopAll()
    if (values.keep) console.log(`kept ${dir}`)
    else await rm(dir, { recursive: true, force: true })
  }
}

main().catch(async (error) => {
  console.error(`consumer smoke test failed: ${error.stack ?? error.message}`)
  console.log('consumer smoke test: 0 passed, 1 failed')
  await stopAll()
  process.exit(1)
})
