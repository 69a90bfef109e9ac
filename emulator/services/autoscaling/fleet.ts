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
import { liveMembers, nextIsSpot, pickSubnet, pickVictim } from './capacity.js'
import type { GroupRecord, Member } from './model.js'
import { ec2Error } from '../ec2/errors.js'

export const GROUP_NAME_TAG = 'aws:autoscaling:groupName'

export class Fleet {
  readonly groups = new Map<string, GroupRecord>()
  readonly ec2: Ec2World
  private readonly scheduled = new Set<GroupRecord>()
  private readonly retrying = new Map<GroupRecord, NodeJS.Timeout>()
  private stopped = false

  constructor(readonly cloud: Cloud) {
    this.ec2 = ec2World(cloud)
    this.ec2.stateListeners.push((instance) => this.onInstanceState(instance))
    onStop(cloud, () => {
      this.stopped = true
      for (const timer of this.retrying.values()) clearTimeout(timer)
      this.retrying.clear()
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
    a: { description: string; cause: string; status?: 'Successful' | 'Failed'; message?: string }
  ): void {
    const now = new Date()
    const activity: Activity = {
      ActivityId: randomUUID(),
      AutoScalingGroupName: group.name,
      AutoScalingGroupARN: group.arn,
      Description: a.description,
      Cause: `At ${now.toISOString()} ${a.cause}`,
      StartTime: now,
      EndTime: now,
      StatusCode: a.status ?? 'Successful',
      Progress: 100,
      ...(a.message ? { StatusMessage: a.message } : {}),
      Details: '{}'
    }
    group.activities.unshift(activity)
  }

  private onInstanceState(instance: InstanceRecord): void {
    const name = instance.tags[GROUP_NAME_TAG]
    const group = name ? this.groups.get(this.key(instance.region, name)) : undefined
    const member = group?.members.get(instance.instanceId)
    if (!group || !member) return
    if (instance.state === 'running' && member.lifecycle === 'Pending') this.inService(group, member, instance)
    if (instance.state === 'shutting-down' && member.lifecycle !== 'Terminating') {
      member.lifecycle = 'Terminating'
      member.health = 'Unhealthy'
      this.activity(group, {
        description: `Terminating EC2 instance: ${instance.instanceId}`,
        cause: `an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped (${instance.stateReason?.code ?? 'unknown'}).`
      })
    }
    if (instance.state === 'terminated') group.members.delete(instance.instanceId)
    this.schedule(group)
  }

  /**
   * The member's launch completed: InService, and Auto Scaling's `EC2 Instance
   * Launch Successful` on the bus (EventBridge delivers it to matching rules).
   */
  private inService(group: GroupRecord, member: Member, instance: InstanceRecord): void {
    member.lifecycle = 'InService'
    const launch = group.activities.find((a) => a.Description === `Launching a new EC2 instance: ${member.instanceId}`)
    const change = {
      instanceId: member.instanceId,
      groupName: group.name,
      groupArn: group.arn,
      availabilityZone: member.availabilityZone,
      subnetId: instance.subnetId,
      description: launch?.Description ?? `Launching a new EC2 instance: ${member.instanceId}`,
      cause: launch?.Cause ?? '',
      region: group.region,
      time: Date.now()
    }
    this.cloud.bus.emit('autoscaling-launch', change)
  }

  /** The launch template data for the next launch, or an error message. */
  private launchData(group: GroupRecord): { data: ResponseLaunchTemplateData; version: number; instanceType: string } {
    const t = findTemplate(this.ec2, group.region, { LaunchTemplateId: group.template.id })
    const v = resolveVersion(t, group.template.version)
    for (const id of v.data.SecurityGroupIds ?? []) findGroup(this.ec2, group.region, id)
    const instanceType = group.mixed?.overrides[0] ?? v.data.InstanceType ?? 'm1.small'
    return {
      data: { ...v.data, InstanceType: instanceType as ResponseLaunchTemplateData['InstanceType'] },
      version: v.versionNumber,
      instanceType
    }
  }

  private instanceTags(group: GroupRecord, data: ResponseLaunchTemplateData, version: number): Record<string, string> {
    const tags: Record<string, string> = {}
    for (const spec of data.TagSpecifications ?? []) {
      if (spec.ResourceType !== 'instance') continue
      for (const t of spec.Tags ?? []) if (t.Key) tags[t.Key] = t.Value ?? ''
    }
    for (const t of group.tags) if (t.propagateAtLaunch) tags[t.key] = t.value
    tags[GROUP_NAME_TAG] = group.name
    tags['aws:ec2launchtemplate:id'] = group.template.id
    tags['aws:ec2launchtemplate:version'] = String(version)
    return tags
  }

  private launchOne(group: GroupRecord, from: number): boolean {
    const subnetId = pickSubnet(group, (id) => this.ec2.network.subnets.get(id)?.availabilityZone ?? '')
    if (!subnetId) return false
    const { data, version, instanceType } = this.launchData(group)
    const spot = group.mixed ? nextIsSpot(group) : false
    if (spot && this.cloud.faults.spotCapacityUnavailable) {
      throw ec2Error(
        'InsufficientInstanceCapacity',
        `There is no Spot capacity available that matches your request. (instance type ${instanceType})`
      )
    }
    const template = { ...group.template }
    const instance = launchInstance(this.ec2, {
      region: group.region,
      subnetId,
      data,
      tags: this.instanceTags(group, data, version),
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
      launchedAt: Date.now()
    }
    group.members.set(member.instanceId, member)
    this.activity(group, {
      description: `Launching a new EC2 instance: ${instance.instanceId}`,
      cause: `an instance was started in response to a difference between desired and actual capacity, increasing the capacity from ${from} to ${group.desired}.`
    })
    return true
  }

  private scaleOut(group: GroupRecord): void {
    const from = liveMembers(group).length
    try {
      while (liveMembers(group).length < group.desired) {
        if (!this.launchOne(group, from)) break
      }
      delete group.launchBlocked
    } catch (err) {
      const message =
        err instanceof AwsError ? `${err.code}: ${err.message} Launching EC2 instance failed.` : String(err)
      if (group.launchBlocked !== message) {
        this.activity(group, {
          description: 'Launching a new EC2 instance.  Status Reason: ' + message,
          cause: 'an instance launch failed.',
          status: 'Failed',
          message
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
    member.lifecycle = 'Terminating'
    this.activity(group, { description: `Terminating EC2 instance: ${member.instanceId}`, cause })
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
    while (liveMembers(group).length > group.desired) {
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
    const t = this.ec2.templates.get(group.template.id)
    if (!t) return 0
    try {
      return resolveVersion(t, group.template.version).versionNumber
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
    if (live < group.desired) this.scaleOut(group)
    else if (live > group.desired) this.scaleIn(group)
  }
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
