// The standalone player page in Debian's Chromium, opened from file:// as someone who was sent the file
// would: made by the `mav-html` command (and by the Python package's notebook view), every request the
// page makes is intercepted and must not exist, and a hostile recording shows as text.
//
//   pnpm --filter @mav/react test:browser     (after the build)
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import { chromiumLaunchOptions } from '../../../scripts/chromium.mjs'

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const REPO = resolve(PACKAGE, '../..')
const HOSTILE = join(REPO, 'fixtures/recordings/hostile.mavrec.jsonl')
const DEMO = join(PACKAGE, 'src/__fixtures__/smollm2-demo.mavrec.jsonl')
const PYTHON = join(REPO, '.venv/bin/python')
const PANEL_NAMES = ['Generated text', 'Top predictions', 'MLP activations', 'Attention entropy', 'Output distribution']

let browser
let dir

/** Opens `file` in a fresh context that refuses (and lists) every request but the file itself. */
async function open(file, { deviceScaleFactor = 1 } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor })
  const url = pathToFileURL(file).href
  const requests = []
  await context.route('**/*', (route) => {
    if (route.request().url() === url) return route.continue()
    requests.push(route.request().url())
    return route.abort()
  })
  const page = await context.newPage()
  const problems = []
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text())
  })
  page.on('pageerror', (error) => problems.push(error.message))
  await page.goto(url)
  return { page, context, requests, problems }
}

function mavHtml(...args) {
  return execFileSync(process.execPath, [join(PACKAGE, 'dist/cli.js'), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/** What the hostile recording must look like wherever it is shown: text, nothing run, nothing added. */
async function assertHostileIsText(frame) {
  await frame.getByRole('region', { name: 'Top predictions', exact: true }).waitFor({ timeout: 20_000 })
  assert.equal(await frame.evaluate(() => window.__mavHacked), undefined, 'no script from the data ran')
  assert.equal(await frame.locator('img, b, iframe').count(), 0, 'no element from the data exists')
  const text = await frame.getByRole('region', { name: 'Generated text', exact: true }).textContent()
  assert.match(text, /<style>\*\{display:none\}<\/style>/, 'markup in token texts is shown as it is')
  const predictions = await frame.getByRole('region', { name: 'Top predictions', exact: true }).textContent()
  assert.ok(predictions.includes('<style>*{display:none}'), `the top prediction shows its text: ${predictions}`)
  assert.ok((await frame.title()).startsWith('</script><script>window.__mavHacked'), 'the title is the text')
  const heading = await frame.locator('.mav-player-header h1').textContent()
  assert.ok(heading.startsWith('</script><script>window.__mavHacked="script"</script><img src=x'), heading)
}

describe('standalone player page (mav-html, file://, Chromium)', { timeout: 180_000 }, () => {
  before(async () => {
    assert.ok(existsSync(join(PACKAGE, 'dist/cli.js')), 'build @mav/react first (pnpm --filter @mav/react build)')
    dir = mkdtempSync(join(tmpdir(), 'mav-standalone-'))
    browser = await chromium.launch(chromiumLaunchOptions())
  })

  after(async () => {
    await browser?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  test('one command makes one file that plays every panel and the timeline with no network', async () => {
    const file = join(dir, 'demo.html')
    assert.match(mavHtml(DEMO, '-o', file), /wrote/)
    const html = readFileSync(file, 'utf8')
    assert.doesNotMatch(html, /<(script|link|img|iframe)[^>]+(src|href)=/i, 'nothing is linked')
    const { page, context, requests, problems } = await open(file)
    for (const name of PANEL_NAMES) await page.getByRole('region', { name, exact: true }).waitFor({ timeout: 20_000 })
    await page.getByRole('region', { name: 'Activation history', exact: true }).waitFor()
    const slider = page.getByRole('slider')
    assert.equal(await slider.getAttribute('aria-valuemax'), '61')
    assert.equal(await page.locator('.mav-container').getAttribute('data-status'), 'done')
    assert.equal(await page.locator('.mav-container').getAttribute('data-layers'), '30')
    assert.ok((await page.locator('.mav-history canvas, canvas').count()) >= 2, 'charts and heatmaps draw')
    await slider.focus()
    await page.keyboard.press('Home')
    assert.equal(await slider.getAttribute('aria-valuenow'), '1', 'the timeline scrubs')
    assert.deepEqual(requests, [], 'the page requested nothing')
    assert.deepEqual(problems, [], 'no errors and no content-security-policy violations')
    await context.close()
  })

  test('options: panels, first step and theme', async () => {
    const file = join(dir, 'options.html')
    mavHtml(DEMO, '-o', file, '--panels', 'generated_text,top_predictions', '--step', '5', '--theme', 'dark')
    const { page, context, requests, problems } = await open(file)
    await page.getByRole('region', { name: 'Top predictions', exact: true }).waitFor({ timeout: 20_000 })
    assert.equal(await page.locator('.mav-grid [data-panel]').count(), 2)
    assert.equal(await page.getByRole('slider').getAttribute('aria-valuenow'), '6', 'step 5 (0-based) is shown')
    assert.equal(await page.locator('html').getAttribute('data-mav-theme'), 'dark')
    assert.deepEqual([requests, problems], [[], []])
    await context.close()
  })

  test('a hostile recording is text, and the page replays it offline', async () => {
    const file = join(dir, 'hostile.html')
    mavHtml(HOSTILE, '-o', file)
    const { page, context, requests, problems } = await open(file)
    await assertHostileIsText(page)
    await page.getByRole('button', { name: 'Replay' }).click()
    await page.locator('.mav-container[data-status="done"]').waitFor({ timeout: 20_000 })
    assert.equal(await page.getByRole('slider').getAttribute('aria-valuemax'), '8')
    assert.equal(await page.evaluate(() => window.__mavHacked), undefined)
    assert.deepEqual([requests, problems], [[], []])
    await context.close()
  })

  test('a broken recording is refused by the command, naming the line', () => {
    const broken = join(dir, 'broken.mavrec.jsonl')
    const lines = readFileSync(DEMO, 'utf8').split('\n')
    writeFileSync(broken, [lines[0], lines[1], '{"type":"step","step":"x"}', ''].join('\n'))
    assert.throws(() => mavHtml(broken, '-o', join(dir, 'broken.html')), /line 3/)
    assert.equal(existsSync(join(dir, 'broken.html')), false)
  })

  test("the notebook's output (mav_server.notebook) shows the hostile recording as text too", async (t) => {
    if (!existsSync(PYTHON)) return t.skip('no .venv: the Python package is tested by pytest')
    const file = join(dir, 'notebook-output.html')
    const code = [
      'import sys',
      'from mav_server.notebook import iframe, to_html',
      'open(sys.argv[2], "w", encoding="utf-8").write("<!doctype html><title>notebook</title>" + iframe(to_html(sys.argv[1])))',
    ].join('\n')
    execFileSync(PYTHON, ['-c', code, HOSTILE, file])
    const { page, context, requests, problems } = await open(file)
    await page.locator('iframe').waitFor()
    const frame = page.frames().find((candidate) => candidate !== page.mainFrame())
    assert.ok(frame, 'the player runs in its iframe')
    await assertHostileIsText(frame)
    assert.equal(await page.evaluate(() => window.__mavHacked), undefined)
    assert.deepEqual([requests, problems], [[], []])
    await context.close()
  })
})
