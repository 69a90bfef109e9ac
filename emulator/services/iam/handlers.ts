/** IAM's operations, one row each. */
import type {
  AttachRolePolicyRequest,
  CreateRoleRequest,
  DeleteRolePolicyRequest,
  DeleteRoleRequest,
  GetRolePolicyRequest,
  GetRoleRequest,
  GetRoleResponse,
  ListAttachedRolePoliciesRequest,
  ListRolePoliciesRequest,
  ListRoleTagsRequest,
  ListRolesRequest,
  PutRolePolicyRequest,
  TagRoleRequest,
  UntagRoleRequest,
  UpdateAssumeRolePolicyRequest
} from '@aws-sdk/client-iam'
import type { QueryHandler } from '../../protocols/query.js'
import type { Cloud } from '../../types.js'
import { toRole, type IamRoles } from './model.js'
import { instanceProfileHandlers } from './instance-profiles.js'
import { oidcProviderHandlers } from './oidc-providers.js'
import { policyHandlers } from './policies.js'

export function handlers(cloud: Cloud, roles: IamRoles): Record<string, QueryHandler> {
  return {
    ...policyHandlers(cloud),
    ...instanceProfileHandlers(cloud),
    ...oidcProviderHandlers(cloud),
    CreateRole: (input: CreateRoleRequest) => roles.create(input),
    ListRoles: (input: ListRolesRequest) => roles.list(input),
    GetRole: (input: GetRoleRequest): GetRoleResponse => ({ Role: toRole(roles.get(input.RoleName)) }),
    DeleteRole: (input: DeleteRoleRequest) => roles.delete(input),
    PutRolePolicy: (input: PutRolePolicyRequest) => roles.putPolicy(input),
    GetRolePolicy: (input: GetRolePolicyRequest) => roles.getPolicy(input),
    DeleteRolePolicy: (input: DeleteRolePolicyRequest) => roles.deletePolicy(input),
    ListRolePolicies: (input: ListRolePoliciesRequest) => roles.listPolicies(input),
    AttachRolePolicy: (input: AttachRolePolicyRequest) => roles.attach(input),
    DetachRolePolicy: (input: AttachRolePolicyRequest) => roles.detach(input),
    ListAttachedRolePolicies: (input: ListAttachedRolePoliciesRequest) => roles.listAttached(input),
    TagRole: (input: TagRoleRequest) => roles.tag(input),
    UntagRole: (input: UntagRoleRequest) => roles.untag(input),
    ListRoleTags: (input: ListRoleTagsRequest) => roles.listTags(input),
    UpdateAssumeRolePolicy: (input: UpdateAssumeRolePolicyRequest) => roles.updateTrust(input)
  }
}
