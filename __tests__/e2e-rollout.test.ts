/**
 * End to end: rollouts that overlap. Auto Scaling allows one instance refresh per group at a
 * time and answers InstanceRefreshInProgress (the SDK's InstanceRefreshInProgressFault) to a
 * second; a deploy must take over the refresh a previous run started and left running.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { asgName, launchTemplateName, recordName, type StackScope } from '../src/names.js'
import {
  action,
  aRecords,
  awsClients,
  destroyAws,
  operations,
  projectView,
  runningIps,
  stackView,
  workspace,
  writesOf,
  type Aws
} from './helpers/e2e.js'

const REGION = 'us-east-1'
const SEED = readFileSync(
  path.join(fileURLToPath(new URL('../examples/wordpress/', import.meta.url)), 'compose.yaml'),
  'utf8'
)
const WP: StackScope = { project: 'prj-roll', stack: 'st-wordpress', region: REGION }

let emulator: Emulator
let aws: Aws
let work: string

beforeAll(async () => {
  emulator = await startEmulator({
    simulation: { launchDelayMs: 30, terminateDelayMs: 30, functionPendingMs: 30, sqsTimeScale: 0.05 }
  })
  aws = awsClients(emulator, REGION)
  work = workspace({ 'compose.yaml': SEED })
})

afterAll(async () => {
  destroyAws(aws)
  await emulator.stop()
  rmSync(work, { recursive: true, force: true })
})

function deploy(image: string, extra: Record<string, string>, idle = true) {
  writeFileSync(path.join(work, 'compose.yaml'), SEED.replace('image: wordpress:latest', `image: ${image}`))
  const inputs = {
    project: WP.project,
    stack: WP.stack,
    region: REGION,
    'compose-file': 'compose.yaml',
    'wait-timeout': '120',
    ...extra
  }
  return action({ emulator, region: REGION, workspace: work, inputs, idle })
}

test('three image versions deployed back to back, the second without waiting, end with every instance on the third', async () => {
  await deploy('wordpress:6.1', { wait: 'true' })
  // The second version's refreshes stay pending (as a slow refresh would) until something cancels them.
  emulator.cloud.simulation.refreshStartDelayMs = 600_000
  const second = await deploy('wordpress:6.2', { wait: 'false' })
  emulator.cloud.simulation.refreshStartDelayMs = 0
  expect(operations(writesOf(second.calls)).filter((op) => op === 'StartInstanceRefresh')).toHaveLength(2)

  // While the second version's refreshes are still pending.
  const third = await deploy('wordpress:6.3', { wait: 'true' }, false)
  const writes = operations(writesOf(third.calls))
  expect(writes).toContain('StartInstanceRefresh (InstanceRefreshInProgress)')
  expect(writes).toContain('CancelInstanceRefresh')

  await emulator.waitIdle()
  const view = await stackView(aws, WP)
  const template = view.launchTemplates.find((t) => t.name === launchTemplateName(WP, 'wordpress'))
  const version = String(template?.defaultVersion)
  for (const capacity of ['on-demand', 'spot'] as const)
    expect(view.groups.get(asgName(WP, 'wordpress', capacity))?.launchTemplateVersion).toBe(version)
  const wp = view.instances.filter((i) => i.service === 'wordpress')
  expect(wp.map((i) => i.launchTemplateVersion)).toEqual([version, version])
  const zone = (await projectView(aws, WP)).zones[0]?.id ?? ''
  expect((await aRecords(aws, zone)).get(recordName(WP, 'wordpress'))).toEqual(runningIps(view, 'wordpress'))
})
