/**
 * A service's A record, kept by the DNS updater. The action judges it against
 * the running instances when both were read and nothing moves, and heals it the
 * way the DNS updater writes it (lambda/core.ts changeBatch): a compare-and-swap
 * DELETE of the exact current set plus CREATE of the new one, or a DELETE when
 * none run, with the bump of the name's version record (TXT, src/record-version.ts)
 * in the same batch. A concurrent writer makes the batch fail with
 * InvalidChangeBatch, even one that put the A record back to the value read: read
 * both again and retry, bounded. Records of removed services go once their
 * instances are gone, all in one batch.
 */
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53'
import type { Change as R53Change } from '@aws-sdk/client-route-53'
import { errorCode } from '../aws/errors.js'
import { readInstances } from '../aws/instances.js'
import { backoff, sleep } from '../aws/retry.js'
import type { Aws } from '../aws/send.js'
import { DEFAULT_RECORD_TTL, recordName, stackDomain, type StackScope } from '../names.js'
import { versionBump, type VersionRecord } from '../record-version.js'
import type { Change, CurrentRecord, CurrentState, DesiredService } from '../state.js'
import { listRecordsUnder } from './hosted-zone.js'
import type { KindOps, Removal, Upsert } from './kind.js'

/** The records the heal writes: the running instances' IPs (none: delete) and the TTL. */
export interface DesiredRecord {
  values: string[]
  ttl: number
}

export type RecordChange = Upsert<'dns-record', DesiredRecord, CurrentRecord> | Removal<'dns-record', CurrentRecord>

const ATTEMPTS = 6

export interface RecordTarget {
  zoneId: string
  scope: StackScope
  service: string
  /** The record name, without the trailing dot. */
  name: string
  ttl: number
}

function change(
  action: 'CREATE' | 'DELETE',
  record: { name: string; ttl?: number; values: readonly string[] }
): R53Change {
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

/** The version record as listed (no TTL listed: Route 53 always lists one; the heal's TTL stands in). */
function asVersion(record: CurrentRecord | undefined, ttl: number): VersionRecord | undefined {
  return record ? { name: record.name, ttl: record.ttl ?? ttl, values: record.values } : undefined
}

/**
 * The batch that turns `current` into `values` (none: delete), with the bump of
 * the version record `version` (the TXT at the name as read); empty when they already agree.
 */
export function healBatch(
  current: CurrentRecord | undefined,
  next: { name: string; ttl: number; values: readonly string[] },
  version?: CurrentRecord
): R53Change[] {
  const have = [...(current?.values ?? [])].sort().join(',')
  if (have === [...next.values].sort().join(',')) return []
  const remove = current ? [change('DELETE', current)] : []
  const swap = next.values.length > 0 ? [...remove, change('CREATE', next)] : remove
  return [...swap, ...versionBump(next.name, asVersion(version, next.ttl), next.ttl)]
}

async function readPicture(
  aws: Aws,
  target: RecordTarget
): Promise<{ current?: CurrentRecord; version?: CurrentRecord; values: string[] }> {
  const [records, instances] = await Promise.all([
    listRecordsUnder(aws, target.zoneId, target.name),
    readInstances(aws, target.scope, ['running'])
  ])
  const current = records.find((r) => r.name === target.name && r.type === 'A')
  const version = records.find((r) => r.name === target.name && r.type === 'TXT')
  const values = instances
    .filter((i) => i.service === target.service && i.privateIp)
    .map((i) => i.privateIp as string)
    .sort()
  return { current, version, values }
}

/** Makes the record list the service's running instances; false when it already did. */
export async function healRecord(aws: Aws, target: RecordTarget): Promise<boolean> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    const { current, version, values } = await readPicture(aws, target)
    const batch = healBatch(current, { name: target.name, ttl: target.ttl, values }, version)
    if (batch.length === 0) return false
    try {
      await aws.send(
        new ChangeResourceRecordSetsCommand({ HostedZoneId: target.zoneId, ChangeBatch: { Changes: batch } })
      )
      return true
    } catch (err) {
      if (errorCode(err) !== 'InvalidChangeBatch') throw err
      aws.log(`  record ${target.name} changed since it was read; reading it again`)
      await sleep(backoff(attempt, aws.timing))
    }
  }
  throw new Error(`record ${target.name} kept changing while being healed (${ATTEMPTS} attempts)`)
}

/** Record types a service name holds: its A record and its version record (TXT). */
const SERVICE_TYPES = new Set(['A', 'TXT'])

function deletion(record: CurrentRecord): R53Change {
  return {
    Action: 'DELETE',
    ResourceRecordSet: {
      Name: record.name,
      Type: record.type as never,
      TTL: record.ttl,
      ResourceRecords: record.values.map((Value) => ({ Value }))
    }
  }
}

/**
 * Deletes the named records, A and version record (TXT) alike, with their exact
 * current values, in one batch; returns the names whose A record it deleted.
 * The DNS updater may change or delete them meanwhile: InvalidChangeBatch ->
 * read again and retry what is left (bounded).
 */
export async function deleteRecords(
  aws: Aws,
  args: { zoneId: string; domain: string; names: Set<string> }
): Promise<string[]> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    const listed = await listRecordsUnder(aws, args.zoneId, args.domain).catch((err: unknown) => {
      if (errorCode(err) === 'NoSuchHostedZone') return []
      throw err
    })
    const records = listed.filter((r) => SERVICE_TYPES.has(r.type) && args.names.has(r.name))
    if (records.length === 0) return []
    try {
      await aws.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: args.zoneId,
          ChangeBatch: { Changes: records.map(deletion) }
        })
      )
      return records.filter((r) => r.type === 'A').map((r) => r.name)
    } catch (err) {
      if (errorCode(err) !== 'InvalidChangeBatch') throw err
      await sleep(Math.min(aws.timing.baseDelayMs * 2 ** attempt, aws.timing.maxDelayMs))
    }
  }
  throw new Error(`records ${[...args.names].join(', ')} kept changing while being deleted`)
}

/** The service a record under the stack's domain belongs to (`<service>.<stack domain>`), if any. */
export function recordService(scope: StackScope, name: string): string | undefined {
  const suffix = `.${stackDomain(scope)}`
  if (!name.endsWith(suffix)) return undefined
  const label = name.slice(0, -suffix.length)
  return label && !label.includes('.') ? label : undefined
}

/** Instance states on the way in or out: the DNS updater is about to rewrite the record. */
const MOVING = new Set(['pending', 'shutting-down', 'stopping'])

/** ASG changes that start or stop instances. */
const resizes = (c: Change): boolean =>
  c.kind === 'auto-scaling-group' &&
  c.action !== 'noop' &&
  (c.action !== 'update' || (c.fields ?? []).some((f) => f === 'size' || f === 'subnets'))

/** Why the record cannot be judged now (a rollout or resize under way or planned), if so. */
function unsettled(service: DesiredService, current: CurrentState, planned: readonly Change[]): string | undefined {
  const moving = (current.instances ?? []).find((i) => i.service === service.name && MOVING.has(i.state))
  if (moving) return `instance ${moving.id} is ${moving.state}`
  const groups = current.asgs.filter((g) => service.asgs.some((a) => a.name === g.name))
  const member = groups
    .flatMap((g) => g.instances)
    .find((i) => i.lifecycleState !== undefined && i.lifecycleState !== 'InService')
  if (member) return `instance ${member.id} is ${member.lifecycleState}`
  if (planned.some((c) => c.kind === 'instance-refresh')) return 'an instance refresh is planned'
  if (planned.some(resizes)) return 'its groups change size'
  return undefined
}

/**
 * What the DNS updater lists: the service's running instances that are in service and healthy in
 * one of its groups (an instance outside them is never listed), and not warned that they go.
 */
function inServiceIps(service: DesiredService, current: CurrentState): string[] {
  const members = new Set(
    current.asgs
      .filter((g) => service.asgs.some((a) => a.name === g.name))
      .flatMap((g) => g.instances)
      .filter((i) => i.lifecycleState === 'InService' && (i.healthStatus ?? 'Healthy').toLowerCase() === 'healthy')
      .map((i) => i.id)
  )
  return (current.instances ?? [])
    .filter(
      (i) => i.service === service.name && i.state === 'running' && i.privateIp && members.has(i.id) && !i.leaving
    )
    .map((i) => i.privateIp as string)
    .sort()
}

const sameValues = (a: readonly string[], b: readonly string[]): boolean =>
  [...a].sort().join(',') === [...b].sort().join(',')

/** A record whose service has no group, template or security group left was not made by a compose change: drift. */
function orphan(current: CurrentState, change: RecordChange): RecordChange {
  const owned = (r: { service: string }): boolean => r.service === change.service
  const none = !current.asgs.some(owned) && !current.launchTemplates.some(owned) && !current.securityGroups.some(owned)
  return none ? { ...change, reason: 'no service of the stack owns it', drift: true } : change
}

export const dnsRecord: KindOps<'dns-record'> = {
  kind: 'dns-record',
  noun: 'record',
  level: 'service',
  dependsOn: ['hosted-zone', 'role-policy', 'event-target', 'event-source-mapping'],
  removeAfter: ['auto-scaling-group', 'launch-template', 'security-group'],
  removeTogether: true,
  /**
   * The service's record against its running instances (when both were read). A difference while
   * nothing moves is drift, healed by writing the running IPs (none: deleting the record); while
   * instances come or go the DNS updater is on it, and the record is not judged.
   */
  diff({ desired, current, planned }, service) {
    const ttl = Number(desired.project.function.environment.RECORD_TTL ?? DEFAULT_RECORD_TTL)
    const record = current.records.find((r) => r.name === service.recordName && r.type === 'A')
    const kept = record ? `${record.values.length} address(es), kept by the DNS updater` : 'kept by the DNS updater'
    const noop = (reason: string): RecordChange => ({
      kind: 'dns-record',
      action: 'noop',
      name: service.recordName,
      service: service.name,
      reason,
      current: record,
      desired: { values: record?.values ?? [], ttl }
    })
    if (!current.recordsRead || !current.instances) return [noop(kept)]
    const ips = inServiceIps(service, current)
    const listed = record?.values ?? []
    if (sameValues(ips, listed)) return [noop(kept)]
    const why = unsettled(
      service,
      current,
      planned.filter((c) => c.service === service.name)
    )
    if (why) return [noop(`${kept}; not compared while ${why}`)]
    const heal = {
      kind: 'dns-record' as const,
      name: service.recordName,
      service: service.name,
      current: record,
      desired: { values: ips, ttl },
      drift: true,
      fields: ['values']
    }
    if (!record) return [{ ...heal, action: 'create', reason: `missing; in service: ${ips.join(', ')}` }]
    return [
      {
        ...heal,
        action: 'update',
        reason: `lists ${listed.join(', ')}; ${ips.length > 0 ? `in service: ${ips.join(', ')}` : 'no instance in service'}`
      }
    ]
  },
  /**
   * Records of services that are going: the ones read, or, when records were not
   * read, the record name of every service losing resources (apply re-reads and
   * deletes only what exists).
   */
  removals({ current, keep, reason, planned, orphansAreDrift }) {
    const losing = [...new Set(planned.map((c) => c.service ?? ''))].filter((s) => s && !keep.services.has(s)).sort()
    let changes: RecordChange[]
    if (current.recordsRead) {
      const listed = current.records.map((r) => ({ r, service: recordService(current.scope, r.name) }))
      changes = listed
        .filter(({ r, service }) => r.type === 'A' && service !== undefined && !keep.services.has(service))
        .map(({ r, service }) => ({ kind: 'dns-record', action: 'delete', name: r.name, service, reason, current: r }))
      // A service that goes with its A record already empty still leaves its version record (TXT).
      for (const service of losing.filter(
        (s) => !changes.some((c) => c.service === s) && listed.some((l) => l.service === s)
      )) {
        changes.push({
          kind: 'dns-record',
          action: 'delete',
          name: recordName(current.scope, service),
          service,
          reason: `${reason} (version record)`
        })
      }
    } else {
      changes = losing.map((service) => ({
        kind: 'dns-record',
        action: 'delete',
        name: recordName(current.scope, service),
        service,
        reason: `${reason} (if present)`
      }))
    }
    return orphansAreDrift ? changes.map((c) => orphan(current, c)) : changes
  },
  async apply(change, { e, need, desired }) {
    if (change.action === 'noop') return
    const zoneId = await need('hosted-zone')
    if (!zoneId) throw new Error('the hosted zone is not known')
    const target = {
      zoneId,
      scope: desired.scope,
      service: change.service ?? '',
      name: change.name,
      ttl: change.desired.ttl
    }
    if (await healRecord(e, target))
      e.done({ kind: 'dns-record', action: change.action, name: change.name, service: change.service })
  },
  async remove(changes, { e, plan, scope, zoneId, kept }) {
    // The records the plan deletes, and the version record (TXT) of every service that goes, A record or not.
    const going = [
      ...new Set(
        plan.changes.filter((c) => c.action === 'delete' && c.service !== undefined).map((c) => c.service as string)
      )
    ]
    const names = new Set([
      ...changes.map((c) => c.name),
      ...going.filter((s) => !kept.has(s)).map((s) => recordName(scope, s))
    ])
    const id = await zoneId()
    if (!id || names.size === 0) return
    for (const name of await deleteRecords(e, { zoneId: id, domain: stackDomain(scope), names }))
      e.done({ kind: 'dns-record', action: 'delete', name })
  }
}
