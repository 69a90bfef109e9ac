/** IAM instance profiles: the container that passes a role to EC2 instances (kept in iam-policy/store.ts). */
import type {
  AddRoleToInstanceProfileRequest,
  CreateInstanceProfileRequest,
  CreateInstanceProfileResponse,
  DeleteInstanceProfileRequest,
  GetInstanceProfileRequest,
  GetInstanceProfileResponse,
  InstanceProfile as SdkInstanceProfile,
  ListInstanceProfilesForRoleRequest,
  ListInstanceProfilesForRoleResponse,
  ListInstanceProfilesRequest,
  ListInstanceProfilesResponse,
  RemoveRoleFromInstanceProfileRequest
} from '@aws-sdk/client-iam'
import type { Cloud } from '../../types.js'
import { newIamId } from '../../core/ids.js'
import { policyStore, type InstanceProfile } from '../../iam-policy/store.js'
import type { QueryHandler } from '../../protocols/query.js'
import { iamError } from './errors.js'
import { checkPath, pageByName, toRole } from './model.js'

function toProfile(cloud: Cloud, p: InstanceProfile): SdkInstanceProfile {
  const roles = p.roles.flatMap((name) => {
    const role = cloud.shared.roles.get(name)
    return role ? [toRole(role)] : []
  })
  return {
    InstanceProfileName: p.name,
    InstanceProfileId: p.id,
    Arn: p.arn,
    Path: p.path,
    CreateDate: new Date(p.createdAt),
    Roles: roles
  }
}

export function instanceProfileHandlers(cloud: Cloud): Record<string, QueryHandler> {
  const profiles = policyStore(cloud).instanceProfiles
  const find = (name: string | undefined): InstanceProfile => {
    const p = profiles.get(name ?? '')
    if (!p) throw iamError('NoSuchEntity', `Instance Profile ${name ?? ''} cannot be found.`)
    return p
  }
  return {
    CreateInstanceProfile: (input: CreateInstanceProfileRequest): CreateInstanceProfileResponse => {
      const name = input.InstanceProfileName ?? ''
      if (profiles.has(name)) throw iamError('EntityAlreadyExists', `Instance Profile ${name} already exists.`)
      const path = checkPath(input.Path)
      const p: InstanceProfile = {
        name,
        arn: `arn:aws:iam::${cloud.accountId}:instance-profile${path}${name}`,
        id: newIamId(cloud, 'AIPA'),
        path,
        createdAt: Date.now(),
        roles: []
      }
      profiles.set(name, p)
      return { InstanceProfile: toProfile(cloud, p) }
    },
    GetInstanceProfile: (input: GetInstanceProfileRequest): GetInstanceProfileResponse => ({
      InstanceProfile: toProfile(cloud, find(input.InstanceProfileName))
    }),
    DeleteInstanceProfile: (input: DeleteInstanceProfileRequest) => {
      const p = find(input.InstanceProfileName)
      if (p.roles.length > 0)
        throw iamError('DeleteConflict', 'Cannot delete entity, must remove roles from instance profile first.')
      profiles.delete(p.name)
    },
    AddRoleToInstanceProfile: (input: AddRoleToInstanceProfileRequest) => {
      const p = find(input.InstanceProfileName)
      const role = input.RoleName ?? ''
      if (!cloud.shared.roles.has(role)) throw iamError('NoSuchEntity', `The role with name ${role} cannot be found.`)
      if (p.roles.length > 0)
        throw iamError('LimitExceeded', 'Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1')
      p.roles.push(role)
      p.changedAt = Date.now()
    },
    RemoveRoleFromInstanceProfile: (input: RemoveRoleFromInstanceProfileRequest) => {
      const p = find(input.InstanceProfileName)
      if (!p.roles.includes(input.RoleName ?? ''))
        throw iamError('NoSuchEntity', `The role with name ${input.RoleName ?? ''} cannot be found.`)
      p.roles = p.roles.filter((r) => r !== input.RoleName)
    },
    ListInstanceProfiles: (input: ListInstanceProfilesRequest): ListInstanceProfilesResponse => {
      const prefix = input.PathPrefix ?? '/'
      const { page, IsTruncated, Marker } = pageByName(
        [...profiles.values()].filter((p) => p.path.startsWith(prefix)),
        (p) => p.name,
        input
      )
      return { InstanceProfiles: page.map((p) => toProfile(cloud, p)), IsTruncated, ...(Marker ? { Marker } : {}) }
    },
    ListInstanceProfilesForRole: (input: ListInstanceProfilesForRoleRequest): ListInstanceProfilesForRoleResponse => {
      const role = input.RoleName ?? ''
      if (!cloud.shared.roles.has(role)) throw iamError('NoSuchEntity', `The role with name ${role} cannot be found.`)
      const { page, IsTruncated, Marker } = pageByName(
        [...profiles.values()].filter((p) => p.roles.includes(role)),
        (p) => p.name,
        input
      )
      return { InstanceProfiles: page.map((p) => toProfile(cloud, p)), IsTruncated, ...(Marker ? { Marker } : {}) }
    }
  }
}
