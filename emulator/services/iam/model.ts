/** IAM's state: roles (kept in cloud.shared.roles), their inline and attached policies and tags. */
import type {
  AttachRolePolicyRequest,
  CreateRoleRequest,
  CreateRoleResponse,
  UpdateRoleRequest,
  UpdateRoleResponse,
  DeleteRolePolicyRequest,
  DeleteRoleRequest,
  GetRolePolicyRequest,
  GetRolePolicyResponse,
  ListAttachedRolePoliciesRequest,
  ListAttachedRolePoliciesResponse,
  ListRolePoliciesRequest,
  ListRolePoliciesResponse,
  ListRoleTagsRequest,
  ListRoleTagsResponse,
  ListRolesRequest,
  ListRolesResponse,
  PutRolePolicyRequest,
  Role,
  TagRoleRequest,
  UntagRoleRequest,
  UpdateAssumeRolePolicyRequest
} from '@aws-sdk/client-iam'
import type { Cloud, RoleRecord } from '../../types.js'
import { newIamId } from '../../core/ids.js'
import { policyStore } from '../../iam-policy/store.js'
import { iamError } from './errors.js'

function required(value: string | undefined, name: string): string {
  if (!value)
    throw iamError(
      'ValidationError',
      `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`
    )
  return value
}

function checkPolicyDocument(doc: string): void {
  try {
    const parsed: unknown = JSON.parse(doc)
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object')
  } catch {
    throw iamError('MalformedPolicyDocument', 'This policy contains invalid Json')
  }
}

/** An IAM path: `/` or `/a/b/` (IAM API reference, the Path parameter). */
export function checkPath(path: string | undefined, member = 'path'): string {
  const value = path ?? '/'
  if (value.length > 512 || !/^(\/|\/[\u0021-\u007E]+\/)$/.test(value))
    throw iamError(
      'ValidationError',
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)`
    )
  return value
}

/** The path of an IAM ARN (`arn:aws:iam::<account>:role/a/b/name` -> `/a/b/`). */
export function pathOfArn(arn: string): string {
  const resource = arn.split(':').slice(5).join(':')
  const parts = resource.split('/')
  return parts.length > 2 ? `/${parts.slice(1, -1).join('/')}/` : '/'
}

/** A page of a list sorted by name: Marker is the last name returned, MaxItems 1..1000 (default 100). */
export function pageByName<T>(
  items: T[],
  name: (item: T) => string,
  input: { Marker?: string; MaxItems?: number }
): { page: T[]; IsTruncated: boolean; Marker?: string } {
  const max = input.MaxItems ?? 100
  if (max < 1 || max > 1000)
    throw iamError(
      'ValidationError',
      `1 validation error detected: Value '${max}' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000`
    )
  const sorted = [...items].sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0))
  let start = 0
  if (input.Marker !== undefined) {
    const after = Buffer.from(input.Marker, 'base64').toString('utf8')
    start = sorted.findIndex((x) => name(x) > after)
    if (start < 0) start = sorted.length
  }
  const page = sorted.slice(start, start + max)
  const last = page.at(-1)
  const truncated = start + max < sorted.length && last !== undefined
  return {
    page,
    IsTruncated: truncated,
    ...(truncated ? { Marker: Buffer.from(name(last)).toString('base64') } : {})
  }
}

/** IAM's description: at most 1000 characters of its printable set. */
function checkDescription(description: string | undefined): void {
  if (description === undefined) return
  // tab, newline, carriage return and the printable Latin-1 range, as IAM's pattern says
  const allowed = [...description].every((c) => '\t\n\r'.includes(c) || /[\u0020-\u007E\u00A1-\u00FF]/.test(c))
  if (description.length > 1000 || !allowed)
    throw iamError(
      'ValidationError',
      "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000 and match the pattern [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*"
    )
}

export function toRole(r: RoleRecord): Role {
  const tags = Object.entries(r.tags).map(([Key, Value]) => ({ Key, Value }))
  return {
    Path: pathOfArn(r.arn),
    RoleName: r.roleName,
    RoleId: r.roleId,
    Arn: r.arn,
    CreateDate: new Date(r.createdAt),
    AssumeRolePolicyDocument: encodeURIComponent(r.assumeRolePolicyDocument),
    ...(r.description !== undefined ? { Description: r.description } : {}),
    MaxSessionDuration: r.maxSessionDuration ?? 3600,
    ...(tags.length > 0 ? { Tags: tags } : {})
  }
}

export class IamRoles {
  constructor(private readonly cloud: Cloud) {}

  /** Managed policy ARNs attached to each role (by role name), shared with the authorizer. */
  private get attached(): Map<string, Set<string>> {
    return policyStore(this.cloud).attachments
  }

  private get roles(): Map<string, RoleRecord> {
    return this.cloud.shared.roles
  }

  get(name: string | undefined): RoleRecord {
    const role = this.roles.get(required(name, 'roleName'))
    if (!role) throw iamError('NoSuchEntity', `The role with name ${name} cannot be found.`)
    return role
  }

  create(input: CreateRoleRequest): CreateRoleResponse {
    const name = required(input.RoleName, 'roleName')
    const doc = required(input.AssumeRolePolicyDocument, 'assumeRolePolicyDocument')
    if (this.roles.has(name)) throw iamError('EntityAlreadyExists', `Role with name ${name} already exists.`)
    checkPolicyDocument(doc)
    const path = checkPath(input.Path)
    checkDescription(input.Description)
    const record: RoleRecord = {
      roleName: name,
      arn: `arn:aws:iam::${this.cloud.accountId}:role${path}${name}`,
      roleId: newIamId(this.cloud, 'AROA'),
      createdAt: Date.now(),
      assumeRolePolicyDocument: doc,
      ...(input.Description !== undefined ? { description: input.Description } : {}),
      inlinePolicies: new Map(),
      tags: Object.fromEntries((input.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']))
    }
    this.roles.set(name, record)
    return { Role: toRole(record) }
  }

  delete(input: DeleteRoleRequest): void {
    const role = this.get(input.RoleName)
    if (role.inlinePolicies.size > 0) {
      throw iamError('DeleteConflict', 'Cannot delete entity, must delete policies first.')
    }
    if ((this.attached.get(role.roleName)?.size ?? 0) > 0) {
      throw iamError('DeleteConflict', 'Cannot delete entity, must detach all policies first.')
    }
    if ([...policyStore(this.cloud).instanceProfiles.values()].some((p) => p.roles.includes(role.roleName))) {
      throw iamError('DeleteConflict', 'Cannot delete entity, must remove roles from instance profile first.')
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
      throw iamError('NoSuchEntity', `The role policy with name ${input.PolicyName} cannot be found.`)
    }
    return { RoleName: role.roleName, PolicyName: input.PolicyName, PolicyDocument: encodeURIComponent(doc) }
  }

  deletePolicy(input: DeleteRolePolicyRequest): void {
    const role = this.get(input.RoleName)
    if (!role.inlinePolicies.delete(required(input.PolicyName, 'policyName'))) {
      throw iamError('NoSuchEntity', `The role policy with name ${input.PolicyName} cannot be found.`)
    }
  }

  listPolicies(input: ListRolePoliciesRequest): ListRolePoliciesResponse {
    const role = this.get(input.RoleName)
    return { PolicyNames: [...role.inlinePolicies.keys()].sort(), IsTruncated: false }
  }

  attach(input: AttachRolePolicyRequest): void {
    const role = this.get(input.RoleName)
    const arn = required(input.PolicyArn, 'policyArn')
    if (!/^arn:aws:iam::(aws|\d{12}):policy\/.+/.test(arn)) throw iamError('InvalidInput', `ARN ${arn} is not valid.`)
    if (arn.includes(`::${this.cloud.accountId}:`) && !policyStore(this.cloud).policies.has(arn)) {
      throw iamError('NoSuchEntity', `Policy ${arn} does not exist or is not attachable.`)
    }
    const set = this.attached.get(role.roleName) ?? new Set<string>()
    set.add(arn)
    this.attached.set(role.roleName, set)
  }

  detach(input: AttachRolePolicyRequest): void {
    const role = this.get(input.RoleName)
    if (!this.attached.get(role.roleName)?.delete(required(input.PolicyArn, 'policyArn'))) {
      throw iamError('NoSuchEntity', `Policy ${input.PolicyArn} was not found.`)
    }
  }

  listAttached(input: ListAttachedRolePoliciesRequest): ListAttachedRolePoliciesResponse {
    const role = this.get(input.RoleName)
    const arns = [...(this.attached.get(role.roleName) ?? [])].sort()
    return {
      AttachedPolicies: arns.map((PolicyArn) => ({ PolicyArn, PolicyName: PolicyArn.split('/').pop() })),
      IsTruncated: false
    }
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

  list(input: ListRolesRequest): ListRolesResponse {
    const prefix = input.PathPrefix ?? '/'
    const matching = [...this.roles.values()].filter((r) => pathOfArn(r.arn).startsWith(prefix))
    const { page, IsTruncated, Marker } = pageByName(matching, (r) => r.roleName, input)
    // ListRoles leaves out tags (GetRole has them)
    return {
      Roles: page.map((r) => {
        const { Tags: _tags, ...role } = toRole(r)
        return role
      }),
      IsTruncated,
      ...(Marker ? { Marker } : {})
    }
  }

  /** UpdateRole: the description and the maximum session duration; other members stay. */
  update(input: UpdateRoleRequest): UpdateRoleResponse {
    const role = this.get(input.RoleName)
    checkDescription(input.Description)
    const duration = input.MaxSessionDuration
    if (duration !== undefined && (duration < 3600 || duration > 43200))
      throw iamError(
        'ValidationError',
        `1 validation error detected: Value '${duration}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200`
      )
    if (input.Description !== undefined) role.description = input.Description
    if (duration !== undefined) role.maxSessionDuration = duration
    return {}
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
      attachedPolicies: [...(this.attached.get(r.roleName) ?? [])].sort(),
      tags: r.tags
    }))
  }
}
