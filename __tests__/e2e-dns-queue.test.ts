/**
 * End to end: the DNS updater as the action deploys it, fed by its queue. EC2 state changes
 * go from the rule to the queue and reach the function in batches through its event source
 * mapping; the reconcile schedule repairs a record that no event will; events of another
 * project's instances cost the function no Route 53 call.
 */
import { readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand
} from '@aws-sdk/client-auto-scaling'
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { EmulatorClient } from '../emulator/client.js'
import { TAGS, asgName, launchTemplateName, recordName, scheduleRuleName } from '../src/names.js'
import {
  action,
  aRecords,
  awsClients,
  destroyAws,
  projectView,
  runningIps,
  stackView,
  until,
  workspace,
  type Aws
} from './helpers/e2e.js'

const REGION = 'us-east-1'
const SEED = readFileSync(
  path.join(fileURLToPath(new URL('../examples/wordpress/', import.meta.url)), 'compose.yaml'),
  'utf8'
)
const WP = { project: 'prj-queue', stack: 'st', region: REGION }
const FUNCTION_CALLER = 'lambda-update_r53_record-prj-queue'

let emulator: Emulator
let aws: Aws
let work: string
let zoneId: string

beforeAll(async () => {
  emulator = await startEmulator({
    simulation: { launchDelayMs: 30, terminateDelayMs: 30, functionPendingMs: 30, sqsTimeScale: 0.05 }
  })
  aws = awsClients(emulator, REGION)
  work = workspace({ 'compose.yaml': SEED })
  await action({
    emulator,
    region: REGION,
    workspace: work,
    inputs: { ...WP, 'compose-file': 'compose.yaml', 'wait-timeout': '60' }
  })
  await emulator.waitIdle()
  zoneId = (await projectView(aws, WP)).zones[0]?.id ?? ''
}, 60_000)

afterAll(async () => {
  destroyAws(aws)
  await emulator.stop()
  rmSync(work, { recursive: true, force: true })
})

const wordpress = recordName(WP, 'wordpress')
const recordOf = async (): Promise<string[] | undefined> => (await aRecords(aws, zoneId)).get(wordpress)

test('a spot reclaim reaches the function through the queue in batches, and the record follows to the replacement', async () => {
  const before = await stackView(aws, WP)
  const spot = before.instances.find((i) => i.service === 'wordpress' && i.spot)
  emulator.resetCalls()
  await emulator.spotInterrupt(spot?.id ?? '')
  await emulator.waitIdle()
  const view = await stackView(aws, WP)
  await until(
    async () => ((await recordOf())?.join() === runningIps(view, 'wordpress').join() ? true : undefined),
    async () => `record ${(await recordOf())?.join()}`
  )
  expect(await recordOf()).not.toContain(spot?.ip)
  const state = (await new EmulatorClient(emulator.endpoint).state()) as {
    lambda?: Array<{ FunctionName: string; eventSourceMappings?: Array<{ batches: number; records: number }> }>
  }
  const mapping = state.lambda?.find((f) => f.FunctionName === 'update_r53_record-prj-queue')?.eventSourceMappings?.[0]
  expect(mapping?.batches).toBeGreaterThan(0)
  expect(mapping?.records).toBeGreaterThanOrEqual(mapping?.batches ?? 0)
})

test("events of another project's instances cost the function no Route 53 call", async () => {
  const groups = await aws.autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [asgName(WP, 'db', 'on-demand')] })
  )
  const tag = (Key: string, Value: string) => ({ Key, Value, PropagateAtLaunch: true })
  emulator.resetCalls()
  await aws.autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: 'someone-else',
      LaunchTemplate: { LaunchTemplateName: launchTemplateName(WP, 'db'), Version: '$Latest' },
      MinSize: 0,
      MaxSize: 2,
      DesiredCapacity: 2,
      VPCZoneIdentifier: groups.AutoScalingGroups?.[0]?.VPCZoneIdentifier,
      Tags: [tag(TAGS.project, 'prj-other'), tag(TAGS.stack, 'st'), tag(TAGS.service, 'db')]
    })
  )
  await emulator.waitIdle()
  await aws.autoScaling.send(
    new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'someone-else', ForceDelete: true })
  )
  await emulator.waitIdle()
  const functionCalls = emulator.calls().filter((c) => c.caller === FUNCTION_CALLER)
  // the function ran on those events (it read the instances they name) and wrote nothing
  expect(functionCalls.filter((c) => c.operation === 'DescribeInstances').length).toBeGreaterThan(0)
  expect(functionCalls.filter((c) => c.service === 'route53')).toEqual([])
})

test('the reconcile schedule repairs a record that no event will', async () => {
  const right = (await recordOf()) ?? []
  await aws.route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: { Name: wordpress, Type: 'A', TTL: 10, ResourceRecords: [{ Value: '10.9.9.9' }] }
          }
        ]
      }
    })
  )
  expect(await recordOf()).toEqual(['10.9.9.9'])
  await new EmulatorClient(emulator.endpoint).fireSchedule(scheduleRuleName(WP), REGION)
  await emulator.waitIdle()
  await until(
    async () => ((await recordOf())?.join() === right.join() ? true : undefined),
    async () => `record ${(await recordOf())?.join()}`
  )
})
