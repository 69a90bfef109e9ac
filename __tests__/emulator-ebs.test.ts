/**
 * EBS in the emulator through the real EC2 client: volumes (create, describe, filters, pages,
 * ClientToken), attachments (zones, states, termination), snapshots, tags, the SDK's waiters, the
 * volume data control routes and one tag-conditioned AttachVolume policy.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import {
  AttachVolumeCommand,
  CreateSnapshotCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  type CreateVolumeCommandInput,
  DeleteSnapshotCommand,
  DeleteTagsCommand,
  DeleteVolumeCommand,
  DescribeSnapshotsCommand,
  DescribeSubnetsCommand,
  DescribeTagsCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  waitUntilVolumeAvailable,
  waitUntilVolumeDeleted,
  waitUntilVolumeInUse,
  type Volume
} from '@aws-sdk/client-ec2'
import { EmulatorClient } from '../emulator/client.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { roleSession, sdkConfig } from '../emulator/testing.js'

const ZONE_A = 'us-east-1a'
const ZONE_B = 'us-east-1b'

let emu: Emulator
let ec2: EC2Client
let control: EmulatorClient
let tokens = 0

beforeAll(async () => {
  emu = await startEmulator({
    simulation: {
      launchDelayMs: 5,
      terminateDelayMs: 5,
      // long enough that a call right after CreateVolume or AttachVolume still sees the state in between
      volumeCreateDelayMs: 250,
      volumeAttachDelayMs: 250,
      snapshotDelayMs: 5,
      agentStandIn: false
    }
  })
  ec2 = new EC2Client(sdkConfig(emu))
  control = new EmulatorClient(emu.endpoint)
})

afterAll(async () => {
  ec2.destroy()
  await emu.stop()
})

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; status?: number; message: string }> {
  try {
    await promise
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } }
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message }
  }
  throw new Error('expected the call to fail')
}

async function subnetIn(zone: string): Promise<string> {
  const out = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'availability-zone', Values: [zone] }] }))
  return out.Subnets?.[0]?.SubnetId ?? ''
}

/** A running instance in the zone. */
async function instanceIn(zone: string, client: EC2Client = ec2): Promise<string> {
  const out = await client.send(
    new RunInstancesCommand({
      ImageId: 'ami-0123456789abcdef0',
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      SubnetId: await subnetIn(zone)
    })
  )
  await emu.waitIdle()
  return out.Instances?.[0]?.InstanceId ?? ''
}

/** An available volume (10 GiB gp3 in zone a unless told otherwise). */
async function volume(input: Partial<CreateVolumeCommandInput> = {}): Promise<string> {
  const out = await ec2.send(
    new CreateVolumeCommand({ AvailabilityZone: ZONE_A, Size: 10, VolumeType: 'gp3', ...input })
  )
  await emu.waitIdle()
  return out.VolumeId ?? ''
}

async function describeOne(volumeId: string): Promise<Volume> {
  const out = await ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }))
  const found = out.Volumes?.[0]
  if (!found) throw new Error(`no volume ${volumeId}`)
  return found
}

const tagged = (tags: Record<string, string>): CreateVolumeCommandInput['TagSpecifications'] => [
  { ResourceType: 'volume', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }
]

describe('volumes', () => {
  test("a new volume is creating, then available, with gp3's default IOPS and throughput", async () => {
    const created = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE_A, Size: 20, VolumeType: 'gp3' }))
    expect(created.State).toBe('creating')
    expect(created.VolumeId).toMatch(/^vol-[0-9a-f]{17}$/)
    await emu.waitIdle()
    const v = await describeOne(created.VolumeId ?? '')
    expect(v).toMatchObject({
      State: 'available',
      Size: 20,
      VolumeType: 'gp3',
      Iops: 3000,
      Throughput: 125,
      Encrypted: false,
      AvailabilityZone: ZONE_A,
      Attachments: []
    })
  })

  test('an encrypted volume names its KMS key, and a key without Encrypted is refused', async () => {
    const key = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555'
    const v = await describeOne(await volume({ Encrypted: true, KmsKeyId: key }))
    expect(v).toMatchObject({ Encrypted: true, KmsKeyId: key })
    const err = await errorOf(ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE_A, Size: 1, KmsKeyId: key })))
    expect(err.name).toBe('InvalidParameterDependency')
  })

  test("sizes, IOPS and throughput outside AWS's limits are refused with AWS's codes", async () => {
    const create = (input: Partial<CreateVolumeCommandInput>): Promise<unknown> =>
      ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE_A, ...input }))
    expect((await errorOf(create({ Size: 16_385, VolumeType: 'gp2' }))).name).toBe('InvalidParameterValue')
    expect((await errorOf(create({ Size: 100, VolumeType: 'st1' }))).name).toBe('InvalidParameterValue')
    expect((await errorOf(create({ Size: 1025, VolumeType: 'standard' }))).name).toBe('InvalidParameterValue')
    expect((await errorOf(create({ Size: 100, VolumeType: 'io1' }))).name).toBe('MissingParameter')
    expect((await errorOf(create({ Size: 100, VolumeType: 'gp3', Iops: 2999 }))).name).toBe('InvalidParameterValue')
    expect((await errorOf(create({ Size: 100, VolumeType: 'gp3', Throughput: 2001 }))).name).toBe(
      'InvalidParameterValue'
    )
    expect((await errorOf(create({ Size: 100, VolumeType: 'gp2', Iops: 3000 }))).name).toBe(
      'InvalidParameterCombination'
    )
    expect((await errorOf(create({ Size: 500, VolumeType: 'st1', Throughput: 200 }))).name).toBe(
      'InvalidParameterCombination'
    )
    expect((await errorOf(create({ VolumeType: 'gp3' }))).name).toBe('MissingParameter')
    expect((await errorOf(create({ Size: 10, AvailabilityZone: 'us-east-1z' }))).name).toBe('InvalidParameterValue')
    // within the limits: io2 with provisioned IOPS, the largest gp3
    const io2 = await describeOne(await volume({ VolumeType: 'io2', Size: 100, Iops: 5000 }))
    expect(io2).toMatchObject({ VolumeType: 'io2', Iops: 5000 })
    expect((await describeOne(await volume({ Size: 65_536 }))).Size).toBe(65_536)
  })

  test('ClientToken makes CreateVolume idempotent, and a reused token with other parameters is refused', async () => {
    const input = { AvailabilityZone: ZONE_A, Size: 8, VolumeType: 'gp3' as const, ClientToken: 'token-1' }
    const first = await ec2.send(new CreateVolumeCommand(input))
    const again = await ec2.send(new CreateVolumeCommand(input))
    expect(again.VolumeId).toBe(first.VolumeId)
    const sized = await ec2.send(
      new DescribeVolumesCommand({
        Filters: [
          { Name: 'size', Values: ['8'] },
          { Name: 'volume-type', Values: ['gp3'] }
        ]
      })
    )
    expect(sized.Volumes?.map((v) => v.VolumeId)).toEqual([first.VolumeId])
    const err = await errorOf(ec2.send(new CreateVolumeCommand({ ...input, Size: 9 })))
    expect(err.name).toBe('IdempotentParameterMismatch')
  })

  test('filters select volumes by zone, status, type, volume id and tags', async () => {
    const run = `filters-${++tokens}`
    const db = await volume({ TagSpecifications: tagged({ run, 'hyperform:service': 'db' }) })
    const web = await volume({
      AvailabilityZone: ZONE_B,
      TagSpecifications: tagged({ run, 'hyperform:service': 'web' })
    })
    const cold = await volume({ VolumeType: 'sc1', Size: 125, TagSpecifications: tagged({ run }) })
    const ids = async (...filters: { Name: string; Values: string[] }[]): Promise<string[]> => {
      const out = await ec2.send(
        new DescribeVolumesCommand({ Filters: [{ Name: 'tag:run', Values: [run] }, ...filters] })
      )
      return (out.Volumes ?? []).map((v) => v.VolumeId ?? '').sort()
    }
    expect(await ids()).toEqual([db, web, cold].sort())
    expect(await ids({ Name: 'availability-zone', Values: [ZONE_B] })).toEqual([web])
    expect(await ids({ Name: 'tag:hyperform:service', Values: ['db'] })).toEqual([db])
    expect(await ids({ Name: 'tag-key', Values: ['hyperform:service'] })).toEqual([db, web].sort())
    expect(await ids({ Name: 'volume-type', Values: ['sc1'] })).toEqual([cold])
    expect(await ids({ Name: 'volume-id', Values: [db, cold] })).toEqual([db, cold].sort())
    expect(await ids({ Name: 'status', Values: ['in-use'] })).toEqual([])
    expect(await ids({ Name: 'status', Values: ['available'] })).toEqual([db, web, cold].sort())
    expect((await errorOf(ids({ Name: 'no-such-filter', Values: ['x'] }))).name).toBe('InvalidParameterValue')
  })

  test('MaxResults pages through the volumes, at least 5 a page, and never with VolumeIds', async () => {
    const run = `pages-${++tokens}`
    const made: string[] = []
    for (let i = 0; i < 7; i++) made.push(await volume({ Size: 1, TagSpecifications: tagged({ run }) }))
    const filter = [{ Name: 'tag:run', Values: [run] }]
    const first = await ec2.send(new DescribeVolumesCommand({ Filters: filter, MaxResults: 5 }))
    expect(first.Volumes).toHaveLength(5)
    expect(first.NextToken).toBeDefined()
    const second = await ec2.send(
      new DescribeVolumesCommand({ Filters: filter, MaxResults: 5, NextToken: first.NextToken })
    )
    expect(second.NextToken).toBeUndefined()
    const seen = [...(first.Volumes ?? []), ...(second.Volumes ?? [])].map((v) => v.VolumeId)
    expect(seen.sort()).toEqual([...made].sort())
    expect((await errorOf(ec2.send(new DescribeVolumesCommand({ MaxResults: 4 })))).name).toBe('InvalidParameterValue')
    const both = await errorOf(ec2.send(new DescribeVolumesCommand({ VolumeIds: [made[0] ?? ''], MaxResults: 5 })))
    expect(both.name).toBe('InvalidParameterCombination')
  })

  test('an unknown volume is InvalidVolume.NotFound and a malformed id InvalidVolumeID.Malformed', async () => {
    const missing = await errorOf(ec2.send(new DescribeVolumesCommand({ VolumeIds: ['vol-0123456789abcdef0'] })))
    expect(missing).toMatchObject({ name: 'InvalidVolume.NotFound', status: 400 })
    expect((await errorOf(ec2.send(new DeleteVolumeCommand({ VolumeId: 'vol-0123456789abcdef0' })))).name).toBe(
      'InvalidVolume.NotFound'
    )
    expect((await errorOf(ec2.send(new DescribeVolumesCommand({ VolumeIds: ['disk-1'] })))).name).toBe(
      'InvalidVolumeID.Malformed'
    )
  })
})

describe('attachments', () => {
  test('a volume attaches to a running instance in its zone: attaching, then attached and in-use', async () => {
    const instanceId = await instanceIn(ZONE_A)
    const volumeId = await volume()
    const attached = await ec2.send(
      new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf' })
    )
    expect(attached).toMatchObject({
      State: 'attaching',
      InstanceId: instanceId,
      VolumeId: volumeId,
      Device: '/dev/sdf'
    })
    await emu.waitIdle()
    const v = await describeOne(volumeId)
    expect(v.State).toBe('in-use')
    expect(v.Attachments).toEqual([
      expect.objectContaining({
        InstanceId: instanceId,
        Device: '/dev/sdf',
        State: 'attached',
        DeleteOnTermination: false
      })
    ])
    const byInstance = await ec2.send(
      new DescribeVolumesCommand({
        Filters: [
          { Name: 'attachment.instance-id', Values: [instanceId] },
          { Name: 'attachment.status', Values: ['attached'] }
        ]
      })
    )
    expect(byInstance.Volumes?.map((x) => x.VolumeId)).toEqual([volumeId])
  })

  test('a volume in another zone than the instance is InvalidVolume.ZoneMismatch', async () => {
    const instanceId = await instanceIn(ZONE_B)
    const volumeId = await volume({ AvailabilityZone: ZONE_A })
    const err = await errorOf(
      ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf' }))
    )
    expect(err).toMatchObject({ name: 'InvalidVolume.ZoneMismatch', status: 400 })
    expect((await describeOne(volumeId)).State).toBe('available')
  })

  test('a volume attached once cannot be attached again, nor a second volume at the same device', async () => {
    const [one, two] = [await instanceIn(ZONE_A), await instanceIn(ZONE_A)]
    const volumeId = await volume()
    await ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: one, Device: '/dev/sdf' }))
    const again = await errorOf(
      ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: two, Device: '/dev/sdf' }))
    )
    expect(again.name).toBe('VolumeInUse')
    const other = await volume()
    const sameDevice = await errorOf(
      ec2.send(new AttachVolumeCommand({ VolumeId: other, InstanceId: one, Device: '/dev/sdf' }))
    )
    expect(sameDevice.name).toBe('InvalidParameterValue')
    await emu.waitIdle()
    expect((await describeOne(volumeId)).Attachments?.[0]?.InstanceId).toBe(one)
  })

  test('a volume still creating is IncorrectState, and an instance not running is IncorrectInstanceState', async () => {
    const instanceId = await instanceIn(ZONE_A)
    const creating = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE_A, Size: 1 }))
    const early = await errorOf(
      ec2.send(new AttachVolumeCommand({ VolumeId: creating.VolumeId, InstanceId: instanceId, Device: '/dev/sdg' }))
    )
    expect(early.name).toBe('IncorrectState')
    await emu.waitIdle()
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }))
    const late = await errorOf(
      ec2.send(new AttachVolumeCommand({ VolumeId: creating.VolumeId, InstanceId: instanceId, Device: '/dev/sdg' }))
    )
    expect(late.name).toBe('IncorrectInstanceState')
    await emu.waitIdle()
  })

  test('an attached volume cannot be deleted; detached, it is available again and can be', async () => {
    const instanceId = await instanceIn(ZONE_A)
    const volumeId = await volume()
    await ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: 'xvdh' }))
    await emu.waitIdle()
    expect((await errorOf(ec2.send(new DeleteVolumeCommand({ VolumeId: volumeId })))).name).toBe('VolumeInUse')
    const detached = await ec2.send(new DetachVolumeCommand({ VolumeId: volumeId }))
    expect(detached).toMatchObject({ State: 'detaching', InstanceId: instanceId, Device: '/dev/xvdh' })
    await emu.waitIdle()
    const v = await describeOne(volumeId)
    expect(v.State).toBe('available')
    expect(v.Attachments).toEqual([])
    expect((await errorOf(ec2.send(new DetachVolumeCommand({ VolumeId: volumeId })))).name).toBe('IncorrectState')
    await ec2.send(new DeleteVolumeCommand({ VolumeId: volumeId }))
    expect((await errorOf(describeOne(volumeId))).name).toBe('InvalidVolume.NotFound')
  })

  test('detaching from an instance the volume is not attached to is InvalidAttachment.NotFound', async () => {
    const [one, two] = [await instanceIn(ZONE_A), await instanceIn(ZONE_A)]
    const volumeId = await volume()
    await ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: one, Device: '/dev/sdf' }))
    await emu.waitIdle()
    const err = await errorOf(ec2.send(new DetachVolumeCommand({ VolumeId: volumeId, InstanceId: two })))
    expect(err.name).toBe('InvalidAttachment.NotFound')
    expect((await describeOne(volumeId)).State).toBe('in-use')
  })

  test('a forced detachment of a volume already detaching releases it at once', async () => {
    const instanceId = await instanceIn(ZONE_A)
    const volumeId = await volume()
    await ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf' }))
    await emu.waitIdle()
    // a detachment that takes 2 s, so that it is still under way on a busy machine
    const { simulation } = emu.cloud
    const before = simulation.volumeAttachDelayMs
    simulation.volumeAttachDelayMs = 2000
    try {
      await ec2.send(new DetachVolumeCommand({ VolumeId: volumeId }))
      expect((await errorOf(ec2.send(new DetachVolumeCommand({ VolumeId: volumeId })))).name).toBe('IncorrectState')
      await ec2.send(new DetachVolumeCommand({ VolumeId: volumeId, Force: true }))
      expect((await describeOne(volumeId)).State).toBe('available')
    } finally {
      simulation.volumeAttachDelayMs = before
    }
    await emu.waitIdle()
  })

  test("an instance's termination frees its volumes, and deletes those attached with DeleteOnTermination", async () => {
    const instanceId = await instanceIn(ZONE_A)
    const kept = await volume()
    const dropped = await volume()
    await ec2.send(new AttachVolumeCommand({ VolumeId: kept, InstanceId: instanceId, Device: '/dev/sdf' }))
    await ec2.send(new AttachVolumeCommand({ VolumeId: dropped, InstanceId: instanceId, Device: '/dev/sdg' }))
    await ec2.send(
      new ModifyInstanceAttributeCommand({
        InstanceId: instanceId,
        BlockDeviceMappings: [{ DeviceName: '/dev/sdg', Ebs: { DeleteOnTermination: true } }]
      })
    )
    await emu.waitIdle()
    expect((await describeOne(dropped)).Attachments?.[0]?.DeleteOnTermination).toBe(true)
    await control.setVolumeData(kept, 'first-use', 'written by the first instance')
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }))
    await emu.waitIdle()
    const v = await describeOne(kept)
    expect(v.State).toBe('available')
    expect(v.Attachments).toEqual([])
    expect((await errorOf(describeOne(dropped))).name).toBe('InvalidVolume.NotFound')
    // the replacement attaches the same volume and finds the first instance's data
    const replacement = await instanceIn(ZONE_A)
    await ec2.send(new AttachVolumeCommand({ VolumeId: kept, InstanceId: replacement, Device: '/dev/sdf' }))
    await emu.waitIdle()
    const view = await control.volume(kept)
    expect(view.attachment).toMatchObject({ instanceId: replacement, state: 'attached' })
    expect(view.data).toEqual({ 'first-use': 'written by the first instance' })
  })
})

describe('snapshots', () => {
  test("a snapshot is pending, then completed, and a volume made from it starts with the volume's data", async () => {
    const volumeId = await volume({ Size: 12 })
    await control.setVolumeData(volumeId, 'marker', 'v1')
    const snap = await ec2.send(
      new CreateSnapshotCommand({
        VolumeId: volumeId,
        Description: 'before the upgrade',
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'hyperform:volume', Value: 'pgdata' }] }]
      })
    )
    expect(snap).toMatchObject({ State: 'pending', VolumeId: volumeId, VolumeSize: 12 })
    expect(snap.SnapshotId).toMatch(/^snap-[0-9a-f]{17}$/)
    // later writes to the volume are not in the snapshot
    await control.setVolumeData(volumeId, 'marker', 'v2')
    await emu.waitIdle()
    const found = await ec2.send(
      new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: [{ Name: 'tag:hyperform:volume', Values: ['pgdata'] }]
      })
    )
    expect(found.Snapshots).toEqual([
      expect.objectContaining({ SnapshotId: snap.SnapshotId, State: 'completed', Description: 'before the upgrade' })
    ])
    const restored = await volume({ SnapshotId: snap.SnapshotId, Size: undefined })
    const v = await describeOne(restored)
    expect(v).toMatchObject({ SnapshotId: snap.SnapshotId, Size: 12 })
    expect((await control.volume(restored)).data).toEqual({ marker: 'v1' })
    const tooSmall = await errorOf(
      ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE_A, SnapshotId: snap.SnapshotId, Size: 11 }))
    )
    expect(tooSmall.name).toBe('InvalidParameterValue')
    await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snap.SnapshotId }))
    const gone = await errorOf(ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snap.SnapshotId ?? ''] })))
    expect(gone.name).toBe('InvalidSnapshot.NotFound')
  })

  test("amazon's snapshots are none of the account's", async () => {
    const volumeId = await volume()
    await ec2.send(new CreateSnapshotCommand({ VolumeId: volumeId }))
    await emu.waitIdle()
    const amazon = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['amazon'] }))
    expect(amazon.Snapshots).toEqual([])
    const ours = await ec2.send(new DescribeSnapshotsCommand({ Filters: [{ Name: 'volume-id', Values: [volumeId] }] }))
    expect(ours.Snapshots?.map((s) => s.VolumeId)).toEqual([volumeId])
  })
})

describe('tags', () => {
  test('CreateTags, DescribeTags and DeleteTags work on volumes and snapshots', async () => {
    const volumeId = await volume()
    const snap = await ec2.send(new CreateSnapshotCommand({ VolumeId: volumeId }))
    const snapshotId = snap.SnapshotId ?? ''
    await ec2.send(
      new CreateTagsCommand({ Resources: [volumeId, snapshotId], Tags: [{ Key: 'hyperform:stack', Value: 'shop' }] })
    )
    const tags = await ec2.send(
      new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [volumeId, snapshotId] }] })
    )
    expect(tags.Tags?.map((t) => [t.ResourceId, t.ResourceType, t.Key, t.Value]).sort()).toEqual(
      [
        [volumeId, 'volume', 'hyperform:stack', 'shop'],
        [snapshotId, 'snapshot', 'hyperform:stack', 'shop']
      ].sort()
    )
    const byTag = await ec2.send(
      new DescribeVolumesCommand({ Filters: [{ Name: 'tag:hyperform:stack', Values: ['shop'] }] })
    )
    expect(byTag.Volumes?.map((v) => v.VolumeId)).toEqual([volumeId])
    await ec2.send(new DeleteTagsCommand({ Resources: [volumeId], Tags: [{ Key: 'hyperform:stack' }] }))
    const after = await ec2.send(
      new DescribeTagsCommand({
        Filters: [
          { Name: 'resource-type', Values: ['volume', 'snapshot'] },
          { Name: 'key', Values: ['hyperform:stack'] }
        ]
      })
    )
    expect(after.Tags?.map((t) => t.ResourceId)).toEqual([snapshotId])
    const unknown = await errorOf(
      ec2.send(new CreateTagsCommand({ Resources: ['vol-0123456789abcdef0'], Tags: [{ Key: 'k', Value: 'v' }] }))
    )
    expect(unknown.name).toBe('InvalidVolume.NotFound')
    await emu.waitIdle()
  })
})

describe('waiters', () => {
  test("the SDK's volume-available, volume-in-use and volume-deleted waiters succeed", async () => {
    const created = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: ZONE_A, Size: 1 }))
    const volumeId = created.VolumeId ?? ''
    const available = await waitUntilVolumeAvailable(
      { client: ec2, maxWaitTime: 10, minDelay: 1, maxDelay: 1 },
      { VolumeIds: [volumeId] }
    )
    expect(available.state).toBe('SUCCESS')
    const instanceId = await instanceIn(ZONE_A)
    await ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf' }))
    const inUse = await waitUntilVolumeInUse(
      { client: ec2, maxWaitTime: 10, minDelay: 1, maxDelay: 1 },
      { VolumeIds: [volumeId] }
    )
    expect(inUse.state).toBe('SUCCESS')
    await emu.waitIdle()
    await ec2.send(new DetachVolumeCommand({ VolumeId: volumeId }))
    await emu.waitIdle()
    await ec2.send(new DeleteVolumeCommand({ VolumeId: volumeId }))
    const deleted = await waitUntilVolumeDeleted(
      { client: ec2, maxWaitTime: 10, minDelay: 1, maxDelay: 1 },
      { VolumeIds: [volumeId] }
    )
    expect(deleted.state).toBe('SUCCESS')
  })
})

describe('the control API and the state dump', () => {
  test('a volume shows its data, which POST /_emulator/volumes/<id>/data sets and removes', async () => {
    const volumeId = await volume({ TagSpecifications: tagged({ 'hyperform:volume': 'uploads' }) })
    expect(await control.volume(volumeId)).toMatchObject({
      volumeId,
      state: 'available',
      availabilityZone: ZONE_A,
      tags: { 'hyperform:volume': 'uploads' },
      data: {}
    })
    expect((await control.setVolumeData(volumeId, 'a', '1')).data).toEqual({ a: '1' })
    await control.setVolumeData(volumeId, 'b', '2')
    expect((await control.setVolumeData(volumeId, 'a', null)).data).toEqual({ b: '2' })
    expect((await control.volumes()).find((v) => v.volumeId === volumeId)?.data).toEqual({ b: '2' })
    await expect(control.volume('vol-0123456789abcdef0')).rejects.toThrow(/404/)
    const dump = emu.state() as { ec2: { volumes: { volumeId: string; state: string }[] } }
    expect(dump.ec2.volumes).toContainEqual(expect.objectContaining({ volumeId, state: 'available' }))
  })
})

describe('authorization', () => {
  test('a role allowed to attach only volumes tagged hyperform:service=db is denied a volume tagged web', async () => {
    const config = await roleSession(emu, {
      roleName: 'ebs-attacher',
      policy: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: 'ec2:AttachVolume', Resource: 'arn:aws:ec2:*:*:instance/*' },
          {
            Effect: 'Allow',
            Action: 'ec2:AttachVolume',
            Resource: 'arn:aws:ec2:*:*:volume/*',
            Condition: { StringEquals: { 'aws:ResourceTag/hyperform:service': 'db' } }
          }
        ]
      }
    })
    const asRole = new EC2Client(config)
    try {
      const instanceId = await instanceIn(ZONE_A)
      const db = await volume({ TagSpecifications: tagged({ 'hyperform:service': 'db' }) })
      const web = await volume({ TagSpecifications: tagged({ 'hyperform:service': 'web' }) })
      const denied = await errorOf(
        asRole.send(new AttachVolumeCommand({ VolumeId: web, InstanceId: instanceId, Device: '/dev/sdf' }))
      )
      expect(denied).toMatchObject({ name: 'UnauthorizedOperation', status: 403 })
      expect((await describeOne(web)).State).toBe('available')
      const allowed = await asRole.send(
        new AttachVolumeCommand({ VolumeId: db, InstanceId: instanceId, Device: '/dev/sdf' })
      )
      expect(allowed.State).toBe('attaching')
      await emu.waitIdle()
    } finally {
      asRole.destroy()
    }
  })
})
