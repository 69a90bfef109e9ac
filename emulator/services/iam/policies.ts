/** IAM customer managed policies: CreatePolicy, versions, GetPolicy, DeletePolicy (kept in iam-policy/store.ts). */
import type {
  CreatePolicyRequest,
  CreatePolicyResponse,
  CreatePolicyVersionRequest,
  CreatePolicyVersionResponse,
  DeletePolicyRequest,
  DeletePolicyVersionRequest,
  GetPolicyRequest,
  GetPolicyResponse,
  GetPolicyVersionRequest,
  GetPolicyVersionResponse,
  ListPolicyVersionsRequest,
  ListPolicyVersionsResponse,
  Policy
} from '@aws-sdk/client-iam'
import type { Cloud } from '../../types.js'
import { newIamId } from '../../core/ids.js'
import { PolicyError, statements } from '../../iam-policy/evaluate.js'
import { policyStore, type ManagedPolicy } from '../../iam-policy/store.js'
import { iamError } from './errors.js'
import type { QueryHandler } from '../../protocols/query.js'

/** At most five versions of a managed policy (IAM quotas). */
const MAX_VERSIONS = 5

function checkDocument(doc: string | undefined): string {
  if (!doc)
    throw iamError(
      'ValidationError',
      "1 validation error detected: Value null at 'policyDocument' failed to satisfy constraint: Member must not be null"
    )
  try {
    statements(doc)
  } catch (err) {
    throw iamError('MalformedPolicyDocument', err instanceof PolicyError ? err.message : 'Syntax errors in policy.')
  }
  return doc
}

function attachments(cloud: Cloud, arn: string): number {
  let n = 0
  for (const set of policyStore(cloud).attachments.values()) if (set.has(arn)) n += 1
  return n
}

function toPolicy(cloud: Cloud, p: ManagedPolicy): Policy {
  const tags = Object.entries(p.tags).map(([Key, Value]) => ({ Key, Value }))
  return {
    PolicyName: p.policyName,
    PolicyId: p.policyId,
    Arn: p.arn,
    Path: p.path,
    DefaultVersionId: p.defaultVersionId,
    AttachmentCount: attachments(cloud, p.arn),
    PermissionsBoundaryUsageCount: 0,
    IsAttachable: true,
    Description: p.description,
    CreateDate: new Date(p.createdAt),
    UpdateDate: new Date(p.updatedAt),
    ...(tags.length > 0 ? { Tags: tags } : {})
  }
}

function find(cloud: Cloud, arn: string | undefined): ManagedPolicy {
  const p = policyStore(cloud).policies.get(arn ?? '')
  if (!p) throw iamError('NoSuchEntity', `Policy ${arn ?? ''} was not found.`)
  return p
}

export function policyHandlers(cloud: Cloud): Record<string, QueryHandler> {
  const store = policyStore(cloud)
  return {
    CreatePolicy: (input: CreatePolicyRequest): CreatePolicyResponse => {
      const name = input.PolicyName ?? ''
      if (!/^[\w+=,.@-]{1,128}$/.test(name))
        throw iamError(
          'ValidationError',
          `1 validation error detected: Value '${name}' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+`
        )
      const path = input.Path ?? '/'
      const arn = `arn:aws:iam::${cloud.accountId}:policy${path}${name}`
      if (store.policies.has(arn))
        throw iamError(
          'EntityAlreadyExists',
          `A policy called ${name} already exists. Duplicate names are not allowed.`
        )
      const now = Date.now()
      const policy: ManagedPolicy = {
        policyName: name,
        policyId: newIamId(cloud, 'ANPA'),
        arn,
        path,
        description: input.Description ?? '',
        createdAt: now,
        updatedAt: now,
        defaultVersionId: 'v1',
        versions: [{ versionId: 'v1', document: checkDocument(input.PolicyDocument), createdAt: now }],
        tags: Object.fromEntries((input.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']))
      }
      store.policies.set(arn, policy)
      return { Policy: toPolicy(cloud, policy) }
    },
    GetPolicy: (input: GetPolicyRequest): GetPolicyResponse => ({
      Policy: toPolicy(cloud, find(cloud, input.PolicyArn))
    }),
    DeletePolicy: (input: DeletePolicyRequest) => {
      const p = find(cloud, input.PolicyArn)
      if (attachments(cloud, p.arn) > 0)
        throw iamError('DeleteConflict', 'Cannot delete a policy attached to entities.')
      if (p.versions.length > 1)
        throw iamError(
          'DeleteConflict',
          "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy."
        )
      store.policies.delete(p.arn)
    },
    CreatePolicyVersion: (input: CreatePolicyVersionRequest): CreatePolicyVersionResponse => {
      const p = find(cloud, input.PolicyArn)
      const document = checkDocument(input.PolicyDocument)
      if (p.versions.length >= MAX_VERSIONS)
        throw iamError(
          'LimitExceeded',
          `A managed policy can have up to ${MAX_VERSIONS} versions. Before you create a new version, you must delete an existing version.`
        )
      const next = Math.max(...p.versions.map((v) => Number(v.versionId.slice(1)))) + 1
      const now = Date.now()
      const version = { versionId: `v${next}`, document, createdAt: now }
      p.versions.push(version)
      if (input.SetAsDefault) p.defaultVersionId = version.versionId
      p.updatedAt = now
      return {
        PolicyVersion: {
          VersionId: version.versionId,
          IsDefaultVersion: p.defaultVersionId === version.versionId,
          CreateDate: new Date(now)
        }
      }
    },
    GetPolicyVersion: (input: GetPolicyVersionRequest): GetPolicyVersionResponse => {
      const p = find(cloud, input.PolicyArn)
      const v = p.versions.find((x) => x.versionId === input.VersionId)
      if (!v)
        throw iamError(
          'NoSuchEntity',
          `Policy ${p.arn} version ${input.VersionId ?? ''} does not exist or is not attachable.`
        )
      return {
        PolicyVersion: {
          Document: encodeURIComponent(v.document),
          VersionId: v.versionId,
          IsDefaultVersion: v.versionId === p.defaultVersionId,
          CreateDate: new Date(v.createdAt)
        }
      }
    },
    ListPolicyVersions: (input: ListPolicyVersionsRequest): ListPolicyVersionsResponse => {
      const p = find(cloud, input.PolicyArn)
      const versions = [...p.versions].reverse().map((v) => ({
        VersionId: v.versionId,
        IsDefaultVersion: v.versionId === p.defaultVersionId,
        CreateDate: new Date(v.createdAt)
      }))
      return { Versions: versions, IsTruncated: false }
    },
    DeletePolicyVersion: (input: DeletePolicyVersionRequest) => {
      const p = find(cloud, input.PolicyArn)
      if (input.VersionId === p.defaultVersionId)
        throw iamError('DeleteConflict', 'Cannot delete the default version of a policy.')
      const before = p.versions.length
      p.versions = p.versions.filter((v) => v.versionId !== input.VersionId)
      if (p.versions.length === before)
        throw iamError(
          'NoSuchEntity',
          `Policy ${p.arn} version ${input.VersionId ?? ''} does not exist or is not attachable.`
        )
    }
  }
}
