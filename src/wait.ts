/**
 * Waits until the stack runs what the run deployed: every group has its desired instances in
 * service (the agent completed their launch hook: the container is healthy) on the version the run
 * rolled to, and every service record lists exactly their private IPs (the DNS updater writes
 * them); behind the load balancer, every instance in service is also a healthy target of its
 * service's target groups. A fixed number of reads per poll, whatever the number of services, plus
 * one DescribeTargetHealth per target group (AWS reads one group per call); one progress line per poll.
 *
 * A rollout that fails stops the wait early: an instance the agent abandoned (its line
 * `hyperform-agent: abandon: <reason>` in the stack's log group) or a refresh that failed or rolled
 * back. The service's groups are rolled back (AWS's rollback, or a refresh to the previous version
 * for a group whose refresh had already succeeded), its launch template is restored to the version
 * that serves, and the failure names the service, the version, what happened and the container's
 * last log lines.
 */
import { GetLogEventsCommand, paginateFilterLogEvents } from '@aws-sdk/client-cloudwatch-logs'
import { CancelInstanceRefreshCommand, RollbackInstanceRefreshCommand } from '@aws-sdk/client-auto-scaling'
import { DescribeTargetGroupsCommand, DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2'
import { CreateTagsCommand, ModifyLaunchTemplateCommand } from '@aws-sdk/client-ec2'
import type { Clients } from './aws/clients.js'
import { errorCode, errorMessage } from './aws/errors.js'
import { readInstances } from './aws/instances.js'
import { sleep } from './aws/retry.js'
import { Aws } from './aws/send.js'
import { AGENT_MARK, TAGS, containerLogGroupName, stackDomain, zoneName, type Capacity } from './names.js'
import { heldForSpot, readAsgs, type CurrentAsg, type CurrentAsgInstance } from './resources/auto-scaling-group.js'
import { findZone, listRecordsUnder } from './resources/hosted-zone.js'
import { ACTIVE_REFRESH, latestRefresh, refreshTarget, startRefresh } from './resources/instance-refresh.js'
import { stackFilters, tagList, type TemplateRef } from './resources/kind.js'
import type { CurrentLaunchTemplate } from './resources/launch-template.js'
import type {
  CurrentInstance,
  CurrentRecord,
  DesiredService,
  DesiredState,
  ServiceFailure,
  SpotShortage,
  WaitResult
} from './state.js'
import type { SpotFallback } from './inputs.js'
import { fallBack, handBack, missing, shortageLine, spotFailure, spotGraceMs } from './spot-capacity.js'

/** A group the run is rolling to a new version (an instance refresh it started). */
export interface Rollout {
  service: string
  asg: string
  capacity: Capacity
  instanceTypes: string[]
  /** The version its instances ran before the run: where the action's own rollback returns. */
  from?: TemplateRef
  /** AWS rolls the refresh back itself (RollbackInstanceRefresh applies); else the action cancels it. */
  autoRollback: boolean
  /** A service with volumes rolls terminate-first (resources/instance-refresh.ts). */
  terminateFirst?: { size: number }
}

export interface WaitContext {
  clients: Clients
  desired: DesiredState
  timeoutSeconds: number
  log: (line: string) => void
  /** Longest poll interval, ms (default 5000; the first polls come sooner). */
  pollMs?: number
  /**
   * What the run read before applying, when apply wrote nothing: judged first, without reading
   * (a no-op deploy of a ready stack then costs no wait calls at all).
   */
  seen?: { zoneId?: string; asgs: CurrentAsg[]; instances: CurrentInstance[]; records: CurrentRecord[] }
  /** The rollouts the run started. */
  rollouts?: Rollout[]
  /** When the run started writing (ms): abandons logged since belong to it. */
  since?: number
  /** The launch templates as read before the run, restored for a service whose rollout fails. */
  previous?: CurrentLaunchTemplate[]
  /** Hides secret values in the log lines a failure quotes. */
  mask?: (line: string) => string
  /** How long a failed service's rollback may take before the wait ends anyway (ms, default 120000). */
  rollbackMs?: number
  /** A spot group short of capacity this long has its activities read (ms; default 60 s, or half the wait if shorter). */
  spotGraceMs?: number
  /** The spot-fallback input: `on-demand` runs the spot instances missing that long in the on-demand group. */
  spotFallback?: SpotFallback
}

type ServiceStatus = WaitResult['services'][number]

/** Refresh statuses that mean the rollout failed. */
const FAILED_REFRESH = ['Failed', 'Cancelled', 'RollbackInProgress', 'RollbackSuccessful', 'RollbackFailed']
/** How many of a container's last log lines a failure quotes. */
const FAILURE_LINES = 20
const ABANDON = `${AGENT_MARK} abandon:`

/** The version a group's instances must run: its refresh's target while the run rolls it, else the group's own. */
function targetVersion(asg: CurrentAsg, refreshTo: Map<string, string>): string | undefined {
  return refreshTo.get(asg.name) ?? asg.launchTemplateVersion
}

/** True unless both versions are known numbers and differ ("$Latest" / "$Default" are not compared). */
function onVersion(want: string | undefined, instance: CurrentAsgInstance): boolean {
  const have = instance.launchTemplateVersion
  return !want || !have || !/^\d+$/.test(want) || !/^\d+$/.test(have) || want === have
}

/** A target's state in its target group (healthy, initial, unhealthy, draining...) and why. */
interface TargetState {
  state: string
  reason?: string
}

interface Seen {
  asgs: CurrentAsg[]
  instances: CurrentInstance[]
  records: CurrentRecord[]
  /** Public services with a domain: each target group's targets, by group name then instance id. */
  targets: Map<string, Map<string, TargetState>>
  /** Rolling groups: the version their refresh rolls to, and its status. */
  refreshes: Map<string, { to?: string; status: string; reason?: string }>
}

function serviceStatus(service: DesiredService, seen: Seen): ServiceStatus {
  const desired = service.asgs.reduce((n, a) => n + a.size, 0)
  const running = new Map(
    seen.instances.filter((i) => i.service === service.name && i.state === 'running').map((i) => [i.id, i])
  )
  const refreshTo = new Map([...seen.refreshes].flatMap(([g, r]) => (r.to ? [[g, r.to] as const] : [])))
  const groups = seen.asgs.filter((g) => service.asgs.some((a) => a.name === g.name))
  // In service: the launch hook completed (the container is healthy), healthy since, running.
  const inService = groups.flatMap((g) =>
    g.instances
      .filter(
        (i) =>
          i.lifecycleState === 'InService' &&
          i.healthStatus !== 'Unhealthy' &&
          running.has(i.id) &&
          !running.get(i.id)?.leaving
      )
      .map((i) => ({ group: g, instance: i }))
  )
  const current = inService.filter(({ group, instance }) => onVersion(targetVersion(group, refreshTo), instance))
  const instanceIps = inService
    .map(({ instance }) => running.get(instance.id)?.privateIp ?? '')
    .filter(Boolean)
    .sort()
  const publicIps = inService
    .map(({ instance }) => running.get(instance.id)?.publicIp ?? '')
    .filter(Boolean)
    .sort()
  const record = seen.records.find((r) => r.name === service.recordName && r.type === 'A')
  const recordValues = [...(record?.values ?? [])].sort()
  const sizesOk = service.asgs.every((a) => seen.asgs.find((g) => g.name === a.name)?.desired === a.size)
  const rolled = service.asgs.every((a) => (seen.refreshes.get(a.name)?.status ?? 'Successful') === 'Successful')
  // Behind the load balancer: every instance in service is a healthy target of each of the service's groups.
  const targets = service.endpoints.map((e) => {
    const states = seen.targets.get(e.targetGroup.name) ?? new Map<string, TargetState>()
    const healthy = inService.filter(({ instance }) => states.get(instance.id)?.state === 'healthy').length
    const sick = inService
      .map(({ instance }) => states.get(instance.id))
      .find((t) => t !== undefined && t.state !== 'healthy' && t.reason)
    return { healthy, reason: sick?.reason }
  })
  const healthyTargets = targets.length > 0 ? Math.min(...targets.map((t) => t.healthy)) : undefined
  const ready =
    sizesOk &&
    rolled &&
    current.length === desired &&
    inService.length === desired &&
    (healthyTargets === undefined || healthyTargets === desired) &&
    recordValues.join(',') === instanceIps.join(',')
  const targetReason = targets.find((t) => t.reason)?.reason
  return {
    service: service.name,
    desired,
    running: current.length,
    recordValues,
    instanceIps,
    publicIps,
    ...(healthyTargets !== undefined ? { healthyTargets } : {}),
    ...(targetReason ? { targetReason } : {}),
    ready
  }
}

function progress(statuses: ServiceStatus[], elapsedS: number): string {
  const ready = statuses.filter((s) => s.ready).length
  const pending = statuses
    .filter((s) => !s.ready)
    .slice(0, 10)
    .map((s) => {
      const targets =
        s.healthyTargets === undefined
          ? ''
          : `, targets ${s.healthyTargets}/${s.desired} healthy${s.targetReason ? ` (${s.targetReason})` : ''}`
      return `${s.service} ${s.running}/${s.desired} in service, record ${s.recordValues.length}/${s.instanceIps.length}${targets}`
    })
  return `wait ${elapsedS}s: ${ready}/${statuses.length} services ready${pending.length ? `; ${pending.join('; ')}` : ''}`
}

/** An instance the agent gave up on: its service, the reason it logged, when. */
interface Abandon {
  service: string
  instance: string
  stream: string
  reason: string
  at: number
}

/** The agent's abandon lines since the run started, oldest first (one filtered search of the stack's group). */
async function readAbandons(aws: Aws, ctx: WaitContext): Promise<Abandon[]> {
  const out: Abandon[] = []
  try {
    for await (const page of paginateFilterLogEvents(
      { client: aws.through('logs') },
      {
        logGroupName: containerLogGroupName(ctx.desired.scope),
        filterPattern: `"${ABANDON}"`,
        startTime: ctx.since ?? Date.now()
      }
    )) {
      for (const e of page.events ?? []) {
        const message = e.message ?? ''
        const at = message.indexOf(ABANDON)
        const [service = '', instance = ''] = (e.logStreamName ?? '').split('/')
        if (at < 0 || !service) continue
        const reason = message.slice(at + ABANDON.length).trim()
        out.push({ service, instance, stream: e.logStreamName ?? '', reason, at: e.timestamp ?? Date.now() })
      }
    }
  } catch (err) {
    // No group yet (nothing has logged): no abandons.
    if (errorCode(err) !== 'ResourceNotFoundException') throw err
  }
  return out.sort((a, b) => a.at - b.at)
}

async function readRefreshes(aws: Aws, rollouts: Rollout[]): Promise<Seen['refreshes']> {
  const entries = await Promise.all(
    rollouts.map(async (r) => {
      const latest = await latestRefresh(aws, r.asg)
      return [
        r.asg,
        { to: refreshTarget(latest), status: latest?.Status ?? 'Successful', reason: latest?.StatusReason }
      ] as const
    })
  )
  return new Map(entries)
}

/** The target groups' ARNs by name, read once (none until they all exist). */
async function targetGroupArns(aws: Aws, names: string[]): Promise<Map<string, string>> {
  if (names.length === 0) return new Map()
  try {
    const out = await aws.send(new DescribeTargetGroupsCommand({ Names: names }))
    return new Map((out.TargetGroups ?? []).map((g) => [g.TargetGroupName ?? '', g.TargetGroupArn ?? '']))
  } catch (err) {
    if (errorCode(err) === 'TargetGroupNotFound') return new Map()
    throw err
  }
}

/** One DescribeTargetHealth per target group (AWS reads one group per call). */
async function readTargets(aws: Aws, arns: Map<string, string>): Promise<Seen['targets']> {
  const entries = await Promise.all(
    [...arns].map(async ([name, arn]) => {
      const out = await aws.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }))
      const states = new Map<string, TargetState>()
      for (const d of out.TargetHealthDescriptions ?? []) {
        const id = d.Target?.Id
        if (!id) continue
        const reason = d.TargetHealth?.Description ?? d.TargetHealth?.Reason
        states.set(id, { state: d.TargetHealth?.State ?? 'unavailable', ...(reason ? { reason } : {}) })
      }
      return [name, states] as const
    })
  )
  return new Map(entries)
}

async function poll(
  aws: Aws,
  ctx: WaitContext,
  zoneId: string | undefined,
  groups: Map<string, string>
): Promise<Seen> {
  const scope = ctx.desired.scope
  const [asgs, instances, records, refreshes, targets] = await Promise.all([
    readAsgs(aws, stackFilters(scope)),
    readInstances(aws, scope, ['pending', 'running']),
    zoneId ? listRecordsUnder(aws, zoneId, stackDomain(scope)) : Promise.resolve([]),
    readRefreshes(aws, ctx.rollouts ?? []),
    readTargets(aws, groups)
  ])
  return { asgs, instances, records, refreshes, targets }
}

/** A container's last lines, masked (none when its stream cannot be read). */
async function lastLines(aws: Aws, ctx: WaitContext, stream: string): Promise<string[]> {
  try {
    const out = await aws.send(
      new GetLogEventsCommand({
        logGroupName: containerLogGroupName(ctx.desired.scope),
        logStreamName: stream,
        limit: FAILURE_LINES,
        startFromHead: false
      })
    )
    const mask = ctx.mask ?? ((l: string) => l)
    return (out.events ?? []).map((e) => mask(e.message ?? ''))
  } catch {
    return []
  }
}

/**
 * Rolls a failed service's groups back. A refresh still running is rolled back by AWS where it can
 * (it may have begun already, AutoRollback), else cancelled: it launches before it terminates and
 * the group switches only when it succeeds, so the group is still on its version and AWS scales
 * the replacements in. A refresh that succeeded is followed by one back to the previous version.
 */
async function rollBack(aws: Aws, ctx: WaitContext, service: string, seen: Seen): Promise<void> {
  for (const r of (ctx.rollouts ?? []).filter((x) => x.service === service)) {
    const refresh = seen.refreshes.get(r.asg)
    const status = refresh?.status ?? ''
    try {
      if (status === 'Pending' || status === 'InProgress' || status === 'Baking') {
        if (r.autoRollback) await aws.send(new RollbackInstanceRefreshCommand({ AutoScalingGroupName: r.asg }))
        else await aws.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: r.asg }))
        ctx.log(`${service}: ${r.autoRollback ? 'rolling back' : 'cancelling'} the instance refresh of ${r.asg}`)
      } else if (status === 'Successful' && r.from && refresh?.to !== String(r.from.version)) {
        const back = r.from
        await aws.retryOn(['InstanceRefreshInProgress'], () => startRefresh(aws, { ...r, to: back }))
        ctx.log(`${service}: rolling ${r.asg} back to launch template version ${back.version}`)
      }
    } catch (err) {
      // AWS's own rollback may have begun meanwhile; the next poll shows it.
      ctx.log(`${service}: rollback of ${r.asg}: ${errorCode(err) || 'error'}: ${errorMessage(err)}`)
    }
  }
  await restoreTemplate(aws, ctx, service)
}

/** The template's default version and tags back to what serves, so the next run compares against it. */
async function restoreTemplate(aws: Aws, ctx: WaitContext, service: string): Promise<void> {
  const before = ctx.previous?.find((t) => t.service === service)
  if (!before || !(ctx.rollouts ?? []).some((r) => r.service === service)) return
  const version = before.actionVersion ?? before.defaultVersion
  const tags: Record<string, string | undefined> = {
    [TAGS.configHash]: before.configHash,
    [TAGS.image]: before.image,
    [TAGS.instanceType]: before.instanceType,
    [TAGS.version]: String(version),
    [TAGS.configuration]: before.configuration
      ? `${before.configuration.hash}@${before.configuration.version}`
      : undefined,
    [TAGS.rolePolicy]: before.rolePolicy
  }
  const defined = Object.fromEntries(Object.entries(tags).filter((e): e is [string, string] => e[1] !== undefined))
  try {
    await aws.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: before.id, DefaultVersion: String(version) }))
    await aws.send(new CreateTagsCommand({ Resources: [before.id], Tags: tagList(defined) }))
    ctx.log(`${service}: launch template ${before.name} restored to version ${version}`)
  } catch (err) {
    ctx.log(`${service}: could not restore launch template ${before.name}: ${errorMessage(err)}`)
  }
}

/** What serves now, once the rollback settled (or the wait gave up on it). */
function outcome(service: DesiredService, ctx: WaitContext, status: ServiceStatus | undefined): string {
  const before = ctx.previous?.find((t) => t.service === service.name)
  const serving = status?.instanceIps.length ?? 0
  if (!before)
    return `no earlier version: the stack stays as deployed, with ${serving} ${service.name} instance(s) in service`
  const image = before.image ? ` ${before.image}` : ''
  return `rolled back: the previous version${image} is still serving (${serving} instance(s) in service)`
}

function rollbackSettled(ctx: WaitContext, service: string, seen: Seen): boolean {
  return (ctx.rollouts ?? [])
    .filter((r) => r.service === service)
    .every((r) => !ACTIVE_REFRESH.includes(seen.refreshes.get(r.asg)?.status ?? ''))
}

/** Failures found in this poll, for services not failed yet: abandoned instances, refreshes that failed. */
async function newFailures(
  aws: Aws,
  ctx: WaitContext,
  seen: Seen,
  known: Map<string, ServiceFailure>
): Promise<ServiceFailure[]> {
  const found: ServiceFailure[] = []
  const abandons = await readAbandons(aws, ctx)
  for (const service of ctx.desired.services) {
    if (known.has(service.name)) continue
    const abandon = abandons.find((a) => a.service === service.name)
    const failedRefresh = (ctx.rollouts ?? [])
      .filter((r) => r.service === service.name)
      .map((r) => ({ r, refresh: seen.refreshes.get(r.asg) }))
      .find(({ refresh }) => FAILED_REFRESH.includes(refresh?.status ?? ''))
    if (!abandon && !failedRefresh) continue
    const reason = abandon
      ? `${abandon.reason} (instance ${abandon.instance})`
      : `instance refresh of ${failedRefresh?.r.asg ?? ''} ${failedRefresh?.refresh?.status ?? ''}: ${failedRefresh?.refresh?.reason ?? 'no reason given'}`
    found.push({
      service: service.name,
      version: service.image,
      ...(abandon ? { instance: abandon.instance, abandonedAt: abandon.at } : {}),
      reason,
      lines: abandon ? await lastLines(aws, ctx, abandon.stream) : [],
      outcome: ''
    })
  }
  return found
}

/** What the wait knows of its spot groups' capacity. */
interface SpotWatch {
  grace: number
  /** Group -> since when it lacks instances (ms). */
  shortSince: Map<string, number>
  /** Group -> when its activities were last read without showing a spot failure (ms). */
  checkedAt: Map<string, number>
  /** Spot group -> its shortage, as reported. */
  shortages: Map<string, SpotShortage>
  /** Group -> its size after a fallback (the desired state's otherwise). */
  sizes: Map<string, number>
  /** On-demand group -> the instances it holds for its spot group since an earlier deploy's fallback. */
  held: Map<string, number>
  /** `held` has been read (on the first poll). */
  heldRead: boolean
}

/**
 * On the first poll: the on-demand groups that still hold instances an earlier deploy's fallback moved
 * (the plan kept them: heldForSpot); they count as the groups' size until the wait hands them back.
 */
function readHeld(ctx: WaitContext, seen: Seen, watch: SpotWatch): void {
  if (watch.heldRead) return
  watch.heldRead = true
  for (const want of ctx.desired.services.flatMap((s) => s.asgs)) {
    const group = seen.asgs.find((g) => g.name === want.name)
    const n = group ? heldForSpot(want, group) : 0
    if (n === 0) continue
    watch.held.set(want.name, n)
    watch.sizes.set(want.name, want.size + n)
  }
}

/** The service with the sizes its groups have after the wait's fallbacks. */
function withSizes(service: DesiredService, sizes: Map<string, number>): DesiredService {
  if (!service.asgs.some((a) => sizes.has(a.name))) return service
  return { ...service, asgs: service.asgs.map((a) => ({ ...a, size: sizes.get(a.name) ?? a.size })) }
}

/**
 * Spot groups short of instances for the grace time: one DescribeScalingActivities each (again only
 * after another grace time when it showed no spot failure); a spot failure is logged, and with
 * spot-fallback: on-demand the missing count moves to the service's on-demand group.
 */
async function watchSpot(aws: Aws, ctx: WaitContext, seen: Seen, watch: SpotWatch): Promise<void> {
  const now = Date.now()
  for (const service of ctx.desired.services) {
    const want = service.asgs.find((a) => a.capacity === 'spot')
    const group = want && seen.asgs.find((g) => g.name === want.name)
    if (!want || !group) continue
    const onDemandWant = service.asgs.find((a) => a.capacity === 'on-demand')
    const onDemand = onDemandWant && seen.asgs.find((g) => g.name === onDemandWant.name)
    // A fallback this wait made, not yet visible in what it read: judged once it is (never moved twice).
    const spotSize = watch.sizes.get(group.name) ?? want.size
    const onDemandSize = onDemandWant ? (watch.sizes.get(onDemandWant.name) ?? onDemandWant.size) : 0
    if (group.desired !== spotSize || (onDemand && onDemand.desired !== onDemandSize)) continue
    const held = onDemand ? (watch.held.get(onDemand.name) ?? 0) : 0
    const spotInService = group.instances.filter((i) => i.lifecycleState === 'InService').length
    if (held > 0 && onDemand && onDemandWant && spotSize === want.size && spotInService >= want.size) {
      // Spot runs again: the instances held for it go.
      await handBack(aws, onDemand, onDemandWant.size)
      watch.held.delete(onDemand.name)
      watch.sizes.set(onDemand.name, onDemandWant.size)
      ctx.log(
        `${service.name}: spot capacity back: ${held} on-demand instance${held === 1 ? '' : 's'} handed back (${onDemand.name} ${onDemandWant.size + held} -> ${onDemandWant.size})`
      )
      continue
    }
    const lacking = missing(group)
    if (lacking === 0) {
      watch.shortSince.delete(group.name)
      if (!watch.shortages.get(group.name)?.onDemand) watch.shortages.delete(group.name)
      continue
    }
    const since = watch.shortSince.get(group.name) ?? now
    watch.shortSince.set(group.name, since)
    const seconds = Math.round((now - since) / 1000)
    const known = watch.shortages.get(group.name)
    if (known && !known.onDemand) {
      watch.shortages.set(group.name, { ...known, missing: lacking, seconds })
      continue
    }
    if (now - since < watch.grace || now - (watch.checkedAt.get(group.name) ?? 0) < watch.grace) continue
    const message = await spotFailure(aws, group.name)
    if (!message) {
      watch.checkedAt.set(group.name, now)
      continue
    }
    const shortage: SpotShortage = {
      service: service.name,
      group: group.name,
      missing: lacking,
      seconds,
      message,
      onDemand: false
    }
    if (ctx.spotFallback === 'on-demand' && onDemandWant && onDemand) {
      // The on-demand group runs what the spot group lacks (or what it already holds for it, if more).
      const spotTo = spotSize - lacking
      const moved = Math.max(want.size - spotTo, held)
      const onDemandTo = onDemandWant.size + moved
      await fallBack(aws, { spot: group, onDemand }, { spot: spotTo, onDemand: onDemandTo, moved })
      watch.sizes.set(group.name, spotTo)
      watch.sizes.set(onDemand.name, onDemandTo)
      const before = known?.onDemand ? known.missing : 0
      watch.shortages.set(group.name, {
        ...shortage,
        missing: before + lacking,
        onDemand: true,
        onDemandGroup: onDemand.name
      })
      watch.shortSince.delete(group.name)
      ctx.log(shortageLine({ ...shortage, onDemand: true, onDemandGroup: onDemand.name }))
    } else {
      watch.shortages.set(group.name, shortage)
      ctx.log(shortageLine(shortage))
    }
  }
}

export async function waitForStack(ctx: WaitContext): Promise<WaitResult> {
  const started = Date.now()
  const deadline = started + ctx.timeoutSeconds * 1000
  const pollMs = ctx.pollMs ?? 5000
  // Start polling fast (instances often come up within seconds), back off to pollMs.
  let interval = Math.min(pollMs, 1000)
  const seenBefore = ctx.seen
  const groupNames = ctx.desired.services.flatMap((s) => s.endpoints.map((e) => e.targetGroup.name))
  // Target health is not read before apply: a stack with public endpoints is judged by polling.
  if (seenBefore && (ctx.rollouts ?? []).length === 0 && groupNames.length === 0) {
    const statuses = ctx.desired.services.map((s) =>
      serviceStatus(s, { ...seenBefore, refreshes: new Map(), targets: new Map() })
    )
    if (statuses.every((s) => s.ready)) {
      ctx.log(progress(statuses, 0))
      return { ready: true, timedOut: false, services: statuses, failures: [] }
    }
  }
  const aws = new Aws(ctx.clients)
  const failures = new Map<string, ServiceFailure>()
  let failedAt: number | undefined
  let zoneId = seenBefore?.zoneId ?? (await findZone(aws, zoneName(ctx.desired.scope), ctx.desired.network.vpcId))?.id
  let groups = new Map<string, string>()
  const watch: SpotWatch = {
    grace: ctx.spotGraceMs ?? spotGraceMs(ctx.timeoutSeconds),
    shortSince: new Map(),
    checkedAt: new Map(),
    shortages: new Map(),
    sizes: new Map(),
    held: new Map(),
    heldRead: false
  }
  const spot = (): Pick<WaitResult, 'spot'> => (watch.shortages.size > 0 ? { spot: [...watch.shortages.values()] } : {})
  for (;;) {
    zoneId ??= (await findZone(aws, zoneName(ctx.desired.scope), ctx.desired.network.vpcId))?.id
    if (groups.size < groupNames.length) groups = await targetGroupArns(aws, groupNames)
    const seen = await poll(aws, ctx, zoneId, groups)
    readHeld(ctx, seen, watch)
    // Before judging: a group handed back (or moved) is judged at its new size from this poll on.
    await watchSpot(aws, ctx, seen, watch)
    const statuses = ctx.desired.services.map((s) => serviceStatus(withSizes(s, watch.sizes), seen))
    const ready = statuses.every((s) => s.ready)
    ctx.log(progress(statuses, Math.round((Date.now() - started) / 1000)))
    if (ready) return { ready: true, timedOut: false, services: statuses, failures: [], ...spot() }
    for (const failure of await newFailures(aws, ctx, seen, failures)) {
      failures.set(failure.service, failure)
      failedAt ??= Date.now()
      ctx.log(`${failure.service}: ${failure.version} failed: ${failure.reason}`)
      await rollBack(aws, ctx, failure.service, seen)
    }
    const settled = [...failures.keys()].every((s) => rollbackSettled(ctx, s, seen))
    const gaveUp = failedAt !== undefined && Date.now() - failedAt > (ctx.rollbackMs ?? 120_000)
    if (failures.size > 0 && (settled || gaveUp || Date.now() + interval > deadline)) {
      const list = ctx.desired.services.flatMap((s) => {
        const f = failures.get(s.name)
        return f
          ? [
              {
                ...f,
                outcome: outcome(
                  s,
                  ctx,
                  statuses.find((x) => x.service === s.name)
                )
              }
            ]
          : []
      })
      return { ready: false, timedOut: false, services: statuses, failures: list, ...spot() }
    }
    if (Date.now() + interval > deadline)
      return { ready: false, timedOut: true, services: statuses, failures: [], ...spot() }
    await sleep(interval)
    interval = Math.min(pollMs, Math.round(interval * 1.5))
  }
}
