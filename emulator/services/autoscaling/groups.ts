/** Auto Scaling group API operations. */
import { randomUUID } from 'node:crypto'
import type {
  AutoScalingGroup,
  CreateAutoScalingGroupType,
  CreateOrUpdateTagsType,
  DeleteAutoScalingGroupType,
  DeleteTagsType,
  DescribeScalingActivitiesType,
  Filter,
  InstancesDistribution,
  LaunchTemplateSpecification,
  UpdateAutoScalingGroupType
} from '@aws-sdk/client-auto-scaling'
import { AwsError } from '../../types.js'
import { findTemplate, resolveVersion } from '../ec2/launch-templates.js'
import { invalidInstanceProfileMessage, launchableInstanceProfile } from '../../iam-policy/store.js'
import { paginate } from '../ec2/filters.js'
import { liveMembers } from './capacity.js'
import type { Fleet } from './fleet.js'
import type { Distribution, GroupRecord, GroupTag, TemplateSpec } from './model.js'
import { toGroup } from './output.js'
import { autoscalingError } from './errors.js'
import { putHook } from './hooks.js'
import { validTargetGroups } from './target-groups.js'

function validation(message: string): AwsError {
  return autoscalingError('ValidationError', message)
}

export function findGroupRecord(fleet: Fleet, region: string, name: string | undefined): GroupRecord {
  const group = name ? fleet.groups.get(fleet.key(region, name)) : undefined
  if (!group) throw validation(`AutoScalingGroup name not found - AutoScalingGroup ${name ?? ''} not found`)
  return group
}

/**
 * The group's launch template, validated as Auto Scaling does: the template and, when the version
 * names an instance profile, a profile EC2 can see now (IAM is eventually consistent).
 */
function resolveTemplate(fleet: Fleet, region: string, spec: LaunchTemplateSpecification): TemplateSpec {
  try {
    const t = findTemplate(fleet.ec2, region, spec)
    const version = spec.Version ?? '$Default'
    const profile = t.versions.find((v) => v === safeVersion(t, version))?.data.IamInstanceProfile
    if (
      profile &&
      (profile.Arn !== undefined || profile.Name !== undefined) &&
      !launchableInstanceProfile(fleet.cloud, profile)
    )
      throw autoscalingError('ValidationError', invalidInstanceProfileMessage(profile))
    return { id: t.launchTemplateId, name: t.launchTemplateName, version }
  } catch (err) {
    const message = err instanceof AwsError ? err.message : String(err)
    throw validation(`You must use a valid fully-formed launch template. ${message}`)
  }
}

function safeVersion(
  t: Parameters<typeof resolveVersion>[0],
  version: string
): ReturnType<typeof resolveVersion> | undefined {
  try {
    return resolveVersion(t, version)
  } catch {
    return undefined
  }
}

function distribution(d: InstancesDistribution | undefined, previous?: Distribution): Distribution {
  return {
    onDemandBase: d?.OnDemandBaseCapacity ?? previous?.onDemandBase ?? 0,
    onDemandPercentage: d?.OnDemandPercentageAboveBaseCapacity ?? previous?.onDemandPercentage ?? 100,
    spotAllocationStrategy: d?.SpotAllocationStrategy ?? previous?.spotAllocationStrategy ?? 'lowest-price',
    onDemandAllocationStrategy: d?.OnDemandAllocationStrategy ?? previous?.onDemandAllocationStrategy ?? 'prioritized',
    ...((d?.SpotMaxPrice ?? previous?.spotMaxPrice) !== undefined
      ? { spotMaxPrice: d?.SpotMaxPrice ?? previous?.spotMaxPrice }
      : {})
  }
}

type LaunchInput = Pick<
  CreateAutoScalingGroupType,
  'LaunchTemplate' | 'MixedInstancesPolicy' | 'LaunchConfigurationName' | 'InstanceId'
>

export function launchSource(
  fleet: Fleet,
  region: string,
  input: LaunchInput,
  previous?: GroupRecord
): Pick<GroupRecord, 'template' | 'mixed'> {
  const given = [
    input.LaunchTemplate,
    input.MixedInstancesPolicy,
    input.LaunchConfigurationName,
    input.InstanceId
  ].filter((x) => x !== undefined)
  if (given.length > 1)
    throw validation(
      'Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.'
    )
  if (input.LaunchConfigurationName || input.InstanceId)
    throw validation('Launch configurations and instance ids are not supported by the emulator; use a launch template.')
  if (input.LaunchTemplate) return { template: resolveTemplate(fleet, region, input.LaunchTemplate) }
  const mixed = input.MixedInstancesPolicy
  if (mixed) {
    const spec =
      mixed.LaunchTemplate?.LaunchTemplateSpecification ??
      (previous ? { LaunchTemplateId: previous.template.id, Version: previous.template.version } : undefined)
    if (!spec) throw validation('The launch template specification of a mixed instances policy is required.')
    const overrides = (mixed.LaunchTemplate?.Overrides ?? [])
      .map((o) => o.InstanceType)
      .filter((t): t is string => t !== undefined)
    return {
      template: resolveTemplate(fleet, region, spec),
      mixed: { overrides, distribution: distribution(mixed.InstancesDistribution, previous?.mixed?.distribution) }
    }
  }
  if (previous) return { template: previous.template, ...(previous.mixed ? { mixed: previous.mixed } : {}) }
  throw validation(
    'Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.'
  )
}

function subnets(fleet: Fleet, region: string, vpcZoneIdentifier: string | undefined): string[] {
  if (!vpcZoneIdentifier)
    return fleet.ec2.network
      .subnetsIn(region)
      .filter((s) => s.defaultForAz)
      .map((s) => s.subnetId)
  const ids = vpcZoneIdentifier
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  for (const id of ids) {
    if (!fleet.ec2.network.subnetsIn(region).some((s) => s.subnetId === id))
      throw validation(`The subnet ID '${id}' does not exist`)
  }
  return ids
}

function checkSizes(min: number, max: number, desired: number): void {
  if (min > max) throw validation(`Max bound, ${max}, must be greater than or equal to min bound, ${min}`)
  if (desired < min || desired > max) {
    throw validation(`Desired capacity:${desired} must be between the specified min size:${min} and max size:${max}`)
  }
}

function groupTags(tags: CreateAutoScalingGroupType['Tags']): GroupTag[] {
  const out = new Map<string, GroupTag>()
  for (const t of tags ?? []) {
    if (!t.Key) throw validation('Tag key must not be empty')
    out.set(t.Key, { key: t.Key, value: t.Value ?? '', propagateAtLaunch: t.PropagateAtLaunch ?? false })
  }
  return [...out.values()]
}

export function createGroup(fleet: Fleet, region: string, input: CreateAutoScalingGroupType): void {
  const name = input.AutoScalingGroupName
  if (!name) throw validation('AutoScalingGroupName is required')
  if (input.MinSize === undefined || input.MaxSize === undefined) throw validation('MinSize and MaxSize are required')
  if (fleet.groups.has(fleet.key(region, name)))
    throw autoscalingError(
      'AlreadyExists',
      `AutoScalingGroup by this name already exists - A group with the name ${name} already exists`
    )
  const desired = input.DesiredCapacity ?? input.MinSize
  checkSizes(input.MinSize, input.MaxSize, desired)
  const targetGroups = validTargetGroups(fleet, region, [
    ...(input.TargetGroupARNs ?? []),
    ...(input.TrafficSources ?? []).map((t) => {
      if ((t.Type ?? 'elbv2') !== 'elbv2')
        throw validation(`Traffic source type '${t.Type ?? ''}' is not supported by the emulator; use elbv2.`)
      return t.Identifier ?? ''
    })
  ])
  if ((input.LoadBalancerNames ?? []).length > 0)
    throw validation(
      'Classic Load Balancers (LoadBalancerNames) are not supported by the emulator; use TargetGroupARNs.'
    )
  const group: GroupRecord = {
    name,
    arn: `arn:aws:autoscaling:${region}:${fleet.cloud.accountId}:autoScalingGroup:${randomUUID()}:autoScalingGroupName/${name}`,
    region,
    createdAt: Date.now(),
    ...launchSource(fleet, region, input),
    minSize: input.MinSize,
    maxSize: input.MaxSize,
    desired,
    subnetIds: subnets(fleet, region, input.VPCZoneIdentifier),
    capacityRebalance: input.CapacityRebalance ?? false,
    healthCheckType: input.HealthCheckType ?? 'EC2',
    healthCheckGracePeriod: input.HealthCheckGracePeriod ?? 0,
    defaultCooldown: input.DefaultCooldown ?? 300,
    terminationPolicies: input.TerminationPolicies ?? ['Default'],
    tags: groupTags(input.Tags),
    members: new Map(),
    activities: [],
    refreshes: [],
    deleting: false,
    hooks: new Map(),
    surge: 0,
    targetGroups,
    removingTargetGroups: new Map()
  }
  for (const spec of input.LifecycleHookSpecificationList ?? []) {
    putHook(group, { ...spec, AutoScalingGroupName: name }, true)
  }
  fleet.groups.set(fleet.key(region, name), group)
  fleet.schedule(group)
}

function applySizes(group: GroupRecord, input: UpdateAutoScalingGroupType): void {
  const min = input.MinSize ?? group.minSize
  const max = input.MaxSize ?? group.maxSize
  let desired = input.DesiredCapacity ?? group.desired
  if (input.DesiredCapacity === undefined) desired = Math.min(Math.max(desired, min), max)
  checkSizes(min, max, desired)
  group.minSize = min
  group.maxSize = max
  group.desired = desired
}

export function updateGroup(fleet: Fleet, region: string, input: UpdateAutoScalingGroupType): void {
  const group = findGroupRecord(fleet, region, input.AutoScalingGroupName)
  if (group.deleting) throw autoscalingError('ScalingActivityInProgress', 'The group is being deleted.')
  const source = launchSource(fleet, region, input, group)
  const vpc = input.VPCZoneIdentifier !== undefined ? subnets(fleet, region, input.VPCZoneIdentifier) : group.subnetIds
  applySizes(group, input)
  group.template = source.template
  if (source.mixed) group.mixed = source.mixed
  else delete group.mixed
  group.subnetIds = vpc
  if (input.CapacityRebalance !== undefined) group.capacityRebalance = input.CapacityRebalance
  if (input.HealthCheckType !== undefined) group.healthCheckType = input.HealthCheckType
  if (input.HealthCheckGracePeriod !== undefined) group.healthCheckGracePeriod = input.HealthCheckGracePeriod
  if (input.DefaultCooldown !== undefined) group.defaultCooldown = input.DefaultCooldown
  if (input.TerminationPolicies !== undefined) group.terminationPolicies = input.TerminationPolicies
  fleet.schedule(group)
}

export function deleteGroup(fleet: Fleet, region: string, input: DeleteAutoScalingGroupType): void {
  const group = findGroupRecord(fleet, region, input.AutoScalingGroupName)
  if (group.deleting) return
  if (!input.ForceDelete && liveMembers(group).length > 0) {
    throw autoscalingError(
      'ResourceInUse',
      'You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.'
    )
  }
  if (!input.ForceDelete && group.members.size > 0) {
    throw autoscalingError(
      'ScalingActivityInProgress',
      'You cannot delete an AutoScalingGroup while there are scaling activities in progress for that group.'
    )
  }
  group.deleting = true
  group.desired = 0
  group.surge = 0
  group.minSize = 0
  for (const m of liveMembers(group)) fleet.terminateMember(group, m, 'the group was deleted.')
  fleet.schedule(group)
}

function groupFilterValues(group: GroupRecord, name: string): string[] {
  if (name.startsWith('tag:')) return group.tags.filter((t) => t.key === name.slice(4)).map((t) => t.value)
  if (name === 'tag-key') return group.tags.map((t) => t.key)
  if (name === 'tag-value') return group.tags.map((t) => t.value)
  if (name === 'auto-scaling-group') return [group.name]
  throw validation(`Filter name ${name} is invalid`)
}

function matches(group: GroupRecord, filters: Filter[] | undefined): boolean {
  return (filters ?? []).every((f) => {
    const values = groupFilterValues(group, f.Name ?? '')
    return (f.Values ?? []).some((v) => values.includes(v))
  })
}

export function describeGroups(
  fleet: Fleet,
  region: string,
  input: { AutoScalingGroupNames?: string[]; Filters?: Filter[]; MaxRecords?: number; NextToken?: string }
): { AutoScalingGroups: AutoScalingGroup[]; NextToken?: string } {
  if (input.MaxRecords !== undefined && (input.MaxRecords < 1 || input.MaxRecords > 100))
    throw validation('MaxRecords must be between 1 and 100')
  const names = input.AutoScalingGroupNames ?? []
  const all = [...fleet.groups.values()].filter(
    (g) => g.region === region && (names.length === 0 || names.includes(g.name))
  )
  const matching = all.filter((g) => matches(g, input.Filters)).sort((a, b) => a.name.localeCompare(b.name))
  const { page, nextToken } = paginate(matching, input.MaxRecords ?? 50, input.NextToken)
  const ctx = {
    azOf: (id: string) => fleet.ec2.network.subnets.get(id)?.availabilityZone ?? '',
    accountId: fleet.cloud.accountId
  }
  return { AutoScalingGroups: page.map((g) => toGroup(g, ctx)), NextToken: nextToken }
}

export function createOrUpdateTags(fleet: Fleet, region: string, input: CreateOrUpdateTagsType): void {
  for (const t of input.Tags ?? []) {
    const group = findGroupRecord(fleet, region, t.ResourceId)
    if (!t.Key) throw validation('Tag key must not be empty')
    const existing = group.tags.find((x) => x.key === t.Key)
    const tag: GroupTag = { key: t.Key, value: t.Value ?? '', propagateAtLaunch: t.PropagateAtLaunch ?? false }
    if (existing) Object.assign(existing, tag)
    else group.tags.push(tag)
  }
}

export function deleteTags(fleet: Fleet, region: string, input: DeleteTagsType): void {
  for (const t of input.Tags ?? []) {
    const group = findGroupRecord(fleet, region, t.ResourceId)
    group.tags = group.tags.filter((x) => x.key !== t.Key || (t.Value !== undefined && t.Value !== x.value))
  }
}

export function describeActivities(
  fleet: Fleet,
  region: string,
  input: DescribeScalingActivitiesType
): { Activities: NonNullable<GroupRecord['activities']>; NextToken?: string } {
  const groups = input.AutoScalingGroupName
    ? [findGroupRecord(fleet, region, input.AutoScalingGroupName)]
    : [...fleet.groups.values()].filter((g) => g.region === region)
  const ids = input.ActivityIds ?? []
  const all = groups.flatMap((g) => g.activities).filter((a) => ids.length === 0 || ids.includes(a.ActivityId ?? ''))
  all.sort((a, b) => (b.StartTime?.getTime() ?? 0) - (a.StartTime?.getTime() ?? 0))
  const { page, nextToken } = paginate(all, input.MaxRecords ?? 100, input.NextToken)
  return { Activities: page, NextToken: nextToken }
}
