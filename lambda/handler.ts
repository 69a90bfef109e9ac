/**
 * The DNS updater Lambda (`index.handler` in the bundle, Node 22/24, ESM).
 * The AWS SDK v3 clients come from the Lambda runtime; the bundle leaves them out.
 *
 * Environment:
 *   PROJECT     project name; only instances tagged with it are considered (required)
 *   ZONE_ID     the project's private hosted zone, `Z...` or `/hostedzone/Z...` (required)
 *   ZONE_NAME   that zone's name, must equal <project>.<region>.internal (required)
 *   RECORD_TTL  TTL of the service records in seconds (default 60)
 *   AWS_REGION  set by Lambda; part of every record name
 *
 * Per event, in this order:
 *   1. ListResourceRecordSets of the whole zone (one page of up to 300 sets).
 *   2. DescribeInstances filtered on tag:<project key>=PROJECT, any state (one
 *      page of up to 1000 instances): gives the event's instance and its tags,
 *      and the service's running instances, in one read.
 *   3. At most one ChangeResourceRecordSets, as compare-and-swap: DELETE of the
 *      exact set read in 1 plus CREATE of the new set, in one batch.
 *   4. After a write, DescribeInstances again (as in 2): if the service's running
 *      IPs already differ from what was written, recompute from 1.
 * Reading the record BEFORE the instances is what makes the swap safe: if
 * another invocation writes after our record read, our batch fails with
 * InvalidChangeBatch and we recompute from scratch (bounded, jittered backoff);
 * if it wrote before, our instance read is newer than its. The swap compares
 * values only, so it cannot see a record that other writers changed and then
 * put back to exactly what we read (A-B-A): a writer stalled between 2 and 3
 * would then write its old set over a newer, equal-looking one. Step 4 closes
 * that: whoever writes last checks the instances after its own write. So 2
 * calls for an ignored or unchanged event, 4 when the record changes; more only
 * for extra pages, SDK retries, conflicts or instances changing meanwhile. Throttling and PriorRequestNotComplete are
 * retried by the SDK's standard retry; any other error is thrown so that
 * Lambda's asynchronous retry runs.
 *
 * IAM: ec2:DescribeInstances; route53:ListResourceRecordSets and
 * route53:ChangeResourceRecordSets on the zone; logs for the log group.
 *
 * One JSON line per event on stdout:
 *   {instance, state, service, stack, record, before, after, action, calls, attempts, reason}
 * `calls` counts HTTP requests, SDK retries included.
 */
import { EC2Client, paginateDescribeInstances, type Instance } from '@aws-sdk/client-ec2'
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ListResourceRecordSetsCommandInput,
  type ResourceRecordSet
} from '@aws-sdk/client-route-53'
import { LIMITS, TAGS, labelProblem, regionProblem, zoneName } from '../src/names.js'
import {
  beforeAfter,
  changeBatch,
  normalizeName,
  parseEvent,
  plan,
  staleAfterWrite,
  type Decision,
  type InstanceView,
  type RecordSet,
  type StateChange
} from './core.js'

export interface Config {
  project: string
  region: string
  zoneId: string
  zoneName: string
  ttl: number
}

export interface LogLine {
  instance: string | null
  state: string | null
  service: string | null
  stack: string | null
  record: string | null
  before: string[] | null
  after: string[] | null
  action: Decision['action'] | 'error'
  calls: number
  attempts: number
  reason?: string
  error?: string
}

export interface HandlerDeps {
  ec2: EC2Client
  route53: Route53Client
  config: Config
  /** Where the one line per event goes (default: stdout). */
  log?: (line: LogLine) => void
  sleep?: (ms: number) => Promise<void>
  /** In [0, 1), for the backoff's jitter. */
  random?: () => number
  /** Read-decide-write rounds before giving up on conflicts or lagging reads (default 5). */
  maxAttempts?: number
}

export const DEFAULT_TTL = 60
export const MAX_ATTEMPTS = 5
const ZONE_PAGE = 300
const INSTANCE_PAGE = 1000
const BACKOFF_BASE_MS = 250
const BACKOFF_CAP_MS = 4000

function required(env: NodeJS.ProcessEnv, key: string): string {
  const value = env[key]?.trim()
  if (!value) throw new Error(`environment variable ${key} is required`)
  return value
}

function parseTtl(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return DEFAULT_TTL
  const ttl = Number(raw)
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 2147483647) {
    throw new Error(`RECORD_TTL "${raw}" is not a whole number of seconds`)
  }
  return ttl
}

/** The configuration from the function's environment; throws on anything missing or inconsistent. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  const project = required(env, 'PROJECT')
  const region = required(env, 'AWS_REGION')
  const problem = labelProblem(project, LIMITS.project) ?? regionProblem(region)
  if (problem) throw new Error(`PROJECT "${project}" / AWS_REGION "${region}": ${problem}`)
  const zone = normalizeName(required(env, 'ZONE_NAME'))
  const expected = zoneName({ project, region })
  if (zone !== expected) throw new Error(`ZONE_NAME "${zone}" is not the project's zone "${expected}"`)
  const zoneId = required(env, 'ZONE_ID').replace(/^\/?hostedzone\//, '')
  return { project, region, zoneId, zoneName: zone, ttl: parseTtl(env.RECORD_TTL) }
}

/** Counts HTTP requests, SDK retries included. */
class Calls {
  count = 0
  add(metadata: { attempts?: number } | undefined): void {
    this.count += metadata?.attempts ?? 1
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error'
}

async function counted<T extends { $metadata?: { attempts?: number } }>(calls: Calls, request: Promise<T>): Promise<T> {
  try {
    const output = await request
    calls.add(output.$metadata)
    return output
  } catch (error) {
    calls.add((error as { $metadata?: { attempts?: number } }).$metadata)
    throw error
  }
}

function toRecordSet(set: ResourceRecordSet): RecordSet | undefined {
  if (set.Type !== 'A' || set.SetIdentifier || set.AliasTarget || set.TTL === undefined || !set.Name) return undefined
  return { name: set.Name, ttl: set.TTL, values: (set.ResourceRecords ?? []).flatMap((r) => (r.Value ? [r.Value] : [])) }
}

async function readZone(route53: Route53Client, zoneId: string, calls: Calls): Promise<RecordSet[]> {
  const records: RecordSet[] = []
  let input: ListResourceRecordSetsCommandInput = { HostedZoneId: zoneId, MaxItems: ZONE_PAGE }
  for (;;) {
    const page = await counted(calls, route53.send(new ListResourceRecordSetsCommand(input)))
    for (const set of page.ResourceRecordSets ?? []) {
      const record = toRecordSet(set)
      if (record) records.push(record)
    }
    if (!page.IsTruncated) return records
    input = {
      ...input,
      StartRecordName: page.NextRecordName,
      StartRecordType: page.NextRecordType,
      StartRecordIdentifier: page.NextRecordIdentifier
    }
  }
}

function toView(instance: Instance): InstanceView | undefined {
  if (!instance.InstanceId) return undefined
  const tags: Record<string, string> = {}
  for (const tag of instance.Tags ?? []) if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? ''
  return {
    id: instance.InstanceId,
    state: instance.State?.Name ?? 'unknown',
    privateIp: instance.PrivateIpAddress || undefined,
    tags
  }
}

async function readInstances(ec2: EC2Client, project: string, calls: Calls): Promise<InstanceView[]> {
  const views: InstanceView[] = []
  const pages = paginateDescribeInstances(
    { client: ec2, pageSize: INSTANCE_PAGE },
    { Filters: [{ Name: `tag:${TAGS.project}`, Values: [project] }] }
  )
  try {
    for await (const page of pages) {
      calls.add(page.$metadata)
      for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        const view = toView(instance)
        if (view) views.push(view)
      }
    }
  } catch (error) {
    calls.add((error as { $metadata?: { attempts?: number } }).$metadata)
    throw error
  }
  return views
}

/** Writes the decision; returns why to recompute when a concurrent writer got there first. */
async function write(deps: HandlerDeps, decision: Decision, calls: Calls): Promise<string | undefined> {
  const Changes = changeBatch(decision)
  if (Changes.length === 0) return undefined
  const command = new ChangeResourceRecordSetsCommand({
    HostedZoneId: deps.config.zoneId,
    ChangeBatch: { Comment: `hyperform: ${decision.action}`, Changes }
  })
  try {
    await counted(calls, deps.route53.send(command))
    return undefined
  } catch (error) {
    if (errorName(error) === 'InvalidChangeBatch') return `InvalidChangeBatch: ${(error as Error).message}`
    throw error
  }
}

/** After a write: reads the instances again; why the record written is already stale, or undefined. */
async function verify(deps: HandlerDeps, decision: Decision, calls: Calls): Promise<string | undefined> {
  if (changeBatch(decision).length === 0) return undefined
  return staleAfterWrite(decision, await readInstances(deps.ec2, deps.config.project, calls), deps.config.project)
}

function backoff(attempt: number, random: () => number): number {
  const delay = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1))
  return delay / 2 + random() * (delay / 2)
}

function logLine(change: StateChange | undefined, decision: Decision, counts: { calls: number; attempts: number }): LogLine {
  const target = decision.action === 'ignore' ? undefined : decision.target
  const line: LogLine = {
    instance: change?.instanceId ?? null,
    state: change?.state ?? null,
    service: target?.service ?? null,
    stack: target?.stack ?? null,
    record: target?.record ?? null,
    ...beforeAfter(decision),
    action: decision.action,
    ...counts
  }
  if ('reason' in decision) line.reason = decision.reason
  return line
}

class Exhausted extends Error {
  override name = 'RetriesExhausted'
}

interface Round {
  decision: Decision | undefined
  calls: Calls
  attempts: number
}

/** Read, decide, write; again from scratch after a conflict or a lagging read. */
async function converge(deps: HandlerDeps, change: StateChange, round: Round): Promise<Decision> {
  const { config } = deps
  const max = deps.maxAttempts ?? MAX_ATTEMPTS
  for (;;) {
    round.attempts += 1
    const records = await readZone(deps.route53, config.zoneId, round.calls)
    const instances = await readInstances(deps.ec2, config.project, round.calls)
    const decision = plan({ event: change, instances, records, scope: config, ttl: config.ttl })
    round.decision = decision
    const conflict = decision.action === 'reread' ? decision.reason : await write(deps, decision, round.calls)
    const stale = conflict === undefined ? await verify(deps, decision, round.calls) : undefined
    const retry = conflict ?? stale
    if (retry === undefined) return decision
    if (round.attempts >= max) throw new Exhausted(`gave up after ${round.attempts} attempts: ${retry}`)
    // a stale write means the instances changed, not that writers collide: recompute at once
    if (conflict !== undefined) await (deps.sleep ?? defaultSleep)(backoff(round.attempts, deps.random ?? Math.random))
  }
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function defaultLog(line: LogLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`)
}

/** The handler for the given clients and configuration. */
export function createHandler(deps: HandlerDeps): (event: unknown) => Promise<LogLine> {
  const log = deps.log ?? defaultLog
  return async (event: unknown) => {
    const change = parseEvent(event)
    if (!change) {
      const line = logLine(undefined, { action: 'ignore', reason: 'not an EC2 instance state-change event' }, { calls: 0, attempts: 0 })
      log(line)
      return line
    }
    const round: Round = { decision: undefined, calls: new Calls(), attempts: 0 }
    try {
      const decision = await converge(deps, change, round)
      const line = logLine(change, decision, { calls: round.calls.count, attempts: round.attempts })
      log(line)
      return line
    } catch (error) {
      const last: Decision = round.decision ?? { action: 'ignore', reason: 'failed before a decision' }
      const counts = { calls: round.calls.count, attempts: round.attempts }
      log({ ...logLine(change, last, counts), action: 'error', error: `${errorName(error)}: ${(error as Error).message}` })
      throw error
    }
  }
}

/** Clients with the SDK's standard retry (throttling, PriorRequestNotComplete, 5xx). */
export function defaultClients(region: string): { ec2: EC2Client; route53: Route53Client } {
  return {
    ec2: new EC2Client({ region, retryMode: 'standard', maxAttempts: 5 }),
    route53: new Route53Client({ region, retryMode: 'standard', maxAttempts: 6 })
  }
}

let lambdaHandler: ((event: unknown) => Promise<LogLine>) | undefined

/** Lambda entry point: clients and configuration are built once per execution environment. */
export async function handler(event: unknown): Promise<LogLine> {
  if (!lambdaHandler) {
    const config = configFromEnv()
    lambdaHandler = createHandler({ ...defaultClients(config.region), config })
  }
  return lambdaHandler(event)
}
