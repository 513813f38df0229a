// `mav-html recording.mavrec.jsonl [-o out.html] [--theme dark] [--panels a,b] [--step N] [--title T]`
import { readFileSync, writeFileSync } from 'node:fs'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { type MavPlayerOptions, standaloneHtml } from './standalone'

const usage = `usage: mav-html <recording.mavrec.jsonl> [-o out.html] [--theme auto|light|dark]
                [--panels generated_text,top_predictions,...] [--step N] [--title TEXT]

Writes one self-contained HTML file that plays the recording offline (default: next to it, .html).`

function main(argv: string[]): number {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    console.error(`mav-html: ${(error as Error).message}\n${usage}`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help) {
    console.log(usage)
    return 0
  }
  const input = positionals[0]
  if (positionals.length !== 1 || !input) {
    console.error(usage)
    return 2
  }
  const options: MavPlayerOptions = {}
  if (values.theme) options.theme = values.theme as MavPlayerOptions['theme']
  if (values.panels) options.panels = values.panels.split(',').map((name) => name.trim()) as MavPlayerOptions['panels']
  if (values.step !== undefined) options.step = Number(values.step)
  if (values.title) options.title = values.title
  const output = values.output ?? `${input.replace(/(\.mavrec)?\.jsonl$/, '')}.html`
  try {
    const html = standaloneHtml(readFileSync(input, 'utf8'), options)
    writeFileSync(output, html)
    console.log(`mav-html: wrote ${output} (${html.length} characters) from ${basename(input)}`)
    return 0
  } catch (error) {
    console.error(`mav-html: ${input}: ${(error as Error).message}`)
    return 1
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      theme: { type: 'string' },
      panels: { type: 'string' },
      step: { type: 'string' },
      title: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
}

process.exitCode = main(process.argv.slice(2))
