/**
 * EBS snapshots: CreateSnapshot (pending -> completed after simulation.snapshotDelayMs; the volume's data
 * is copied when the snapshot starts), DescribeSnapshots and DeleteSnapshot.
 */
import type {
  CreateSnapshotRequest,
  DeleteSnapshotRequest,
  DescribeSnapshotsRequest,
  DescribeSnapshotsResult,
  Snapshot
} from '@aws-sdk/client-ec2'
import { background } from '../../core/background.js'
import { newId } from '../../core/ids.js'
import { ec2Error } from './errors.js'
import { matchesFilters, paginate, tagFilterValues, tagsFor, toTagList } from './filters.js'
import type { Ec2World, SnapshotRecord } from './model.js'
import { findVolume, pageSize } from './volumes.js'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export function findSnapshot(world: Ec2World, region: string, snapshotId: string): SnapshotRecord {
  if (!/^snap-[0-9a-f]{8,17}$/.test(snapshotId))
    throw ec2Error('InvalidSnapshotID.Malformed', `Invalid id: "${snapshotId}" (expecting "snap-...")`)
  const snapshot = world.snapshots.get(snapshotId)
  if (!snapshot || snapshot.region !== region)
    throw ec2Error('InvalidSnapshot.NotFound', `The snapshot '${snapshotId}' does not exist.`)
  return snapshot
}

function toSnapshot(world: Ec2World, s: SnapshotRecord): Snapshot {
  return {
    SnapshotId: s.snapshotId,
    VolumeId: s.volumeId,
    State: s.state,
    StartTime: new Date(s.startTime),
    Progress: s.state === 'completed' ? '100%' : '0%',
    OwnerId: world.cloud.accountId,
    Description: s.description,
    VolumeSize: s.volumeSize,
    Encrypted: s.encrypted,
    ...(s.kmsKeyId ? { KmsKeyId: s.kmsKeyId } : {}),
    StorageTier: 'standard',
    Tags: toTagList(s.tags)
  }
}

export function createSnapshot(world: Ec2World, region: string, input: CreateSnapshotRequest): Snapshot {
  if (!input.VolumeId) throw ec2Error('MissingParameter', 'The request must contain the parameter volumeId')
  const volume = findVolume(world, region, input.VolumeId)
  if (volume.state === 'creating')
    throw ec2Error('IncorrectState', `The volume '${volume.volumeId}' is not 'available' or 'in-use'.`)
  for (const spec of input.TagSpecifications ?? [])
    if (spec.ResourceType !== 'snapshot')
      throw ec2Error(
        'InvalidParameterValue',
        `'${String(spec.ResourceType)}' is not a valid taggable resource type for this operation.`
      )
  const snapshot: SnapshotRecord = {
    snapshotId: newId(world.cloud, 'snap-'),
    region,
    volumeId: volume.volumeId,
    volumeSize: volume.size,
    description: input.Description ?? '',
    encrypted: volume.encrypted,
    ...(volume.kmsKeyId ? { kmsKeyId: volume.kmsKeyId } : {}),
    state: 'pending',
    startTime: Date.now(),
    tags: tagsFor(input.TagSpecifications, 'snapshot'),
    data: { ...volume.data }
  }
  world.snapshots.set(snapshot.snapshotId, snapshot)
  background(
    world.cloud,
    `snapshot ${snapshot.snapshotId}`,
    sleep(world.cloud.simulation.snapshotDelayMs ?? 20).then(() => {
      snapshot.state = 'completed'
    })
  )
  return toSnapshot(world, snapshot)
}

function snapshotFilterValues(world: Ec2World, s: SnapshotRecord, name: string): string[] | undefined {
  const simple: Record<string, string> = {
    'snapshot-id': s.snapshotId,
    'volume-id': s.volumeId,
    status: s.state,
    description: s.description,
    'owner-id': world.cloud.accountId,
    encrypted: String(s.encrypted),
    'volume-size': String(s.volumeSize),
    progress: s.state === 'completed' ? '100%' : '0%',
    'start-time': new Date(s.startTime).toISOString(),
    'storage-tier': 'standard'
  }
  const value = simple[name]
  return value !== undefined ? [value] : tagFilterValues(s.tags, name)
}

export function describeSnapshots(
  world: Ec2World,
  region: string,
  input: DescribeSnapshotsRequest
): DescribeSnapshotsResult {
  const size = pageSize(input.MaxResults, input.SnapshotIds, 'snapshotSet', [5, 1000])
  // OwnerIds: self or this account's id select the account's snapshots; other owners (amazon) have none here
  const owners = input.OwnerIds ?? []
  const ours = owners.length === 0 || owners.some((o) => o === 'self' || o === world.cloud.accountId)
  const selected = input.SnapshotIds?.length
    ? [...new Set(input.SnapshotIds)].map((id) => findSnapshot(world, region, id))
    : [...world.snapshots.values()].filter((s) => s.region === region)
  const matching = selected.filter(
    (s) => ours && matchesFilters(input.Filters, (n) => snapshotFilterValues(world, s, n))
  )
  const { page, nextToken } = paginate(matching, size, input.NextToken)
  return { Snapshots: page.map((s) => toSnapshot(world, s)), ...(nextToken ? { NextToken: nextToken } : {}) }
}

export function deleteSnapshot(world: Ec2World, region: string, input: DeleteSnapshotRequest): void {
  const snapshot = findSnapshot(world, region, input.SnapshotId ?? '')
  world.snapshots.delete(snapshot.snapshotId)
}

export function snapshotState(world: Ec2World): unknown {
  return [...world.snapshots.values()].map((s) => ({
    snapshotId: s.snapshotId,
    region: s.region,
    volumeId: s.volumeId,
    state: s.state,
    tags: s.tags
  }))
}
