/** resolveNetwork: the VPC (for its CIDR and resolver) and the subnets, in one or two reads. */
import { mockClient } from 'aws-sdk-client-mock'
import { DescribeSubnetsCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2'
import { createClients } from '../src/aws/clients.js'
import { resolveNetwork } from '../src/aws/network.js'
import { inputs } from './helpers/deploy-fixtures.js'

const ec2 = mockClient(EC2Client)
const clients = createClients({ region: 'us-east-1', maxAttempts: 1 })

beforeEach(() => {
  ec2.reset()
  ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-d', CidrBlock: '172.31.0.0/16', IsDefault: true }] })
  ec2.on(DescribeSubnetsCommand).resolves({
    Subnets: [
      { SubnetId: 'subnet-2', VpcId: 'vpc-d', AvailabilityZone: 'us-east-1b' },
      { SubnetId: 'subnet-1', VpcId: 'vpc-d', AvailabilityZone: 'us-east-1a' }
    ]
  })
})

describe('resolveNetwork', () => {
  test('without inputs it uses the default VPC and all its subnets, with their zones, and the resolver is the CIDR base + 2', async () => {
    const network = await resolveNetwork(clients, inputs())
    expect(network).toEqual({
      vpcId: 'vpc-d',
      vpcCidr: '172.31.0.0/16',
      subnetIds: ['subnet-1', 'subnet-2'],
      subnetZones: { 'subnet-1': 'us-east-1a', 'subnet-2': 'us-east-1b' },
      resolver: '172.31.0.2'
    })
    expect(ec2.commandCalls(DescribeVpcsCommand)[0]?.args[0].input).toEqual({
      Filters: [{ Name: 'is-default', Values: ['true'] }]
    })
    expect(ec2.commandCalls(DescribeSubnetsCommand)[0]?.args[0].input.Filters).toEqual([
      { Name: 'vpc-id', Values: ['vpc-d'] }
    ])
  })

  test('with vpc-id and subnet-ids it reads only the VPC', async () => {
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-9', CidrBlock: '10.1.0.0/16' }] })
    const network = await resolveNetwork(clients, inputs({ vpcId: 'vpc-9', subnetIds: ['subnet-z', 'subnet-y'] }))
    expect(network).toEqual({
      vpcId: 'vpc-9',
      vpcCidr: '10.1.0.0/16',
      subnetIds: ['subnet-y', 'subnet-z'],
      resolver: '10.1.0.2'
    })
    expect(ec2.calls()).toHaveLength(1)
  })

  test('subnets from two VPCs are refused, naming both', async () => {
    ec2.on(DescribeSubnetsCommand).resolves({
      Subnets: [
        { SubnetId: 'subnet-1', VpcId: 'vpc-a' },
        { SubnetId: 'subnet-2', VpcId: 'vpc-b' }
      ]
    })
    await expect(resolveNetwork(clients, inputs({ subnetIds: ['subnet-1', 'subnet-2'] }))).rejects.toThrow(
      /must all be in one VPC \(found vpc-a, vpc-b\)/
    )
  })

  test('a region without a default VPC asks for the vpc-id input', async () => {
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [] })
    await expect(resolveNetwork(clients, inputs())).rejects.toThrow(
      'this region has no default VPC; set the vpc-id input'
    )
  })

  test('a VPC without subnets is an error naming it', async () => {
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [] })
    await expect(resolveNetwork(clients, inputs())).rejects.toThrow(
      'VPC vpc-d has no subnets; set the subnet-ids input'
    )
  })
})
