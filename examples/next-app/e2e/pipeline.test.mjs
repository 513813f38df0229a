// End to end, as a person would use it: the real backend with the bundled model (SmolLM2-135M,
// 30 layers) and the production build of the example, both on loopback, driven in Debian's Chromium.
//
//   pnpm --filter @mav/example-next-app test:e2e     (builds first when .next has no build)
//
// Screenshots go to e2e/screenshots/. MAV_E2E_KEEP=1 keeps the downloaded recording there too.
import assert from 'node:assert/strict'
import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { chromium } from 'playwright-core'
import { chromiumLaunchOptions } from '../../../scripts/chromium.mjs'
import {
  APP_DIR,
  freePort,
  hasProductionBuild,
  NEXT_BIN,
  run,
  startApp,
  startBackend,
  stopAll,
  stopAllOnExit,
  waitForHttp,
} from '../scripts/lib/processes.mjs'

const HOSTILE = join(APP_DIR, '../../fixtures/recordings/hostile.mavrec.jsonl')
const N_LAYERS = 30
const MIN_TOKENS = 8
const SCREENSHOTS = join(APP_DIR, 'e2e/screenshots')
// Long enough that the run is still going when the test presses Stop (greedy SmolLM2 on this prompt
// does not reach its end token early), short enough to end by itself if Stop were broken.
const PROMPT = 'Write a long story about a lighthouse keeper who finds a map in a bottle. Once upon a time'
const MAX_TOKENS = '400'

let backend
let app
let backendUrl
let appUrl
let browser
let page
let workDir
let recordingPath
let recordedSteps = 0
let sharedLink
let sharedId

const health = async () => (await fetch(`${backendUrl}/api/health`, { signal: AbortSignal.timeout(5000) })).json()

/** The values printed in a panel's layer rows, as numbers. */
async function layerValues(name, where = page) {
  const region = where.getByRole('region', { name, exact: true })
  return region.locator('li[data-layer]').evaluateAll((rows) =>
    rows.map((row) => ({
      layer: Number(row.getAttribute('data-layer')),
      value: Number.parseFloat(row.querySelector('.mav-bar-value')?.textContent ?? 'NaN'),
    })),
  )
}

/** Checks that every panel shows data for the model's 30 layers; returns what it read. */
async function assertPanelsShowLayers(where = page) {
  // The panels take a run's steps in turns, a frame each, after the status line: wait for their rows.
  for (const [name, rows] of [
    ['MLP activations', N_LAYERS + 1],
    ['Attention entropy', N_LAYERS],
  ]) {
    const region = where.getByRole('region', { name, exact: true })
    await region
      .locator('li[data-layer]')
      .nth(rows - 1)
      .waitFor({ state: 'attached', timeout: 10_000 })
  }
  const activations = await layerValues('MLP activations', where)
  assert.equal(activations.length, N_LAYERS + 1, 'MLP activations: one row for the embeddings and one per layer')
  assert.deepEqual(
    activations.map((row) => row.layer),
    Array.from({ length: N_LAYERS + 1 }, (_, i) => i),
  )
  for (const row of activations)
    assert.ok(Number.isFinite(row.value), `MLP activation of layer ${row.layer} is a number`)

  const entropy = await layerValues('Attention entropy', where)
  assert.equal(entropy.length, N_LAYERS, 'Attention entropy: one row per layer')
  for (const row of entropy) {
    assert.ok(Number.isFinite(row.value) && row.value >= 0, `entropy of layer ${row.layer} is a number >= 0`)
  }

  // The same for the generated token, the predictions' percents and the distribution's data.
  const generated = where.getByRole('region', { name: 'Generated text', exact: true })
  const predictions = where.getByRole('region', { name: 'Top predictions', exact: true })
  const distribution = where.getByRole('region', { name: 'Output distribution', exact: true })
  const percents = /\d+(\.\d+)?\s*%/
  for (const shown of [
    generated.locator('.mav-text-token'),
    predictions.filter({ hasText: percents }),
    distribution.and(where.locator('[data-state="ready"]')),
  ])
    await shown.first().waitFor({ state: 'attached', timeout: 10_000 })

  const text = await generated.textContent()
  assert.ok(text.replace('Generated text', '').trim().length > 0, 'Generated text shows text')
  assert.match(await predictions.textContent(), percents, 'Top predictions shows probabilities')
  assert.equal(await distribution.getAttribute('data-state'), 'ready', 'Output distribution has data')
  assert.match(await distribution.textContent(), /entropy/i, 'Output distribution shows the entropy')
  assert.ok((await distribution.locator('canvas').count()) > 0, 'Output distribution draws its chart')
  return { activations, entropy }
}

/**
 * Polls the backend's /health until no run is active. The backend checks for a closed stream between
 * tokens, so this takes one token's time (tens of ms here; seconds on a machine busy with other work).
 */
async function waitForNoActiveRun(t, what, timeoutMs = 15_000) {
  const started = Date.now()
  let active = -1
  while (Date.now() - started < timeoutMs) {
    active = (await health()).active_runs
    if (active === 0) break
    await new Promise((r) => setTimeout(r, 100))
  }
  assert.equal(active, 0, `backend /health active_runs ${timeoutMs / 1000} s after ${what}`)
  t.diagnostic(`active_runs was 0 ${Date.now() - started} ms after ${what}`)
}

/** Opens `/embed?<query>` in an iframe of a blank page, as a blog would; returns the iframe's frame. */
async function openEmbed(query) {
  const host = await page.context().newPage()
  await host.setContent(`<iframe src="${appUrl}/embed?${query}" style="width:1000px;height:800px;border:0"></iframe>`)
  return (await host.waitForSelector('iframe')).contentFrame()
}

// The page's error banner (Next.js adds a route announcer that is an alert too).
const banner = () => page.getByRole('alert').and(page.locator('.demo-banner'))

const stepCount = async () => Number(await page.locator('#demo-run').getAttribute('data-run-steps'))

const BRANCH_PROMPT = 'The printing press changed Europe because'
const BRANCH_TOKENS = 12
const BRANCH_AT = 5
const STEP_TOKENS = 6

/** Waits until the page's run is done with `steps` steps. */
async function waitForRunDone(steps) {
  await page.waitForFunction(
    (want) => {
      const run = document.querySelector('#demo-run')
      return run?.getAttribute('data-run-status') === 'done' && Number(run.getAttribute('data-run-steps')) === want
    },
    steps,
    { timeout: 120_000 },
  )
}

async function waitForBranchDone(steps) {
  const branch = page.locator('.demo-branch')
  const seen = async () =>
    `branch status ${await branch.getAttribute('data-branch-status')}, ` +
    `steps ${await branch.getAttribute('data-branch-steps')}: ${await branch.textContent()}`
  await page
    .waitForFunction(
      (want) => {
        const branch = document.querySelector('.demo-branch')
        return (
          branch?.getAttribute('data-branch-status') === 'done' &&
          branch.getAttribute('data-branch-steps') === String(want)
        )
      },
      steps,
      { timeout: 90_000 },
    )
    .catch(async (error) => assert.fail(`${error.message}; ${await seen()}`))
}

/** Selects step `index` (0-based) on the timeline inside `where`. */
async function selectStep(where, index) {
  const slider = where.getByRole('slider').first()
  await slider.focus()
  await slider.press('Home')
  for (let i = 0; i < index; i++) await slider.press('ArrowRight')
  assert.equal(await slider.getAttribute('aria-valuenow'), String(index + 1))
}

/** The token ids of a run the backend makes in one go, read from its stream. */
async function directTokens(request) {
  const response = await fetch(`${backendUrl}/api/run`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
  })
  assert.equal(response.status, 200, `the backend ran ${JSON.stringify(request)}`)
  const frames = (await response.text()).split('\n\n')
  const steps = frames.filter((frame) => frame.startsWith('event: step\n'))
  return steps.map((frame) => JSON.parse(frame.slice(frame.indexOf('data: ') + 6)).token.id)
}

async function screenshot(name) {
  const path = join(SCREENSHOTS, name)
  await page.screenshot({ path, fullPage: true })
  return path
}

describe('examples/next-app end to end (real backend, bundled model, Chromium)', { timeout: 300_000 }, () => {
  before(async () => {
    stopAllOnExit()
    await mkdir(SCREENSHOTS, { recursive: true })
    workDir = await mkdtemp(join(tmpdir(), 'mav-e2e-'))
    const [backendPort, appPort] = [await freePort(), await freePort()]
    backendUrl = `http://127.0.0.1:${backendPort}`
    appUrl = `http://127.0.0.1:${appPort}`
    // The backend loads its model while the example builds (only when there is no build yet).
    // One run at a time, so the test can make the backend busy with a single extra stream.
    backend = startBackend(backendPort, {
      extraArgs: ['--max-concurrent-runs', '1'],
      env: { MAV_RECORDINGS_DB: join(workDir, 'recordings.sqlite3') },
    })
    if (!hasProductionBuild()) await run(NEXT_BIN, ['build'])
    app = startApp(appPort, backendUrl)
    await Promise.all([
      waitForHttp(`${backendUrl}/api/health`, { proc: backend, timeoutMs: 180_000 }),
      waitForHttp(appUrl, { proc: app, timeoutMs: 60_000 }),
    ])
    browser = await chromium.launch(chromiumLaunchOptions())
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true })
    page = await context.newPage()
    page.on('pageerror', (error) => console.error(`[browser] ${error.message}`))
  })

  after(async () => {
    await browser?.close().catch(() => {})
    await stopAll()
    if (recordingPath && process.env.MAV_E2E_KEEP === '1') {
      await copyFile(recordingPath, join(SCREENSHOTS, 'run.mavrec.jsonl')).catch(() => {})
    }
    if (workDir) await rm(workDir, { recursive: true, force: true })
  })

  test('the page loads and lists the bundled model from /api/models', async () => {
    await page.goto(appUrl)
    const model = page.getByLabel('Model', { exact: true })
    await model
      .locator('option:not([value=""])', { hasText: '30 layers' })
      .waitFor({ state: 'attached', timeout: 15_000 })
    assert.equal(await banner().count(), 0, 'no error banner while the backend is up')
  })

  test('the error banner names a bad value, and says when the backend is busy', async (t) => {
    const temperature = page.getByLabel('Temperature', { exact: true })
    await temperature.fill('-1')
    await page.getByRole('button', { name: 'Start', exact: true }).click()
    await banner().waitFor({ timeout: 5_000 })
    assert.match(await banner().textContent(), /Invalid value for Temperature/)
    assert.equal(await temperature.getAttribute('aria-invalid'), 'true')
    assert.match(
      await page.locator('#field-temperature-error').textContent(),
      /-1/,
      'the reason shows beside the field',
    )
    await temperature.fill('0')

    // Another client holds the backend's only run slot: Start gets 429 through the proxy, and the page
    // counts down to the retry that Retry-After asks for instead of failing.
    const other = new AbortController()
    const response = await fetch(`${backendUrl}/api/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: PROMPT, max_new_tokens: 400, chat: false }),
      signal: other.signal,
    })
    const reader = response.body.getReader()
    await reader.read()
    try {
      await page.getByLabel('Max tokens', { exact: true }).fill('3')
      await page.getByRole('button', { name: 'Start', exact: true }).click()
      await page.waitForFunction(
        () => document.querySelector('.demo-banner')?.getAttribute('data-kind') === 'busy',
        null,
        {
          timeout: 10_000,
        },
      )
      assert.match(await banner().textContent(), /The backend is busy/)
      assert.match(await banner().textContent(), /Trying again (in \d+ s|now) \(attempt 1 of \d+\)/)
    } finally {
      other.abort()
    }
    // The slot is free: the retry runs, and the banner goes.
    await page.waitForFunction(
      () => document.querySelector('#demo-run')?.getAttribute('data-run-status') === 'done',
      null,
      {
        timeout: 60_000,
      },
    )
    assert.equal(await banner().count(), 0, 'no banner once the retried run went through')
    await page.getByLabel('Max tokens', { exact: true }).fill(MAX_TOKENS)
    await waitForNoActiveRun(t, 'the other client closed its stream')
  })

  test(`a prompt streams at least ${MIN_TOKENS} tokens and every panel shows the ${N_LAYERS} layers`, async () => {
    await page.getByLabel('Prompt', { exact: true }).fill(PROMPT)
    await page.getByLabel('Max tokens', { exact: true }).fill(MAX_TOKENS)
    await page.getByRole('button', { name: 'Start', exact: true }).click()
    await page.getByRole('button', { name: 'Stop', exact: true }).waitFor({ timeout: 10_000 })
    await page.waitForFunction(
      (min) => Number(document.querySelector('#demo-run')?.getAttribute('data-run-steps')) >= min,
      MIN_TOKENS,
      { timeout: 90_000 },
    )
    // The settings are in the URL, so this set-up can be shared as a link.
    const query = new URL(page.url()).searchParams
    assert.equal(query.get('max_new_tokens'), MAX_TOKENS)
    assert.equal(query.get('prompt'), PROMPT)
    await assertPanelsShowLayers()
    await screenshot('streaming.png')
  })

  test('Stop ends the stream and the backend has no active run', async (t) => {
    await page.getByRole('button', { name: 'Stop', exact: true }).click()
    await page.getByRole('button', { name: 'Start', exact: true }).waitFor({ timeout: 5_000 })
    assert.equal(await page.locator('#demo-run').getAttribute('data-run-status'), 'stopped')
    const atStop = await stepCount()
    assert.ok(atStop < Number(MAX_TOKENS), `stopped before the end (${atStop} of ${MAX_TOKENS} tokens)`)

    await waitForNoActiveRun(t, 'Stop')
    await new Promise((r) => setTimeout(r, 1_000))
    assert.equal(await stepCount(), atStop, 'no token arrives after Stop')
    assert.equal((await health()).active_runs, 0)
    recordedSteps = atStop
  })

  test('Download recording saves the run as a valid .mavrec.jsonl', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download recording', exact: true }).click(),
    ])
    assert.match(download.suggestedFilename(), /\.mavrec\.jsonl$/)
    recordingPath = join(workDir, download.suggestedFilename())
    await download.saveAs(recordingPath)
    const lines = (await readFile(recordingPath, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    assert.equal(lines[0].format, 'mavrec/1')
    assert.equal(lines[0].protocol, 'mav/1')
    const steps = lines.filter((line) => line.type === 'step')
    assert.equal(steps.length, recordedSteps, 'every step shown is in the recording')
    assert.equal(lines[1].type, 'meta')
    assert.equal(lines[1].model.n_layers, N_LAYERS)
    for (const step of steps) {
      assert.equal(step.activations.length, N_LAYERS + 1)
      assert.equal(step.attention_entropy.length, N_LAYERS)
    }
    assert.ok((await stat(recordingPath)).size > 0)
  })

  test('Share saves the run and shows a link; this browser keeps it with its delete token', async () => {
    await page.getByRole('button', { name: 'Share', exact: true }).click()
    const link = page.getByLabel('Share link')
    await link.waitFor({ timeout: 20_000 })
    sharedLink = await link.inputValue()
    assert.match(sharedLink, /\/r\/[A-Za-z0-9_-]{22}$/)
    assert.ok(sharedLink.startsWith(`${appUrl}/r/`))
    sharedId = sharedLink.split('/r/')[1]
    const kept = await page.evaluate(() => JSON.parse(localStorage.getItem('mav.sharedRuns.v1') ?? '[]'))
    assert.equal(kept[0].id, sharedId)
    assert.ok(kept[0].deleteToken.length >= 43, 'the delete token is kept')
    const stored = await (await fetch(`${backendUrl}/api/recordings/${sharedId}`)).text()
    const lines = stored
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    assert.equal(lines.filter((line) => line.type === 'step').length, recordedSteps, 'the backend has every step')
    assert.deepEqual(lines[0].view.panels.length, 5, 'the recording says how it was shown')
  })

  test('the link replays the run for anyone, with its settings; PNG at DPR 2 and HTML export', async () => {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      deviceScaleFactor: 2,
      acceptDownloads: true,
    })
    try {
      const other = await context.newPage()
      await other.goto(sharedLink)
      await other.waitForFunction(
        (count) => {
          const status = document.querySelector('#demo-run')
          return (
            status?.getAttribute('data-source') === 'shared' && Number(status.getAttribute('data-run-steps')) === count
          )
        },
        recordedSteps,
        { timeout: 60_000 },
      )
      await other.locator('.mav-container[data-status="done"], .mav-container[data-status="stopped"]').waitFor()
      assert.equal(await other.getByLabel('Prompt', { exact: true }).inputValue(), PROMPT, 'with its prompt')
      assert.equal(await other.getByLabel('Max tokens', { exact: true }).inputValue(), MAX_TOKENS)
      assert.equal(new URL(other.url()).pathname, `/r/${sharedId}`, 'the link stays the link')
      await assertPanelsShowLayers(other)

      const [png] = await Promise.all([
        other.waitForEvent('download'),
        other.getByRole('button', { name: 'Export PNG', exact: true }).click(),
      ])
      const image = await readFile(await png.path())
      assert.equal(image.subarray(1, 4).toString('latin1'), 'PNG')
      const box = await other.locator('.mav-container').boundingBox()
      const [width, height] = [image.readUInt32BE(16), image.readUInt32BE(20)]
      assert.ok(Math.abs(width - box.width * 2) <= 1, `PNG width ${width} = 2 x ${box.width}`)
      assert.ok(Math.abs(height - box.height * 2) <= 1, `PNG height ${height} = 2 x ${box.height}`)

      await other.getByLabel('Image of').selectOption('top_predictions')
      const [panelPng] = await Promise.all([
        other.waitForEvent('download'),
        other.getByRole('button', { name: 'Export PNG', exact: true }).click(),
      ])
      assert.match(panelPng.suggestedFilename(), /-top_predictions\.png$/)
      const panelBox = await other.locator('[data-panel="top_predictions"]').boundingBox()
      const panelImage = await readFile(await panelPng.path())
      assert.ok(Math.abs(panelImage.readUInt32BE(16) - panelBox.width * 2) <= 1, 'a panel alone, at DPR 2')

      const [page2] = await Promise.all([
        other.waitForEvent('download'),
        other.getByRole('button', { name: 'Export HTML', exact: true }).click(),
      ])
      const html = await readFile(await page2.path(), 'utf8')
      assert.ok(html.startsWith('<!doctype html>') && html.includes("default-src 'none'"))
      assert.equal(html.match(/\\"type\\":\\"step\\"/g)?.length, recordedSteps, 'the page holds every step')
      await screenshot('shared.png').catch(() => {})
    } finally {
      await context.close()
    }
  })

  test('/embed shows a saved run in an iframe, without the form; panels, step and theme apply', async () => {
    const frame = await openEmbed(`r=${sharedId}&panels=generated_text,top_predictions&step=2&theme=dark`)
    await frame.getByRole('region', { name: 'Top predictions', exact: true }).waitFor({ timeout: 30_000 })
    assert.equal(await frame.locator('.mav-grid [data-panel]').count(), 2)
    assert.equal(await frame.getByRole('slider').getAttribute('aria-valuenow'), '3', 'step 2 (0-based) first')
    assert.equal(await frame.locator('html').getAttribute('data-mav-theme'), 'dark')
    assert.equal(await frame.getByRole('button', { name: 'Start' }).count(), 0, 'no form')
    const bySrc = await openEmbed(`src=${encodeURIComponent(`${appUrl}/api/recordings/${sharedId}`)}`)
    await bySrc.getByRole('region', { name: 'Attention entropy', exact: true }).waitFor({ timeout: 30_000 })
    const missing = await openEmbed('r=AAAAAAAAAAAAAAAAAAAAAA')
    const problem = missing.locator('.demo-embed-problem[role="alert"]')
    await problem.waitFor({ timeout: 30_000 })
    assert.match(await problem.textContent(), /Cannot show this recording\. It does not exist/)
  })

  test('a hostile recording stays text in the app: opened, shared and embedded', async () => {
    await page.goto(appUrl)
    await page.getByLabel('Replay speed').selectOption('Infinity')
    await page.getByLabel('Open recording', { exact: true }).setInputFiles(HOSTILE)
    await page.locator('.mav-container[data-status="done"]').waitFor({ timeout: 30_000 })
    const check = async (where) => {
      const text = await where.getByRole('region', { name: 'Generated text', exact: true }).textContent()
      assert.ok(text.includes('<style>*{display:none}</style>'), 'markup in token texts shows as text')
      assert.equal(await where.locator('.mav-container img, .mav-container b').count(), 0)
      assert.equal(await where.evaluate(() => window.__mavHacked), undefined, 'no script from the data ran')
    }
    await check(page)
    await page.getByRole('button', { name: 'Share', exact: true }).click()
    const link = await page.getByLabel('Share link').inputValue({ timeout: 20_000 })
    const hostileId = link.split('/r/')[1]
    assert.notEqual(hostileId, sharedId)
    const frame = await openEmbed(`r=${hostileId}`)
    await frame.getByRole('region', { name: 'Generated text', exact: true }).waitFor({ timeout: 30_000 })
    await check(frame)
  })

  test('Delete removes a shared run: gone from the list and the backend, its link says so', async () => {
    const item = page.locator(`li[data-recording-id="${sharedId}"]`)
    await item.waitFor()
    await item.getByRole('button', { name: /^Delete shared run/ }).click()
    await item.waitFor({ state: 'detached', timeout: 15_000 })
    const kept = await page.evaluate(() => JSON.parse(localStorage.getItem('mav.sharedRuns.v1') ?? '[]'))
    assert.ok(!kept.some((run) => run.id === sharedId), 'forgotten by this browser')
    assert.equal((await fetch(`${backendUrl}/api/recordings/${sharedId}`)).status, 404)
    await page.goto(sharedLink)
    await banner().waitFor({ timeout: 15_000 })
    assert.match(await banner().textContent(), /This shared run does not exist/)
  })

  test('branching with the chosen token reproduces the run; another token diverges there', async (t) => {
    await page.goto(appUrl)
    await page.getByLabel('Prompt', { exact: true }).fill(BRANCH_PROMPT)
    await page.getByLabel('Max tokens', { exact: true }).fill(String(BRANCH_TOKENS))
    await page.getByRole('button', { name: 'Start', exact: true }).click()
    await waitForRunDone(BRANCH_TOKENS)
    const main = page.locator('[aria-label="Model internals"]')
    await selectStep(main, BRANCH_AT)
    const predictions = main.getByRole('region', { name: 'Top predictions', exact: true })
    await predictions.locator('tr[data-chosen] button').click()
    await waitForBranchDone(BRANCH_TOKENS) // as long as the run
    const branch = page.locator('.demo-branch')
    assert.equal(await branch.getAttribute('data-branch-differs-at'), '-1', 'the same tokens, step for step')
    // The page's original run is the greedy run the backend makes in one go.
    const direct = await directTokens({ prompt: BRANCH_PROMPT, max_new_tokens: BRANCH_TOKENS, chat: false })
    assert.equal(await branch.getAttribute('data-branch-tokens'), direct.join(','))
    // It opens in compare against the original, at the branch point, which the branch marks as forced.
    const compare = branch.locator('.mav-compare')
    assert.equal(await compare.getAttribute('data-step'), String(BRANCH_AT), 'the timeline is at the branch point')
    const branchColumn = compare.locator('.mav-compare-column[data-run="Branch"]')
    assert.equal(await branchColumn.locator('[data-branch-at]').getAttribute('data-branch-at'), String(BRANCH_AT))
    const branchPredictions = branchColumn.getByRole('region', { name: 'Top predictions', exact: true })
    // Panels mount a run's first step one per frame; the branch's done state is read from the store.
    await branchPredictions.filter({ hasText: /forced/ }).waitFor({ timeout: 15_000 })
    await screenshot('branch.png')

    // The second most likely token instead: the branch differs from the original at that step.
    const otherText = await predictions.locator('tr[data-rank="2"] code').textContent()
    await predictions.locator('tr[data-rank="2"] button').click()
    await page.waitForFunction(
      (at) => {
        const branch = document.querySelector('.demo-branch')
        return (
          branch?.getAttribute('data-branch-differs-at') === String(at) &&
          branch.getAttribute('data-branch-status') === 'done'
        )
      },
      BRANCH_AT,
      { timeout: 60_000 },
    )
    const diverged = await branch.getAttribute('data-branch-tokens')
    const row = compare.locator(`.mav-compare-table tr[data-step="${BRANCH_AT}"]`)
    assert.equal(await row.getAttribute('data-agree'), 'false', 'the diff row of the branch point disagrees')
    const link = await branch.getByRole('link', { name: /Open in compare mode/ }).getAttribute('href')
    await page.getByRole('button', { name: 'Close branch', exact: true }).click()

    // The link is the comparison: the same settings, the branch's forced tokens; it re-runs both.
    await page.goto(`${appUrl}${link}`)
    assert.match(await page.locator(`.compare-forced`).textContent(), new RegExp(`first ${BRANCH_AT + 1} tokens`))
    await page.getByRole('button', { name: 'Start all', exact: true }).click()
    await page.locator('[data-run-statuses="done done"]').waitFor({ timeout: 120_000 })
    const shared = page.locator('.mav-compare')
    // The statuses come from the stores; the comparison shows their steps from its next frame on.
    await page
      .locator(`.mav-compare[data-step="${BRANCH_AT}"]`)
      .waitFor({ timeout: 10_000 })
      .catch(async () => {
        const seen = await shared.evaluate((compare) =>
          [...compare.querySelectorAll('.mav-compare-column')].map(
            (column) => `${column.getAttribute('data-run')}: ${column.textContent?.slice(0, 160)}`,
          ),
        )
        t.diagnostic(`the comparison is not at the branch point after 10 s: ${seen.join(' | ')}`)
      })
    assert.equal(await shared.getAttribute('data-step'), String(BRANCH_AT), 'opens at the branch point')
    const sharedRow = shared.locator(`.mav-compare-table tr[data-step="${BRANCH_AT}"]`)
    assert.equal(await sharedRow.getAttribute('data-agree'), 'false')
    const before = shared.locator(`.mav-compare-table tr[data-step="${BRANCH_AT - 1}"]`)
    assert.equal(await before.getAttribute('data-agree'), 'true', 'the forced steps are the original run')
    // Run B took the page's branch token at the branch point, and says where it branched.
    assert.equal(await sharedRow.locator('td code').nth(1).textContent(), otherText)
    const runB = shared.locator('.mav-compare-column[data-run="Run B"]')
    assert.match(await runB.locator('[data-branch-at]').textContent(), new RegExp(`Branch at step ${BRANCH_AT + 1}`))
    t.diagnostic(`branch tokens ${diverged}`)
    // Back to the single-run page with this prompt, where the step mode test goes on.
    await page.goto(`${appUrl}/?prompt=${encodeURIComponent(BRANCH_PROMPT)}`)
  })

  test('step mode: a token per press, none between, no run held; the run made in one go', async (t) => {
    await page.getByLabel('Max tokens', { exact: true }).fill(String(STEP_TOKENS))
    await page.getByLabel('One token per press').check()
    await page.getByRole('button', { name: 'Start', exact: true }).click()
    await waitForRunDone(1)
    for (let press = 2; press <= 3; press++) {
      await waitForNoActiveRun(t, `step ${press - 1}`)
      await new Promise((r) => setTimeout(r, 700))
      assert.equal(await stepCount(), press - 1, 'no token arrives between presses')
      if (press === 2) {
        await page.locator('.demo-header h1').click() // Enter anywhere but in a field or on a control
        await page.keyboard.press('Enter')
      } else {
        await page.getByRole('button', { name: 'Next token', exact: true }).click()
      }
      await waitForRunDone(press)
    }
    await page.getByRole('button', { name: 'Run to end', exact: true }).click()
    await waitForRunDone(STEP_TOKENS)
    await waitForNoActiveRun(t, 'run to end')
    assert.ok(await page.getByRole('button', { name: 'Next token', exact: true }).isDisabled(), 'complete')
    // Branching at the first step with its own token generates the rest in one go: the same run.
    const main = page.locator('[aria-label="Model internals"]')
    await selectStep(main, 0)
    const predictions = main.getByRole('region', { name: 'Top predictions', exact: true })
    await predictions.locator('tr[data-chosen] button').click()
    await waitForBranchDone(STEP_TOKENS)
    const branch = page.locator('.demo-branch')
    assert.equal(await branch.getAttribute('data-branch-differs-at'), '-1')
    const direct = await directTokens({ prompt: BRANCH_PROMPT, max_new_tokens: STEP_TOKENS, chat: false })
    assert.equal(await branch.getAttribute('data-branch-tokens'), direct.join(','))
    await page.getByRole('button', { name: 'Close branch', exact: true }).click()
    await page.getByLabel('One token per press').uncheck()
  })

  test("every request field and openmav's display options come from the URL and reach the view", async () => {
    const query = 'prompt=The+sea&max_new_tokens=3&seed=7&top_n=5&max_bar_length=35&limit_chars=12&num_grid_rows=3'
    await page.goto(`${appUrl}/?${query}`)
    assert.equal(await page.getByLabel('Seed', { exact: true }).inputValue(), '7')
    assert.equal(await page.getByLabel('Top-n', { exact: true }).inputValue(), '5')
    assert.equal(await page.getByLabel('Max bar length', { exact: true }).inputValue(), '35')
    assert.equal(await page.getByLabel('Limit chars', { exact: true }).inputValue(), '12')
    assert.equal(await page.getByLabel('Grid rows', { exact: true }).inputValue(), '3')
    await page.getByRole('button', { name: 'Start', exact: true }).click()
    await page.locator('.mav-container[data-status="done"]').waitFor({ timeout: 60_000 })
    // The panels update in their own turns after the status line: wait for the last step's rows.
    await page.waitForFunction(
      () => document.querySelectorAll('[data-panel="mlp_activations"] li[data-bar-length]').length > 0,
      null,
      { timeout: 10_000 },
    )
    const predictions = page.getByRole('region', { name: 'Top predictions', exact: true })
    await predictions.locator('tr[data-rank]').first().waitFor({ timeout: 10_000 })
    assert.equal(await predictions.locator('tr[data-rank]').count(), 5, 'top_n = 5 predictions per step')
    assert.equal(await page.locator('.mav-grid').getAttribute('data-columns'), '2', '5 panels in 3 rows')
    const lengths = await page
      .getByRole('region', { name: 'MLP activations', exact: true })
      .locator('li[data-bar-length]')
      .evaluateAll((rows) => rows.map((row) => Number(row.getAttribute('data-bar-length'))))
    assert.equal(Math.max(...lengths), 35, 'the longest bar is max_bar_length long')
    const text = page.getByRole('region', { name: 'Generated text', exact: true }).locator('.mav-text')
    assert.equal(await text.getAttribute('data-truncated'), 'true', 'limit_chars = 12 cuts the text')
    const shown = (await text.textContent()).replace('…', '')
    // 12 characters, plus the glyph that makes a whitespace-only newest token visible.
    assert.ok(shown.length > 0 && shown.length <= 13, `"${shown}" is at most limit_chars long`)
    // The form writes the values back into the URL.
    await page.getByLabel('Seed', { exact: true }).fill('8')
    await page.waitForFunction(() => window.location.search.includes('seed=8'))
    assert.match(page.url(), /top_n=5/)
    assert.match(page.url(), /num_grid_rows=3/)
  })

  test('compare mode: two runs from a link, queued behind a one-run server, on one timeline', async (t) => {
    const runs =
      'runs=2&a.prompt=The+cat+sat&a.max_new_tokens=6&b.prompt=The+cat+sat&b.max_new_tokens=6&b.temperature=1&b.seed=3'
    await page.goto(`${appUrl}/compare?${runs}`)
    const runB = page.getByRole('group', { name: 'Run B settings' })
    assert.equal(await runB.getByLabel('Temperature', { exact: true }).inputValue(), '1')
    assert.equal(await runB.getByLabel('Seed', { exact: true }).inputValue(), '3')
    await page.getByRole('button', { name: 'Start all', exact: true }).click()
    // The backend runs one at a time: Run B says it waits for Run A instead of failing.
    const waiting = page.locator('.mav-compare-column[data-run="Run B"] [data-waiting="true"]')
    await waiting.waitFor({ timeout: 30_000 })
    assert.match(await waiting.textContent(), /starts when Run A ends/)
    const compare = page.locator('.mav-compare')
    await page.locator('[data-run-statuses="done done"]').waitFor({ timeout: 120_000 })
    assert.equal(await waiting.count(), 0, 'no run waits once both are done')
    t.diagnostic(`both runs done; statuses ${await compare.getAttribute('data-run-statuses')}`)
    assert.equal(await compare.getAttribute('data-normalised'), 'false', 'one model: no depth normalisation')

    const slider = page.getByRole('slider', { name: 'Step of every run' })
    // Pressed again until it lands: a press while the columns re-render after the runs end can be lost.
    const atFirst = () =>
      page
        .locator('.mav-compare')
        .getAttribute('data-step')
        .then((step) => step === '0')
    for (let tries = 0; tries < 20 && !(await atFirst()); tries++) {
      await slider.press('Home')
      await page.waitForTimeout(250)
    }
    assert.ok(await atFirst(), 'Home on the slider moves every run to the first step')
    const row = page.locator('.mav-compare-table tr[data-step="0"]')
    assert.equal(await row.getAttribute('aria-current'), 'step')
    // Greedy and sampled from the same prompt share the first step's distribution: KL 0.
    assert.ok(Number(await row.getAttribute('data-kl')) < 1e-6, 'same prompt, same first distribution')
    // Each column shows its own first token, the one the diff row names.
    const [tokenA, tokenB] = await row.locator('td code').allTextContents()
    const newest = (run) => page.locator(`.mav-compare-column[data-run="${run}"] .mav-text-token`).textContent()
    assert.equal((await newest('Run A')).trim(), tokenA.replace('␣', ' ').trim())
    assert.equal((await newest('Run B')).trim(), tokenB.replace('␣', ' ').trim())
    assert.equal(await row.getAttribute('data-agree'), String(tokenA === tokenB))
    assert.equal(await page.locator('.mav-diff-heatmap').count(), 2)
    assert.match(page.url(), /b\.temperature=1/)
    await screenshot('compare.png')
  })

  test('with the backend stopped, the page says so, and the recording replays', async () => {
    await backend.stop()
    await assert.rejects(fetch(`${backendUrl}/api/health`), 'the backend is really gone')

    await page.goto(appUrl)
    await banner().waitFor({ timeout: 15_000 })
    assert.match(await banner().textContent(), /Cannot reach the MAV backend/)

    await page.getByLabel('Open recording', { exact: true }).setInputFiles(recordingPath)
    await page.waitForFunction(
      (count) => {
        const status = document.querySelector('#demo-run')
        return (
          status?.getAttribute('data-source') === 'recording' && Number(status.getAttribute('data-run-steps')) === count
        )
      },
      recordedSteps,
      { timeout: 60_000 },
    )
    await page.locator('.mav-container[data-status="done"], .mav-container[data-status="stopped"]').waitFor({
      timeout: 10_000,
    })
    await assertPanelsShowLayers()
    await screenshot('replay.png')
  })

  test('the layout holds on a phone-sized screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    assert.ok(overflow <= 1, `no horizontal scrolling at 390 px (overflow ${overflow} px)`)
    await screenshot('phone.png')
  })
})
