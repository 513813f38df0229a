// `npm run demo`: installs what is missing, then starts the backend with the bundled model and the
// example app, and prints the URL. Ctrl-C stops both. Extra arguments go to the example's launcher
// (`--dev`, `--rebuild`, `--port 3000`, `--backend-port 8000`).
import { run } from './lib.mjs'
import { setup } from './setup.mjs'

try {
  await setup()
} catch (error) {
  console.error(`\nset-up failed: ${error.message}`)
  process.exit(1)
}
process.exit(await run('node', ['examples/next-app/scripts/demo.mjs', ...process.argv.slice(2)]))
