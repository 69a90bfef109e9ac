/** A public service's alias record in the domain's public zone: its host -> the load balancer. */
import type { KindOps, Removal, Upsert } from './kind.js'

export interface DesiredAliasRecord {
  /** The host. */
  name: string
  /** The public hosted zone. */
  zoneId: string
}

export interface CurrentAliasRecord {
  name: string
  service: string
  /** The alias target's DNS name and hosted zone. */
  dnsName: string
  targetZoneId: string
}

export type AliasRecordChange =
  Upsert<'alias-record', DesiredAliasRecord, CurrentAliasRecord> | Removal<'alias-record', CurrentAliasRecord>

export const aliasRecord: KindOps<'alias-record'> = {
  kind: 'alias-record',
  noun: 'alias record',
  level: 'service',
  dependsOn: ['load-balancer'],
  removeAfter: [],
  diff: () => [],
  removals: () => [],
  apply: () => Promise.reject(new Error('alias record: not built yet')),
  remove: () => Promise.reject(new Error('alias record: not built yet'))
}
