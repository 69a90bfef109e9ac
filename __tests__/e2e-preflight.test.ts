/**
 * End to end: what the run checks in AWS before its first write. A problem found there
 * stops the run with an error naming the service and the input, and nothing is written.
 */
import { readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { AL2023_AMIS } from '../emulator/types.js'
import { action, workspace, writesOf } from './helpers/e2e.js'

const REGION = 'us-east-1'
const SEED = readFileSync(path.join(fileURLToPath(new URL('../examples/wordpress/', import.meta.url)), 'compose.yaml'), 'utf8')

let emulator: Emulator
let work: string

beforeAll(async () => {
  emulator = await startEmulator({ simulation: { launchDelayMs: 30, terminateDelayMs: 30, functionPendingMs: 30 } })
  work = workspace({ 'compose.yaml': SEED })
})

afterAll(async () => {
  await emulator.stop()
  rmSync(work, { recursive: true, force: true })
})

test('an x86_64 AMI with a Graviton instance type stops the run before any write, naming each service', async () => {
  const inputs = { project: 'prj-arch', stack: 'st', region: REGION, 'compose-file': 'compose.yaml', ami: AL2023_AMIS.x86_64.imageId, 'instance-type': 'm7g.medium', wait: 'false' }
  const run = await action({ emulator, region: REGION, workspace: work, inputs }, 1)
  expect(writesOf(run.calls)).toEqual([])
  for (const service of ['db', 'wordpress']) {
    expect(run.stdout).toContain(`service ${service}: instance type m7g.medium runs arm64 but the ami input ${AL2023_AMIS.x86_64.imageId} is x86_64`)
  }
})

test('an arm64 AMI with a Graviton instance type passes the check', async () => {
  const inputs = { project: 'prj-arch', stack: 'st', region: REGION, 'compose-file': 'compose.yaml', ami: AL2023_AMIS.arm64.imageId, 'instance-type': 'm7g.medium', command: 'plan' }
  const run = await action({ emulator, region: REGION, workspace: work, inputs })
  expect(run.calls.map((c) => c.operation)).toContain('DescribeImages')
})
