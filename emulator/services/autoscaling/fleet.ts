/** The Auto Scaling simulation: keeps each group at its desired capacity. */
import { randomUUID } from 'node:crypto'
import type { Activity } from '@aws-sdk/client-auto-scaling'
import type { ResponseLaunchTemplateData } from '@aws-sdk/client-ec2'
import { AwsError } from '../../types.js'
import type { Cloud } from '../../types.js'
import { background } from '../../core/background.js'
import { onStop } from '../../core/hooks.js'
import { launchInstance, terminateInstance } from '../ec2/instances.js'
import { findTemplate, resolveVersion } from '../ec2/launch-templates.js'
import { findGroup } from '../ec2/security-groups.js'
import { ec2World } from '../ec2/model.js'
import type { Ec2World, InstanceRecord } from '../ec2/model.js'
import { inStandby, liveMembers, nextIsSpot, pickSubnet, pickVictim, rebalanceExtra } from './capacity.js'
import { LAUNCHING } from './model.js'
import type { GroupRecord, LaunchConfig, Member, PendingAction } from './model.js'
import { autoscalingEvent } from './events.js'
import { spotAvailable } from '../../core/spot-capacity.js'
import { deregisterGroupTargets, registerGroupTargets } from '../elbv2/target-groups.js'

export const GROUP_NAME_TAG = 'aws:autoscaling:groupName'

export class Fleet {
  readonly groups = new Map<string, GroupRecord>()
  readonly ec2: Ec2World
  private readonly scheduled = new Set<GroupRecord>()
  private readonly retrying = new Map<GroupRecord, NodeJS.Timeout>()
  /** Heartbeat timeouts of pending lifecycle actions: untracked, so waitIdle does not wait for them. */
  private readonly hookTimers = new Set<NodeJS.Timeout>()
  private stopped = false

  constructor(readonly cloud: Cloud) {
    this.ec2 = ec2World(cloud)
    this.ec2.stateListeners.push((instance) => this.onInstanceState(instance))
    this.ec2.spotSignalListeners.push((instance, signal) => this.onSpotSignal(instance, signal))
    onStop(cloud, () => {
      this.stopped = true
      for (const timer of this.retrying.values()) clearTimeout(timer)
      this.retrying.clear()
      for (const timer of this.hookTimers) clearTimeout(timer)
      this.hookTimers.clear()
    })
  }

  key(region: string, name: string): string {
    return `${region}/${name}`
  }

  /** Reconciles the group soon (once, however often it is asked), as tracked background work. */
  schedule(group: GroupRecord): void {
    if (this.scheduled.has(group)) return
    this.scheduled.add(group)
    const work = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.scheduled.delete(group)
      this.reconcile(group)
    })
    background(this.cloud, `reconcile of ${group.name}`, work)
  }

  activity(
    group: GroupRecord,
    a: {
      description: string
      cause: string
      status?: 'Successful' | 'Failed' | 'InProgress'
      message?: string
      details?: Record<string, string>
    }
  ): Activity {
    const now = new Date()
    const inProgress = a.status === 'InProgress'
    const activity: Activity = {
      ActivityId: randomUUID(),
      AutoScalingGroupName: group.name,
      AutoScalingGroupARN: group.arn,
      Description: a.description,
      Cause: `At ${now.toISOString()} ${a.cause}`,
      StartTime: now,
      ...(inProgress ? {} : { EndTime: now }),
      StatusCode: a.status ?? 'Successful',
      Progress: inProgress ? 30 : 100,
      ...(a.message ? { StatusMessage: a.message } : {}),
      Details: JSON.stringify(a.details ?? {})
    }
    group.activities.unshift(activity)
    return activity
  }

  private details(member: Member): Record<string, string> {
    return { 'Subnet ID': member.subnetId, 'Availability Zone': member.availabilityZone }
  }

  endActivity(activity: Activity | undefined, status: 'Successful' | 'Cancelled' | 'Failed', message?: string): void {
    if (!activity) return
    activity.StatusCode = status
    activity.Progress = 100
    activity.EndTime = new Date()
    if (message) activity.StatusMessage = message
  }

  /** Puts one of Auto Scaling's events on the bus (EventBridge delivers it to matching rules). */
  private emit(
    group: GroupRecord,
    detailType: string,
    member: Member | undefined,
    detail: Record<string, unknown>
  ): void {
    this.cloud.bus.emit(
      'aws-event',
      autoscalingEvent(this.cloud, group, { detailType, instanceId: member?.instanceId, detail })
    )
  }

  /** Launch and terminate events: the member's activity, from EC2 to the group (launch) or back (terminate). */
  private activityEvent(group: GroupRecord, detailType: string, member: Member, activity: Activity | undefined): void {
    const origin =
      detailType === 'EC2 Instance Terminate Successful' ? ['AutoScalingGroup', 'EC2'] : ['EC2', 'AutoScalingGroup']
    this.emit(group, detailType, member, {
      ...(detailType === 'EC2 Instance Launch Unsuccessful' ? { StatusCode: 'Failed' } : { StatusCode: 'InProgress' }),
      Description: activity?.Description ?? '',
      AutoScalingGroupName: group.name,
      ActivityId: activity?.ActivityId ?? '',
      Details: this.details(member),
      RequestId: activity?.ActivityId ?? '',
      StatusMessage: activity?.StatusMessage ?? '',
      EndTime: isoSeconds(activity?.EndTime ?? new Date()),
      EC2InstanceId: member.instanceId,
      StartTime: isoSeconds(activity?.StartTime ?? new Date()),
      Cause: activity?.Cause ?? '',
      Origin: origin[0],
      Destination: origin[1]
    })
  }

  /** The configuration the next launch uses: a running refresh's desired one, else the group's. */
  launchConfig(group: GroupRecord): LaunchConfig {
    return group.refreshConfig ?? { template: group.template, ...(group.mixed ? { mixed: group.mixed } : {}) }
  }

  /**
   * How many live members the reconciler keeps: desired, plus a refresh's launch-before-terminate surge, plus
   * Capacity Rebalancing's replacements of members at risk.
   */
  target(group: GroupRecord): number {
    return group.desired + group.surge + rebalanceExtra(group)
  }

  private memberOf(instance: InstanceRecord): { group: GroupRecord; member: Member } | undefined {
    const name = instance.tags[GROUP_NAME_TAG]
    const group = name ? this.groups.get(this.key(instance.region, name)) : undefined
    const member = group?.members.get(instance.instanceId)
    return group && member ? { group, member } : undefined
  }

  /**
   * Capacity Rebalancing (CapacityRebalance: true): a spot member in service that gets a rebalance recommendation
   * or an interruption warning is replaced: a new instance is launched through the normal launch path, and the
   * old member is terminated once the new one is InService (or earlier by EC2's reclaim).
   */
  private onSpotSignal(instance: InstanceRecord, signal: 'rebalance' | 'interruption'): void {
    const found = this.memberOf(instance)
    if (!found) return
    const { group, member } = found
    if (!group.capacityRebalance || group.deleting || !member.spot || member.lifecycle !== 'InService') return
    if (member.rebalancing) return
    member.rebalancing = signal
    this.schedule(group)
  }

  /** A new member is InService: the oldest member awaiting a Capacity Rebalancing replacement is terminated. */
  private finishRebalance(group: GroupRecord, replacement: Member): void {
    if (replacement.rebalancing) return
    const old = [...group.members.values()]
      .filter((m) => m.rebalancing && m.lifecycle === 'InService')
      .sort((a, b) => a.launchedAt - b.launchedAt)[0]
    if (!old) return
    this.terminateMember(
      group,
      old,
      old.rebalancing === 'interruption'
        ? 'an instance was taken out of service in response to an EC2 Spot Instance interruption notice.'
        : 'an instance was taken out of service in response to an EC2 instance rebalance recommendation.'
    )
    this.schedule(group)
  }

  private launchHooks(group: GroupRecord): string[] {
    // Only launch hooks hold instances; terminate hooks are stored and described but do not delay terminations.
    return [...group.hooks.values()].filter((h) => h.transition === LAUNCHING).map((h) => h.name)
  }

  /** The instance is running: InService, or Pending:Wait while the group has launch hooks. */
  onRunning(group: GroupRecord, member: Member): void {
    const hooks = this.launchHooks(group)
    if (hooks.length === 0) {
      this.inService(group, member)
      return
    }
    member.lifecycle = 'Pending:Wait'
    member.actions = new Map()
    for (const name of hooks) {
      const action: PendingAction = { hook: name, token: randomUUID() }
      member.actions.set(name, action)
      this.armHeartbeat(group, member, action)
      const hook = group.hooks.get(name)
      this.emit(group, 'EC2 Instance-launch Lifecycle Action', undefined, {
        Origin: 'EC2',
        Destination: 'AutoScalingGroup',
        LifecycleActionToken: action.token,
        AutoScalingGroupName: group.name,
        LifecycleHookName: name,
        EC2InstanceId: member.instanceId,
        LifecycleTransition: LAUNCHING,
        ...(hook?.notificationMetadata !== undefined ? { NotificationMetadata: hook.notificationMetadata } : {})
      })
    }
  }

  /** (Re)starts the heartbeat timeout of one action; at its end the hook's DefaultResult applies. */
  armHeartbeat(group: GroupRecord, member: Member, action: PendingAction): void {
    if (action.timer) {
      clearTimeout(action.timer)
      this.hookTimers.delete(action.timer)
    }
    const hook = group.hooks.get(action.hook)
    if (!hook || this.stopped) return
    const scale = this.cloud.simulation.lifecycleTimeScale ?? 1000
    const timer = setTimeout(() => {
      this.hookTimers.delete(timer)
      if (member.actions?.get(action.hook) !== action || action.completed) return
      this.completeAction(group, member, { action, result: hook.defaultResult, why: 'Heartbeat Timeout' })
    }, hook.heartbeatTimeout * scale)
    timer.unref()
    action.timer = timer
    this.hookTimers.add(timer)
  }

  /** Completes one pending action: ABANDON ends the launch; CONTINUE of every hook puts the member in service. */
  completeAction(
    group: GroupRecord,
    member: Member,
    completion: { action: PendingAction; result: 'CONTINUE' | 'ABANDON'; why?: string }
  ): void {
    const { action, result } = completion
    const why = completion.why ?? 'Lifecycle Action Completed with ABANDON Result'
    if (action.timer) {
      clearTimeout(action.timer)
      this.hookTimers.delete(action.timer)
    }
    action.completed = result
    if (member.lifecycle !== 'Pending:Wait') return
    if (result === 'ABANDON') {
      this.abandon(group, member, action.token, why)
      return
    }
    if ([...(member.actions?.values() ?? [])].some((a) => a.completed !== 'CONTINUE')) return
    member.lifecycle = 'Pending:Proceed'
    const work = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      if (member.lifecycle === 'Pending:Proceed') this.inService(group, member)
    })
    background(this.cloud, `lifecycle action of ${member.instanceId}`, work)
  }

  private abandon(group: GroupRecord, member: Member, token: string, why: string): void {
    this.clearActions(member)
    const message = `Instance failed to complete user's Lifecycle Action: Lifecycle Action with token ${token} was abandoned: ${why}`
    member.abandoned = message
    if (member.refreshId !== undefined && member.refreshId === group.refreshing)
      group.refreshFailure = `Replacement instance ${member.instanceId} did not launch: ${message}`
    this.endActivity(member.launchActivity, 'Cancelled', message)
    this.activityEvent(group, 'EC2 Instance Launch Unsuccessful', member, member.launchActivity)
    // AWS keeps trying to reach desired capacity: the replacement waits the launch retry delay, so it does not spin.
    group.holdLaunchesUntil = Date.now() + (this.cloud.simulation.launchRetryMs ?? 1000)
    this.terminateMember(
      group,
      member,
      `an instance was taken out of service because its launch lifecycle action was abandoned.`
    )
    this.schedule(group)
  }

  /** Registers an in-service member in the group's target groups (at each target group's port). */
  registerMember(group: GroupRecord, member: Member, targetGroups = group.targetGroups): void {
    for (const arn of targetGroups) {
      try {
        registerGroupTargets(this.cloud, arn, [member.instanceId])
      } catch {
        // a target group deleted after it was attached: AWS's registration fails and the instance stays in service
      }
    }
  }

  /** Deregisters a member leaving service from the group's target groups: each drains for its deregistration delay. */
  deregisterMember(group: GroupRecord, member: Member, targetGroups = group.targetGroups): void {
    for (const arn of targetGroups) deregisterGroupTargets(this.cloud, arn, [member.instanceId])
  }

  private inService(group: GroupRecord, member: Member): void {
    member.lifecycle = 'InService'
    member.inServiceAt = Date.now()
    delete member.actions
    this.registerMember(group, member)
    this.endActivity(member.launchActivity, 'Successful')
    this.activityEvent(group, 'EC2 Instance Launch Successful', member, member.launchActivity)
    this.finishRebalance(group, member)
  }

  private onInstanceState(instance: InstanceRecord): void {
    const found = this.memberOf(instance)
    if (!found) return
    const { group, member } = found
    if (instance.state === 'running' && member.lifecycle === 'Pending') this.onRunning(group, member)
    if (instance.state === 'shutting-down' && member.lifecycle !== 'Terminating') {
      // a Standby member terminated by EC2 leaves the group (it was not counted toward desired capacity)
      if (member.lifecycle !== 'InService' && !inStandby(member)) {
        member.abandoned = `The instance was terminated before it was in service (${instance.stateReason?.code ?? 'unknown'}).`
        if (member.refreshId !== undefined && member.refreshId === group.refreshing)
          group.refreshFailure = `Replacement instance ${member.instanceId} did not launch: ${member.abandoned}`
        this.endActivity(member.launchActivity, 'Failed', member.abandoned)
        this.activityEvent(group, 'EC2 Instance Launch Unsuccessful', member, member.launchActivity)
      }
      this.clearActions(member)
      if (member.lifecycle === 'InService') this.deregisterMember(group, member)
      member.lifecycle = 'Terminating'
      member.health = 'Unhealthy'
      member.terminateActivity = this.activity(group, {
        description: `Terminating EC2 instance: ${instance.instanceId}`,
        cause: `an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped (${instance.stateReason?.code ?? 'unknown'}).`,
        details: this.details(member)
      })
    }
    if (instance.state === 'terminated') {
      group.members.delete(instance.instanceId)
      this.activityEvent(group, 'EC2 Instance Terminate Successful', member, member.terminateActivity)
    }
    this.schedule(group)
  }

  /** Stops the heartbeat timeouts of the member's pending lifecycle actions and forgets them. */
  private clearActions(member: Member): void {
    for (const a of member.actions?.values() ?? []) {
      if (a.timer) {
        clearTimeout(a.timer)
        this.hookTimers.delete(a.timer)
      }
    }
    delete member.actions
  }

  /** The launch template data for the next launch, or an error message. */
  private launchData(
    group: GroupRecord,
    config: LaunchConfig,
    override?: string
  ): { data: ResponseLaunchTemplateData; version: number; instanceType: string } {
    const t = findTemplate(this.ec2, group.region, { LaunchTemplateId: config.template.id })
    const v = resolveVersion(t, config.template.version)
    for (const id of v.data.SecurityGroupIds ?? []) findGroup(this.ec2, group.region, id)
    const instanceType = override ?? config.mixed?.overrides[0] ?? v.data.InstanceType ?? 'm1.small'
    return {
      data: { ...v.data, InstanceType: instanceType as ResponseLaunchTemplateData['InstanceType'] },
      version: v.versionNumber,
      instanceType
    }
  }

  private instanceTags(
    group: GroupRecord,
    template: LaunchConfig['template'],
    data: ResponseLaunchTemplateData,
    version: number
  ): Record<string, string> {
    const tags: Record<string, string> = {}
    for (const spec of data.TagSpecifications ?? []) {
      if (spec.ResourceType !== 'instance') continue
      for (const t of spec.Tags ?? []) if (t.Key) tags[t.Key] = t.Value ?? ''
    }
    for (const t of group.tags) if (t.propagateAtLaunch) tags[t.key] = t.value
    tags[GROUP_NAME_TAG] = group.name
    tags['aws:ec2launchtemplate:id'] = template.id
    tags['aws:ec2launchtemplate:version'] = String(version)
    return tags
  }

  private launchOne(group: GroupRecord, from: number): boolean {
    const azOf = (id: string): string => this.ec2.network.subnets.get(id)?.availabilityZone ?? ''
    const preferred = pickSubnet(group, azOf)
    if (!preferred) return false
    const config = this.launchConfig(group)
    const spot = config.mixed ? nextIsSpot(group) : false
    const pool = spot ? this.spotPool(group, config, preferred, azOf) : { subnetId: preferred }
    if (!pool) throw new SpotCapacityError()
    const subnetId = pool.subnetId
    const { data, version, instanceType } = this.launchData(group, config, pool.instanceType)
    const template = { ...config.template }
    const instance = launchInstance(this.ec2, {
      region: group.region,
      subnetId,
      data,
      tags: this.instanceTags(group, template, data, version),
      spot,
      launchTemplate: { id: template.id, name: template.name, version }
    })
    const member: Member = {
      instanceId: instance.instanceId,
      availabilityZone: instance.availabilityZone,
      instanceType,
      lifecycle: 'Pending',
      health: 'Healthy',
      spot,
      template,
      versionNumber: version,
      launchedAt: Date.now(),
      subnetId,
      ...(group.refreshing ? { refreshId: group.refreshing } : {})
    }
    group.members.set(member.instanceId, member)
    member.launchActivity = this.activity(group, {
      description: `Launching a new EC2 instance: ${instance.instanceId}`,
      cause: group.refreshing
        ? `an instance was launched in response to an instance refresh (${group.refreshing.split('/')[0] ?? ''}).`
        : `an instance was started in response to a difference between desired and actual capacity, increasing the capacity from ${from} to ${this.target(group)}.`,
      status: 'InProgress',
      details: this.details(member)
    })
    // the launch is in progress until the member is InService (the EC2 state listener may already have run)
    if (member.lifecycle === 'InService') this.endActivity(member.launchActivity, 'Successful')
    return true
  }

  /**
   * Where a spot launch goes, as price-capacity-optimized picks: the balanced zone's subnet first, then the
   * others; in each, the first override type (or the template's) whose pool has capacity. None: no capacity.
   */
  private spotPool(
    group: GroupRecord,
    config: LaunchConfig,
    preferred: string,
    azOf: (subnetId: string) => string
  ): { subnetId: string; instanceType?: string } | undefined {
    const types = config.mixed?.overrides.length ? config.mixed.overrides : [undefined]
    const subnets = [preferred, ...group.subnetIds.filter((id) => id !== preferred)]
    for (const subnetId of subnets)
      for (const instanceType of types) {
        const type = instanceType ?? this.launchData(group, config).instanceType
        if (
          spotAvailable(this.cloud.faults, {
            region: group.region,
            instanceType: type,
            availabilityZone: azOf(subnetId)
          })
        )
          return { subnetId, ...(instanceType ? { instanceType } : {}) }
      }
    return undefined
  }

  private scaleOut(group: GroupRecord): void {
    const from = liveMembers(group).length
    if (group.holdLaunchesUntil !== undefined && Date.now() < group.holdLaunchesUntil) {
      this.retryLater(group)
      return
    }
    delete group.holdLaunchesUntil
    try {
      while (liveMembers(group).length < this.target(group)) {
        if (!this.launchOne(group, from)) break
      }
      delete group.launchBlocked
    } catch (err) {
      const message =
        err instanceof SpotCapacityError
          ? err.message
          : err instanceof AwsError
            ? `${err.code}: ${err.message} Launching EC2 instance failed.`
            : String(err)
      if (group.launchBlocked !== message) {
        const activity = this.activity(group, {
          description: 'Launching a new EC2 instance.  Status Reason: ' + message,
          cause: 'an instance launch failed.',
          status: 'Failed',
          message
        })
        this.emit(group, 'EC2 Instance Launch Unsuccessful', undefined, {
          StatusCode: 'Failed',
          AutoScalingGroupName: group.name,
          ActivityId: activity.ActivityId,
          Details: {},
          RequestId: activity.ActivityId,
          StatusMessage: message,
          EndTime: isoSeconds(new Date()),
          EC2InstanceId: '',
          StartTime: isoSeconds(new Date()),
          Cause: activity.Cause,
          Description: activity.Description,
          Origin: 'EC2',
          Destination: 'AutoScalingGroup'
        })
      }
      group.launchBlocked = message
      this.retryLater(group)
    }
  }

  /** AWS keeps retrying failed launches; so does the emulator, untracked so waitIdle does not wait for it. */
  private retryLater(group: GroupRecord): void {
    if (this.retrying.has(group) || this.stopped) return
    const timer = setTimeout(() => {
      this.retrying.delete(group)
      this.schedule(group)
    }, this.cloud.simulation.launchRetryMs ?? 1000)
    timer.unref()
    this.retrying.set(group, timer)
  }

  /** Terminates a member on behalf of the group. */
  terminateMember(group: GroupRecord, member: Member, cause: string): void {
    this.clearActions(member)
    if (member.lifecycle !== 'InService' && !inStandby(member) && !member.abandoned) {
      member.abandoned = 'The instance was terminated before it was in service.'
      this.endActivity(member.launchActivity, 'Cancelled', member.abandoned)
    }
    if (member.lifecycle === 'InService') this.deregisterMember(group, member)
    member.lifecycle = 'Terminating'
    member.terminateActivity = this.activity(group, {
      description: `Terminating EC2 instance: ${member.instanceId}`,
      cause,
      details: this.details(member)
    })
    const instance = this.ec2.instances.get(member.instanceId)
    if (instance)
      terminateInstance(this.ec2, instance, {
        code: 'Client.UserInitiatedShutdown',
        message: 'Client.UserInitiatedShutdown: User initiated shutdown'
      })
    else group.members.delete(member.instanceId)
  }

  private scaleIn(group: GroupRecord): void {
    const latest = this.latestVersion(group)
    const from = liveMembers(group).length
    while (liveMembers(group).length > this.target(group)) {
      const victim = pickVictim(group, latest)
      if (!victim) break
      this.terminateMember(
        group,
        victim,
        `an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from ${from} to ${group.desired}.`
      )
    }
  }

  latestVersion(group: GroupRecord): number {
    return this.versionOf(this.launchConfig(group).template)
  }

  /** The version number a template spec resolves to now (0 when it does not resolve). */
  versionOf(spec: LaunchConfig['template']): number {
    const t = this.ec2.templates.get(spec.id)
    if (!t) return 0
    try {
      return resolveVersion(t, spec.version).versionNumber
    } catch {
      return 0
    }
  }

  reconcile(group: GroupRecord): void {
    if (this.groups.get(this.key(group.region, group.name)) !== group) return
    if (group.deleting) {
      if (group.members.size === 0) this.groups.delete(this.key(group.region, group.name))
      return
    }
    const live = liveMembers(group).length
    if (live < this.target(group)) this.scaleOut(group)
    else if (live > this.target(group)) this.scaleIn(group)
  }
}

/** A time as Auto Scaling's events carry it: ISO 8601 without milliseconds. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

const fleets = new WeakMap<Cloud, Fleet>()

export function fleetOf(cloud: Cloud): Fleet {
  let fleet = fleets.get(cloud)
  if (!fleet) {
    fleet = new Fleet(cloud)
    fleets.set(cloud, fleet)
  }
  return fleet
}

/** AWS's words for a spot launch that found no capacity in any of the group's pools (its scaling activity's StatusMessage). */
export const NO_SPOT_CAPACITY =
  'Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot capacity available that matches your request. Launching EC2 instance failed.'

class SpotCapacityError extends Error {
  constructor() {
    super(NO_SPOT_CAPACITY)
  }
}
