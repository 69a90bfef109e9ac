/**
 * The DNS updater Lambda (`index.handler` in the bundle, Node 22/24, ESM).
 * The AWS SDK v3 clients come from the Lambda runtime; the bundle leaves them out.
 *
 * Environment:
 *   PROJECT     project name; only instances tagged with it are considered (required)
 *   ZONE_ID     the project's private hosted zone, `Z...` or `/hostedzone/Z...` (required)
 *   ZONE_NAME   that zone's name, must equal <project>.<region>.internal (required)
 *   RECORD_TTL  TTL of the service records in seconds (default DEFAULT_RECORD_TTL of src/names.ts, the dns-ttl input's default)
 *   AWS_REGION  set by Lambda; part of every record name
 *
 * What the record lists: the private IPs of the service's instances that are
 * `running` in EC2 AND in service in their Auto Scaling group (LifecycleState
 * `InService`, HealthStatus `HEALTHY`). Every group has a launch lifecycle hook
 * (LAUNCH_HOOK of src/names.ts) that the instance's agent completes once its
 * container is healthy: until then the group holds it in `Pending:Wait`, so in
 * service means ready, and an instance enters DNS when its container can answer,
 * not when EC2 says running. How the updater knows:
 *   - It reads the groups' view with autoscaling:DescribeAutoScalingInstances
 *     (InstanceIds, 50 a call) of the candidates only: the running instances
 *     that carry the `aws:autoscaling:groupName` tag, of the services being
 *     recomputed, batched across all the services of a batch or reconcile,
 *     after the instance read (step 3 below). An instance without that tag is
 *     in no group and never listed: the action launches only group members.
 *     An instance its group does not return (detached, or a read lagging its
 *     launch) is not listed either.
 *   - It recomputes on Auto Scaling's `EC2 Instance Launch Successful` (source
 *     aws.autoscaling, detail.EC2InstanceId), sent once the launch, hook
 *     included, completed, as on an EC2 state change: the same rule (and
 *     queue) carries both. Reading the groups on a timer instead would leave a
 *     ready instance out of DNS until the next tick; DescribeAutoScalingGroups
 *     would read every member of whole groups instead of the candidates.
 *   - A group read older than what is known is a lagging read, as an EC2 one
 *     is: `Pending`, `Pending:Wait` or `Pending:Proceed` (or absent) for an
 *     instance whose Launch Successful event is in the batch, or `Pending:*` for
 *     a running instance whose IP the record holds (a group never takes an
 *     instance back to Pending; only a read that saw it in service put the IP
 *     there). That service is read again after the backoff, the others are not.
 *     The second is taken as read on the last round: an IP reused by a new
 *     instance held by its launch hook for minutes (a refresh in a small
 *     subnet) must drop out of the record, not fail the batch until then.
 *   A member the group marks UNHEALTHY, or `Terminating` (scale-in, replacement),
 *   leaves the record on the next recompute of its service; its EC2
 *   shutting-down event makes one.
 *
 * Three event shapes, one engine:
 *   - An SQS event (`Records[]`, `eventSource: aws:sqs`), from an event source
 *     mapping on the queue EventBridge sends the EC2 state changes (and Auto
 *     Scaling's Launch Successful events) to; each
 *     message body is one EventBridge event. Returns
 *     `{ batchItemFailures: [{ itemIdentifier: <messageId> }] }` naming the
 *     messages whose services could not be written (the mapping must have
 *     `FunctionResponseTypes: ["ReportBatchItemFailures"]`); never throws for
 *     a bad message or an AWS error, so SQS retries only those messages.
 *   - A scheduled event (`source: aws.events`, `detail-type: Scheduled Event`,
 *     directly or as a message body): recompute every service of the project.
 *     Returns its line; throws (after logging) when a service could not be written.
 *   - A direct EventBridge state-change or Launch Successful event (the rule
 *     target of before the queue): one event as before, returns its line,
 *     throws for Lambda's retry.
 *
 * Per SQS batch, in this order:
 *   0. DescribeInstances of the events' instance ids (filter instance-id, 200 ids
 *      a call), any project and state: which are the project's and of which
 *      service. Terminated instances stay listed, with their tags, for about an
 *      hour. A batch naming none of the project's instances stops here: no
 *      Route 53 call.
 *   1. ListResourceRecordSets of the whole zone (pages of 300 sets): every
 *      service's A record and its version record (TXT, same name).
 *   2. DescribeInstances filtered on tag:<project key>=PROJECT and every state
 *      but terminated (pages of 1000): every service's running instances.
 *   3. DescribeAutoScalingInstances of the running group members of the
 *      services to recompute (50 ids a call; none when there are none): which
 *      are InService and HEALTHY.
 *   4. ChangeResourceRecordSets of one batch for every service whose record
 *      differs (more only past Route 53's 1000 values or 32,000 characters per
 *      request, never splitting a service), each service's change a
 *      compare-and-swap: DELETE of the exact A set read in 1 plus CREATE of the
 *      new set (or only the DELETE when none runs), and DELETE of the exact TXT
 *      read plus CREATE of the next version ("hyperform-version=<n+1>", or 1).
 * A scheduled event skips 0 and recomputes the services of 2 and those with a
 * version record in 1. A direct event skips 0 and reads every state in 2,
 * which finds its instance (as the updater always did).
 * The reads go zone, then instances, then groups: each read is newer than the
 * one before, so a group read is never older than the instance read it
 * completes.
 *
 * Reading the records BEFORE the instances is what makes the swap safe: if
 * another invocation wrote before our record read, our instance read is newer
 * than its; if it writes after, our request fails with InvalidChangeBatch (all
 * of it: Route 53 batches are all-or-nothing) and we read the zone again (after
 * a bounded, jittered backoff): the services the winner already wrote as we
 * meant to are done, the others are recomputed from fresh instance (and group)
 * reads read after that zone read. A read older than what is known (an
 * instance in a state older than the batch's event of it, pending while the
 * record holds its IP, or Pending:* in its group after its Launch Successful
 * event or while the record holds its IP) defers that service alone to the
 * next round. Comparing the A values alone
 * could not see a record that other writers changed and then put back to
 * exactly what we read (A-B-A): a writer stalled between 2 and 4 would then
 * write its old set over a newer, equal-looking one. The version record closes
 * that: every write bumps it and it never returns to an earlier value, so any
 * write since our read fails our DELETE of the TXT, with no read after the
 * write. Left open (as with any check-then-act without a read after the write):
 * a writer stalled between 2 and 4 while the instance it adds dies and BOTH
 * that instance's shutting-down and terminated events are handled as no-ops
 * before the stalled batch lands; the scheduled reconcile repairs it, and so
 * does the action's drift check.
 *
 * Calls: a batch of any size costs 1 zone read (per 300 sets) and 1 write when
 * anything changed (Route 53), 1 read by id (per 200 instances) plus 1
 * project read (per 1000 instances) (EC2), and 1 group read per 50 running
 * group members of the services recomputed (Auto Scaling; none when none
 * runs); a batch of other projects' events only the read by id. A direct
 * event costs 3 when nothing changes, 4 when the record changes (2 and 3 when
 * none of its service runs). More only for SDK retries, conflicts (1 zone
 * read, then a round of 3 or 4) or a lagging read (a round). Throttling and
 * PriorRequestNotComplete are retried by the SDK's standard retry.
 *
 * IAM: ec2:DescribeInstances and autoscaling:DescribeAutoScalingInstances
 * (on *: neither has a resource-level permission); route53:ListResourceRecordSets and
 * route53:ChangeResourceRecordSets on the zone; logs for the log group (and,
 * for the event source mapping, sqs:ReceiveMessage, DeleteMessage and
 * GetQueueAttributes on the queue).
 *
 * One JSON line per invocation on stdout:
 *   direct event: {instance, state, service, stack, record, before, after, action, calls, attempts, reason}
 *   batch or reconcile: {kind, messages, events, reconcile, ignored, services, changed, unchanged, failed,
 *                        failedMessages, route53Calls, ec2Calls, autoscalingCalls, calls, attempts, records,
 *                        failures, reasons, error}
 * Calls count HTTP requests, SDK retries included. Before it, one line per spot signal of the project's
 * instances (SpotEventLine of src/names.ts, the format a reader filters the log group for):
 *   {event, instance, service, stack, project, at}, event spot-interruption-warning, rebalance-recommendation
 *   or spot-reclaim (the shutting-down change of an instance whose StateReason, read with the
 *   DescribeInstances the updater makes anyway, is Server.SpotInstanceTermination).
 */
import {
  AutoScalingClient,
  DescribeAutoScalingInstancesCommand,
  EnterStandbyCommand,
  type DescribeAutoScalingInstancesCommandInput
} from '@aws-sdk/client-auto-scaling'
import {
  CreateTagsCommand,
  EC2Client,
  paginateDescribeInstances,
  type DescribeInstancesCommandInput,
  type Instance
} from '@aws-sdk/client-ec2'
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ListResourceRecordSetsCommandInput,
  type ResourceRecordSet
} from '@aws-sdk/client-route-53'
import {
  DEFAULT_RECORD_TTL,
  LIMITS,
  TAGS,
  labelProblem,
  regionProblem,
  zoneName,
  type SpotEventLine
} from '../src/names.js'
import {
  beforeAfter,
  changeRequests,
  decide,
  findRecord,
  GROUP_TAG,
  identify,
  isWarning,
  WARNINGS,
  INTERRUPTION_WARNING,
  membershipCandidates,
  normalizeName,
  parseQueueEvent,
  parseTrigger,
  planBatch,
  projectTargets,
  spotEvent,
  type ChangeRequest,
  type Decision,
  type GroupMembership,
  type InstanceView,
  type QueueMessage,
  type RecordSet,
  type StateChange,
  type Target,
  type TargetedChange,
  type VersionRecord
} from './core.js'

export interface Config {
  project: string
  region: string
  zoneId: string
  zoneName: string
  ttl: number
}

/** The line logged (and returned) for a direct EventBridge state-change event. */
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

/** One service record a batch wrote, or failed to write. */
export interface RecordLine {
  record: string
  before: string[] | null
  after: string[] | null
}

/** The one line logged per SQS batch (`kind: batch`) or scheduled reconcile (`kind: reconcile`, also returned). */
export interface BatchLine {
  kind: 'batch' | 'reconcile'
  /** SQS messages in the batch (0 for a direct scheduled event). */
  messages: number
  /** State-change and Launch Successful events among them. */
  events: number
  /** True when a scheduled event asked for every service. */
  reconcile: boolean
  /** Messages that named no service of the project: another project's instance, an unknown one, neither a state change nor a launch. */
  ignored: number
  /** Services recomputed. */
  services: number
  /** Records written (each one compare-and-swap), and left as they were. */
  changed: number
  unchanged: number
  /** Services that could not be written (conflicts past the bound, or an error). */
  failed: number
  /** Messages reported back to SQS as batch item failures. */
  failedMessages: number
  route53Calls: number
  ec2Calls: number
  autoscalingCalls: number
  calls: number
  attempts: number
  /** Each written record's IPs before and after, then each failed one's last known (the first 100 of each). */
  records: RecordLine[]
  failures: RecordLine[]
  /** How many messages were ignored, by reason. */
  reasons: Record<string, number>
  error?: string
}

/** What an SQS event source mapping with `ReportBatchItemFailures` expects back. */
export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[]
}

/** An SQS event as an event source mapping sends it (only what the handler reads). */
export interface QueueEvent {
  Records: readonly { messageId: string; body: string; eventSource: string }[]
}

/** An EventBridge EC2 state-change event, or Auto Scaling's Launch Successful (only what the handler reads). */
export type StateChangeEvent =
  | { detail: { 'instance-id': string; state: string } }
  | { source: 'aws.autoscaling'; 'detail-type': 'EC2 Instance Launch Successful'; detail: { EC2InstanceId: string } }

/** An EventBridge schedule's event. */
export interface ScheduledEvent {
  source: 'aws.events'
  'detail-type': 'Scheduled Event'
}

/** The handler, typed per event shape. */
export interface DnsHandler {
  (event: QueueEvent): Promise<BatchResponse>
  (event: ScheduledEvent): Promise<BatchLine>
  (event: StateChangeEvent): Promise<LogLine>
  (event: unknown): Promise<LogLine | BatchLine | BatchResponse>
}

export interface HandlerDeps {
  ec2: EC2Client
  route53: Route53Client
  autoscaling: AutoScalingClient
  config: Config
  /** Where the one line per event or batch goes (default: stdout). */
  log?: (line: LogLine | BatchLine) => void
  /** Where the line of each spot signal goes (SpotEventLine of src/names.ts; default: stdout). */
  logSpot?: (line: SpotEventLine) => void
  sleep?: (ms: number) => Promise<void>
  /** In [0, 1), for the backoff's jitter. */
  random?: () => number
  /** Read-decide-write rounds before giving up on conflicts or lagging reads (default 5). */
  maxAttempts?: number
}

export const MAX_ATTEMPTS = 5
const ZONE_PAGE = 300
const INSTANCE_PAGE = 1000
/** EC2 refuses more than 200 filter values in one call (FilterLimitExceeded). */
const ID_FILTER_VALUES = 200
/** DescribeAutoScalingInstances takes at most 50 instance ids, and returns at most 50 a page. */
const GROUP_IDS = 50
/** The states the project read of a batch or reconcile returns: every one but terminated. */
const LIVE_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped']
/** Records listed by name in a batch line (the counts are always whole): a log event holds 256 KB. */
const LOGGED_RECORDS = 100
const BACKOFF_BASE_MS = 250
const BACKOFF_CAP_MS = 4000

function required(env: NodeJS.ProcessEnv, key: string): string {
  const value = env[key]?.trim()
  if (!value) throw new Error(`environment variable ${key} is required`)
  return value
}

function parseTtl(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return DEFAULT_RECORD_TTL
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

type Metadata = { $metadata?: { attempts?: number } }

type Service = 'route53' | 'ec2' | 'autoscaling'

/** Counts HTTP requests per service, SDK retries included. */
class Calls {
  route53 = 0
  ec2 = 0
  autoscaling = 0
  get count(): number {
    return this.route53 + this.ec2 + this.autoscaling
  }
  add(service: Service, metadata: { attempts?: number } | undefined): void {
    this[service] += metadata?.attempts ?? 1
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error'
}

function errorText(error: unknown): string {
  return `${errorName(error)}: ${error instanceof Error ? error.message : String(error)}`
}

async function counted<T extends Metadata>(calls: Calls, service: Service, request: Promise<T>): Promise<T> {
  try {
    const output = await request
    calls.add(service, output.$metadata)
    return output
  } catch (error) {
    calls.add(service, (error as Metadata).$metadata)
    throw error
  }
}

/** A simple record set of the given type (no alias, weight or set identifier), as the handler reads it. */
function simple(set: ResourceRecordSet, type: 'A' | 'TXT'): RecordSet | undefined {
  if (set.Type !== type || set.SetIdentifier || set.AliasTarget || set.TTL === undefined || !set.Name) return undefined
  return {
    name: set.Name,
    ttl: set.TTL,
    values: (set.ResourceRecords ?? []).flatMap((r) => (r.Value ? [r.Value] : []))
  }
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
    const page = await counted(calls, 'route53', route53.send(new ListResourceRecordSetsCommand(input)))
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
    tags,
    ...(instance.StateReason?.Code ? { stateReason: instance.StateReason.Code } : {})
  }
}

/** Every page of one filtered DescribeInstances. */
async function describe(ec2: EC2Client, input: DescribeInstancesCommandInput, calls: Calls): Promise<InstanceView[]> {
  const views: InstanceView[] = []
  const pages = paginateDescribeInstances({ client: ec2, pageSize: INSTANCE_PAGE }, input)
  try {
    for await (const page of pages) {
      calls.add('ec2', page.$metadata)
      for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        const view = toView(instance)
        if (view) views.push(view)
      }
    }
  } catch (error) {
    calls.add('ec2', (error as Metadata).$metadata)
    throw error
  }
  return views
}

/**
 * The project's instances: in every state for a direct event (the event's own
 * instance, terminated or not, is found among them), or all but the terminated
 * ones for a batch or a reconcile (whose events' instances were read by id).
 */
function readProject(ec2: EC2Client, project: string, states: 'all' | 'live', calls: Calls): Promise<InstanceView[]> {
  const Filters = [{ Name: `tag:${TAGS.project}`, Values: [project] }]
  if (states === 'live') Filters.push({ Name: 'instance-state-name', Values: LIVE_STATES })
  return describe(ec2, { Filters }, calls)
}

/** The named instances, whatever their project or state (terminated ones keep their tags for about an hour). */
async function readByIds(ec2: EC2Client, ids: readonly string[], calls: Calls): Promise<Map<string, InstanceView>> {
  const found = new Map<string, InstanceView>()
  for (let i = 0; i < ids.length; i += ID_FILTER_VALUES) {
    const Values = ids.slice(i, i + ID_FILTER_VALUES)
    for (const view of await describe(ec2, { Filters: [{ Name: 'instance-id', Values }] }, calls))
      found.set(view.id, view)
  }
  return found
}

/**
 * The groups' view of the named instances (DescribeAutoScalingInstances, 50 ids
 * a call): an instance no group holds is not in the answer.
 */
async function readMemberships(
  autoscaling: AutoScalingClient,
  ids: readonly string[],
  calls: Calls
): Promise<Map<string, GroupMembership>> {
  const found = new Map<string, GroupMembership>()
  for (let i = 0; i < ids.length; i += GROUP_IDS) {
    let input: DescribeAutoScalingInstancesCommandInput = {
      InstanceIds: ids.slice(i, i + GROUP_IDS),
      MaxRecords: GROUP_IDS
    }
    for (;;) {
      const page = await counted(calls, 'autoscaling', autoscaling.send(new DescribeAutoScalingInstancesCommand(input)))
      for (const member of page.AutoScalingInstances ?? []) {
        if (member.InstanceId && member.LifecycleState)
          found.set(member.InstanceId, { lifecycle: member.LifecycleState, health: member.HealthStatus ?? '' })
      }
      if (!page.NextToken) break
      input = { ...input, NextToken: page.NextToken }
    }
  }
  return found
}

/** Writes one request; returns why to recompute when a concurrent writer got there first. */
async function write(deps: HandlerDeps, request: ChangeRequest, calls: Calls): Promise<string | undefined> {
  const [only] = request.decisions
  const Comment =
    request.decisions.length === 1 && only
      ? `hyperform: ${only.action}`
      : `hyperform: ${request.decisions.length} service records`
  const command = new ChangeResourceRecordSetsCommand({
    HostedZoneId: deps.config.zoneId,
    ChangeBatch: { Comment, Changes: request.changes }
  })
  try {
    await counted(calls, 'route53', deps.route53.send(command))
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

class Exhausted extends Error {
  override name = 'RetriesExhausted'
}

/** What one invocation is asked to do. */
interface Work {
  changes: readonly StateChange[]
  /** Recompute every service of the project too (a scheduled event). */
  reconcile: boolean
  /**
   * How the changes' instances are told to be the project's: `by-id`, one
   * DescribeInstances of their ids before anything else, so that a batch of
   * other projects' events makes no Route 53 call; `listed`, among the project
   * read of every state, after the zone read (a direct event, as before).
   */
  identify: 'by-id' | 'listed'
}

interface Outcome {
  target: Target
  /** The last decision made for the service, undefined before the first. */
  decision: Decision | undefined
  status: 'pending' | 'unchanged' | 'written' | 'failed'
}

/** What an invocation did: per change its service (or why not), per service its outcome, and the counts. */
interface Run {
  calls: Calls
  attempts: number
  /** Same order as Work.changes; undefined while not yet told. */
  resolved: (Target | { ignore: string } | undefined)[]
  outcomes: Map<string, Outcome>
  reconciled: boolean
  error?: unknown
}

function track(run: Run, target: Target): void {
  if (!run.outcomes.has(target.record))
    run.outcomes.set(target.record, { target, decision: undefined, status: 'pending' })
}

function settle(run: Run, decision: Decision, status: Outcome['status']): void {
  if (decision.action === 'ignore') return
  const outcome = run.outcomes.get(decision.target.record)
  if (outcome) Object.assign(outcome, { decision, status })
}

function pendingTargets(run: Run): Target[] {
  return [...run.outcomes.values()].filter((o) => o.status === 'pending').map((o) => o.target)
}

function targetedChanges(work: Work, run: Run): TargetedChange[] {
  return work.changes.flatMap((change, i) => {
    const target = run.resolved[i]
    return target && !('ignore' in target) ? [{ change, target }] : []
  })
}

/**
 * After a lost swap: when the zone read after it already holds what the
 * decision meant to write (the winner wrote the same set), that is the outcome.
 */
function settledBy(decision: Decision, zone: ZoneRead, ttl: number): Decision | undefined {
  if (decision.action !== 'upsert' && decision.action !== 'delete') return undefined
  const { target } = decision
  const ips = decision.action === 'upsert' ? decision.next.values : []
  const outcome = decide({
    target,
    ips,
    current: findRecord(zone.records, target.record),
    version: findRecord(zone.versions, target.record),
    ttl
  })
  return outcome.action === 'noop' ? outcome : undefined
}

/**
 * One line (SpotEventLine) per spot signal of the project's instances among the changes: each warning, and
 * the shutting-down change of an instance EC2 reclaimed. Logged as soon as the instance is known, before
 * anything is written: a batch that fails later logs its lines again when SQS delivers it again.
 */
function announce(deps: HandlerDeps, work: Work, run: Run, lookup: (id: string) => InstanceView | undefined): void {
  const log = deps.logSpot ?? defaultLog
  work.changes.forEach((change, i) => {
    const target = run.resolved[i]
    if (!target || 'ignore' in target) return
    const line = spotEvent(change, target, lookup(change.instanceId), deps.config.project)
    if (line) log(line)
  })
}

/** EnterStandby takes at most 20 instances of one group. */
const STANDBY_BATCH = 20

/**
 * The batch's warned instances of the project leave for good: each is tagged hyperform:leaving (so no
 * later recompute lists it, whatever the events' order), and one warned of its reclaim goes to
 * standby in its group, which leaves its target groups and launches its replacement at once (the
 * reclaim is two minutes away). A member that is not in service (still launching, already leaving)
 * is refused by Auto Scaling with ValidationError: nothing to move.
 */
async function leave(
  deps: HandlerDeps,
  work: Work,
  run: Run,
  lookup: (id: string) => InstanceView | undefined
): Promise<void> {
  const warned = work.changes.flatMap((change, i) => {
    const target = run.resolved[i]
    const view = lookup(change.instanceId)
    return isWarning(change.state) && target && !('ignore' in target) && view ? [{ change, view }] : []
  })
  const byState = new Map<string, string[]>()
  for (const { change, view } of warned)
    byState.set(change.state, [...new Set([...(byState.get(change.state) ?? []), view.id])])
  const standby = new Map<string, string[]>()
  for (const { change, view } of warned) {
    const group = view.tags[GROUP_TAG]
    if (change.state !== WARNINGS[INTERRUPTION_WARNING] || !group || view.state !== 'running') continue
    standby.set(group, [...new Set([...(standby.get(group) ?? []), view.id])])
  }
  await Promise.all([
    ...[...byState].map(([state, ids]) =>
      counted(
        run.calls,
        'ec2',
        deps.ec2.send(new CreateTagsCommand({ Resources: ids, Tags: [{ Key: TAGS.leaving, Value: state }] }))
      )
    ),
    ...[...standby].flatMap(([group, ids]) => {
      const batches: string[][] = []
      for (let i = 0; i < ids.length; i += STANDBY_BATCH) batches.push(ids.slice(i, i + STANDBY_BATCH))
      return batches.map((InstanceIds) =>
        counted(
          run.calls,
          'autoscaling',
          deps.autoscaling.send(
            new EnterStandbyCommand({ AutoScalingGroupName: group, InstanceIds, ShouldDecrementDesiredCapacity: false })
          )
        ).catch((error: unknown) => {
          // Best effort: the warned instance is out of its record either way (the leaving tag keeps it out); a
          // refused (ValidationError: no longer InService) or throttled standby (Auto Scaling's bucket is the
          // account's: a reclaim storm drains it) leaves the replacement to the group, after the reclaim or
          // through capacity rebalancing. Failing the batch for it would hold every record of the batch back.
          const name = (error as { name?: string }).name ?? 'Error'
          process.stderr.write(
            `${JSON.stringify({ standby: 'skipped', group, instances: InstanceIds, error: name })}\n`
          )
        })
      )
    })
  ])
}

/**
 * Read, decide, write, for every pending service at once; again from fresh
 * reads for the services whose swap was lost or whose read lagged an event.
 */
async function converge(deps: HandlerDeps, work: Work, run: Run): Promise<void> {
  const { config } = deps
  const scope = config
  const max = deps.maxAttempts ?? MAX_ATTEMPTS
  const resolve = (lookup: (id: string) => InstanceView | undefined): void => {
    work.changes.forEach((change, i) => {
      const target = identify(lookup(change.instanceId), scope)
      run.resolved[i] = target
      if (!('ignore' in target)) track(run, target)
    })
  }
  if (work.identify === 'by-id') {
    if (work.changes.length > 0) {
      const views = await readByIds(deps.ec2, [...new Set(work.changes.map((c) => c.instanceId))], run.calls)
      resolve((id) => views.get(id))
      announce(deps, work, run, (id) => views.get(id))
      await leave(deps, work, run, (id) => views.get(id))
    }
    if (run.outcomes.size === 0 && !work.reconcile) return
  }
  let zone: ZoneRead | undefined
  for (;;) {
    run.attempts += 1
    const { records, versions } = zone ?? (await readZone(deps.route53, config.zoneId, run.calls))
    zone = undefined
    // the instances are read after the zone: a writer that wrote before our zone read read older instances than ours
    const read = await readProject(deps.ec2, config.project, work.identify === 'listed' ? 'all' : 'live', run.calls)
    if (work.identify === 'listed' && run.attempts === 1) {
      const byId = new Map(read.map((i) => [i.id, i]))
      resolve((id) => byId.get(id))
      announce(deps, work, run, (id) => byId.get(id))
      await leave(deps, work, run, (id) => byId.get(id))
    }
    if (work.reconcile && !run.reconciled) {
      for (const target of projectTargets(read, versions, scope)) track(run, target)
      run.reconciled = true
    }
    const targets = pendingTargets(run)
    if (targets.length === 0) return
    // then the groups' view of the running instances of those services, read after the instances
    const candidates = membershipCandidates(read, targets, config.project)
    const memberships =
      candidates.length > 0 ? await readMemberships(deps.autoscaling, candidates, run.calls) : new Map()
    const instances = read.map((i) => ({ ...i, membership: memberships.get(i.id) }))
    const decisions = planBatch({
      targets,
      changes: targetedChanges(work, run),
      instances,
      records,
      versions,
      scope,
      ttl: config.ttl,
      lastRound: run.attempts >= max
    })
    let retry: string | undefined
    for (const decision of decisions) {
      settle(run, decision, 'pending')
      if (decision.action === 'noop') settle(run, decision, 'unchanged')
      if (decision.action === 'reread') retry = decision.reason
    }
    const lost: Decision[] = []
    for (const request of changeRequests(decisions)) {
      const conflict = await write(deps, request, run.calls)
      if (conflict === undefined) for (const decision of request.decisions) settle(run, decision, 'written')
      else {
        lost.push(...request.decisions)
        retry = conflict
      }
    }
    if (pendingTargets(run).length === 0) return
    if (run.attempts >= max) throw new Exhausted(`gave up after ${run.attempts} attempts: ${retry ?? 'unknown'}`)
    await (deps.sleep ?? defaultSleep)(backoff(run.attempts, deps.random ?? Math.random))
    // the next round's zone read; it also tells which lost swaps the winner already made
    zone = await readZone(deps.route53, config.zoneId, run.calls)
    for (const decision of lost) {
      const settled = settledBy(decision, zone, config.ttl)
      if (settled) settle(run, settled, 'unchanged')
    }
    if (pendingTargets(run).length === 0) return
  }
}

async function execute(deps: HandlerDeps, work: Work): Promise<Run> {
  const run: Run = {
    calls: new Calls(),
    attempts: 0,
    resolved: work.changes.map(() => undefined),
    outcomes: new Map(),
    reconciled: false
  }
  try {
    await converge(deps, work, run)
  } catch (error) {
    run.error = error
  }
  for (const outcome of run.outcomes.values()) if (outcome.status === 'pending') outcome.status = 'failed'
  return run
}

function logLine(
  change: StateChange | undefined,
  decision: Decision,
  counts: { calls: number; attempts: number }
): LogLine {
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

/** A direct state-change event: one line, returned; an error is logged, then thrown for Lambda's asynchronous retry. */
async function handleChange(deps: HandlerDeps, change: StateChange, log: (line: LogLine) => void): Promise<LogLine> {
  const run = await execute(deps, { changes: [change], reconcile: false, identify: 'listed' })
  const resolved = run.resolved[0]
  const decision: Decision =
    resolved === undefined
      ? { action: 'ignore', reason: 'failed before a decision' }
      : 'ignore' in resolved
        ? { action: 'ignore', reason: resolved.ignore }
        : (run.outcomes.get(resolved.record)?.decision ?? { action: 'ignore', reason: 'failed before a decision' })
  const line = logLine(change, decision, { calls: run.calls.count, attempts: run.attempts })
  if (run.error === undefined) {
    log(line)
    return line
  }
  log({ ...line, action: 'error', error: errorText(run.error) })
  throw run.error
}

function recordLine(outcome: Outcome): RecordLine {
  const { before, after } = outcome.decision ? beforeAfter(outcome.decision) : { before: null, after: null }
  return { record: outcome.target.record, before, after }
}

interface BatchSummary {
  kind: BatchLine['kind']
  messages: number
  work: Work
  run: Run
  ignored: string[]
  failedMessages: number
}

function batchLine({ kind, messages, work, run, ignored, failedMessages }: BatchSummary): BatchLine {
  const outcomes = [...run.outcomes.values()]
  const count = (status: Outcome['status']): number => outcomes.filter((o) => o.status === status).length
  const reasons: Record<string, number> = {}
  for (const reason of ignored) reasons[reason] = (reasons[reason] ?? 0) + 1
  const line: BatchLine = {
    kind,
    messages,
    events: work.changes.length,
    reconcile: work.reconcile,
    ignored: ignored.length,
    services: outcomes.length,
    changed: count('written'),
    unchanged: count('unchanged'),
    failed: count('failed'),
    failedMessages,
    route53Calls: run.calls.route53,
    ec2Calls: run.calls.ec2,
    autoscalingCalls: run.calls.autoscaling,
    calls: run.calls.count,
    attempts: run.attempts,
    records: outcomes
      .filter((o) => o.status === 'written')
      .slice(0, LOGGED_RECORDS)
      .map(recordLine),
    failures: outcomes
      .filter((o) => o.status === 'failed')
      .slice(0, LOGGED_RECORDS)
      .map(recordLine),
    reasons
  }
  if (run.error !== undefined) line.error = errorText(run.error)
  return line
}

/** True when the message's services were all written or found right (an ignored message is done too). */
function messageDone(message: QueueMessage, index: number | undefined, run: Run): boolean {
  const { trigger } = message
  if (trigger.kind === 'other') return true
  if (trigger.kind === 'reconcile')
    return run.error === undefined && [...run.outcomes.values()].every((o) => o.status !== 'failed')
  const resolved = index === undefined ? undefined : run.resolved[index]
  if (resolved === undefined) return false
  if ('ignore' in resolved) return true
  return run.outcomes.get(resolved.record)?.status !== 'failed'
}

/**
 * An SQS batch: every message's event at once, one zone read and one write
 * for all of them; the messages whose services could not be written come back
 * as batch item failures, for SQS to deliver again (and, past the queue's
 * receive count, to keep in its dead-letter queue). Never throws.
 */
async function handleQueue(
  deps: HandlerDeps,
  messages: QueueMessage[],
  log: (line: BatchLine) => void
): Promise<BatchResponse> {
  const changes: StateChange[] = []
  const indexes: (number | undefined)[] = []
  const ignored: string[] = []
  for (const { trigger } of messages) {
    indexes.push(trigger.kind === 'change' ? changes.push(trigger.change) - 1 : undefined)
    if (trigger.kind === 'other') ignored.push(trigger.reason)
  }
  const work: Work = { changes, reconcile: messages.some((m) => m.trigger.kind === 'reconcile'), identify: 'by-id' }
  const run = await execute(deps, work)
  for (const resolved of run.resolved) if (resolved && 'ignore' in resolved) ignored.push(resolved.ignore)
  const batchItemFailures = messages
    .filter((m, i) => !messageDone(m, indexes[i], run))
    .map((m) => ({ itemIdentifier: m.messageId }))
  log(
    batchLine({
      kind: 'batch',
      messages: messages.length,
      work,
      run,
      ignored,
      failedMessages: batchItemFailures.length
    })
  )
  return { batchItemFailures }
}

/** A scheduled event: every service of the project, one line, returned; thrown when a service could not be written. */
async function handleReconcile(deps: HandlerDeps, log: (line: BatchLine) => void): Promise<BatchLine> {
  const work: Work = { changes: [], reconcile: true, identify: 'by-id' }
  const run = await execute(deps, work)
  const line = batchLine({ kind: 'reconcile', messages: 0, work, run, ignored: [], failedMessages: 0 })
  log(line)
  if (run.error !== undefined) throw run.error
  if (line.failed > 0)
    throw new Exhausted(
      `${line.failed} service records could not be written: ${line.failures.map((f) => f.record).join(', ')}`
    )
  return line
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function defaultLog(line: LogLine | BatchLine | SpotEventLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`)
}

/** The handler for the given clients and configuration. */
export function createHandler(deps: HandlerDeps): DnsHandler {
  const log = deps.log ?? defaultLog
  const handle = async (event: unknown): Promise<LogLine | BatchLine | BatchResponse> => {
    const messages = parseQueueEvent(event)
    if (messages) return handleQueue(deps, messages, log)
    const trigger = parseTrigger(event)
    if (trigger.kind === 'reconcile') return handleReconcile(deps, log)
    if (trigger.kind === 'change') return handleChange(deps, trigger.change, log)
    const line = logLine(undefined, { action: 'ignore', reason: trigger.reason }, { calls: 0, attempts: 0 })
    log(line)
    return line
  }
  return handle as DnsHandler
}

/** Clients with the SDK's standard retry (throttling, PriorRequestNotComplete, 5xx). */
export function defaultClients(region: string): {
  ec2: EC2Client
  route53: Route53Client
  autoscaling: AutoScalingClient
} {
  return {
    ec2: new EC2Client({ region, retryMode: 'standard', maxAttempts: 5 }),
    autoscaling: new AutoScalingClient({ region, retryMode: 'standard', maxAttempts: 5 }),
    route53: new Route53Client({ region, retryMode: 'standard', maxAttempts: 6 })
  }
}

let lambdaHandler: DnsHandler | undefined

/** Lambda entry point: clients and configuration are built once per execution environment. */
export const handler: DnsHandler = (async (event: unknown) => {
  if (!lambdaHandler) {
    const config = configFromEnv()
    lambdaHandler = createHandler({ ...defaultClients(config.region), config })
  }
  return lambdaHandler(event)
}) as DnsHandler
