/**
 * Waits until the stack runs: every ASG has its desired instances InService
 * and running, and every service record lists exactly the private IPs of its
 * running instances (the DNS updater writes them). Three concurrent reads per
 * poll, whatever the number of services; one progress line per poll.
 */
import type { Clients } from './aws/clients.js'
import { readInstances } from './aws/instances.js'
import { sleep } from './aws/retry.js'
import { Aws } from './aws/send.js'
import { stackDomain, zoneName } from './names.js'
import { readAsgs, type CurrentAsg, type CurrentAsgInstance } from './resources/auto-scaling-group.js'
import { findZone, listRecordsUnder } from './resources/hosted-zone.js'
import { stackFilters } from './resources/kind.js'
import type { CurrentInstance, CurrentRecord, DesiredService, DesiredState, WaitResult } from './state.js'

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
}

type ServiceStatus = WaitResult['services'][number]

/** True unless both versions are known numbers and differ ("$Latest" / "$Default" are not compared). */
function onAsgVersion(asg: CurrentAsg, instance: CurrentAsgInstance): boolean {
  const want = asg.launchTemplateVersion
  const have = instance.launchTemplateVersion
  return !want || !have || !/^\d+$/.test(want) || !/^\d+$/.test(have) || want === have
}

function serviceStatus(
  service: DesiredService,
  seen: { asgs: CurrentAsg[]; instances: CurrentInstance[]; records: CurrentRecord[] }
): ServiceStatus {
  const desired = service.asgs.reduce((n, a) => n + a.size, 0)
  const running = new Map(
    seen.instances.filter((i) => i.service === service.name && i.state === 'running').map((i) => [i.id, i])
  )
  // An instance still on an older launch template version (an instance refresh that has not
  // replaced it yet, or not even started) does not count: the stack is not deployed until it is gone.
  const inService = seen.asgs
    .filter((g) => service.asgs.some((a) => a.name === g.name))
    .flatMap((g) => g.instances.filter((i) => onAsgVersion(g, i)))
    .filter((i) => i.lifecycleState === 'InService' && running.has(i.id))
  const instanceIps = [...running.values()]
    .map((i) => i.privateIp ?? '')
    .filter(Boolean)
    .sort()
  const record = seen.records.find((r) => r.name === service.recordName && r.type === 'A')
  const recordValues = [...(record?.values ?? [])].sort()
  const sizesOk = service.asgs.every((a) => seen.asgs.find((g) => g.name === a.name)?.desired === a.size)
  const ready =
    sizesOk &&
    inService.length === desired &&
    instanceIps.length === desired &&
    recordValues.join(',') === instanceIps.join(',')
  return { service: service.name, desired, running: inService.length, recordValues, instanceIps, ready }
}

function progress(statuses: ServiceStatus[], elapsedS: number): string {
  const ready = statuses.filter((s) => s.ready).length
  const pending = statuses
    .filter((s) => !s.ready)
    .slice(0, 10)
    .map(
      (s) => `${s.service} ${s.running}/${s.desired} running, record ${s.recordValues.length}/${s.instanceIps.length}`
    )
  return `wait ${elapsedS}s: ${ready}/${statuses.length} services ready${pending.length ? `; ${pending.join('; ')}` : ''}`
}

async function poll(aws: Aws, ctx: WaitContext, zoneId: string | undefined): Promise<ServiceStatus[]> {
  const scope = ctx.desired.scope
  const [asgs, instances, records] = await Promise.all([
    readAsgs(aws, stackFilters(scope)),
    readInstances(aws, scope, ['pending', 'running']),
    zoneId ? listRecordsUnder(aws, zoneId, stackDomain(scope)) : Promise.resolve([])
  ])
  return ctx.desired.services.map((s) => serviceStatus(s, { asgs, instances, records }))
}

export async function waitForStack(ctx: WaitContext): Promise<WaitResult> {
  const started = Date.now()
  const deadline = started + ctx.timeoutSeconds * 1000
  const pollMs = ctx.pollMs ?? 5000
  // Start polling fast (instances often come up within seconds), back off to pollMs.
  let interval = Math.min(pollMs, 1000)
  const seen = ctx.seen
  if (seen) {
    const statuses = ctx.desired.services.map((s) => serviceStatus(s, seen))
    if (statuses.every((s) => s.ready)) {
      ctx.log(progress(statuses, 0))
      return { ready: true, timedOut: false, services: statuses }
    }
  }
  const aws = new Aws(ctx.clients)
  let zoneId = seen?.zoneId ?? (await findZone(aws, zoneName(ctx.desired.scope), ctx.desired.network.vpcId))?.id
  for (;;) {
    zoneId ??= (await findZone(aws, zoneName(ctx.desired.scope), ctx.desired.network.vpcId))?.id
    const statuses = await poll(aws, ctx, zoneId)
    const ready = statuses.every((s) => s.ready)
    ctx.log(progress(statuses, Math.round((Date.now() - started) / 1000)))
    if (ready) return { ready: true, timedOut: false, services: statuses }
    if (Date.now() + interval > deadline) return { ready: false, timedOut: true, services: statuses }
    await sleep(interval)
    interval = Math.min(pollMs, Math.round(interval * 1.5))
  }
}
