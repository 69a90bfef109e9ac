/**
 * End to end: the DNS updater as the action deploys it, fed by its queue. EC2 state changes
 * go from the rule to the queue and reach the function in batches through its event source
 * mapping; the reconcile schedule repairs a record that no event will; events of another
 * project's instances cost the function no Route 53 call.
 */
import {
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand
} from '@aws-sdk/client-auto-scaling'
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53'
import { EmulatorClient } from '../emulator/client.js'
import { TAGS, asgName, launchTemplateName, recordName, scheduleRuleName } from '../src/names.js'
import { action, aRecords, projectView, runningIps, stackView, until, seedSuite } from './helpers/e2e.js'

const REGION = 'us-east-1'
const WP = { project: 'prj-queue', stack: 'st', region: REGION }
const FUNCTION_CALLER = 'lambda-update_r53_record-prj-queue'

const suite = seedSuite(REGION)
let zoneId: string

beforeAll(async () => {
  await action({
    emulator: suite.emulator,
    region: REGION,
    workspace: suite.work,
    inputs: { ...WP, 'compose-file': 'compose.yaml', 'wait-timeout': '60' }
  })
  await suite.emulator.waitIdle()
  zoneId = (await projectView(suite.aws, WP)).zones[0]?.id ?? ''
}, 60_000)

const wordpress = recordName(WP, 'wordpress')
const recordOf = async (): Promise<string[] | undefined> => (await aRecords(suite.aws, zoneId)).get(wordpress)

test('a spot reclaim reaches the function through the queue in batches, and the record follows to the replacement', async () => {
  const before = await stackView(suite.aws, WP)
  const spot = before.instances.find((i) => i.service === 'wordpress' && i.spot)
  suite.emulator.resetCalls()
  suite.emulator.cloud.simulation.spotReclaimDelayMs = 0
  await suite.emulator.spotInterrupt(spot?.id ?? '')
  await suite.emulator.waitIdle()
  const view = await stackView(suite.aws, WP)
  await until(
    async () => ((await recordOf())?.join() === runningIps(view, 'wordpress').join() ? true : undefined),
    async () => `record ${(await recordOf())?.join()}`
  )
  expect(await recordOf()).not.toContain(spot?.ip)
  const state = (await new EmulatorClient(suite.emulator.endpoint).state()) as {
    lambda?: Array<{ FunctionName: string; eventSourceMappings?: Array<{ batches: number; records: number }> }>
  }
  const mapping = state.lambda?.find((f) => f.FunctionName === 'update_r53_record-prj-queue')?.eventSourceMappings?.[0]
  expect(mapping?.batches).toBeGreaterThan(0)
  expect(mapping?.records).toBeGreaterThanOrEqual(mapping?.batches ?? 0)
})

test("events of another project's instances cost the function no Route 53 call", async () => {
  const groups = await suite.aws.autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [asgName(WP, 'db', 'on-demand')] })
  )
  const tag = (Key: string, Value: string) => ({ Key, Value, PropagateAtLaunch: true })
  suite.emulator.resetCalls()
  await suite.aws.autoScaling.send(
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
  await suite.emulator.waitIdle()
  await suite.aws.autoScaling.send(
    new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'someone-else', ForceDelete: true })
  )
  await suite.emulator.waitIdle()
  const functionCalls = suite.emulator.calls().filter((c) => c.caller === FUNCTION_CALLER)
  // the function ran on those events (it read the instances they name) and wrote nothing
  expect(functionCalls.filter((c) => c.operation === 'DescribeInstances').length).toBeGreaterThan(0)
  expect(functionCalls.filter((c) => c.service === 'route53')).toEqual([])
})

test('the reconcile schedule repairs a record that no event will', async () => {
  const right = (await recordOf()) ?? []
  await suite.aws.route53.send(
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
  await new EmulatorClient(suite.emulator.endpoint).fireSchedule(scheduleRuleName(WP), REGION)
  await suite.emulator.waitIdle()
  await until(
    async () => ((await recordOf())?.join() === right.join() ? true : undefined),
    async () => `record ${(await recordOf())?.join()}`
  )
})
