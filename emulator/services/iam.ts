/** IAM: roles and their inline policies, kept in cloud.shared.roles. */
import * as iam from '@aws-sdk/client-iam'
import type {
  AttachRolePolicyRequest,
  CreateRoleRequest,
  CreateRoleResponse,
  DeleteRolePolicyRequest,
  DeleteRoleRequest,
  GetRolePolicyRequest,
  GetRolePolicyResponse,
  GetRoleRequest,
  GetRoleResponse,
  ListAttachedRolePoliciesRequest,
  ListAttachedRolePoliciesResponse,
  ListRolePoliciesRequest,
  ListRolePoliciesResponse,
  ListRoleTagsRequest,
  ListRoleTagsResponse,
  PutRolePolicyRequest,
  Role,
  TagRoleRequest,
  UntagRoleRequest,
  UpdateAssumeRolePolicyRequest
} from '@aws-sdk/client-iam'
import { AwsError } from '../types.js'
import type { Cloud, RoleRecord, ServiceModule } from '../types.js'
import { newIamId } from '../core/ids.js'
import { createQueryModule } from '../protocols/query.js'

function required(value: string | undefined, name: string): string {
  if (!value) throw new AwsError('ValidationError', `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`)
  return value
}

function checkPolicyDocument(doc: string): void {
  try {
    const parsed: unknown = JSON.parse(doc)
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object')
  } catch {
    throw new AwsError('MalformedPolicyDocument', 'This policy contains invalid Json')
  }
}

function toRole(r: RoleRecord): Role {
  const tags = Object.entries(r.tags).map(([Key, Value]) => ({ Key, Value }))
  return {
    Path: '/',
    RoleName: r.roleName,
    RoleId: r.roleId,
    Arn: r.arn,
    CreateDate: new Date(r.createdAt),
    AssumeRolePolicyDocument: encodeURIComponent(r.assumeRolePolicyDocument),
    MaxSessionDuration: 3600,
    ...(tags.length > 0 ? { Tags: tags } : {})
  }
}

class IamRoles {
  /** Managed policy ARNs attached to each role (by role name). */
  private readonly attached = new Map<string, Set<string>>()

  constructor(private readonly cloud: Cloud) {}

  private get roles(): Map<string, RoleRecord> {
    return this.cloud.shared.roles
  }

  get(name: string | undefined): RoleRecord {
    const role = this.roles.get(required(name, 'roleName'))
    if (!role) throw new AwsError('NoSuchEntity', `The role with name ${name} cannot be found.`, 404)
    return role
  }

  create(input: CreateRoleRequest): CreateRoleResponse {
    const name = required(input.RoleName, 'roleName')
    const doc = required(input.AssumeRolePolicyDocument, 'assumeRolePolicyDocument')
    if (this.roles.has(name)) throw new AwsError('EntityAlreadyExists', `Role with name ${name} already exists.`, 409)
    checkPolicyDocument(doc)
    const path = input.Path ?? '/'
    const record: RoleRecord = {
      roleName: name,
      arn: `arn:aws:iam::${this.cloud.accountId}:role${path}${name}`,
      roleId: newIamId(this.cloud, 'AROA'),
      createdAt: Date.now(),
      assumeRolePolicyDocument: doc,
      inlinePolicies: new Map(),
      tags: Object.fromEntries((input.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']))
    }
    this.roles.set(name, record)
    return { Role: toRole(record) }
  }

  delete(input: DeleteRoleRequest): void {
    const role = this.get(input.RoleName)
    if (role.inlinePolicies.size > 0) {
      throw new AwsError('DeleteConflict', 'Cannot delete entity, must delete policies first.', 409)
    }
    if ((this.attached.get(role.roleName)?.size ?? 0) > 0) {
      throw new AwsError('DeleteConflict', 'Cannot delete entity, must detach all policies first.', 409)
    }
    this.roles.delete(role.roleName)
    this.attached.delete(role.roleName)
  }

  putPolicy(input: PutRolePolicyRequest): void {
    const role = this.get(input.RoleName)
    const doc = required(input.PolicyDocument, 'policyDocument')
    checkPolicyDocument(doc)
    role.inlinePolicies.set(required(input.PolicyName, 'policyName'), doc)
  }

  getPolicy(input: GetRolePolicyRequest): GetRolePolicyResponse {
    const role = this.get(input.RoleName)
    const doc = role.inlinePolicies.get(required(input.PolicyName, 'policyName'))
    if (doc === undefined) {
      throw new AwsError('NoSuchEntity', `The role policy with name ${input.PolicyName} cannot be found.`, 404)
    }
    return { RoleName: role.roleName, PolicyName: input.PolicyName, PolicyDocument: encodeURIComponent(doc) }
  }

  deletePolicy(input: DeleteRolePolicyRequest): void {
    const role = this.get(input.RoleName)
    if (!role.inlinePolicies.delete(required(input.PolicyName, 'policyName'))) {
      throw new AwsError('NoSuchEntity', `The role policy with name ${input.PolicyName} cannot be found.`, 404)
    }
  }

  listPolicies(input: ListRolePoliciesRequest): ListRolePoliciesResponse {
    const role = this.get(input.RoleName)
    return { PolicyNames: [...role.inlinePolicies.keys()].sort(), IsTruncated: false }
  }

  attach(input: AttachRolePolicyRequest): void {
    const role = this.get(input.RoleName)
    const arn = required(input.PolicyArn, 'policyArn')
    if (!/^arn:aws:iam::(aws|\d{12}):policy\/.+/.test(arn)) throw new AwsError('InvalidInput', `ARN ${arn} is not valid.`)
    const set = this.attached.get(role.roleName) ?? new Set<string>()
    set.add(arn)
    this.attached.set(role.roleName, set)
  }

  detach(input: AttachRolePolicyRequest): void {
    const role = this.get(input.RoleName)
    if (!this.attached.get(role.roleName)?.delete(required(input.PolicyArn, 'policyArn'))) {
      throw new AwsError('NoSuchEntity', `Policy ${input.PolicyArn} was not found.`, 404)
    }
  }

  listAttached(input: ListAttachedRolePoliciesRequest): ListAttachedRolePoliciesResponse {
    const role = this.get(input.RoleName)
    const arns = [...(this.attached.get(role.roleName) ?? [])].sort()
    return { AttachedPolicies: arns.map((PolicyArn) => ({ PolicyArn, PolicyName: PolicyArn.split('/').pop() })), IsTruncated: false }
  }

  tag(input: TagRoleRequest): void {
    const role = this.get(input.RoleName)
    for (const t of input.Tags ?? []) role.tags[t.Key ?? ''] = t.Value ?? ''
  }

  untag(input: UntagRoleRequest): void {
    const role = this.get(input.RoleName)
    for (const key of input.TagKeys ?? []) delete role.tags[key]
  }

  listTags(input: ListRoleTagsRequest): ListRoleTagsResponse {
    const role = this.get(input.RoleName)
    return { Tags: Object.entries(role.tags).map(([Key, Value]) => ({ Key, Value })), IsTruncated: false }
  }

  updateTrust(input: UpdateAssumeRolePolicyRequest): void {
    const role = this.get(input.RoleName)
    const doc = required(input.PolicyDocument, 'policyDocument')
    checkPolicyDocument(doc)
    role.assumeRolePolicyDocument = doc
  }

  state(): unknown {
    return [...this.roles.values()].map((r) => ({
      roleName: r.roleName,
      arn: r.arn,
      createdAt: new Date(r.createdAt).toISOString(),
      assumeRolePolicyDocument: r.assumeRolePolicyDocument,
      inlinePolicies: Object.fromEntries(r.inlinePolicies),
      tags: r.tags
    }))
  }
}

export function createIam(cloud: Cloud): ServiceModule {
  const roles = new IamRoles(cloud)
  return createQueryModule({
    signingName: 'iam',
    flavor: 'query',
    xmlns: 'https://iam.amazonaws.com/doc/2010-05-08/',
    schemas: iam as unknown as Record<string, unknown>,
    throttleCode: 'Throttling',
    throttleStatus: 400,
    serverErrorCode: 'ServiceFailure',
    state: () => ({ roles: roles.state() }),
    handlers: {
      CreateRole: (input: CreateRoleRequest) => roles.create(input),
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
  })
}
