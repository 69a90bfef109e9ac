/**
 * The DNS updater's decisions, pure: no SDK, no I/O.
 *
 * An EC2 state-change event only names WHICH service to recompute: the record
 * becomes the sorted, de-duplicated private IPs of the service's instances that
 * are `running` when it is read, whatever the event's order, duplicates or state.
 * A dying instance (shutting-down, stopping, stopped, terminated) leaves DNS as
 * soon as an event makes its service recompute.
 */
import { TAGS, labelProblem, recordName } from '../src/names.js'
import { versionBump, type VersionChange, type VersionRecord } from '../src/record-version.js'

export type { VersionRecord } from '../src/record-version.js'

/** The detail of an `EC2 Instance State-change Notification`. */
export interface StateChange {
  instanceId: string
  state: string
}

/** One instance as DescribeInstances shows it. A terminated one has no private IP. */
export interface InstanceView {
  id: string
  state: string
  privateIp: string | undefined
  tags: Readonly<Record<string, string>>
}

/** A simple A record set, as Route 53 lists it (name possibly with its trailing dot). */
export interface RecordSet {
  name: string
  ttl: number
  values: readonly string[]
}

export interface Scope {
  project: string
  region: string
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
  | { action: 'upsert'; target: Target; current: RecordSet | undefined; next: RecordSet; version: VersionRecord | undefined }
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

/** The instance and state an EventBridge event names, or undefined when it is not a state change. */
export function parseEvent(event: unknown): StateChange | undefined {
  if (!isObject(event) || !isObject(event.detail)) return undefined
  const instanceId = event.detail['instance-id']
  const state = event.detail.state
  if (typeof instanceId !== 'string' || instanceId === '' || typeof state !== 'string') return undefined
  return { instanceId, state }
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
  return [...new Set(ips)].sort((a, b) => (ipKey(a) < ipKey(b) ? -1 : ipKey(a) > ipKey(b) ? 1 : 0))
}

/** The service the instance belongs to, or why the event is not this project's business. */
export function identify(instance: InstanceView | undefined, scope: Scope): Target | { ignore: string } {
  if (!instance) return { ignore: 'instance not found among the project instances (another project, or gone)' }
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
  'shutting-down': ['pending', 'running', 'stopping', 'stopped'],
  terminated: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'],
  stopped: ['stopping']
}

/** True when the read shows the instance in a state older than the event's. */
export function readLags(eventState: string, seenState: string): boolean {
  return EARLIER[eventState]?.includes(seenState) ?? false
}

/** Private IPs of the target service's instances that are running now. */
export function runningIps(instances: readonly InstanceView[], project: string, target: Target): string[] {
  const members = instances.filter(
    (i) =>
      i.state === 'running' &&
      i.privateIp !== undefined &&
      i.tags[TAGS.project] === project &&
      i.tags[TAGS.stack] === target.stack &&
      i.tags[TAGS.service] === target.service
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

export interface PlanInput {
  event: StateChange
  /** Every instance the read returned (the project's, any state). */
  instances: readonly InstanceView[]
  /** The zone's simple A record sets. */
  records: readonly RecordSet[]
  /** The zone's TXT record sets (the version records among them). */
  versions: readonly VersionRecord[]
  scope: Scope
  ttl: number
}

/** The whole decision for one event from one consistent pair of reads. */
export function plan({ event, instances, records, versions, scope, ttl }: PlanInput): Decision {
  const self = instances.find((i) => i.id === event.instanceId)
  const target = identify(self, scope)
  if ('ignore' in target) return { action: 'ignore', reason: target.ignore }
  if (self && readLags(event.state, self.state)) {
    return { action: 'reread', target, reason: `read shows ${self.state} after a ${event.state} event` }
  }
  const ips = runningIps(instances, scope.project, target)
  return decide({ target, ips, current: findRecord(records, target.record), version: findRecord(versions, target.record), ttl })
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
    return [change('DELETE', decision.current), ...versionBump(decision.target.record, decision.version, decision.current.ttl)]
  }
  if (decision.action !== 'upsert') return []
  const swap = [...(decision.current ? [change('DELETE', decision.current)] : []), change('CREATE', decision.next)]
  return [...swap, ...versionBump(decision.target.record, decision.version, decision.next.ttl)]
}

/** The record's IPs before and after the decision, for the log line (null when nothing was compared). */
export function beforeAfter(decision: Decision): { before: string[] | null; after: string[] | null } {
  if (decision.action === 'ignore' || decision.action === 'reread') return { before: null, after: null }
  const before = sortIps(decision.current?.values ?? [])
  if (decision.action === 'upsert') return { before, after: [...decision.next.values] }
  if (decision.action === 'delete') return { before, after: [] }
  return { before, after: before }
}
