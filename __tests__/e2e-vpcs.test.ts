/**
 * End to end: two stacks of one project in two VPCs share the project's private zone,
 * which is associated with each stack's VPC and dissociated when the last stack of a VPC goes.
 */
import {
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeRouteTablesCommand,
  ModifySubnetAttributeCommand,
  ModifyVpcAttributeCommand
} from '@aws-sdk/client-ec2'
import { GetHostedZoneCommand } from '@aws-sdk/client-route-53'
import { recordName } from '../src/names.js'
import { action, aRecords, operations, projectView, writesOf, seedSuite } from './helpers/e2e.js'

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
  const vpc = (await suite.aws.ec2.send(new CreateVpcCommand({ CidrBlock: '10.30.0.0/16' }))).Vpc?.VpcId ?? ''
  await suite.aws.ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpc, EnableDnsHostnames: { Value: true } }))
  const subnets = await Promise.all(
    ['10.30.1.0/24', '10.30.2.0/24'].map(
      async (CidrBlock, i) =>
        (
          await suite.aws.ec2.send(
            new CreateSubnetCommand({ VpcId: vpc, CidrBlock, AvailabilityZone: `${REGION}${'ab'[i]}` })
          )
        ).Subnet?.SubnetId ?? ''
    )
  )
  // its way out: an internet gateway on the main route table, and public addresses on launch
  const igw = (await suite.aws.ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway?.InternetGatewayId ?? ''
  await suite.aws.ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }))
  const main = (
    await suite.aws.ec2.send(
      new DescribeRouteTablesCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpc] },
          { Name: 'association.main', Values: ['true'] }
        ]
      })
    )
  ).RouteTables?.[0]
  await suite.aws.ec2.send(
    new CreateRouteCommand({ RouteTableId: main?.RouteTableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw })
  )
  for (const SubnetId of subnets)
    await suite.aws.ec2.send(new ModifySubnetAttributeCommand({ SubnetId, MapPublicIpOnLaunch: { Value: true } }))

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
