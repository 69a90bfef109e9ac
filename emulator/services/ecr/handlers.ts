/** ECR's operations, one row each: registry tokens, repositories and their settings and tags, images (images.ts). */
import { randomBytes } from 'node:crypto'
import type {
  CreateRepositoryRequest,
  CreateRepositoryResponse,
  DeleteLifecyclePolicyRequest,
  DeleteLifecyclePolicyResponse,
  DeleteRepositoryRequest,
  DeleteRepositoryResponse,
  DescribeRepositoriesRequest,
  DescribeRepositoriesResponse,
  GetAuthorizationTokenResponse,
  GetLifecyclePolicyRequest,
  GetLifecyclePolicyResponse,
  ImageTagMutabilityExclusionFilter,
  ListTagsForResourceRequest,
  ListTagsForResourceResponse,
  PutImageScanningConfigurationRequest,
  PutImageScanningConfigurationResponse,
  PutImageTagMutabilityRequest,
  PutImageTagMutabilityResponse,
  PutLifecyclePolicyRequest,
  PutLifecyclePolicyResponse,
  Repository as SdkRepository,
  Tag,
  TagResourceRequest,
  TagResourceResponse,
  UntagResourceRequest,
  UntagResourceResponse
} from '@aws-sdk/client-ecr'
import type { JsonContext, JsonHandler } from '../../protocols/json-rpc.js'
import type { Cloud } from '../../types.js'
import { ecrError } from './errors.js'
import { imageHandlers } from './images.js'
import { validateLifecyclePolicy } from './lifecycle.js'
import { page, repositoryNotFound, repositoryOf } from './lookup.js'
import {
  ecrStore,
  parseRepositoryArn,
  registryHost,
  repositoryArn,
  repositoryKey,
  TOKEN_TTL_MS,
  type Repository,
  type TagMutability
} from './model.js'

const NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/
const MUTABILITIES: readonly string[] = ['MUTABLE', 'IMMUTABLE', 'MUTABLE_WITH_EXCLUSION', 'IMMUTABLE_WITH_EXCLUSION']
const ENCRYPTIONS: readonly string[] = ['AES256', 'KMS', 'KMS_DSSE']
const MAX_TAGS = 50

function toRepository(cloud: Cloud, r: Repository): SdkRepository {
  return {
    repositoryArn: r.arn,
    registryId: cloud.accountId,
    repositoryName: r.name,
    repositoryUri: r.uri,
    createdAt: new Date(r.createdAt),
    imageTagMutability: r.imageTagMutability,
    ...(r.mutabilityExclusions.length > 0 ? { imageTagMutabilityExclusionFilters: exclusionFilters(r) } : {}),
    imageScanningConfiguration: { scanOnPush: r.scanOnPush },
    encryptionConfiguration: { ...r.encryption } as SdkRepository['encryptionConfiguration']
  }
}

function exclusionFilters(r: Repository): ImageTagMutabilityExclusionFilter[] {
  return r.mutabilityExclusions.map((filter) => ({ filterType: 'WILDCARD', filter }))
}

/** The mutability setting and its exclusion patterns: the filters come with, and only with, a *_WITH_EXCLUSION setting. */
function mutability(
  value: string | undefined,
  filters: ImageTagMutabilityExclusionFilter[] | undefined
): { setting: TagMutability; exclusions: string[] } {
  const setting = value ?? 'MUTABLE'
  if (!MUTABILITIES.includes(setting))
    throw ecrError(
      'InvalidParameterException',
      `Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [${MUTABILITIES.join(', ')}]'`
    )
  const withExclusion = setting.endsWith('_WITH_EXCLUSION')
  const list = filters ?? []
  if (withExclusion && (list.length < 1 || list.length > 5))
    throw ecrError(
      'InvalidParameterException',
      `Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: '${setting} needs 1 to 5 filters'`
    )
  if (!withExclusion && list.length > 0)
    throw ecrError(
      'InvalidParameterException',
      `Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: 'filters are allowed only with MUTABLE_WITH_EXCLUSION or IMMUTABLE_WITH_EXCLUSION'`
    )
  for (const f of list)
    if (f.filterType !== 'WILDCARD' || !/^[0-9a-zA-Z._*-]{1,128}$/.test(f.filter ?? ''))
      throw ecrError(
        'InvalidParameterException',
        "Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: 'a WILDCARD filter of letters, digits, . _ - and *'"
      )
  return { setting: setting as TagMutability, exclusions: list.map((f) => f.filter ?? '') }
}

/** Tags as ECR takes them: keys 1..128 characters, not under aws:, values up to 256; at most 50 on a repository. */
function validTags(tags: Tag[] | undefined): { Key: string; Value: string }[] {
  const out = (tags ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' }))
  for (const t of out)
    if (t.Key.length < 1 || t.Key.length > 128 || t.Value.length > 256 || /^aws:/i.test(t.Key))
      throw ecrError(
        'InvalidTagParameterException',
        `The tag '${t.Key}' is not valid: keys are 1 to 128 characters, not beginning with aws:, values at most 256`
      )
  return out
}

function mergeTags(current: { Key: string; Value: string }[], added: { Key: string; Value: string }[]): typeof current {
  const merged = new Map(current.map((t) => [t.Key, t.Value]))
  for (const t of added) merged.set(t.Key, t.Value)
  if (merged.size > MAX_TAGS) throw ecrError('TooManyTagsException', `A repository can have at most ${MAX_TAGS} tags`)
  return [...merged].map(([Key, Value]) => ({ Key, Value }))
}

/** The repository a tagging call's resourceArn names (InvalidParameterException when it names none). */
function taggedRepository(cloud: Cloud, region: string, arn: string | undefined): Repository {
  const parsed = parseRepositoryArn(arn ?? '')
  if (!parsed)
    throw ecrError(
      'InvalidParameterException',
      "Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'"
    )
  const repo =
    parsed.region === region && parsed.account === cloud.accountId
      ? ecrStore(cloud).repositories.get(repositoryKey(region, parsed.name))
      : undefined
  if (!repo) throw repositoryNotFound(cloud, parsed.name)
  return repo
}

function noLifecyclePolicy(cloud: Cloud, name: string): Error {
  return ecrError(
    'LifecyclePolicyNotFoundException',
    `Lifecycle policy does not exist for the repository with name '${name}' in the registry with id '${cloud.accountId}'`
  )
}

/** The access key id of the request's SigV4 credential scope. */
function signer(ctx: JsonContext): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(ctx.req.headers.authorization ?? '')?.[1]
}

export function handlers(cloud: Cloud): Record<string, JsonHandler> {
  const store = ecrStore(cloud)
  return {
    GetAuthorizationToken: (_input: unknown, ctx: JsonContext): GetAuthorizationTokenResponse => {
      const password = `eyJwYXlsb2FkIjoi${randomBytes(48).toString('base64url')}`
      const expiresAt = Date.now() + TOKEN_TTL_MS
      const accessKeyId = signer(ctx)
      store.tokens.set(password, { password, region: ctx.region, expiresAt, ...(accessKeyId ? { accessKeyId } : {}) })
      return {
        authorizationData: [
          {
            authorizationToken: Buffer.from(`AWS:${password}`).toString('base64'),
            expiresAt: new Date(expiresAt),
            proxyEndpoint: `https://${registryHost(cloud.accountId, ctx.region)}`
          }
        ]
      }
    },
    CreateRepository: (input: CreateRepositoryRequest, ctx: JsonContext): CreateRepositoryResponse => {
      const name = input.repositoryName ?? ''
      if (name.length < 2 || name.length > 256 || !NAME.test(name))
        throw ecrError(
          'InvalidParameterException',
          `Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''`
        )
      const { setting, exclusions } = mutability(input.imageTagMutability, input.imageTagMutabilityExclusionFilters)
      const encryption = input.encryptionConfiguration ?? { encryptionType: 'AES256' }
      if (!ENCRYPTIONS.includes(encryption.encryptionType ?? ''))
        throw ecrError(
          'InvalidParameterException',
          "Invalid parameter at 'encryptionConfiguration.encryptionType' failed to satisfy constraint: 'Member must satisfy enum value set: [AES256, KMS, KMS_DSSE]'"
        )
      if (encryption.kmsKey !== undefined && encryption.encryptionType === 'AES256')
        throw ecrError(
          'InvalidParameterException',
          "Invalid parameter at 'encryptionConfiguration.kmsKey' failed to satisfy constraint: 'kmsKey can be given only with encryptionType KMS or KMS_DSSE'"
        )
      const tags = mergeTags([], validTags(input.tags))
      const key = repositoryKey(ctx.region, name)
      if (store.repositories.has(key))
        throw ecrError(
          'RepositoryAlreadyExistsException',
          `The repository with name '${name}' already exists in the registry with id '${cloud.accountId}'`
        )
      const repo: Repository = {
        name,
        region: ctx.region,
        arn: repositoryArn({ region: ctx.region, account: cloud.accountId }, name),
        uri: `${registryHost(cloud.accountId, ctx.region)}/${name}`,
        createdAt: Date.now(),
        imageTagMutability: setting,
        mutabilityExclusions: exclusions,
        scanOnPush: input.imageScanningConfiguration?.scanOnPush === true,
        encryption: {
          encryptionType: encryption.encryptionType ?? 'AES256',
          ...(encryption.kmsKey !== undefined ? { kmsKey: encryption.kmsKey } : {})
        },
        tags,
        images: new Map()
      }
      store.repositories.set(key, repo)
      return { repository: toRepository(cloud, repo) }
    },
    DescribeRepositories: (input: DescribeRepositoriesRequest, ctx: JsonContext): DescribeRepositoriesResponse => {
      const names = input.repositoryNames
      if (names) {
        if (input.maxResults !== undefined || input.nextToken !== undefined)
          throw ecrError(
            'InvalidParameterException',
            'Invalid parameter: maxResults and nextToken cannot be used when you specify repositoryNames'
          )
        return {
          repositories: names.map((name) =>
            toRepository(cloud, repositoryOf(cloud, ctx.region, { repositoryName: name, registryId: input.registryId }))
          )
        }
      }
      const all = [...store.repositories.values()]
        .filter((r) => r.region === ctx.region)
        .sort((a, b) => (a.name < b.name ? -1 : 1))
      const one = page(all, input)
      return {
        repositories: one.items.map((r) => toRepository(cloud, r)),
        ...(one.nextToken ? { nextToken: one.nextToken } : {})
      }
    },
    DeleteRepository: (input: DeleteRepositoryRequest, ctx: JsonContext): DeleteRepositoryResponse => {
      const repo = repositoryOf(cloud, ctx.region, input)
      if (repo.images.size > 0 && input.force !== true)
        throw ecrError(
          'RepositoryNotEmptyException',
          `The repository with name '${repo.name}' in registry with id '${cloud.accountId}' cannot be deleted because it still contains images`
        )
      store.repositories.delete(repositoryKey(ctx.region, repo.name))
      return { repository: toRepository(cloud, repo) }
    },
    PutImageTagMutability: (input: PutImageTagMutabilityRequest, ctx: JsonContext): PutImageTagMutabilityResponse => {
      const repo = repositoryOf(cloud, ctx.region, input)
      if (input.imageTagMutability === undefined)
        throw ecrError('InvalidParameterException', "Invalid parameter at 'imageTagMutability': it is required")
      const { setting, exclusions } = mutability(input.imageTagMutability, input.imageTagMutabilityExclusionFilters)
      repo.imageTagMutability = setting
      repo.mutabilityExclusions = exclusions
      return {
        registryId: cloud.accountId,
        repositoryName: repo.name,
        imageTagMutability: setting,
        ...(exclusions.length > 0 ? { imageTagMutabilityExclusionFilters: exclusionFilters(repo) } : {})
      }
    },
    PutImageScanningConfiguration: (
      input: PutImageScanningConfigurationRequest,
      ctx: JsonContext
    ): PutImageScanningConfigurationResponse => {
      const repo = repositoryOf(cloud, ctx.region, input)
      repo.scanOnPush = input.imageScanningConfiguration?.scanOnPush === true
      return {
        registryId: cloud.accountId,
        repositoryName: repo.name,
        imageScanningConfiguration: { scanOnPush: repo.scanOnPush }
      }
    },
    PutLifecyclePolicy: (input: PutLifecyclePolicyRequest, ctx: JsonContext): PutLifecyclePolicyResponse => {
      const repo = repositoryOf(cloud, ctx.region, input)
      const text = input.lifecyclePolicyText ?? ''
      validateLifecyclePolicy(text)
      repo.lifecyclePolicy = text
      return { registryId: cloud.accountId, repositoryName: repo.name, lifecyclePolicyText: text }
    },
    GetLifecyclePolicy: (input: GetLifecyclePolicyRequest, ctx: JsonContext): GetLifecyclePolicyResponse => {
      const repo = repositoryOf(cloud, ctx.region, input)
      if (repo.lifecyclePolicy === undefined) throw noLifecyclePolicy(cloud, repo.name)
      return { registryId: cloud.accountId, repositoryName: repo.name, lifecyclePolicyText: repo.lifecyclePolicy }
    },
    DeleteLifecyclePolicy: (input: DeleteLifecyclePolicyRequest, ctx: JsonContext): DeleteLifecyclePolicyResponse => {
      const repo = repositoryOf(cloud, ctx.region, input)
      const text = repo.lifecyclePolicy
      if (text === undefined) throw noLifecyclePolicy(cloud, repo.name)
      delete repo.lifecyclePolicy
      return { registryId: cloud.accountId, repositoryName: repo.name, lifecyclePolicyText: text }
    },
    TagResource: (input: TagResourceRequest, ctx: JsonContext): TagResourceResponse => {
      const repo = taggedRepository(cloud, ctx.region, input.resourceArn)
      repo.tags = mergeTags(repo.tags, validTags(input.tags))
      return {}
    },
    UntagResource: (input: UntagResourceRequest, ctx: JsonContext): UntagResourceResponse => {
      const repo = taggedRepository(cloud, ctx.region, input.resourceArn)
      const keys = new Set(input.tagKeys ?? [])
      repo.tags = repo.tags.filter((t) => !keys.has(t.Key))
      return {}
    },
    ListTagsForResource: (input: ListTagsForResourceRequest, ctx: JsonContext): ListTagsForResourceResponse => {
      const repo = taggedRepository(cloud, ctx.region, input.resourceArn)
      return { tags: repo.tags.map((t) => ({ ...t })) }
    },
    ...imageHandlers(cloud)
  }
}
