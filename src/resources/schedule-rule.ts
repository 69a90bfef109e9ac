/**
 * The reconcile backstop: an EventBridge schedule whose events go to the DNS updater's
 * queue like the state changes do; each one makes the function rewrite every record of
 * the project from the instances, so a lost event delays a record by minutes at most.
 */
import { DeleteRuleCommand, DescribeRuleCommand, PutRuleCommand } from '@aws-sdk/client-eventbridge'
import { readOptional, tolerate } from '../aws/send.js'
import { scheduleRuleName } from '../names.js'
import { othersExist } from './project-drift.js'
import { tagList, type KindOps, type Removal, type Upsert } from './kind.js'

export interface DesiredSchedule {
  name: string
  /** `rate(5 minutes)`. */
  scheduleExpression: string
  description: string
  tags: Record<string, string>
}

export interface CurrentSchedule {
  name: string
  arn: string
  scheduleExpression?: string
  state?: string
}

export type ScheduleChange =
  Upsert<'schedule-rule', DesiredSchedule, CurrentSchedule> | Removal<'schedule-rule', CurrentSchedule>

export const scheduleRule: KindOps<'schedule-rule'> = {
  kind: 'schedule-rule',
  noun: 'schedule',
  level: 'project',
  dependsOn: [],
  removeAfter: ['event-target'],
  async read({ aws, scope }) {
    const name = scheduleRuleName(scope)
    const out = await readOptional(`reading rule ${name}`, ['ResourceNotFoundException'], () =>
      aws.send(new DescribeRuleCommand({ Name: name }))
    )
    return {
      scheduleRule: out?.Arn
        ? { name, arn: out.Arn, scheduleExpression: out.ScheduleExpression, state: out.State }
        : undefined
    }
  },
  diff({ desired, current }) {
    const want = desired.project.scheduleRule
    const have = current.scheduleRule
    const base = { kind: 'schedule-rule' as const, name: want.name, desired: want, current: have }
    if (!have)
      return [
        {
          ...base,
          action: 'create',
          reason: `not found; ${want.scheduleExpression}`,
          drift: othersExist(current, 'queue')
        }
      ]
    const fields = [
      have.scheduleExpression !== want.scheduleExpression ? 'scheduleExpression' : '',
      have.state !== 'ENABLED' ? 'state' : ''
    ].filter(Boolean)
    if (fields.length === 0) return [{ ...base, action: 'noop', reason: 'up to date' }]
    return [{ ...base, action: 'update', reason: `${fields.join(', ')} differs`, fields, drift: true }]
  },
  removals({ current, destroy }) {
    const have = current.scheduleRule
    return destroy && have
      ? [{ kind: 'schedule-rule', action: 'delete', name: have.name, reason: '', current: have }]
      : []
  },
  async apply(change, { e }) {
    if (change.action === 'noop') return change.current?.arn ?? ''
    const want = change.desired
    const put = new PutRuleCommand({
      Name: want.name,
      ScheduleExpression: want.scheduleExpression,
      State: 'ENABLED',
      Description: want.description,
      ...(change.action === 'create' ? { Tags: tagList(want.tags) } : {})
    })
    const arn = (await e.send(put)).RuleArn ?? ''
    e.done({ kind: 'schedule-rule', action: change.action, name: change.name, id: arn })
    return arn
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      await tolerate(['ResourceNotFoundException'], () => e.send(new DeleteRuleCommand({ Name: change.name })))
      e.done({ kind: 'schedule-rule', action: 'delete', name: change.name })
    }
  }
}
