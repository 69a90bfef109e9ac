/**
 * The DNS updater under churn: a stack deployed with `wait: true`, then spot interruptions
 * one after another; for each replacement, the time from its `running` state change to its
 * IP being in the service record, and for each interrupted instance the time from
 * `shutting-down` to its IP leaving the record. Calls per event are the Lambda's calls
 * (signed `lambda-...`) over the state-change events its rule matches.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2'
import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { sdkConfig } from '../emulator/testing.js'
import { LAMBDA_CALLER_PREFIX, type InstanceStateChange } from '../emulator/types.js'
import { TAGS } from '../src/names.js'
import { generateCompose } from './compose-gen.js'
import { OBSERVER_KEY, PROJECT, runPhase, writeCompose, type PhaseFigures } from './scenario.js'

export interface Distribution {
  count: number
  p50: number
  p95: number
  max: number
}

export interface DnsFigures {
  services: number
  interruptions: number
  events: number
  lambdaCalls: number
  callsPerEvent: number
  /** running -> IP in the record, ms. */
  addMs: Distribution
  /** shutting-down -> IP out of the record, ms. */
  removeMs: Distribution
  /** Replacements or removals not seen in the record before the deadline. */
  missed: number
  waitedDeploy: PhaseFigures
}

export interface DnsOptions {
  services: number
  interruptions: number
  /** Pause between interruptions, ms. */
  intervalMs: number
}

const POLL_MS = 20
const SETTLE_MS = 20_000

export function distribution(values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] ?? NaN }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

interface Watch {
  /** instance id -> time it became running (replacements only). */
  running: Map<string, number>
  /** instance id -> time it began shutting down (interrupted ones only). */
  stopping: Map<string, number>
  interrupted: Set<string>
  events: number
  active: boolean
}

class Observer {
  private readonly ec2: EC2Client
  private readonly route53: Route53Client
  private readonly ips = new Map<string, { ip: string; service: string }>()

  constructor(
    emu: Emulator,
    private readonly zoneId: string
  ) {
    const config = sdkConfig(emu, {
      credentials: { accessKeyId: OBSERVER_KEY, secretAccessKey: 'bench' },
      maxAttempts: 3
    })
    this.ec2 = new EC2Client(config)
    this.route53 = new Route53Client(config)
  }

  async instances(filters: Array<{ Name: string; Values: string[] }>): Promise<Instance[]> {
    const out = await this.ec2.send(new DescribeInstancesCommand({ Filters: filters }))
    return (out.Reservations ?? []).flatMap((r) => r.Instances ?? [])
  }

  /** Keeps an instance's IP and service (a terminated instance has no IP any more). */
  remember(i: Instance): void {
    const service = i.Tags?.find((t) => t.Key === TAGS.service)?.Value ?? ''
    if (i.InstanceId && i.PrivateIpAddress) this.ips.set(i.InstanceId, { ip: i.PrivateIpAddress, service })
  }

  /** IP and service of instances not seen before (one DescribeInstances for all of them). */
  async identify(ids: string[]): Promise<Map<string, { ip: string; service: string }>> {
    const unknown = ids.filter((id) => !this.ips.has(id))
    if (unknown.length > 0) {
      for (const i of await this.instances([{ Name: 'instance-id', Values: unknown }])) this.remember(i)
    }
    return this.ips
  }

  /** Every A record of the zone: name (without the final dot) -> values. */
  async records(): Promise<Map<string, Set<string>>> {
    const out = await this.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: this.zoneId, MaxItems: 300 }))
    const map = new Map<string, Set<string>>()
    for (const set of out.ResourceRecordSets ?? []) {
      if (set.Type === 'A')
        map.set((set.Name ?? '').replace(/\.$/, ''), new Set((set.ResourceRecords ?? []).map((r) => r.Value ?? '')))
    }
    return map
  }

  close(): void {
    this.ec2.destroy()
    this.route53.destroy()
  }
}

function recordName(service: string, stack: string): string {
  return `${service}.${stack}.${PROJECT}.us-east-1.internal`
}

/** Polls the zone until every replacement is in and every interrupted IP is out (or the deadline). */
async function track(args: {
  observer: Observer
  watch: Watch
  stack: string
  done: () => boolean
}): Promise<{ add: number[]; remove: number[]; missed: number }> {
  const { observer, watch, stack } = args
  const added = new Map<string, number>()
  const removed = new Map<string, number>()
  let deadline = Infinity
  for (;;) {
    // A replacement interrupted before any batch listed it never belongs in the record: not a miss.
    for (const id of watch.interrupted) if (watch.running.has(id) && !added.has(id)) watch.running.delete(id)
    const ids = [...new Set([...watch.running.keys(), ...watch.stopping.keys()])]
    const [known, records] = await Promise.all([observer.identify(ids), observer.records()])
    const now = Date.now()
    for (const [id, at] of watch.running) {
      const who = known.get(id)
      if (!added.has(id) && who && records.get(recordName(who.service, stack))?.has(who.ip)) added.set(id, now - at)
    }
    for (const [id, at] of watch.stopping) {
      const who = known.get(id)
      if (!removed.has(id) && who && !records.get(recordName(who.service, stack))?.has(who.ip))
        removed.set(id, now - at)
    }
    const complete = added.size === watch.running.size && removed.size === watch.stopping.size
    if (args.done() && deadline === Infinity) deadline = now + SETTLE_MS
    if ((args.done() && complete) || now > deadline) {
      const missed = watch.running.size - added.size + (watch.stopping.size - removed.size)
      return { add: [...added.values()], remove: [...removed.values()], missed }
    }
    await sleep(POLL_MS)
  }
}

function watchStateChanges(emu: Emulator, watch: Watch): () => void {
  const listener = (change: InstanceStateChange): void => {
    if (!watch.active) return
    // the rule matches every EC2 state change (and Auto Scaling's Launch Successful, which the emulator does not send)
    watch.events += 1
    if (change.state === 'running') watch.running.set(change.instanceId, change.time)
    // with a reclaim delay the clock started at the warning (churn); a reclaim does not restart it
    if (
      change.state === 'shutting-down' &&
      watch.interrupted.has(change.instanceId) &&
      !watch.stopping.has(change.instanceId)
    )
      watch.stopping.set(change.instanceId, change.time)
  }
  emu.cloud.bus.on('ec2-state-change', listener)
  return () => emu.cloud.bus.off('ec2-state-change', listener)
}

/** Interrupts `count` running spot instances of the project, one every `intervalMs`. */
async function churn(args: {
  emu: Emulator
  observer: Observer
  watch: Watch
  options: DnsOptions
  warned: boolean
}): Promise<void> {
  const { emu, observer, watch, options } = args
  let pick = 7
  for (let n = 0; n < options.interruptions; n += 1) {
    const spot = (
      await observer.instances([
        { Name: `tag:${TAGS.project}`, Values: [PROJECT] },
        { Name: 'instance-state-name', Values: ['running'] }
      ])
    ).filter((i) => i.InstanceLifecycle === 'spot' && i.InstanceId && !watch.interrupted.has(i.InstanceId))
    pick = (pick * 31 + 17) % 1009
    const victim = spot[pick % Math.max(1, spot.length)]
    if (victim?.InstanceId) {
      observer.remember(victim)
      watch.interrupted.add(victim.InstanceId)
      // the warning is sent within spotInterrupt: the instance should leave its record from now
      if (args.warned) watch.stopping.set(victim.InstanceId, Date.now())
      emu.spotInterrupt(victim.InstanceId)
    }
    await sleep(options.intervalMs)
  }
}

async function measureChurn(
  emu: Emulator,
  args: { zoneId: string; stack: string; options: DnsOptions; warned?: boolean }
): Promise<Omit<DnsFigures, 'waitedDeploy' | 'services'>> {
  const observer = new Observer(emu, args.zoneId)
  const watch: Watch = { running: new Map(), stopping: new Map(), interrupted: new Set(), events: 0, active: true }
  const unwatch = watchStateChanges(emu, watch)
  emu.resetCalls()
  let churning = true
  try {
    const tracking = track({ observer, watch, stack: args.stack, done: () => !churning })
    await churn({ emu, observer, watch, options: args.options, warned: args.warned ?? false })
    churning = false
    const seen = await tracking
    await emu.waitIdle()
    watch.active = false
    const lambdaCalls = emu.calls().filter((c) => c.caller?.startsWith(LAMBDA_CALLER_PREFIX)).length
    return {
      interruptions: watch.interrupted.size,
      events: watch.events,
      lambdaCalls,
      callsPerEvent: lambdaCalls / Math.max(1, watch.events),
      addMs: distribution(seen.add),
      removeMs: distribution(seen.remove),
      missed: seen.missed
    }
  } finally {
    unwatch()
    observer.close()
  }
}

/**
 * In AWS an instance takes tens of seconds from shutting-down to terminated, so the DNS updater
 * handles the two events one after the other. The emulator's default (30 ms) would make them
 * race on every interruption; 1 s keeps them apart as in AWS while the churn stays short.
 */
const TERMINATE_DELAY_MS = 1000

export interface WarningFigures {
  services: number
  warnings: number
  reclaimDelayMs: number
  /** The interruption warning -> IP out of the record, ms. */
  outMs: Distribution
  /** A replacement's running -> IP in the record, ms. */
  addMs: Distribution
  /** Warned instances still in their record, or replacements not in it, 20 s after the last warning. */
  missed: number
  lambdaCalls: number
}

/**
 * The two-minute warning: `interruptions` spot instances are warned one after another, as EC2 does
 * reclaimDelayMs before it reclaims; measured from each warning until its IP is out of the record,
 * and from each replacement's running state until it is in.
 */
export async function warningBench(
  options: DnsOptions & { reclaimDelayMs: number },
  log: (line: string) => void
): Promise<WarningFigures> {
  const emu = await startEmulator({
    simulation: { terminateDelayMs: TERMINATE_DELAY_MS, spotReclaimDelayMs: options.reclaimDelayMs }
  })
  const workspace = mkdtempSync(path.join(tmpdir(), 'hyperform-bench-warn-'))
  const stack = 'st-warn'
  try {
    writeCompose(workspace, generateCompose({ services: options.services }))
    const deployed = await runPhase(emu, { workspace, stack, command: 'deploy', wait: true })
    if (!deployed.ok) throw new Error(`the deploy for the spot warnings failed:\n${deployed.failure ?? ''}`)
    await emu.waitIdle()
    const churned = await measureChurn(emu, {
      zoneId: deployed.outputs['hosted-zone-id'] ?? '',
      stack,
      options,
      warned: true
    })
    log(`  spot warnings: ${churned.interruptions} warnings, out of DNS p95 ${churned.removeMs.p95} ms`)
    return {
      services: options.services,
      warnings: churned.interruptions,
      reclaimDelayMs: options.reclaimDelayMs,
      outMs: churned.removeMs,
      addMs: churned.addMs,
      missed: churned.missed,
      lambdaCalls: churned.lambdaCalls
    }
  } finally {
    await emu.stop()
  }
}

export async function dnsBench(options: DnsOptions, log: (line: string) => void): Promise<DnsFigures> {
  const emu = await startEmulator({ simulation: { terminateDelayMs: TERMINATE_DELAY_MS, spotReclaimDelayMs: 0 } })
  const workspace = mkdtempSync(path.join(tmpdir(), 'hyperform-bench-dns-'))
  const stack = 'st-churn'
  try {
    writeCompose(workspace, generateCompose({ services: options.services }))
    const waitedDeploy = await runPhase(emu, { workspace, stack, command: 'deploy', wait: true })
    log(
      `  ${options.services} services, wait: true: ${Math.round(waitedDeploy.wallMs)} ms${waitedDeploy.ok ? '' : ' FAILED'}`
    )
    if (!waitedDeploy.ok) throw new Error(`the deploy for the DNS churn failed:\n${waitedDeploy.failure ?? ''}`)
    await emu.waitIdle()
    const zoneId = waitedDeploy.outputs['hosted-zone-id'] ?? ''
    const churned = await measureChurn(emu, { zoneId, stack, options })
    log(
      `  DNS churn: ${churned.interruptions} interruptions, ${churned.events} events, ${churned.lambdaCalls} Lambda calls`
    )
    return { services: options.services, ...churned, waitedDeploy }
  } finally {
    await emu.stop()
  }
}
