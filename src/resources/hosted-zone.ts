/**
 * The project's private hosted zone `<project>.<region>.internal`, and the
 * reads of its records. The zone id comes from the function's ZONE_ID when it
 * names our zone (a private zone cannot be deleted while it holds records, and
 * apply tolerates it being gone); ListHostedZonesByName only when there is no
 * function. Route 53 lists records in order of reversed labels, so a stack's
 * are contiguous from its domain.
 */
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  DeleteHostedZoneCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand
} from '@aws-sdk/client-route-53'
import type { ListResourceRecordSetsCommandOutput, ResourceRecordSet } from '@aws-sdk/client-route-53'
import { DescribeVpcAttributeCommand } from '@aws-sdk/client-ec2'
import { errorCode, wrap } from '../aws/errors.js'
import { readOptional, tolerate, type Aws } from '../aws/send.js'
import { stackDomain, zoneName } from '../names.js'
import type { CurrentRecord } from '../state.js'
import { readFunction } from './lambda-function.js'
import { readSoa } from './zone-soa.js'
import { othersExist } from './project-drift.js'
import type { KindOps, ReadContext, Removal, Upsert } from './kind.js'

export interface DesiredZone {
  name: string
  vpcId: string
  region: string
  /** Deterministic CallerReference base; a generation suffix is added (see createZone). */
  callerReference: string
  /** The SOA minimum the zone keeps (zone-soa): the record TTL. */
  negativeTtl: number
}

export interface CurrentZone {
  id: string
  name: string
}

export type ZoneChange = Upsert<'hosted-zone', DesiredZone, CurrentZone> | Removal<'hosted-zone', CurrentZone>

const trimDot = (name: string): string => name.replace(/\.$/, '').toLowerCase()

/** The project's private zone by name (ListHostedZonesByName); several of that name: the one in `vpcId`. */
export async function findZone(aws: Aws, name: string, vpcId?: string): Promise<CurrentZone | undefined> {
  let out
  try {
    out = await aws.send(new ListHostedZonesByNameCommand({ DNSName: name, MaxItems: 100 }))
  } catch (err) {
    throw wrap(`looking up hosted zone ${name}`, err)
  }
  const zones = (out.HostedZones ?? []).filter((z) => trimDot(z.Name ?? '') === name && z.Config?.PrivateZone)
  const ids = zones.map((z) => (z.Id ?? '').replace(/^\/hostedzone\//, ''))
  if (ids.length <= 1 || !vpcId) return ids[0] ? { id: ids[0], name } : undefined
  for (const id of ids) {
    const zone = await aws.send(new GetHostedZoneCommand({ Id: id }))
    if (zone.VPCs?.some((v) => v.VPCId === vpcId)) return { id, name }
  }
  return ids[0] ? { id: ids[0], name } : undefined
}

function toRecord(set: ResourceRecordSet): CurrentRecord {
  return {
    name: trimDot(set.Name ?? ''),
    type: set.Type ?? '',
    ttl: set.TTL,
    values: (set.ResourceRecords ?? []).map((r) => r.Value ?? '')
  }
}

/**
 * Every record set of the zone from `start` on, page by page, until `more` says stop.
 * ListResourceRecordSets has no SDK paginator: its position is three fields (name, type, identifier).
 */
export async function listRecordSets(
  aws: Aws,
  zoneId: string,
  start: { name?: string; type?: string; max?: number },
  more: (set: ResourceRecordSet) => boolean
): Promise<ResourceRecordSet[]> {
  const sets: ResourceRecordSet[] = []
  let next: { name?: string; type?: string; id?: string } | undefined = start
  while (next) {
    const out: ListResourceRecordSetsCommandOutput = await aws.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        StartRecordName: next.name,
        StartRecordType: next.type as never,
        StartRecordIdentifier: next.id,
        MaxItems: start.max ?? 300
      })
    )
    for (const set of out.ResourceRecordSets ?? []) {
      if (!more(set)) return sets
      sets.push(set)
      if (start.max !== undefined && sets.length >= start.max) return sets
    }
    next = out.IsTruncated
      ? { name: out.NextRecordName, type: out.NextRecordType, id: out.NextRecordIdentifier }
      : undefined
  }
  return sets
}

/** The records at and under `domain` (contiguous in Route 53's order: stop at the first name outside). */
export async function listRecordsUnder(aws: Aws, zoneId: string, domain: string): Promise<CurrentRecord[]> {
  const sets = await listRecordSets(aws, zoneId, { name: domain }, (set) => {
    const name = trimDot(set.Name ?? '')
    return name === domain || name.endsWith(`.${domain}`)
  })
  return sets.map(toRecord)
}

interface ZoneRead {
  zone?: CurrentZone
  records: CurrentRecord[]
  recordsRead: boolean
  soa?: CurrentRecord
}

/** The stack's records and the zone's SOA, read together (two reads at once). */
function readRecords(
  aws: Aws,
  zone: CurrentZone,
  domain: string
): Promise<[CurrentRecord[], CurrentRecord | undefined]> {
  return Promise.all([listRecordsUnder(aws, zone.id, domain), readSoa(aws, zone.id, zone.name)])
}

async function read(ctx: ReadContext): Promise<ZoneRead> {
  const { aws, scope } = ctx
  const name = zoneName(scope)
  const domain = stackDomain(scope)
  const env = (await readFunction(ctx))?.environment
  const hinted = env?.ZONE_NAME === name && env.ZONE_ID ? env.ZONE_ID.replace(/^\/hostedzone\//, '') : undefined
  if (hinted && !ctx.records) return { zone: { id: hinted, name }, records: [], recordsRead: false }
  if (hinted) {
    const zone = { id: hinted, name }
    const read = await readOptional(`listing records of ${domain}`, ['NoSuchHostedZone'], () =>
      readRecords(aws, zone, domain)
    )
    if (read) return { zone, records: read[0], recordsRead: true, soa: read[1] }
  }
  const zone = await findZone(aws, name)
  if (!zone || !ctx.records) return { zone, records: [], recordsRead: false }
  try {
    const [records, soa] = await readRecords(aws, zone, domain)
    return { zone, records, recordsRead: true, soa }
  } catch (err) {
    throw wrap(`listing records of ${domain}`, err)
  }
}

export async function vpcDnsProblem(aws: Aws, vpcId: string): Promise<string | undefined> {
  const attribute = (Attribute: 'enableDnsSupport' | 'enableDnsHostnames') =>
    aws.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute }))
  const [support, hostnames] = await Promise.all([attribute('enableDnsSupport'), attribute('enableDnsHostnames')])
  const missing = [
    support.EnableDnsSupport?.Value ? '' : 'enable-dns-support',
    hostnames.EnableDnsHostnames?.Value ? '' : 'enable-dns-hostnames'
  ].filter(Boolean)
  if (missing.length === 0) return undefined
  const fix = missing.map((m) => `aws ec2 modify-vpc-attribute --vpc-id ${vpcId} --${m}`).join('; ')
  return `VPC ${vpcId} has ${missing.join(' and ')} off; a private hosted zone needs DNS support and DNS hostnames (${fix})`
}

const MAX_GENERATIONS = 50

/**
 * Creates the private zone with CallerReference `<base>/<n>`. The same n for the
 * same zone, so a re-run after a crash (or a concurrent run) gets
 * HostedZoneAlreadyExists and adopts the zone instead of making a second one.
 * A reference is never reusable, even after its zone was deleted (destroy then
 * deploy): when the zone does not exist, the next n is tried.
 */
async function createZone(aws: Aws, zone: DesiredZone): Promise<string> {
  const problem = await vpcDnsProblem(aws, zone.vpcId)
  if (problem) throw new Error(problem)
  for (let n = 1; n <= MAX_GENERATIONS; n += 1) {
    const created = await aws
      .send(
        new CreateHostedZoneCommand({
          Name: zone.name,
          CallerReference: `${zone.callerReference}/${n}`,
          VPC: { VPCId: zone.vpcId, VPCRegion: zone.region as never },
          HostedZoneConfig: { PrivateZone: true, Comment: 'hyperform-action: service records' }
        })
      )
      .then((out) => (out.HostedZone?.Id ?? '').replace(/^\/hostedzone\//, ''))
      .catch(async (err: unknown) => {
        const code = errorCode(err)
        if (code !== 'HostedZoneAlreadyExists' && code !== 'ConflictingDomainExists') throw err
        const existing = await findZone(aws, zone.name, zone.vpcId)
        if (existing) return existing.id
        if (code === 'ConflictingDomainExists') throw err
        return undefined
      })
    if (created !== undefined) return created
  }
  throw new Error(`no unused CallerReference for ${zone.name} after ${MAX_GENERATIONS} tries`)
}

/** Empties the zone (all but its apex SOA and NS) and deletes it; retried while the DNS updater races. */
async function deleteZone(aws: Aws, zone: CurrentZone): Promise<void> {
  const apex = `${zone.name}.`
  await tolerate(['NoSuchHostedZone'], () =>
    aws.retryOn(['HostedZoneNotEmpty', 'InvalidChangeBatch'], async () => {
      const extra = (await listRecordSets(aws, zone.id, {}, () => true)).filter(
        (s) => !(s.Name === apex && (s.Type === 'SOA' || s.Type === 'NS'))
      )
      if (extra.length > 0) {
        const Changes = extra.map((s) => ({ Action: 'DELETE' as const, ResourceRecordSet: s }))
        await aws.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zone.id, ChangeBatch: { Changes } }))
      }
      await aws.send(new DeleteHostedZoneCommand({ Id: zone.id }))
    })
  )
}

export const hostedZone: KindOps<'hosted-zone'> = {
  kind: 'hosted-zone',
  noun: 'hosted zone',
  level: 'project',
  dependsOn: [],
  removeAfter: ['iam-role', 'event-rule', 'zone-association', 'event-queue', 'dead-letter-queue'],
  read,
  diff({ desired, current }) {
    const zone = desired.project.zone
    const base = { kind: 'hosted-zone' as const, name: zone.name, desired: zone }
    if (current.zone) return [{ ...base, action: 'noop', reason: 'up to date', current: current.zone }]
    return [
      {
        ...base,
        action: 'create',
        reason: `not found; private zone for ${zone.vpcId}`,
        drift: othersExist(current, 'zone')
      }
    ]
  },
  removals({ current, destroy }) {
    return destroy && current.zone
      ? [{ kind: 'hosted-zone', action: 'delete', name: current.zone.name, reason: '', current: current.zone }]
      : []
  },
  async apply(change, { e }) {
    if (change.action !== 'create') return change.current?.id
    const id = await createZone(e, change.desired)
    e.done({ kind: 'hosted-zone', action: 'create', name: change.name, id })
    return id
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      if (change.current) await deleteZone(e, change.current)
      e.done({ kind: 'hosted-zone', action: 'delete', name: change.name })
    }
  }
}
