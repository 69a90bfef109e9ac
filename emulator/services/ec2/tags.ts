/** CreateTags, DeleteTags and DescribeTags across resource types. */
import type {
  CreateTagsRequest,
  DeleteTagsRequest,
  DescribeTagsRequest,
  DescribeTagsResult,
  TagDescription
} from '@aws-sdk/client-ec2'
import type { Tags } from './filters.js'
import { matchesFilters, paginate } from './filters.js'
import { findInstance } from './instances.js'
import { findTemplate } from './launch-templates.js'
import { findGroup } from './security-groups.js'
import { findSnapshot } from './snapshots.js'
import { findVolume, pageSize } from './volumes.js'
import type { Ec2World } from './model.js'
import { ec2Error } from './errors.js'

function tagsOf(world: Ec2World, region: string, id: string): Tags {
  if (id.startsWith('i-')) return findInstance(world, region, id).tags
  if (id.startsWith('sg-')) return findGroup(world, region, id).tags
  if (id.startsWith('lt-')) return findTemplate(world, region, { LaunchTemplateId: id }).tags
  if (id.startsWith('vpc-')) return world.network.vpc(region, id).tags
  if (id.startsWith('subnet-')) return world.network.subnet(region, id).tags
  if (id.startsWith('vol-')) return findVolume(world, region, id).tags
  if (id.startsWith('snap-')) return findSnapshot(world, region, id).tags
  throw ec2Error('InvalidID', `The ID '${id}' is not valid`)
}

export function createTags(world: Ec2World, region: string, input: CreateTagsRequest): void {
  const targets = (input.Resources ?? []).map((id) => tagsOf(world, region, id))
  for (const tags of targets) {
    for (const t of input.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? ''
  }
}

export function deleteTags(world: Ec2World, region: string, input: DeleteTagsRequest): void {
  const targets = (input.Resources ?? []).map((id) => tagsOf(world, region, id))
  for (const tags of targets) {
    const keys = input.Tags?.length ? input.Tags : Object.keys(tags).map((Key) => ({ Key, Value: undefined }))
    for (const t of keys) {
      if (t.Key === undefined) continue
      if (t.Value === undefined || tags[t.Key] === t.Value) delete tags[t.Key]
    }
  }
}

/** Every taggable resource of the region: its id, its DescribeTags resource type and its tags. */
function taggedResources(world: Ec2World, region: string): { id: string; type: string; tags: Tags }[] {
  const inRegion = <T extends { region: string }>(items: Iterable<T>): T[] =>
    [...items].filter((x) => x.region === region)
  return [
    ...inRegion(world.instances.values())
      .filter((i) => !world.expired(i))
      .map((i) => ({ id: i.instanceId, type: 'instance', tags: i.tags })),
    ...inRegion(world.groups.values()).map((g) => ({ id: g.groupId, type: 'security-group', tags: g.tags })),
    ...inRegion(world.templates.values()).map((t) => ({
      id: t.launchTemplateId,
      type: 'launch-template',
      tags: t.tags
    })),
    ...inRegion(world.network.vpcs.values()).map((v) => ({ id: v.vpcId, type: 'vpc', tags: v.tags })),
    ...inRegion(world.network.subnets.values()).map((s) => ({ id: s.subnetId, type: 'subnet', tags: s.tags })),
    ...inRegion(world.volumes.values()).map((v) => ({ id: v.volumeId, type: 'volume', tags: v.tags })),
    ...inRegion(world.snapshots.values()).map((s) => ({ id: s.snapshotId, type: 'snapshot', tags: s.tags }))
  ]
}

/** DescribeTags: one row per tag; filters key, value, resource-id, resource-type and tag:<key>. */
export function describeTags(world: Ec2World, region: string, input: DescribeTagsRequest): DescribeTagsResult {
  const size = pageSize(input.MaxResults, undefined, '', [5, 1000])
  const rows: TagDescription[] = []
  for (const r of taggedResources(world, region)) {
    for (const [Key, Value] of Object.entries(r.tags)) {
      const values = (name: string): string[] | undefined => {
        if (name.startsWith('tag:')) return name.slice(4) === Key ? [Value] : []
        const simple: Record<string, string> = { key: Key, value: Value, 'resource-id': r.id, 'resource-type': r.type }
        const value = simple[name]
        return value === undefined ? undefined : [value]
      }
      if (matchesFilters(input.Filters, values))
        rows.push({ Key, Value, ResourceId: r.id, ResourceType: r.type as TagDescription['ResourceType'] })
    }
  }
  const { page, nextToken } = paginate(rows, size, input.NextToken)
  return { Tags: page, ...(nextToken ? { NextToken: nextToken } : {}) }
}
