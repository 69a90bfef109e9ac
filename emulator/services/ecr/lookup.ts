/** What ECR's handlers share: finding a repository (or RepositoryNotFoundException) and paging. */
import type { Cloud } from '../../types.js'
import { ecrError } from './errors.js'
import { ecrStore, repositoryKey, type Repository } from './model.js'

export function repositoryNotFound(cloud: Cloud, name: string, registryId = cloud.accountId): Error {
  return ecrError(
    'RepositoryNotFoundException',
    `The repository with name '${name}' does not exist in the registry with id '${registryId}'`
  )
}

/** The repository a request names, in the emulator's one registry (another registryId holds none). */
export function repositoryOf(
  cloud: Cloud,
  region: string,
  input: { repositoryName?: string | undefined; registryId?: string | undefined }
): Repository {
  const name = input.repositoryName ?? ''
  const registryId = input.registryId ?? cloud.accountId
  const repo =
    registryId === cloud.accountId ? ecrStore(cloud).repositories.get(repositoryKey(region, name)) : undefined
  if (!repo) throw repositoryNotFound(cloud, name, registryId)
  return repo
}

/**
 * One page of `items`: at most maxResults (1..1000, else InvalidParameterException; `size` when
 * absent, 100 for ECR's list operations) from where nextToken (an opaque offset) says.
 */
export function page<T>(
  items: T[],
  input: { maxResults?: number | undefined; nextToken?: string | undefined },
  size = 100
): { items: T[]; nextToken?: string } {
  const max = input.maxResults ?? size
  if (!Number.isInteger(max) || max < 1 || max > 1000)
    throw ecrError(
      'InvalidParameterException',
      "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value less than or equal to 1000'"
    )
  const start = input.nextToken ? Number(Buffer.from(input.nextToken, 'base64').toString('utf8')) : 0
  if (!Number.isInteger(start) || start < 0 || start > items.length)
    throw ecrError('InvalidParameterException', "Invalid parameter at 'nextToken' failed to satisfy constraint")
  return {
    items: items.slice(start, start + max),
    ...(start + max < items.length ? { nextToken: Buffer.from(String(start + max)).toString('base64') } : {})
  }
}
