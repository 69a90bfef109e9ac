/**
 * Rolls a group's instances to its launch template version: planned when the
 * group moves to a new version, or when instances of an older one are left (a
 * rollout that never ran or never finished). Launches before it terminates.
 */
import { CancelInstanceRefreshCommand, StartInstanceRefreshCommand } from '@aws-sdk/client-auto-scaling'
import { errorCode } from '../aws/errors.js'
import type { Aws } from '../aws/send.js'
import type { Capacity } from '../names.js'
import type { CurrentAsg } from './auto-scaling-group.js'
import type { KindOps, Removal, Upsert } from './kind.js'

export interface DesiredRefresh {
  /** The Auto Scaling group to roll. */
  asg: string
  capacity: Capacity
}

export type RefreshChange = Upsert<'instance-refresh', DesiredRefresh, never> | Removal<'instance-refresh', never>

/** Live instances of the group launched from another version than the one it launches now. */
function outdatedInstances(have: CurrentAsg): number {
  const want = have.launchTemplateVersion
  if (!want || !/^\d+$/.test(want)) return 0
  return have.instances.filter(
    (i) =>
      i.launchTemplateVersion !== undefined &&
      i.launchTemplateVersion !== want &&
      !(i.lifecycleState ?? '').startsWith('Terminat')
  ).length
}

/** Starts the refresh; one toward an older version that still runs is cancelled and ours started once it has stopped. */
async function startRefresh(aws: Aws, asg: string): Promise<string> {
  const start = (): Promise<{ InstanceRefreshId?: string }> =>
    aws.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: asg,
        Strategy: 'Rolling',
        Preferences: { MinHealthyPercentage: 100, MaxHealthyPercentage: 200, SkipMatching: true, InstanceWarmup: 60 }
      })
    )
  try {
    return (await start()).InstanceRefreshId ?? ''
  } catch (err) {
    if (errorCode(err) !== 'InstanceRefreshInProgress') throw err
    await aws.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: asg })).catch((inner: unknown) => {
      if (errorCode(inner) !== 'ActiveInstanceRefreshNotFound') throw inner
    })
    return (await aws.retryOn(['InstanceRefreshInProgress'], start)).InstanceRefreshId ?? ''
  }
}

export const instanceRefresh: KindOps<'instance-refresh'> = {
  kind: 'instance-refresh',
  noun: 'instance refresh of',
  level: 'service',
  dependsOn: ['auto-scaling-group'],
  removeAfter: [],
  diff({ current, planned }, service) {
    const changes: RefreshChange[] = []
    for (const asg of service.asgs) {
      const have = current.asgs.find((g) => g.name === asg.name)
      if (!have || have.instances.length === 0) continue
      const asgChange = planned.find((c) => c.kind === 'auto-scaling-group' && c.name === asg.name)
      const base = {
        kind: 'instance-refresh' as const,
        action: 'create' as const,
        name: asg.name,
        service: service.name,
        desired: { asg: asg.name, capacity: asg.capacity }
      }
      const outdated = outdatedInstances(have)
      if (asgChange?.fields?.includes('launchTemplate'))
        changes.push({
          ...base,
          reason: `roll ${have.instances.length} instance(s) to the new launch template version`
        })
      else if (outdated > 0)
        changes.push({ ...base, reason: `roll ${outdated} instance(s) still on an older launch template version` })
    }
    return changes
  },
  removals: () => [],
  async apply(change, { e }) {
    if (change.action === 'noop') return
    const id = await startRefresh(e, change.desired.asg)
    e.done({ kind: 'instance-refresh', action: 'create', name: change.name, service: change.service, id })
  },
  // A refresh ends with its group.
  remove: async () => undefined
}
