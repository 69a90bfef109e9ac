/** A public service's alias record in the domain's public zone: its host -> the load balancer. */
import { ChangeResourceRecordSetsCommand, type ResourceRecordSet } from '@aws-sdk/client-route-53'
import { zoneOf } from '../aws/certificates.js'
import type { Engine } from '../aws/engine.js'
import { errorCode, errorMessage, wrap } from '../aws/errors.js'
import { readOptional } from '../aws/send.js'
import type { CurrentState, DesiredService, Plan } from '../state.js'
import { listRecordSets } from './hosted-zone.js'
import type { KindOps, ReadContext, Removal, Upsert } from './kind.js'
import { readStackCertificate } from './stack-certificate.js'

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

const trimDot = (name: string): string => name.replace(/\.$/, '').toLowerCase()

/** What the alias of a load balancer names: its dual-stack name (IPv4 and IPv6 alike). */
export function aliasDnsName(dnsName: string): string {
  const name = trimDot(dnsName)
  return name.startsWith('dualstack.') ? name : `dualstack.${name}`
}

/** The stack's domain `<stack>.<domain>`: from the domain input, else (destroy) from the stack certificate's name. */
async function stackDomainOf(ctx: ReadContext): Promise<{ zoneId?: string; domain: string } | undefined> {
  if (ctx.publicZone)
    return { zoneId: ctx.publicZone.id, domain: `${ctx.scope.stack}.${ctx.publicZone.name}`.toLowerCase() }
  const cert = await readStackCertificate(ctx)
  if (!cert) return undefined
  const domain = cert.domainName.replace(/^\*\./, '')
  return { domain }
}

/** The alias records under `.<stack>.<domain>` (contiguous in Route 53's order), A records with an alias target. */
export async function readAliasRecords(
  ctx: ReadContext
): Promise<{ zoneId: string; records: CurrentAliasRecord[] } | undefined> {
  const where = await stackDomainOf(ctx)
  if (!where) return undefined
  const zoneId = where.zoneId ?? (await zoneOf(ctx.aws, where.domain))
  if (!zoneId) return undefined
  const suffix = `.${where.domain}`
  const sets = await readOptional(`listing the alias records under ${where.domain}`, ['NoSuchHostedZone'], () =>
    listRecordSets(ctx.aws, zoneId, { name: where.domain }, (set) => {
      const name = trimDot(set.Name ?? '')
      return name === where.domain || name.endsWith(suffix)
    })
  )
  const records = (sets ?? [])
    .filter((s) => s.Type === 'A' && s.AliasTarget && trimDot(s.Name ?? '').endsWith(suffix))
    .map((s) => {
      const name = trimDot(s.Name ?? '')
      return {
        name,
        service: name.slice(0, -suffix.length),
        dnsName: trimDot(s.AliasTarget?.DNSName ?? ''),
        targetZoneId: s.AliasTarget?.HostedZoneId ?? ''
      }
    })
  return { zoneId, records }
}

/**
 * The compose service a record's host belongs to, among `services`: `<service>` or
 * `<service>-<port>` (names.publicHost); undefined when none.
 */
export function ownerOf(label: string, services: ReadonlySet<string>): string | undefined {
  if (services.has(label)) return label
  const port = /^(.+)-(\d+)$/.exec(label)
  return port && services.has(port[1] as string) ? port[1] : undefined
}

/** The service has other public resources: a missing record was deleted by hand. */
function publicPartsExist(current: CurrentState, service: string): boolean {
  return (
    (current.targetGroups ?? []).some((g) => g.service === service) ||
    (current.listenerRules ?? []).some((r) => r.service === service)
  )
}

/** The public zone of the plan's alias records, certificates; else the closest public zone above the name. */
async function zoneFor(e: Engine, plan: Plan, name: string): Promise<string | undefined> {
  for (const c of plan.changes)
    if ((c.kind === 'alias-record' || c.kind === 'stack-certificate' || c.kind === 'certificate') && 'desired' in c)
      return c.desired.zoneId
  return zoneOf(e, name.split('.').slice(1).join('.'))
}

const isNotFound = (err: unknown): boolean =>
  errorCode(err) === 'InvalidChangeBatch' && /not found/i.test(errorMessage(err))

export const aliasRecord: KindOps<'alias-record'> = {
  kind: 'alias-record',
  noun: 'alias record',
  level: 'service',
  dependsOn: ['load-balancer'],
  removeAfter: [],
  /** Only with a domain (its public zone), or to destroy (the zone found from the stack certificate's name). */
  async read(ctx) {
    if (!ctx.publicZone && !ctx.destroy) return {}
    try {
      return { aliasRecords: (await readAliasRecords(ctx))?.records ?? [] }
    } catch (err) {
      throw wrap('reading the alias records', err)
    }
  },
  diff({ desired, current }, service: DesiredService) {
    const records = current.aliasRecords ?? []
    const lb = current.loadBalancer
    const target = lb ? aliasDnsName(lb.dnsName) : undefined
    const changes: AliasRecordChange[] = []
    for (const endpoint of service.endpoints) {
      const want = endpoint.alias
      const have = records.find((r) => r.name === want.name.toLowerCase())
      const base = {
        kind: 'alias-record' as const,
        name: want.name,
        service: service.name,
        desired: want,
        current: have
      }
      if (!have) {
        changes.push({
          ...base,
          action: 'create',
          reason: 'not found',
          drift: publicPartsExist(current, service.name)
        })
      } else if (!lb || have.dnsName !== target || have.targetZoneId !== lb.canonicalZoneId) {
        const reason = lb
          ? `targets ${have.dnsName} -> ${target ?? ''}`
          : `targets ${have.dnsName}; the load balancer is new`
        changes.push({ ...base, action: 'update', reason, fields: ['target'], drift: lb !== undefined })
      } else changes.push({ ...base, action: 'noop', reason: `-> ${have.dnsName}` })
    }
    // The service's other hosts (a port it no longer publishes).
    const all = new Set(desired.services.map((s) => s.name))
    const hosts = new Set(service.endpoints.map((e) => e.alias.name.toLowerCase()))
    for (const r of records)
      if (ownerOf(r.service, all) === service.name && !hosts.has(r.name))
        changes.push({
          kind: 'alias-record',
          action: 'delete',
          name: r.name,
          service: service.name,
          reason: 'no longer published',
          current: r
        })
    return changes
  },
  /** Records of services that go (every one for destroy). */
  removals({ current, keep, reason, orphansAreDrift }) {
    return (current.aliasRecords ?? [])
      .filter((r) => ownerOf(r.service, keep.services) === undefined)
      .map((r) => ({
        kind: 'alias-record' as const,
        action: 'delete' as const,
        name: r.name,
        service: r.service.replace(/-\d+$/, ''),
        reason,
        current: r,
        ...(orphansAreDrift && !publicPartsExist(current, r.service.replace(/-\d+$/, '')) ? { drift: true } : {})
      }))
  },
  async apply(change, { e, need }) {
    if (change.action === 'noop') return
    const lb = await need('load-balancer')
    const set: ResourceRecordSet = {
      Name: change.desired.name,
      Type: 'A',
      AliasTarget: { DNSName: aliasDnsName(lb.dnsName), HostedZoneId: lb.canonicalZoneId, EvaluateTargetHealth: true }
    }
    await e.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: change.desired.zoneId,
        ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet: set }] }
      })
    )
    e.done({ kind: 'alias-record', action: change.action, name: change.name, service: change.service })
  },
  async remove(changes, { e, plan }) {
    for (const change of changes) {
      const have = change.current
      if (have) {
        const zoneId = await zoneFor(e, plan, have.name)
        if (zoneId) await deleteAlias(e, zoneId, have.name)
      }
      e.done({ kind: 'alias-record', action: 'delete', name: change.name, service: change.service })
    }
  }
}

/** DELETE with the exact values listed now (gone: nothing to do). */
async function deleteAlias(e: Engine, zoneId: string, name: string): Promise<void> {
  const sets = await readOptional(`reading alias record ${name}`, ['NoSuchHostedZone'], () =>
    listRecordSets(e, zoneId, { name, type: 'A', max: 1 }, () => true)
  )
  const set = sets?.[0]
  if (!set || trimDot(set.Name ?? '') !== name || set.Type !== 'A' || !set.AliasTarget) return
  try {
    await e.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: { Changes: [{ Action: 'DELETE', ResourceRecordSet: set }] }
      })
    )
  } catch (err) {
    if (!isNotFound(err)) throw err
  }
}
