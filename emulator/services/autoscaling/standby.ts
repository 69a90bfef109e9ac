/**
 * EnterStandby / ExitStandby (Amazon EC2 Auto Scaling API reference): a member in service goes EnteringStandby ->
 * Standby, leaves its target groups and no longer counts toward desired capacity (ShouldDecrementDesiredCapacity
 * false: the group launches a replacement); ExitStandby puts it back: Pending (launch hooks apply) -> InService,
 * desired capacity one higher per instance.
 */
import type { Activity, EnterStandbyQuery, ExitStandbyQuery } from '@aws-sdk/client-auto-scaling'
import { background } from '../../core/background.js'
import { autoscalingError } from './errors.js'
import type { Fleet } from './fleet.js'
import type { GroupRecord, Member } from './model.js'

/** The API reference: up to 20 instances per call. */
const PER_CALL = 20

function members(group: GroupRecord, ids: string[] | undefined, state: 'InService' | 'Standby'): Member[] {
  const list = ids ?? []
  if (list.length === 0) throw autoscalingError('ValidationError', 'InstanceIds is required.')
  if (list.length > PER_CALL)
    throw autoscalingError(
      'ValidationError',
      `The number of instance ids that may be passed in is limited to ${PER_CALL}`
    )
  return [...new Set(list)].map((id) => {
    const member = group.members.get(id)
    if (!member)
      throw autoscalingError('ValidationError', `The instance ${id} is not part of Auto Scaling group ${group.name}.`)
    if (member.lifecycle !== state) throw autoscalingError('ValidationError', `The instance ${id} is not in ${state}.`)
    return member
  })
}

function nextTick(fleet: Fleet, what: string, fn: () => void): void {
  background(fleet.cloud, what, new Promise<void>((resolve) => setImmediate(resolve)).then(fn))
}

export function enterStandby(fleet: Fleet, group: GroupRecord, input: EnterStandbyQuery): { Activities: Activity[] } {
  if (input.ShouldDecrementDesiredCapacity === undefined)
    throw autoscalingError('ValidationError', 'ShouldDecrementDesiredCapacity is required.')
  if (group.deleting) throw autoscalingError('ScalingActivityInProgress', 'The group is being deleted.')
  const list = members(group, input.InstanceIds, 'InService')
  const decrement = input.ShouldDecrementDesiredCapacity
  if (decrement && group.desired - list.length < group.minSize)
    throw autoscalingError(
      'ValidationError',
      `AutoScalingGroup ${group.name} has min-size=${group.minSize}, max-size=${group.maxSize}, and desired-size=${group.desired}. Moving ${list.length} instance(s) to Standby and decrementing the desired capacity would go below the minimum size.`
    )
  const activities = list.map((member) => {
    fleet.deregisterMember(group, member)
    member.lifecycle = 'EnteringStandby'
    const activity = fleet.activity(group, {
      description: `Moving EC2 instance to Standby: ${member.instanceId}`,
      cause: `User request set instance ${member.instanceId} to standby.${decrement ? ` Shrinking the capacity from ${group.desired} to ${group.desired - list.length}.` : ''}`,
      status: 'InProgress',
      details: { 'Subnet ID': member.subnetId, 'Availability Zone': member.availabilityZone }
    })
    nextTick(fleet, `standby of ${member.instanceId}`, () => {
      if (member.lifecycle !== 'EnteringStandby') return
      member.lifecycle = 'Standby'
      fleet.endActivity(activity, 'Successful')
    })
    return activity
  })
  if (decrement) group.desired -= list.length
  fleet.schedule(group)
  return { Activities: activities }
}

export function exitStandby(fleet: Fleet, group: GroupRecord, input: ExitStandbyQuery): { Activities: Activity[] } {
  if (group.deleting) throw autoscalingError('ScalingActivityInProgress', 'The group is being deleted.')
  const list = members(group, input.InstanceIds, 'Standby')
  if (group.desired + list.length > group.maxSize)
    throw autoscalingError(
      'ValidationError',
      `AutoScalingGroup ${group.name} has min-size=${group.minSize}, max-size=${group.maxSize}, and desired-size=${group.desired}. Moving ${list.length} instance(s) out of Standby would raise the desired capacity above the maximum size.`
    )
  const from = group.desired
  group.desired += list.length
  const activities = list.map((member) => {
    member.lifecycle = 'Pending'
    const activity = fleet.activity(group, {
      description: `Moving EC2 instance out of Standby: ${member.instanceId}`,
      cause: `User request removed instance ${member.instanceId} from standby. Increasing the capacity from ${from} to ${group.desired}.`,
      status: 'InProgress',
      details: { 'Subnet ID': member.subnetId, 'Availability Zone': member.availabilityZone }
    })
    member.launchActivity = activity
    // the instance runs already: the group's launch hooks hold it (Pending:Wait), else it is InService at once
    nextTick(fleet, `exit from standby of ${member.instanceId}`, () => {
      if (member.lifecycle === 'Pending') fleet.onRunning(group, member)
    })
    return activity
  })
  fleet.schedule(group)
  return { Activities: activities }
}
