/**
 * Route tables and internet gateways: enough of them to tell whether a subnet
 * reaches the internet (a default route to an attached internet gateway, or to a
 * NAT gateway). A subnet without an explicit association uses its VPC's main table.
 */
import type {
  AssociateRouteTableRequest,
  AssociateRouteTableResult,
  AttachInternetGatewayRequest,
  CreateInternetGatewayRequest,
  CreateInternetGatewayResult,
  CreateRouteRequest,
  CreateRouteResult,
  CreateRouteTableRequest,
  CreateRouteTableResult,
  DescribeRouteTablesRequest,
  DescribeRouteTablesResult,
  ModifySubnetAttributeRequest,
  RouteTable
} from '@aws-sdk/client-ec2'
import { newId } from '../../core/ids.js'
import { ec2Error } from './errors.js'
import { fromTagList, matchesFilters, paginate, tagFilterValues, toTagList } from './filters.js'
import type { Ec2World } from './model.js'
import type { RouteTableRecord } from './network.js'

type TagSpecs = Array<{ ResourceType?: string; Tags?: Array<{ Key?: string; Value?: string }> }> | undefined
const tagsOf = (specs: TagSpecs, type: string): Record<string, string> =>
  fromTagList(specs?.find((s) => s.ResourceType === type)?.Tags)

function toRouteTable(world: Ec2World, t: RouteTableRecord): RouteTable {
  const gateway = (target: string): Record<string, string> =>
    target === 'local' || target.startsWith('igw-')
      ? { GatewayId: target }
      : target.startsWith('nat-')
        ? { NatGatewayId: target }
        : target.startsWith('tgw-')
          ? { TransitGatewayId: target }
          : target.startsWith('pcx-')
            ? { VpcPeeringConnectionId: target }
            : { NetworkInterfaceId: target }
  return {
    RouteTableId: t.routeTableId,
    VpcId: t.vpcId,
    OwnerId: world.cloud.accountId,
    Routes: t.routes.map((r) => ({
      DestinationCidrBlock: r.destination,
      State: 'active',
      Origin: r.target === 'local' ? 'CreateRouteTable' : 'CreateRoute',
      ...gateway(r.target)
    })),
    Associations: [
      ...(t.main
        ? [
            {
              Main: true,
              RouteTableAssociationId: `rtbassoc-${t.routeTableId.slice(4)}`,
              RouteTableId: t.routeTableId,
              AssociationState: { State: 'associated' as const }
            }
          ]
        : []),
      ...[...t.subnetIds].map((subnetId) => ({
        Main: false,
        RouteTableAssociationId: `rtbassoc-${subnetId.slice(7)}`,
        RouteTableId: t.routeTableId,
        SubnetId: subnetId,
        AssociationState: { State: 'associated' as const }
      }))
    ],
    Tags: toTagList(t.tags)
  }
}

function filterValues(t: RouteTableRecord, name: string): string[] | undefined {
  const simple: Record<string, string[]> = {
    'vpc-id': [t.vpcId],
    'route-table-id': [t.routeTableId],
    'association.main': [String(t.main)],
    'association.subnet-id': [...t.subnetIds],
    'route.destination-cidr-block': t.routes.map((r) => r.destination),
    'route.gateway-id': t.routes.map((r) => r.target).filter((g) => g === 'local' || g.startsWith('igw-')),
    'route.nat-gateway-id': t.routes.map((r) => r.target).filter((g) => g.startsWith('nat-'))
  }
  const tag = tagFilterValues(t.tags, name)
  return simple[name] ?? tag
}

export function describeRouteTables(
  world: Ec2World,
  region: string,
  input: DescribeRouteTablesRequest
): DescribeRouteTablesResult {
  world.network.vpcsIn(region)
  const all = [...world.network.routeTables.values()].filter((t) => t.region === region)
  const selected = input.RouteTableIds?.length
    ? input.RouteTableIds.map((id) => world.network.routeTable(region, id))
    : all
  const matching = selected.filter((t) => matchesFilters(input.Filters, (n) => filterValues(t, n)))
  const { page, nextToken } = paginate(matching, input.MaxResults, input.NextToken)
  return { RouteTables: page.map((t) => toRouteTable(world, t)), NextToken: nextToken }
}

export function createRouteTable(
  world: Ec2World,
  region: string,
  input: CreateRouteTableRequest
): CreateRouteTableResult {
  if (!input.VpcId) throw ec2Error('MissingParameter', 'The request must contain the parameter vpcId')
  return {
    RouteTable: toRouteTable(
      world,
      world.network.createRouteTable(region, input.VpcId, tagsOf(input.TagSpecifications, 'route-table'))
    )
  }
}

export function createRoute(world: Ec2World, region: string, input: CreateRouteRequest): CreateRouteResult {
  const table = world.network.routeTable(region, input.RouteTableId ?? '')
  const destination = input.DestinationCidrBlock
  if (!destination) throw ec2Error('MissingParameter', 'The request must contain the parameter destinationCidrBlock')
  const target =
    input.GatewayId ??
    input.NatGatewayId ??
    input.TransitGatewayId ??
    input.VpcPeeringConnectionId ??
    input.NetworkInterfaceId
  if (!target) throw ec2Error('MissingParameter', 'The request must contain a route target')
  if (target.startsWith('igw-')) {
    const gateway = world.network.gateway(region, target)
    if (gateway.vpcId !== table.vpcId)
      throw ec2Error(
        'InvalidParameterValue',
        `route table ${table.routeTableId} and network gateway ${target} belong to different networks`
      )
  }
  if (table.routes.some((r) => r.destination === destination))
    throw ec2Error('RouteAlreadyExists', `The route identified by ${destination} already exists.`)
  table.routes.push({ destination, target })
  return { Return: true }
}

export function associateRouteTable(
  world: Ec2World,
  region: string,
  input: AssociateRouteTableRequest
): AssociateRouteTableResult {
  const table = world.network.routeTable(region, input.RouteTableId ?? '')
  const subnet = world.network.subnet(region, input.SubnetId ?? '')
  if (subnet.vpcId !== table.vpcId)
    throw ec2Error(
      'InvalidParameterValue',
      `Route table ${table.routeTableId} and subnet ${subnet.subnetId} belong to different networks`
    )
  const explicit = [...world.network.routeTables.values()].find((t) => t.subnetIds.has(subnet.subnetId))
  if (explicit)
    throw ec2Error(
      'Resource.AlreadyAssociated',
      `the specified association for route table ${explicit.routeTableId} conflicts with an existing association`
    )
  table.subnetIds.add(subnet.subnetId)
  return { AssociationId: `rtbassoc-${subnet.subnetId.slice(7)}`, AssociationState: { State: 'associated' } }
}

export function createInternetGateway(
  world: Ec2World,
  region: string,
  input: CreateInternetGatewayRequest
): CreateInternetGatewayResult {
  const gateway = {
    internetGatewayId: newId(world.cloud, 'igw-'),
    region,
    tags: tagsOf(input.TagSpecifications, 'internet-gateway')
  }
  world.network.gateways.set(gateway.internetGatewayId, gateway)
  return {
    InternetGateway: {
      InternetGatewayId: gateway.internetGatewayId,
      OwnerId: world.cloud.accountId,
      Attachments: [],
      Tags: toTagList(gateway.tags)
    }
  }
}

export function attachInternetGateway(world: Ec2World, region: string, input: AttachInternetGatewayRequest): void {
  const gateway = world.network.gateway(region, input.InternetGatewayId ?? '')
  const vpc = world.network.vpc(region, input.VpcId ?? '')
  if (gateway.vpcId)
    throw ec2Error(
      'Resource.AlreadyAssociated',
      `resource ${gateway.internetGatewayId} is already attached to network ${gateway.vpcId}`
    )
  gateway.vpcId = vpc.vpcId
}

export function modifySubnetAttribute(world: Ec2World, region: string, input: ModifySubnetAttributeRequest): void {
  const subnet = world.network.subnet(region, input.SubnetId ?? '')
  if (input.MapPublicIpOnLaunch?.Value !== undefined) subnet.mapPublicIpOnLaunch = input.MapPublicIpOnLaunch.Value
}
