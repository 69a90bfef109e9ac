/**
 * The project's image repositories in ECR, one per service it builds (`<project>/<service>`), shared
 * by the project's stacks: scan on push; build tags immutable (the tags `stack-*` and `git-*` move);
 * a lifecycle policy that keeps every image a stack runs (tagged `stack-<stack>`) and the last N
 * others. Made before the builds push to them; never removed by a destroy: a preview's images are
 * left to the lifecycle policy. Read only when the compose file builds something.
 */
import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  GetLifecyclePolicyCommand,
  PutImageScanningConfigurationCommand,
  PutImageTagMutabilityCommand,
  PutLifecyclePolicyCommand,
  paginateDescribeRepositories,
  type Repository
} from '@aws-sdk/client-ecr'
import { errorCode, wrap } from '../aws/errors.js'
import type { Aws } from '../aws/send.js'
import { canonicalJson } from '../json.js'
import type { Engine } from '../aws/engine.js'
import type { KindOps, Removal, Upsert, UpsertOf } from './kind.js'
import { tagList } from './kind.js'

/** Tags that move from image to image: which image a stack runs, and the commit's. */
export const MOVING_TAGS = ['stack-*', 'git-*']
export const DEFAULT_IMAGES_KEPT = 20

export interface DesiredRepository {
  name: string
  /** The lifecycle policy's text (canonical JSON). */
  lifecyclePolicy: string
  tags: Record<string, string>
}

export interface CurrentRepository {
  name: string
  uri: string
  mutability?: string
  exclusions: string[]
  scanOnPush: boolean
  /** Canonical JSON of its lifecycle policy; undefined when it has none. */
  lifecyclePolicy?: string
}

export type RepositoryChange =
  Upsert<'ecr-repository', DesiredRepository, CurrentRepository> | Removal<'ecr-repository', CurrentRepository>

/** Keeps every image a stack runs, then the newest `kept` of the others. */
export function lifecyclePolicy(kept: number): string {
  return canonicalJson({
    rules: [
      {
        rulePriority: 1,
        description: 'keep the images stacks run (tag stack-<stack>)',
        selection: {
          tagStatus: 'tagged',
          tagPrefixList: ['stack-'],
          countType: 'imageCountMoreThan',
          countNumber: 10000
        },
        action: { type: 'expire' }
      },
      {
        rulePriority: 2,
        description: `keep the last ${kept} images`,
        selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: kept },
        action: { type: 'expire' }
      }
    ]
  })
}

function canonical(text: string | undefined): string | undefined {
  if (!text) return undefined
  try {
    return canonicalJson(JSON.parse(text))
  } catch {
    return text
  }
}

function toRepository(r: Repository): CurrentRepository {
  return {
    name: r.repositoryName ?? '',
    uri: r.repositoryUri ?? '',
    ...(r.imageTagMutability ? { mutability: r.imageTagMutability } : {}),
    exclusions: (r.imageTagMutabilityExclusionFilters ?? []).map((f) => f.filter ?? '').sort(),
    scanOnPush: r.imageScanningConfiguration?.scanOnPush === true
  }
}

/** The registry host of a repository URI (`<account>.dkr.ecr.<region>.amazonaws.com`). */
export function registryHost(uri: string): string {
  return uri.split('/')[0] ?? ''
}

async function readPolicy(aws: Aws, name: string): Promise<string | undefined> {
  try {
    return canonical((await aws.send(new GetLifecyclePolicyCommand({ repositoryName: name }))).lifecyclePolicyText)
  } catch (err) {
    if (errorCode(err) === 'LifecyclePolicyNotFoundException') return undefined
    throw wrap(`reading the lifecycle policy of ${name}`, err)
  }
}

function differences(want: DesiredRepository, have: CurrentRepository): string[] {
  const fields: string[] = []
  if (have.mutability !== 'IMMUTABLE_WITH_EXCLUSION' || have.exclusions.join() !== [...MOVING_TAGS].sort().join())
    fields.push('mutability')
  if (!have.scanOnPush) fields.push('scanOnPush')
  if (have.lifecyclePolicy !== want.lifecyclePolicy) fields.push('lifecyclePolicy')
  return fields
}

async function settle(aws: Aws, want: DesiredRepository, fields: string[]): Promise<void> {
  const repositoryName = want.name
  if (fields.includes('mutability'))
    await aws.send(
      new PutImageTagMutabilityCommand({
        repositoryName,
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: MOVING_TAGS.map((filter) => ({ filterType: 'WILDCARD', filter }))
      })
    )
  if (fields.includes('scanOnPush'))
    await aws.send(
      new PutImageScanningConfigurationCommand({ repositoryName, imageScanningConfiguration: { scanOnPush: true } })
    )
  if (fields.includes('lifecyclePolicy'))
    await aws.send(new PutLifecyclePolicyCommand({ repositoryName, lifecyclePolicyText: want.lifecyclePolicy }))
}

/** Each wanted repository: created, settled where it differs, or as it is. Pure. */
export function repositoryChanges(
  wanted: DesiredRepository[],
  existing: CurrentRepository[] | undefined
): RepositoryChange[] {
  return wanted.map((want): RepositoryChange => {
    const have = existing?.find((r) => r.name === want.name)
    const base = { kind: 'ecr-repository' as const, name: want.name, desired: want }
    if (!have) return { ...base, action: 'create', reason: 'not found; scan on push, build tags immutable' }
    const fields = differences(want, have)
    return fields.length === 0
      ? { ...base, action: 'noop', current: have, reason: 'up to date' }
      : { ...base, action: 'update', current: have, fields, reason: `${fields.join(', ')} differ`, drift: true }
  })
}

export const ecrRepository: KindOps<'ecr-repository'> = {
  kind: 'ecr-repository',
  noun: 'image repository',
  level: 'project',
  dependsOn: [],
  removeAfter: [],
  async read(ctx) {
    if (!ctx.images) return {}
    const prefix = `${ctx.scope.project}/`
    const found: CurrentRepository[] = []
    try {
      for await (const page of paginateDescribeRepositories({ client: ctx.aws.through('ecr'), pageSize: 1000 }, {}))
        for (const r of page.repositories ?? []) if (r.repositoryName?.startsWith(prefix)) found.push(toRepository(r))
    } catch (err) {
      throw wrap('listing the image repositories', err)
    }
    const policies = await Promise.all(found.map((r) => readPolicy(ctx.aws, r.name)))
    return {
      repositories: found
        .map((r, i) => ({ ...r, ...(policies[i] ? { lifecyclePolicy: policies[i] } : {}) }))
        .sort((a, b) => a.name.localeCompare(b.name))
    }
  },
  diff({ desired, current }) {
    return repositoryChanges(desired.repositories ?? [], current.repositories)
  },
  // A repository outlives stacks: its images go by its lifecycle policy.
  removals() {
    return []
  },
  apply(change, { e }) {
    return ensureRepository(e, change)
  },
  async remove() {
    // never removed (removals plans none)
  }
}

/** Creates or settles one repository (before the builds push to it, and in apply); returns its URI. */
export async function ensureRepository(e: Engine, change: UpsertOf<'ecr-repository'>): Promise<string> {
  const want = change.desired
  if (change.action === 'noop') return change.current?.uri ?? ''
  let uri = change.current?.uri ?? ''
  let fields = change.fields ?? ['lifecyclePolicy']
  if (change.action === 'create') {
    try {
      const out = await e.send(
        new CreateRepositoryCommand({
          repositoryName: want.name,
          imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
          imageTagMutabilityExclusionFilters: MOVING_TAGS.map((filter) => ({ filterType: 'WILDCARD', filter })),
          imageScanningConfiguration: { scanOnPush: true },
          tags: tagList(want.tags).map(({ Key, Value }) => ({ Key, Value }))
        })
      )
      uri = out.repository?.repositoryUri ?? ''
    } catch (err) {
      if (errorCode(err) !== 'RepositoryAlreadyExistsException') throw err
      // made meanwhile by another run: adopt it and set what differs
      const out = await e.send(new DescribeRepositoriesCommand({ repositoryNames: [want.name] }))
      const have = toRepository(out.repositories?.[0] ?? {})
      uri = have.uri
      fields = differences(want, { ...have, lifecyclePolicy: await readPolicy(e, want.name) })
    }
  }
  await settle(e, want, fields)
  e.done({ kind: 'ecr-repository', action: change.action, name: change.name, id: uri })
  return uri
}
