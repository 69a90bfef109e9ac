/**
 * A service's named volumes: one encrypted EBS volume per replica slot and compose volume, in the
 * service's zone, tagged with project, stack, service, volume and slot. The action only creates
 * them; the instance agent claims a slot at boot (AttachVolume is the lock) and mounts it. Data is
 * never deleted by a deploy: fewer replicas leave spare slots, a service gone from the compose
 * file leaves its volumes, and both are reported. Destroy follows `volumes-on-destroy`: keep (and
 * list them; a later deploy of the stack attaches them again), snapshot then delete, or delete.
 */
import {
  CreateSnapshotCommand,
  CreateVolumeCommand,
  DeleteVolumeCommand,
  paginateDescribeVolumes,
  type Volume
} from '@aws-sdk/client-ec2'
import { wrap } from '../aws/errors.js'
import { tolerate } from '../aws/send.js'
import type { VolumeType } from '../compose/model.js'
import { MANAGED_BY, TAGS } from '../names.js'
import { stackFilters, tagList, tagMap, type KindOps, type Removal, type Upsert } from './kind.js'

/** What a destroy does with the stack's volumes. */
export type VolumesOnDestroy = 'keep' | 'snapshot' | 'delete'
export const VOLUMES_ON_DESTROY: readonly VolumesOnDestroy[] = ['keep', 'snapshot', 'delete']

export interface DesiredVolume {
  /** `<service>/<volume>/<slot>`: what the plan calls it (EBS volumes have ids, not names). */
  name: string
  service: string
  volume: string
  slot: number
  zone: string
  sizeGiB: number
  type: VolumeType
  iops?: number
  throughput?: number
  tags: Record<string, string>
}

export interface CurrentVolume {
  id: string
  name: string
  service: string
  volume: string
  slot: number
  zone: string
  sizeGiB: number
  type: string
  /** creating, available, in-use, deleting... */
  state: string
  /** The instance it is attached to. */
  instance?: string
}

export type VolumeChange =
  Upsert<'volume', DesiredVolume, CurrentVolume> | (Removal<'volume', CurrentVolume> & { snapshot?: boolean })

/** EBS volume ids are eventually consistent: a new one may not be found for a while. */
const VOLUME_NOT_FOUND = ['InvalidVolume.NotFound']

export function volumeName(service: string, volume: string, slot: number): string {
  return `${service}/${volume}/${slot}`
}

function toVolume(v: Volume): CurrentVolume | undefined {
  const tags = tagMap(v.Tags)
  const slot = Number(tags[TAGS.slot])
  const service = tags[TAGS.service]
  const volume = tags[TAGS.volume]
  if (!v.VolumeId || !service || !volume || !Number.isSafeInteger(slot)) return undefined
  const instance = v.Attachments?.find((a) => a.State === 'attached' || a.State === 'attaching')?.InstanceId
  return {
    id: v.VolumeId,
    name: volumeName(service, volume, slot),
    service,
    volume,
    slot,
    zone: v.AvailabilityZone ?? '',
    sizeGiB: v.Size ?? 0,
    type: v.VolumeType ?? '',
    state: v.State ?? '',
    ...(instance ? { instance } : {})
  }
}

/** "in use by i-0abc", "available": what a plan line says of a volume that stays. */
function usage(have: CurrentVolume): string {
  return have.instance ? `in use by ${have.instance}` : have.state
}

/** The volumes of a service gone from the compose file, or beyond its replicas, stay: data is never deleted by a deploy. */
function spare(have: CurrentVolume, why: string): VolumeChange {
  return {
    kind: 'volume',
    action: 'noop',
    name: have.name,
    service: have.service,
    current: have,
    reason: `kept (${why}): ${have.id}, ${have.sizeGiB} GiB in ${have.zone}, ${usage(have)}; a deploy never deletes a volume`
  }
}

export const volume: KindOps<'volume'> = {
  kind: 'volume',
  noun: 'volume',
  level: 'service',
  dependsOn: [],
  // Attached volumes are released when their instances terminate.
  removeAfter: ['auto-scaling-group'],
  async read(ctx) {
    if (!ctx.volumes && !ctx.verify && !ctx.destroy) return {}
    const volumes: CurrentVolume[] = []
    try {
      for await (const page of paginateDescribeVolumes(
        { client: ctx.aws.through('ec2'), pageSize: 500 },
        { Filters: stackFilters(ctx.scope) }
      ))
        for (const v of page.Volumes ?? []) {
          const found = toVolume(v)
          if (found && found.state !== 'deleting' && found.state !== 'deleted') volumes.push(found)
        }
    } catch (err) {
      throw wrap('describing the stack volumes', err)
    }
    return { volumes: volumes.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true })) }
  },
  diff({ current }, service) {
    const have = (current.volumes ?? []).filter((v) => v.service === service.name)
    const changes: VolumeChange[] = []
    for (const want of service.volumes) {
      const found = have.filter((v) => v.volume === want.volume && v.slot === want.slot)
      const elsewhere = found.find((v) => v.zone !== want.zone)
      if (elsewhere)
        throw new Error(
          `service "${service.name}": volume ${want.volume} (slot ${want.slot}) is ${elsewhere.id} in ${elsewhere.zone}, ` +
            `but the service would now run in ${want.zone}. A volume never moves zone by itself: keep subnets in ${elsewhere.zone} ` +
            `(or set x-hyperform.zone: ${elsewhere.zone} on the volume), or move it explicitly (README: moving a volume to another zone).`
        )
      const base = { kind: 'volume' as const, name: want.name, service: service.name, desired: want }
      const first = found[0]
      if (!first) {
        const size = `${want.sizeGiB} GiB ${want.type}`
        changes.push({ ...base, action: 'create', reason: `not found; ${size}, encrypted, in ${want.zone}` })
        continue
      }
      const differs: string[] = []
      if (first.sizeGiB !== want.sizeGiB) differs.push(`size ${first.sizeGiB} GiB, compose says ${want.sizeGiB}`)
      if (first.type !== want.type) differs.push(`type ${first.type}, compose says ${want.type}`)
      const note = differs.length > 0 ? `; ${differs.join(', ')} (not changed: a deploy never resizes a volume)` : ''
      changes.push({ ...base, action: 'noop', current: first, reason: `${first.id} ${usage(first)}${note}` })
    }
    const wanted = new Set(service.volumes.map((v) => v.name))
    const counted = new Set<string>()
    for (const v of have) {
      if (wanted.has(v.name) && !counted.has(v.name)) {
        counted.add(v.name)
        continue
      }
      const mounted = service.volumes.some((w) => w.volume === v.volume)
      // Two runs racing may each create a slot's volume (EBS volumes have no unique name): the second is spare too.
      const why = wanted.has(v.name)
        ? `a second volume of slot ${v.slot}`
        : mounted
          ? `spare slot ${v.slot}: beyond the service's replicas`
          : 'no longer mounted'
      changes.push(spare(v, why))
    }
    return changes
  },
  removals({ current, destroy, keep, volumesOnDestroy }) {
    const have = current.volumes ?? []
    if (!destroy)
      return have.filter((v) => !keep.services.has(v.service)).map((v) => spare(v, 'service not in compose file'))
    const policy = volumesOnDestroy ?? 'keep'
    return have.map((v): VolumeChange => {
      const base = { kind: 'volume' as const, name: v.name, service: v.service, current: v }
      if (policy === 'keep')
        return {
          ...base,
          action: 'noop',
          reason: `kept (volumes-on-destroy: keep): ${v.id}, ${v.sizeGiB} GiB in ${v.zone}; a later deploy of this stack attaches it again`
        }
      return policy === 'snapshot'
        ? {
            ...base,
            action: 'delete',
            snapshot: true,
            reason: `snapshot, then delete ${v.id} (volumes-on-destroy: snapshot)`
          }
        : { ...base, action: 'delete', reason: `delete ${v.id} and its data (volumes-on-destroy: delete)` }
    })
  },
  async apply(change, { e }) {
    if (change.action === 'noop') return
    const want = change.desired
    const out = await e.send(
      new CreateVolumeCommand({
        AvailabilityZone: want.zone,
        Size: want.sizeGiB,
        VolumeType: want.type,
        ...(want.iops !== undefined ? { Iops: want.iops } : {}),
        ...(want.throughput !== undefined ? { Throughput: want.throughput } : {}),
        Encrypted: true,
        TagSpecifications: [{ ResourceType: 'volume', Tags: tagList(want.tags) }]
      })
    )
    e.done({ kind: 'volume', action: 'create', name: change.name, service: want.service, id: out.VolumeId })
  },
  async remove(changes, { e, scope }) {
    for (const change of changes) {
      const have = change.current
      if (!have) continue
      if ('snapshot' in change && change.snapshot) {
        const snap = await e.send(
          new CreateSnapshotCommand({
            VolumeId: have.id,
            Description: `hyperform-action: ${scope.project}/${scope.stack} ${have.name} (${have.id}) before destroy`,
            TagSpecifications: [
              {
                ResourceType: 'snapshot',
                Tags: tagList({
                  [TAGS.project]: scope.project,
                  [TAGS.stack]: scope.stack,
                  [TAGS.service]: have.service,
                  [TAGS.volume]: have.volume,
                  [TAGS.slot]: String(have.slot),
                  [TAGS.managedBy]: MANAGED_BY
                })
              }
            ]
          })
        )
        e.log(`  snapshot ${snap.SnapshotId ?? ''} of ${have.id} (${have.name})`)
      }
      // In use until its instance has terminated (the groups go first); gone already is fine.
      await tolerate(VOLUME_NOT_FOUND, () =>
        e.retryOn(['VolumeInUse'], () => e.send(new DeleteVolumeCommand({ VolumeId: have.id })), e.timing.teardownMs)
      )
      e.done({ kind: 'volume', action: 'delete', name: change.name, service: have.service, id: have.id })
    }
  }
}
