/**
 * What a resource kind is to the engine. Each kind is one module in this
 * folder (its desired shape, batch read, diff with reasons, create / update /
 * remove, dependencies) and one row of the registry (`index.ts`), whose type
 * makes a kind without any of them a compile error.
 */
import type { Engine } from '../aws/engine.js'
import type { Aws } from '../aws/send.js'
import type { InstanceWatcher } from '../aws/instances.js'
import { TAGS, type StackScope } from '../names.js'
import type { ConfigRef } from './service-config.js'
import type { LoadBalancerRef } from './load-balancer.js'
import type { ListenerRef } from './listener.js'
import type { TargetGroupRef } from './target-group.js'
import type { VolumesOnDestroy } from './volume.js'
import type {
  Change,
  ChangeAction,
  CurrentState,
  DesiredService,
  DesiredState,
  Plan,
  PublicZone,
  ResourceKind
} from '../state.js'

/** What every change says, whatever its kind. */
export interface ChangeCommon {
  name: string
  /** A human sentence: "replicas 2 -> 3", "image changed", "not in compose file". */
  reason: string
  /** Changed field names (updates). */
  fields?: string[]
  /** Per-service resources: the compose service. */
  service?: string
  /** The difference was made outside the action (nothing in compose or inputs asked for it). */
  drift?: boolean
  /**
   * Destroy only: delete this project-level resource only if, when apply gets to it,
   * no other stack of the project remains.
   */
  onlyIfLastStack?: boolean
}

/** A change toward a desired value: it carries that value (and what was read, if anything). */
export type Upsert<K extends ResourceKind, D, C, X = unknown> = ChangeCommon &
  X & { kind: K; action: Exclude<ChangeAction, 'delete'>; desired: D; current?: C }

/** A removal (or a removal kept back: noop): what was read, when it was. */
export type Removal<K extends ResourceKind, C> = ChangeCommon & { kind: K; action: 'delete' | 'noop'; current?: C }

export type ChangeOf<K extends ResourceKind> = Extract<Change, { kind: K }>
export type UpsertOf<K extends ResourceKind> = Extract<ChangeOf<K>, { desired: unknown }>
export type RemovalOf<K extends ResourceKind> = Exclude<ChangeOf<K>, { desired: unknown }>

export function isUpsert<K extends ResourceKind>(change: ChangeOf<K>): change is UpsertOf<K> {
  return 'desired' in change
}

/** A launch template version the groups launch. */
export interface TemplateRef {
  id: string
  version: number
}

/** What an applied kind hands its dependants (the kinds not listed hand nothing). */
export interface KindOutputs {
  'hosted-zone': string | undefined
  'iam-role': string
  'event-rule': string
  'schedule-rule': string
  'dead-letter-queue': { url: string; arn: string }
  'event-queue': { url: string; arn: string }
  'lambda-function': string
  'instance-role': string
  'instance-profile': string
  'service-config': ConfigRef
  'security-group': string
  'launch-template': TemplateRef
  certificate: string
  'stack-certificate': string
  'load-balancer-security-group': string
  'load-balancer': LoadBalancerRef
  listener: ListenerRef
  'target-group': TargetGroupRef
  /** The repository's URI. */
  'ecr-repository': string
}
export type KindOutput<K extends ResourceKind> = K extends keyof KindOutputs ? KindOutputs[K] : void

/** Account-level facts apply learns once and shares: from an ARN read, else from STS. */
export interface Refs {
  region: string
  accountId?: string
  /** `aws`, `aws-cn`, `aws-us-gov`, `aws-iso`...: never guessed from the region name. */
  partition?: string
}

export interface DiffContext {
  desired: DesiredState
  current: CurrentState
  /** The changes of the kinds before this one (registry order is dependency order). */
  planned: readonly Change[]
}

export interface RemovalContext {
  current: CurrentState
  /** Destroy: the project-level kinds plan their deletes too (destroyPlan decides whether they go). */
  destroy: boolean
  /** What stays: desired names and services (none for destroy). */
  keep: { names: Set<string>; services: Set<string> }
  reason: string
  /** Deploy: what is not in the compose file but exists was made outside it when nothing of its service is left. */
  orphansAreDrift?: boolean
  /** The removals planned so far, in removal order. */
  planned: readonly Change[]
  /** Destroy: what happens to the stack's volumes (default keep). */
  volumesOnDestroy?: VolumesOnDestroy
}

export interface ReadContext {
  aws: Aws
  scope: StackScope
  /** Records (ListResourceRecordSets) are read only on request (wait, plan, drift). */
  records: boolean
  /**
   * Verify every per-service resource against AWS (plan, deploy with wait, destroy). Otherwise the
   * instance roles, profiles and configurations are known from their launch template's tags, which
   * are written after them (as the zone association is known from the groups).
   */
  verify: boolean
  /**
   * The `domain` input's public zone, when set. The public endpoints' kinds read only when it is
   * set or the project's load balancer exists (one DescribeLoadBalancers by name tells).
   */
  publicZone?: PublicZone
  /** Destroy: the public endpoints' certificates and records are found by their tags and names without the domain input. */
  destroy?: boolean
  /** The stack's volumes are read when a service mounts one (and to verify, and for destroy). */
  volumes?: boolean
  /** The project's image repositories are read when the compose file builds an image. */
  images?: boolean
  /** One read shared by several kinds (the function's environment names the zone). */
  once<T>(key: string, read: () => Promise<T>): Promise<T>
}

export interface ApplyStepContext {
  e: Engine
  desired: DesiredState
  plan: Plan
  refs: Refs
  /** The service of a per-service change. */
  service?: DesiredService
  /** The output of the kind this change depends on (the same service's, for per-service kinds). */
  need<D extends ResourceKind>(kind: D): Promise<KindOutput<D>>
  /** The outputs of every change of that kind (the same service's): a service's target groups, the two listeners. */
  needAll<D extends ResourceKind>(kind: D): Promise<Array<KindOutput<D>>>
}

export interface RemoveStepContext {
  e: Engine
  plan: Plan
  scope: StackScope
  /** One instance poller for the whole stack. */
  watcher: InstanceWatcher
  /** The project's zone id, once known. */
  zoneId(): Promise<string | undefined>
  /** Deploy: the services the compose file keeps. */
  kept: Set<string>
}

interface KindCommon<K extends ResourceKind> {
  readonly kind: K
  /** What the log and errors call it: "launch template". */
  readonly noun: string
  /** Kinds whose apply this kind's apply waits for (and whose output it may `need`). */
  readonly dependsOn: readonly ResourceKind[]
  /**
   * Kinds whose removal this kind's removal waits for: mostly the reverse of dependsOn,
   * except that records go once the instances are gone, and the DNS updater is unwired first.
   */
  readonly removeAfter: readonly ResourceKind[]
  /** Kinds whose removal only orders this one's (it runs once they settle, failed or not). */
  readonly removeAfterSettled?: readonly ResourceKind[]
  /** `remove` gets every removal of the kind at once (one batch) instead of one at a time. */
  readonly removeTogether?: boolean
  /** The current state this kind owns, read in batch (absent: read with another kind). */
  read?(ctx: ReadContext): Promise<Partial<CurrentState>>
  /** Deletes of what exists and is not kept. Pure. */
  removals(ctx: RemovalContext): Array<ChangeOf<K>>
  /** Creates or updates (or, for a noop, hands over what exists); returns what dependants need. */
  apply(change: UpsertOf<K>, ctx: ApplyStepContext): Promise<KindOutput<K>>
  /** Removes; tolerates what is already gone. */
  remove(changes: Array<RemovalOf<K>>, ctx: RemoveStepContext): Promise<void>
}

/**
 * A kind is one per project and region (kept while another stack uses it), one per stack
 * (removed with the stack), or one (or a few: the groups) per compose service; its diff is pure.
 */
export type KindOps<K extends ResourceKind> = KindCommon<K> &
  (
    | { readonly level: 'project' | 'stack'; diff(ctx: DiffContext): Array<ChangeOf<K>> }
    | { readonly level: 'service'; diff(ctx: DiffContext, service: DesiredService): Array<ChangeOf<K>> }
  )

export const VERBS: Record<ChangeAction, string> = {
  create: 'creating',
  update: 'updating',
  replace: 'replacing',
  delete: 'deleting',
  noop: 'checking'
}

/** "creating launch template hyperform-...": the context errors are wrapped with. */
export function label(change: Pick<Change, 'action' | 'name'>, noun: string): string {
  return `${VERBS[change.action]} ${noun} ${change.name}`.trim()
}

export const tagList = (tags: Record<string, string>): Array<{ Key: string; Value: string }> =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }))

export function tagMap(tags: Array<{ Key?: string; Value?: string }> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? ''
  return out
}

export function accountOf(arn: string | undefined): string | undefined {
  return arn?.split(':')[4] || undefined
}

export function partitionOf(arn: string | undefined): string | undefined {
  return arn?.startsWith('arn:') ? arn.split(':')[1] || undefined : undefined
}

/** The tag filters of a stack's resources (EC2 and Auto Scaling take the same shape). */
export function stackFilters(scope: StackScope): Array<{ Name: string; Values: string[] }> {
  return [
    { Name: `tag:${TAGS.project}`, Values: [scope.project] },
    { Name: `tag:${TAGS.stack}`, Values: [scope.stack] }
  ]
}
