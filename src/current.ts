/**
 * The current state, read with few calls: each kind reads its own in batch
 * (tag filters) or by name, all at once. For a stack of N services a no-op
 * deploy reads:
 *   GetFunction, GetRolePolicy, GetPolicy, DescribeLogGroups, DescribeRule,
 *   ListTargetsByRule                                   (6, project level)
 *   DescribeSecurityGroups, DescribeLaunchTemplates,
 *   DescribeAutoScalingGroups (ceil(2N / 100) pages)   (2 + ceil(N / 50))
 * With resolveNetwork's 2 that is 12 reads at 100 services. Records,
 * instances and other stacks are read only on request (ReadOptions).
 */
import type { Clients } from './aws/clients.js'
import { readInstances } from './aws/instances.js'
import { Aws } from './aws/send.js'
import type { StackScope } from './names.js'
import { readOtherStacks } from './resources/auto-scaling-group.js'
import { KINDS, KIND_ORDER } from './resources/index.js'
import { accountOf, partitionOf, type ReadContext } from './resources/kind.js'
import type { CurrentState, PublicZone } from './state.js'

export interface ReadOptions {
  /** Also read the stack's records (ListResourceRecordSets; wait, drift, reports). */
  records?: boolean
  /** Also read the stack's instances (DescribeInstances, one call per 1000). */
  instances?: boolean
  /** Read the instance roles, profiles and configurations instead of trusting the templates' tags (resources/kind.ts). */
  verify?: boolean
  /** Also find other stacks of the project (destroy): one DescribeAutoScalingGroups on the project tag. */
  otherStacks?: boolean
  /** The `domain` input's public zone, when it is set (the public endpoints' records and certificates are there). */
  publicZone?: PublicZone
  /** Destroy: the public endpoints' kinds find what the stack has without the domain input. */
  destroy?: boolean
  /** Read the stack's volumes (a service mounts one; verify and destroy read them anyway). */
  volumes?: boolean
  /** Read the project's image repositories (the compose file builds). */
  images?: boolean
}

export async function readCurrent(
  aws: Aws | Clients,
  scope: StackScope,
  options: ReadOptions = {}
): Promise<CurrentState> {
  const door = aws instanceof Aws ? aws : new Aws(aws)
  const shared = new Map<string, Promise<unknown>>()
  const ctx: ReadContext = {
    aws: door,
    scope,
    records: options.records === true,
    verify: options.verify === true,
    ...(options.publicZone ? { publicZone: options.publicZone } : {}),
    ...(options.destroy ? { destroy: true } : {}),
    ...(options.volumes ? { volumes: true } : {}),
    ...(options.images ? { images: true } : {}),
    once: <T>(key: string, read: () => Promise<T>): Promise<T> => {
      if (!shared.has(key)) shared.set(key, read())
      return shared.get(key) as Promise<T>
    }
  }
  const [parts, instances, otherStacks] = await Promise.all([
    Promise.all(KIND_ORDER.map((kind) => KINDS[kind].read?.(ctx))),
    options.instances ? readInstances(door, scope) : undefined,
    options.otherStacks ? readOtherStacks(door, scope) : undefined
  ])
  const current: CurrentState = {
    scope,
    targets: [],
    securityGroups: [],
    launchTemplates: [],
    asgs: [],
    records: []
  }
  for (const part of parts) Object.assign(current, part)
  const arn = current.function?.arn ?? current.rule?.arn ?? current.logGroup?.arn
  current.accountId = accountOf(arn)
  current.partition = partitionOf(arn)
  if (instances) current.instances = instances
  if (otherStacks) current.otherStacks = otherStacks
  return current
}
