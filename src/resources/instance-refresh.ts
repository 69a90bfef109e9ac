/**
 * Rolls a group's instances to the launch template version the run made: planned when the group
 * moves to a new version, or when instances of an older one are left (a rollout that never ran or
 * never finished). The refresh carries the version as its desired configuration, so the group
 * switches only when every replacement is in service (healthy, through the launch hook); a
 * failed one leaves the group on its version, and AutoRollback (where AWS allows it) or the
 * action's wait replaces what the refresh had replaced. It launches before it terminates: the
 * group never has fewer in-service instances than it wants; except for a service with volumes,
 * whose replacement needs the volume its predecessor holds (terminate first, one at a time).
 */
import {
  CancelInstanceRefreshCommand,
  DescribeInstanceRefreshesCommand,
  StartInstanceRefreshCommand,
  type InstanceRefresh
} from '@aws-sdk/client-auto-scaling'
import { errorCode } from '../aws/errors.js'
import type { Aws } from '../aws/send.js'
import type { Capacity } from '../names.js'
import { launchSpec, liveInstances, rollingFrom, type CurrentAsg } from './auto-scaling-group.js'
import type { KindOps, Removal, TemplateRef, Upsert } from './kind.js'

export interface DesiredRefresh {
  /** The Auto Scaling group to roll. */
  asg: string
  capacity: Capacity
  /** Spot: the overrides its MixedInstancesPolicy keeps. */
  instanceTypes: string[]
  /** The version its instances run now (what a rollback returns to), when the group names a number. */
  from?: TemplateRef
  /**
   * AWS rolls a failed refresh back itself (AutoRollback). It cannot when the template's image is an
   * SSM parameter (the default AMI): the action's wait rolls back then.
   */
  autoRollback: boolean
  /**
   * A service with volumes: each replacement needs the volume of the instance it replaces, so the
   * refresh terminates before it launches, one instance at a time (the group's size sets the share).
   */
  terminateFirst?: { size: number }
}

/**
 * Launch before terminate (100 / 200): never fewer in service. Terminate first (a service with volumes):
 * at most one instance of the group out at a time, and no extra one (AWS's minimum is a share of desired).
 */
export function refreshShares(terminateFirst: { size: number } | undefined): { min: number; max: number } {
  if (!terminateFirst) return { min: 100, max: 200 }
  const n = Math.max(1, terminateFirst.size)
  return { min: Math.floor((100 * (n - 1)) / n), max: 100 }
}

export type RefreshChange = Upsert<'instance-refresh', DesiredRefresh, never> | Removal<'instance-refresh', never>

/** Statuses of a refresh that still moves (AWS's InstanceRefreshStatus). */
export const ACTIVE_REFRESH = ['Pending', 'InProgress', 'Cancelling', 'RollbackInProgress', 'Baking']

/** Live instances of the group launched from another version than the one it launches now. */
function outdatedInstances(have: CurrentAsg): number {
  const want = have.launchTemplateVersion
  if (!want || !/^\d+$/.test(want)) return 0
  return liveInstances(have).filter((i) => i.launchTemplateVersion !== undefined && i.launchTemplateVersion !== want)
    .length
}

/** The version a refresh rolls toward, from its desired configuration. */
export function refreshTarget(r: InstanceRefresh | undefined): string | undefined {
  const d = r?.DesiredConfiguration
  return (d?.LaunchTemplate ?? d?.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification)?.Version
}

/** The group's newest refresh (AWS lists them newest first). */
export async function latestRefresh(aws: Aws, asg: string): Promise<InstanceRefresh | undefined> {
  const out = await aws.send(new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: asg, MaxRecords: 1 }))
  return out.InstanceRefreshes?.[0]
}

/** Starts a refresh toward `to` with AutoRollback: launch before terminate, replacements judged by the launch hook. */
export function startRefresh(
  aws: Aws,
  args: {
    asg: string
    capacity: Capacity
    instanceTypes: string[]
    to: TemplateRef
    autoRollback: boolean
    terminateFirst?: { size: number }
  }
): Promise<{ InstanceRefreshId?: string }> {
  const spec = launchSpec(args, args.to)
  const shares = refreshShares(args.terminateFirst)
  return aws.send(
    new StartInstanceRefreshCommand({
      AutoScalingGroupName: args.asg,
      Strategy: 'Rolling',
      DesiredConfiguration: spec.MixedInstancesPolicy
        ? { MixedInstancesPolicy: spec.MixedInstancesPolicy }
        : { LaunchTemplate: spec.LaunchTemplate },
      Preferences: {
        MinHealthyPercentage: shares.min,
        MaxHealthyPercentage: shares.max,
        SkipMatching: true,
        AutoRollback: args.autoRollback,
        InstanceWarmup: 0
      }
    })
  )
}

/**
 * Starts the refresh. One already rolling toward the same version is the same rollout (a re-run
 * while it runs writes nothing); one toward another version is cancelled and ours started once it has stopped.
 */
async function rollTo(aws: Aws, refresh: DesiredRefresh, to: TemplateRef): Promise<{ id: string; started: boolean }> {
  const start = (): Promise<{ InstanceRefreshId?: string }> => startRefresh(aws, { ...refresh, to })
  try {
    return { id: (await start()).InstanceRefreshId ?? '', started: true }
  } catch (err) {
    if (errorCode(err) !== 'InstanceRefreshInProgress') throw err
    const running = await latestRefresh(aws, refresh.asg)
    if (running && ACTIVE_REFRESH.includes(running.Status ?? '') && refreshTarget(running) === String(to.version))
      return { id: running.InstanceRefreshId ?? '', started: false }
    await aws.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: refresh.asg })).catch((inner: unknown) => {
      if (errorCode(inner) !== 'ActiveInstanceRefreshNotFound') throw inner
    })
    return { id: (await aws.retryOn(['InstanceRefreshInProgress'], start)).InstanceRefreshId ?? '', started: true }
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
      if (!have || liveInstances(have).length === 0) continue
      const asgChange = planned.find((c) => c.kind === 'auto-scaling-group' && c.name === asg.name)
      const fields = asgChange?.fields ?? []
      const from = rollingFrom(have, fields.includes('launchTemplate') ? fields : ['launchTemplate'])
      const base = {
        kind: 'instance-refresh' as const,
        action: 'create' as const,
        name: asg.name,
        service: service.name,
        desired: {
          asg: asg.name,
          capacity: asg.capacity,
          instanceTypes: asg.instanceTypes,
          ...(from ? { from } : {}),
          autoRollback: !service.launchTemplate.spec.imageId.startsWith('resolve:ssm:'),
          ...(service.volumes.length > 0 ? { terminateFirst: { size: asg.size } } : {})
        }
      }
      const outdated = outdatedInstances(have)
      if (fields.includes('launchTemplate'))
        changes.push({
          ...base,
          reason: `roll ${liveInstances(have).length} instance(s) to the new launch template version`
        })
      else if (outdated > 0)
        changes.push({ ...base, reason: `roll ${outdated} instance(s) still on an older launch template version` })
    }
    return changes
  },
  removals: () => [],
  async apply(change, { e, need }) {
    if (change.action === 'noop') return
    const to = await need('launch-template')
    const { id, started } = await rollTo(e, change.desired, to)
    e.done(
      { kind: 'instance-refresh', action: 'create', name: change.name, service: change.service, id },
      started ? `to version ${to.version}` : `to version ${to.version} (already rolling)`
    )
  },
  // A refresh ends with its group.
  remove: async () => undefined
}
