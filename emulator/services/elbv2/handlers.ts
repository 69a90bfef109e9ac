/** Elastic Load Balancing v2's operations, one row each: load balancers, target groups, targets, listeners, rules, tags. */
import type {
  AddTagsInput,
  DescribeTagsInput,
  RemoveTagsInput,
  TagDescription
} from '@aws-sdk/client-elastic-load-balancing-v2'
import type { Cloud } from '../../types.js'
import type { QueryContext, QueryHandler } from '../../protocols/query.js'
import { elbError } from './errors.js'
import * as lbs from './load-balancers.js'
import * as listeners from './listeners.js'
import { elbState, tagList, type ElbState, type Tags } from './model.js'
import * as groups from './target-groups.js'

/** The tags of a resource by ARN (load balancer, target group, listener or rule), with its type's not-found error. */
function taggable(cloud: Cloud, region: string, arn: string): { tags: Tags; set: (t: Tags) => void } {
  const state = elbState(cloud)
  const type = /:elasticloadbalancing:[^:]*:[^:]*:([a-z-]+)\//.exec(arn)?.[1]
  const found =
    type === 'loadbalancer'
      ? state.loadBalancers.get(arn)
      : type === 'targetgroup'
        ? state.targetGroups.get(arn)
        : type === 'listener'
          ? state.listeners.get(arn)
          : type === 'listener-rule'
            ? state.rules.get(arn)
            : undefined
  if (found && found.region === region) return { tags: found.tags, set: (t) => (found.tags = t) }
  if (type === 'listener-rule') {
    const listener = [...state.listeners.values()].find((l) => l.defaultRuleArn === arn && l.region === region)
    if (listener) return { tags: new Map(), set: () => undefined }
  }
  if (type === 'targetgroup') throw elbError('TargetGroupNotFound', `Target groups '${arn}' not found`)
  if (type === 'listener') throw elbError('ListenerNotFound', `Listener '${arn}' not found`)
  if (type === 'listener-rule') throw elbError('RuleNotFound', `One or more rules not found`)
  throw elbError('LoadBalancerNotFound', `Load balancer '${arn}' not found`)
}

function addTags(cloud: Cloud, region: string, input: AddTagsInput): unknown {
  const arns = input.ResourceArns ?? []
  if (arns.length === 0 || (input.Tags ?? []).length === 0)
    throw elbError('ValidationError', 'ResourceArns and Tags must be specified')
  const resources = arns.map((arn) => taggable(cloud, region, arn))
  const next = resources.map((r) => lbs.newTags(input.Tags, r.tags))
  resources.forEach((r, i) => r.set(next[i] ?? r.tags))
  return {}
}

function removeTags(cloud: Cloud, region: string, input: RemoveTagsInput): unknown {
  for (const arn of input.ResourceArns ?? []) {
    const r = taggable(cloud, region, arn)
    const next = new Map(r.tags)
    for (const k of input.TagKeys ?? []) next.delete(k)
    r.set(next)
  }
  return {}
}

function describeTags(cloud: Cloud, region: string, input: DescribeTagsInput): unknown {
  const arns = input.ResourceArns ?? []
  if (arns.length === 0 || arns.length > 20)
    throw elbError('ValidationError', 'Between 1 and 20 resource ARNs must be specified')
  const out: TagDescription[] = arns.map((arn) => ({
    ResourceArn: arn,
    Tags: tagList(taggable(cloud, region, arn).tags)
  }))
  return { TagDescriptions: out }
}

type Op = (cloud: Cloud, region: string, input: never) => unknown

export function handlers(cloud: Cloud): Record<string, QueryHandler> {
  const table: Record<string, Op> = {
    CreateLoadBalancer: lbs.createLoadBalancer,
    DescribeLoadBalancers: lbs.describeLoadBalancers,
    DeleteLoadBalancer: lbs.deleteLoadBalancer,
    DescribeLoadBalancerAttributes: lbs.describeLoadBalancerAttributes,
    ModifyLoadBalancerAttributes: lbs.modifyLoadBalancerAttributes,
    CreateTargetGroup: groups.createTargetGroup,
    DescribeTargetGroups: groups.describeTargetGroups,
    ModifyTargetGroup: groups.modifyTargetGroup,
    DescribeTargetGroupAttributes: groups.describeTargetGroupAttributes,
    ModifyTargetGroupAttributes: groups.modifyTargetGroupAttributes,
    DeleteTargetGroup: groups.deleteTargetGroup,
    RegisterTargets: groups.registerTargets,
    DeregisterTargets: groups.deregisterTargets,
    DescribeTargetHealth: groups.describeTargetHealth,
    CreateListener: listeners.createListener,
    DescribeListeners: listeners.describeListeners,
    ModifyListener: listeners.modifyListener,
    DeleteListener: listeners.deleteListener,
    AddListenerCertificates: listeners.addListenerCertificates,
    RemoveListenerCertificates: listeners.removeListenerCertificates,
    DescribeListenerCertificates: listeners.describeListenerCertificates,
    CreateRule: listeners.createRule,
    DescribeRules: listeners.describeRules,
    ModifyRule: listeners.modifyRule,
    DeleteRule: listeners.deleteRule,
    SetRulePriorities: listeners.setRulePriorities,
    AddTags: addTags,
    RemoveTags: removeTags,
    DescribeTags: describeTags
  }
  return Object.fromEntries(
    Object.entries(table).map(([name, op]) => [
      name,
      ((input: never, ctx: QueryContext) => op(cloud, ctx.region, input)) as QueryHandler
    ])
  )
}

const tagObject = (tags: Tags): Record<string, string> => Object.fromEntries(tags)

/** GET /_emulator/state: every resource with its ARN and tags (the authorizer reads the tags). */
export function state(s: ElbState): unknown {
  return {
    loadBalancers: [...s.loadBalancers.values()].map((lb) => ({ ...lb, tags: tagObject(lb.tags) })),
    targetGroups: [...s.targetGroups.values()].map((tg) => ({
      ...tg,
      tags: tagObject(tg.tags),
      targets: [...tg.targets.values()]
    })),
    listeners: [...s.listeners.values()].map((l) => ({ ...l, tags: tagObject(l.tags) })),
    rules: [...s.rules.values()].map((r) => ({ ...r, tags: tagObject(r.tags) }))
  }
}
