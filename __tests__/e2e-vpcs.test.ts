/**
 * End to end: two stacks of one project in two VPCs share the project's private zone,
 * which is associated with each stack's VPC and dissociated when the last stack of a VPC goes.
 */
import { readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
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
import { startEmulator, type Emulator } from '../emulator/server.js'
import { recordName } from '../src/names.js'
import {
  action,
  aRecords,
  awsClients,
  destroyAws,
  operations,
  projectView,
  workspace,
  writesOf,
  type Aws
} from './helpers/e2e.js'

const REGION = 'us-east-1'
const SEED = readFileSync(
  path.join(fileURLToPath(new URL('../examples/wordpress/', import.meta.url)), 'compose.yaml'),
  'utf8'
)
const PROJECT = { project: 'prj-vpcs', region: REGION }

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

function run(stack: string, extra: Record<string, string> = {}) {
  const inputs = { ...PROJECT, stack, 'compose-file': 'compose.yaml', 'wait-timeout': '60', ...extra }
  return action({ emulator, region: REGION, workspace: work, inputs })
}

async function zoneVpcs(): Promise<string[]> {
  const zoneId = (await projectView(aws, PROJECT)).zones[0]?.id ?? ''
  return ((await aws.route53.send(new GetHostedZoneCommand({ Id: zoneId }))).VPCs ?? [])
    .map((v) => v.VPCId ?? '')
    .sort()
}

test('a stack in a second VPC gets the zone associated with its VPC, and loses it when it is destroyed', async () => {
  const vpc = (await aws.ec2.send(new CreateVpcCommand({ CidrBlock: '10.30.0.0/16' }))).Vpc?.VpcId ?? ''
  await aws.ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpc, EnableDnsHostnames: { Value: true } }))
  const subnets = await Promise.all(
    ['10.30.1.0/24', '10.30.2.0/24'].map(
      async (CidrBlock, i) =>
        (
          await aws.ec2.send(
            new CreateSubnetCommand({ VpcId: vpc, CidrBlock, AvailabilityZone: `${REGION}${'ab'[i]}` })
          )
        ).Subnet?.SubnetId ?? ''
    )
  )
  // its way out: an internet gateway on the main route table, and public addresses on launch
  const igw = (await aws.ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway?.InternetGatewayId ?? ''
  await aws.ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }))
  const main = (
    await aws.ec2.send(
      new DescribeRouteTablesCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpc] },
          { Name: 'association.main', Values: ['true'] }
        ]
      })
    )
  ).RouteTables?.[0]
  await aws.ec2.send(
    new CreateRouteCommand({ RouteTableId: main?.RouteTableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw })
  )
  for (const SubnetId of subnets)
    await aws.ec2.send(new ModifySubnetAttributeCommand({ SubnetId, MapPublicIpOnLaunch: { Value: true } }))

  await run('st-a')
  const [home] = await zoneVpcs()
  expect(home).toBeDefined()

  const second = await run('st-b', { 'vpc-id': vpc, 'subnet-ids': subnets.join(',') })
  expect(operations(writesOf(second.calls))).toContain('AssociateVPCWithHostedZone')
  expect(await zoneVpcs()).toEqual([home, vpc].sort())
  const zoneId = (await projectView(aws, PROJECT)).zones[0]?.id ?? ''
  expect((await aRecords(aws, zoneId)).get(recordName({ ...PROJECT, stack: 'st-b' }, 'wordpress'))).toHaveLength(2)

  const again = await run('st-b', { 'vpc-id': vpc, 'subnet-ids': subnets.join(',') })
  expect(writesOf(again.calls)).toEqual([])
  expect(operations(again.calls)).not.toContain('GetHostedZone')

  const gone = await run('st-b', { 'vpc-id': vpc, 'subnet-ids': subnets.join(','), command: 'destroy' })
  expect(operations(writesOf(gone.calls))).toContain('DisassociateVPCFromHostedZone')
  expect(await zoneVpcs()).toEqual([home])
  const left = await run('st-a', { command: 'plan' })
  expect(writesOf(left.calls)).toEqual([])
})
