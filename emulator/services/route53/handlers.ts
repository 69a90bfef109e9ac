/** Route 53's operations, one row each: public and private hosted zones, record sets and changes. */
import type {
  AssociateVPCWithHostedZoneRequest,
  AssociateVPCWithHostedZoneResponse,
  ChangeInfo,
  DelegationSet,
  ChangeResourceRecordSetsRequest,
  ChangeResourceRecordSetsResponse,
  CreateHostedZoneRequest,
  CreateHostedZoneResponse,
  DeleteHostedZoneRequest,
  DeleteHostedZoneResponse,
  DisassociateVPCFromHostedZoneRequest,
  DisassociateVPCFromHostedZoneResponse,
  GetChangeRequest,
  GetChangeResponse,
  GetHostedZoneRequest,
  GetHostedZoneResponse,
  HostedZone,
  ListHostedZonesByNameRequest,
  ListHostedZonesByNameResponse,
  ListHostedZonesByVPCRequest,
  ListHostedZonesByVPCResponse,
  ListHostedZonesRequest,
  ListHostedZonesResponse,
  ListResourceRecordSetsRequest,
  ListResourceRecordSetsResponse,
  ResourceRecordSet,
  VPC
} from '@aws-sdk/client-route-53'
import type { Cloud } from '../../types.js'
import type { RestContext, RestHandler } from '../../protocols/rest.js'
import { aliasChecker } from './alias.js'
import { route53Error } from './errors.js'
import {
  apexRecords,
  bareId,
  changeStatus,
  delegationSet,
  newChange,
  newId,
  type Change,
  type Route53State,
  type VpcRef,
  type Zone
} from './model.js'
import {
  applyBatch,
  compareNames,
  nameProblem,
  normaliseName,
  pageRecords,
  recordKey,
  type RecordChange,
  type RecordSet
} from './records.js'

function changeInfo(change: Change, status = changeStatus(change)): ChangeInfo {
  return {
    Id: `/change/${change.id}`,
    Status: status,
    SubmittedAt: new Date(change.submittedAt),
    Comment: change.comment
  }
}

function hostedZone(zone: Zone): HostedZone {
  return {
    Id: `/hostedzone/${zone.id}`,
    Name: zone.name,
    CallerReference: zone.callerReference,
    Config: { Comment: zone.comment, PrivateZone: zone.private },
    ResourceRecordSetCount: zone.records.size
  }
}

function delegation(zone: Zone): DelegationSet {
  return { NameServers: zone.nameServers }
}

function vpc(ref: VpcRef): VPC {
  return { VPCRegion: ref.region as VPC['VPCRegion'], VPCId: ref.vpcId }
}

function resourceRecordSet(r: RecordSet): ResourceRecordSet {
  return {
    Name: r.name,
    Type: r.type as ResourceRecordSet['Type'],
    SetIdentifier: r.setIdentifier,
    Weight: r.weight,
    TTL: r.ttl,
    ...(r.values.length > 0 ? { ResourceRecords: r.values.map((Value) => ({ Value })) } : {}),
    ...(r.alias
      ? {
          AliasTarget: {
            HostedZoneId: r.alias.hostedZoneId,
            DNSName: r.alias.dnsName,
            EvaluateTargetHealth: r.alias.evaluateTargetHealth
          }
        }
      : {})
  }
}

function recordSet(r: ResourceRecordSet | undefined): RecordSet {
  const alias = r?.AliasTarget
  return {
    name: normaliseName(r?.Name ?? ''),
    type: (r?.Type ?? '').toUpperCase(),
    ttl: r?.TTL,
    values: (r?.ResourceRecords ?? []).map((v) => v.Value ?? ''),
    setIdentifier: r?.SetIdentifier,
    weight: r?.Weight,
    alias: alias && {
      hostedZoneId: alias.HostedZoneId ?? '',
      dnsName: normaliseName(alias.DNSName ?? ''),
      evaluateTargetHealth: alias.EvaluateTargetHealth === true
    }
  }
}

function checkVpc(cloud: Cloud, ref: VpcRef | undefined): VpcRef {
  if (!ref?.vpcId) throw route53Error('InvalidInput', 'The input is not valid: a VPC must be specified.')
  const known = cloud.shared.vpcs.get(ref.vpcId)
  if (!known || known.region !== ref.region)
    throw route53Error('InvalidVPCId', `The VPC ${ref.vpcId} in ${ref.region} could not be found.`)
  if (!known.enableDnsSupport || !known.enableDnsHostnames) {
    throw route53Error(
      'InvalidVPCId',
      `To use private hosted zones, the VPC ${ref.vpcId} must have enableDnsHostnames and enableDnsSupport set to true.`
    )
  }
  return ref
}

/** MaxItems as given (a positive integer), else the operation's default. */
function maxItems(ctx: RestContext, fallback: number): number {
  const raw = ctx.req.query.get('maxitems')
  if (raw === null) return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1)
    throw route53Error(
      'InvalidInput',
      `1 validation error detected: Value '${raw}' at 'maxItems' failed to satisfy constraint: Member must be a positive integer`
    )
  return n
}

function sortedZones(state: Route53State): Zone[] {
  return [...state.zones.values()].sort(
    (a, b) => compareNames(a.name, b.name) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  )
}

export function handlers(cloud: Cloud, state: Route53State): Record<string, RestHandler> {
  const zoneOf = (id: string | undefined): Zone => {
    const bare = bareId(id ?? '')
    const zone = state.zones.get(bare)
    if (!zone) throw route53Error('NoSuchHostedZone', `No hosted zone found with ID: ${bare}`)
    return zone
  }
  return {
    // a zone created with a VPC is private (no delegation set); without one it is public
    CreateHostedZone: (
      input: CreateHostedZoneRequest
    ): Omit<CreateHostedZoneResponse, 'DelegationSet'> & { DelegationSet?: DelegationSet } => {
      const { Name: name, CallerReference: callerReference } = input
      if (!name || !callerReference) throw route53Error('InvalidInput', 'Name and CallerReference are required')
      if (state.callerReferences.has(callerReference)) {
        throw route53Error(
          'HostedZoneAlreadyExists',
          'A hosted zone has already been created with the specified caller reference.'
        )
      }
      const isPrivate = input.VPC !== undefined
      if (!isPrivate && input.HostedZoneConfig?.PrivateZone === true)
        throw route53Error('InvalidInput', 'The input is not valid: a private hosted zone requires a VPC.')
      const ref = isPrivate
        ? checkVpc(cloud, { vpcId: input.VPC?.VPCId ?? '', region: input.VPC?.VPCRegion ?? '' })
        : undefined
      const zoneName = normaliseName(name)
      if (nameProblem(zoneName) || !/^[a-z0-9_.-]+$/.test(zoneName))
        throw route53Error('InvalidDomainName', `${name} is not a valid domain name.`)
      const twin =
        ref && [...state.zones.values()].find((z) => z.name === zoneName && z.vpcs.some((v) => v.vpcId === ref.vpcId))
      if (ref && twin) {
        throw route53Error(
          'ConflictingDomainExists',
          `The VPC ${ref.vpcId} in region ${ref.region} has already been associated with the hosted zone ${twin.id} with the same domain name.`
        )
      }
      const nameServers = isPrivate ? [] : delegationSet(cloud)
      const zone: Zone = {
        id: newId(cloud, 'Z'),
        name: zoneName,
        callerReference,
        comment: input.HostedZoneConfig?.Comment,
        private: isPrivate,
        nameServers,
        vpcs: ref ? [ref] : [],
        records: new Map(apexRecords(zoneName, nameServers).map((r) => [recordKey(r), r])),
        lastChangeId: ''
      }
      const change = newChange(cloud, state)
      zone.lastChangeId = change.id
      state.zones.set(zone.id, zone)
      state.callerReferences.add(callerReference)
      return {
        HostedZone: hostedZone(zone),
        ChangeInfo: changeInfo(change, 'PENDING'),
        ...(ref ? { VPC: vpc(ref) } : { DelegationSet: delegation(zone) }),
        Location: `https://route53.amazonaws.com/2013-04-01/hostedzone/${zone.id}`
      }
    },
    // A VPC can hold one zone of a name; the same VPC twice is a conflict too (AWS answers the same).
    AssociateVPCWithHostedZone: (input: AssociateVPCWithHostedZoneRequest): AssociateVPCWithHostedZoneResponse => {
      const zone = zoneOf(input.HostedZoneId)
      if (!zone.private)
        throw route53Error(
          'PublicZoneVPCAssociation',
          "You're trying to associate a VPC with a public hosted zone. Amazon Route 53 doesn't support associating a VPC with a public hosted zone."
        )
      const ref = checkVpc(cloud, input.VPC && { vpcId: input.VPC.VPCId ?? '', region: input.VPC.VPCRegion ?? '' })
      const twin = [...state.zones.values()].find(
        (z) => z.name === zone.name && z.vpcs.some((v) => v.vpcId === ref.vpcId)
      )
      if (twin) {
        throw route53Error(
          'ConflictingDomainExists',
          `The VPC ${ref.vpcId} in region ${ref.region} has already been associated with the hosted zone ${twin.id} with the same domain name.`
        )
      }
      zone.vpcs.push(ref)
      const change = newChange(cloud, state)
      zone.lastChangeId = change.id
      return { ChangeInfo: changeInfo(change, 'PENDING') }
    },
    DisassociateVPCFromHostedZone: (
      input: DisassociateVPCFromHostedZoneRequest
    ): DisassociateVPCFromHostedZoneResponse => {
      const zone = zoneOf(input.HostedZoneId)
      const vpcId = input.VPC?.VPCId ?? ''
      const at = zone.vpcs.findIndex((v) => v.vpcId === vpcId && v.region === input.VPC?.VPCRegion)
      if (at < 0)
        throw route53Error(
          'VPCAssociationNotFound',
          `The specified VPC ${vpcId} is not associated with the hosted zone ${zone.id}.`
        )
      if (zone.vpcs.length === 1)
        throw route53Error(
          'LastVPCAssociation',
          'The VPC that you are trying to disassociate from the private hosted zone is the last VPC that is associated with the hosted zone.'
        )
      zone.vpcs.splice(at, 1)
      const change = newChange(cloud, state)
      zone.lastChangeId = change.id
      return { ChangeInfo: changeInfo(change, 'PENDING') }
    },
    GetHostedZone: (input: GetHostedZoneRequest): GetHostedZoneResponse => {
      const zone = zoneOf(input.Id)
      return zone.private
        ? { HostedZone: hostedZone(zone), VPCs: zone.vpcs.map(vpc) }
        : { HostedZone: hostedZone(zone), DelegationSet: delegation(zone) }
    },
    DeleteHostedZone: (input: DeleteHostedZoneRequest): DeleteHostedZoneResponse => {
      const zone = zoneOf(input.Id)
      const extra = [...zone.records.values()].some(
        (r) => r.name !== zone.name || (r.type !== 'SOA' && r.type !== 'NS')
      )
      if (extra) {
        throw route53Error(
          'HostedZoneNotEmpty',
          'The hosted zone contains resource record sets in addition to the default NS and SOA resource record sets. Before you can delete the hosted zone, you must delete the additional resource record sets.'
        )
      }
      state.zones.delete(zone.id)
      return { ChangeInfo: changeInfo(newChange(cloud, state), 'PENDING') }
    },
    ListHostedZones: (input: ListHostedZonesRequest, ctx: RestContext): ListHostedZonesResponse => {
      const max = maxItems(ctx, 100)
      // HostedZoneType PrivateHostedZone lists the private zones only
      const zones = sortedZones(state).filter((z) => input.HostedZoneType !== 'PrivateHostedZone' || z.private)
      const marker = input.Marker
      const start = marker
        ? Math.max(
            0,
            zones.findIndex((z) => z.id === marker)
          )
        : 0
      const next = zones[start + max]
      return {
        HostedZones: zones.slice(start, start + max).map(hostedZone),
        Marker: marker,
        IsTruncated: next !== undefined,
        NextMarker: next?.id,
        MaxItems: max
      }
    },
    ListHostedZonesByName: (input: ListHostedZonesByNameRequest, ctx: RestContext): ListHostedZonesByNameResponse => {
      const max = maxItems(ctx, 100)
      const { DNSName: dnsName, HostedZoneId: zoneId } = input
      if (zoneId && !dnsName)
        throw route53Error('InvalidInput', 'The input is not valid: HostedZoneId requires DNSName.')
      const zones = sortedZones(state)
      const wanted = dnsName === undefined ? undefined : normaliseName(dnsName)
      const start =
        wanted === undefined
          ? 0
          : zones.findIndex(
              (z) => compareNames(z.name, wanted) > 0 || (z.name === wanted && (!zoneId || z.id >= bareId(zoneId)))
            )
      const begin = start < 0 ? zones.length : start
      const next = zones[begin + max]
      return {
        HostedZones: zones.slice(begin, begin + max).map(hostedZone),
        DNSName: dnsName,
        HostedZoneId: zoneId,
        IsTruncated: next !== undefined,
        NextDNSName: next?.name,
        NextHostedZoneId: next?.id,
        MaxItems: max
      }
    },
    ListHostedZonesByVPC: (input: ListHostedZonesByVPCRequest, ctx: RestContext): ListHostedZonesByVPCResponse => {
      const { VPCId: vpcId, VPCRegion: region } = input
      if (!vpcId || !region) throw route53Error('InvalidInput', 'VPCId and VPCRegion are required')
      const max = maxItems(ctx, 100)
      const all = sortedZones(state).filter((z) => z.vpcs.some((v) => v.vpcId === vpcId && v.region === region))
      const start = input.NextToken ? Number(input.NextToken) || 0 : 0
      return {
        HostedZoneSummaries: all
          .slice(start, start + max)
          .map((z) => ({ HostedZoneId: z.id, Name: z.name, Owner: { OwningAccount: cloud.accountId } })),
        MaxItems: max,
        NextToken: start + max < all.length ? String(start + max) : undefined
      }
    },
    ChangeResourceRecordSets: (input: ChangeResourceRecordSetsRequest): ChangeResourceRecordSetsResponse => {
      const zone = zoneOf(input.HostedZoneId)
      const changes: RecordChange[] = (input.ChangeBatch?.Changes ?? []).map((c) => ({
        action: c.Action ?? '',
        record: recordSet(c.ResourceRecordSet)
      }))
      if (changes.length === 0) {
        throw route53Error(
          'InvalidInput',
          "1 validation error detected: Value '[]' at 'changeBatch.changes' failed to satisfy constraint: Member must have length greater than or equal to 1"
        )
      }
      const previous = state.changes.get(zone.lastChangeId)
      if (cloud.faults.route53OneChangeAtATime && previous && changeStatus(previous) === 'PENDING') {
        throw route53Error(
          'PriorRequestNotComplete',
          'The request was rejected because Route 53 was still processing a prior request.'
        )
      }
      zone.records = applyBatch(zone.records, changes, zone.name, aliasChecker(cloud, state, zone))
      const change = newChange(cloud, state, input.ChangeBatch?.Comment)
      zone.lastChangeId = change.id
      return { ChangeInfo: changeInfo(change, 'PENDING') }
    },
    ListResourceRecordSets: (
      input: ListResourceRecordSetsRequest,
      ctx: RestContext
    ): ListResourceRecordSetsResponse => {
      const zone = zoneOf(input.HostedZoneId)
      const { StartRecordName: name, StartRecordType: type } = input
      if (type && !name)
        throw route53Error('InvalidInput', 'The input is not valid: StartRecordType requires StartRecordName.')
      const max = maxItems(ctx, 300)
      const page = pageRecords(zone.records.values(), { name, type }, max)
      return {
        ResourceRecordSets: page.records.map(resourceRecordSet),
        IsTruncated: page.next !== undefined,
        NextRecordName: page.next?.name,
        NextRecordType: page.next?.type as ResourceRecordSet['Type'],
        NextRecordIdentifier: page.next?.setIdentifier,
        MaxItems: max
      }
    },
    GetChange: (input: GetChangeRequest): GetChangeResponse => {
      const id = bareId(input.Id ?? '')
      const change = state.changes.get(id)
      if (!change) throw route53Error('NoSuchChange', `A change with the specified change ID does not exist: ${id}`)
      return { ChangeInfo: changeInfo(change) }
    }
  }
}
