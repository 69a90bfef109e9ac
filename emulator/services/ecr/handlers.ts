/** ECR's operations, one row each: registry tokens and repositories (no images are stored). */
import { randomBytes } from 'node:crypto'
import type {
  CreateRepositoryRequest,
  CreateRepositoryResponse,
  DeleteRepositoryRequest,
  DeleteRepositoryResponse,
  DescribeRepositoriesRequest,
  DescribeRepositoriesResponse,
  GetAuthorizationTokenResponse,
  Repository as SdkRepository
} from '@aws-sdk/client-ecr'
import type { JsonContext, JsonHandler } from '../../protocols/json-rpc.js'
import type { Cloud } from '../../types.js'
import { ecrError } from './errors.js'
import { ecrStore, registryHost, repositoryArn, repositoryKey, TOKEN_TTL_MS, type Repository } from './model.js'

const NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/

function toRepository(cloud: Cloud, r: Repository): SdkRepository {
  return {
    repositoryArn: r.arn,
    registryId: cloud.accountId,
    repositoryName: r.name,
    repositoryUri: r.uri,
    createdAt: new Date(r.createdAt),
    imageTagMutability: r.imageTagMutability,
    imageScanningConfiguration: { scanOnPush: r.scanOnPush },
    encryptionConfiguration: { encryptionType: 'AES256' }
  }
}

function notFound(cloud: Cloud, name: string): Error {
  return ecrError(
    'RepositoryNotFoundException',
    `The repository with name '${name}' does not exist in the registry with id '${cloud.accountId}'`
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
        imageTagMutability: input.imageTagMutability === 'IMMUTABLE' ? 'IMMUTABLE' : 'MUTABLE',
        scanOnPush: input.imageScanningConfiguration?.scanOnPush === true,
        tags: (input.tags ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' }))
      }
      store.repositories.set(key, repo)
      return { repository: toRepository(cloud, repo) }
    },
    DescribeRepositories: (input: DescribeRepositoriesRequest, ctx: JsonContext): DescribeRepositoriesResponse => {
      const names = input.repositoryNames
      if (names) {
        return {
          repositories: names.map((name) => {
            const repo = store.repositories.get(repositoryKey(ctx.region, name))
            if (!repo) throw notFound(cloud, name)
            return toRepository(cloud, repo)
          })
        }
      }
      const size = input.maxResults ?? 1000
      if (size < 1 || size > 1000)
        throw ecrError('InvalidParameterException', "Invalid parameter at 'maxResults' failed to satisfy constraint")
      const all = [...store.repositories.values()]
        .filter((r) => r.region === ctx.region)
        .sort((a, b) => (a.name < b.name ? -1 : 1))
      const start = input.nextToken ? Number(Buffer.from(input.nextToken, 'base64').toString('utf8')) : 0
      if (!Number.isInteger(start) || start < 0 || start > all.length)
        throw ecrError('InvalidParameterException', 'Invalid parameter: nextToken')
      return {
        repositories: all.slice(start, start + size).map((r) => toRepository(cloud, r)),
        ...(start + size < all.length ? { nextToken: Buffer.from(String(start + size)).toString('base64') } : {})
      }
    },
    DeleteRepository: (input: DeleteRepositoryRequest, ctx: JsonContext): DeleteRepositoryResponse => {
      const name = input.repositoryName ?? ''
      const key = repositoryKey(ctx.region, name)
      const repo = store.repositories.get(key)
      if (!repo) throw notFound(cloud, name)
      // the emulator stores no images, so a repository is never RepositoryNotEmptyException
      store.repositories.delete(key)
      return { repository: toRepository(cloud, repo) }
    }
  }
}
