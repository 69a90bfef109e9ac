/**
 * A public service's host rule on the HTTPS listener: `<service>.<stack>.<domain>` forwards to its
 * target group. The listener is shared by every stack of the project, so a rule's priority is the
 * lowest free one when it is made (AWS refuses a taken one: PriorityInUse, then read again), and the
 * plan checks that the stack's rules fit in the listener's quota with the other stacks' rules.
 */
import {
  CreateRuleCommand,
  DeleteRuleCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  ModifyRuleCommand,
  type Rule
} from '@aws-sdk/client-elastic-load-balancing-v2'
import { wrap } from '../aws/errors.js'
import { tolerate, type Aws } from '../aws/send.js'
import { TAGS } from '../names.js'
import type { CurrentState, DesiredService } from '../state.js'
import { tagList, tagMap, type KindOps, type ReadContext, type Removal, type Upsert } from './kind.js'
import { httpsListener } from './listener.js'
import { publicReads } from './load-balancer.js'

export interface DesiredListenerRule {
  /** The host. */
  name: string
  /** The target group's published port. */
  port: number
  tags: Record<string, string>
}

export interface CurrentListenerRule {
  arn: string
  /** The host it matches. */
  name: string
  service: string
  priority: number
  targetGroupArn?: string
}

/** The HTTPS listener's rules besides this stack's (they count toward its quota). */
export interface ListenerRuleCount {
  others: number
  /** The project's other stacks with rules here: they share the load balancer's cost. */
  otherStacks: number
}

export type ListenerRuleChange =
  Upsert<'listener-rule', DesiredListenerRule, CurrentListenerRule> | Removal<'listener-rule', CurrentListenerRule>

/** Rules per Application Load Balancer, the default quota (the default rule does not count). */
export const RULES_PER_LISTENER = 100
/** DescribeTags takes at most 20 resources. */
const TAG_BATCH = 20

const hostOf = (rule: Rule): string | undefined =>
  rule.Conditions?.find((c) => c.Field === 'host-header')?.HostHeaderConfig?.Values?.[0] ??
  rule.Conditions?.find((c) => c.Field === 'host-header')?.Values?.[0]

const forwardOf = (rule: Rule): string | undefined =>
  rule.Actions?.find((a) => a.Type === 'forward')?.TargetGroupArn ??
  rule.Actions?.find((a) => a.Type === 'forward')?.ForwardConfig?.TargetGroups?.[0]?.TargetGroupArn

async function listRules(aws: Aws, listenerArn: string): Promise<Rule[]> {
  const rules: Rule[] = []
  let marker: string | undefined
  do {
    const page = await aws.send(new DescribeRulesCommand({ ListenerArn: listenerArn, Marker: marker, PageSize: 400 }))
    rules.push(...(page.Rules ?? []))
    marker = page.NextMarker
  } while (marker)
  return rules.filter((r) => !r.IsDefault)
}

async function tagsOf(aws: Aws, arns: string[]): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>()
  const batches: string[][] = []
  for (let i = 0; i < arns.length; i += TAG_BATCH) batches.push(arns.slice(i, i + TAG_BATCH))
  await Promise.all(
    batches.map(async (batch) => {
      const page = await aws.send(new DescribeTagsCommand({ ResourceArns: batch }))
      for (const d of page.TagDescriptions ?? []) if (d.ResourceArn) out.set(d.ResourceArn, tagMap(d.Tags))
    })
  )
  return out
}

async function readRules(ctx: ReadContext): Promise<Partial<CurrentState>> {
  if (!(await publicReads(ctx))) return {}
  const listener = await httpsListener(ctx)
  if (!listener) return { listenerRules: [], listenerRuleCount: { others: 0, otherStacks: 0 } }
  try {
    const rules = await listRules(ctx.aws, listener)
    const tags = await tagsOf(
      ctx.aws,
      rules.flatMap((r) => (r.RuleArn ? [r.RuleArn] : []))
    )
    const mine: CurrentListenerRule[] = []
    const stacks = new Set<string>()
    for (const rule of rules) {
      const t = tags.get(rule.RuleArn ?? '') ?? {}
      const stack = t[TAGS.stack]
      if (t[TAGS.project] === ctx.scope.project && stack && stack !== ctx.scope.stack) stacks.add(stack)
      if (t[TAGS.project] !== ctx.scope.project || t[TAGS.stack] !== ctx.scope.stack) continue
      mine.push({
        arn: rule.RuleArn ?? '',
        name: hostOf(rule) ?? '',
        service: t[TAGS.service] ?? '',
        priority: Number(rule.Priority),
        targetGroupArn: forwardOf(rule)
      })
    }
    return {
      listenerRules: mine,
      listenerRuleCount: { others: rules.length - mine.length, otherStacks: stacks.size }
    }
  } catch (err) {
    throw wrap(`reading the rules of listener ${listener}`, err)
  }
}

/** The stack's rules and the other stacks' must fit in the listener: checked in the plan, before any write. */
function checkQuota(desired: DesiredService[], current: CurrentState): void {
  const mine = desired.reduce((n, s) => n + s.endpoints.length, 0)
  const others = current.listenerRuleCount?.others ?? 0
  if (mine + others > RULES_PER_LISTENER)
    throw new Error(
      `public endpoints: this stack needs ${mine} host rule(s) and the project's other stacks use ${others}; ` +
        `an Application Load Balancer allows ${RULES_PER_LISTENER} rules (the quota "Rules per Application Load ` +
        `Balancer"): destroy unused preview stacks, publish fewer ports, or raise the quota`
    )
}

/** One rule made at a time per run (its services would pick the same free priority). */
let making: Promise<unknown> = Promise.resolve()

async function createRule(
  aws: Aws,
  args: { listener: string; host: string; targetGroup: string; tags: Record<string, string> }
): Promise<string> {
  const attempt = async (): Promise<string> => {
    const taken = new Set((await listRules(aws, args.listener)).map((r) => Number(r.Priority)))
    let priority = 1
    while (taken.has(priority)) priority++
    const out = await aws.send(
      new CreateRuleCommand({
        ListenerArn: args.listener,
        Priority: priority,
        Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [args.host] } }],
        Actions: [{ Type: 'forward', TargetGroupArn: args.targetGroup }],
        Tags: tagList(args.tags)
      })
    )
    return out.Rules?.[0]?.RuleArn ?? ''
  }
  const run = making.then(() => aws.retryOn(['PriorityInUse'], attempt))
  making = run.catch(() => undefined)
  return run
}

export const listenerRule: KindOps<'listener-rule'> = {
  kind: 'listener-rule',
  noun: 'listener rule',
  level: 'service',
  dependsOn: ['listener', 'target-group'],
  removeAfter: [],
  read: readRules,
  diff({ desired, current }, service) {
    if (service.endpoints.length > 0) checkQuota(desired.services, current)
    const rules = current.listenerRules ?? []
    const groups = current.targetGroups ?? []
    return service.endpoints.map((endpoint) => {
      const rule = endpoint.rule
      const have = rules.find((r) => r.name === rule.name)
      const base = {
        kind: 'listener-rule' as const,
        name: rule.name,
        service: service.name,
        desired: rule,
        current: have
      }
      const group = groups.find((g) => g.name === endpoint.targetGroup.name)
      if (!have)
        return {
          ...base,
          action: 'create' as const,
          reason: `not found; ${rule.name} -> port ${rule.port}`,
          drift: !!group
        }
      if (!group || have.targetGroupArn !== group.arn)
        return {
          ...base,
          action: 'update' as const,
          reason: group ? 'forwards to another target group' : 'its target group is new',
          fields: ['targetGroup'],
          drift: !!group
        }
      return { ...base, action: 'noop' as const, reason: 'up to date' }
    })
  },
  removals({ current, keep, reason }) {
    return (current.listenerRules ?? [])
      .filter((r) => !keep.names.has(r.name))
      .map((r) => ({
        kind: 'listener-rule' as const,
        action: 'delete' as const,
        name: r.name,
        service: r.service,
        reason,
        current: r
      }))
  },
  async apply(change, { e, needAll }) {
    const [listeners, groups] = await Promise.all([needAll('listener'), needAll('target-group')])
    if (change.action === 'noop' && change.current) return
    const listener = listeners.find((l) => l.protocol === 'HTTPS')?.arn
    const group = groups.find((g) => g.port === change.desired.port)?.arn
    if (!listener || !group)
      throw new Error(
        `${change.name}: the HTTPS listener or the target group of port ${change.desired.port} is missing`
      )
    let arn = change.current?.arn
    if (arn) {
      await e.send(new ModifyRuleCommand({ RuleArn: arn, Actions: [{ Type: 'forward', TargetGroupArn: group }] }))
    } else {
      arn = await createRule(e, { listener, host: change.desired.name, targetGroup: group, tags: change.desired.tags })
    }
    e.done({ kind: 'listener-rule', action: change.action, name: change.name, service: change.service, id: arn })
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      const arn = change.current?.arn
      if (!arn) continue
      const deleted = await tolerate(['RuleNotFound'], () => e.send(new DeleteRuleCommand({ RuleArn: arn })))
      if (deleted)
        e.done({ kind: 'listener-rule', action: 'delete', name: change.name, service: change.service, id: arn })
    }
  }
}
