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
 *   1. ListResourceRecordSets of the whole zone (one page of up to 300 sets):
 *      gives the service's A record and its version record (TXT, same name).
 *   2. DescribeInstances filtered on tag:<project key>=PROJECT, any state (one
 *      page of up to 1000 instances): gives the event's instance and its tags,
 *      and the service's running instances, in one read.
 *   3. At most one ChangeResourceRecordSets, as compare-and-swap: DELETE of the
 *      exact A set read in 1 plus CREATE of the new set (or only the DELETE when
 *      none runs), and DELETE of the exact TXT read plus CREATE of the next
 *      version ("hyperform-version=<n+1>", or 1 when there was none), in one
 *      all-or-nothing batch.
 * Reading the record BEFORE the instances is what makes the swap safe: if
 * another invocation wrote before our record read, our instance read is newer
 * than its; if it writes after, our batch fails with InvalidChangeBatch and we
 * read the zone again (after a bounded, jittered backoff): when the winner
 * already wrote the set we meant to write we are done (one call), otherwise
 * that read opens a new round, the instances read after it. Comparing the A
 * values alone could not see a record that other writers changed and then put
 * back to exactly what we read (A-B-A): a writer stalled between 2 and 3 would
 * then write its old set over a newer, equal-looking one. The version record
 * closes that: every write bumps it and it never returns to an earlier value,
 * so any write since our read fails our DELETE of the TXT, with no read after
 * the write. Left open (as with any check-then-act without a read after the
 * write): a writer stalled between 2 and 3 while the instance it adds dies and
 * BOTH that instance's shutting-down and terminated events are handled as
 * no-ops before the stalled batch lands; a later event of the service repairs
 * it, and the action's drift check heals it. So 2 calls for an ignored or
 * unchanged event, 3 when the record changes; more only for extra pages, SDK
 * retries, conflicts (1 more when the winner wrote the same set, 3 otherwise)
 * or a read lagging the event. Throttling and PriorRequestNotComplete are
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
  decide,
  findRecord,
  normalizeName,
  parseEvent,
  plan,
  type Decision,
  type InstanceView,
  type RecordSet,
  type StateChange,
  type VersionRecord
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

/** A simple record set of the given type (no alias, weight or set identifier), as the handler reads it. */
function simple(set: ResourceRecordSet, type: 'A' | 'TXT'): RecordSet | undefined {
  if (set.Type !== type || set.SetIdentifier || set.AliasTarget || set.TTL === undefined || !set.Name) return undefined
  return { name: set.Name, ttl: set.TTL, values: (set.ResourceRecords ?? []).flatMap((r) => (r.Value ? [r.Value] : [])) }
}

interface ZoneRead {
  records: RecordSet[]
  versions: VersionRecord[]
}

/** Every page of the zone: its A record sets, and its TXT sets (the version records). */
async function readZone(route53: Route53Client, zoneId: string, calls: Calls): Promise<ZoneRead> {
  const read: ZoneRead = { records: [], versions: [] }
  let input: ListResourceRecordSetsCommandInput = { HostedZoneId: zoneId, MaxItems: ZONE_PAGE }
  for (;;) {
    const page = await counted(calls, route53.send(new ListResourceRecordSetsCommand(input)))
    for (const set of page.ResourceRecordSets ?? []) {
      const record = simple(set, 'A')
      if (record) read.records.push(record)
      const version = simple(set, 'TXT')
      if (version) read.versions.push(version)
    }
    if (!page.IsTruncated) return read
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
  /** A zone read already made for the next round (after a lost swap). */
  zone?: ZoneRead
}

/**
 * After a lost swap: reads the zone again. When the winner already wrote what
 * this round meant to write, that is the outcome (a no-op, one call); otherwise
 * the read opens the next round, which reads the instances after it as always.
 */
async function afterConflict(deps: HandlerDeps, decision: Decision, round: Round): Promise<Decision | undefined> {
  if (decision.action !== 'upsert' && decision.action !== 'delete') return undefined
  const zone = await readZone(deps.route53, deps.config.zoneId, round.calls)
  const { target } = decision
  const ips = decision.action === 'upsert' ? decision.next.values : []
  const current = findRecord(zone.records, target.record)
  const outcome = decide({ target, ips, current, version: findRecord(zone.versions, target.record), ttl: deps.config.ttl })
  if (outcome.action === 'noop') return outcome
  round.zone = zone
  return undefined
}

/** Read, decide, write; again from scratch after a conflict or a lagging read. */
async function converge(deps: HandlerDeps, change: StateChange, round: Round): Promise<Decision> {
  const { config } = deps
  const max = deps.maxAttempts ?? MAX_ATTEMPTS
  for (;;) {
    round.attempts += 1
    const { records, versions } = round.zone ?? (await readZone(deps.route53, config.zoneId, round.calls))
    round.zone = undefined
    const instances = await readInstances(deps.ec2, config.project, round.calls)
    const decision = plan({ event: change, instances, records, versions, scope: config, ttl: config.ttl })
    round.decision = decision
    const retry = decision.action === 'reread' ? decision.reason : await write(deps, decision, round.calls)
    if (retry === undefined) return decision
    if (round.attempts >= max) throw new Exhausted(`gave up after ${round.attempts} attempts: ${retry}`)
    await (deps.sleep ?? defaultSleep)(backoff(round.attempts, deps.random ?? Math.random))
    const settled = await afterConflict(deps, decision, round)
    if (settled) return (round.decision = settled)
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
