/** The function's resource policy statement that lets the rule invoke it. */
import { AddPermissionCommand, GetPolicyCommand, RemovePermissionCommand } from '@aws-sdk/client-lambda'
import { errorCode } from '../aws/errors.js'
import { readOptional, tolerate } from '../aws/send.js'
import { PERMISSION_STATEMENT_ID, functionName } from '../names.js'
import { busy } from './lambda-function.js'
import { parsePolicy } from './role-policy.js'
import type { KindOps, Removal, Upsert } from './kind.js'

export interface DesiredPermission {
  functionName: string
  statementId: string
  principal: string
  action: string
  ruleName: string
}

export interface CurrentPermission {
  statementId: string
  principal?: string
  action?: string
  sourceArn?: string
}

export type PermissionChange = Upsert<'lambda-permission', DesiredPermission, CurrentPermission> | Removal<'lambda-permission', CurrentPermission>

interface PolicyStatement {
  Sid?: string
  Principal?: { Service?: string } | string
  Action?: string | string[]
  Condition?: Record<string, Record<string, string>>
}

export const lambdaPermission: KindOps<'lambda-permission'> = {
  kind: 'lambda-permission',
  noun: 'invoke permission',
  level: 'project',
  dependsOn: ['event-rule', 'lambda-function'],
  removeAfter: ['event-rule', 'auto-scaling-group', 'launch-template', 'security-group', 'dns-record'],
  async read({ aws, scope }) {
    const fn = functionName(scope)
    const out = await readOptional(`reading the resource policy of ${fn}`, ['ResourceNotFoundException'], () => aws.send(new GetPolicyCommand({ FunctionName: fn })))
    const policy = parsePolicy(out?.Policy) as { Statement?: PolicyStatement[] } | undefined
    const statement = policy?.Statement?.find((s) => s.Sid === PERMISSION_STATEMENT_ID)
    if (!statement) return { permission: undefined }
    const principal = typeof statement.Principal === 'string' ? statement.Principal : statement.Principal?.Service
    const sourceArn = statement.Condition?.ArnLike?.['AWS:SourceArn'] ?? statement.Condition?.ArnEquals?.['AWS:SourceArn']
    const action = Array.isArray(statement.Action) ? statement.Action[0] : statement.Action
    return { permission: { statementId: PERMISSION_STATEMENT_ID, principal, action, sourceArn } }
  },
  diff({ desired, current }) {
    const permission = desired.project.permission
    const have = current.permission
    const base = { kind: 'lambda-permission' as const, name: `${permission.functionName}/${permission.statementId}`, desired: permission, current: have }
    if (!have) return [{ ...base, action: 'create', reason: `not found; ${permission.principal} from the rule`, drift: current.function !== undefined && current.rule !== undefined }]
    const ok = current.rule !== undefined && have.sourceArn === current.rule.arn && have.principal === permission.principal && have.action === permission.action
    if (ok) return [{ ...base, action: 'noop', reason: 'up to date' }]
    return [{ ...base, action: 'replace', reason: 'scoped to another source or principal', drift: current.rule !== undefined }]
  },
  removals({ current, destroy }) {
    const p = current.permission
    return destroy && p ? [{ kind: 'lambda-permission', action: 'delete', name: `${current.function?.name ?? functionName(current.scope)}/${p.statementId}`, reason: '', current: p }] : []
  },
  async apply(change, { e, need }) {
    if (change.action === 'noop') return
    const p = change.desired
    const [ruleArn] = await Promise.all([need('event-rule'), need('lambda-function')])
    if (change.action === 'replace') {
      await tolerate(['ResourceNotFoundException'], () => e.send(new RemovePermissionCommand({ FunctionName: p.functionName, StatementId: p.statementId })))
    }
    const add = new AddPermissionCommand({ FunctionName: p.functionName, StatementId: p.statementId, Action: p.action, Principal: p.principal, SourceArn: ruleArn })
    await e.retryOn((err) => busy(err) || errorCode(err) === 'ResourceNotFoundException', () => e.send(add)).catch((err: unknown) => {
      // A crashed run may have added it already: the statement id exists.
      if (errorCode(err) !== 'ResourceConflictException') throw err
    })
    e.done({ kind: 'lambda-permission', action: change.action, name: change.name })
  },
  async remove(changes, { e, plan }) {
    // Deleting the function deletes its policy: a separate call only when the function stays.
    const functionGoes = plan.changes.some((c) => c.kind === 'lambda-function' && c.action === 'delete' && c.current)
    for (const change of changes) {
      const [fn = ''] = change.name.split('/')
      if (change.current && !functionGoes) {
        await tolerate(['ResourceNotFoundException'], () => e.send(new RemovePermissionCommand({ FunctionName: fn, StatementId: change.current?.statementId })))
      }
      e.done({ kind: 'lambda-permission', action: 'delete', name: change.name })
    }
  }
}
