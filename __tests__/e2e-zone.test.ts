/**
 * End to end: the project zone's negative caching. A service name that disappears and comes
 * back must not stay NXDOMAIN in resolvers for Route 53's default 15 minutes: the zone's SOA
 * minimum is the record TTL, set when the zone is made and healed as drift.
 */
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53'
import { action, projectView, seedSuite } from './helpers/e2e.js'

const REGION = 'us-east-1'
const PROJECT = { project: 'prj-soa', region: REGION }

const suite = seedSuite(REGION)

const run = (extra: Record<string, string> = {}) =>
  action({
    emulator: suite.emulator,
    region: REGION,
    workspace: suite.work,
    inputs: { ...PROJECT, stack: 'st', 'compose-file': 'compose.yaml', 'dns-ttl': '10', 'wait-timeout': '60', ...extra }
  })

async function soa(): Promise<{ zoneId: string; value: string; ttl: number }> {
  const zoneId = (await projectView(suite.aws, PROJECT)).zones[0]?.id ?? ''
  const out = await suite.aws.route53.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      StartRecordName: 'prj-soa.us-east-1.internal.',
      StartRecordType: 'SOA',
      MaxItems: 1
    })
  )
  const set = out.ResourceRecordSets?.[0]
  return { zoneId, value: set?.ResourceRecords?.[0]?.Value ?? '', ttl: set?.TTL ?? 0 }
}

test('the zone caches a missing name for the record TTL, and an SOA changed by hand is drift that a deploy heals', async () => {
  await run()
  const made = await soa()
  expect(made.value.split(' ').at(-1)).toBe('10')

  const byHand = made.value.replace(/ 10$/, ' 3600')
  await suite.aws.route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: made.zoneId,
      ChangeBatch: {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: 'prj-soa.us-east-1.internal.',
              Type: 'SOA',
              TTL: made.ttl,
              ResourceRecords: [{ Value: byHand }]
            }
          }
        ]
      }
    })
  )
  const plan = await run({ command: 'plan' })
  expect(plan.outputs['drift-detected']).toBe('true')
  expect(plan.stdout).toContain('negative caching 3600 -> 10 s')
  await run()
  expect((await soa()).value).toBe(made.value)
})
