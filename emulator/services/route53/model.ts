/** Route 53's state: private hosted zones with their record sets, changes and used caller references. */
import type { Cloud } from '../../types.js'
import { newId as hexId } from '../../core/ids.js'
import type { RecordSet } from './records.js'

export interface VpcRef {
  vpcId: string
  region: string
}

export interface Zone {
  id: string
  name: string
  callerReference: string
  comment?: string
  /** A public zone (created without a VPC) answers on the internet through its delegation set; a private one in its VPCs. */
  private: boolean
  /** A public zone's four name servers (its delegation set and apex NS record). */
  nameServers: string[]
  vpcs: VpcRef[]
  records: Map<string, RecordSet>
  lastChangeId: string
}

export interface Change {
  id: string
  submittedAt: number
  insyncAt: number
  comment?: string
}

export interface Route53State {
  zones: Map<string, Zone>
  changes: Map<string, Change>
  /** Caller references stay used after their zone is deleted, as in AWS. */
  callerReferences: Set<string>
}

const states = new WeakMap<Cloud, Route53State>()

/** The Route 53 state of one cloud (ACM reads its public zones to validate certificates). */
export function route53State(cloud: Cloud): Route53State {
  let state = states.get(cloud)
  if (!state) {
    state = { zones: new Map(), changes: new Map(), callerReferences: new Set() }
    states.set(cloud, state)
  }
  return state
}

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

export function newId(cloud: Cloud, prefix: string): string {
  let id = `${prefix}0`
  for (let i = 0; i < 19; i++) id += ID_CHARS[Math.floor(cloud.random() * ID_CHARS.length)] ?? 'A'
  return id
}

/** A zone or change id without its /hostedzone/ or /change/ prefix. */
export function bareId(id: string): string {
  return id.replace(/^\/?(hostedzone|change)\//, '')
}

export function newChange(cloud: Cloud, state: Route53State, comment?: string): Change {
  const now = Date.now()
  const change: Change = {
    id: newId(cloud, 'C'),
    submittedAt: now,
    insyncAt: now + (cloud.simulation.route53SyncMs ?? 0),
    comment
  }
  state.changes.set(change.id, change)
  return change
}

export function changeStatus(change: Change): 'PENDING' | 'INSYNC' {
  return Date.now() >= change.insyncAt ? 'INSYNC' : 'PENDING'
}

const PRIVATE_NAME_SERVERS = [
  'ns-1536.awsdns-00.co.uk.',
  'ns-0.awsdns-00.com.',
  'ns-1024.awsdns-00.org.',
  'ns-512.awsdns-00.net.'
]

/** A public zone's delegation set: one name server in each of the four top-level domains Route 53 uses. */
export function delegationSet(cloud: Cloud): string[] {
  const n = (): number => parseInt(hexId(cloud, '', 4), 16)
  const pick = (lo: number): number => lo + (n() % 512)
  const group = (): string => String(n() % 64).padStart(2, '0')
  return [
    `ns-${pick(1536)}.awsdns-${group()}.co.uk`,
    `ns-${pick(0)}.awsdns-${group()}.com`,
    `ns-${pick(1024)}.awsdns-${group()}.org`,
    `ns-${pick(512)}.awsdns-${group()}.net`
  ]
}

/** The SOA and NS records every new zone starts with (a public zone's NS record lists its delegation set). */
export function apexRecords(name: string, nameServers: string[] = []): RecordSet[] {
  const servers = nameServers.length > 0 ? nameServers.map((n) => `${n}.`) : PRIVATE_NAME_SERVERS
  return [
    {
      name,
      type: 'SOA',
      ttl: 900,
      values: [`${servers[0] ?? ''} awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400`]
    },
    { name, type: 'NS', ttl: 172800, values: servers }
  ]
}

export function dumpState(state: Route53State): unknown {
  return [...state.zones.values()].map((z) => ({
    id: z.id,
    name: z.name,
    private: z.private,
    vpcs: z.vpcs,
    records: [...z.records.values()]
  }))
}
