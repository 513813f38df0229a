// `pnpm bench`: every performance figure of the project in one run on one machine, side by side with
// the anchors people would use instead, as ratios. Writes bench/results/latest.json (flat numbers, the
// keys issue "Performance" names) and bench/RESULTS.md (machine, versions, min/median/max per figure),
// keeping RESULTS.md's hand-written "## History" section (the A/B figures behind past changes).
// `--quick` runs every part with small sizes so the scripts cannot rot; its figures are not the results.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, freemem, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { env, exists, root, run } from '../scripts/lib.mjs'
import { bundleSizes } from './bundleSize.mjs'
import { goals } from './goals.mjs'
import { standaloneSize } from './standaloneSize.mjs'

const quick = process.argv.includes('--quick')
// `--only TEXT` re-runs the parts whose name holds TEXT and keeps every other figure of latest.json.
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined
const tmp = join(tmpdir(), `mav-bench-${process.pid}`)
mkdirSync(tmp, { recursive: true })

/** Runs a sub-benchmark that writes its figures as JSON to the path after `--json`. */
async function jsonPart(name, command, args) {
  const file = join(tmp, `${name}.json`)
  const code = await run(command, [...args, ...(quick ? ['--quick'] : []), '--json', file], { env })
  if (code !== 0) throw new Error(`${name} benchmark failed (exit ${code})`)
  return JSON.parse(readFileSync(file, 'utf8'))
}

const parts = [
  [
    'client parse throughput',
    () => jsonPart('client', 'pnpm', ['--filter', '@mav/client', 'exec', 'tsx', 'bench/parseThroughput.ts']),
  ],
  ['consumer bundle sizes', () => bundleSizes()],
  ['standalone player page', () => standaloneSize()],
]
/** The backend's own benchmark (bench_server.py), its figures renamed to the keys of the issue. */
async function backend() {
  const b = await jsonPart('backend', '.venv/bin/python', ['packages/mav-server-py/bench/bench_server.py'])
  const spread = (d) => ({ min: d.min, median: d.median, max: d.max, repeats: b.repeats })
  return {
    wire_bytes_per_step: b.step_bytes_12_layer_cut.median,
    wire_bytes_per_step_seed: b.seed_step_bytes,
    backend_tokens: b.tokens,
    backend_s_ours: b.ours_seconds.median,
    backend_s_ours_drafting: b.ours_drafting_seconds.median,
    backend_s_detail: b.ours_detail_seconds.median,
    wire_bytes_per_step_detail: b.step_bytes_detail.median,
    backend_s_ours_one_pass: b.ours_one_pass_per_token_seconds.median,
    backend_draft_cost: b.draft_cost,
    backend_torch_threads: b.torch_threads,
    backend_s_generate: b.generate_seconds.median,
    backend_s_openmav: b.openmav_statefetcher_seconds,
    first_step_ms: b.first_step_http_ms.median,
    prompt_forward_ms: b.prompt_forward_ms.median,
    backend_rss_mb: b.rss_mb.after_one_run,
    backend_s_numpy: b.numpy_seconds.median,
    cold_start_s_numpy: b.numpy_cold_start_s.median,
    backend_rss_mb_numpy: b.numpy_rss_mb_after_one_run,
    details: {
      wire_bytes_per_step: { ...b.step_bytes_12_layer_cut, note: 'SmolLM2 steps cut to 12 layers, top_n 20' },
      backend_s_ours: {
        ...spread(b.ours_seconds),
        note:
          `ours / generate within each repeat (back to back): median ${b.ours_vs_generate_paired}; ` +
          `fastest to fastest ${b.ours_vs_generate}; CPU seconds ${b.ours_vs_generate_cpu}; ` +
          `${b.ours_forward_passes} forward passes for ${b.tokens} tokens (drafting while it pays); ` +
          `ours ${b.ours_vs_one_pass_per_token_paired}x one pass per token within a repeat`,
      },
      backend_s_ours_drafting: {
        ...spread(b.ours_drafting_seconds),
        note:
          `a guessed next token checked in every pass that has one: ${b.ours_drafting_forward_passes} passes ` +
          `for ${b.tokens} tokens, ${b.drafting_vs_one_pass_per_token_paired}x one pass per token within a repeat`,
      },
      backend_s_ours_one_pass: { ...spread(b.ours_one_pass_per_token_seconds), note: 'no drafting' },
      backend_s_detail: {
        ...spread(b.ours_detail_seconds),
        note: `detail ["heads", "lens"] on; ${b.detail_vs_ours_paired}x ours within a repeat (back to back)`,
      },
      wire_bytes_per_step_detail: {
        ...b.step_bytes_detail,
        note: 'SmolLM2 (30 layers, 9 heads), detail ["heads", "lens"], top_n 20',
      },
      backend_draft_cost: {
        note: 'time of a two-token pass over a one-token pass, measured when the model loads; drafting pays while 1 + acceptance exceeds it',
      },
      backend_torch_threads: {
        note: 'torch intra-op threads the engine kept at load (the faster of its own and one for a one-token pass); generate and openmav run with the same in this process',
      },
      backend_s_generate: spread(b.generate_seconds),
      first_step_ms: spread(b.first_step_http_ms),
      prompt_forward_ms: spread(b.prompt_forward_ms),
      backend_s_openmav: b.openmav_statefetcher_seconds && {
        note:
          `one run (${b.openmav_vs_generate}x generate's fastest); ${b.openmav_vs_ours}x our fastest run, ` +
          `${b.openmav_vs_ours_median}x our median, ${b.openmav_vs_ours_around_it}x our runs right before ` +
          `and after it (${b.ours_around_openmav_seconds.join(' s, ')} s)`,
      },
      backend_s_numpy: {
        ...spread(b.numpy_seconds),
        note:
          `the numpy engine (no torch) through the same generation loop, the same ${b.tokens} tokens; ` +
          `numpy / ours within each repeat: median ${b.numpy_vs_ours_paired}; same tokens as ours: ${b.numpy_same_tokens_as_ours}`,
      },
      cold_start_s_numpy: {
        ...b.numpy_cold_start_s,
        note:
          `a fresh mav-server --engine numpy process, exec to the first step event of a 4-token run (the model ` +
          `loads in that run; /api/health answered after ${b.numpy_exec_to_health_s.median} s); ` +
          `${b.numpy_cold_start_cpu_s.median} CPU s of that process by its first step`,
      },
      backend_rss_mb_numpy: {
        note: `that process after its run, peak ${b.numpy_peak_rss_mb} MB; torch loaded in it: ${b.numpy_process_loaded_torch}`,
      },
      backend_rss_mb: {
        note:
          `the model loaded and one run of ours done; ${b.rss_mb.after_load} MB after loading, ` +
          `${b.rss_mb.at_end} MB at the end (after generate and openmav), peak ${b.rss_mb.peak} MB`,
      },
    },
  }
}
if (exists('packages/mav-server-py/bench/bench_server.py')) {
  parts.push(['backend (bundled model): ours vs generate vs openmav, wire bytes, first step, memory', backend])
}
/** The reliability suite's figures (stalled slots, soak memory, fuzzing, shutdown); `--quick` runs only the
 * in-process stream tests. */
async function reliability() {
  const file = join(tmp, 'reliability.json')
  const args = ['packages/mav-server-py/tests/reliability', '-q', ...(quick ? ['-k', 'test_streams'] : [])]
  const code = await run('.venv/bin/pytest', args, {
    env: { ...env, MAV_RELIABILITY_JSON: file, ...(quick ? { MAV_RELIABILITY_QUICK: '1' } : {}) },
  })
  if (code !== 0) throw new Error(`reliability suite failed (exit ${code})`)
  const { fuzz_statuses: statuses, ...figures } = JSON.parse(readFileSync(file, 'utf8'))
  const details = {
    stalled_slot_release_s: {
      note: `from a stalled run's last forward pass to its slot's release, stall timeout ${figures.stalled_timeout_s} s; generation paused after ${figures.stalled_run_forward_passes} of 200 forward passes`,
    },
    ...(statuses && { fuzz_cases: { note: `statuses ${JSON.stringify(statuses)}` } }),
    ...(figures.soak_runs && {
      soak_rss_growth_mb: { note: `over ${figures.soak_runs} runs from ${figures.soak_rss_start_mb} MB` },
    }),
  }
  return { ...figures, details }
}
if (exists('packages/mav-server-py/tests/reliability')) {
  parts.push(['reliability: stalled and slow readers, storms, soak, fuzzing, SIGTERM, kill -9', reliability])
}
if (exists('examples/next-app/scripts/lib/vercel.mjs')) {
  // Quick mode reads the output the deploy check just built; a full run builds it for this commit.
  parts.push([
    'Vercel function size (vercel build of examples/next-app)',
    async () => {
      const vercel = await import('../examples/next-app/scripts/lib/vercel.mjs')
      if (!quick) await vercel.vercelBuild()
      return { vercel_function_mib: vercel.functionMib() }
    },
  ])
}
if (exists('bench/render/run.mjs')) {
  parts.push(['render in Chromium', () => jsonPart('render', 'node', ['bench/render/run.mjs'])])
}

function version(command, args) {
  try {
    return execFileSync(command, args, { cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .trim()
      .split('\n')[0]
  } catch {
    return 'n/a'
  }
}

function machine() {
  const pythonVersions = version('.venv/bin/python', [
    '-c',
    'import importlib.metadata as m; print(" ".join(f"{p} {m.version(p)}" for p in ("torch", "transformers", "openmav")))',
  ])
  return {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    free_memory_gb: Math.round(freemem() / 2 ** 30),
    node: process.version,
    python: version('.venv/bin/python', ['--version']),
    python_packages: pythonVersions,
    chromium: version('/usr/bin/chromium', ['--version']),
    quick,
  }
}

function markdown(meta, figures, details, failures) {
  const rows = Object.entries(figures).map(([key, value]) => {
    const d = details[key]
    const range =
      d && d.median !== undefined
        ? `${d.min ?? '-'} / ${d.median} / ${d.max ?? '-'}${d.repeats ? ` (${d.repeats}x)` : ''}`
        : ''
    const spread = [range, d?.note].filter(Boolean).join('; ')
    const goal = goals[key]
    const inputs = goal?.needs.map((k) => figures[k]) ?? []
    const verdict = !goal ? '' : inputs.every((v) => typeof v === 'number') ? goal.check(figures) : 'not measured'
    return `| \`${key}\` | ${value ?? 'n/a'} | ${spread} | ${goal?.text ?? ''} | ${verdict} |`
  })
  return [
    '# Benchmark results',
    '',
    `Written by \`pnpm bench${quick ? ' --quick' : ''}\` on ${meta.date}. ${quick ? '**Quick mode: small sizes, not results.**' : ''}${only ? ` Only the parts named with "${only}" ran then (\`--only\`); the other figures come from the full run before.` : ''}`,
    '',
    `Machine: ${meta.cpu}, ${meta.cores} cores, ${meta.memory_gb} GB. Node ${meta.node}, ${meta.python} (${meta.python_packages}), ${meta.chromium}.`,
    '',
    'Figures are medians, except where the spread column says otherwise; it gives min / median / max over',
    'the repeats. Absolute times drift on a shared 2-core machine, so the goals are ratios where an anchor',
    'exists. Render frames are measured with the frame-rate limit of Chromium off, so a frame time is what the',
    'frame cost rather than a multiple of 16.7 ms; the baseline is the same page without the container.',
    '',
    '| figure | median | min / median / max | goal | verdict |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    ...(failures.length ? ['Parts that failed:', '', ...failures.map((f) => `- ${f}`), ''] : []),
  ].join('\n')
}

/** The figures and details of the last full run (latest.json), for `--only`. */
function previousRun() {
  const path = join(root, 'bench', 'results', 'latest.json')
  if (!existsSync(path)) return { figures: {}, details: {} }
  const { details = {}, machine: _, ...figures } = JSON.parse(readFileSync(path, 'utf8'))
  return { figures, details }
}

/** The "## History" section of the previous RESULTS.md, to write back after the new figures. */
function keptHistory(path) {
  const previous = existsSync(path) ? readFileSync(path, 'utf8') : ''
  const at = previous.indexOf('\n## History')
  return at < 0 ? '' : previous.slice(at + 1)
}

async function main() {
  const kept = only && !quick ? previousRun() : { figures: {}, details: {} }
  const figures = kept.figures
  const details = kept.details
  const failures = []
  for (const [name, part] of parts.filter(([name]) => !only || name.includes(only))) {
    console.log(`\n== ${name}`)
    try {
      const result = await part()
      for (const [key, value] of Object.entries(result)) {
        if (key === 'details') Object.assign(details, value)
        else figures[key] = value
      }
    } catch (error) {
      console.error(`   failed: ${error.message}`)
      failures.push(`${name}: ${error.message}`)
    }
  }
  const meta = machine()
  const outDir = join(root, 'bench', 'results')
  mkdirSync(outDir, { recursive: true })
  const target = quick ? join(tmp, 'quick.json') : join(outDir, 'latest.json')
  writeFileSync(target, `${JSON.stringify({ ...figures, details, machine: meta }, null, 2)}\n`)
  const md = markdown(meta, figures, details, failures)
  if (!quick) {
    const results = join(root, 'bench', 'RESULTS.md')
    writeFileSync(results, `${md}\n${keptHistory(results)}`)
  }
  console.log(`\n${md}`)
  rmSync(tmp, { recursive: true, force: true })
  process.exit(failures.length ? 1 : 0)
}

main()
