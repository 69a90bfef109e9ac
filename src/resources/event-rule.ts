/** The EventBridge rule on EC2 instance state changes and Auto Scaling launches that drives the DNS updater. */
import { DeleteRuleCommand, DescribeRuleCommand, PutRuleCommand } from '@aws-sdk/client-eventbridge'
import { readOptional, tolerate } from '../aws/send.js'
import { canonicalJson } from '../json.js'
import { ruleName } from '../names.js'
import { othersExist } from './project-drift.js'
import { tagList, type KindOps, type Removal, type Upsert } from './kind.js'

export interface DesiredRule {
  name: string
  /** Canonical JSON (sorted keys). */
  eventPattern: string
  description: string
  tags: Record<string, string>
}

export interface CurrentRule {
  name: string
  arn: string
  /** Canonical JSON, or the raw text when it does not parse. */
  eventPattern?: string
  state?: string
}

export type RuleChange = Upsert<'event-rule', DesiredRule, CurrentRule> | Removal<'event-rule', CurrentRule>

/**
 * The pattern earlier versions of the action set (EC2 state changes of five
 * states): a rule holding it is upgraded to the pattern of now, not drift.
 */
export const PREVIOUS_EVENT_PATTERN = canonicalJson({
  source: ['aws.ec2'],
  'detail-type': ['EC2 Instance State-change Notification'],
  detail: { state: ['running', 'shutting-down', 'stopping', 'stopped', 'terminated'] }
})

/** The pattern of the version before the spot warnings: state changes and Launch Successful only. */
export const LAUNCHES_EVENT_PATTERN = canonicalJson({
  source: ['aws.ec2', 'aws.autoscaling'],
  'detail-type': ['EC2 Instance State-change Notification', 'EC2 Instance Launch Successful']
})

/** What a rule holding an earlier version's pattern gains: an upgrade, not drift. */
const UPGRADES: Readonly<Record<string, string>> = {
  [PREVIOUS_EVENT_PATTERN]:
    'eventPattern gains Auto Scaling EC2 Instance Launch Successful and the spot warnings (records list in-service instances)',
  [LAUNCHES_EVENT_PATTERN]: 'eventPattern gains the spot interruption warning and the rebalance recommendation'
}

function canonicalPattern(text: string | undefined): string | undefined {
  if (text === undefined) return undefined
  try {
    return canonicalJson(JSON.parse(text))
  } catch {
    return text
  }
}

export const eventRule: KindOps<'event-rule'> = {
  kind: 'event-rule',
  noun: 'rule',
  level: 'project',
  dependsOn: [],
  removeAfter: ['event-target'],
  async read({ aws, scope }) {
    const name = ruleName(scope)
    const out = await readOptional(`reading rule ${name}`, ['ResourceNotFoundException'], () =>
      aws.send(new DescribeRuleCommand({ Name: name }))
    )
    return {
      rule: out?.Arn
        ? { name, arn: out.Arn, eventPattern: canonicalPattern(out.EventPattern), state: out.State }
        : undefined
    }
  },
  diff({ desired, current }) {
    const rule = desired.project.rule
    const base = { kind: 'event-rule' as const, name: rule.name, desired: rule, current: current.rule }
    if (!current.rule)
      return [
        {
          ...base,
          action: 'create',
          reason: 'not found; EC2 instance state changes and Auto Scaling launches',
          drift: othersExist(current, 'rule')
        }
      ]
    const fields: string[] = []
    if (current.rule.eventPattern !== rule.eventPattern) fields.push('eventPattern')
    if (current.rule.state !== 'ENABLED') fields.push('state')
    if (fields.length === 0) return [{ ...base, action: 'noop', reason: 'up to date' }]
    // the pattern an earlier version of the action set: an upgrade, not a change made outside it
    const upgrade = fields.length === 1 ? UPGRADES[current.rule.eventPattern ?? ''] : undefined
    if (upgrade) return [{ ...base, action: 'update', reason: upgrade, fields }]
    return [{ ...base, action: 'update', reason: `${fields.join(', ')} differs`, fields, drift: true }]
  },
  removals({ current, destroy }) {
    return destroy && current.rule
      ? [{ kind: 'event-rule', action: 'delete', name: current.rule.name, reason: '', current: current.rule }]
      : []
  },
  async apply(change, { e }) {
    if (change.action === 'noop') return change.current?.arn ?? ''
    const rule = change.desired
    const out = await e.send(
      new PutRuleCommand({
        Name: rule.name,
        EventPattern: rule.eventPattern,
        State: 'ENABLED',
        Description: rule.description,
        ...(change.action === 'create' ? { Tags: tagList(rule.tags) } : {})
      })
    )
    const arn = out.RuleArn ?? ''
    e.done({ kind: 'event-rule', action: change.action, name: change.name, id: arn })
    return arn
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      await tolerate(['ResourceNotFoundException'], () => e.send(new DeleteRuleCommand({ Name: change.name })))
      e.done({ kind: 'event-rule', action: 'delete', name: change.name })
    }
  }
}
