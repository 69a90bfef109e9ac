/**
 * Lifecycle hooks (PutLifecycleHook, DescribeLifecycleHooks, DeleteLifecycleHook, CompleteLifecycleAction,
 * RecordLifecycleActionHeartbeat), instance health (SetInstanceHealth) and DescribeAutoScalingInstances.
 */
import type {
  AutoScalingInstanceDetails,
  CompleteLifecycleActionType,
  DeleteLifecycleHookType,
  DescribeAutoScalingInstancesType,
  DescribeLifecycleHooksType,
  LifecycleHook,
  PutLifecycleHookType,
  RecordLifecycleActionHeartbeatType,
  SetInstanceHealthQuery
} from '@aws-sdk/client-auto-scaling'
import { AwsError } from '../../types.js'
import { paginate } from '../ec2/filters.js'
import type { Fleet } from './fleet.js'
import { LAUNCHING, TERMINATING } from './model.js'
import type { GroupRecord, LifecycleHookRecord, Member, PendingAction } from './model.js'
import { autoscalingError } from './errors.js'

function validation(message: string): AwsError {
  return autoscalingError('ValidationError', message)
}

/** AWS: at most 50 lifecycle hooks per group. */
const HOOKS_PER_GROUP = 50

/** Creates or updates a hook (an update keeps what it does not name). */
export function putHook(group: GroupRecord, input: PutLifecycleHookType, creating = false): void {
  const name = input.LifecycleHookName ?? ''
  if (!name) throw validation('LifecycleHookName is required')
  const existing = group.hooks.get(name)
  const transition = input.LifecycleTransition ?? existing?.transition
  if (!transition) throw validation('LifecycleTransition is required when creating a lifecycle hook')
  if (transition !== LAUNCHING && transition !== TERMINATING)
    throw validation(`Invalid Lifecycle Transition: ${transition}. Valid values are ${LAUNCHING} and ${TERMINATING}.`)
  const heartbeat = input.HeartbeatTimeout ?? existing?.heartbeatTimeout ?? 3600
  if (heartbeat < 30 || heartbeat > 7200)
    throw validation(`Heartbeat Timeout must be between 30 and 7200 seconds: ${heartbeat}`)
  const result = input.DefaultResult ?? existing?.defaultResult ?? 'ABANDON'
  if (result !== 'CONTINUE' && result !== 'ABANDON')
    throw validation(`Invalid DefaultResult: ${result}. Valid values are CONTINUE and ABANDON.`)
  if (!existing && group.hooks.size >= HOOKS_PER_GROUP)
    throw autoscalingError(
      'LimitExceeded',
      `Max number of lifecycle hooks for the group ${group.name} (${HOOKS_PER_GROUP}) reached.`
    )
  if (creating && existing) throw validation(`Duplicate lifecycle hook name: ${name}`)
  const hook: LifecycleHookRecord = {
    name,
    transition,
    heartbeatTimeout: heartbeat,
    defaultResult: result,
    ...((input.NotificationMetadata ?? existing?.notificationMetadata) !== undefined
      ? { notificationMetadata: input.NotificationMetadata ?? existing?.notificationMetadata }
      : {}),
    ...((input.NotificationTargetARN ?? existing?.notificationTargetArn) !== undefined
      ? { notificationTargetArn: input.NotificationTargetARN ?? existing?.notificationTargetArn }
      : {}),
    ...((input.RoleARN ?? existing?.roleArn) !== undefined ? { roleArn: input.RoleARN ?? existing?.roleArn } : {})
  }
  group.hooks.set(name, hook)
}

export function toHook(group: GroupRecord, h: LifecycleHookRecord): LifecycleHook {
  return {
    LifecycleHookName: h.name,
    AutoScalingGroupName: group.name,
    LifecycleTransition: h.transition,
    ...(h.notificationTargetArn !== undefined ? { NotificationTargetARN: h.notificationTargetArn } : {}),
    ...(h.roleArn !== undefined ? { RoleARN: h.roleArn } : {}),
    ...(h.notificationMetadata !== undefined ? { NotificationMetadata: h.notificationMetadata } : {}),
    HeartbeatTimeout: h.heartbeatTimeout,
    // AWS: the smaller of 100 times the heartbeat timeout and 172800 seconds (48 hours)
    GlobalTimeout: Math.min(100 * h.heartbeatTimeout, 172800),
    DefaultResult: h.defaultResult
  }
}

export function describeHooks(
  group: GroupRecord,
  input: DescribeLifecycleHooksType
): { LifecycleHooks: LifecycleHook[] } {
  const names = input.LifecycleHookNames ?? []
  if (names.length > 50) throw validation('The number of lifecycle hook names may not exceed 50.')
  return {
    LifecycleHooks: [...group.hooks.values()]
      .filter((h) => names.length === 0 || names.includes(h.name))
      .map((h) => toHook(group, h))
  }
}

export function deleteHook(group: GroupRecord, input: DeleteLifecycleHookType): void {
  const name = input.LifecycleHookName ?? ''
  if (!group.hooks.has(name)) throw validation(`No Lifecycle Hook found for name: ${name} and group: ${group.name}`)
  group.hooks.delete(name)
}

/** The pending action the call names, by token or by instance id; ValidationError as AWS words it otherwise. */
function pendingAction(
  group: GroupRecord,
  input: { LifecycleHookName?: string; LifecycleActionToken?: string; InstanceId?: string }
): { member: Member; action: PendingAction } {
  const hook = input.LifecycleHookName ?? ''
  if (!group.hooks.has(hook)) throw validation(`No Lifecycle Hook found for name: ${hook} and group: ${group.name}`)
  if (input.LifecycleActionToken === undefined && input.InstanceId === undefined)
    throw validation('Either LifecycleActionToken or InstanceId must be specified.')
  for (const member of group.members.values()) {
    if (member.lifecycle !== 'Pending:Wait') continue
    const action = member.actions?.get(hook)
    if (!action || action.completed) continue
    if (input.LifecycleActionToken !== undefined && action.token !== input.LifecycleActionToken) continue
    if (input.InstanceId !== undefined && member.instanceId !== input.InstanceId) continue
    return { member, action }
  }
  throw validation(
    input.LifecycleActionToken !== undefined
      ? `No active Lifecycle Action found with token ${input.LifecycleActionToken}`
      : `No active Lifecycle Action found with instance ID ${input.InstanceId ?? ''}`
  )
}

export function completeLifecycleAction(fleet: Fleet, group: GroupRecord, input: CompleteLifecycleActionType): void {
  const result = input.LifecycleActionResult
  if (result !== 'CONTINUE' && result !== 'ABANDON')
    throw validation(`Invalid LifecycleActionResult: ${result ?? ''}. Valid values are CONTINUE and ABANDON.`)
  const { member, action } = pendingAction(group, input)
  fleet.completeAction(group, member, { action, result })
  fleet.schedule(group)
}

export function recordHeartbeat(fleet: Fleet, group: GroupRecord, input: RecordLifecycleActionHeartbeatType): void {
  const { member, action } = pendingAction(group, input)
  fleet.armHeartbeat(group, member, action)
}

function memberOf(fleet: Fleet, region: string, instanceId: string): { group: GroupRecord; member: Member } {
  for (const group of fleet.groups.values()) {
    const member = group.region === region ? group.members.get(instanceId) : undefined
    if (member) return { group, member }
  }
  throw validation(`Instance Id not found - No managed instance found for instance ID: ${instanceId}`)
}

/**
 * SetInstanceHealth: an Unhealthy member in service is terminated and replaced (unless the call respects
 * the group's health check grace period and the member is still in it: then the status is only recorded).
 */
export function setInstanceHealth(fleet: Fleet, region: string, input: SetInstanceHealthQuery): void {
  const status = input.HealthStatus
  if (status !== 'Healthy' && status !== 'Unhealthy')
    throw validation(`Valid values for HealthStatus are Healthy and Unhealthy, not ${status ?? ''}`)
  const { group, member } = memberOf(fleet, region, input.InstanceId ?? '')
  if (member.lifecycle === 'Terminating') return
  member.health = status
  if (status !== 'Unhealthy' || member.lifecycle !== 'InService') return
  const grace = group.healthCheckGracePeriod * (fleet.cloud.simulation.lifecycleTimeScale ?? 1000)
  if (input.ShouldRespectGracePeriod === true && Date.now() < (member.inServiceAt ?? member.launchedAt) + grace) return
  fleet.terminateMember(group, member, 'an instance was taken out of service in response to a user health-check.')
  fleet.schedule(group)
}

function toDetails(group: GroupRecord, m: Member): AutoScalingInstanceDetails {
  return {
    InstanceId: m.instanceId,
    InstanceType: m.instanceType,
    AutoScalingGroupName: group.name,
    AvailabilityZone: m.availabilityZone,
    LifecycleState: m.lifecycle,
    // DescribeAutoScalingInstances answers HEALTHY / UNHEALTHY (DescribeAutoScalingGroups: Healthy / Unhealthy)
    HealthStatus: m.health.toUpperCase(),
    LaunchTemplate: {
      LaunchTemplateId: m.template.id,
      LaunchTemplateName: m.template.name,
      Version: String(m.versionNumber)
    },
    ProtectedFromScaleIn: false
  }
}

export function describeAutoScalingInstances(
  fleet: Fleet,
  region: string,
  input: DescribeAutoScalingInstancesType
): { AutoScalingInstances: AutoScalingInstanceDetails[]; NextToken?: string } {
  const ids = input.InstanceIds ?? []
  if (ids.length > 50) throw validation('The number of instance ids that may be passed in is limited to 50')
  if (input.MaxRecords !== undefined && (input.MaxRecords < 1 || input.MaxRecords > 50))
    throw validation('MaxRecords must be between 1 and 50')
  const all = [...fleet.groups.values()]
    .filter((g) => g.region === region)
    .flatMap((g) => [...g.members.values()].map((m) => toDetails(g, m)))
    .filter((d) => ids.length === 0 || ids.includes(d.InstanceId ?? ''))
    .sort((a, b) => (a.InstanceId ?? '').localeCompare(b.InstanceId ?? ''))
  const { page, nextToken } = paginate(all, input.MaxRecords ?? 50, input.NextToken)
  return { AutoScalingInstances: page, NextToken: nextToken }
}
