/** Route 53 (REST-XML, signing name route53): private hosted zones, record sets and changes. */
import { type Cloud, type EmulatorRequest, type EmulatorResponse, type ServiceModule } from '../../types.js'
import { matchRoute, type RestRoute } from '../../protocols/rest-routes.js'
import { xmlError, xmlResponse } from '../../protocols/rest-xml.js'
import { child, childrenNamed, childText, el, leaf, list, parseXml, xmlDocument, type XmlElement } from '../../protocols/xml-lite.js'
import {
  applyBatch,
  InvalidChangeBatchError,
  nameProblem,
  normaliseName,
  pageRecords,
  recordKey,
  compareNames,
  type RecordChange,
  type RecordSet
} from './records.js'
import { ROUTE53_ERRORS, route53Error } from './errors.js'

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/'
const V = '/2013-04-01'

const ROUTES: RestRoute[] = [
  { method: 'POST', pattern: `${V}/hostedzone`, operation: 'CreateHostedZone' },
  { method: 'GET', pattern: `${V}/hostedzone`, operation: 'ListHostedZones' },
  { method: 'GET', pattern: `${V}/hostedzone/{Id}`, operation: 'GetHostedZone' },
  { method: 'DELETE', pattern: `${V}/hostedzone/{Id}`, operation: 'DeleteHostedZone' },
  { method: 'GET', pattern: `${V}/hostedzonesbyname`, operation: 'ListHostedZonesByName' },
  { method: 'GET', pattern: `${V}/hostedzonesbyvpc`, operation: 'ListHostedZonesByVPC' },
  { method: 'POST', pattern: `${V}/hostedzone/{Id}/rrset`, operation: 'ChangeResourceRecordSets' },
  { method: 'GET', pattern: `${V}/hostedzone/{Id}/rrset`, operation: 'ListResourceRecordSets' },
  { method: 'GET', pattern: `${V}/change/{Id}`, operation: 'GetChange' }
]

interface VpcRef {
  vpcId: string
  region: string
}

interface Zone {
  id: string
  name: string
  callerReference: string
  comment?: string
  vpcs: VpcRef[]
  records: Map<string, RecordSet>
  lastChangeId: string
}

interface Change {
  id: string
  submittedAt: number
  insyncAt: number
  comment?: string
}

interface State {
  zones: Map<string, Zone>
  changes: Map<string, Change>
  /** Caller references stay used after their zone is deleted, as in AWS. */
  callerReferences: Set<string>
}

type Handler = (ctx: Ctx) => EmulatorResponse

interface Ctx {
  cloud: Cloud
  state: State
  req: EmulatorRequest
  params: Record<string, string>
}

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

function newId(cloud: Cloud, prefix: string): string {
  let id = `${prefix}0`
  for (let i = 0; i < 19; i++) id += ID_CHARS[Math.floor(cloud.random() * ID_CHARS.length)] ?? 'A'
  return id
}

function bareId(id: string): string {
  return id.replace(/^\/?(hostedzone|change)\//, '')
}

function zoneOf(ctx: Ctx): Zone {
  const id = bareId(ctx.params.Id ?? '')
  const zone = ctx.state.zones.get(id)
  if (!zone) throw route53Error('NoSuchHostedZone', `No hosted zone found with ID: ${id}`)
  return zone
}

function newChange(ctx: Ctx, comment?: string): Change {
  const now = Date.now()
  const change: Change = { id: newId(ctx.cloud, 'C'), submittedAt: now, insyncAt: now + (ctx.cloud.simulation.route53SyncMs ?? 0), comment }
  ctx.state.changes.set(change.id, change)
  return change
}

function changeStatus(change: Change): string {
  return Date.now() >= change.insyncAt ? 'INSYNC' : 'PENDING'
}

function changeInfoXml(change: Change, status = changeStatus(change)): string {
  return el(
    'ChangeInfo',
    leaf('Id', `/change/${change.id}`),
    leaf('Status', status),
    leaf('SubmittedAt', new Date(change.submittedAt).toISOString()),
    leaf('Comment', change.comment)
  )
}

function zoneXml(zone: Zone): string {
  return el(
    'HostedZone',
    leaf('Id', `/hostedzone/${zone.id}`),
    leaf('Name', zone.name),
    leaf('CallerReference', zone.callerReference),
    el('Config', leaf('Comment', zone.comment), leaf('PrivateZone', true)),
    leaf('ResourceRecordSetCount', zone.records.size)
  )
}

function vpcXml(vpc: VpcRef): string {
  return el('VPC', leaf('VPCRegion', vpc.region), leaf('VPCId', vpc.vpcId))
}

function recordXml(r: RecordSet): string {
  return el(
    'ResourceRecordSet',
    leaf('Name', r.name),
    leaf('Type', r.type),
    leaf('SetIdentifier', r.setIdentifier),
    leaf('Weight', r.weight),
    leaf('TTL', r.ttl),
    r.values.length > 0 ? list('ResourceRecords', r.values, (v) => el('ResourceRecord', leaf('Value', v))) : undefined,
    r.alias
      ? el('AliasTarget', leaf('HostedZoneId', r.alias.hostedZoneId), leaf('DNSName', r.alias.dnsName), leaf('EvaluateTargetHealth', r.alias.evaluateTargetHealth))
      : undefined
  )
}

function body(req: EmulatorRequest): XmlElement {
  try {
    return parseXml(req.body.toString('utf8'))
  } catch {
    throw route53Error('InvalidInput', 'Invalid XML ; the request body could not be parsed')
  }
}

function checkVpc(cloud: Cloud, vpc: VpcRef | undefined): VpcRef {
  if (!vpc?.vpcId) throw route53Error('InvalidInput', 'This operation requires a VPC for a private hosted zone (the emulator supports private zones only).')
  const known = cloud.shared.vpcs.get(vpc.vpcId)
  if (!known || known.region !== vpc.region) throw route53Error('InvalidVPCId', `The VPC ${vpc.vpcId} in ${vpc.region} could not be found.`)
  if (!known.enableDnsSupport || !known.enableDnsHostnames) {
    throw route53Error('InvalidVPCId', `To use private hosted zones, the VPC ${vpc.vpcId} must have enableDnsHostnames and enableDnsSupport set to true.`)
  }
  return vpc
}

function apexRecords(name: string): RecordSet[] {
  return [
    { name, type: 'SOA', ttl: 900, values: ['ns-1536.awsdns-00.co.uk. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400'] },
    { name, type: 'NS', ttl: 172800, values: ['ns-1536.awsdns-00.co.uk.', 'ns-0.awsdns-00.com.', 'ns-1024.awsdns-00.org.', 'ns-512.awsdns-00.net.'] }
  ]
}

const createHostedZone: Handler = (ctx) => {
  const doc = body(ctx.req)
  const name = childText(doc, 'Name')
  const callerReference = childText(doc, 'CallerReference')
  if (!name || !callerReference) throw route53Error('InvalidInput', 'Name and CallerReference are required')
  if (ctx.state.callerReferences.has(callerReference)) {
    throw route53Error('HostedZoneAlreadyExists', `A hosted zone has already been created with the specified caller reference.`)
  }
  const vpcNode = child(doc, 'VPC')
  const vpc = checkVpc(ctx.cloud, vpcNode && { vpcId: childText(vpcNode, 'VPCId') ?? '', region: childText(vpcNode, 'VPCRegion') ?? '' })
  const zoneName = normaliseName(name)
  if (nameProblem(zoneName) || !/^[a-z0-9_.-]+$/.test(zoneName)) throw route53Error('InvalidDomainName', `${name} is not a valid domain name.`)
  const twin = [...ctx.state.zones.values()].find((z) => z.name === zoneName && z.vpcs.some((v) => v.vpcId === vpc.vpcId))
  if (twin) {
    throw route53Error('ConflictingDomainExists', `The VPC ${vpc.vpcId} in region ${vpc.region} has already been associated with the hosted zone ${twin.id} with the same domain name.`)
  }
  const zone: Zone = {
    id: newId(ctx.cloud, 'Z'),
    name: zoneName,
    callerReference,
    comment: childText(child(doc, 'HostedZoneConfig'), 'Comment'),
    vpcs: [vpc],
    records: new Map(apexRecords(zoneName).map((r) => [recordKey(r), r])),
    lastChangeId: ''
  }
  const change = newChange(ctx, undefined)
  zone.lastChangeId = change.id
  ctx.state.zones.set(zone.id, zone)
  ctx.state.callerReferences.add(callerReference)
  const xml = xmlDocument('CreateHostedZoneResponse', NS, zoneXml(zone), changeInfoXml(change, 'PENDING'), vpcXml(vpc))
  return xmlResponse(xml, 201, { location: `https://route53.amazonaws.com${V}/hostedzone/${zone.id}` })
}

const getHostedZone: Handler = (ctx) => {
  const zone = zoneOf(ctx)
  return xmlResponse(xmlDocument('GetHostedZoneResponse', NS, zoneXml(zone), list('VPCs', zone.vpcs, vpcXml)))
}

const deleteHostedZone: Handler = (ctx) => {
  const zone = zoneOf(ctx)
  const extra = [...zone.records.values()].some((r) => r.name !== zone.name || (r.type !== 'SOA' && r.type !== 'NS'))
  if (extra) throw route53Error('HostedZoneNotEmpty', 'The hosted zone contains resource record sets in addition to the default NS and SOA resource record sets. Before you can delete the hosted zone, you must delete the additional resource record sets.')
  ctx.state.zones.delete(zone.id)
  const change = newChange(ctx)
  return xmlResponse(xmlDocument('DeleteHostedZoneResponse', NS, changeInfoXml(change, 'PENDING')))
}

function maxItems(req: EmulatorRequest, fallback: number): number {
  const raw = req.query.get('maxitems')
  if (raw === null) return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1) throw route53Error('InvalidInput', `1 validation error detected: Value '${raw}' at 'maxItems' failed to satisfy constraint: Member must be a positive integer`)
  return n
}

function sortedZones(state: State): Zone[] {
  return [...state.zones.values()].sort((a, b) => compareNames(a.name, b.name) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

const listHostedZones: Handler = (ctx) => {
  const max = maxItems(ctx.req, 100)
  const zones = sortedZones(ctx.state)
  const marker = ctx.req.query.get('marker')
  const start = marker ? Math.max(0, zones.findIndex((z) => z.id === marker)) : 0
  const page = zones.slice(start, start + max)
  const next = zones[start + max]
  const xml = xmlDocument(
    'ListHostedZonesResponse',
    NS,
    list('HostedZones', page, zoneXml),
    leaf('Marker', marker ?? undefined),
    leaf('IsTruncated', next !== undefined),
    leaf('NextMarker', next?.id),
    leaf('MaxItems', max)
  )
  return xmlResponse(xml)
}

const listHostedZonesByName: Handler = (ctx) => {
  const max = maxItems(ctx.req, 100)
  const dnsName = ctx.req.query.get('dnsname') ?? undefined
  const zoneId = ctx.req.query.get('hostedzoneid') ?? undefined
  if (zoneId && !dnsName) throw route53Error('InvalidInput', 'The input is not valid: HostedZoneId requires DNSName.')
  const zones = sortedZones(ctx.state)
  const wanted = dnsName === undefined ? undefined : normaliseName(dnsName)
  const start = wanted === undefined ? 0 : zones.findIndex((z) => compareNames(z.name, wanted) > 0 || (z.name === wanted && (!zoneId || z.id >= bareId(zoneId))))
  const begin = start < 0 ? zones.length : start
  const page = zones.slice(begin, begin + max)
  const next = zones[begin + max]
  const xml = xmlDocument(
    'ListHostedZonesByNameResponse',
    NS,
    list('HostedZones', page, zoneXml),
    leaf('DNSName', dnsName),
    leaf('HostedZoneId', zoneId),
    leaf('IsTruncated', next !== undefined),
    leaf('NextDNSName', next?.name),
    leaf('NextHostedZoneId', next?.id),
    leaf('MaxItems', max)
  )
  return xmlResponse(xml)
}

const listHostedZonesByVpc: Handler = (ctx) => {
  const vpcId = ctx.req.query.get('vpcid')
  const region = ctx.req.query.get('vpcregion')
  if (!vpcId || !region) throw route53Error('InvalidInput', 'VPCId and VPCRegion are required')
  const max = maxItems(ctx.req, 100)
  const all = sortedZones(ctx.state).filter((z) => z.vpcs.some((v) => v.vpcId === vpcId && v.region === region))
  const token = ctx.req.query.get('nexttoken')
  const start = token ? Number(token) || 0 : 0
  const page = all.slice(start, start + max)
  const summary = (z: Zone): string =>
    el('HostedZoneSummary', leaf('HostedZoneId', z.id), leaf('Name', z.name), el('Owner', leaf('OwningAccount', ctx.cloud.accountId)))
  const xml = xmlDocument(
    'ListHostedZonesByVPCResponse',
    NS,
    list('HostedZoneSummaries', page, summary),
    leaf('MaxItems', max),
    leaf('NextToken', start + max < all.length ? String(start + max) : undefined)
  )
  return xmlResponse(xml)
}

function parseRecord(node: XmlElement | undefined): RecordSet {
  const ttl = childText(node, 'TTL')
  const weight = childText(node, 'Weight')
  const alias = child(node, 'AliasTarget')
  return {
    name: normaliseName(childText(node, 'Name') ?? ''),
    type: (childText(node, 'Type') ?? '').toUpperCase(),
    ttl: ttl === undefined ? undefined : Number(ttl),
    values: childrenNamed(child(node, 'ResourceRecords'), 'ResourceRecord').map((r) => childText(r, 'Value') ?? ''),
    setIdentifier: childText(node, 'SetIdentifier'),
    weight: weight === undefined ? undefined : Number(weight),
    alias: alias && {
      hostedZoneId: childText(alias, 'HostedZoneId') ?? '',
      dnsName: normaliseName(childText(alias, 'DNSName') ?? ''),
      evaluateTargetHealth: childText(alias, 'EvaluateTargetHealth') === 'true'
    }
  }
}

function parseChanges(doc: XmlElement): { changes: RecordChange[]; comment?: string } {
  const batch = child(doc, 'ChangeBatch')
  const changes = childrenNamed(child(batch, 'Changes'), 'Change').map((c) => ({
    action: childText(c, 'Action') ?? '',
    record: parseRecord(child(c, 'ResourceRecordSet'))
  }))
  if (changes.length === 0) throw route53Error('InvalidInput', "1 validation error detected: Value '[]' at 'changeBatch.changes' failed to satisfy constraint: Member must have length greater than or equal to 1")
  return { changes, comment: childText(batch, 'Comment') }
}

const changeResourceRecordSets: Handler = (ctx) => {
  const zone = zoneOf(ctx)
  const { changes, comment } = parseChanges(body(ctx.req))
  const previous = ctx.state.changes.get(zone.lastChangeId)
  if (ctx.cloud.faults.route53OneChangeAtATime && previous && changeStatus(previous) === 'PENDING') {
    throw route53Error('PriorRequestNotComplete', 'The request was rejected because Route 53 was still processing a prior request.')
  }
  zone.records = applyBatch(zone.records, changes, zone.name)
  const change = newChange(ctx, comment)
  zone.lastChangeId = change.id
  return xmlResponse(xmlDocument('ChangeResourceRecordSetsResponse', NS, changeInfoXml(change, 'PENDING')))
}

const listResourceRecordSets: Handler = (ctx) => {
  const zone = zoneOf(ctx)
  const name = ctx.req.query.get('name') ?? undefined
  const type = ctx.req.query.get('type') ?? undefined
  if (type && !name) throw route53Error('InvalidInput', 'The input is not valid: StartRecordType requires StartRecordName.')
  const max = maxItems(ctx.req, 300)
  const page = pageRecords(zone.records.values(), { name, type }, max)
  const xml = xmlDocument(
    'ListResourceRecordSetsResponse',
    NS,
    list('ResourceRecordSets', page.records, recordXml),
    leaf('IsTruncated', page.next !== undefined),
    leaf('NextRecordName', page.next?.name),
    leaf('NextRecordType', page.next?.type),
    leaf('NextRecordIdentifier', page.next?.setIdentifier),
    leaf('MaxItems', max)
  )
  return xmlResponse(xml)
}

const getChange: Handler = (ctx) => {
  const id = bareId(ctx.params.Id ?? '')
  const change = ctx.state.changes.get(id)
  if (!change) throw route53Error('NoSuchChange', `A change with the specified change ID does not exist: ${id}`)
  return xmlResponse(xmlDocument('GetChangeResponse', NS, changeInfoXml(change)))
}

const HANDLERS: Record<string, Handler> = {
  CreateHostedZone: createHostedZone,
  GetHostedZone: getHostedZone,
  DeleteHostedZone: deleteHostedZone,
  ListHostedZones: listHostedZones,
  ListHostedZonesByName: listHostedZonesByName,
  ListHostedZonesByVPC: listHostedZonesByVpc,
  ChangeResourceRecordSets: changeResourceRecordSets,
  ListResourceRecordSets: listResourceRecordSets,
  GetChange: getChange
}

function route(req: EmulatorRequest): { operation: string; params: Record<string, string> } {
  const match = matchRoute(ROUTES, req.method, req.path)
  if (!match) throw route53Error('UnknownOperationException', `The emulator's Route 53 does not implement ${req.method} ${req.path}`)
  return match
}

function dumpState(state: State): unknown {
  return [...state.zones.values()].map((z) => ({ id: z.id, name: z.name, vpcs: z.vpcs, records: [...z.records.values()] }))
}

export function createRoute53(cloud: Cloud): ServiceModule {
  const state: State = { zones: new Map(), changes: new Map(), callerReferences: new Set() }
  return {
    signingName: 'route53',
    throttleCode: 'Throttling',
    serverErrorCode: 'InternalError',
    errors: ROUTE53_ERRORS,
    operation: (req) => route(req).operation,
    async handle(operation, req) {
      const { params } = route(req)
      const handler = HANDLERS[operation]
      if (!handler) throw route53Error('UnknownOperationException', `Unknown operation ${operation}`)
      return handler({ cloud, state, req, params })
    },
    error: (err) => xmlError(err, NS, err instanceof InvalidChangeBatchError ? err.messages : undefined),
    state: () => dumpState(state)
  }
}
