import { describe, expect, it } from 'vitest'
import { MavProtocolError } from '../errors'
import { parseMavStream } from '../parseMavStream'
import { parseRecording, serializeRecording } from '../recording'
import { collect, loadFixtures, streamOf } from './helpers'

const events = async (name: string) => {
  const found = loadFixtures().find((f) => f.name === name)
  if (!found) throw new Error(`${name} fixture missing`)
  return collect(parseMavStream(streamOf([found.bytes])))
}

describe('recordings', () => {
  it('round-trips every event exactly, multi-byte text included', async () => {
    const recorded = [...(await events('basic-run')), ...(await events('multibyte'))]
    const text = serializeRecording(recorded, { model: 'gpt2-fixture' })
    const lines = text.trimEnd().split('\n')
    expect(lines).toHaveLength(recorded.length + 1)
    const header = JSON.parse(lines[0] as string)
    expect(header).toMatchObject({
      format: 'mavrec/1',
      protocol: 'mav/1',
      events: recorded.length,
      model: 'gpt2-fixture',
    })
    const parsed = parseRecording(text)
    expect(parsed.events).toEqual(recorded)
    expect(parsed.header.model).toBe('gpt2-fixture')
  })

  it('accepts CRLF line ends and a BOM', async () => {
    const text = serializeRecording(await events('basic-run')).replaceAll('\n', '\r\n')
    expect(parseRecording(`\uFEFF${text}`).events).toHaveLength(7)
  })

  const failure = (text: string) => {
    try {
      parseRecording(text)
    } catch (error) {
      return error as MavProtocolError
    }
    throw new Error('parseRecording accepted bad input')
  }

  it('names the line of the first problem', async () => {
    const lines = serializeRecording(await events('basic-run')).split('\n')
    lines[3] = lines[3]?.replace('"step":0', '"step":-4') ?? ''
    const error = failure(lines.join('\n'))
    expect(error).toBeInstanceOf(MavProtocolError)
    expect(error.type).toBe('invalid-recording')
    expect(error.line).toBe(4)
    expect(error.message).toMatch(/^Recording line 4: not a mav\/1 event at "step"/)
  })

  it('rejects a file that is not a recording', () => {
    expect(failure('').line).toBe(1)
    expect(failure('{"format": "csv"}\n').message).toContain('mavrec/1 header')
    expect(failure('{"format":"mavrec/1","protocol":"mav/1"}\n{oops}\n')).toMatchObject({ line: 2 })
  })
})
