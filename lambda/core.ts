/**
 * The DNS updater's decisions, pure: no SDK, no I/O.
 *
 * An EC2 state-change event, or an Auto Scaling `EC2 Instance Launch Successful`
 * event, only names WHICH service to recompute: the record becomes the sorted,
 * de-duplicated private IPs of the service's instances that are `running` AND
 * in service in their Auto Scaling group (LifecycleState `InService`,
 * HealthStatus `HEALTHY`) when they are read, whatever the events' order,
 * duplicates or state. The group's launch lifecycle hook holds a new instance
 * in `Pending:Wait` until its container is healthy, so in service means ready.
 * An instance in no group is never listed (the action launches only group
 * members). A dying instance (shutting-down, stopping, stopped, terminated, or
 * Terminating in its group) leaves DNS as soon as an event makes its service
 * recompute.
 *
 * A batch (the SQS messages of one invocation) names a set of services; a
 * scheduled event names them all. Every service of the set is recomputed from
 * the same pair of reads, and all the changes go in one change batch (or as few
 * as Route 53's size limits allow), each service's change a compare-and-swap.
 */
import {
  TAGS,
  labelProblem,
  recordName,
  zoneName,
  type ProjectScope,
  type SpotEventLine,
  type SpotEventName
} from '../src/names.js'
import { parseVersion, versionBump, type VersionChange, type VersionRecord } from '../src/record-version.js'

export type { VersionRecord } from '../src/record-version.js'

/**
 * The detail of an `EC2 Instance State-change Notification` (`state`: the EC2
 * state), or of an Auto Scaling `EC2 Instance Launch Successful` (`state`:
 * IN_SERVICE, which no EC2 state spells).
 */
export interface StateChange {
  instanceId: string
  state: string
  /** The event's time (EventBridge `time`), when it has one. */
  time?: string
}

/** The state a Launch Successful event stands for: the instance went in service in its group. */
export const IN_SERVICE = 'InService'

/** The detail-type of Auto Scaling's event for an instance that finished launching (its launch hook completed). */
export const LAUNCH_SUCCESSFUL = 'EC2 Instance Launch Successful'

/** EC2's warnings that an instance goes: a spot reclaim in two minutes, or a higher risk of one. */
export const INTERRUPTION_WARNING = 'EC2 Spot Instance Interruption Warning'
export const REBALANCE_RECOMMENDATION = 'EC2 Instance Rebalance Recommendation'
/** The states the two warnings stand for. */
export const WARNINGS: Readonly<Record<string, string>> = {
  [INTERRUPTION_WARNING]: 'interruption-warning',
  [REBALANCE_RECOMMENDATION]: 'rebalance-recommendation'
}

/** The state reason (DescribeInstances StateReason.Code) of a spot instance EC2 reclaimed. */
export const SPOT_RECLAIM_REASON = 'Server.SpotInstanceTermination'

/**
 * The spot line (SpotEventLine of src/names.ts) the change of one of the project's instances makes, or
 * undefined: each warning, and the instance's shutting-down change when EC2 reclaimed it (its state reason;
 * while the read shows none yet, its leaving tag of an interruption warning). Its terminated change makes
 * none: one reclaim, one line.
 */
export function spotEvent(
  change: StateChange,
  target: Target,
  instance: InstanceView | undefined,
  project: string
): SpotEventLine | undefined {
  let event: SpotEventName | undefined
  if (change.state === WARNINGS[INTERRUPTION_WARNING]) event = 'spot-interruption-warning'
  else if (change.state === WARNINGS[REBALANCE_RECOMMENDATION]) event = 'rebalance-recommendation'
  else if (change.state === 'shutting-down' && instance) {
    const reason = instance.stateReason
    const warned = instance.tags[TAGS.leaving]?.startsWith(WARNINGS[INTERRUPTION_WARNING] ?? '') ?? false
    if (reason === SPOT_RECLAIM_REASON || (!reason && warned)) event = 'spot-reclaim'
  }
  if (!event) return undefined
  return {
    event,
    instance: change.instanceId,
    service: target.service,
    stack: target.stack,
    project,
    at: change.time ?? null
  }
}

/** True for the state of a warning: the instance leaves its record now and is never listed again. */
export function isWarning(state: string): boolean {
  return Object.values(WARNINGS).includes(state)
}

/** The tag EC2 Auto Scaling puts on each instance it launches: its group's name. */
export const GROUP_TAG = 'aws:autoscaling:groupName'

/** An instance as DescribeAutoScalingInstances shows it. */
export interface GroupMembership {
  /** `Pending`, `Pending:Wait`, `Pending:Proceed`, `InService`, `Terminating`, `Terminating:Wait`, ... */
  lifecycle: string
  /** `HEALTHY` or `UNHEALTHY`. */
  health: string
}

/** One instance as DescribeInstances shows it. A terminated one has no private IP. */
export interface InstanceView {
  id: string
  state: string
  privateIp: string | undefined
  tags: Readonly<Record<string, string>>
  /** Why it last changed state, as DescribeInstances says (StateReason.Code), e.g. Server.SpotInstanceTermination. */
  stateReason?: string | undefined
  /**
   * Its group's view of it, when it was read (only the running instances of the
   * services recomputed are); undefined when not read or in no group.
   */
  membership?: GroupMembership | undefined
}

/** A simple A record set, as Route 53 lists it (name possibly with its trailing dot). */
export interface RecordSet {
  name: string
  ttl: number
  values: readonly string[]
}

/** The service an event makes us recompute, and its record. */
export interface Target {
  stack: string
  service: string
  record: string
}

export type Decision =
  | { action: 'ignore'; reason: string }
  /** The read is older than the event (EC2 reads are eventually consistent): read again. */
  | { action: 'reread'; target: Target; reason: string }
  | { action: 'noop'; target: Target; current: RecordSet | undefined }
  /** `version`: the name's version record (TXT) as read, bumped in the same batch. */
  | {
      action: 'upsert'
      target: Target
      current: RecordSet | undefined
      next: RecordSet
      version: VersionRecord | undefined
    }
  | { action: 'delete'; target: Target; current: RecordSet; version: VersionRecord | undefined }

/** One Route 53 change of the A record, shaped as the SDK's `Change`. */
export interface ARecordChange {
  Action: 'CREATE' | 'DELETE'
  ResourceRecordSet: { Name: string; Type: 'A'; TTL: number; ResourceRecords: { Value: string }[] }
}

/** A change of the batch: the A record, or its version record. */
export type RecordChange = ARecordChange | VersionChange

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}

/** The detail-type of the events an EventBridge schedule sends. */
export const SCHEDULED_EVENT = 'Scheduled Event'

/**
 * The instance and state an EventBridge event names, or undefined when it is
 * neither an EC2 state change nor an Auto Scaling Launch Successful.
 */
export function parseEvent(event: unknown): StateChange | undefined {
  if (!isObject(event) || !isObject(event.detail)) return undefined
  if (event.source === 'aws.autoscaling') {
    const id = event.detail.EC2InstanceId
    if (event['detail-type'] !== LAUNCH_SUCCESSFUL || typeof id !== 'string' || id === '') return undefined
    return { instanceId: id, state: IN_SERVICE }
  }
  const instanceId = event.detail['instance-id']
  const warning = WARNINGS[String(event['detail-type'])]
  const state = warning ?? event.detail.state
  if (typeof instanceId !== 'string' || instanceId === '' || typeof state !== 'string') return undefined
  return { instanceId, state, ...(typeof event.time === 'string' ? { time: event.time } : {}) }
}

/** What one incoming event asks for: recompute one instance's service, recompute every service, or nothing. */
export type Trigger =
  { kind: 'change'; change: StateChange } | { kind: 'reconcile' } | { kind: 'other'; reason: string }

/** True for the event an EventBridge schedule sends (`source: aws.events`, `detail-type: Scheduled Event`). */
export function isScheduled(event: unknown): boolean {
  return isObject(event) && event.source === 'aws.events' && event['detail-type'] === SCHEDULED_EVENT
}

/** What an EventBridge event (direct, or the body of an SQS message) asks for. */
export function parseTrigger(event: unknown): Trigger {
  if (isScheduled(event)) return { kind: 'reconcile' }
  const change = parseEvent(event)
  return change
    ? { kind: 'change', change }
    : { kind: 'other', reason: 'not an EC2 instance state-change or Auto Scaling launch event' }
}

/** One SQS message of an event source mapping's batch. */
export interface QueueMessage {
  messageId: string
  trigger: Trigger
}

/**
 * The messages of an SQS event (`Records[]` with `eventSource: aws:sqs`, a
 * `messageId` and a `body` holding the EventBridge event as JSON), or undefined
 * when the event is not one. A body that is not JSON is a message to ignore.
 */
export function parseQueueEvent(event: unknown): QueueMessage[] | undefined {
  if (!isObject(event) || !Array.isArray(event.Records)) return undefined
  const records: unknown[] = event.Records
  const isMessage = (r: unknown): r is { messageId: string; body: unknown } =>
    isObject(r) && r.eventSource === 'aws:sqs' && typeof r.messageId === 'string'
  if (!records.every(isMessage)) return undefined
  return records.map((record) => {
    if (typeof record.body !== 'string')
      return { messageId: record.messageId, trigger: { kind: 'other', reason: 'message has no body' } }
    let body: unknown
    try {
      body = JSON.parse(record.body)
    } catch {
      return { messageId: record.messageId, trigger: { kind: 'other', reason: 'message body is not JSON' } }
    }
    return { messageId: record.messageId, trigger: parseTrigger(body) }
  })
}

/** Route 53 lists names lowercased and with a trailing dot. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '')
}

function ipKey(ip: string): string {
  const parts = ip.split('.')
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p))) return `~${ip}`
  return parts.map((p) => p.padStart(3, '0')).join('.')
}

/** IPv4 addresses in numeric order, each once. */
export function sortIps(ips: Iterable<string>): string[] {
  const keyed = [...new Set(ips)].map((ip) => [ipKey(ip), ip] as const)
  return keyed.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, ip]) => ip)
}

/** The service the instance belongs to, or why the event is not this project's business. */
export function identify(instance: InstanceView | undefined, scope: ProjectScope): Target | { ignore: string } {
  if (!instance) return { ignore: "instance not found (not the project's, or gone)" }
  const project = instance.tags[TAGS.project]
  if (project === undefined) return { ignore: `instance has no ${TAGS.project} tag` }
  if (project !== scope.project) return { ignore: `instance belongs to project "${project}"` }
  const stack = instance.tags[TAGS.stack]
  const service = instance.tags[TAGS.service]
  if (stack === undefined || service === undefined) {
    return { ignore: `instance lacks the ${TAGS.stack} or ${TAGS.service} tag` }
  }
  if (labelProblem(stack) || labelProblem(service)) {
    return { ignore: `stack "${stack}" or service "${service}" is not a DNS label` }
  }
  return { stack, service, record: recordName({ ...scope, stack }, service) }
}

/**
 * For an event's state, the states a read can no longer show once the event
 * happened: seeing one of them means the read lags the event. Stopping and
 * running are left out where a restart makes the order ambiguous.
 */
const EARLIER: Readonly<Record<string, readonly string[]>> = {
  running: ['pending'],
  [IN_SERVICE]: ['pending'],
  'shutting-down': ['pending', 'running', 'stopping', 'stopped'],
  terminated: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'],
  stopped: ['stopping']
}

/** True when the read shows the instance in a state older than the event's. */
export function readLags(eventState: string, seenState: string): boolean {
  return EARLIER[eventState]?.includes(seenState) ?? false
}

/** A group member's lifecycle state before it is in service (the launch hook holds it in `Pending:Wait`). */
export function isPendingLifecycle(lifecycle: string): boolean {
  return lifecycle === 'Pending' || lifecycle.startsWith('Pending:')
}

/**
 * True when the instance is running, its group has it `InService` and `HEALTHY`, and no warning
 * marked it leaving (tag hyperform:leaving).
 */
export function inService(instance: InstanceView): boolean {
  const m = instance.membership
  return (
    instance.state === 'running' &&
    m?.lifecycle === IN_SERVICE &&
    m.health.toUpperCase() === 'HEALTHY' &&
    instance.tags[TAGS.leaving] === undefined
  )
}

/** True when the instance's group membership needs reading: it runs, and it is in an Auto Scaling group. */
export function needsMembership(instance: InstanceView): boolean {
  return instance.state === 'running' && instance.privateIp !== undefined && Boolean(instance.tags[GROUP_TAG])
}

/**
 * The instances whose group membership the decision needs: the running group
 * members of the targets' services, each once.
 */
export function membershipCandidates(
  instances: readonly InstanceView[],
  targets: readonly Target[],
  project: string
): string[] {
  const ids = instances
    .filter((i) => needsMembership(i) && targets.some((t) => isMember(i, project, t)))
    .map((i) => i.id)
  return [...new Set(ids)]
}

/**
 * Private IPs of the target service's instances that are running and in service in their group now,
 * but those warned in this batch (their leaving tag may not show in the read yet).
 */
export function runningIps(
  instances: readonly InstanceView[],
  project: string,
  target: Target,
  warned: ReadonlySet<string> = new Set()
): string[] {
  const members = instances.filter(
    (i) => inService(i) && !warned.has(i.id) && i.privateIp !== undefined && isMember(i, project, target)
  )
  return sortIps(members.map((i) => i.privateIp as string))
}

/** The record set named `name`, compared without case or trailing dot. */
export function findRecord<T extends { name: string }>(records: readonly T[], name: string): T | undefined {
  const wanted = normalizeName(name)
  return records.find((r) => normalizeName(r.name) === wanted)
}

export interface DecideInput {
  target: Target
  /** The service's running IPs (any order, duplicates allowed). */
  ips: readonly string[]
  current: RecordSet | undefined
  /** The version record at the same name, when there is one. */
  version?: VersionRecord | undefined
  ttl: number
}

/** What to write so that the record equals the running IPs: nothing, a full set, or a delete. */
export function decide({ target, ips, current, version, ttl }: DecideInput): Decision {
  const values = sortIps(ips)
  if (values.length === 0) {
    return current ? { action: 'delete', target, current, version } : { action: 'noop', target, current }
  }
  const same = current !== undefined && current.ttl === ttl && sortIps(current.values).join() === values.join()
  if (same) return { action: 'noop', target, current }
  return { action: 'upsert', target, current, next: { name: target.record, ttl, values }, version }
}

/** A state change whose instance is the project's, and the service it names. */
export interface TargetedChange {
  change: StateChange
  target: Target
}

export interface BatchInput {
  /** The services to recompute (a record named twice is recomputed once). */
  targets: readonly Target[]
  /** The batch's state changes of those services: a read older than any of them is a lagging read. */
  changes: readonly TargetedChange[]
  /** Every instance the read returned (the project's). */
  instances: readonly InstanceView[]
  /** The zone's simple A record sets. */
  records: readonly RecordSet[]
  /** The zone's TXT record sets (the version records among them). */
  versions: readonly VersionRecord[]
  scope: ProjectScope
  ttl: number
  /** The last read-decide-write round: a group read showing Pending:* an IP the record holds is taken as read. */
  lastRound?: boolean
}

/** True when the instance carries the project's tags of the target service. */
function isMember(instance: InstanceView, project: string, target: Target): boolean {
  return (
    instance.tags[TAGS.project] === project &&
    instance.tags[TAGS.stack] === target.stack &&
    instance.tags[TAGS.service] === target.service
  )
}

/** Why the read of one instance is older than the batch's event of it, or undefined. */
function eventLag(change: StateChange, seen: InstanceView | undefined): string | undefined {
  if (!seen) return undefined
  if (readLags(change.state, seen.state))
    return `read shows ${change.instanceId} ${seen.state} after a ${change.state} event`
  if (change.state !== IN_SERVICE || !needsMembership(seen)) return undefined
  // Launch Successful comes once the group has it in service: a group read that says otherwise lags
  if (!seen.membership) return `group read lacks ${change.instanceId} after its Launch Successful event`
  if (isPendingLifecycle(seen.membership.lifecycle))
    return `group read shows ${change.instanceId} ${seen.membership.lifecycle} after its Launch Successful event`
  return undefined
}

/**
 * Why the read is older than what is known of the service, or undefined: it
 * shows an instance in a state older than one of the batch's events of it (an
 * instance `pending`, or `Pending:*` or missing in its group's read, after its
 * Launch Successful event), or it shows an instance of the service whose IP
 * the record already holds `pending`, or running but `Pending:*` in its group
 * (only a read that saw it running and in service put it there, and neither
 * state comes back). The second needs no event, so it also guards a
 * reconcile; an IP reused by a new instance of the service only defers the
 * record until that instance runs. Its group's `Pending:*` can last minutes
 * (the launch hook waits for the container), so on the last round that one is
 * taken as read: the record drops the IP rather than failing the batch.
 */
function lagReason(
  target: Target,
  own: readonly StateChange[],
  read: {
    instances: readonly InstanceView[]
    byId: ReadonlyMap<string, InstanceView>
    current: RecordSet | undefined
    project: string
    lastRound: boolean
  }
): string | undefined {
  const { instances, current, project, lastRound } = read
  for (const change of own) {
    const reason = eventLag(change, read.byId.get(change.instanceId))
    if (reason) return reason
  }
  const held = new Set(current?.values ?? [])
  const shownEarly = (i: InstanceView): string | undefined =>
    i.state === 'pending'
      ? 'pending'
      : !lastRound && i.state === 'running' && i.membership && isPendingLifecycle(i.membership.lifecycle)
        ? `${i.membership.lifecycle} in its group`
        : undefined
  for (const i of instances) {
    if (i.privateIp === undefined || !held.has(i.privateIp) || !isMember(i, project, target)) continue
    const early = shownEarly(i)
    if (early) return `record holds ${i.privateIp} of ${i.id}, which the read shows ${early}`
  }
  return undefined
}

/**
 * One decision per service, all from one consistent set of reads (the zone,
 * then the instances, then their groups' view of the running ones): `reread`
 * when a read lags (that service waits for a newer read, the others do not),
 * otherwise what makes its record equal its in-service IPs.
 */
export function planBatch({
  targets,
  changes,
  instances,
  records,
  versions,
  scope,
  ttl,
  lastRound = false
}: BatchInput): Decision[] {
  const unique = new Map(targets.map((t) => [normalizeName(t.record), t]))
  const byId = new Map(instances.map((i) => [i.id, i]))
  const warned = new Set(changes.filter((c) => isWarning(c.change.state)).map((c) => c.change.instanceId))
  const ownChanges = new Map<string, StateChange[]>()
  for (const { change, target } of changes) {
    const key = normalizeName(target.record)
    ownChanges.set(key, [...(ownChanges.get(key) ?? []), change])
  }
  return [...unique.entries()].map(([key, target]) => {
    const current = findRecord(records, target.record)
    const reason = lagReason(target, ownChanges.get(key) ?? [], {
      instances,
      byId,
      current,
      project: scope.project,
      lastRound
    })
    if (reason) return { action: 'reread', target, reason }
    const ips = runningIps(instances, scope.project, target, warned)
    return decide({ target, ips, current, version: findRecord(versions, target.record), ttl })
  })
}

export interface PlanInput {
  event: StateChange
  /** Every instance the read returned (the project's, any state). */
  instances: readonly InstanceView[]
  /** The zone's simple A record sets. */
  records: readonly RecordSet[]
  /** The zone's TXT record sets (the version records among them). */
  versions: readonly VersionRecord[]
  scope: ProjectScope
  ttl: number
}

/** The whole decision for one event from one consistent pair of reads (a batch of one). */
export function plan({ event, instances, records, versions, scope, ttl }: PlanInput): Decision {
  const target = identify(
    instances.find((i) => i.id === event.instanceId),
    scope
  )
  if ('ignore' in target) return { action: 'ignore', reason: target.ignore }
  const [decision] = planBatch({
    targets: [target],
    changes: [{ change: event, target }],
    instances,
    records,
    versions,
    scope,
    ttl
  })
  return decision ?? { action: 'noop', target, current: undefined }
}

/** The service a record name is the record of (`<service>.<stack>.<zone>`), or undefined when it is no service record. */
export function targetOfRecord(name: string, scope: ProjectScope): Target | undefined {
  const suffix = `.${zoneName(scope)}`
  const normalized = normalizeName(name)
  if (!normalized.endsWith(suffix)) return undefined
  const labels = normalized.slice(0, -suffix.length).split('.')
  const [service, stack] = labels
  if (
    labels.length !== 2 ||
    service === undefined ||
    stack === undefined ||
    labelProblem(service) ||
    labelProblem(stack)
  )
    return undefined
  return { stack, service, record: recordName({ ...scope, stack }, service) }
}

/**
 * Every service of the project, for a reconcile: those with an instance in the
 * read (any state it returns), and those with a version record in the zone (a
 * service whose instances are all gone, whose A record may still be there). An
 * A record without a version record and without instances is not known to be
 * the updater's, and is left alone.
 */
export function projectTargets(
  instances: readonly InstanceView[],
  versions: readonly VersionRecord[],
  scope: ProjectScope
): Target[] {
  const found = new Map<string, Target>()
  for (const instance of instances) {
    const target = identify(instance, scope)
    if (!('ignore' in target)) found.set(target.record, target)
  }
  for (const version of versions) {
    if (parseVersion(version.values) === undefined) continue
    const target = targetOfRecord(version.name, scope)
    if (target && !found.has(target.record)) found.set(target.record, target)
  }
  return [...found.values()].sort((a, b) => (a.record < b.record ? -1 : a.record > b.record ? 1 : 0))
}

function change(action: ARecordChange['Action'], record: RecordSet): ARecordChange {
  return {
    Action: action,
    ResourceRecordSet: {
      Name: record.name,
      Type: 'A',
      TTL: record.ttl,
      ResourceRecords: record.values.map((Value) => ({ Value }))
    }
  }
}

/**
 * The change batch for a decision, written as a compare-and-swap: the exact
 * current record is deleted and the new one created, and the name's version
 * record (TXT) is bumped, in one all-or-nothing batch. A writer whose read is
 * older than the record fails with InvalidChangeBatch instead of overwriting a
 * newer set (UPSERT would not), even when the A record was changed and put
 * back since (A-B-A): the version never comes back. An emptied record keeps
 * its version record.
 */
export function changeBatch(decision: Decision): RecordChange[] {
  if (decision.action === 'delete') {
    return [
      change('DELETE', decision.current),
      ...versionBump(decision.target.record, decision.version, decision.current.ttl)
    ]
  }
  if (decision.action !== 'upsert') return []
  const swap = [...(decision.current ? [change('DELETE', decision.current)] : []), change('CREATE', decision.next)]
  return [...swap, ...versionBump(decision.target.record, decision.version, decision.next.ttl)]
}

/**
 * Route 53's limits on one ChangeResourceRecordSets request: at most 1000
 * ResourceRecord elements, and at most 32,000 characters in all Value elements.
 */
export const CHANGE_LIMITS = { records: 1000, valueChars: 32000 } as const

/** One request's worth of decisions, and their changes in one all-or-nothing batch. */
export interface ChangeRequest {
  decisions: Decision[]
  changes: RecordChange[]
}

function size(changes: readonly RecordChange[]): { records: number; valueChars: number } {
  const values = changes.flatMap((c) => c.ResourceRecordSet.ResourceRecords.map((r) => r.Value))
  return { records: values.length, valueChars: values.reduce((n, v) => n + v.length, 0) }
}

/**
 * The decisions' changes in as few requests as the limits allow, in order,
 * never splitting one service's swap across two requests: each request is
 * all-or-nothing, and so is each service's compare-and-swap within it.
 */
export function changeRequests(
  decisions: readonly Decision[],
  limits: { records: number; valueChars: number } = CHANGE_LIMITS
): ChangeRequest[] {
  const requests: ChangeRequest[] = []
  let current: ChangeRequest | undefined
  let used = { records: 0, valueChars: 0 }
  for (const decision of decisions) {
    const changes = changeBatch(decision)
    if (changes.length === 0) continue
    const needs = size(changes)
    if (
      !current ||
      used.records + needs.records > limits.records ||
      used.valueChars + needs.valueChars > limits.valueChars
    ) {
      current = { decisions: [], changes: [] }
      requests.push(current)
      used = { records: 0, valueChars: 0 }
    }
    current.decisions.push(decision)
    current.changes.push(...changes)
    used = { records: used.records + needs.records, valueChars: used.valueChars + needs.valueChars }
  }
  return requests
}

/** The record's IPs before and after the decision, for the log line (null when nothing was compared). */
export function beforeAfter(decision: Decision): { before: string[] | null; after: string[] | null } {
  if (decision.action === 'ignore' || decision.action === 'reread') return { before: null, after: null }
  const before = sortIps(decision.current?.values ?? [])
  if (decision.action === 'upsert') return { before, after: [...decision.next.values] }
  if (decision.action === 'delete') return { before, after: [] }
  return { before, after: before }
}
