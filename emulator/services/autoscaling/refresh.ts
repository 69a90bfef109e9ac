/** StartInstanceRefresh: replaces the group's instances one at a time on the current launch template version. */
import { randomUUID } from 'node:crypto'
import type { InstanceRefresh, RefreshPreferences } from '@aws-sdk/client-auto-scaling'
import { background } from '../../core/background.js'
import { liveMembers } from './capacity.js'
import type { Fleet } from './fleet.js'
import type { GroupRecord } from './model.js'
import { autoscalingError } from './errors.js'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function active(r: InstanceRefresh): boolean {
  return r.Status === 'Pending' || r.Status === 'InProgress' || r.Status === 'Cancelling'
}

function inService(group: GroupRecord): number {
  return liveMembers(group).filter((m) => m.lifecycle === 'InService').length
}

/** Waits until the group is back at desired capacity with every live instance in service. */
async function settled(fleet: Fleet, group: GroupRecord): Promise<boolean> {
  for (;;) {
    if (fleet.groups.get(fleet.key(group.region, group.name)) !== group || group.deleting) return false
    if (inService(group) >= group.desired && liveMembers(group).length === inService(group)) return true
    if (group.launchBlocked) return false
    await sleep(5)
  }
}

async function run(fleet: Fleet, group: GroupRecord, refresh: InstanceRefresh, skipMatching: boolean): Promise<void> {
  // Pending for a while, as AWS's refreshes are; a cancel ends the wait at once.
  const until = Date.now() + (fleet.cloud.simulation.refreshStartDelayMs ?? 0)
  while (refresh.Status === 'Pending' && Date.now() < until) await sleep(Math.min(50, until - Date.now()))
  if (refresh.Status !== 'Pending') return
  const version = fleet.latestVersion(group)
  const targets = liveMembers(group).filter(
    (m) => !skipMatching || m.versionNumber !== version || m.template.id !== group.template.id
  )
  refresh.Status = 'InProgress'
  refresh.InstancesToUpdate = targets.length
  for (const [done, member] of targets.entries()) {
    if (refresh.Status !== 'InProgress') return
    if (group.members.get(member.instanceId)?.lifecycle !== 'Terminating') {
      fleet.terminateMember(
        group,
        member,
        `an instance was taken out of service in response to an instance refresh (${refresh.InstanceRefreshId}).`
      )
    }
    fleet.schedule(group)
    if (!(await settled(fleet, group))) {
      refresh.Status = 'Failed'
      refresh.StatusReason = group.launchBlocked ?? 'The group was deleted or could not launch replacements.'
      refresh.EndTime = new Date()
      return
    }
    refresh.InstancesToUpdate = targets.length - done - 1
    refresh.PercentageComplete = Math.floor(((done + 1) * 100) / targets.length)
  }
  refresh.Status = 'Successful'
  refresh.PercentageComplete = 100
  refresh.EndTime = new Date()
}

export function startInstanceRefresh(
  fleet: Fleet,
  group: GroupRecord,
  preferences: RefreshPreferences | undefined
): string {
  if (group.refreshes.some(active)) {
    throw autoscalingError(
      'InstanceRefreshInProgress',
      `An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.`
    )
  }
  const refresh: InstanceRefresh = {
    InstanceRefreshId: randomUUID(),
    AutoScalingGroupName: group.name,
    Status: 'Pending',
    StartTime: new Date(),
    PercentageComplete: 0,
    InstancesToUpdate: liveMembers(group).length,
    Preferences: {
      MinHealthyPercentage: preferences?.MinHealthyPercentage ?? 90,
      InstanceWarmup: preferences?.InstanceWarmup,
      SkipMatching: preferences?.SkipMatching ?? false
    }
  }
  group.refreshes.unshift(refresh)
  background(
    fleet.cloud,
    `instance refresh of ${group.name}`,
    run(fleet, group, refresh, preferences?.SkipMatching ?? false)
  )
  return refresh.InstanceRefreshId ?? ''
}

export function cancelInstanceRefresh(group: GroupRecord): string {
  const refresh = group.refreshes.find(active)
  if (!refresh)
    throw autoscalingError('ActiveInstanceRefreshNotFound', 'No in progress or pending Instance Refresh found')
  refresh.Status = 'Cancelled'
  refresh.EndTime = new Date()
  return refresh.InstanceRefreshId ?? ''
}
