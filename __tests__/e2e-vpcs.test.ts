/**
 * End to end: two stacks of one project in two VPCs share the project's private zone,
 * which is associated with each stack's VPC and dissociated when the last stack of a VPC goes.
 */
import { GetHostedZoneCommand } from '@aws-sdk/client-route-53'
import { recordName } from '../src/names.js'
import { action, aRecords, operations, projectView, publicVpc, writesOf, seedSuite } from './helpers/e2e.js'

const REGION = 'us-east-1'
const PROJECT = { project: 'prj-vpcs', region: REGION }

const suite = seedSuite(REGION)

function run(stack: string, extra: Record<string, string> = {}) {
  const inputs = { ...PROJECT, stack, 'compose-file': 'compose.yaml', 'wait-timeout': '60', ...extra }
  return action({ emulator: suite.emulator, region: REGION, workspace: suite.work, inputs })
}

async function zoneVpcs(): Promise<string[]> {
  const zoneId = (await projectView(suite.aws, PROJECT)).zones[0]?.id ?? ''
  return ((await suite.aws.route53.send(new GetHostedZoneCommand({ Id: zoneId }))).VPCs ?? [])
    .map((v) => v.VPCId ?? '')
    .sort()
}

test('a stack in a second VPC gets the zone associated with its VPC, and loses it when it is destroyed', async () => {
  const { vpc, subnets } = await publicVpc(suite.aws, REGION, '10.30')

  await run('st-a')
  const [home] = await zoneVpcs()
  expect(home).toBeDefined()

  const second = await run('st-b', { 'vpc-id': vpc, 'subnet-ids': subnets.join(',') })
  expect(operations(writesOf(second.calls))).toContain('AssociateVPCWithHostedZone')
  expect(await zoneVpcs()).toEqual([home, vpc].sort())
  const zoneId = (await projectView(suite.aws, PROJECT)).zones[0]?.id ?? ''
  expect((await aRecords(suite.aws, zoneId)).get(recordName({ ...PROJECT, stack: 'st-b' }, 'wordpress'))).toHaveLength(
    2
  )

  const again = await run('st-b', { 'vpc-id': vpc, 'subnet-ids': subnets.join(',') })
  expect(writesOf(again.calls)).toEqual([])
  expect(operations(again.calls)).not.toContain('GetHostedZone')

  const gone = await run('st-b', { 'vpc-id': vpc, 'subnet-ids': subnets.join(','), command: 'destroy' })
  expect(operations(writesOf(gone.calls))).toContain('DisassociateVPCFromHostedZone')
  expect(await zoneVpcs()).toEqual([home])
  const left = await run('st-a', { command: 'plan' })
  expect(writesOf(left.calls)).toEqual([])
})
