// Fails the build when a built entry lost its 'use client' directive or the stylesheet is missing.
import { existsSync, readFileSync } from 'node:fs'

const problems = []
for (const file of ['dist/index.js', 'dist/index.cjs']) {
  const head = readFileSync(file, 'utf8').split('\n').slice(0, 3).join('\n')
  if (!/^(["']use strict["'];?\n)?["']use client["'];?$/m.test(head))
    problems.push(`${file} does not start with 'use client'`)
}
if (!existsSync('dist/styles.css')) problems.push('dist/styles.css is missing')
if (problems.length > 0) {
  console.error(problems.join('\n'))
  process.exit(1)
}
console.log("dist: 'use client' on both entries, styles.css present")
