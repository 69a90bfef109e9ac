/**
 * Instance refreshes (StartInstanceRefresh, CancelInstanceRefresh, RollbackInstanceRefresh,
 * DescribeInstanceRefreshes' records), as the API reference and the user guide describe them:
 *
 * - With a DesiredConfiguration, replacements are launched from it while the group keeps its own
 *   configuration (DescribeAutoScalingGroups shows the old one); only when the refresh succeeds does the
 *   group take the desired configuration. Without one, replacements use the group's configuration.
 * - MinHealthyPercentage (0..100, default 90) of desired stays InService and warmed up; with a
 *   MaxHealthyPercentage above 100 (at most 200, at most 100 above the minimum) replacements are launched
 *   first, up to that share of desired, and old instances are terminated only once enough new ones are in
 *   service (through any launch hook) and past InstanceWarmup. At 100 / 100 one instance at a time is
 *   terminated and then replaced.
 * - Failure: AWS fails a refresh on launch failures and on replacements that do not become healthy. The
 *   emulator keeps it simple: a replacement abandoned by a launch hook (or terminated before it is in
 *   service), or a failed launch, fails the refresh at once. With AutoRollback (or RollbackInstanceRefresh)
 *   the refresh goes RollbackInProgress and the instances on the new configuration are replaced by ones on
 *   the group's own (previous) configuration, launch-before-terminate too, then RollbackSuccessful;
 *   otherwise it is Failed with a StatusReason.
 */
import { randomUUID } from 'node:crypto'
import type {
  DesiredConfiguration,
  InstanceRefresh,
  RefreshPreferences,
  StartInstanceRefreshType
} from '@aws-sdk/client-auto-scaling'
import { background } from '../../core/background.js'
import { liveMembers } from './capacity.js'
import type { Fleet } from './fleet.js'
import { launchSource } from './groups.js'
import { findTemplate, resolveVersion } from '../ec2/launch-templates.js'
import type { GroupRecord, LaunchConfig, Member } from './model.js'
import { autoscalingError } from './errors.js'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

interface RefreshRun {
  record: InstanceRefresh
  /** From DesiredConfiguration; undefined: the group's own configuration. */
  desired?: LaunchConfig
  /** Whether DesiredConfiguration named a MixedInstancesPolicy (else a LaunchTemplate, which drops the group's). */
  desiredMixed: boolean
  min: number
  max: number
  warmupMs: number
  skipMatching: boolean
  autoRollback: boolean
  /** Set by RollbackInstanceRefresh. */
  rollbackRequested?: string
}

const runs = new WeakMap<InstanceRefresh, RefreshRun>()

function active(r: InstanceRefresh): boolean {
  return (
    r.Status === 'Pending' ||
    r.Status === 'InProgress' ||
    r.Status === 'Cancelling' ||
    r.Status === 'RollbackInProgress'
  )
}

function validation(message: string): ReturnType<typeof autoscalingError> {
  return autoscalingError('ValidationError', message)
}

function alive(fleet: Fleet, group: GroupRecord): boolean {
  return fleet.groups.get(fleet.key(group.region, group.name)) === group && !group.deleting
}

function matches(fleet: Fleet, m: Member, config: LaunchConfig): boolean {
  if (m.template.id !== config.template.id || m.versionNumber !== fleet.versionOf(config.template)) return false
  const overrides = config.mixed?.overrides ?? []
  return overrides.length === 0 || overrides.includes(m.instanceType)
}

type Outcome = 'done' | 'stopped' | 'failed' | 'rollback'

/** Replaces the members that do not match the configuration being deployed, within the healthy bounds. */
async function replace(
  fleet: Fleet,
  group: GroupRecord,
  run: RefreshRun,
  mode: 'forward' | 'rollback'
): Promise<{ outcome: Outcome; reason?: string }> {
  const record = run.record
  const status = mode === 'forward' ? 'InProgress' : 'RollbackInProgress'
  if (mode === 'forward' && run.desired) group.refreshConfig = run.desired
  else delete group.refreshConfig
  // the phase's id: a replacement lost in this phase fails it (the rollback's own replacements fail the rollback)
  group.refreshing = mode === 'forward' ? record.InstanceRefreshId : `${record.InstanceRefreshId ?? ''}/rollback`
  delete group.refreshFailure
  delete group.launchBlocked
  const config = fleet.launchConfig(group)
  // forward: every live member, or (SkipMatching) those not on the desired configuration; rollback: those not on the group's
  const replaceAll = mode === 'forward' && !run.skipMatching
  const targets = new Set(
    liveMembers(group)
      .filter((m) => replaceAll || !matches(fleet, m, config))
      .map((m) => m.instanceId)
  )
  const count = targets.size
  if (mode === 'forward') record.InstancesToUpdate = count
  else if (record.RollbackDetails) record.RollbackDetails.InstancesToUpdateOnRollback = count
  fleet.schedule(group)
  for (;;) {
    if (mode === 'forward' && run.rollbackRequested) return { outcome: 'rollback', reason: run.rollbackRequested }
    if (record.Status !== status || !alive(fleet, group)) return { outcome: 'stopped' }
    if (group.refreshFailure) return { outcome: 'failed', reason: group.refreshFailure }
    if (group.launchBlocked)
      return { outcome: 'failed', reason: `A replacement instance failed to launch: ${group.launchBlocked}` }
    const remaining = [...targets]
      .map((id) => group.members.get(id))
      .filter((m): m is Member => m !== undefined && m.lifecycle !== 'Terminating')
    if (mode === 'forward') {
      record.InstancesToUpdate = remaining.length
      record.PercentageComplete = count === 0 ? 100 : Math.floor(((count - remaining.length) * 100) / count)
      record.ProgressDetails = {
        LivePoolProgress: { PercentageComplete: record.PercentageComplete, InstancesToUpdate: remaining.length }
      }
    } else if (record.RollbackDetails) record.RollbackDetails.InstancesToUpdateOnRollback = remaining.length
    const now = Date.now()
    const live = liveMembers(group)
    const ready = live.filter(
      (m) => m.lifecycle === 'InService' && m.health === 'Healthy' && now >= (m.inServiceAt ?? now) + run.warmupMs
    )
    const maxExtra = Math.floor((group.desired * run.max) / 100) - group.desired
    if (remaining.length === 0) {
      group.surge = 0
      fleet.schedule(group)
      if (live.length === group.desired && ready.length === live.length) return { outcome: 'done' }
    } else {
      const minReady = Math.ceil((group.desired * run.min) / 100)
      const surge = Math.min(maxExtra, remaining.length)
      let allowed = ready.length - minReady
      // at 100% max (no launch room) one instance at a time goes first, once the group is settled
      if (surge === 0 && ready.length === live.length && live.length === group.desired) allowed = Math.max(allowed, 1)
      const victims = [...remaining].sort((a, b) => a.launchedAt - b.launchedAt).slice(0, Math.max(0, allowed))
      for (const victim of victims) {
        fleet.terminateMember(
          group,
          victim,
          `an instance was taken out of service in response to an instance refresh (${record.InstanceRefreshId ?? ''}).`
        )
      }
      group.surge = Math.min(maxExtra, remaining.length - victims.length)
      fleet.schedule(group)
    }
    await sleep(5)
  }
}

function finish(group: GroupRecord, run: RefreshRun): void {
  if (group.refreshing?.split('/')[0] === run.record.InstanceRefreshId) {
    delete group.refreshing
    delete group.refreshConfig
    delete group.refreshFailure
    group.surge = 0
  }
}

async function execute(fleet: Fleet, group: GroupRecord, run: RefreshRun): Promise<void> {
  const record = run.record
  // Pending for a while, as AWS's refreshes are; a cancel ends the wait at once.
  const until = Date.now() + (fleet.cloud.simulation.refreshStartDelayMs ?? 0)
  while (record.Status === 'Pending' && !run.rollbackRequested && Date.now() < until)
    await sleep(Math.min(50, until - Date.now()))
  if (record.Status !== 'Pending' && !run.rollbackRequested) return
  record.Status = 'InProgress'
  const forward = await replace(fleet, group, run, 'forward')
  if (forward.outcome === 'stopped') {
    finish(group, run)
    return
  }
  if (forward.outcome === 'done') {
    // Once the refresh succeeds, the group takes the desired configuration (StartInstanceRefresh, DesiredConfiguration).
    if (run.desired) {
      group.template = run.desired.template
      if (run.desiredMixed && run.desired.mixed) group.mixed = run.desired.mixed
      else delete group.mixed
    }
    finish(group, run)
    record.Status = 'Successful'
    record.PercentageComplete = 100
    record.InstancesToUpdate = 0
    record.ProgressDetails = { LivePoolProgress: { PercentageComplete: 100, InstancesToUpdate: 0 } }
    record.EndTime = new Date()
    fleet.schedule(group)
    return
  }
  const reason = forward.reason ?? 'The instance refresh failed.'
  if (forward.outcome === 'failed' && !run.autoRollback) {
    finish(group, run)
    record.Status = 'Failed'
    record.StatusReason = reason
    record.EndTime = new Date()
    fleet.schedule(group)
    return
  }
  record.Status = 'RollbackInProgress'
  record.StatusReason = reason
  record.RollbackDetails = {
    RollbackReason: reason,
    RollbackStartTime: new Date(),
    PercentageCompleteOnRollback: record.PercentageComplete ?? 0,
    InstancesToUpdateOnRollback: 0
  }
  const back = await replace(fleet, group, run, 'rollback')
  finish(group, run)
  fleet.schedule(group)
  if (back.outcome === 'stopped') return
  record.Status = back.outcome === 'done' ? 'RollbackSuccessful' : 'RollbackFailed'
  if (back.outcome !== 'done') record.StatusReason = back.reason ?? 'The rollback failed.'
  record.EndTime = new Date()
}

/** The group's launch template version names its image as `resolve:ssm:...`. */
function usesSsmImage(fleet: Fleet, group: GroupRecord): boolean {
  try {
    const version = resolveVersion(
      findTemplate(fleet.ec2, group.region, { LaunchTemplateId: group.template.id }),
      group.template.version
    )
    return (version.data.ImageId ?? '').startsWith('resolve:ssm:')
  } catch {
    return false
  }
}

function isFloating(version: string): boolean {
  return version === '$Latest' || version === '$Default'
}

function preferences(group: GroupRecord, p: RefreshPreferences | undefined): RefreshPreferences {
  const min = p?.MinHealthyPercentage ?? 90
  if (min < 0 || min > 100) throw validation('MinHealthyPercentage must be between 0 and 100.')
  if (p?.MaxHealthyPercentage !== undefined) {
    const max = p.MaxHealthyPercentage
    if (max < 100 || max > 200) throw validation('MaxHealthyPercentage must be between 100 and 200.')
    if (p.MinHealthyPercentage === undefined)
      throw validation('Both MinHealthyPercentage and MaxHealthyPercentage must be specified.')
    if (max - min > 100)
      throw validation(
        'The difference between MaxHealthyPercentage and MinHealthyPercentage cannot be greater than 100.'
      )
  }
  if (p?.InstanceWarmup !== undefined && p.InstanceWarmup < 0)
    throw validation('InstanceWarmup must be greater than or equal to 0.')
  return {
    MinHealthyPercentage: min,
    MaxHealthyPercentage: p?.MaxHealthyPercentage ?? 100,
    // AWS: the group's DefaultInstanceWarmup, else its HealthCheckGracePeriod
    InstanceWarmup: p?.InstanceWarmup ?? group.healthCheckGracePeriod,
    SkipMatching: p?.SkipMatching ?? false,
    AutoRollback: p?.AutoRollback ?? false,
    ScaleInProtectedInstances: p?.ScaleInProtectedInstances ?? 'Ignore',
    StandbyInstances: p?.StandbyInstances ?? 'Ignore'
  }
}

function desiredConfiguration(
  fleet: Fleet,
  group: GroupRecord,
  d: DesiredConfiguration | undefined
): { config?: LaunchConfig; mixed: boolean; echo?: DesiredConfiguration } {
  if (!d || (!d.LaunchTemplate && !d.MixedInstancesPolicy)) return { mixed: false }
  const source = launchSource(
    fleet,
    group.region,
    { LaunchTemplate: d.LaunchTemplate, MixedInstancesPolicy: d.MixedInstancesPolicy },
    group
  )
  const spec = {
    LaunchTemplateId: source.template.id,
    LaunchTemplateName: source.template.name,
    Version: source.template.version
  }
  const echo: DesiredConfiguration = d.MixedInstancesPolicy
    ? {
        MixedInstancesPolicy: {
          ...d.MixedInstancesPolicy,
          LaunchTemplate: { ...d.MixedInstancesPolicy.LaunchTemplate, LaunchTemplateSpecification: spec }
        }
      }
    : { LaunchTemplate: spec }
  return {
    config: { template: source.template, ...(source.mixed ? { mixed: source.mixed } : {}) },
    mixed: d.MixedInstancesPolicy !== undefined,
    echo
  }
}

export function startInstanceRefresh(fleet: Fleet, group: GroupRecord, input: StartInstanceRefreshType): string {
  if (input.Strategy !== undefined && input.Strategy !== 'Rolling' && input.Strategy !== 'ReplaceRootVolume')
    throw validation(`Invalid Strategy: ${input.Strategy}`)
  if (group.refreshes.some(active)) {
    throw autoscalingError(
      'InstanceRefreshInProgress',
      `An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.`
    )
  }
  const prefs = preferences(group, input.Preferences)
  const desired = desiredConfiguration(fleet, group, input.DesiredConfiguration)
  if (prefs.AutoRollback) {
    if (!desired.config)
      throw validation(
        "The request isn't valid. The AutoRollback parameter cannot be set to true when the DesiredConfiguration parameter is empty. Set AutoRollback to false or specify a desired configuration and try again."
      )
    if (isFloating(group.template.version))
      throw validation(
        `The request isn't valid. The AutoRollback parameter cannot be set to true when the Auto Scaling group uses the ${group.template.version} version of its launch template. Set AutoRollback to false or use a specific launch template version and try again.`
      )
    // AWS cannot roll back to a template whose image is an SSM parameter (what it resolves to may have moved).
    if (usesSsmImage(fleet, group))
      throw validation(
        "The request isn't valid. The AutoRollback parameter cannot be set to true when the Auto Scaling group's launch template uses an AWS Systems Manager parameter instead of an AMI ID for the ImageId property. Set AutoRollback to false and try again."
      )
  }
  const record: InstanceRefresh = {
    InstanceRefreshId: randomUUID(),
    AutoScalingGroupName: group.name,
    Status: 'Pending',
    StartTime: new Date(),
    PercentageComplete: 0,
    InstancesToUpdate: liveMembers(group).length,
    Preferences: prefs,
    ...(desired.echo ? { DesiredConfiguration: desired.echo } : {}),
    Strategy: input.Strategy ?? 'Rolling'
  }
  const run: RefreshRun = {
    record,
    ...(desired.config ? { desired: desired.config } : {}),
    desiredMixed: desired.mixed,
    min: prefs.MinHealthyPercentage ?? 90,
    max: prefs.MaxHealthyPercentage ?? 100,
    warmupMs: (prefs.InstanceWarmup ?? 0) * (fleet.cloud.simulation.warmupTimeScale ?? 0),
    skipMatching: prefs.SkipMatching ?? false,
    autoRollback: prefs.AutoRollback ?? false
  }
  runs.set(record, run)
  group.refreshes.unshift(record)
  background(fleet.cloud, `instance refresh of ${group.name}`, execute(fleet, group, run))
  return record.InstanceRefreshId ?? ''
}

export function cancelInstanceRefresh(group: GroupRecord): string {
  const refresh = group.refreshes.find(active)
  if (!refresh)
    throw autoscalingError('ActiveInstanceRefreshNotFound', 'No in progress or pending Instance Refresh found')
  refresh.Status = 'Cancelled'
  refresh.EndTime = new Date()
  return refresh.InstanceRefreshId ?? ''
}

/** RollbackInstanceRefresh: rolls back the refresh in progress to the group's own (previous) configuration. */
export function rollbackInstanceRefresh(group: GroupRecord): string {
  const refresh = group.refreshes.find((r) => r.Status === 'Pending' || r.Status === 'InProgress')
  const run = refresh ? runs.get(refresh) : undefined
  if (!refresh || !run)
    throw autoscalingError('ActiveInstanceRefreshNotFound', 'No in progress or pending Instance Refresh found')
  if (!run.desired)
    throw autoscalingError(
      'IrreversibleInstanceRefresh',
      'The instance refresh cannot be rolled back: it was started without a desired configuration.'
    )
  if (isFloating(group.template.version))
    throw autoscalingError(
      'IrreversibleInstanceRefresh',
      `The instance refresh cannot be rolled back: the Auto Scaling group uses the ${group.template.version} version of its launch template.`
    )
  run.rollbackRequested = 'Rollback initiated by user.'
  return refresh.InstanceRefreshId ?? ''
}
