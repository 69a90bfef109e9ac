/**
 * The VPC and subnets the stack runs in: the inputs' VPC and subnets, or the
 * region's default VPC and its subnets. One or two reads.
 */
import { DescribeVpcsCommand, paginateDescribeSubnets } from '@aws-sdk/client-ec2'
import type { Subnet, Vpc } from '@aws-sdk/client-ec2'
import type { ActionInputs } from '../inputs.js'
import { vpcResolver } from '../names.js'
import type { Network } from '../state.js'
import type { Clients } from './clients.js'
import { wrap } from './errors.js'
import { Aws } from './send.js'

async function describeVpc(aws: Aws, vpcId: string | undefined): Promise<Vpc> {
  const input = vpcId ? { VpcIds: [vpcId] } : { Filters: [{ Name: 'is-default', Values: ['true'] }] }
  let vpcs: Vpc[]
  try {
    vpcs = (await aws.send(new DescribeVpcsCommand(input))).Vpcs ?? []
  } catch (err) {
    throw wrap(vpcId ? `describing VPC ${vpcId}` : 'finding the default VPC', err)
  }
  const vpc = vpcs[0]
  if (!vpc?.VpcId || !vpc.CidrBlock) {
    throw new Error(
      vpcId ? `VPC ${vpcId} was not found` : 'this region has no default VPC; set the vpc-id input'
    )
  }
  return vpc
}

async function describeSubnets(aws: Aws, input: { vpcId?: string; subnetIds?: string[] }): Promise<Subnet[]> {
  const request = input.subnetIds?.length ? { SubnetIds: input.subnetIds } : { Filters: [{ Name: 'vpc-id', Values: [input.vpcId ?? ''] }] }
  const subnets: Subnet[] = []
  try {
    for await (const page of paginateDescribeSubnets({ client: aws.through('ec2') }, request)) subnets.push(...(page.Subnets ?? []))
  } catch (err) {
    throw wrap(input.subnetIds?.length ? `describing subnets ${input.subnetIds.join(', ')}` : `listing the subnets of ${input.vpcId}`, err)
  }
  return subnets
}

function network(vpc: Vpc, subnetIds: string[]): Network {
  const vpcCidr = vpc.CidrBlock ?? ''
  return { vpcId: vpc.VpcId ?? '', vpcCidr, subnetIds: [...subnetIds].sort(), resolver: vpcResolver(vpcCidr) }
}

function subnetIdsOf(subnets: Subnet[], vpcId: string): string[] {
  const ids = subnets.filter((s) => s.VpcId === vpcId && s.SubnetId).map((s) => s.SubnetId as string)
  if (ids.length === 0) throw new Error(`VPC ${vpcId} has no subnets; set the subnet-ids input`)
  return ids
}

/** Subnets given without a VPC: their VPC, after checking they share one. */
async function fromSubnets(aws: Aws, subnetIds: string[]): Promise<Network> {
  const subnets = await describeSubnets(aws, { subnetIds })
  const vpcIds = [...new Set(subnets.map((s) => s.VpcId))]
  if (vpcIds.length !== 1 || !vpcIds[0]) {
    throw new Error(`subnet-ids ${subnetIds.join(', ')} must all be in one VPC (found ${vpcIds.join(', ') || 'none'})`)
  }
  return network(await describeVpc(aws, vpcIds[0]), subnetIds)
}

/**
 * Reads: vpc-id and subnet-ids given -> 1 (the VPC, for its CIDR; the subnets
 * are checked by AWS when the ASGs use them); otherwise 2.
 */
export async function resolveNetwork(door: Aws | Clients, inputs: ActionInputs): Promise<Network> {
  const aws = door instanceof Aws ? door : new Aws(door)
  const given = inputs.subnetIds
  if (inputs.vpcId && given.length > 0) return network(await describeVpc(aws, inputs.vpcId), given)
  if (given.length > 0) return fromSubnets(aws, given)
  if (inputs.vpcId) {
    const [vpc, subnets] = await Promise.all([
      describeVpc(aws, inputs.vpcId),
      describeSubnets(aws, { vpcId: inputs.vpcId })
    ])
    return network(vpc, subnetIdsOf(subnets, inputs.vpcId))
  }
  const vpc = await describeVpc(aws, undefined)
  const vpcId = vpc.VpcId ?? ''
  return network(vpc, subnetIdsOf(await describeSubnets(aws, { vpcId }), vpcId))
}
