/**
 * EBS volumes: CreateVolume (creating -> available after simulation.volumeCreateDelayMs), DescribeVolumes,
 * DeleteVolume, AttachVolume (attaching -> attached after simulation.volumeAttachDelayMs), DetachVolume
 * (detaching -> available after the same delay), ModifyInstanceAttribute's BlockDeviceMappings (an
 * attachment's DeleteOnTermination) and the release of attachments when an instance terminates.
 */
import type {
  AttachVolumeRequest,
  CreateVolumeRequest,
  DeleteVolumeRequest,
  DescribeVolumesRequest,
  DescribeVolumesResult,
  DetachVolumeRequest,
  ModifyInstanceAttributeRequest,
  Volume,
  VolumeAttachment
} from '@aws-sdk/client-ec2'
import { background } from '../../core/background.js'
import { newId } from '../../core/ids.js'
import { AwsError } from '../../types.js'
import { ec2Error } from './errors.js'
import { matchesFilters, paginate, tagFilterValues, tagsFor, toTagList } from './filters.js'
import { findInstance } from './instances.js'
import { findSnapshot } from './snapshots.js'
import type { Ec2World, InstanceRecord, SnapshotRecord, VolumeAttachmentRecord, VolumeRecord } from './model.js'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Size limits in GiB per volume type (CreateVolume's Size). */
const SIZE_LIMITS: Record<string, [number, number]> = {
  gp2: [1, 16_384],
  gp3: [1, 65_536],
  io1: [4, 16_384],
  io2: [4, 65_536],
  st1: [125, 16_384],
  sc1: [125, 16_384],
  standard: [1, 1024]
}

/** Provisioned IOPS: the range, and the most IOPS per GiB. */
const IOPS_LIMITS: Record<string, { min: number; max: number; perGiB: number }> = {
  gp3: { min: 3000, max: 80_000, perGiB: 500 },
  io1: { min: 100, max: 64_000, perGiB: 50 },
  io2: { min: 100, max: 256_000, perGiB: 1000 }
}

const GP3_DEFAULT_IOPS = 3000
const GP3_DEFAULT_THROUGHPUT = 125
const GP3_THROUGHPUT: [number, number] = [125, 2000]
/** gp3: at most 0.25 MiB/s of throughput per provisioned IOPS. */
const GP3_THROUGHPUT_PER_IOPS = 0.25

const ROOT_DEVICE = '/dev/xvda'
const DEVICE_NAME = /^(\/dev\/)?(sd[a-z]\d{0,2}|xvd[a-z]{1,2}\d{0,2}|hd[a-z])$/

export function findVolume(world: Ec2World, region: string, volumeId: string): VolumeRecord {
  if (!/^vol-[0-9a-f]{8,17}$/.test(volumeId))
    throw ec2Error('InvalidVolumeID.Malformed', `Invalid id: "${volumeId}" (expecting "vol-...")`)
  const volume = world.volumes.get(volumeId)
  if (!volume || volume.region !== region)
    throw ec2Error('InvalidVolume.NotFound', `The volume '${volumeId}' does not exist.`)
  return volume
}

function toAttachment(v: VolumeRecord, a: VolumeAttachmentRecord): VolumeAttachment {
  return {
    VolumeId: v.volumeId,
    InstanceId: a.instanceId,
    Device: a.device,
    State: a.state,
    AttachTime: new Date(a.attachTime),
    DeleteOnTermination: a.deleteOnTermination
  }
}

/** gp2 has a baseline of 3 IOPS per GiB (100 at least, 16,000 at most), which DescribeVolumes reports. */
function reportedIops(v: VolumeRecord): number | undefined {
  if (v.iops !== undefined) return v.iops
  return v.volumeType === 'gp2' ? Math.min(16_000, Math.max(100, v.size * 3)) : undefined
}

export function toVolume(v: VolumeRecord): Volume {
  const iops = reportedIops(v)
  return {
    VolumeId: v.volumeId,
    Size: v.size,
    SnapshotId: v.snapshotId ?? '',
    AvailabilityZone: v.availabilityZone,
    State: v.state,
    CreateTime: new Date(v.createdAt),
    Attachments: v.attachment ? [toAttachment(v, v.attachment)] : [],
    VolumeType: v.volumeType as Volume['VolumeType'],
    ...(iops !== undefined ? { Iops: iops } : {}),
    ...(v.throughput !== undefined ? { Throughput: v.throughput } : {}),
    Encrypted: v.encrypted,
    ...(v.kmsKeyId ? { KmsKeyId: v.kmsKeyId } : {}),
    MultiAttachEnabled: false,
    Tags: toTagList(v.tags)
  }
}

function inRange(value: number, [min, max]: [number, number]): boolean {
  return Number.isInteger(value) && value >= min && value <= max
}

/** Iops and Throughput after AWS's rules for the type: gp3's defaults, io1/io2's required IOPS, ratios. */
function performance(type: string, size: number, input: CreateVolumeRequest): { iops?: number; throughput?: number } {
  const limits = IOPS_LIMITS[type]
  if (!limits && input.Iops !== undefined)
    throw ec2Error('InvalidParameterCombination', `The parameter iops is not supported for ${type} volumes.`)
  if (type !== 'gp3' && input.Throughput !== undefined)
    throw ec2Error('InvalidParameterCombination', `The parameter throughput is not supported for ${type} volumes.`)
  if (!limits) return {}
  if (input.Iops === undefined && type !== 'gp3')
    throw ec2Error('MissingParameter', `The request must contain the parameter iops for ${type} volumes.`)
  const iops = input.Iops ?? GP3_DEFAULT_IOPS
  if (!inRange(iops, [limits.min, limits.max]))
    throw ec2Error(
      'InvalidParameterValue',
      `Value (${iops}) for parameter iops is invalid. Expecting a value between ${limits.min} and ${limits.max} for ${type} volumes.`
    )
  if (input.Iops !== undefined && iops > size * limits.perGiB)
    throw ec2Error(
      'InvalidParameterValue',
      `Iops to volume size ratio of ${iops / size} is too high; maximum is ${limits.perGiB}.`
    )
  if (type !== 'gp3') return { iops }
  const throughput = input.Throughput ?? GP3_DEFAULT_THROUGHPUT
  if (!inRange(throughput, GP3_THROUGHPUT))
    throw ec2Error(
      'InvalidParameterValue',
      `Value (${throughput}) for parameter throughput is invalid. Expecting a value between ${GP3_THROUGHPUT[0]} and ${GP3_THROUGHPUT[1]}.`
    )
  if (throughput > iops * GP3_THROUGHPUT_PER_IOPS)
    throw ec2Error(
      'InvalidParameterValue',
      `Throughput (MiBps) to iops ratio of ${throughput / iops} is too high; maximum is ${GP3_THROUGHPUT_PER_IOPS} MiBps per iops.`
    )
  return { iops, throughput }
}

function checkZone(world: Ec2World, region: string, zone: string | undefined): string {
  if (!zone) throw ec2Error('MissingParameter', 'The request must contain the parameter AvailabilityZone')
  world.network.ensureRegion(region)
  const zones = new Set(world.network.subnetsIn(region).map((s) => s.availabilityZone))
  if (!zones.has(zone)) throw ec2Error('InvalidParameterValue', `Invalid availability zone: [${zone}]`)
  return zone
}

function checkTagSpecifications(specs: CreateVolumeRequest['TagSpecifications'], type: string): void {
  for (const spec of specs ?? [])
    if (spec.ResourceType !== type)
      throw ec2Error(
        'InvalidParameterValue',
        `'${String(spec.ResourceType)}' is not a valid taggable resource type for this operation.`
      )
}

/** JSON with every object's keys sorted, so that equal requests compare equal. */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`
  if (value && typeof value === 'object')
    return `{${Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${sortedJson(v)}`)
      .join(',')}}`
  return JSON.stringify(value) ?? 'null'
}

/** The request as ClientToken idempotency compares it: every parameter but the token and DryRun. */
function canonical(input: CreateVolumeRequest): string {
  const rest: Record<string, unknown> = { ...input }
  delete rest.ClientToken
  delete rest.DryRun
  return sortedJson(rest)
}

export function createVolume(world: Ec2World, region: string, input: CreateVolumeRequest): Volume {
  const token = input.ClientToken ? world.volumeTokens.get(`${region}|${input.ClientToken}`) : undefined
  if (token) {
    if (token.request !== canonical(input))
      throw ec2Error(
        'IdempotentParameterMismatch',
        'The client token you have provided is associated with a resource that is already deleted or has different parameters.'
      )
    return toVolume(token.volume)
  }
  const zone = checkZone(world, region, input.AvailabilityZone)
  const type = input.VolumeType ?? 'gp2'
  const sizes = SIZE_LIMITS[type]
  if (!sizes) throw ec2Error('InvalidParameterValue', `The volume type '${type}' is not valid.`)
  checkTagSpecifications(input.TagSpecifications, 'volume')
  const snapshot = input.SnapshotId ? findSnapshotFor(world, region, input.SnapshotId) : undefined
  if (input.Size === undefined && !snapshot)
    throw ec2Error('MissingParameter', 'The request must contain the parameter size or snapshotId')
  const size = input.Size ?? snapshot?.volumeSize ?? 0
  if (!inRange(size, sizes))
    throw ec2Error(
      'InvalidParameterValue',
      `Volume of ${size}GiB is not valid for volume type ${type}: valid sizes are ${sizes[0]} to ${sizes[1]} GiB.`
    )
  if (snapshot && size < snapshot.volumeSize)
    throw ec2Error(
      'InvalidParameterValue',
      `Volume of ${size}GiB is too small; minimum is ${snapshot.volumeSize}GiB (the size of ${snapshot.snapshotId}).`
    )
  if (input.KmsKeyId && input.Encrypted !== true && !snapshot?.encrypted)
    throw ec2Error('InvalidParameterDependency', 'The parameter KmsKeyId requires the parameter Encrypted to be set.')
  const encrypted = input.Encrypted === true || snapshot?.encrypted === true
  const kmsKeyId = encrypted ? (input.KmsKeyId ?? snapshot?.kmsKeyId ?? defaultEbsKey(world, region)) : undefined
  const volume: VolumeRecord = {
    volumeId: newId(world.cloud, 'vol-'),
    region,
    availabilityZone: zone,
    size,
    volumeType: type,
    ...performance(type, size, input),
    encrypted,
    ...(kmsKeyId ? { kmsKeyId } : {}),
    ...(snapshot ? { snapshotId: snapshot.snapshotId } : {}),
    state: 'creating',
    createdAt: Date.now(),
    tags: tagsFor(input.TagSpecifications, 'volume'),
    data: { ...snapshot?.data }
  }
  world.volumes.set(volume.volumeId, volume)
  if (input.ClientToken) world.volumeTokens.set(`${region}|${input.ClientToken}`, { request: canonical(input), volume })
  background(
    world.cloud,
    `creation of ${volume.volumeId}`,
    sleep(world.cloud.simulation.volumeCreateDelayMs ?? 20).then(() => {
      if (volume.state === 'creating') volume.state = 'available'
    })
  )
  return toVolume(volume)
}

/** The account's AWS managed key for EBS (aws/ebs), as an ARN. */
function defaultEbsKey(world: Ec2World, region: string): string {
  return `arn:aws:kms:${region}:${world.cloud.accountId}:key/00000000-0000-4000-8000-0000000000eb`
}

function findSnapshotFor(world: Ec2World, region: string, snapshotId: string): SnapshotRecord {
  const snapshot = findSnapshot(world, region, snapshotId)
  if (snapshot.state !== 'completed')
    throw ec2Error('IncorrectState', `Snapshot '${snapshotId}' is in invalid state - ${snapshot.state}`)
  return snapshot
}

function volumeFilterValues(v: VolumeRecord, name: string): string[] | undefined {
  const a = v.attachment
  const simple: Record<string, string | undefined> = {
    'volume-id': v.volumeId,
    'volume-type': v.volumeType,
    'availability-zone': v.availabilityZone,
    status: v.state,
    size: String(v.size),
    encrypted: String(v.encrypted),
    'snapshot-id': v.snapshotId ?? '',
    'create-time': new Date(v.createdAt).toISOString(),
    'multi-attach-enabled': 'false',
    'attachment.instance-id': a?.instanceId,
    'attachment.status': a?.state,
    'attachment.device': a?.device,
    'attachment.delete-on-termination': a ? String(a.deleteOnTermination) : undefined,
    'attachment.attach-time': a ? new Date(a.attachTime).toISOString() : undefined
  }
  if (name in simple) {
    const value = simple[name]
    return value === undefined ? [] : [value]
  }
  return tagFilterValues(v.tags, name)
}

/** MaxResults between `min` and `max` (larger values are capped), never with a list of ids. */
export function pageSize(
  maxResults: number | undefined,
  ids: string[] | undefined,
  idsParameter: string,
  [min, max]: [number, number]
): number | undefined {
  if (maxResults === undefined) return undefined
  if (ids?.length)
    throw ec2Error(
      'InvalidParameterCombination',
      `The parameter ${idsParameter} cannot be used with the parameter maxResults`
    )
  if (!Number.isInteger(maxResults) || maxResults < min)
    throw ec2Error(
      'InvalidParameterValue',
      `Value ( ${maxResults} ) for parameter maxResults is invalid. Expecting a value greater than ${min - 1}.`
    )
  return Math.min(maxResults, max)
}

export function describeVolumes(world: Ec2World, region: string, input: DescribeVolumesRequest): DescribeVolumesResult {
  const size = pageSize(input.MaxResults, input.VolumeIds, 'volumeIds', [5, 500])
  const selected = input.VolumeIds?.length
    ? [...new Set(input.VolumeIds)].map((id) => findVolume(world, region, id))
    : [...world.volumes.values()].filter((v) => v.region === region)
  const matching = selected.filter((v) => matchesFilters(input.Filters, (n) => volumeFilterValues(v, n)))
  const { page, nextToken } = paginate(matching, size, input.NextToken)
  return { Volumes: page.map(toVolume), ...(nextToken ? { NextToken: nextToken } : {}) }
}

export function deleteVolume(world: Ec2World, region: string, input: DeleteVolumeRequest): void {
  const volume = findVolume(world, region, input.VolumeId ?? '')
  if (volume.attachment)
    throw ec2Error('VolumeInUse', `Volume ${volume.volumeId} is currently attached to ${volume.attachment.instanceId}`)
  if (volume.state === 'creating') throw ec2Error('IncorrectState', `The volume '${volume.volumeId}' is 'creating'.`)
  world.volumes.delete(volume.volumeId)
}

function attachedTo(world: Ec2World, instanceId: string): VolumeRecord[] {
  return [...world.volumes.values()].filter((v) => v.attachment?.instanceId === instanceId)
}

function normaliseDevice(device: string): string {
  return device.startsWith('/dev/') ? device : `/dev/${device}`
}

export function attachVolume(world: Ec2World, region: string, input: AttachVolumeRequest): VolumeAttachment {
  if (!input.VolumeId) throw ec2Error('MissingParameter', 'The request must contain the parameter volumeId')
  if (!input.InstanceId) throw ec2Error('MissingParameter', 'The request must contain the parameter instanceId')
  if (!input.Device) throw ec2Error('MissingParameter', 'The request must contain the parameter device')
  const volume = findVolume(world, region, input.VolumeId)
  const instance = findInstance(world, region, input.InstanceId)
  if (volume.attachment) throw ec2Error('VolumeInUse', `${volume.volumeId} is already attached to an instance`)
  if (volume.state !== 'available')
    throw ec2Error('IncorrectState', `The volume '${volume.volumeId}' is not 'available'.`)
  if (volume.availabilityZone !== instance.availabilityZone)
    throw ec2Error(
      'InvalidVolume.ZoneMismatch',
      `The volume '${volume.volumeId}' is not in the same availability zone as instance '${instance.instanceId}'`
    )
  if (instance.state !== 'running')
    throw ec2Error(
      'IncorrectInstanceState',
      `The instance '${instance.instanceId}' is not in the 'running' or 'stopped' state.`
    )
  if (!DEVICE_NAME.test(input.Device))
    throw ec2Error(
      'InvalidParameterValue',
      `Value (${input.Device}) for parameter device is invalid. ${input.Device} is not a valid EBS device name.`
    )
  const device = normaliseDevice(input.Device)
  if (device === ROOT_DEVICE || attachedTo(world, instance.instanceId).some((v) => v.attachment?.device === device))
    throw ec2Error(
      'InvalidParameterValue',
      `Invalid value '${input.Device}' for unixDevice. Attachment point ${input.Device} is already in use`
    )
  const attachment: VolumeAttachmentRecord = {
    instanceId: instance.instanceId,
    device,
    state: 'attaching',
    attachTime: Date.now(),
    deleteOnTermination: false
  }
  volume.attachment = attachment
  volume.state = 'in-use'
  background(
    world.cloud,
    `attachment of ${volume.volumeId}`,
    sleep(world.cloud.simulation.volumeAttachDelayMs ?? 20).then(() => {
      if (volume.attachment === attachment && attachment.state === 'attaching') attachment.state = 'attached'
    })
  )
  return toAttachment(volume, attachment)
}

function release(volume: VolumeRecord): void {
  delete volume.attachment
  volume.state = 'available'
}

export function detachVolume(world: Ec2World, region: string, input: DetachVolumeRequest): VolumeAttachment {
  const volume = findVolume(world, region, input.VolumeId ?? '')
  const attachment = volume.attachment
  if (!attachment) throw ec2Error('IncorrectState', `Volume '${volume.volumeId}' is in the 'available' state.`)
  if (input.InstanceId) findInstance(world, region, input.InstanceId)
  if (
    (input.InstanceId && input.InstanceId !== attachment.instanceId) ||
    (input.Device && normaliseDevice(input.Device) !== attachment.device)
  )
    throw ec2Error(
      'InvalidAttachment.NotFound',
      `The volume '${volume.volumeId}' is not attached to instance '${input.InstanceId ?? attachment.instanceId}' as device '${input.Device ?? attachment.device}'.`
    )
  if (attachment.state === 'detaching') {
    if (!input.Force) throw ec2Error('IncorrectState', `Volume '${volume.volumeId}' is already detaching.`)
    // a forced detachment of a volume stuck detaching completes at once
    const view = toAttachment(volume, attachment)
    release(volume)
    return view
  }
  attachment.state = 'detaching'
  background(
    world.cloud,
    `detachment of ${volume.volumeId}`,
    sleep(world.cloud.simulation.volumeAttachDelayMs ?? 20).then(() => {
      if (volume.attachment === attachment) release(volume)
    })
  )
  return toAttachment(volume, attachment)
}

/**
 * ModifyInstanceAttribute, the part EBS needs: BlockDeviceMappings changes the DeleteOnTermination of
 * attached volumes (by device name). Other attributes are not emulated.
 */
export function modifyInstanceAttribute(world: Ec2World, region: string, input: ModifyInstanceAttributeRequest): void {
  const instance = findInstance(world, region, input.InstanceId ?? '')
  const mappings = input.BlockDeviceMappings ?? []
  if (mappings.length === 0)
    throw ec2Error(
      'InvalidParameterCombination',
      'The emulator supports ModifyInstanceAttribute with BlockDeviceMappings only'
    )
  const attached = attachedTo(world, instance.instanceId)
  const changes = mappings.map((m) => {
    const device = normaliseDevice(m.DeviceName ?? '')
    const volume = attached.find((v) => v.attachment?.device === device)
    if (!volume?.attachment || (m.Ebs?.VolumeId && m.Ebs.VolumeId !== volume.volumeId))
      throw ec2Error('InvalidParameterValue', `No device is currently mapped at ${m.DeviceName ?? ''}`)
    return { attachment: volume.attachment, deleteOnTermination: m.Ebs?.DeleteOnTermination }
  })
  for (const c of changes)
    if (c.deleteOnTermination !== undefined) c.attachment.deleteOnTermination = c.deleteOnTermination
}

/** An instance's volumes at its termination: DeleteOnTermination ones are deleted, the others detached. */
export function releaseVolumes(world: Ec2World, instance: InstanceRecord): void {
  if (instance.state !== 'terminated') return
  for (const volume of attachedTo(world, instance.instanceId)) {
    if (volume.attachment?.deleteOnTermination) world.volumes.delete(volume.volumeId)
    else release(volume)
  }
}

/** A volume as the control API shows it (GET /_emulator/volumes/<id>): its state, attachment and data. */
export interface VolumeView {
  volumeId: string
  region: string
  availabilityZone: string
  state: string
  size: number
  volumeType: string
  snapshotId?: string
  tags: Record<string, string>
  attachment?: { instanceId: string; device: string; state: string; deleteOnTermination: boolean }
  data: Record<string, string>
}

export function volumeView(v: VolumeRecord): VolumeView {
  const a = v.attachment
  return {
    volumeId: v.volumeId,
    region: v.region,
    availabilityZone: v.availabilityZone,
    state: v.state,
    size: v.size,
    volumeType: v.volumeType,
    ...(v.snapshotId ? { snapshotId: v.snapshotId } : {}),
    tags: { ...v.tags },
    ...(a
      ? {
          attachment: {
            instanceId: a.instanceId,
            device: a.device,
            state: a.state,
            deleteOnTermination: a.deleteOnTermination
          }
        }
      : {}),
    data: { ...v.data }
  }
}

/** The control API's volume lookup: 404 for an unknown id (not an EC2 wire error). */
export function controlVolume(world: Ec2World, volumeId: string): VolumeRecord {
  const volume = world.volumes.get(volumeId)
  if (!volume) throw new AwsError('InvalidVolume.NotFound', `The volume '${volumeId}' does not exist.`, 404)
  return volume
}

/** POST /_emulator/volumes/<id>/data: sets one key of the volume's data (a string value; null removes it). */
export function setVolumeData(world: Ec2World, volumeId: string, body: unknown): VolumeView {
  const volume = controlVolume(world, volumeId)
  const { key, value } = (body ?? {}) as { key?: unknown; value?: unknown }
  if (typeof key !== 'string' || key === '') throw new AwsError('InvalidParameterValue', 'body.key must be a string')
  if (value === null) delete volume.data[key]
  else if (typeof value === 'string') volume.data[key] = value
  else throw new AwsError('InvalidParameterValue', 'body.value must be a string (or null to remove the key)')
  return volumeView(volume)
}

export function volumeState(world: Ec2World): unknown {
  return [...world.volumes.values()].map((v) => {
    const { data: _data, ...rest } = volumeView(v)
    return rest
  })
}
