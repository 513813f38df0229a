// After tsup: adds the stylesheet and its types to dist, then fails the build when the main entry lost
// its 'use client' directive or the query entry gained one (its query keys must stay importable in a
// server file), or when a module-level component is not marked pure (apps would bundle it unused).
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'

copyFileSync('src/styles.css', 'dist/styles.css')
// Lets `import '@mav/react/styles.css'` type-check under `noUncheckedSideEffectImports`.
writeFileSync('dist/styles.css.d.ts', 'export {}\n')

const startsUseClient = (file) =>
  /^(["']use strict["'];?\n)?["']use client["'];?$/m.test(readFileSync(file, 'utf8').split('\n').slice(0, 3).join('\n'))

const problems = []
for (const file of ['dist/index.js', 'dist/index.cjs']) {
  if (!startsUseClient(file)) problems.push(`${file} does not start with 'use client'`)
}
const unmarked = readFileSync('dist/index.js', 'utf8').match(/^var \w+ = (forwardRef|memo|createContext)\d*\(/gm)
if (unmarked) problems.push(`dist/index.js: not marked pure (see tsup.config.ts): ${unmarked.join(', ')}`)
for (const file of ['dist/query.js', 'dist/query.cjs']) {
  if (startsUseClient(file)) problems.push(`${file} starts with 'use client'`)
  if (!/["']@mav\/react["']/.test(readFileSync(file, 'utf8'))) {
    problems.push(`${file} does not import the main entry as '@mav/react' (it would carry a copy of its contexts)`)
  }
}
if (problems.length > 0) {
  console.error(problems.join('\n'))
  process.exit(1)
}
console.log("dist: 'use client' on the main entry only; styles.css and its types")
