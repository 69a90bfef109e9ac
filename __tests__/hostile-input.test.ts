/**
 * A corpus of bad and hostile input run through the bundled action: each stops the run with a
 * message naming the file and line or the input, and no AWS request is made at all.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { runAction } from '../emulator/github-runner.js'
import { COMPOSE_CASES, FILE_CASES, INPUT_CASES, type HostileCase } from './fixtures/hostile-inputs.js'
import { startRecorder, type Recorder } from './helpers/recorder.js'

const GOOD = { 'compose.yaml': 'services:\n  web:\n    image: nginx\n' }

function workspace(c: HostileCase): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperform-hostile-'))
  for (const d of c.dirs ?? []) mkdirSync(path.join(dir, d))
  for (const [name, text] of Object.entries(c.files ?? GOOD)) writeFileSync(path.join(dir, name), text)
  return dir
}

/**
 * Runs the action on one case, its AWS endpoint a recorder of its own (the cases run at the same
 * time, each a process that mostly waits on its own start-up): any request is this case's.
 */
async function check(c: HostileCase, annotation: RegExp = /::error/): Promise<void> {
  const recorder: Recorder = await startRecorder()
  try {
    const result = await runAction({
      inputs: { project: 'shop', region: 'us-east-1', stack: 'main', ...c.inputs },
      workspace: workspace(c),
      env: { AWS_ENDPOINT_URL: recorder.endpoint }
    })
    expect(result.stdout).toMatch(c.expect)
    expect(result.stdout).toMatch(annotation)
    expect(result.code).toBe(1)
    expect(recorder.requests).toEqual([])
  } finally {
    await recorder.close()
  }
}

describe('hostile and bad input to the bundled action', () => {
  it('has a corpus of at least 50 cases', () => {
    expect(COMPOSE_CASES.length + FILE_CASES.length + INPUT_CASES.length).toBeGreaterThanOrEqual(50)
  })

  it.concurrent.each(COMPOSE_CASES.map((c) => [c.name, c] as const))(
    'stops on %s at its file and line, with no AWS request',
    async (_name, c) => {
      await check(c, /::error [^\n]*file=compose\.yaml,line=\d+,col=\d+::/)
    }
  )

  it.concurrent.each(FILE_CASES.map((c) => [c.name, c] as const))(
    'stops on %s naming the file, with no AWS request',
    async (_name, c) => {
      await check(c)
    }
  )

  it.concurrent.each(INPUT_CASES.map((c) => [c.name, c] as const))(
    'stops on %s naming the input, with no AWS request',
    async (_name, c) => {
      await check(c)
    }
  )
})
