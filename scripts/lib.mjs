// Small helpers shared by the set-up, test and demo runners. Plain Node, no dependencies: these run
// before anything is installed.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')
export const toolsBin = join(root, '.tools', 'node_modules', '.bin')
export const venvBin = join(root, '.venv', 'bin')

/** The environment every child gets: our pinned pnpm and the project's venv first on PATH. */
export const env = {
  ...process.env,
  PATH: [toolsBin, venvBin, process.env.PATH].join(delimiter),
  NEXT_TELEMETRY_DISABLED: '1',
  STORYBOOK_DISABLE_TELEMETRY: '1',
  HF_HUB_OFFLINE: '1',
  TRANSFORMERS_OFFLINE: '1',
  PYTHONUNBUFFERED: '1',
}

export function log(message) {
  console.log(`\n\u001b[1m==> ${message}\u001b[0m`)
}

/** Runs a command with inherited output; resolves to its exit code. */
export function run(command, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, env, stdio: 'inherit', ...options })
    child.on('error', (error) => {
      console.error(`could not start ${command}: ${error.message}`)
      resolve(127)
    })
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)))
  })
}

/** Runs a command and throws when it fails: for set-up steps that everything after depends on. */
export async function must(command, args, options) {
  const code = await run(command, args, options)
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed with exit code ${code}`)
}

export function output(command, args) {
  const result = spawnSync(command, args, { cwd: root, env, encoding: 'utf8' })
  return result.status === 0 ? result.stdout.trim() : undefined
}

export const exists = (path) => existsSync(join(root, path))
