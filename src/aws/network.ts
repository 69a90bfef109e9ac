/**
 * The VPC and subnets the stack runs in: the inputs' VPC and subnets, or the
 * region's default VPC and its subnets. One or two reads.
 */
import { DescribeVpcsCommand, paginateDescribeRouteTables, paginateDescribeSubnets } from '@aws-sdk/client-ec2'
import type { RouteTable, Subnet, Vpc } from '@aws-sdk/client-ec2'
import type { ActionInputs } from '../inputs.js'
import { vpcResolver } from '../names.js'
import type { Network, Plan } from '../state.js'
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
    throw new Error(vpcId ? `VPC ${vpcId} was not found` : 'this region has no default VPC; set the vpc-id input')
  }
  return vpc
}

async function describeSubnets(aws: Aws, input: { vpcId?: string; subnetIds?: string[] }): Promise<Subnet[]> {
  const request = input.subnetIds?.length
    ? { SubnetIds: input.subnetIds }
    : { Filters: [{ Name: 'vpc-id', Values: [input.vpcId ?? ''] }] }
  const subnets: Subnet[] = []
  try {
    for await (const page of paginateDescribeSubnets({ client: aws.through('ec2') }, request))
      subnets.push(...(page.Subnets ?? []))
  } catch (err) {
    throw wrap(
      input.subnetIds?.length
        ? `describing subnets ${input.subnetIds.join(', ')}`
        : `listing the subnets of ${input.vpcId}`,
      err
    )
  }
  return subnets
}

function zonesOf(subnets: Subnet[]): Record<string, string> {
  return Object.fromEntries(
    subnets.filter((s) => s.SubnetId && s.AvailabilityZone).map((s) => [s.SubnetId, s.AvailabilityZone])
  )
}

function network(vpc: Vpc, subnetIds: string[], subnets?: Subnet[]): Network {
  const vpcCidr = vpc.CidrBlock ?? ''
  return {
    vpcId: vpc.VpcId ?? '',
    vpcCidr,
    subnetIds: [...subnetIds].sort(),
    ...(subnets ? { subnetZones: zonesOf(subnets) } : {}),
    resolver: vpcResolver(vpcCidr)
  }
}

/** The network with its subnets' zones (one read when the inputs named the VPC and subnets). */
export async function withSubnetZones(aws: Aws, net: Network): Promise<Network> {
  if (net.subnetZones) return net
  return { ...net, subnetZones: zonesOf(await describeSubnets(aws, { subnetIds: net.subnetIds })) }
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
  return network(await describeVpc(aws, vpcIds[0]), subnetIds, subnets)
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
    return network(vpc, subnetIdsOf(subnets, inputs.vpcId), subnets)
  }
  const vpc = await describeVpc(aws, undefined)
  const vpcId = vpc.VpcId ?? ''
  const subnets = await describeSubnets(aws, { vpcId })
  return network(vpc, subnetIdsOf(subnets, vpcId), subnets)
}

/** What a subnet's default route says about its instances reaching the internet (dnf, image registries). */
export interface OutboundReport {
  /** Subnets whose instances cannot reach the internet: the run stops before its first write. */
  errors: string[]
  /** Subnets whose route cannot be judged from here (transit gateway, peering, an appliance). */
  warnings: string[]
}

/**
 * Checks the subnets instances will launch into: each needs a default route to a NAT gateway,
 * or to an internet gateway with public IPv4 addresses assigned on launch. Two reads in one
 * round trip, made only by runs that launch into subnets (see launchesInto).
 */
export async function outboundReport(aws: Aws, network: Network): Promise<OutboundReport> {
  const [subnets, tables] = await Promise.all([
    describeSubnets(aws, { subnetIds: network.subnetIds }),
    (async () => {
      const all: RouteTable[] = []
      for await (const page of paginateDescribeRouteTables(
        { client: aws.through('ec2') },
        { Filters: [{ Name: 'vpc-id', Values: [network.vpcId] }] }
      ))
        all.push(...(page.RouteTables ?? []))
      return all
    })()
  ])
  const report: OutboundReport = { errors: [], warnings: [] }
  const main = tables.find((t) => t.Associations?.some((a) => a.Main))
  for (const subnet of subnets) {
    const id = subnet.SubnetId ?? ''
    const table = tables.find((t) => t.Associations?.some((a) => a.SubnetId === id)) ?? main
    const route = table?.Routes?.find((r) => r.DestinationCidrBlock === '0.0.0.0/0' && r.State !== 'blackhole')
    const where = `subnet ${id} (route table ${table?.RouteTableId ?? 'none'})`
    if (!route) {
      report.errors.push(
        `${where} has no route to the internet (no 0.0.0.0/0 route), so its instances cannot install Docker or pull images; route it through a NAT gateway, or an internet gateway with public IPv4 addresses on launch`
      )
    } else if (route.NatGatewayId) {
      continue
    } else if (route.GatewayId?.startsWith('igw-')) {
      if (!subnet.MapPublicIpOnLaunch) {
        report.errors.push(
          `${where} routes to ${route.GatewayId} but assigns no public IPv4 address on launch, so its instances cannot reach the internet; run aws ec2 modify-subnet-attribute --subnet-id ${id} --map-public-ip-on-launch, or route it through a NAT gateway`
        )
      }
    } else {
      const target =
        route.TransitGatewayId ??
        route.VpcPeeringConnectionId ??
        route.NetworkInterfaceId ??
        route.GatewayId ??
        route.InstanceId ??
        'another target'
      report.warnings.push(
        `${where} sends its internet traffic to ${target}; whether its instances reach the internet cannot be known from here`
      )
    }
  }
  return report
}

/** Whether the plan launches instances into subnets they were not running in (new groups, moved subnets). */
export function launchesInto(plan: Plan): boolean {
  return plan.changes.some(
    (c) =>
      c.kind === 'auto-scaling-group' &&
      'desired' in c &&
      c.desired.size > 0 &&
      (c.action === 'create' || (c.action === 'update' && (c.fields ?? []).includes('subnets')))
  )
}
