/** Application Load Balancers: create (subnets in two or more AZs), describe, attributes, delete. */
import type {
  CreateLoadBalancerInput,
  DeleteLoadBalancerInput,
  DescribeLoadBalancerAttributesInput,
  DescribeLoadBalancersInput,
  LoadBalancer,
  ModifyLoadBalancerAttributesInput,
  Tag
} from '@aws-sdk/client-elastic-load-balancing-v2'
import type { Cloud } from '../../types.js'
import { newId } from '../../core/ids.js'
import { ec2World } from '../ec2/model.js'
import { elbError } from './errors.js'
import {
  arnPrefix,
  canonicalHostedZoneId,
  elbDelayMs,
  elbState,
  resourceId,
  type LoadBalancerRecord,
  type Tags
} from './model.js'
import { page } from './paging.js'

/** A load balancer takes about two minutes of AWS time to provision. */
const PROVISIONING_SECONDS = 120

const DEFAULT_ATTRIBUTES: Readonly<Record<string, string>> = {
  'deletion_protection.enabled': 'false',
  'idle_timeout.timeout_seconds': '60',
  'routing.http2.enabled': 'true',
  'routing.http.drop_invalid_header_fields.enabled': 'false',
  'access_logs.s3.enabled': 'false',
  'access_logs.s3.bucket': '',
  'access_logs.s3.prefix': ''
}

/** Tags of a create or AddTags: at most 50, no key twice. */
export function newTags(tags: Tag[] | undefined, into: Tags = new Map()): Tags {
  const keys = (tags ?? []).map((t) => t.Key ?? '')
  const twice = keys.find((k, i) => keys.indexOf(k) !== i)
  if (twice !== undefined) throw elbError('DuplicateTagKeys', `Tag key '${twice}' is duplicated`)
  const next = new Map(into)
  for (const t of tags ?? []) next.set(t.Key ?? '', t.Value ?? '')
  if (next.size > 50)
    throw elbError(
      'TooManyTags',
      'The quota for the number of tags that can be assigned to a resource has been reached'
    )
  return next
}

function checkName(name: string | undefined): string {
  if (!name) throw elbError('ValidationError', 'A load balancer name must be specified')
  if (name.length > 32)
    throw elbError('ValidationError', `Load balancer name '${name}' cannot be longer than '32' characters`)
  if (!/^[a-zA-Z0-9-]+$/.test(name))
    throw elbError(
      'ValidationError',
      `Load balancer name '${name}' can only contain characters that are alphanumeric characters and hyphens(-)`
    )
  if (name.startsWith('-') || name.endsWith('-'))
    throw elbError('ValidationError', `Load balancer name '${name}' cannot begin or end with a hyphen`)
  if (name.startsWith('internal-'))
    throw elbError('ValidationError', `Load balancer name '${name}' cannot begin with 'internal-'`)
  return name
}

function subnetsOf(cloud: Cloud, region: string, input: CreateLoadBalancerInput): LoadBalancerRecord['subnets'] {
  const ids = [...(input.Subnets ?? []), ...(input.SubnetMappings ?? []).map((m) => m.SubnetId ?? '')]
  const world = ec2World(cloud)
  world.network.ensureRegion(region)
  const subnets = ids.map((id) => {
    const subnet = world.network.subnets.get(id)
    if (!subnet || subnet.region !== region) throw elbError('SubnetNotFound', `The subnet ID '${id}' is not valid`)
    return subnet
  })
  const vpcs = new Set(subnets.map((s) => s.vpcId))
  if (vpcs.size > 1) throw elbError('InvalidSubnet', 'The subnets must all be in the same VPC')
  const zones = subnets.map((s) => s.availabilityZone)
  const twice = zones.find((z, i) => zones.indexOf(z) !== i)
  if (twice !== undefined)
    throw elbError(
      'InvalidConfigurationRequest',
      `A load balancer cannot be attached to multiple subnets in the same Availability Zone`
    )
  if (zones.length < 2)
    throw elbError('ValidationError', 'At least two subnets in two different Availability Zones must be specified')
  return subnets.map((s) => ({ subnetId: s.subnetId, zone: s.availabilityZone }))
}

function securityGroupsOf(cloud: Cloud, region: string, vpcId: string, ids: string[] | undefined): string[] {
  const world = ec2World(cloud)
  if (!ids || ids.length === 0) {
    const vpc = world.network.vpcs.get(vpcId)
    return vpc?.defaultGroupId ? [vpc.defaultGroupId] : []
  }
  for (const id of ids) {
    const group = world.groups.get(id)
    if (!group || group.region !== region || group.vpcId !== vpcId)
      throw elbError('InvalidSecurityGroup', `Security group '${id}' does not exist in VPC '${vpcId}'`)
  }
  return [...new Set(ids)]
}

function sameSettings(lb: LoadBalancerRecord, scheme: string, subnets: LoadBalancerRecord['subnets']): boolean {
  const ids = subnets.map((s) => s.subnetId).sort()
  const mine = lb.subnets.map((s) => s.subnetId).sort()
  return lb.scheme === scheme && ids.length === mine.length && ids.every((id, i) => id === mine[i])
}

/** The number in a load balancer's DNS name (ten digits, as AWS's are). */
function dnsNumber(cloud: Cloud): string {
  return String(1_000_000_000 + (parseInt(newId(cloud, '', 8), 16) % 1_000_000_000))
}

export function toLoadBalancer(lb: LoadBalancerRecord): LoadBalancer {
  const active = Date.now() >= lb.activeAt
  return {
    LoadBalancerArn: lb.arn,
    DNSName: lb.dnsName,
    CanonicalHostedZoneId: lb.canonicalHostedZoneId,
    CreatedTime: new Date(lb.createdAt),
    LoadBalancerName: lb.name,
    Scheme: lb.scheme,
    VpcId: lb.vpcId,
    State: { Code: active ? 'active' : 'provisioning' },
    Type: 'application',
    AvailabilityZones: lb.subnets.map((s) => ({ ZoneName: s.zone, SubnetId: s.subnetId, LoadBalancerAddresses: [] })),
    SecurityGroups: lb.securityGroups,
    IpAddressType: lb.ipAddressType as LoadBalancer['IpAddressType']
  }
}

export function createLoadBalancer(cloud: Cloud, region: string, input: CreateLoadBalancerInput): unknown {
  const name = checkName(input.Name)
  if (input.Type && input.Type !== 'application')
    throw elbError('ValidationError', `The emulator serves Application Load Balancers only, not '${input.Type}'`)
  const scheme = input.Scheme ?? 'internet-facing'
  if (scheme !== 'internet-facing' && scheme !== 'internal')
    throw elbError('ValidationError', `Scheme '${scheme}' is not valid`)
  const subnets = subnetsOf(cloud, region, input)
  const state = elbState(cloud)
  const existing = [...state.loadBalancers.values()].find((lb) => lb.region === region && lb.name === name)
  if (existing) {
    if (sameSettings(existing, scheme, subnets)) return { LoadBalancers: [toLoadBalancer(existing)] }
    throw elbError(
      'DuplicateLoadBalancerName',
      `A load balancer with the same name '${name}' exists, but with different settings`
    )
  }
  const vpcId = ec2World(cloud).network.subnets.get(subnets[0]?.subnetId ?? '')?.vpcId ?? ''
  const gateway = [...ec2World(cloud).network.gateways.values()].some((g) => g.vpcId === vpcId)
  if (scheme === 'internet-facing' && !gateway) throw elbError('InvalidSubnet', `VPC ${vpcId} has no internet gateway`)
  const securityGroups = securityGroupsOf(cloud, region, vpcId, input.SecurityGroups)
  const tags = newTags(input.Tags)
  const id = resourceId(cloud)
  const now = Date.now()
  const lb: LoadBalancerRecord = {
    arn: `${arnPrefix(cloud, region)}loadbalancer/app/${name}/${id}`,
    name,
    region,
    scheme,
    vpcId,
    subnets,
    securityGroups,
    ipAddressType: input.IpAddressType ?? 'ipv4',
    dnsName:
      `${scheme === 'internal' ? 'internal-' : ''}${name}-${dnsNumber(cloud)}.${region}.elb.amazonaws.com`.toLowerCase(),
    canonicalHostedZoneId: canonicalHostedZoneId(region),
    createdAt: now,
    activeAt: now + elbDelayMs(cloud, PROVISIONING_SECONDS),
    attributes: { ...DEFAULT_ATTRIBUTES },
    tags
  }
  state.loadBalancers.set(lb.arn, lb)
  return { LoadBalancers: [toLoadBalancer(lb)] }
}

export function findLoadBalancer(cloud: Cloud, region: string, arn: string | undefined): LoadBalancerRecord {
  const lb = elbState(cloud).loadBalancers.get(arn ?? '')
  if (!lb || lb.region !== region) throw elbError('LoadBalancerNotFound', `Load balancer '${arn ?? ''}' not found`)
  return lb
}

export function describeLoadBalancers(cloud: Cloud, region: string, input: DescribeLoadBalancersInput): unknown {
  const all = [...elbState(cloud).loadBalancers.values()].filter((lb) => lb.region === region)
  const arns = input.LoadBalancerArns ?? []
  const names = input.Names ?? []
  if (arns.length > 0 && names.length > 0)
    throw elbError('ValidationError', 'Load balancer names and load balancer ARNs cannot be specified at the same time')
  let chosen = all
  if (arns.length > 0) {
    chosen = all.filter((lb) => arns.includes(lb.arn))
    if (chosen.length < new Set(arns).size)
      throw elbError('LoadBalancerNotFound', 'One or more load balancers not found')
  } else if (names.length > 0) {
    chosen = all.filter((lb) => names.includes(lb.name))
    if (chosen.length < new Set(names).size)
      throw elbError('LoadBalancerNotFound', 'One or more load balancers not found')
  }
  const { items, next } = page(chosen, input.Marker, input.PageSize)
  return { LoadBalancers: items.map(toLoadBalancer), NextMarker: next }
}

/** Deletes the load balancer with its listeners and their rules; an unknown ARN succeeds (the API reference). */
export function deleteLoadBalancer(cloud: Cloud, region: string, input: DeleteLoadBalancerInput): unknown {
  const state = elbState(cloud)
  const lb = state.loadBalancers.get(input.LoadBalancerArn ?? '')
  if (!lb || lb.region !== region) return {}
  if (lb.attributes['deletion_protection.enabled'] === 'true')
    throw elbError(
      'OperationNotPermitted',
      `Load balancer '${lb.arn}' cannot be deleted because deletion protection is enabled`
    )
  for (const listener of [...state.listeners.values()].filter((l) => l.loadBalancerArn === lb.arn)) {
    for (const rule of [...state.rules.values()].filter((r) => r.listenerArn === listener.arn))
      state.rules.delete(rule.arn)
    state.listeners.delete(listener.arn)
  }
  state.loadBalancers.delete(lb.arn)
  return {}
}

export function describeLoadBalancerAttributes(
  cloud: Cloud,
  region: string,
  input: DescribeLoadBalancerAttributesInput
): unknown {
  const lb = findLoadBalancer(cloud, region, input.LoadBalancerArn)
  return { Attributes: Object.entries(lb.attributes).map(([Key, Value]) => ({ Key, Value })) }
}

const BOOLEAN = /^(true|false)$/

export function modifyLoadBalancerAttributes(
  cloud: Cloud,
  region: string,
  input: ModifyLoadBalancerAttributesInput
): unknown {
  const lb = findLoadBalancer(cloud, region, input.LoadBalancerArn)
  const next = { ...lb.attributes }
  for (const { Key: key = '', Value: value = '' } of input.Attributes ?? []) {
    if (!(key in DEFAULT_ATTRIBUTES))
      throw elbError('InvalidConfigurationRequest', `Load balancer attribute key '${key}' is not recognized`)
    const ok =
      key === 'idle_timeout.timeout_seconds'
        ? /^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 4000
        : key.endsWith('.enabled')
          ? BOOLEAN.test(value)
          : true
    if (!ok)
      throw elbError(
        'InvalidConfigurationRequest',
        `Load balancer attribute value '${value}' is not valid for '${key}'`
      )
    next[key] = value
  }
  lb.attributes = next
  return { Attributes: Object.entries(lb.attributes).map(([Key, Value]) => ({ Key, Value })) }
}
