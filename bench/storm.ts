/**
 * The reclaim storm: with AWS's per-account rate limits on and AWS-like Lambda concurrency, the
 * bundled action deploys N services of 5 spot replicas each and waits until every record lists
 * its instances; then every spot instance is interrupted within one second. Measured: the time
 * from the reclaim until no record lists a reclaimed IP, the time from the last replacement
 * reaching `running` until every record lists exactly its service's running instances, the DNS
 * updater's Route 53 calls (signed `lambda-...`) and throttled attempts, failed invocations,
 * reported batch item failures and dead-lettered messages, and how long the account's Route 53
 * bucket stayed empty. Then a 100-service deploy, once on a quiet account and once started
 * during the largest storm.
 *
 * The benchmark observes the cloud in process (the emulator's instances and zone, its call log
 * and bus), never through AWS calls: polling Route 53 would draw on the same 5 requests a
 * second the DNS updater needs.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { CloudWatchLogsClient, FilterLogEventsCommand, type FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs'
import { RATE_LIMIT_RULES } from '../emulator/core/rate-limits.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { ec2World } from '../emulator/services/ec2/model.js'
import { sdkConfig } from '../emulator/testing.js'
import { LAMBDA_CALLER_PREFIX, type CallRecord, type InstanceStateChange } from '../emulator/types.js'
import { BATCHING_WINDOW, BATCH_CONCURRENCY, BATCH_SIZE } from '../src/desired.js'
import { TAGS, deadLetterQueueName, functionName, logGroupName, recordName } from '../src/names.js'
import { generateCompose, generateServices } from './compose-gen.js'
import { bucketEmptyMs } from './rate-limit.js'
import { OBSERVER_KEY, PROJECT, REGION, runPhase, writeCompose, type PhaseFigures } from './scenario.js'

/** What the storm runs under; printed with the figures. */
export const STORM_SETTINGS = {
  replicas: 5,
  lambdaConcurrency: 20,
  /** SQS's clock at real speed: the event source mapping's batching window is part of what is measured. */
  sqsTimeScale: 1,
  /** pending -> running of a replacement (AWS: tens of seconds; shorter keeps the bench short). */
  launchDelayMs: 5000,
  /**
   * The largest storm once more with the replacements' launch delays spread: each wave of
   * interruptions gets a longer one, up to launchDelayMs + this, as AWS's launches spread over
   * tens of seconds (more batching windows see an event, so more batches).
   */
  launchSpreadMs: 27_000,
  /** shutting-down -> terminated (AWS: tens of seconds). */
  terminateDelayMs: 2000,
  /** The interruptions are spread evenly over this long. */
  reclaimSpreadMs: 1000,
  /** The figures are taken at most this long after the reclaim; what has not converged by then is reported as such. */
  deadlineMs: 60_000,
  batchSize: BATCH_SIZE,
  batchingWindowSeconds: BATCHING_WINDOW,
  batchConcurrency: BATCH_CONCURRENCY
}

export const STORM_STACK = 'st-storm'
const EXTRA_STACK = 'st-extra'
const WAVES = 10
/** Route 53's bucket (5 requests a second for the account) refills from empty in a second; the storm starts after this much quiet. */
const QUIET_MS = 1500

export interface StormBatch {
  /** From the reclaim to the invocation's start and end, ms. */
  startMs: number
  endMs: number
  messages: number
  changed: number
  failedMessages: number
  route53Calls: number
  attempts: number
}

export interface StormRun {
  services: number
  instances: number
  /** The replacements' launch delays went from launchDelayMs to launchDelayMs + this (0: all the same). */
  launchSpreadMs: number
  /** The deploy of the stack with wait: true, rate limits on. */
  deploy: { ok: boolean; wallMs: number; throttled: number }
  interrupted: number
  /** From the reclaim to the last interruption, ms. */
  reclaimSpanMs: number
  /** From the reclaim until no record lists a reclaimed IP (and none did again), ms; NaN if not by the deadline. */
  cleanMs: number
  /** From the reclaim to the last replacement reaching running, ms. */
  lastRunningMs: number
  /** Replacements that reached running by the deadline. */
  replacements: number
  /** From the last replacement reaching running until every record lists exactly its running instances, ms; NaN if not by the deadline. */
  exactMs: number
  /** A record listed a reclaimed IP again after none did (a stale write). */
  staleWrites: number
  updater: {
    route53Calls: number
    route53Throttled: number
    ec2Calls: number
    ec2Throttled: number
    /** DescribeAutoScalingInstances: which running instances are in service. */
    autoscalingCalls: number
  }
  route53: {
    /** Every caller's Route 53 requests in the storm, and the throttled ones. */
    calls: number
    throttled: number
    /** Time the account's Route 53 bucket held less than one token, ms (replayed from the call log). */
    saturatedMs: number
    /** From the first to the last throttled Route 53 request, ms (0 when none was). */
    throttledSpanMs: number
  }
  lambda: {
    invocations: number
    errors: number
    batches: number
    records: number
    largestBatch: number
    failedMessages: number
    deadLettered: number
  }
  batches: StormBatch[]
}

export interface ConcurrentDeploy {
  services: number
  /** The storm stack the storm reclaims, in services (5 spot replicas each). */
  stormServices: number
  quiet: { ok: boolean; wallMs: number; throttled: number }
  storm: { ok: boolean; wallMs: number; throttled: number }
  /** The storm's own figures with the deploy alongside. */
  stormRun: StormRun
}

export interface StormFigures {
  settings: typeof STORM_SETTINGS
  runs: StormRun[]
  /** The largest storm again, its replacements' launches spread over launchSpreadMs. */
  spread?: StormRun
  concurrent?: ConcurrentDeploy
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolves with `work`, or after `ms` (then undefined) if it takes longer. */
async function within<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))
  try {
    return await Promise.race([work, late])
  } finally {
    clearTimeout(timer)
  }
}

const ROUTE53_BUCKET = RATE_LIMIT_RULES.find((r) => r.name === 'route53') ?? { rate: 5, burst: 5 }

const bareZone = (id: string): string => id.replace(/^\/?hostedzone\//, '')
const bareName = (name: string): string => name.replace(/\.$/, '').toLowerCase()

interface ZoneDump {
  id: string
  records: Array<{ name: string; type: string; values: string[] }>
}

/** Follows the stack's instances and records as they change, from the bus and the call log. */
class StormWatch {
  private readonly ec2
  private readonly names: Map<string, string>
  private records = new Map<string, Set<string>>()
  readonly reclaimed = new Map<string, string>()
  reclaimAt = NaN
  lastInterruptAt = NaN
  allIssued = false
  cleanSince: number | undefined
  exactSince: number | undefined
  staleWrites = 0
  readonly replacements = new Map<string, number>()
  private readonly stop: Array<() => void> = []

  constructor(
    private readonly emu: Emulator,
    private readonly zoneId: string,
    services: string[]
  ) {
    this.ec2 = ec2World(emu.cloud)
    this.names = new Map(
      services.map((s) => [s, bareName(recordName({ project: PROJECT, region: REGION, stack: STORM_STACK }, s))])
    )
    this.readRecords()
  }

  start(): void {
    const onState = (change: InstanceStateChange): void => {
      const instance = this.ec2.instances.get(change.instanceId)
      if (!instance || instance.tags[TAGS.stack] !== STORM_STACK) return
      if (change.state === 'running' && !Number.isNaN(this.reclaimAt))
        this.replacements.set(change.instanceId, change.time)
      this.evaluate(change.time)
    }
    this.emu.cloud.bus.on('ec2-state-change', onState)
    this.stop.push(() => this.emu.cloud.bus.off('ec2-state-change', onState))
    this.stop.push(
      this.emu.onCall((call) => {
        if (call.service !== 'route53' || call.operation !== 'ChangeResourceRecordSets' || call.status !== 200) return
        this.readRecords()
        this.evaluate(Date.now())
      })
    )
  }

  close(): void {
    for (const stop of this.stop.splice(0)) stop()
  }

  private readRecords(): void {
    const zones = (this.emu.state().route53 ?? []) as ZoneDump[]
    const zone = zones.find((z) => bareZone(z.id) === bareZone(this.zoneId))
    const map = new Map<string, Set<string>>()
    for (const r of zone?.records ?? []) if (r.type === 'A') map.set(bareName(r.name), new Set(r.values))
    this.records = map
  }

  /** Running IPs of the stack's services (every service of the file, none running included). */
  private running(): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>([...this.names.keys()].map((s) => [s, new Set<string>()]))
    for (const i of this.ec2.instances.values()) {
      if (i.state !== 'running' || i.tags[TAGS.stack] !== STORM_STACK || !i.privateIpAddress) continue
      out.get(i.tags[TAGS.service] ?? '')?.add(i.privateIpAddress)
    }
    return out
  }

  /** True when every record lists exactly its service's running instances. */
  exact(): boolean {
    for (const [service, ips] of this.running()) {
      const record = this.records.get(this.names.get(service) ?? '') ?? new Set<string>()
      if (record.size !== ips.size || [...ips].some((ip) => !record.has(ip))) return false
    }
    return true
  }

  private clean(): boolean {
    for (const values of this.records.values())
      for (const ip of this.reclaimed.values()) if (values.has(ip)) return false
    return true
  }

  evaluate(now: number): void {
    if (this.allIssued) {
      const clean = this.clean()
      if (clean && this.cleanSince === undefined) this.cleanSince = now
      if (!clean && this.cleanSince !== undefined) {
        this.staleWrites += 1
        this.cleanSince = undefined
      }
    }
    const exact = this.exact()
    if (exact && this.exactSince === undefined) this.exactSince = now
    if (!exact) this.exactSince = undefined
  }

  /** The stack's running spot instances, in id order. */
  spotInstances(): Array<{ id: string; ip: string }> {
    return [...this.ec2.instances.values()]
      .filter((i) => i.spot && i.state === 'running' && i.tags[TAGS.stack] === STORM_STACK && i.privateIpAddress)
      .map((i) => ({ id: i.instanceId, ip: i.privateIpAddress ?? '' }))
      .sort((a, b) => a.id.localeCompare(b.id))
  }

  /**
   * Interrupts every instance given, in WAVES waves spread over `spreadMs`; the replacements of
   * wave k launch with launchDelayMs + k / (WAVES - 1) x launchSpreadMs (the group launches them
   * on the next turn of the event loop, before the next wave changes the delay).
   */
  async reclaim(
    victims: Array<{ id: string; ip: string }>,
    spread: { reclaimMs: number; launchMs: number }
  ): Promise<void> {
    this.reclaimAt = Date.now()
    for (let wave = 0; wave < WAVES; wave += 1) {
      await sleep(this.reclaimAt + (wave * spread.reclaimMs) / WAVES - Date.now())
      this.emu.cloud.simulation.launchDelayMs = STORM_SETTINGS.launchDelayMs + (wave * spread.launchMs) / (WAVES - 1)
      for (const [n, victim] of victims.entries()) {
        if (n % WAVES !== wave) continue
        this.reclaimed.set(victim.id, victim.ip)
        this.emu.spotInterrupt(victim.id)
      }
    }
    this.lastInterruptAt = Date.now()
    this.allIssued = true
    this.evaluate(this.lastInterruptAt)
  }

  settled(): boolean {
    return (
      this.allIssued &&
      this.replacements.size >= this.reclaimed.size &&
      this.cleanSince !== undefined &&
      this.exactSince !== undefined
    )
  }
}

interface LambdaSnapshot {
  invocations: number
  errors: number
  batches: number
  records: number
}

function lambdaSnapshot(emu: Emulator): LambdaSnapshot & { deadLettered: number } {
  const name = functionName({ project: PROJECT, region: REGION })
  type Fn = {
    FunctionName?: string
    invocations?: number
    errors?: number
    eventSourceMappings?: Array<{ batches?: number; records?: number }>
  }
  const fn = ((emu.state().lambda ?? []) as Fn[]).find((f) => f.FunctionName === name)
  const mappings = fn?.eventSourceMappings ?? []
  const dead = deadLetterQueueName({ project: PROJECT, region: REGION })
  type Queue = { name: string; messages: number; inFlight: number; delayed: number }
  const dlq = ((emu.state().sqs ?? []) as Queue[]).find((q) => q.name === dead)
  return {
    invocations: fn?.invocations ?? 0,
    errors: fn?.errors ?? 0,
    batches: mappings.reduce((n, m) => n + (m.batches ?? 0), 0),
    records: mappings.reduce((n, m) => n + (m.records ?? 0), 0),
    deadLettered: dlq ? dlq.messages + dlq.inFlight + dlq.delayed : 0
  }
}

interface BatchLine {
  kind?: string
  messages?: number
  changed?: number
  failedMessages?: number
  route53Calls?: number
  attempts?: number
}

/** The DNS updater's batch lines since `from`, each with its invocation's start (the START line before it in its stream). */
async function updaterBatches(emu: Emulator, from: number): Promise<StormBatch[]> {
  const logs = new CloudWatchLogsClient(
    sdkConfig(emu, { credentials: { accessKeyId: OBSERVER_KEY, secretAccessKey: 'bench' }, maxAttempts: 3 })
  )
  const events: FilteredLogEvent[] = []
  try {
    let nextToken: string | undefined
    do {
      const page = await logs.send(
        new FilterLogEventsCommand({
          logGroupName: logGroupName({ project: PROJECT, region: REGION }),
          startTime: from,
          nextToken
        })
      )
      events.push(...(page.events ?? []))
      nextToken = page.nextToken
    } while (nextToken)
  } finally {
    logs.destroy()
  }
  const started = new Map<string, number>()
  const out: StormBatch[] = []
  for (const e of events) {
    const stream = e.logStreamName ?? ''
    const text = e.message ?? ''
    if (text.startsWith('START ')) started.set(stream, e.timestamp ?? 0)
    if (!text.startsWith('{')) continue
    let line: BatchLine
    try {
      line = JSON.parse(text) as BatchLine
    } catch {
      continue
    }
    if (line.kind !== 'batch' && line.kind !== 'reconcile') continue
    const end = e.timestamp ?? 0
    out.push({
      startMs: (started.get(stream) ?? end) - from,
      endMs: end - from,
      messages: line.messages ?? 0,
      changed: line.changed ?? 0,
      failedMessages: line.failedMessages ?? 0,
      route53Calls: line.route53Calls ?? 0,
      attempts: line.attempts ?? 0
    })
  }
  return out.sort((a, b) => a.startMs - b.startMs)
}

const throttledOf = (calls: CallRecord[]): number => calls.filter((c) => c.rateLimited).length

interface StormContext {
  emu: Emulator
  zoneId: string
  services: string[]
  deploy: StormRun['deploy']
}

/** Reclaims every spot instance of the storm stack and measures until the records are right (or the deadline). */
async function measureStorm(
  ctx: StormContext,
  options: { alongside?: () => void; launchSpreadMs?: number } = {}
): Promise<StormRun> {
  const { emu } = ctx
  const { alongside } = options
  const launchSpreadMs = options.launchSpreadMs ?? 0
  const watch = new StormWatch(emu, ctx.zoneId, ctx.services)
  const before = lambdaSnapshot(emu)
  try {
    watch.start()
    // the deploy waited for every record to list its instances: the storm starts from exact records
    // (after an earlier storm, its replacements enter DNS once their agents completed the launch
    // hook, through the account's Auto Scaling bucket: give them time)
    const ready = Date.now() + 180_000
    while (!watch.exact() && Date.now() < ready) await sleep(100)
    if (!watch.exact()) throw new Error('the records did not list exactly the running instances before the storm')
    const victims = watch.spotInstances()
    if (!alongside) emu.resetCalls()
    const reclaiming = watch.reclaim(victims, { reclaimMs: STORM_SETTINGS.reclaimSpreadMs, launchMs: launchSpreadMs })
    alongside?.()
    await reclaiming
    const deadline = watch.reclaimAt + STORM_SETTINGS.deadlineMs
    while (!watch.settled() && Date.now() < deadline) await sleep(50)
    // the storm's last events (terminations, late batches) still cost the updater calls
    await within(emu.waitIdle(), Math.max(1000, deadline - Date.now()))
    const end = Date.now()
    const calls = emu.calls().filter((c) => c.time >= watch.reclaimAt)
    const updater = calls.filter((c) => c.caller?.startsWith(LAMBDA_CALLER_PREFIX))
    const route53 = calls.filter((c) => c.service === 'route53')
    const throttledR53 = route53.filter((c) => c.rateLimited).map((c) => c.time)
    const after = lambdaSnapshot(emu)
    const batches = await updaterBatches(emu, watch.reclaimAt)
    const lastRunning = Math.max(...watch.replacements.values())
    const settled = watch.settled()
    return {
      services: ctx.services.length,
      instances: ctx.services.length * STORM_SETTINGS.replicas,
      launchSpreadMs,
      deploy: ctx.deploy,
      interrupted: watch.reclaimed.size,
      reclaimSpanMs: watch.lastInterruptAt - watch.reclaimAt,
      cleanMs: watch.cleanSince === undefined ? NaN : watch.cleanSince - watch.reclaimAt,
      lastRunningMs: watch.replacements.size > 0 ? lastRunning - watch.reclaimAt : NaN,
      replacements: watch.replacements.size,
      exactMs: settled && watch.exactSince !== undefined ? Math.max(0, watch.exactSince - lastRunning) : NaN,
      staleWrites: watch.staleWrites,
      updater: {
        route53Calls: updater.filter((c) => c.service === 'route53').length,
        route53Throttled: throttledOf(updater.filter((c) => c.service === 'route53')),
        ec2Calls: updater.filter((c) => c.service === 'ec2').length,
        ec2Throttled: throttledOf(updater.filter((c) => c.service === 'ec2')),
        autoscalingCalls: updater.filter((c) => c.service === 'autoscaling').length
      },
      route53: {
        calls: route53.length,
        throttled: throttledR53.length,
        saturatedMs: bucketEmptyMs(route53, ROUTE53_BUCKET, { from: watch.reclaimAt, to: end }),
        throttledSpanMs: throttledR53.length > 0 ? Math.max(...throttledR53) - Math.min(...throttledR53) : 0
      },
      lambda: {
        invocations: after.invocations - before.invocations,
        errors: after.errors - before.errors,
        batches: after.batches - before.batches,
        records: after.records - before.records,
        largestBatch: Math.max(0, ...batches.map((b) => b.messages)),
        failedMessages: batches.reduce((n, b) => n + b.failedMessages, 0),
        deadLettered: after.deadLettered - before.deadLettered
      },
      batches
    }
  } finally {
    watch.close()
    emu.cloud.simulation.launchDelayMs = STORM_SETTINGS.launchDelayMs
  }
}

function emulatorOptions(): Parameters<typeof startEmulator>[0] {
  const s = STORM_SETTINGS
  return {
    rateLimits: true,
    simulation: {
      spotReclaimDelayMs: 0,
      lambdaConcurrency: s.lambdaConcurrency,
      sqsTimeScale: s.sqsTimeScale,
      launchDelayMs: s.launchDelayMs,
      terminateDelayMs: s.terminateDelayMs
    }
  }
}

/** A fresh emulator with the storm stack deployed (wait: true) and settled, the Route 53 bucket full again. */
async function stormStack(
  services: number,
  log: (line: string) => void
): Promise<{ emu: Emulator; ctx: StormContext }> {
  const emu = await startEmulator(emulatorOptions())
  try {
    const workspace = mkdtempSync(path.join(tmpdir(), 'hyperform-bench-storm-'))
    const sizing = { replicas: STORM_SETTINGS.replicas, preemptible: STORM_SETTINGS.replicas }
    writeCompose(workspace, generateCompose({ services, sizing }))
    const figures = await runPhase(emu, { workspace, stack: STORM_STACK, command: 'deploy', wait: true })
    log(
      `  storm stack ${services} x ${sizing.replicas} spot, rate limits on, wait: true: ${Math.round(figures.wallMs)} ms${figures.ok ? '' : ' FAILED'}`
    )
    if (!figures.ok) throw new Error(`the storm stack's deploy failed:\n${figures.failure ?? ''}`)
    await emu.waitIdle()
    await sleep(QUIET_MS)
    const ctx: StormContext = {
      emu,
      zoneId: figures.outputs['hosted-zone-id'] ?? '',
      services: generateServices({ services, sizing }).map((s) => s.name),
      deploy: { ok: figures.ok, wallMs: figures.wallMs, throttled: figures.rateLimited }
    }
    return { emu, ctx }
  } catch (error) {
    await emu.stop()
    throw error
  }
}

function describe(run: StormRun): string {
  const ms = (n: number): string => (Number.isFinite(n) ? `${Math.round(n)} ms` : 'n/a')
  return `${run.interrupted} reclaimed: clean ${ms(run.cleanMs)}, last running +${ms(run.lastRunningMs)}, exact ${ms(run.exactMs)} after; updater Route 53 ${run.updater.route53Calls} (${run.updater.route53Throttled} throttled)`
}

function extraWorkspace(services: number): string {
  const workspace = mkdtempSync(path.join(tmpdir(), 'hyperform-bench-extra-'))
  writeCompose(workspace, generateCompose({ services }))
  return workspace
}

const deployFigures = (f: PhaseFigures): ConcurrentDeploy['quiet'] => ({
  ok: f.ok,
  wallMs: f.wallMs,
  throttled: f.rateLimited
})

export async function stormBench(
  options: { sizes: number[]; concurrentServices: number },
  log: (line: string) => void
): Promise<StormFigures> {
  const runs: StormRun[] = []
  const largest = Math.max(...options.sizes)
  let quiet: PhaseFigures | undefined
  let spread: StormRun | undefined
  for (const services of options.sizes) {
    const { emu, ctx } = await stormStack(services, log)
    try {
      const run = await measureStorm(ctx)
      log(`  storm, ${services} services: ${describe(run)}`)
      runs.push(run)
      if (services === largest && !spread) {
        // the replacements of the first storm are the victims of this one
        await emu.waitIdle()
        await sleep(QUIET_MS)
        spread = await measureStorm(ctx, { launchSpreadMs: STORM_SETTINGS.launchSpreadMs })
        log(
          `  storm, ${services} services, launches spread over ${STORM_SETTINGS.launchSpreadMs / 1000} s: ${describe(spread)}`
        )
      }
      if (services === largest && options.concurrentServices > 0) {
        // the deploy without the storm: the same account, the storm stack settled again
        await emu.waitIdle()
        await sleep(QUIET_MS)
        quiet = await runPhase(emu, {
          workspace: extraWorkspace(options.concurrentServices),
          stack: EXTRA_STACK,
          command: 'deploy',
          wait: true
        })
        log(
          `  ${options.concurrentServices}-service deploy, no storm: ${Math.round(quiet.wallMs)} ms${quiet.ok ? '' : ' FAILED'}`
        )
      }
    } finally {
      await emu.stop()
    }
  }
  if (!quiet) return { settings: STORM_SETTINGS, runs, ...(spread ? { spread } : {}) }
  // the same deploy started during a storm of the largest size, on a fresh account like the first
  const { emu, ctx } = await stormStack(largest, log)
  try {
    const workspace = extraWorkspace(options.concurrentServices)
    let deploying: Promise<PhaseFigures> | undefined
    const stormRun = await measureStorm(ctx, {
      alongside: () => {
        deploying = runPhase(emu, { workspace, stack: EXTRA_STACK, command: 'deploy', wait: true })
      }
    })
    const loaded = await (deploying ?? Promise.reject(new Error('the deploy during the storm did not start')))
    log(`  storm with the deploy alongside: ${describe(stormRun)}`)
    log(
      `  ${options.concurrentServices}-service deploy during the storm: ${Math.round(loaded.wallMs)} ms${loaded.ok ? '' : ' FAILED'}`
    )
    return {
      settings: STORM_SETTINGS,
      runs,
      ...(spread ? { spread } : {}),
      concurrent: {
        services: options.concurrentServices,
        stormServices: largest,
        quiet: deployFigures(quiet),
        storm: deployFigures(loaded),
        stormRun
      }
    }
  } finally {
    await emu.stop()
  }
}
