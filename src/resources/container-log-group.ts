/**
 * The stack's container logs: one log group `/hyperform/<project>/<stack>`,
 * one stream per instance and service (`<service>/<instance-id>`, written by
 * Docker's awslogs driver with the instance role). Read with the DNS
 * updater's group in one call; removed with the stack, once its instances
 * are gone.
 */
import {
  CreateLogGroupCommand,
  DeleteLogGroupCommand,
  PutRetentionPolicyCommand
} from '@aws-sdk/client-cloudwatch-logs'
import { errorCode } from '../aws/errors.js'
import { tolerate } from '../aws/send.js'
import { containerLogGroupName } from '../names.js'
import type { KindOps, Removal, Upsert } from './kind.js'
import { readLogGroups, type CurrentLogGroup, type DesiredLogGroup } from './log-group.js'

export type ContainerLogGroupChange =
  Upsert<'container-log-group', DesiredLogGroup, CurrentLogGroup> | Removal<'container-log-group', CurrentLogGroup>

export const containerLogGroup: KindOps<'container-log-group'> = {
  kind: 'container-log-group',
  noun: 'container log group',
  level: 'stack',
  dependsOn: [],
  removeAfter: ['auto-scaling-group'],
  async read(ctx) {
    const name = containerLogGroupName(ctx.scope)
    const group = (await readLogGroups(ctx)).find((g) => g.logGroupName === name)
    return { containerLogGroup: group ? { name, retentionDays: group.retentionInDays } : undefined }
  },
  diff({ desired, current }) {
    const want = desired.containerLogGroup
    const have = current.containerLogGroup
    const base = { kind: 'container-log-group' as const, name: want.name, desired: want, current: have }
    if (!have) return [{ ...base, action: 'create', reason: `not found; retention ${want.retentionDays} days` }]
    if (have.retentionDays === want.retentionDays) return [{ ...base, action: 'noop', reason: 'up to date' }]
    const reason = `retention ${have.retentionDays ?? 'never expire'} -> ${want.retentionDays} days`
    return [{ ...base, action: 'update', reason, fields: ['retentionDays'], drift: have.retentionDays === undefined }]
  },
  removals({ current, destroy, reason }) {
    const have = current.containerLogGroup
    return destroy && have
      ? [{ kind: 'container-log-group', action: 'delete', name: have.name, reason, current: have }]
      : []
  },
  async apply(change, { e }) {
    if (change.action === 'noop') return
    const want = change.desired
    if (change.action === 'create')
      await e.send(new CreateLogGroupCommand({ logGroupName: want.name, tags: want.tags })).catch((err: unknown) => {
        if (errorCode(err) !== 'ResourceAlreadyExistsException') throw err
      })
    await e.retryOn(['ResourceNotFoundException'], () =>
      e.send(new PutRetentionPolicyCommand({ logGroupName: want.name, retentionInDays: want.retentionDays }))
    )
    e.done({ kind: 'container-log-group', action: change.action, name: change.name })
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      await tolerate(['ResourceNotFoundException'], () =>
        e.send(new DeleteLogGroupCommand({ logGroupName: change.name }))
      )
      e.done({ kind: 'container-log-group', action: 'delete', name: change.name })
    }
  }
}
