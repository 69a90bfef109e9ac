/**
 * ECR's state, per cloud: repositories by region and name, and the authorization tokens
 * GetAuthorizationToken handed out (valid 12 hours, each remembering who asked, so that a
 * `docker pull` with it is authorized as that caller: pull.ts).
 */
import type { Cloud } from '../../types.js'

export interface Repository {
  name: string
  region: string
  arn: string
  uri: string
  createdAt: number
  imageTagMutability: 'MUTABLE' | 'IMMUTABLE'
  scanOnPush: boolean
  tags: { Key: string; Value: string }[]
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

export function registryHost(account: string, region: string): string {
  return `${account}.dkr.ecr.${region}.amazonaws.com`
}

/** How long a token is valid (ECR: 12 hours). */
export const TOKEN_TTL_MS = 12 * 60 * 60 * 1000
