/**
 * The DNS updater end to end: the project's DNS stack and a four-service stack
 * deployed by the engine into the in-process emulator, the bundled Lambda
 * (dist/lambda) running in the emulator's warm workers and invoked by
 * EventBridge from real EC2 state changes. Checks that the records converge to
 * the private IPs of the running instances in service in their Auto Scaling
 * group (an instance launched outside any group is never listed) under churn with duplicated and reordered
 * delivery, out-of-order and repeated events, another project's instances, and
 * a stalled writer (the handler in process, its write held at a gate) whose
 * compare-and-swap an A-B-A change of the record would let through without the
 * version record (TXT) bumped in the same batch.
 */
import { seededRandom } from '../emulator/core/random.js'
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { readFileSync } from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  UpdateAutoScalingGroupCommand
} from '@aws-sdk/client-auto-scaling'
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2'
import { FilterLogEventsCommand, type FilterLogEventsCommandInput } from '@aws-sdk/client-cloudwatch-logs'
import {
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ListResourceRecordSetsCommandInput
} from '@aws-sdk/client-route-53'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { eventually, sdkConfig } from '../emulator/testing.js'
import type { CallRecord, FunctionInvoker, InstanceStateChange } from '../emulator/types.js'
import { sortIps } from '../lambda/core.js'
import { createHandler, type LogLine } from '../lambda/handler.js'
import { parseVersion } from '../src/record-version.js'
import { applyPlan } from '../src/apply.js'
import { createClients, destroyClients, type Clients } from '../src/aws/clients.js'
import { resolveNetwork } from '../src/aws/network.js'
import type { ComposeModel, ServiceModel } from '../src/compose/model.js'
import { readCurrent } from '../src/current.js'
import { buildDesired } from '../src/desired.js'
import { inputs as fixtureInputs, RUNTIME_DEFAULTS } from './helpers/deploy-fixtures.js'
import type { ActionInputs } from '../src/inputs.js'
import {
  RULE_TARGET_ID,
  TAGS,
  asgName,
  functionName,
  launchTemplateName,
  SPOT_EVENT_FILTER,
  logGroupName,
  parseSpotEventLine,
  ruleName,
  stackDomain,
  zoneName,
  type Capacity,
  type SpotEventLine
} from '../src/names.js'
import {
  AddPermissionCommand,
  DeleteEventSourceMappingCommand,
  GetFunctionCommand,
  ListEventSourceMappingsCommand
} from '@aws-sdk/client-lambda'
import { DescribeRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge'
import { diff } from '../src/plan.js'
import { waitForStack } from '../src/wait.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const ZIP = path.join(ROOT, 'dist/lambda/update-r53-record.zip')
const lambdaCode = { zipPath: ZIP, codeSha256: readFileSync(`${ZIP}.sha256`, 'utf8').trim() }
const timing = {
  baseDelayMs: 5,
  maxDelayMs: 50,
  pollMs: 20,
  rolePropagationMs: 5000,
  consistencyMs: 5000,
  teardownMs: 20_000
}
const scope = { project: 'prj-dns', stack: 'st-churn', region: 'us-east-1' }
const OTHER_PROJECT = 'prj-other'
const LAMBDA_CALLER = `lambda-${functionName(scope)}`
const SEED = 20261124
const STEPS = 200
const MAX_PER_ASG = 3

function service(name: string, replicas: number, preemptible: number): ServiceModel {
  return {
    name,
    image: `${name}:1`,
    environment: {},
    ...RUNTIME_DEFAULTS,
    ports: [{ target: 8080, published: 8080, protocol: 'tcp' }],
    expose: [],
    replicas,
    preemptible,
    public: false,
    location: { file: 'compose.yaml', line: 1, column: 1 }
  }
}

/** Mixed replicas and capacities: spot only, on-demand only, and both. */
const model: ComposeModel = {
  services: [service('api', 3, 2), service('cache', 2, 2), service('db', 1, 0), service('worker', 2, 1)],
  files: ['compose.yaml']
}
const SERVICE_NAMES = model.services.map((s) => s.name)

const inputs: ActionInputs = fixtureInputs({
  ...scope,
  composeFiles: ['compose.yaml'],
  workspace: ROOT,
  spotInstanceTypes: ['t3a.small'],
  wait: true,
  waitTimeout: 60
})

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

interface Delivery {
  eventId: string
  instance: string
  state: string
  /** Order in which EC2 emitted the state change (from the bus). */
  emitted: number
}

/**
 * Watches what EventBridge hands to Lambda (every async invocation the rule
 * causes), and can hold deliveries back so a test chooses their order.
 */
class DeliveryTap {
  readonly deliveries: Delivery[] = []
  readonly held: { arn: string; payload: string; delivery: Delivery }[] = []
  holding = false
  private readonly emittedAt = new Map<string, number>()
  private emittedCount = 0

  constructor(private readonly inner: FunctionInvoker) {}

  onStateChange(change: InstanceStateChange): void {
    this.emittedCount += 1
    this.emittedAt.set(`${change.instanceId}/${change.state}`, this.emittedCount)
  }

  invoker(): FunctionInvoker {
    return {
      allows: (arn, principal, sourceArn) => this.inner.allows(arn, principal, sourceArn),
      invokeAsync: (arn, payload) => {
        const event = JSON.parse(payload) as {
          id: string
          detail: { 'instance-id'?: string; state?: string; EC2InstanceId?: string }
        }
        // an EC2 state change, or Auto Scaling's Launch Successful (state `launched`)
        const instance = event.detail['instance-id'] ?? event.detail.EC2InstanceId ?? ''
        const state = event.detail.state ?? 'launched'
        const delivery = {
          eventId: event.id,
          instance,
          state,
          emitted: this.emittedAt.get(`${instance}/${state}`) ?? 0
        }
        if (this.holding) this.held.push({ arn, payload, delivery })
        else this.pass(arn, payload, delivery)
      }
    }
  }

  pass(arn: string, payload: string, delivery: Delivery): void {
    this.deliveries.push(delivery)
    this.inner.invokeAsync(arn, payload)
  }

  reset(): void {
    this.deliveries.length = 0
  }

  /** Deliveries of an event already delivered (same event id). */
  duplicates(): number {
    const seen = new Set<string>()
    let n = 0
    for (const d of this.deliveries) {
      if (seen.has(d.eventId)) n += 1
      seen.add(d.eventId)
    }
    return n
  }

  /**
   * Deliveries that arrived after a delivery of an event EC2 emitted later:
   * of any instance, and of the same instance (e.g. terminated before shutting-down).
   */
  reordered(): { any: number; sameInstance: number } {
    let latest = 0
    const latestOf = new Map<string, number>()
    const out = { any: 0, sameInstance: 0 }
    for (const d of this.deliveries) {
      if (d.emitted < latest) out.any += 1
      if (d.emitted < (latestOf.get(d.instance) ?? 0)) out.sameInstance += 1
      latest = Math.max(latest, d.emitted)
      latestOf.set(d.instance, Math.max(latestOf.get(d.instance) ?? 0, d.emitted))
    }
    return out
  }
}

interface EmulatedInstance {
  instanceId: string
  state: string
  privateIpAddress?: string
  spot: boolean
  tags: Record<string, string>
}

let emulator: Emulator
let clients: Clients
let tap: DeliveryTap
let zoneId: string
const saved = { ...process.env }
const engineLog: string[] = []

function instances(project = scope.project): EmulatedInstance[] {
  const ec2 = emulator.state().ec2 as { instances: EmulatedInstance[] }
  return ec2.instances.filter((i) => i.tags[TAGS.project] === project && i.tags[TAGS.stack] === scope.stack)
}

function running(project = scope.project): EmulatedInstance[] {
  return instances(project).filter((i) => i.state === 'running')
}

/** Ids of the instances their groups have InService and Healthy, as the emulator holds them. */
function inService(): Set<string> {
  const state = emulator.state().autoscaling as {
    groups: { instances: { instanceId: string; lifecycle: string; health: string }[] }[]
  }
  const members = state.groups.flatMap((g) => g.instances)
  return new Set(members.filter((m) => m.lifecycle === 'InService' && m.health === 'Healthy').map((m) => m.instanceId))
}

/**
 * Service -> sorted private IPs of its running instances in service in their
 * group (services without one are left out): what the records must list.
 */
function runningIps(): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  const serving = inService()
  for (const name of SERVICE_NAMES) {
    const ips = running()
      .filter((i) => i.tags[TAGS.service] === name && i.privateIpAddress && serving.has(i.instanceId))
      .map((i) => i.privateIpAddress as string)
    if (ips.length > 0) out[name] = sortIps(ips)
  }
  return out
}

/** Every A record under the stack's domain, by its first label: service -> sorted values. */
async function serviceRecords(): Promise<Record<string, string[]>> {
  const suffix = `.${stackDomain(scope)}.`
  const out: Record<string, string[]> = {}
  let input: ListResourceRecordSetsCommandInput = { HostedZoneId: zoneId }
  for (;;) {
    const page = await clients.route53.send(new ListResourceRecordSetsCommand(input))
    for (const set of page.ResourceRecordSets ?? []) {
      if (set.Type !== 'A' || !set.Name?.endsWith(suffix)) continue
      out[set.Name.slice(0, -suffix.length)] = sortIps((set.ResourceRecords ?? []).map((r) => r.Value ?? ''))
    }
    if (!page.IsTruncated) return out
    input = { ...input, StartRecordName: page.NextRecordName, StartRecordType: page.NextRecordType }
  }
}

/** The version record (TXT) of every service name that has one: service -> version. */
async function versionRecords(): Promise<Record<string, number | undefined>> {
  const suffix = `.${stackDomain(scope)}.`
  const out: Record<string, number | undefined> = {}
  let input: ListResourceRecordSetsCommandInput = { HostedZoneId: zoneId }
  for (;;) {
    const page = await clients.route53.send(new ListResourceRecordSetsCommand(input))
    for (const set of page.ResourceRecordSets ?? []) {
      if (set.Type !== 'TXT' || !set.Name?.endsWith(suffix)) continue
      out[set.Name.slice(0, -suffix.length)] = parseVersion((set.ResourceRecords ?? []).map((r) => r.Value ?? ''))
    }
    if (!page.IsTruncated) return out
    input = { ...input, StartRecordName: page.NextRecordName, StartRecordType: page.NextRecordType }
  }
}

/** The records against the running instances, one line per service that differs. */
function describeMismatch(records: Record<string, string[]>, ips: Record<string, string[]>): string {
  const names = [...new Set([...Object.keys(records), ...Object.keys(ips)])].sort()
  return names
    .filter((n) => (records[n] ?? []).join() !== (ips[n] ?? []).join() || n in records !== n in ips)
    .map(
      (n) =>
        `  ${n}: record ${n in records ? `[${records[n]?.join(', ')}]` : 'absent'}, running [${(ips[n] ?? []).join(', ')}]`
    )
    .join('\n')
}

async function expectConverged(): Promise<void> {
  const records = await serviceRecords()
  const ips = runningIps()
  const mismatch = describeMismatch(records, ips)
  if (mismatch) console.error(`DNS records differ from the running instances:\n${mismatch}`)
  expect(records).toEqual(ips)
}

/** The DNS updater's log: START lines (invocations) and its one JSON line per event (its spot lines apart). */
async function lambdaLog(): Promise<{ starts: number; lines: LogLine[] }> {
  let starts = 0
  const lines: LogLine[] = []
  let input: FilterLogEventsCommandInput = { logGroupName: logGroupName(scope) }
  for (;;) {
    const page = await clients.logs.send(new FilterLogEventsCommand(input))
    for (const event of page.events ?? []) {
      for (const text of (event.message ?? '').split('\n')) {
        if (text.startsWith('START RequestId:')) starts += 1
        else if (text.startsWith('{') && !parseSpotEventLine(text)) lines.push(JSON.parse(text) as LogLine)
      }
    }
    if (!page.nextToken) return { starts, lines }
    input = { ...input, nextToken: page.nextToken }
  }
}

/** The DNS updater's spot lines (SpotEventLine), in the order written. */
async function spotLog(): Promise<SpotEventLine[]> {
  const lines: SpotEventLine[] = []
  let input: FilterLogEventsCommandInput = { logGroupName: logGroupName(scope), filterPattern: SPOT_EVENT_FILTER }
  for (;;) {
    const page = await clients.logs.send(new FilterLogEventsCommand(input))
    for (const event of page.events ?? [])
      for (const text of (event.message ?? '').split('\n')) {
        const line = parseSpotEventLine(text)
        if (line) lines.push(line)
      }
    if (!page.nextToken) return lines
    input = { ...input, nextToken: page.nextToken }
  }
}

/** The log once every started invocation has written its line. */
async function settledLog(): Promise<{ starts: number; lines: LogLine[] }> {
  return eventually(async () => {
    const log = await lambdaLog()
    return log.lines.length === log.starts ? log : undefined
  })
}

function lambdaCalls(calls: CallRecord[]): CallRecord[] {
  return calls.filter((c) => c.caller === LAMBDA_CALLER)
}

async function setSize(name: string, size: number): Promise<void> {
  await clients.autoScaling.send(
    new UpdateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      MinSize: 0,
      MaxSize: Math.max(size, MAX_PER_ASG),
      DesiredCapacity: size
    })
  )
}

function asgOf(serviceName: string, capacity: Capacity): string {
  return asgName(scope, serviceName, capacity)
}

/** Back to the compose file's sizes, and settled. */
async function restoreSizes(): Promise<void> {
  for (const s of model.services) {
    await setSize(asgOf(s.name, 'on-demand'), s.replicas - s.preemptible)
    await setSize(asgOf(s.name, 'spot'), s.preemptible)
  }
  await emulator.waitIdle()
}

beforeAll(async () => {
  emulator = await startEmulator({
    // terminated instances stay describable for 10 s, not AWS's hour: every DescribeInstances lists
    // them, and hundreds of them would make each invocation slow; events are handled well within 10 s.
    // A new instance's container passes the launch gate after 20 ms (default 500): the churn's waits
    // for the emulator to settle wait for launches, and there are dozens of them.
    simulation: {
      spotReclaimDelayMs: 0,
      launchDelayMs: 10,
      terminateDelayMs: 10,
      functionPendingMs: 20,
      containerSettleMs: 20,
      terminatedRetentionMs: 10_000,
      sqsTimeScale: 0.05
    },
    faults: { seed: SEED }
  })
  process.env.AWS_ENDPOINT_URL = emulator.endpoint
  process.env.AWS_ACCESS_KEY_ID = 'AKIAE2EDNSTEST'
  process.env.AWS_SECRET_ACCESS_KEY = 'e2e'
  process.env.AWS_REGION = scope.region
  clients = createClients({ region: scope.region, maxAttempts: 3 })
  const inner = emulator.cloud.shared.functions
  if (!inner) throw new Error('the emulator has no Lambda module')
  tap = new DeliveryTap(inner)
  emulator.cloud.shared.functions = tap.invoker()
  emulator.cloud.bus.on('ec2-state-change', (change) => tap.onStateChange(change))

  const network = await resolveNetwork(clients, inputs)
  const desired = buildDesired({ inputs, model, network, lambdaCode })
  const plan = diff(desired, await readCurrent(clients, scope))
  await applyPlan(plan, { clients, desired, log: (line) => engineLog.push(line), timing })
  const ready = await waitForStack({
    clients,
    desired,
    timeoutSeconds: 30,
    log: (line) => engineLog.push(line),
    pollMs: 50
  })
  if (!ready.ready) throw new Error(`the stack did not become ready:\n${engineLog.slice(-5).join('\n')}`)
  await emulator.waitIdle()
  // This suite drives the function one event per invocation, the direct path the handler keeps next to the
  // queue's batches: the state rule targets the function itself, and its queue is not drained.
  const fn =
    (await clients.lambda.send(new GetFunctionCommand({ FunctionName: functionName(scope) }))).Configuration
      ?.FunctionArn ?? ''
  const rule = (await clients.events.send(new DescribeRuleCommand({ Name: ruleName(scope) }))).Arn ?? ''
  await clients.lambda.send(
    new AddPermissionCommand({
      FunctionName: fn,
      StatementId: 'direct',
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      SourceArn: rule
    })
  )
  await clients.events.send(
    new PutTargetsCommand({ Rule: ruleName(scope), Targets: [{ Id: RULE_TARGET_ID, Arn: fn }] })
  )
  for (const m of (await clients.lambda.send(new ListEventSourceMappingsCommand({ FunctionName: fn })))
    .EventSourceMappings ?? []) {
    await clients.lambda.send(new DeleteEventSourceMappingCommand({ UUID: m.UUID }))
  }
  await emulator.waitIdle()
  const zones = await clients.route53.send(new ListHostedZonesByNameCommand({ DNSName: zoneName(scope), MaxItems: 1 }))
  const id = zones.HostedZones?.[0]?.Id
  if (!id) throw new Error('the project zone was not created')
  zoneId = id.replace(/^\/hostedzone\//, '')
}, 60_000)

afterAll(async () => {
  destroyClients(clients)
  await emulator.stop()
  process.env = saved
})

describe('the DNS updater against the emulator', () => {
  test('after 200 random terminations, spot interruptions and rescalings with duplicated and reordered delivery, every record equals its running IPs', async () => {
    await expectConverged()
    const before = await settledLog()
    emulator.resetCalls()
    tap.reset()
    emulator.setFaults({ duplicateEventRate: 0.3, reorderWindowMs: 60 })

    const started = Date.now()
    const random = seededRandom(SEED)
    const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)]
    const sizes = new Map<string, number>()
    for (const s of model.services) {
      sizes.set(asgOf(s.name, 'on-demand'), s.replicas - s.preemptible)
      sizes.set(asgOf(s.name, 'spot'), s.preemptible)
    }
    const serviceSize = (name: string): number =>
      (sizes.get(asgOf(name, 'on-demand')) ?? 0) + (sizes.get(asgOf(name, 'spot')) ?? 0)
    const counts = { terminate: 0, spot: 0, scale: 0, zeroed: 0, idle: 0 }
    const interrupted = new Set<string>()

    for (let step = 0; step < STEPS; step++) {
      // the last steps only shrink, so at least one service ends with no instance
      const closing = step >= STEPS - 10
      const roll = random()
      const live = running()
      const spot = live.filter((i) => i.spot)
      if (!closing && roll < 0.35 && live.length > 0) {
        emulator.terminateInstance(pick(live)?.instanceId ?? '')
        counts.terminate += 1
      } else if (!closing && roll < 0.65 && spot.length > 0) {
        const id = pick(spot)?.instanceId ?? ''
        emulator.spotInterrupt(id)
        interrupted.add(id)
        counts.spot += 1
      } else {
        const name = pick(SERVICE_NAMES) ?? 'api'
        const zeroAll = random() < 0.2 || (closing && !SERVICE_NAMES.some((n) => serviceSize(n) === 0))
        if (zeroAll) {
          for (const capacity of ['on-demand', 'spot'] as const) {
            sizes.set(asgOf(name, capacity), 0)
            await setSize(asgOf(name, capacity), 0)
          }
          counts.zeroed += 1
        } else {
          const asg = asgOf(name, random() < 0.5 ? 'on-demand' : 'spot')
          const current = sizes.get(asg) ?? 0
          const next = closing ? Math.max(0, current - 1) : Math.floor(random() * (MAX_PER_ASG + 1))
          sizes.set(asg, next)
          await setSize(asg, next)
        }
        counts.scale += 1
      }
      // steps overlap: a short pause, and only now and then wait for everything to settle
      await sleep(Math.floor(random() * 6))
      if (random() < 0.1) {
        await emulator.waitIdle()
        counts.idle += 1
      }
    }
    await emulator.waitIdle()
    const seconds = ((Date.now() - started) / 1000).toFixed(1)

    expect(SERVICE_NAMES.filter((n) => serviceSize(n) === 0).length).toBeGreaterThan(0)
    await expectConverged()
    // every service keeps its version record, emptied records included, and it counted the writes
    const versions = await versionRecords()
    expect(Object.keys(versions).sort()).toEqual([...SERVICE_NAMES].sort())
    for (const name of SERVICE_NAMES) expect(versions[name]).toBeGreaterThan(1)

    const after = await settledLog()
    const lines = after.lines.slice(before.lines.length)
    const invocations = after.starts - before.starts
    // the interrupted instances' warnings and reclaims (told by the StateReason read back) are logged, no
    // other instance's: terminations and scale-ins are no reclaim. (Not necessarily every one: an event
    // handled after its terminated instance is no longer described names no service.)
    const spotLines = await spotLog()
    for (const event of ['spot-interruption-warning', 'spot-reclaim']) {
      const named = new Set(spotLines.filter((l) => l.event === event).map((l) => l.instance))
      expect([...named].filter((id) => !interrupted.has(id))).toEqual([])
      expect(named.size).toBeGreaterThan(interrupted.size / 2)
    }
    const calls = lambdaCalls(emulator.calls())
    const perEvent = calls.length / invocations
    const actions: Record<string, number> = {}
    for (const line of lines) actions[line.action] = (actions[line.action] ?? 0) + 1
    const reordered = tap.reordered()
    const conflicts = lines.filter((l) => l.attempts > 1).length
    console.log(
      [
        `DNS updater under churn (seed ${SEED}): ${STEPS} steps (${counts.terminate} terminations, ${counts.spot} spot interruptions, ${counts.scale} rescalings of which ${counts.zeroed} to zero, ${counts.idle} idle waits) in ${seconds} s`,
        `${tap.deliveries.length} deliveries (${tap.duplicates()} duplicates, ${reordered.any} after a later event, ${reordered.sameInstance} after a later event of the same instance), ${invocations} invocations, actions ${JSON.stringify(actions)}, ${conflicts} needed more than one round (conflict or lagging read)`,
        `${calls.length} Lambda calls: ${perEvent.toFixed(2)} calls per event`
      ].join('\n')
    )
    // every delivery ran exactly once, none failed (a failure would be retried and show as extra invocations)
    expect(lines.filter((l) => l.action === 'error')).toEqual([])
    expect(invocations).toBe(tap.deliveries.length)
    expect(lines).toHaveLength(invocations)
    // the faults were really on
    expect(tap.duplicates()).toBeGreaterThan(0)
    expect(reordered.sameInstance).toBeGreaterThan(0)
    // the handler's own count matches the emulator's log, and stays within budget: a direct event reads
    // the zone, the instances and their groups, and writes when its record changes
    expect(lines.reduce((n, l) => n + l.calls, 0)).toBe(calls.length)
    expect(perEvent).toBeLessThanOrEqual(4)
  }, 90_000)

  test('a terminated instance whose events arrive after its replacement is running, and twice, leaves the record with only the replacement', async () => {
    emulator.setFaults({ duplicateEventRate: 0, reorderWindowMs: 0 })
    await restoreSizes()
    await expectConverged()
    const [old] = running().filter((i) => i.tags[TAGS.service] === 'db')
    expect(old).toBeDefined()
    const oldId = old?.instanceId ?? ''

    tap.holding = true
    emulator.terminateInstance(oldId)
    await emulator.waitIdle()
    tap.holding = false
    const [replacement] = running().filter((i) => i.tags[TAGS.service] === 'db')
    expect(replacement?.instanceId).not.toBe(oldId)
    const held = new Map(tap.held.splice(0).map((h) => [`${h.delivery.instance}/${h.delivery.state}`, h]))
    // the rule passes every state: the replacement's pending event is held too (and never delivered), and so
    // is Auto Scaling's Launch Successful of it
    expect([...held.keys()].sort()).toEqual(
      [
        `${oldId}/shutting-down`,
        `${oldId}/terminated`,
        `${replacement?.instanceId}/pending`,
        `${replacement?.instanceId}/running`,
        `${replacement?.instanceId}/launched`
      ].sort()
    )
    const deliver = async (key: string): Promise<void> => {
      const h = held.get(key)
      if (!h) throw new Error(`no held delivery ${key}`)
      tap.pass(h.arn, h.payload, h.delivery)
      await emulator.waitIdle()
    }

    // the replacement's running event first: the record already drops the old instance
    await deliver(`${replacement?.instanceId}/running`)
    expect((await serviceRecords()).db).toEqual([replacement?.privateIpAddress])
    emulator.resetCalls()
    // then the old instance's events, late, out of order and twice, and the running event again
    for (const key of [
      `${oldId}/terminated`,
      `${oldId}/terminated`,
      `${oldId}/shutting-down`,
      `${replacement?.instanceId}/running`
    ]) {
      await deliver(key)
    }
    await expectConverged()
    expect((await serviceRecords()).db).toEqual([replacement?.privateIpAddress])
    expect(lambdaCalls(emulator.calls()).filter((c) => c.operation === 'ChangeResourceRecordSets')).toEqual([])
    const { lines } = await settledLog()
    expect(lines.slice(-4).map((l) => `${l.instance} ${l.state} ${l.action}`)).toEqual([
      `${oldId} terminated noop`,
      `${oldId} terminated noop`,
      `${oldId} shutting-down noop`,
      `${replacement?.instanceId} running noop`
    ])
  }, 30_000)

  test("another project's instances starting and stopping leave this project's records untouched", async () => {
    emulator.setFaults({ duplicateEventRate: 0, reorderWindowMs: 0 })
    await restoreSizes()
    await expectConverged()
    const recordsBefore = await serviceRecords()
    const logBefore = await settledLog()
    emulator.resetCalls()

    // same stack and service tags as this project's db, only the project differs
    const groups = await clients.autoScaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [asgOf('db', 'on-demand')] })
    )
    const subnets = groups.AutoScalingGroups?.[0]?.VPCZoneIdentifier
    const foreign = 'hyperform-prj-other-st-churn-db'
    const tag = (Key: string, Value: string): { Key: string; Value: string; PropagateAtLaunch: boolean } => ({
      Key,
      Value,
      PropagateAtLaunch: true
    })
    await clients.autoScaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: foreign,
        LaunchTemplate: { LaunchTemplateName: launchTemplateName(scope, 'db'), Version: '$Latest' },
        MinSize: 2,
        MaxSize: 2,
        DesiredCapacity: 2,
        VPCZoneIdentifier: subnets,
        Tags: [tag(TAGS.project, OTHER_PROJECT), tag(TAGS.stack, scope.stack), tag(TAGS.service, 'db')]
      })
    )
    await emulator.waitIdle()
    const theirs = running(OTHER_PROJECT)
    expect(theirs).toHaveLength(2)
    emulator.terminateInstance(theirs[0]?.instanceId ?? '')
    await emulator.waitIdle()
    await setSize(foreign, 0)
    await emulator.waitIdle()
    await clients.autoScaling.send(
      new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: foreign, ForceDelete: true })
    )
    await emulator.waitIdle()

    expect(await serviceRecords()).toEqual(recordsBefore)
    await expectConverged()
    const ids = new Set(instances(OTHER_PROJECT).map((i) => i.instanceId))
    const lines = (await settledLog()).lines.slice(logBefore.lines.length)
    // three instances (two, and the replacement of the terminated one), each pending, running, in service
    // (Launch Successful), shutting-down, terminated
    expect(lines.filter((l) => ids.has(l.instance ?? '')).length).toBe(15)
    expect(lines.filter((l) => l.action !== 'ignore')).toEqual([])
    expect(lambdaCalls(emulator.calls()).filter((c) => c.operation === 'ChangeResourceRecordSets')).toEqual([])
  }, 30_000)

  test("Auto Scaling's Launch Successful alone, through the deployed rule, puts a new member in the record", async () => {
    emulator.setFaults({ duplicateEventRate: 0, reorderWindowMs: 0 })
    await restoreSizes()
    await expectConverged()
    const first = (await serviceRecords()).db ?? []
    tap.holding = true
    await setSize(asgOf('db', 'on-demand'), 2)
    await emulator.waitIdle()
    tap.holding = false
    const added = running().find((i) => i.tags[TAGS.service] === 'db' && !first.includes(i.privateIpAddress ?? ''))
    const held = new Map(tap.held.splice(0).map((h) => [`${h.delivery.instance}/${h.delivery.state}`, h]))
    expect([...held.keys()].sort()).toEqual(
      [`${added?.instanceId}/launched`, `${added?.instanceId}/pending`, `${added?.instanceId}/running`].sort()
    )
    const launched = held.get(`${added?.instanceId}/launched`)
    expect(JSON.parse(launched?.payload ?? '{}')).toMatchObject({
      source: 'aws.autoscaling',
      'detail-type': 'EC2 Instance Launch Successful',
      detail: { EC2InstanceId: added?.instanceId, AutoScalingGroupName: asgOf('db', 'on-demand') }
    })
    if (launched) tap.pass(launched.arn, launched.payload, launched.delivery)
    await emulator.waitIdle()
    expect((await serviceRecords()).db).toEqual(sortIps([...first, added?.privateIpAddress ?? '']))
    const { lines } = await settledLog()
    expect(lines.at(-1)).toMatchObject({ instance: added?.instanceId, state: 'InService', action: 'upsert' })
    await restoreSizes()
    await expectConverged()
  }, 30_000)

  test("an instance of the project's service launched outside any Auto Scaling group is never listed", async () => {
    emulator.setFaults({ duplicateEventRate: 0, reorderWindowMs: 0 })
    await restoreSizes()
    await expectConverged()
    const recordsBefore = await serviceRecords()
    const versionBefore = (await versionRecords()).db
    const logBefore = await settledLog()
    emulator.resetCalls()
    const groups = await clients.autoScaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [asgOf('db', 'on-demand')] })
    )
    const subnet = groups.AutoScalingGroups?.[0]?.VPCZoneIdentifier?.split(',')[0]

    // the db service's launch template and tags, but run by hand: no aws:autoscaling:groupName tag
    const out = await clients.ec2.send(
      new RunInstancesCommand({
        LaunchTemplate: { LaunchTemplateName: launchTemplateName(scope, 'db'), Version: '$Latest' },
        MinCount: 1,
        MaxCount: 1,
        SubnetId: subnet,
        TagSpecifications: [
          {
            ResourceType: 'instance',
            Tags: [
              { Key: TAGS.project, Value: scope.project },
              { Key: TAGS.stack, Value: scope.stack },
              { Key: TAGS.service, Value: 'db' }
            ]
          }
        ]
      })
    )
    const id = out.Instances?.[0]?.InstanceId ?? ''
    await emulator.waitIdle()
    const alone = running().find((i) => i.instanceId === id)
    expect(alone?.tags['aws:autoscaling:groupName']).toBeUndefined()
    expect(alone?.privateIpAddress).toBeDefined()

    expect(await serviceRecords()).toEqual(recordsBefore)
    expect((await serviceRecords()).db).not.toContain(alone?.privateIpAddress)
    await expectConverged()
    expect((await versionRecords()).db).toBe(versionBefore)
    // its events were handled (pending, running) and wrote nothing; its service's group members were read
    const lines = (await settledLog()).lines.slice(logBefore.lines.length)
    expect(lines.filter((l) => l.instance === id).map((l) => `${l.state} ${l.action}`)).toEqual([
      'pending noop',
      'running noop'
    ])
    const calls = lambdaCalls(emulator.calls())
    expect(calls.filter((c) => c.operation === 'ChangeResourceRecordSets')).toEqual([])
    expect(calls.filter((c) => c.operation === 'DescribeAutoScalingInstances').length).toBeGreaterThan(0)

    emulator.terminateInstance(id)
    await emulator.waitIdle()
    await expectConverged()
  }, 30_000)

  test('a write delayed until two newer writes have put the record back to the value it read does not leave a stale record', async () => {
    emulator.setFaults({ duplicateEventRate: 0, reorderWindowMs: 0 })
    await restoreSizes()
    await expectConverged()
    // a slow execution environment: the same handler, in process, whose write waits at a gate
    let open: () => void = () => undefined
    const gate = new Promise<void>((resolve) => (open = resolve))
    let atGate: () => void = () => undefined
    const reached = new Promise<void>((resolve) => (atGate = resolve))
    const route53 = new Route53Client(sdkConfig(emulator))
    route53.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ChangeResourceRecordSetsCommand') {
          atGate()
          await gate
        }
        return next(args)
      },
      { step: 'initialize', name: 'gate' }
    )
    const ec2 = new EC2Client(sdkConfig(emulator))
    const slow = createHandler({
      ec2,
      autoscaling: new AutoScalingClient(sdkConfig(emulator)),
      route53,
      config: { project: scope.project, region: scope.region, zoneId, zoneName: zoneName(scope), ttl: inputs.dnsTtl },
      log: () => undefined,
      sleep: () => Promise.resolve()
    })
    try {
      const asg = asgOf('worker', 'on-demand')
      const first = (await serviceRecords()).worker ?? []
      tap.holding = true
      await setSize(asg, 2)
      await emulator.waitIdle()
      const extra = running().find(
        (i) => i.tags[TAGS.service] === 'worker' && !first.includes(i.privateIpAddress ?? '')
      )
      expect(extra).toBeDefined()
      const extraId = extra?.instanceId ?? ''
      // the slow invocation reads the old record and the new instance, then stalls before writing
      const slowRun = slow({
        'detail-type': 'EC2 Instance State-change Notification',
        source: 'aws.ec2',
        detail: { 'instance-id': extraId, state: 'running' }
      })
      await reached
      // meanwhile the deployed function adds the instance, and removes it again once it is gone
      tap.holding = false
      for (const h of tap.held.splice(0)) tap.pass(h.arn, h.payload, h.delivery)
      await emulator.waitIdle()
      expect((await serviceRecords()).worker).toEqual(sortIps([...first, extra?.privateIpAddress ?? '']))
      await clients.autoScaling.send(
        new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: extraId, ShouldDecrementDesiredCapacity: true })
      )
      await emulator.waitIdle()
      expect((await serviceRecords()).worker).toEqual(first)
      const versionBefore = (await versionRecords()).worker
      // the stalled write now lands on a record that again holds exactly what it read, but not on the version it read
      open()
      const late = await slowRun
      await emulator.waitIdle()
      await expectConverged()
      expect(late).toMatchObject({ action: 'noop', attempts: 2, after: first })
      expect((await versionRecords()).worker).toBe(versionBefore)
    } finally {
      open()
      tap.holding = false
      route53.destroy()
      ec2.destroy()
    }
  }, 30_000)
})
