/** CreateTags and DeleteTags across resource types. */
import type { CreateTagsRequest, DeleteTagsRequest } from '@aws-sdk/client-ec2'
import type { Tags } from './filters.js'
import { findInstance } from './instances.js'
import { findTemplate } from './launch-templates.js'
import { findGroup } from './security-groups.js'
import type { Ec2World } from './model.js'
import { ec2Error } from './errors.js'

function tagsOf(world: Ec2World, region: string, id: string): Tags {
  if (id.startsWith('i-')) return findInstance(world, region, id).tags
  if (id.startsWith('sg-')) return findGroup(world, region, id).tags
  if (id.startsWith('lt-')) return findTemplate(world, region, { LaunchTemplateId: id }).tags
  if (id.startsWith('vpc-')) return world.network.vpc(region, id).tags
  if (id.startsWith('subnet-')) return world.network.subnet(region, id).tags
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
