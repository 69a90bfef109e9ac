/** The rule's target: the DNS updater function. PutTargets reports failures in FailedEntries instead of throwing. */
import { ListTargetsByRuleCommand, PutTargetsCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge'
import { codedError } from '../aws/errors.js'
import { readOptional, tolerate } from '../aws/send.js'
import { ruleName } from '../names.js'
import type { KindOps, Removal, Upsert } from './kind.js'

export interface DesiredTarget {
  ruleName: string
  id: string
  functionName: string
}

export interface CurrentTarget {
  id: string
  arn: string
}

export type TargetChange = Upsert<'event-target', DesiredTarget, CurrentTarget> | Removal<'event-target', CurrentTarget>

export const eventTarget: KindOps<'event-target'> = {
  kind: 'event-target',
  noun: 'rule target',
  level: 'project',
  dependsOn: ['event-rule', 'lambda-function'],
  removeAfter: [],
  removeTogether: true,
  async read({ aws, scope }) {
    const rule = ruleName(scope)
    const out = await readOptional(`listing the targets of rule ${rule}`, ['ResourceNotFoundException'], () => aws.send(new ListTargetsByRuleCommand({ Rule: rule })))
    return { targets: (out?.Targets ?? []).map((t) => ({ id: t.Id ?? '', arn: t.Arn ?? '' })) }
  },
  diff({ desired, current }) {
    const target = desired.project.target
    const have = current.targets.find((t) => t.id === target.id)
    const base = { kind: 'event-target' as const, name: `${target.ruleName}/${target.id}`, desired: target, current: have }
    if (!have) return [{ ...base, action: 'create', reason: 'not found', drift: current.rule !== undefined && current.function !== undefined }]
    if (!current.function || have.arn !== current.function.arn) {
      return [{ ...base, action: 'update', reason: 'points elsewhere', fields: ['arn'], drift: current.function !== undefined }]
    }
    return [{ ...base, action: 'noop', reason: 'up to date' }]
  },
  removals({ current, destroy }) {
    const rule = current.rule
    if (!destroy || !rule) return []
    return current.targets.map((t) => ({ kind: 'event-target' as const, action: 'delete' as const, name: `${rule.name}/${t.id}`, reason: '', current: t }))
  },
  async apply(change, { e, need }) {
    if (change.action === 'noop') return
    const target = change.desired
    const [, functionArn] = await Promise.all([need('event-rule'), need('lambda-function')])
    await e.retryOn(['FailedEntries'], async () => {
      const out = await e.send(new PutTargetsCommand({ Rule: target.ruleName, Targets: [{ Id: target.id, Arn: functionArn }] }))
      if ((out.FailedEntryCount ?? 0) > 0) {
        const entry = out.FailedEntries?.[0]
        throw codedError('FailedEntries', `PutTargets failed for ${entry?.TargetId ?? target.id}: ${entry?.ErrorCode ?? ''} ${entry?.ErrorMessage ?? ''}`)
      }
    })
    e.done({ kind: 'event-target', action: change.action, name: change.name })
  },
  async remove(changes, { e }) {
    const ids = changes.map((c) => c.current?.id ?? '').filter(Boolean)
    const rule = changes[0]?.name.split('/')[0]
    if (rule && ids.length > 0) await tolerate(['ResourceNotFoundException'], () => e.send(new RemoveTargetsCommand({ Rule: rule, Ids: ids })))
    for (const change of changes) e.done({ kind: 'event-target', action: 'delete', name: change.name })
  }
}
