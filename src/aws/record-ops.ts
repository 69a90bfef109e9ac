/**
 * Drift heal of a service record: it gets the running instances' IPs, written
 * the way the DNS updater writes it (lambda/core.ts changeBatch): a
 * compare-and-swap DELETE of the exact current set plus CREATE of the new one
 * in one batch, or a DELETE when none run. A concurrent writer makes the batch
 * fail with InvalidChangeBatch: read both again and retry, bounded.
 */
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53'
import type { Change as R53Change } from '@aws-sdk/client-route-53'
import { listRecordsUnder, readInstances } from '../current.js'
import type { StackScope } from '../names.js'
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

/** The batch that turns `current` into `values` (none: delete); empty when they already agree. */
export function healBatch(current: CurrentRecord | undefined, next: { name: string; ttl: number; values: readonly string[] }): R53Change[] {
  const have = [...(current?.values ?? [])].sort().join(',')
  if (have === [...next.values].sort().join(',')) return []
  const remove = current ? [change('DELETE', current)] : []
  return next.values.length > 0 ? [...remove, change('CREATE', next)] : remove
}

async function readPicture(e: Engine, target: RecordTarget): Promise<{ current?: CurrentRecord; values: string[] }> {
  e.reads += 2
  const [records, instances] = await Promise.all([
    listRecordsUnder(e.clients, target.zoneId, target.name),
    readInstances(e.clients, target.scope, ['running'])
  ])
  const current = records.find((r) => r.name === target.name && r.type === 'A')
  const values = instances.filter((i) => i.service === target.service && i.privateIp).map((i) => i.privateIp as string).sort()
  return { current, values }
}

/** Makes the record list the service's running instances; false when it already did. */
export async function healRecord(e: Engine, target: RecordTarget): Promise<boolean> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    const { current, values } = await readPicture(e, target)
    const batch = healBatch(current, { name: target.name, ttl: target.ttl, values })
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
