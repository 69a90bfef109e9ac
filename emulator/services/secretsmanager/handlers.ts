/** Secrets Manager's operations, one row each. */
import type {
  CreateSecretRequest,
  CreateSecretResponse,
  DeleteSecretRequest,
  DeleteSecretResponse,
  DescribeSecretRequest,
  DescribeSecretResponse,
  GetSecretValueRequest,
  GetSecretValueResponse,
  ListSecretsRequest,
  ListSecretsResponse,
  PutSecretValueRequest,
  PutSecretValueResponse,
  RestoreSecretRequest,
  RestoreSecretResponse
} from '@aws-sdk/client-secrets-manager'
import type { JsonContext, JsonHandler } from '../../protocols/json-rpc.js'
import { secretsManagerError } from './errors.js'
import type { Secret, SecretStore } from './model.js'

const NAME = /^[A-Za-z0-9/_+=.@!-]{1,512}$/
const DAY_MS = 24 * 60 * 60 * 1000
const MAX_VALUE = 65536

function secretValue(input: { SecretString?: string; SecretBinary?: Uint8Array }): {
  string?: string
  binary?: Uint8Array
} {
  if (input.SecretString !== undefined && input.SecretBinary !== undefined)
    throw secretsManagerError(
      'InvalidParameterException',
      "You can't specify both a binary secret value and a string secret value in the same secret."
    )
  // a secret value holds at most 64 KB (Secrets Manager quotas)
  const size = input.SecretString !== undefined ? input.SecretString.length : (input.SecretBinary?.length ?? 0)
  if (size > MAX_VALUE)
    throw secretsManagerError(
      'ValidationException',
      `1 validation error detected: Value at '${input.SecretString !== undefined ? 'secretString' : 'secretBinary'}' failed to satisfy constraint: Member must have length less than or equal to ${MAX_VALUE}`
    )
  if (input.SecretString !== undefined) return { string: input.SecretString }
  if (input.SecretBinary !== undefined) return { binary: input.SecretBinary }
  return {}
}

function checkToken(token: string | undefined): string | undefined {
  if (token !== undefined && (token.length < 32 || token.length > 64))
    throw secretsManagerError(
      'InvalidParameterException',
      `1 validation error detected: Value '${token}' at 'clientRequestToken' failed to satisfy constraint: Member must have length greater than or equal to 32`
    )
  return token
}

function notFound(): Error {
  return secretsManagerError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.")
}

function markedForDeletion(): Error {
  return secretsManagerError(
    'InvalidRequestException',
    "You can't perform this operation on the secret because it was marked for deletion."
  )
}

export function handlers(store: SecretStore): Record<string, JsonHandler> {
  const find = (region: string, id: string | undefined): Secret => {
    if (!id)
      throw secretsManagerError(
        'InvalidParameterException',
        "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null"
      )
    const s = store.find(region, id)
    if (!s) throw notFound()
    return s
  }
  const live = (region: string, id: string | undefined): Secret => {
    const s = find(region, id)
    if (s.deletionDate !== undefined) throw markedForDeletion()
    return s
  }
  return {
    CreateSecret: (input: CreateSecretRequest, ctx: JsonContext): CreateSecretResponse => {
      const name = input.Name ?? ''
      if (!NAME.test(name))
        throw secretsManagerError(
          'InvalidParameterException',
          'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!'
        )
      const value = secretValue(input)
      const token = checkToken(input.ClientRequestToken)
      const existing = store.find(ctx.region, name)
      if (existing?.deletionDate !== undefined)
        throw secretsManagerError(
          'InvalidRequestException',
          "You can't create this secret because a secret with this name is already scheduled for deletion."
        )
      if (existing)
        throw secretsManagerError(
          'ResourceExistsException',
          `The operation failed because the secret ${name} already exists.`
        )
      const secret = store.create(ctx.region, name, {
        ...(input.Description !== undefined ? { description: input.Description } : {}),
        ...(input.KmsKeyId !== undefined ? { kmsKeyId: input.KmsKeyId } : {}),
        tags: (input.Tags ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' }))
      })
      const version =
        value.string !== undefined || value.binary !== undefined ? store.addVersion(secret, value, token) : undefined
      return { ARN: secret.arn, Name: secret.name, ...(version ? { VersionId: version.versionId } : {}) }
    },
    GetSecretValue: (input: GetSecretValueRequest, ctx: JsonContext): GetSecretValueResponse => {
      const secret = live(ctx.region, input.SecretId)
      const stage = input.VersionStage ?? (input.VersionId ? undefined : 'AWSCURRENT')
      const version = secret.versions.find(
        (v) => (!input.VersionId || v.versionId === input.VersionId) && (!stage || v.stages.includes(stage))
      )
      if (!version)
        throw secretsManagerError(
          'ResourceNotFoundException',
          input.VersionId
            ? `Secrets Manager can't find the specified secret value for VersionId: ${input.VersionId}`
            : `Secrets Manager can't find the specified secret value for staging label: ${stage ?? 'AWSCURRENT'}`
        )
      secret.accessedAt = Date.now()
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.versionId,
        ...(version.string !== undefined ? { SecretString: version.string } : {}),
        ...(version.binary !== undefined ? { SecretBinary: version.binary } : {}),
        VersionStages: [...version.stages],
        CreatedDate: new Date(version.createdAt)
      }
    },
    DescribeSecret: (input: DescribeSecretRequest, ctx: JsonContext): DescribeSecretResponse => {
      const s = find(ctx.region, input.SecretId)
      return {
        ARN: s.arn,
        Name: s.name,
        ...(s.description !== undefined ? { Description: s.description } : {}),
        ...(s.kmsKeyId !== undefined ? { KmsKeyId: s.kmsKeyId } : {}),
        RotationEnabled: false,
        LastChangedDate: new Date(s.changedAt),
        ...(s.accessedAt ? { LastAccessedDate: new Date(new Date(s.accessedAt).setUTCHours(0, 0, 0, 0)) } : {}),
        ...(s.deletionDate !== undefined ? { DeletedDate: new Date(s.deletionDate) } : {}),
        ...(s.tags.length > 0 ? { Tags: s.tags } : {}),
        VersionIdsToStages: Object.fromEntries(s.versions.map((v) => [v.versionId, [...v.stages]])),
        CreatedDate: new Date(s.createdAt)
      }
    },
    PutSecretValue: (input: PutSecretValueRequest, ctx: JsonContext): PutSecretValueResponse => {
      const secret = live(ctx.region, input.SecretId)
      const value = secretValue(input)
      if (value.string === undefined && value.binary === undefined)
        throw secretsManagerError('InvalidRequestException', 'You must provide either SecretString or SecretBinary.')
      const token = checkToken(input.ClientRequestToken)
      const same = token ? secret.versions.find((v) => v.versionId === token) : undefined
      if (same) {
        // a retry with the same token and value is idempotent; another value is refused
        const equal =
          same.string === value.string && Buffer.from(same.binary ?? []).equals(Buffer.from(value.binary ?? []))
        if (!equal)
          throw secretsManagerError(
            'ResourceExistsException',
            "You can't modify an existing version, you can only create a new version."
          )
        return { ARN: secret.arn, Name: secret.name, VersionId: same.versionId, VersionStages: [...same.stages] }
      }
      const version = store.addVersion(secret, value, token, input.VersionStages ?? ['AWSCURRENT'])
      return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: [...version.stages] }
    },
    DeleteSecret: (input: DeleteSecretRequest, ctx: JsonContext): DeleteSecretResponse => {
      const secret = find(ctx.region, input.SecretId)
      if (input.ForceDeleteWithoutRecovery && input.RecoveryWindowInDays !== undefined)
        throw secretsManagerError(
          'InvalidParameterException',
          "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
        )
      const days = input.RecoveryWindowInDays ?? 30
      if (days < 7 || days > 30)
        throw secretsManagerError(
          'InvalidParameterException',
          'The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).'
        )
      if (input.ForceDeleteWithoutRecovery) {
        store.remove(secret)
        return { ARN: secret.arn, Name: secret.name, DeletionDate: new Date() }
      }
      if (secret.deletionDate !== undefined) throw markedForDeletion()
      secret.deletionDate = Date.now() + days * DAY_MS
      return { ARN: secret.arn, Name: secret.name, DeletionDate: new Date(secret.deletionDate) }
    },
    RestoreSecret: (input: RestoreSecretRequest, ctx: JsonContext): RestoreSecretResponse => {
      const secret = find(ctx.region, input.SecretId)
      delete secret.deletionDate
      return { ARN: secret.arn, Name: secret.name }
    },
    ListSecrets: (input: ListSecretsRequest, ctx: JsonContext): ListSecretsResponse => {
      const size = input.MaxResults ?? 100
      if (size < 1 || size > 100)
        throw secretsManagerError(
          'InvalidParameterException',
          `1 validation error detected: Value '${size}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100`
        )
      const names = (input.Filters ?? []).filter((f) => f.Key === 'name').flatMap((f) => f.Values ?? [])
      const all = store
        .list(ctx.region)
        .filter((s) => input.IncludePlannedDeletion === true || s.deletionDate === undefined)
        .filter((s) => names.length === 0 || names.some((n) => s.name.startsWith(n)))
      const start = input.NextToken ? Number(Buffer.from(input.NextToken, 'base64').toString('utf8')) : 0
      if (!Number.isInteger(start) || start < 0 || start > all.length)
        throw secretsManagerError('InvalidNextTokenException', 'The NextToken value is invalid.')
      const items = all.slice(start, start + size)
      return {
        SecretList: items.map((s) => ({
          ARN: s.arn,
          Name: s.name,
          ...(s.description !== undefined ? { Description: s.description } : {}),
          ...(s.kmsKeyId !== undefined ? { KmsKeyId: s.kmsKeyId } : {}),
          LastChangedDate: new Date(s.changedAt),
          ...(s.deletionDate !== undefined ? { DeletedDate: new Date(s.deletionDate) } : {}),
          ...(s.tags.length > 0 ? { Tags: s.tags } : {}),
          SecretVersionsToStages: Object.fromEntries(s.versions.map((v) => [v.versionId, [...v.stages]])),
          CreatedDate: new Date(s.createdAt)
        })),
        ...(start + size < all.length ? { NextToken: Buffer.from(String(start + size)).toString('base64') } : {})
      }
    }
  }
}
