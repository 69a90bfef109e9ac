/**
 * The invoke permission an earlier version of the action gave EventBridge on the DNS
 * updater, when the rule targeted the function itself. Events now reach the function
 * through its queue (an event source mapping needs no resource policy), so the statement
 * is only ever removed: when a rule still targets the function, the permission that let it
 * is planned away (no read of its own: the rule's targets tell).
 */
import { RemovePermissionCommand } from '@aws-sdk/client-lambda'
import { tolerate } from '../aws/send.js'
import { PERMISSION_STATEMENT_ID, functionName } from '../names.js'
import type { KindOps, Removal } from './kind.js'

export interface CurrentPermission {
  statementId: string
}

export type PermissionChange = Removal<'lambda-permission', CurrentPermission>

export const lambdaPermission: KindOps<'lambda-permission'> = {
  kind: 'lambda-permission',
  noun: 'invoke permission',
  level: 'project',
  dependsOn: [],
  removeAfter: ['event-target'],
  diff: () => [],
  removals({ current }) {
    if (!current.targets.some((t) => t.arn.includes(':lambda:'))) return []
    const name = `${functionName(current.scope)}/${PERMISSION_STATEMENT_ID}`
    return [
      {
        kind: 'lambda-permission',
        action: 'delete',
        name,
        reason: 'events reach the function through its queue now',
        current: { statementId: PERMISSION_STATEMENT_ID }
      }
    ]
  },
  apply: () => Promise.reject(new Error('the invoke permission is only removed')),
  async remove(changes, { e, plan }) {
    // Deleting the function deletes its policy: a separate call only when the function stays.
    const functionGoes = plan.changes.some((c) => c.kind === 'lambda-function' && c.action === 'delete' && c.current)
    for (const change of changes) {
      if (!functionGoes) {
        await tolerate(['ResourceNotFoundException'], () =>
          e.send(
            new RemovePermissionCommand({
              FunctionName: change.name.split('/')[0],
              StatementId: PERMISSION_STATEMENT_ID
            })
          )
        )
      }
      e.done({ kind: 'lambda-permission', action: 'delete', name: change.name })
    }
  }
}
