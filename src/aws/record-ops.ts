/**
 * Drift heal of a service record: it gets the running instances' IPs, written
 * the way the DNS updater writes it (lambda/core.ts changeBatch): a
 * compare-and-swap DELETE of the exact current set plus CREATE of the new one,
 * or a DELETE when none run, with the bump of the name's version record (TXT,
 * src/record-version.ts) in the same batch. A concurrent writer makes the batch
 * fail with InvalidChangeBatch, even one that put the A record back to the
 * value read: read both again and retry, bounded.
 */
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53'
import type { Change as R53Change } from '@aws-sdk/client-route-53'
import { listRecordsUnder, readInstances } from '../current.js'
import type { StackScope } from '../names.js'
import { versionBump, type VersionRecord } from '../record-version.js'
import type { CurrentRecord } from '../state.js'
import type { Engine } from './engine.js'
import { backoff, errorName, sleep } from './retry.js'

const ATTEMPTS = 6

export interface RecordTarget {
  zoneId: string
  scope: StackScope
  service: string
  /** The record name, without the trailing dot. */
  name: string
  ttl: number
}

function change(action: 'CREATE' | 'DELETE', record: { name: string; ttl?: number; values: readonly string[] }): R53Change {
  return {
    Action: action,
    ResourceRecordSet: { Name: record.name, Type: 'A', TTL: record.ttl, ResourceRecords: record.values.map((Value) => ({ Value })) }
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

interface Picture {
  current?: CurrentRecord
  version?: CurrentRecord
  values: string[]
}

async function readPicture(e: Engine, target: RecordTarget): Promise<Picture> {
  e.reads += 2
  const [records, instances] = await Promise.all([
    listRecordsUnder(e.clients, target.zoneId, target.name),
    readInstances(e.clients, target.scope, ['running'])
  ])
  const current = records.find((r) => r.name === target.name && r.type === 'A')
  const version = records.find((r) => r.name === target.name && r.type === 'TXT')
  const values = instances.filter((i) => i.service === target.service && i.privateIp).map((i) => i.privateIp as string).sort()
  return { current, version, values }
}

/** Makes the record list the service's running instances; false when it already did. */
export async function healRecord(e: Engine, target: RecordTarget): Promise<boolean> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    const { current, version, values } = await readPicture(e, target)
    const batch = healBatch(current, { name: target.name, ttl: target.ttl, values }, version)
    if (batch.length === 0) return false
    try {
      await e.call('route53', 'ChangeResourceRecordSets', () =>
        e.clients.route53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: target.zoneId, ChangeBatch: { Changes: batch } }))
      )
      return true
    } catch (err) {
      if (errorName(err) !== 'InvalidChangeBatch') throw err
      e.log(`  record ${target.name} changed since it was read; reading it again`)
      await sleep(backoff(attempt, e.timing))
    }
  }
  throw new Error(`record ${target.name} kept changing while being healed (${ATTEMPTS} attempts)`)
}
