/**
 * End to end: what the run checks in AWS before its first write. A problem found there
 * stops the run with an error naming the service and the input, and nothing is written.
 */
import { AL2023_AMIS } from '../emulator/types.js'
import {
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  ModifySubnetAttributeCommand,
  ModifyVpcAttributeCommand
} from '@aws-sdk/client-ec2'
import { action, writesOf, seedSuite } from './helpers/e2e.js'

const REGION = 'us-east-1'

const suite = seedSuite(REGION)

test('an x86_64 AMI with a Graviton instance type stops the run before any write, naming each service', async () => {
  const inputs = {
    project: 'prj-arch',
    stack: 'st',
    region: REGION,
    'compose-file': 'compose.yaml',
    ami: AL2023_AMIS.x86_64.imageId,
    'instance-type': 'm7g.medium',
    wait: 'false'
  }
  const run = await action({ emulator: suite.emulator, region: REGION, workspace: suite.work, inputs }, 1)
  expect(writesOf(run.calls)).toEqual([])
  for (const service of ['db', 'wordpress']) {
    expect(run.stdout).toContain(
      `service ${service}: instance type m7g.medium runs arm64 but the ami input ${AL2023_AMIS.x86_64.imageId} is x86_64`
    )
  }
})

test('an arm64 AMI with a Graviton instance type passes the check', async () => {
  const inputs = {
    project: 'prj-arch',
    stack: 'st',
    region: REGION,
    'compose-file': 'compose.yaml',
    ami: AL2023_AMIS.arm64.imageId,
    'instance-type': 'm7g.medium',
    command: 'plan'
  }
  const run = await action({ emulator: suite.emulator, region: REGION, workspace: suite.work, inputs })
  expect(run.calls.map((c) => c.operation)).toContain('DescribeImages')
})

describe('subnets without a way to the internet', () => {
  async function privateVpc(): Promise<{ vpc: string; subnet: string }> {
    const vpc = (await suite.aws.ec2.send(new CreateVpcCommand({ CidrBlock: '10.40.0.0/16' }))).Vpc?.VpcId ?? ''
    await suite.aws.ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpc, EnableDnsHostnames: { Value: true } }))
    const subnet =
      (await suite.aws.ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.40.1.0/24' }))).Subnet?.SubnetId ??
      ''
    return { vpc, subnet }
  }

  test('a subnet with no default route stops the deploy before any write, naming the subnet', async () => {
    const { vpc, subnet } = await privateVpc()
    const inputs = {
      project: 'prj-net',
      stack: 'st',
      region: REGION,
      'compose-file': 'compose.yaml',
      'vpc-id': vpc,
      'subnet-ids': subnet,
      wait: 'false'
    }
    const run = await action({ emulator: suite.emulator, region: REGION, workspace: suite.work, inputs }, 1)
    expect(writesOf(run.calls)).toEqual([])
    expect(run.stdout).toContain(`subnet ${subnet}`)
    expect(run.stdout).toContain('has no route to the internet')
  })

  test('a subnet routed to an internet gateway without public addresses on launch stops the deploy, and passes once they are on', async () => {
    const { vpc, subnet } = await privateVpc()
    const igw =
      (await suite.aws.ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway?.InternetGatewayId ?? ''
    await suite.aws.ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }))
    const table = (await suite.aws.ec2.send(new CreateRouteTableCommand({ VpcId: vpc }))).RouteTable?.RouteTableId ?? ''
    await suite.aws.ec2.send(
      new CreateRouteCommand({ RouteTableId: table, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw })
    )
    await suite.aws.ec2.send(new AssociateRouteTableCommand({ RouteTableId: table, SubnetId: subnet }))
    const inputs = {
      project: 'prj-net',
      stack: 'st',
      region: REGION,
      'compose-file': 'compose.yaml',
      'vpc-id': vpc,
      'subnet-ids': subnet,
      wait: 'false'
    }
    const refused = await action({ emulator: suite.emulator, region: REGION, workspace: suite.work, inputs }, 1)
    expect(writesOf(refused.calls)).toEqual([])
    expect(refused.stdout).toContain(
      `subnet ${subnet} (route table ${table}) routes to ${igw} but assigns no public IPv4 address on launch`
    )
    await suite.aws.ec2.send(
      new ModifySubnetAttributeCommand({ SubnetId: subnet, MapPublicIpOnLaunch: { Value: true } })
    )
    const planned = await action({
      emulator: suite.emulator,
      region: REGION,
      workspace: suite.work,
      inputs: { ...inputs, command: 'plan' }
    })
    expect(planned.calls.map((c) => c.operation)).toContain('DescribeRouteTables')
  })
})
