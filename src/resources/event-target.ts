/**
 * The targets of the project's two rules (instance state changes, and the reconcile
 * schedule): the DNS updater's queue. PutTargets reports failures in FailedEntries
 * instead of throwing.
 */
import { ListTargetsByRuleCommand, PutTargetsCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge'
import { codedError } from '../aws/errors.js'
import { readOptional, tolerate } from '../aws/send.js'
import { ruleName, scheduleRuleName } from '../names.js'
import type { KindOps, Removal, Upsert } from './kind.js'

export interface DesiredTarget {
  ruleName: string
  id: string
  /** The queue the rule sends to. */
  queueName: string
}

export interface CurrentTarget {
  rule: string
  id: string
  arn: string
}

export type TargetChange = Upsert<'event-target', DesiredTarget, CurrentTarget> | Removal<'event-target', CurrentTarget>

export const eventTarget: KindOps<'event-target'> = {
  kind: 'event-target',
  noun: 'rule target',
  level: 'project',
  dependsOn: ['event-rule', 'schedule-rule', 'event-queue'],
  removeAfter: [],
  removeTogether: true,
  async read({ aws, scope }) {
    const targets = await Promise.all(
      [ruleName(scope), scheduleRuleName(scope)].map(async (rule) => {
        const out = await readOptional(`listing the targets of rule ${rule}`, ['ResourceNotFoundException'], () =>
          aws.send(new ListTargetsByRuleCommand({ Rule: rule }))
        )
        return (out?.Targets ?? []).map((t) => ({ rule, id: t.Id ?? '', arn: t.Arn ?? '' }))
      })
    )
    return { targets: targets.flat() }
  },
  diff({ desired, current }) {
    const rules = [current.rule, current.scheduleRule]
    return desired.project.targets.map((target) => {
      const have = current.targets.find((t) => t.rule === target.ruleName && t.id === target.id)
      const base = {
        kind: 'event-target' as const,
        name: `${target.ruleName}/${target.id}`,
        desired: target,
        current: have
      }
      const ruleExists = rules.some((r) => r?.name === target.ruleName)
      if (!have)
        return {
          ...base,
          action: 'create' as const,
          reason: 'not found',
          drift: ruleExists && current.queue !== undefined
        }
      if (!current.queue || have.arn !== current.queue.arn) {
        // The DNS updater itself was the target before the queue (an earlier version of the action): not drift.
        const earlier = have.arn.includes(':lambda:')
        return {
          ...base,
          action: 'update' as const,
          reason: earlier ? 'to the queue (was the function)' : 'points elsewhere',
          fields: ['arn'],
          drift: current.queue !== undefined && !earlier
        }
      }
      return { ...base, action: 'noop' as const, reason: 'up to date' }
    })
  },
  removals({ current, destroy }) {
    if (!destroy) return []
    return current.targets.map((t) => ({
      kind: 'event-target' as const,
      action: 'delete' as const,
      name: `${t.rule}/${t.id}`,
      reason: '',
      current: t
    }))
  },
  async apply(change, { e, need }) {
    if (change.action === 'noop') return
    const target = change.desired
    const queue = await need('event-queue')
    await Promise.all([need('event-rule'), need('schedule-rule')])
    await e.retryOn(['FailedEntries'], async () => {
      const out = await e.send(
        new PutTargetsCommand({ Rule: target.ruleName, Targets: [{ Id: target.id, Arn: queue.arn }] })
      )
      if ((out.FailedEntryCount ?? 0) > 0) {
        const entry = out.FailedEntries?.[0]
        throw codedError(
          'FailedEntries',
          `PutTargets failed for ${entry?.TargetId ?? target.id}: ${entry?.ErrorCode ?? ''} ${entry?.ErrorMessage ?? ''}`
        )
      }
    })
    e.done({ kind: 'event-target', action: change.action, name: change.name })
  },
  async remove(changes, { e }) {
    for (const rule of [...new Set(changes.map((c) => c.current?.rule ?? ''))].filter(Boolean)) {
      const ids = changes.filter((c) => c.current?.rule === rule).map((c) => c.current?.id ?? '')
      await tolerate(['ResourceNotFoundException'], () => e.send(new RemoveTargetsCommand({ Rule: rule, Ids: ids })))
    }
    for (const change of changes) e.done({ kind: 'event-target', action: 'delete', name: change.name })
  }
}
