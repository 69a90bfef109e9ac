/**
 * ECR's state, per cloud: repositories by region and name, each with its images (by digest), its
 * lifecycle policy and its tags; and the authorization tokens GetAuthorizationToken handed out
 * (valid 12 hours, each remembering who asked, so that a `docker pull` with it is authorized as
 * that caller: pull.ts).
 */
import type { Cloud } from '../../types.js'

export type TagMutability = 'MUTABLE' | 'IMMUTABLE' | 'MUTABLE_WITH_EXCLUSION' | 'IMMUTABLE_WITH_EXCLUSION'

/** An image manifest as PutImage stored it: the digest is `sha256:` + the hex SHA-256 of its bytes. */
export interface StoredImage {
  digest: string
  manifest: string
  mediaType: string
  /** The config's media type, when the manifest names one. */
  artifactMediaType?: string
  /** In the order they were put. */
  tags: string[]
  sizeInBytes: number
  pushedAt: number
  /** The last pull (BatchGetImage, or a `docker pull` through pull.ts). */
  lastPulledAt?: number
}

export interface Repository {
  name: string
  region: string
  arn: string
  uri: string
  createdAt: number
  imageTagMutability: TagMutability
  /** WILDCARD patterns of the tags the *_WITH_EXCLUSION settings exempt. */
  mutabilityExclusions: string[]
  scanOnPush: boolean
  encryption: { encryptionType: string; kmsKey?: string }
  tags: { Key: string; Value: string }[]
  /** By digest, in push order. */
  images: Map<string, StoredImage>
  lifecyclePolicy?: string
}

export interface AuthorizationToken {
  /** The password half of `AWS:<password>`. */
  password: string
  region: string
  /** The access key id that signed GetAuthorizationToken. */
  accessKeyId?: string
  expiresAt: number
}

export interface EcrStore {
  repositories: Map<string, Repository>
  tokens: Map<string, AuthorizationToken>
}

const stores = new WeakMap<Cloud, EcrStore>()

export function ecrStore(cloud: Cloud): EcrStore {
  let s = stores.get(cloud)
  if (!s) {
    s = { repositories: new Map(), tokens: new Map() }
    stores.set(cloud, s)
  }
  return s
}

export function repositoryKey(region: string, name: string): string {
  return `${region}/${name}`
}

export function repositoryArn(where: { partition?: string; region: string; account: string }, name: string): string {
  return `arn:${where.partition ?? 'aws'}:ecr:${where.region}:${where.account}:repository/${name}`
}

/** The region, account and repository name of a repository ARN, or undefined when it is not one. */
export function parseRepositoryArn(arn: string): { region: string; account: string; name: string } | undefined {
  const m = /^arn:aws[a-z-]*:ecr:([a-z0-9-]+):(\d{12}):repository\/(.+)$/.exec(arn)
  return m ? { region: m[1] ?? '', account: m[2] ?? '', name: m[3] ?? '' } : undefined
}

export function registryHost(account: string, region: string): string {
  return `${account}.dkr.ecr.${region}.amazonaws.com`
}

/** The image a tag names, if any. */
export function imageByTag(repo: Repository, tag: string): StoredImage | undefined {
  for (const image of repo.images.values()) if (image.tags.includes(tag)) return image
  return undefined
}

/** Whether a tag may not move to another image: the repository's setting, turned around for an excluded tag. */
export function tagIsImmutable(repo: Repository, tag: string): boolean {
  const excluded = repo.mutabilityExclusions.some((pattern) => wildcard(pattern).test(tag))
  switch (repo.imageTagMutability) {
    case 'IMMUTABLE':
      return true
    case 'MUTABLE':
      return false
    case 'IMMUTABLE_WITH_EXCLUSION':
      return !excluded
    case 'MUTABLE_WITH_EXCLUSION':
      return excluded
  }
}

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\-]/g, '\\$&').replace(/\*/g, '.*')}$`)
}

/** How long a token is valid (ECR: 12 hours). */
export const TOKEN_TTL_MS = 12 * 60 * 60 * 1000
