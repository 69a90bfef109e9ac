/**
 * The zone's SOA record, whose last field (minimum) caps how long resolvers cache a
 * name's absence (NXDOMAIN): the lesser of it and the SOA's own TTL. Route 53's default
 * (86400, TTL 900) keeps a service name that disappears and comes back unresolvable for
 * up to 15 minutes; the action sets it to the record TTL when the zone is made, and heals
 * it as drift when the run reads the zone's records (plan, and deploys that wait).
 */
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53'
import type { Aws } from '../aws/send.js'
import type { CurrentRecord } from '../state.js'
import { listRecordSets } from './hosted-zone.js'
import type { KindOps, Removal, Upsert } from './kind.js'

export interface DesiredSoa {
  zoneName: string
  /** The SOA minimum: how long a missing name may be cached, seconds. */
  negativeTtl: number
}

export type SoaChange = Upsert<'zone-soa', DesiredSoa, CurrentRecord> | Removal<'zone-soa', CurrentRecord>

/** Route 53's default minimum of a new zone's SOA. */
export const ROUTE53_SOA_MINIMUM = 86400

/** The SOA's minimum field (its seventh), or undefined when the value is not an SOA. */
export function soaMinimum(value: string | undefined): number | undefined {
  const fields = (value ?? '').trim().split(/\s+/)
  return fields.length === 7 ? Number(fields[6]) : undefined
}

/** The zone's SOA (one read: its apex, type SOA). */
export async function readSoa(aws: Aws, zoneId: string, zoneName: string): Promise<CurrentRecord | undefined> {
  const apex = `${zoneName}.`
  const [set] = await listRecordSets(
    aws,
    zoneId,
    { name: apex, type: 'SOA', max: 1 },
    (s) => s.Name === apex && s.Type === 'SOA'
  )
  return set
    ? { name: zoneName, type: 'SOA', ttl: set.TTL, values: (set.ResourceRecords ?? []).map((r) => r.Value ?? '') }
    : undefined
}

export const zoneSoa: KindOps<'zone-soa'> = {
  kind: 'zone-soa',
  noun: 'SOA record of',
  level: 'project',
  dependsOn: ['hosted-zone'],
  removeAfter: [],
  diff({ desired, current }) {
    const want = { zoneName: desired.project.zone.name, negativeTtl: desired.project.zone.negativeTtl }
    const base = { kind: 'zone-soa' as const, name: want.zoneName, desired: want, current: current.soa }
    if (!current.zone)
      return [{ ...base, action: 'create', reason: `negative caching ${want.negativeTtl} s on the new zone` }]
    if (!current.soa) return [{ ...base, action: 'noop', reason: 'judged when records are read' }]
    const minimum = soaMinimum(current.soa.values[0])
    if (minimum === want.negativeTtl) return [{ ...base, action: 'noop', reason: `negative caching ${minimum} s` }]
    // A zone made before the action set it still has Route 53's default: not drift, just this version's change.
    return [
      {
        ...base,
        action: 'update',
        reason: `negative caching ${minimum ?? '?'} -> ${want.negativeTtl} s`,
        fields: ['minimum'],
        drift: minimum !== ROUTE53_SOA_MINIMUM
      }
    ]
  },
  removals: () => [],
  async apply(change, { e, need }) {
    if (change.action === 'noop') return
    const zoneId = await need('hosted-zone')
    if (!zoneId) throw new Error('the hosted zone is not known')
    const soa = change.current ?? (await readSoa(e, zoneId, change.desired.zoneName))
    const fields = (soa?.values[0] ?? '').trim().split(/\s+/)
    if (!soa || fields.length !== 7) throw new Error(`the zone ${change.desired.zoneName} has no SOA record to change`)
    fields[6] = String(change.desired.negativeTtl)
    const ResourceRecordSet = {
      Name: `${change.desired.zoneName}.`,
      Type: 'SOA' as const,
      TTL: soa.ttl ?? 900,
      ResourceRecords: [{ Value: fields.join(' ') }]
    }
    await e.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet }] }
      })
    )
    e.done({ kind: 'zone-soa', action: change.action, name: change.name })
  },
  // The SOA goes with its zone.
  remove: async () => undefined
}
