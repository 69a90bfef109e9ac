/**
 * A group's Elastic Load Balancing v2 target groups (TargetGroupARNs): AttachLoadBalancerTargetGroups,
 * DetachLoadBalancerTargetGroups, DescribeLoadBalancerTargetGroups and the elbv2 traffic sources
 * (AttachTrafficSources, DetachTrafficSources, DescribeTrafficSources). Members are registered when
 * they enter InService and deregistered when they leave it (fleet.ts).
 */
import type {
  AttachTrafficSourcesType,
  DescribeLoadBalancerTargetGroupsRequest,
  DescribeTrafficSourcesRequest,
  DetachTrafficSourcesType,
  LoadBalancerTargetGroupState,
  TrafficSourceIdentifier,
  TrafficSourceState
} from '@aws-sdk/client-auto-scaling'
import { elbState } from '../elbv2/model.js'
import { registeredTargetStates } from '../elbv2/target-groups.js'
import { paginate } from '../ec2/filters.js'
import { autoscalingError } from './errors.js'
import type { Fleet } from './fleet.js'
import type { GroupRecord, Member } from './model.js'

/** AWS: at most 10 target groups per Attach/Detach call. */
const PER_CALL = 10

/** The target group ARNs, each of an existing target group of the region (AWS answers ValidationError otherwise). */
export function validTargetGroups(fleet: Fleet, region: string, arns: string[] | undefined): string[] {
  const list = [...new Set(arns ?? [])]
  const groups = elbState(fleet.cloud).targetGroups
  const missing = list.filter((arn) => groups.get(arn)?.region !== region)
  if (missing.length > 0)
    throw autoscalingError(
      'ValidationError',
      `Provided Target Groups may not be valid. Please ensure they exist and try again. (${missing.join(', ')})`
    )
  return list
}

function inService(group: GroupRecord): Member[] {
  return [...group.members.values()].filter((m) => m.lifecycle === 'InService')
}

/** Attaches target groups: the members in service are registered in each new one at once. */
export function attachTargetGroups(fleet: Fleet, group: GroupRecord, arns: string[] | undefined): void {
  if ((arns ?? []).length > PER_CALL)
    throw autoscalingError('ValidationError', `At most ${PER_CALL} target groups may be attached in one call.`)
  if (group.deleting) throw autoscalingError('ScalingActivityInProgress', 'The group is being deleted.')
  const added = validTargetGroups(fleet, group.region, arns).filter((arn) => !group.targetGroups.includes(arn))
  for (const arn of added) {
    group.targetGroups.push(arn)
    group.removingTargetGroups.delete(arn)
  }
  for (const m of inService(group)) fleet.registerMember(group, m, added)
}

/** Detaches target groups: their members are deregistered and drain; an ARN not attached is ignored. */
export function detachTargetGroups(fleet: Fleet, group: GroupRecord, arns: string[] | undefined): void {
  if ((arns ?? []).length > PER_CALL)
    throw autoscalingError('ValidationError', `At most ${PER_CALL} target groups may be detached in one call.`)
  const removed = [...new Set(arns ?? [])].filter((arn) => group.targetGroups.includes(arn))
  group.targetGroups = group.targetGroups.filter((arn) => !removed.includes(arn))
  const ids = [...group.members.values()].map((m) => m.instanceId)
  for (const m of inService(group)) fleet.deregisterMember(group, m, removed)
  for (const arn of removed) group.removingTargetGroups.set(arn, ids)
}

/**
 * The state of each target group, as AWS describes it: Added once the members in service are
 * registered (registration is immediate here, so Adding is not seen), InService once at least one of
 * them passes the target group's health checks, Removing while detached members still drain (the
 * entry is gone once they have; Removed is not seen).
 */
export function targetGroupStates(fleet: Fleet, group: GroupRecord): { arn: string; state: string }[] {
  const members = new Set(inService(group).map((m) => m.instanceId))
  const attached = group.targetGroups.map((arn) => {
    const healthy = registeredTargetStates(fleet.cloud, arn).some((t) => members.has(t.id) && t.state === 'healthy')
    return { arn, state: healthy ? 'InService' : 'Added' }
  })
  const removing: { arn: string; state: string }[] = []
  for (const [arn, ids] of group.removingTargetGroups) {
    const draining = registeredTargetStates(fleet.cloud, arn).some((t) => ids.includes(t.id) && t.state === 'draining')
    if (draining) removing.push({ arn, state: 'Removing' })
    else group.removingTargetGroups.delete(arn)
  }
  return [...attached, ...removing]
}

export function describeTargetGroups(
  fleet: Fleet,
  group: GroupRecord,
  input: DescribeLoadBalancerTargetGroupsRequest
): { LoadBalancerTargetGroups: LoadBalancerTargetGroupState[]; NextToken?: string } {
  if (input.MaxRecords !== undefined && (input.MaxRecords < 1 || input.MaxRecords > 100))
    throw autoscalingError('ValidationError', 'MaxRecords must be between 1 and 100')
  const all = targetGroupStates(fleet, group).map((t) => ({ LoadBalancerTargetGroupARN: t.arn, State: t.state }))
  const { page, nextToken } = paginate(all, input.MaxRecords ?? 100, input.NextToken)
  return { LoadBalancerTargetGroups: page, NextToken: nextToken }
}

/** The ELBv2 target groups among traffic sources; other types (vpc-lattice, elb) are refused. */
function elbv2Sources(sources: TrafficSourceIdentifier[] | undefined): string[] {
  if (!sources || sources.length === 0) throw autoscalingError('ValidationError', 'TrafficSources must be specified')
  return sources.map((s) => {
    const type = s.Type ?? 'elbv2'
    if (type !== 'elbv2')
      throw autoscalingError(
        'ValidationError',
        `Traffic source type '${type}' is not supported by the emulator; use elbv2 (an ELBv2 target group).`
      )
    return s.Identifier ?? ''
  })
}

export function attachTrafficSources(fleet: Fleet, group: GroupRecord, input: AttachTrafficSourcesType): void {
  attachTargetGroups(fleet, group, elbv2Sources(input.TrafficSources))
}

export function detachTrafficSources(fleet: Fleet, group: GroupRecord, input: DetachTrafficSourcesType): void {
  detachTargetGroups(fleet, group, elbv2Sources(input.TrafficSources))
}

export function describeTrafficSources(
  fleet: Fleet,
  group: GroupRecord,
  input: DescribeTrafficSourcesRequest
): { TrafficSources: TrafficSourceState[]; NextToken?: string } {
  if (input.TrafficSourceType !== undefined && input.TrafficSourceType !== 'elbv2') return { TrafficSources: [] }
  if (input.MaxRecords !== undefined && (input.MaxRecords < 1 || input.MaxRecords > 50))
    throw autoscalingError('ValidationError', 'MaxRecords must be between 1 and 50')
  const all = targetGroupStates(fleet, group).map((t) => ({
    TrafficSource: t.arn,
    State: t.state,
    Identifier: t.arn,
    Type: 'elbv2'
  }))
  const { page, nextToken } = paginate(all, input.MaxRecords ?? 50, input.NextToken)
  return { TrafficSources: page, NextToken: nextToken }
}
