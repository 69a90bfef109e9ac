/**
 * End to end: rollouts that overlap. Auto Scaling allows one instance refresh per group at a
 * time and answers InstanceRefreshInProgress (the SDK's InstanceRefreshInProgressFault) to a
 * second; a deploy must take over the refresh a previous run started and left running.
 */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { asgName, launchTemplateName, recordName, type StackScope } from '../src/names.js'
import {
  action,
  aRecords,
  operations,
  projectView,
  runningIps,
  stackView,
  writesOf,
  seedSuite,
  SEED_COMPOSE
} from './helpers/e2e.js'

const REGION = 'us-east-1'
const WP: StackScope = { project: 'prj-roll', stack: 'st-wordpress', region: REGION }

const suite = seedSuite(REGION)

function deploy(image: string, extra: Record<string, string>, idle = true) {
  writeFileSync(
    path.join(suite.work, 'compose.yaml'),
    SEED_COMPOSE.replace('image: wordpress:latest', `image: ${image}`)
  )
  const inputs = {
    project: WP.project,
    stack: WP.stack,
    region: REGION,
    'compose-file': 'compose.yaml',
    'wait-timeout': '120',
    ...extra
  }
  return action({ emulator: suite.emulator, region: REGION, workspace: suite.work, inputs, idle })
}

test('three image versions deployed back to back, the second without waiting, end with every instance on the third', async () => {
  await deploy('wordpress:6.1', { wait: 'true' })
  // The second version's refreshes stay pending (as a slow refresh would) until something cancels them.
  suite.emulator.cloud.simulation.refreshStartDelayMs = 600_000
  const second = await deploy('wordpress:6.2', { wait: 'false' })
  suite.emulator.cloud.simulation.refreshStartDelayMs = 0
  expect(operations(writesOf(second.calls)).filter((op) => op === 'StartInstanceRefresh')).toHaveLength(2)

  // While the second version's refreshes are still pending.
  const third = await deploy('wordpress:6.3', { wait: 'true' }, false)
  const writes = operations(writesOf(third.calls))
  expect(writes).toContain('StartInstanceRefresh (InstanceRefreshInProgress)')
  expect(writes).toContain('CancelInstanceRefresh')

  await suite.emulator.waitIdle()
  const view = await stackView(suite.aws, WP)
  const template = view.launchTemplates.find((t) => t.name === launchTemplateName(WP, 'wordpress'))
  const version = String(template?.defaultVersion)
  for (const capacity of ['on-demand', 'spot'] as const)
    expect(view.groups.get(asgName(WP, 'wordpress', capacity))?.launchTemplateVersion).toBe(version)
  const wp = view.instances.filter((i) => i.service === 'wordpress')
  expect(wp.map((i) => i.launchTemplateVersion)).toEqual([version, version])
  const zone = (await projectView(suite.aws, WP)).zones[0]?.id ?? ''
  expect((await aRecords(suite.aws, zone)).get(recordName(WP, 'wordpress'))).toEqual(runningIps(view, 'wordpress'))
})
