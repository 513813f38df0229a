// Consumer bundle sizes: what an app pays to import our packages, minified and gzipped, React excluded.
// Bundles the built packages (dist, through their `exports`) the way an app bundler would.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { root } from '../scripts/lib.mjs'

const entries = {
  bundle_gzip_bytes_client:
    "import { createMavClient, parseMavStream } from '@mav/client'\nconsole.log(createMavClient, parseMavStream)\n",
  bundle_gzip_bytes_react: "import { MAVContainer } from '@mav/react'\nconsole.log(MAVContainer)\n",
}

export async function bundleSizes() {
  // A throw-away app folder whose node_modules links our packages, as an install of them would.
  const dir = mkdtempSync(join(tmpdir(), 'mav-bundle-'))
  mkdirSync(join(dir, 'node_modules', '@mav'), { recursive: true })
  symlinkSync(join(root, 'packages/mav-client'), join(dir, 'node_modules/@mav/client'))
  symlinkSync(join(root, 'packages/mav-react'), join(dir, 'node_modules/@mav/react'))
  const results = {}
  try {
    for (const [key, source] of Object.entries(entries)) {
      const entry = join(dir, `${key}.mjs`)
      writeFileSync(entry, source)
      const out = await build({
        entryPoints: [entry],
        bundle: true,
        minify: true,
        format: 'esm',
        platform: 'browser',
        write: false,
        absWorkingDir: dir,
        external: ['react', 'react-dom', 'react/jsx-runtime', 'react-dom/client'],
        define: { 'process.env.NODE_ENV': '"production"' },
        loader: { '.css': 'empty' },
        logLevel: 'silent',
      }).catch((error) => ({ error }))
      if (out.error) throw new Error(`${key}: could not bundle: ${out.error.message}`)
      const code = out.outputFiles[0].contents
      results[key] = gzipSync(code, { level: 9 }).length
      console.log(`${key}: ${code.length} B minified, ${results[key]} B gzip`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return results
}

if (import.meta.url === `file://${process.argv[1]}`) await bundleSizes()
