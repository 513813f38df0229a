// Builds the standalone player from this package's own source: an IIFE bundle of src/player/main.tsx
// (React, @mav/client and uPlot inside) and the stylesheet, inlined into one HTML page whose content
// security policy allows those two and nothing else (no network). Then builds `@mav/react/standalone`
// and the `mav-html` command with that page inside.
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { build, transform } from 'esbuild'

const pkg = JSON.parse(readFileSync('package.json', 'utf8'))

const script = await build({
  entryPoints: ['src/player/main.tsx'],
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  jsx: 'automatic',
  write: false,
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'error',
})
const js = script.outputFiles[0].text.trim()
const css = (
  await transform(readFileSync('src/styles.css', 'utf8') + readFileSync('src/player/player.css', 'utf8'), {
    loader: 'css',
    minify: true,
  })
).code.trim()

for (const [name, text] of [
  ['script', js],
  ['stylesheet', css],
]) {
  if (/<\/(script|style)/i.test(text)) throw new Error(`the player ${name} contains a closing tag`)
}
if (js.includes('<!--MAV_') || css.includes('<!--MAV_')) throw new Error('the player contains a template slot')

const sha256 = (text) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`
const csp = [
  "default-src 'none'",
  `script-src ${sha256(js)}`,
  `style-src ${sha256(css)}`,
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
].join('; ')

// Slots: <!--MAV_TITLE--> (HTML-escaped text) and <!--MAV_DATA--> (script-safe JSON), see playerData.ts.
const template = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="@mav/react ${pkg.version}">
<title><!--MAV_TITLE--></title>
<style>${css}</style>
</head>
<body>
<div id="mav-player"></div>
<script type="application/json" id="mav-player-data"><!--MAV_DATA--></script>
<script>${js}</script>
</body>
</html>
`
mkdirSync('dist/player', { recursive: true })
writeFileSync('dist/player/mav-player.html', template)

const common = {
  bundle: true,
  write: true,
  target: 'es2022',
  external: ['@mav/client', 'react', 'react-dom', 'uplot', 'modern-screenshot'],
  define: { __MAV_PLAYER_TEMPLATE__: JSON.stringify(template) },
  logLevel: 'error',
}
// These replace tsup's builds of the entry (which had no template), whose source maps no longer apply.
rmSync('dist/standalone.js.map', { force: true })
rmSync('dist/standalone.cjs.map', { force: true })
await build({ ...common, entryPoints: ['src/standalone.ts'], format: 'esm', outfile: 'dist/standalone.js' })
await build({ ...common, entryPoints: ['src/standalone.ts'], format: 'cjs', outfile: 'dist/standalone.cjs' })
await build({
  ...common,
  entryPoints: ['src/cli.ts'],
  format: 'esm',
  platform: 'node',
  outfile: 'dist/cli.js',
  banner: { js: '#!/usr/bin/env node' },
})
console.log(
  `player: dist/player/mav-player.html, ${template.length} bytes without data (script ${js.length}, styles ${css.length})`,
)
