/** Route 53 record sets: names, sort order, change-batch validation (all or nothing) and paging. */
import { AwsError } from '../../types.js'
import { ROUTE53_ERRORS } from './errors.js'
import { route53Error } from './errors.js'

export interface AliasTarget {
  hostedZoneId: string
  dnsName: string
  evaluateTargetHealth: boolean
}

export interface RecordSet {
  name: string
  type: string
  ttl?: number
  values: string[]
  setIdentifier?: string
  weight?: number
  alias?: AliasTarget
}

export interface RecordChange {
  action: string
  record: RecordSet
}

/** InvalidChangeBatch carries the list of problems found in the batch. */
export class InvalidChangeBatchError extends AwsError {
  constructor(readonly messages: string[]) {
    super('InvalidChangeBatch', `[${messages.join(', ')}]`, ROUTE53_ERRORS.InvalidChangeBatch)
  }
}

/** Lowercase, trailing dot, `*` as \052 — how Route 53 stores and returns names. */
export function normaliseName(name: string): string {
  const lower = name.trim().toLowerCase().replace(/\*/g, '\\052')
  return lower.endsWith('.') ? lower : `${lower}.`
}

export function recordKey(r: Pick<RecordSet, 'name' | 'type' | 'setIdentifier'>): string {
  return `${r.name}|${r.type}|${r.setIdentifier ?? ''}`
}

function labelsReversed(name: string): string[] {
  return name.replace(/\.$/, '').split('.').reverse()
}

/** Compare names the way Route 53 sorts them: label by label with the labels reversed (com.example.www). */
export function compareNames(a: string, b: string): number {
  const la = labelsReversed(a)
  const lb = labelsReversed(b)
  for (let i = 0; i < Math.min(la.length, lb.length); i++) {
    const x = la[i] ?? ''
    const y = lb[i] ?? ''
    if (x !== y) return x < y ? -1 : 1
  }
  return la.length - lb.length
}

export function compareRecords(a: RecordSet, b: RecordSet): number {
  const byName = compareNames(a.name, b.name)
  if (byName !== 0) return byName
  if (a.type !== b.type) return a.type < b.type ? -1 : 1
  const sa = a.setIdentifier ?? ''
  const sb = b.setIdentifier ?? ''
  return sa === sb ? 0 : sa < sb ? -1 : 1
}

function describe(r: RecordSet): string {
  return `[name='${r.name}', type='${r.type}'${r.setIdentifier ? `, set-identifier='${r.setIdentifier}'` : ''}]`
}

function sameValues(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false
  const sorted = [...b].sort()
  return [...a].sort().every((v, i) => v === sorted[i])
}

function sameAlias(a: AliasTarget | undefined, b: AliasTarget | undefined): boolean {
  if (!a || !b) return a === b
  return (
    a.dnsName === b.dnsName && a.hostedZoneId === b.hostedZoneId && a.evaluateTargetHealth === b.evaluateTargetHealth
  )
}

/** DELETE must match the current record set exactly: TTL, every value, weight and alias target. */
export function exactlyEqual(a: RecordSet, b: RecordSet): boolean {
  return a.ttl === b.ttl && a.weight === b.weight && sameValues(a.values, b.values) && sameAlias(a.alias, b.alias)
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/

function shapeProblem(change: RecordChange): string | undefined {
  const r = change.record
  const hasRecords = r.ttl !== undefined && r.values.length > 0
  if (hasRecords === (r.alias !== undefined)) {
    const found = r.alias ? 'both' : 'none'
    return `Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found ${found} in Change with [Action=${change.action}, Name=${r.name}, Type=${r.type}, SetIdentifier=${r.setIdentifier ?? 'null'}]`
  }
  return undefined
}

function valueProblem(r: RecordSet): string | undefined {
  if (r.type !== 'A') return undefined
  const bad = r.values.find((v) => !IPV4.test(v))
  return bad === undefined
    ? undefined
    : `[Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '${bad}'']`
}

/** Throws InvalidInput for a change that is malformed regardless of the zone's contents. */
export function checkChangeShape(change: RecordChange): void {
  if (!['CREATE', 'DELETE', 'UPSERT'].includes(change.action)) {
    throw route53Error(
      'InvalidInput',
      `Invalid XML ; Action must be one of CREATE, DELETE, UPSERT (found ${change.action})`
    )
  }
  const problem = shapeProblem(change)
  if (problem) throw route53Error('InvalidInput', problem)
}

export function inZone(name: string, zoneName: string): boolean {
  return name === zoneName || name.endsWith(`.${zoneName}`)
}

/** AWS reports over-long names as a FATAL problem in InvalidChangeBatch. */
export function nameProblem(name: string): string | undefined {
  const long = name
    .replace(/\.$/, '')
    .split('.')
    .find((label) => label.length > 63)
  if (long !== undefined)
    return `FATAL problem: DomainLabelTooLong (Domain label is too long) encountered with '${long}'`
  if (name.length > 255) return `FATAL problem: DomainNameTooLong (Domain name is too long) encountered with '${name}'`
  if (
    name
      .replace(/\.$/, '')
      .split('.')
      .some((label) => label === '')
  )
    return `FATAL problem: DomainLabelEmpty (Domain label is empty) encountered with '${name}'`
  return undefined
}

/** What is wrong with a record's alias target (the zone it names, the resource it points to), if anything. */
export type AliasCheck = (record: RecordSet, records: Map<string, RecordSet>) => string | undefined

function applyOne(
  records: Map<string, RecordSet>,
  change: RecordChange,
  zoneName: string,
  aliasCheck?: AliasCheck
): string | undefined {
  const r = change.record
  const badName = nameProblem(r.name)
  if (badName) return badName
  if (!inZone(r.name, zoneName)) return `RRSet with DNS name ${r.name} is not permitted in zone ${zoneName}`
  const valueIssue = valueProblem(r)
  if (valueIssue) return valueIssue
  if (r.alias && change.action !== 'DELETE' && aliasCheck) {
    const aliasIssue = aliasCheck(r, records)
    if (aliasIssue) return aliasIssue
  }
  const key = recordKey(r)
  const current = records.get(key)
  if (change.action === 'CREATE' && current)
    return `Tried to create resource record set ${describe(r)} but it already exists`
  if (change.action === 'DELETE') {
    if (!current) return `Tried to delete resource record set ${describe(r)} but it was not found`
    if (!exactlyEqual(current, r))
      return `Tried to delete resource record set ${describe(r)} but the values provided do not match the current values`
    records.delete(key)
    return undefined
  }
  const conflict = cnameConflict(records, r, zoneName)
  if (conflict) return conflict
  records.set(key, r)
  return undefined
}

function cnameConflict(records: Map<string, RecordSet>, r: RecordSet, zoneName: string): string | undefined {
  for (const other of records.values()) {
    if (other.name !== r.name || other.type === r.type) continue
    if (other.type === 'CNAME' || r.type === 'CNAME') {
      return `RRSet of type ${r.type} with DNS name ${r.name} is not permitted because a conflicting RRSet of type ${other.type} with the same DNS name already exists in zone ${zoneName}`
    }
  }
  return undefined
}

function apexProblems(records: Map<string, RecordSet>, zoneName: string): string[] {
  const problems: string[] = []
  if (!records.has(recordKey({ name: zoneName, type: 'SOA' })))
    problems.push('A HostedZone must contain exactly one SOA record.')
  if (!records.has(recordKey({ name: zoneName, type: 'NS' })))
    problems.push('A HostedZone must contain at least one NS record for the zone itself.')
  return problems
}

/**
 * Validate the whole batch against a copy of the zone's records and return
 * the new record map; throws InvalidChangeBatch listing every problem, in
 * which case nothing is applied.
 */
export function applyBatch(
  records: Map<string, RecordSet>,
  changes: RecordChange[],
  zoneName: string,
  aliasCheck?: AliasCheck
): Map<string, RecordSet> {
  changes.forEach(checkChangeShape)
  const next = new Map(records)
  const problems: string[] = []
  for (const change of changes) {
    const problem = applyOne(next, change, zoneName, aliasCheck)
    if (problem) problems.push(problem)
  }
  problems.push(...apexProblems(next, zoneName))
  if (problems.length > 0) throw new InvalidChangeBatchError(problems)
  return next
}

export interface RecordPage {
  records: RecordSet[]
  next?: RecordSet
}

/** ListResourceRecordSets: sorted, starting at (name, type), at most maxItems. */
export function pageRecords(
  records: Iterable<RecordSet>,
  start: { name?: string; type?: string },
  maxItems: number
): RecordPage {
  const sorted = [...records].sort(compareRecords)
  const startName = start.name === undefined ? undefined : normaliseName(start.name)
  const from = startName === undefined ? 0 : sorted.findIndex((r) => atOrAfter(r, startName, start.type))
  const begin = from < 0 ? sorted.length : from
  const page = sorted.slice(begin, begin + maxItems)
  return { records: page, next: sorted[begin + maxItems] }
}

function atOrAfter(r: RecordSet, name: string, type: string | undefined): boolean {
  const byName = compareNames(r.name, name)
  if (byName !== 0) return byName > 0
  return type === undefined || r.type >= type
}
