/**
 * End to end, the spot warning: the seed example deployed by the bundled action, the emulator's
 * reclaim two minutes after its warning, as on AWS. The warned wordpress instance leaves its record
 * within seconds, a replacement is in the record long before the reclaim, and no later recompute
 * (an event of the replacement, the reconcile schedule) lists the warned instance again.
 */
import { DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling'
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2'
import { EmulatorClient } from '../emulator/client.js'
import type { Interruptions } from '../src/interruptions.js'
import {
  SPOT_EVENT_FILTER,
  TAGS,
  logGroupName,
  parseSpotEventLine,
  recordName,
  scheduleRuleName
} from '../src/names.js'
import { action, aRecords, projectView, stackView, until, seedSuite } from './helpers/e2e.js'

const REGION = 'us-east-1'
const WP = { project: 'prj-spot', stack: 'st', region: REGION }
/** AWS's two minutes: the test never waits for it; it checks the replacement comes well before. */
const RECLAIM_MS = 120_000

const suite = seedSuite(REGION, { spotReclaimDelayMs: RECLAIM_MS })
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
const recordOf = async (): Promise<string[]> => (await aRecords(suite.aws, zoneId)).get(wordpress) ?? []

test('a warned spot instance leaves the record within 5 s, its replacement is listed before the reclaim, and it is never listed again', async () => {
  const before = await stackView(suite.aws, WP)
  const spot = before.instances.find((i) => i.service === 'wordpress' && i.spot && i.state === 'running')
  const ip = spot?.ip ?? ''
  expect(await recordOf()).toContain(ip)

  const warnedAt = Date.now()
  await new EmulatorClient(suite.emulator.endpoint).spotInterrupt(spot?.id ?? '')
  await until(
    async () => ((await recordOf()).includes(ip) ? undefined : true),
    async () => `record ${(await recordOf()).join()}`
  )
  expect(Date.now() - warnedAt).toBeLessThan(5_000)

  // the replacement: a new wordpress address in the record while the warned instance still runs
  await until(
    async () => {
      const values = await recordOf()
      return values.length === 2 && !values.includes(ip) ? true : undefined
    },
    async () => `record ${(await recordOf()).join()}`
  )
  expect(Date.now() - warnedAt).toBeLessThan(RECLAIM_MS)
  const warned = await suite.aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: [spot?.id ?? ''] }))
  const instance = warned.Reservations?.[0]?.Instances?.[0]
  expect(instance?.State?.Name).toBe('running')
  expect(instance?.Tags?.find((t) => t.Key === TAGS.leaving)?.Value).toBe('interruption-warning')
  const membership = await suite.aws.autoScaling.send(
    new DescribeAutoScalingInstancesCommand({ InstanceIds: [spot?.id ?? ''] })
  )
  expect(membership.AutoScalingInstances?.[0]?.LifecycleState).toBe('Standby')
  // the updater logged the warning, one line a reader finds in its log group
  const found = await suite.aws.logs.send(
    new FilterLogEventsCommand({ logGroupName: logGroupName(WP), filterPattern: SPOT_EVENT_FILTER })
  )
  const spotLines = (found.events ?? []).flatMap((e) => {
    const line = parseSpotEventLine((e.message ?? '').trim())
    return line ? [line] : []
  })
  expect(spotLines).toEqual([
    {
      event: 'spot-interruption-warning',
      instance: spot?.id,
      service: 'wordpress',
      stack: WP.stack,
      project: WP.project,
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    }
  ])

  // a reconcile recomputes every record from scratch: the warned instance stays out (no waitIdle:
  // the reclaim, two minutes away, is background work of the emulator)
  suite.emulator.resetCalls()
  await new EmulatorClient(suite.emulator.endpoint).fireSchedule(scheduleRuleName(WP), REGION)
  await until(
    async () =>
      suite.emulator
        .calls()
        .some((c) => c.caller?.startsWith('lambda-') === true && c.operation === 'ListResourceRecordSets')
        ? true
        : undefined,
    async () => 'the reconcile did not run'
  )
  // whatever the reconcile writes, over the next 2 s, never lists it
  for (let i = 0; i < 20; i++) {
    expect(await recordOf()).not.toContain(ip)
    await new Promise((r) => setTimeout(r, 100))
  }
  expect(await recordOf()).toHaveLength(2)
})

test("the next run's summary counts the warning for wordpress, from the DNS updater's log", async () => {
  const run = await action({
    emulator: suite.emulator,
    region: REGION,
    workspace: suite.work,
    idle: false,
    inputs: { ...WP, 'compose-file': 'compose.yaml', command: 'plan' }
  })
  const summary = JSON.parse(run.outputs.summary ?? '{}') as { interruptions?: Interruptions }
  expect(summary.interruptions?.services).toEqual([{ service: 'wordpress', warnings: 1, rebalances: 0, reclaims: 0 }])
  expect(run.summary).toContain('### Spot interruptions (last 7 days)')
  expect(run.summary).toContain('| wordpress | 1 | 0 | 0 |')
})
