/** Delivery of EC2 instance state-change events to the Lambda targets of matching rules (at least once, unordered). */
import { randomUUID } from 'node:crypto'
import type { Cloud, InstanceStateChange } from '../../types.js'
import type { Delivery, EventsState, Target } from './model.js'
import { matchesPattern, parsePattern } from './pattern.js'

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

function obj(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
}

function inputPath(event: Record<string, unknown>, path: string): unknown {
  const parts = path.replace(/^\$\.?/, '').split('.').filter((p) => p !== '')
  return parts.reduce<unknown>((node, key) => obj(node)[key], event)
}

function targetPayload(target: Target, event: Record<string, unknown>): string {
  if (target.Input !== undefined) return target.Input
  if (target.InputPath !== undefined) return JSON.stringify(inputPath(event, target.InputPath) ?? null)
  return JSON.stringify(event)
}

function deliveriesFor(cloud: Cloud, state: EventsState, event: Record<string, unknown>): Delivery[] {
  const functions = cloud.shared.functions
  if (!functions) return []
  const out: Delivery[] = []
  for (const rule of state.rules.values()) {
    if (rule.region !== event.region || !rule.state.startsWith('ENABLED') || !rule.eventPattern) continue
    if (!matchesPattern(parsePattern(rule.eventPattern), event)) continue
    for (const target of rule.targets) {
      if (!target.Arn.startsWith('arn:aws:lambda:')) continue
      if (!functions.allows(target.Arn, 'events.amazonaws.com', rule.arn)) continue
      out.push({ functionArn: target.Arn, payload: targetPayload(target, event) })
    }
  }
  return out
}

function deliver(cloud: Cloud, deliveries: Delivery[]): void {
  for (const d of deliveries) cloud.shared.functions?.invokeAsync(d.functionArn, d.payload)
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

export function onStateChange(cloud: Cloud, state: EventsState, change: InstanceStateChange): void {
  const event = ec2StateChangeEvent(cloud, change)
  const deliveries = deliveriesFor(cloud, state, event).flatMap((d) => (cloud.random() < cloud.faults.duplicateEventRate ? [d, d] : [d]))
  if (deliveries.length === 0) return
  if (cloud.faults.reorderWindowMs > 0) hold(cloud, state, deliveries)
  else deliver(cloud, deliveries)
}
