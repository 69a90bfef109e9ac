/**
 * Delivery of events to the targets of matching rules (at least once, unordered): Lambda functions
 * whose resource policy lets events.amazonaws.com invoke them from the rule, and SQS queues whose
 * queue policy lets events.amazonaws.com call sqs:SendMessage from the rule (aws:SourceArn). A
 * target that refuses counts as a failed invocation of the rule, silently for the caller, as in AWS.
 */
import { randomUUID } from 'node:crypto'
import type { Cloud, GroupLaunch, InstanceStateChange } from '../../types.js'
import { queueAccess } from '../sqs/access.js'
import type { Delivery, EventsState, Rule, Target } from './model.js'
import { matchesPattern, parsePattern } from './pattern.js'

const EVENTS_PRINCIPAL = 'events.amazonaws.com'

/** The event EventBridge emits for an EC2 instance state change. */
export function ec2StateChangeEvent(cloud: Cloud, change: InstanceStateChange): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: cloud.accountId,
    time: new Date(change.time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: change.region,
    resources: [`arn:aws:ec2:${change.region}:${cloud.accountId}:instance/${change.instanceId}`],
    detail: { 'instance-id': change.instanceId, state: change.state }
  }
}

/** The event Auto Scaling emits once a member's launch completed (lifecycle hooks included). */
export function launchSuccessfulEvent(cloud: Cloud, launch: GroupLaunch): Record<string, unknown> {
  const time = new Date(launch.time).toISOString().replace(/\.\d{3}Z$/, 'Z')
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'EC2 Instance Launch Successful',
    source: 'aws.autoscaling',
    account: cloud.accountId,
    time,
    region: launch.region,
    resources: [launch.groupArn, `arn:aws:ec2:${launch.region}:${cloud.accountId}:instance/${launch.instanceId}`],
    detail: {
      StatusCode: 'InProgress',
      Description: launch.description,
      AutoScalingGroupName: launch.groupName,
      ActivityId: randomUUID(),
      Details: { 'Availability Zone': launch.availabilityZone, 'Subnet ID': launch.subnetId },
      RequestId: randomUUID(),
      StatusMessage: '',
      EndTime: time,
      EC2InstanceId: launch.instanceId,
      StartTime: time,
      Cause: launch.cause
    }
  }
}

function obj(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
}

function inputPath(event: Record<string, unknown>, path: string): unknown {
  const parts = path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter((p) => p !== '')
  return parts.reduce<unknown>((node, key) => obj(node)[key], event)
}

function targetPayload(target: Target, event: Record<string, unknown>): string {
  if (target.Input !== undefined) return target.Input
  if (target.InputPath !== undefined) return JSON.stringify(inputPath(event, target.InputPath) ?? null)
  return JSON.stringify(event)
}

function isLambda(arn: string): boolean {
  return /^arn:aws[a-z-]*:lambda:/.test(arn)
}

/** Whether the target lets EventBridge deliver the rule's events (resource or queue policy). */
function permitted(cloud: Cloud, rule: Rule, target: Target): boolean {
  const from = { service: EVENTS_PRINCIPAL, sourceArn: rule.arn }
  if (isLambda(target.Arn)) return cloud.shared.functions?.allows(target.Arn, from.service, from.sourceArn) ?? false
  return queueAccess(cloud)?.allowsServiceSend(target.Arn, from) ?? false
}

/**
 * One delivery per target of the rule that accepts it (the rule matched or fired once more); a
 * target that refuses is a failed invocation, visible in the rule's metrics only.
 */
export function ruleDeliveries(cloud: Cloud, rule: Rule, event: Record<string, unknown>): Delivery[] {
  rule.metrics.TriggeredRules += 1
  const out: Delivery[] = []
  for (const target of rule.targets) {
    if (!/^arn:aws[a-z-]*:(lambda|sqs):/.test(target.Arn)) continue
    if (permitted(cloud, rule, target)) out.push({ rule, targetArn: target.Arn, payload: targetPayload(target, event) })
    else {
      rule.metrics.Invocations += 1
      rule.metrics.FailedInvocations += 1
    }
  }
  return out
}

function deliveriesFor(cloud: Cloud, state: EventsState, event: Record<string, unknown>): Delivery[] {
  const out: Delivery[] = []
  for (const rule of state.rules.values()) {
    if (rule.region !== event.region || !rule.state.startsWith('ENABLED') || !rule.eventPattern) continue
    if (!matchesPattern(parsePattern(rule.eventPattern), event)) continue
    out.push(...ruleDeliveries(cloud, rule, event))
  }
  return out
}

/** Hands one event to its target; false when the target refuses it after all (gone, policy changed). */
function deliverOne(cloud: Cloud, d: Delivery): boolean {
  if (isLambda(d.targetArn)) {
    const functions = cloud.shared.functions
    if (!functions?.allows(d.targetArn, EVENTS_PRINCIPAL, d.rule.arn)) return false
    functions.invokeAsync(d.targetArn, d.payload)
    return true
  }
  return (
    queueAccess(cloud)?.sendAsService(d.targetArn, d.payload, { service: EVENTS_PRINCIPAL, sourceArn: d.rule.arn }) ??
    false
  )
}

export function deliver(cloud: Cloud, deliveries: Delivery[]): void {
  for (const d of deliveries) {
    d.rule.metrics.Invocations += 1
    if (!deliverOne(cloud, d)) d.rule.metrics.FailedInvocations += 1
  }
}

function shuffle<T>(cloud: Cloud, items: T[]): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(cloud.random() * (i + 1))
    const a = out[i] as T
    out[i] = out[j] as T
    out[j] = a
  }
  return out
}

/** Hold deliveries for the reorder window, then deliver them shuffled. */
function hold(cloud: Cloud, state: EventsState, deliveries: Delivery[]): void {
  state.held.push(...deliveries)
  if (state.flushTimer) return
  const done = new Promise<void>((resolve) => {
    state.flushDone = resolve
    state.flushTimer = setTimeout(() => {
      state.flushTimer = undefined
      const batch = shuffle(cloud, state.held)
      state.held = []
      deliver(cloud, batch)
      resolve()
    }, cloud.faults.reorderWindowMs)
  })
  void cloud.track(done)
}

/** Deliver (with the duplicate and reorder faults) the deliveries of one event. */
export function dispatchDeliveries(cloud: Cloud, state: EventsState, deliveries: Delivery[]): void {
  const all = deliveries.flatMap((d) => (cloud.random() < cloud.faults.duplicateEventRate ? [d, d] : [d]))
  if (all.length === 0) return
  if (cloud.faults.reorderWindowMs > 0) hold(cloud, state, all)
  else deliver(cloud, all)
}

export function onStateChange(cloud: Cloud, state: EventsState, change: InstanceStateChange): void {
  dispatchDeliveries(cloud, state, deliveriesFor(cloud, state, ec2StateChangeEvent(cloud, change)))
}

export function onGroupLaunch(cloud: Cloud, state: EventsState, launch: GroupLaunch): void {
  dispatchDeliveries(cloud, state, deliveriesFor(cloud, state, launchSuccessfulEvent(cloud, launch)))
}
