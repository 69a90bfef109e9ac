/**
 * Spot signals (EC2 User Guide: Spot Instance interruption notices, EC2 instance rebalance recommendations):
 * an interruption warning (EventBridge `EC2 Spot Instance Interruption Warning`, IMDS
 * `meta-data/spot/instance-action`) and, `simulation.spotReclaimDelayMs` later (AWS: two minutes), the reclaim
 * (Server.SpotInstanceTermination); a rebalance recommendation (`EC2 Instance Rebalance Recommendation`, IMDS
 * `meta-data/events/recommendations/rebalance`). Auto Scaling hears both through `spotSignalListeners`.
 */
import { randomUUID } from 'node:crypto'
import { background, safely } from '../../core/background.js'
import { onStop } from '../../core/hooks.js'
import type { AwsServiceEvent, InstanceStateChange } from '../../types.js'
import { ec2Error } from './errors.js'
import { terminateInstance } from './instances.js'
import type { Ec2World, InstanceRecord } from './model.js'

/** AWS's two-minute warning. */
export const DEFAULT_SPOT_RECLAIM_DELAY_MS = 120_000

/** EC2's event times: ISO 8601 without milliseconds. */
function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

function ec2Event(
  w: Ec2World,
  instance: InstanceRecord,
  detailType: string,
  detail: Record<string, unknown>
): AwsServiceEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': detailType,
    source: 'aws.ec2',
    account: w.cloud.accountId,
    time: isoSeconds(new Date()),
    region: instance.region,
    resources: [`arn:aws:ec2:${instance.region}:${w.cloud.accountId}:instance/${instance.instanceId}`],
    detail
  }
}

function live(instance: InstanceRecord): boolean {
  return instance.state === 'pending' || instance.state === 'running'
}

function requireSpot(instance: InstanceRecord): void {
  if (!instance.spot) throw ec2Error('InvalidParameterValue', `${instance.instanceId} is not a spot instance`)
}

/** The interruption warning now, the reclaim (shutting-down -> terminated) after spotReclaimDelayMs, as tracked work. */
export function spotInterrupt(w: Ec2World, instance: InstanceRecord): void {
  requireSpot(instance)
  // a terminating instance is already gone; a warned one's reclaim is on its way
  if (!live(instance) || instance.spotInstanceAction) return // already warned: the reclaim is on its way
  const delay = Math.max(0, w.cloud.simulation.spotReclaimDelayMs ?? DEFAULT_SPOT_RECLAIM_DELAY_MS)
  const reclaimAt = new Date(Date.now() + delay)
  instance.spotInstanceAction = { action: 'terminate', time: isoSeconds(reclaimAt) }
  const event = ec2Event(w, instance, 'EC2 Spot Instance Interruption Warning', {
    'instance-id': instance.instanceId,
    'instance-action': 'terminate'
  })
  safely('aws-event', () => w.cloud.bus.emit('aws-event', event))
  for (const listener of w.spotSignalListeners) safely('spot signal', () => listener(instance, 'interruption'))
  const reclaim = (): void =>
    terminateInstance(w, instance, {
      code: 'Server.SpotInstanceTermination',
      message: 'Server.SpotInstanceTermination: Spot instance termination'
    })
  if (delay === 0) {
    reclaim()
    return
  }
  // tracked work (waitIdle waits for the reclaim), ended early when the instance goes first (terminated by
  // its group or by hand) or when the emulator stops, so that no timer outlives what it waits for
  let cancelled = false
  const wait = new Promise<void>((resolve) => {
    const end = (): void => {
      cancelled = true
      clearTimeout(timer)
      w.cloud.bus.off('ec2-state-change', gone)
      resolve()
    }
    const gone = (change: InstanceStateChange): void => {
      if (change.instanceId === instance.instanceId && change.state !== 'running' && change.state !== 'pending') end()
    }
    const timer = setTimeout(() => {
      w.cloud.bus.off('ec2-state-change', gone)
      resolve()
    }, delay)
    w.cloud.bus.on('ec2-state-change', gone)
    onStop(w.cloud, end)
  })
  background(
    w.cloud,
    `spot reclaim of ${instance.instanceId}`,
    wait.then(() => {
      if (!cancelled) reclaim()
    })
  )
}

/** A rebalance recommendation: the event and the IMDS item; the instance keeps running. */
export function rebalanceRecommendation(w: Ec2World, instance: InstanceRecord): void {
  requireSpot(instance)
  if (!live(instance)) return
  instance.rebalanceNoticeTime ??= isoSeconds(new Date())
  const event = ec2Event(w, instance, 'EC2 Instance Rebalance Recommendation', { 'instance-id': instance.instanceId })
  safely('aws-event', () => w.cloud.bus.emit('aws-event', event))
  for (const listener of w.spotSignalListeners) safely('spot signal', () => listener(instance, 'rebalance'))
}
