/** The DNS updater's log group, with the retention the inputs ask for. */
import {
  CreateLogGroupCommand,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
  PutRetentionPolicyCommand,
  type LogGroup
} from '@aws-sdk/client-cloudwatch-logs'
import { errorCode, wrap } from '../aws/errors.js'
import { tolerate } from '../aws/send.js'
import { containerLogGroupName, logGroupName } from '../names.js'
import { othersExist } from './project-drift.js'
import type { KindOps, ReadContext, Removal, Upsert } from './kind.js'

export interface DesiredLogGroup {
  name: string
  retentionDays: number
  tags: Record<string, string>
}

export interface CurrentLogGroup {
  name: string
  arn?: string
  retentionDays?: number
}

export type LogGroupChange =
  Upsert<'log-group', DesiredLogGroup, CurrentLogGroup> | Removal<'log-group', CurrentLogGroup>

/** The project's and the stack's log groups, in one read (by name: no prefix scan of the account). */
export function readLogGroups(ctx: ReadContext): Promise<LogGroup[]> {
  const names = [logGroupName(ctx.scope), containerLogGroupName(ctx.scope)]
  return ctx.once('log-groups', async () => {
    try {
      return (await ctx.aws.send(new DescribeLogGroupsCommand({ logGroupIdentifiers: names }))).logGroups ?? []
    } catch (err) {
      throw wrap(`reading log groups ${names.join(', ')}`, err)
    }
  })
}

export function logGroupArn(args: { partition: string; region: string; accountId: string; name: string }): string {
  return `arn:${args.partition}:logs:${args.region}:${args.accountId}:log-group:${args.name}`
}

export const logGroup: KindOps<'log-group'> = {
  kind: 'log-group',
  noun: 'log group',
  level: 'project',
  dependsOn: [],
  removeAfter: ['lambda-function'],
  async read(ctx) {
    const name = logGroupName(ctx.scope)
    const group = (await readLogGroups(ctx)).find((g) => g.logGroupName === name)
    return {
      logGroup: group ? { name, arn: group.arn?.replace(/:\*$/, ''), retentionDays: group.retentionInDays } : undefined
    }
  },
  diff({ desired, current }) {
    const group = desired.project.logGroup
    const base = { kind: 'log-group' as const, name: group.name, desired: group, current: current.logGroup }
    if (!current.logGroup)
      return [
        {
          ...base,
          action: 'create',
          reason: `not found; retention ${group.retentionDays} days`,
          drift: othersExist(current, 'logGroup')
        }
      ]
    if (current.logGroup.retentionDays === group.retentionDays)
      return [{ ...base, action: 'noop', reason: 'up to date' }]
    // The action always sets a retention: a group without one was made by someone else (the function
    // recreates its group when it logs after the group was deleted).
    const drift = current.logGroup.retentionDays === undefined
    const reason = `retention ${current.logGroup.retentionDays ?? 'never expire'} -> ${group.retentionDays} days`
    return [{ ...base, action: 'update', reason, fields: ['retentionDays'], drift }]
  },
  removals({ current, destroy }) {
    return destroy && current.logGroup
      ? [{ kind: 'log-group', action: 'delete', name: current.logGroup.name, reason: '', current: current.logGroup }]
      : []
  },
  async apply(change, { e }) {
    if (change.action === 'noop') return
    const group = change.desired
    if (change.action === 'create') {
      await e.send(new CreateLogGroupCommand({ logGroupName: group.name, tags: group.tags })).catch((err: unknown) => {
        if (errorCode(err) !== 'ResourceAlreadyExistsException') throw err
      })
    }
    await e.retryOn(['ResourceNotFoundException'], () =>
      e.send(new PutRetentionPolicyCommand({ logGroupName: group.name, retentionInDays: group.retentionDays }))
    )
    e.done({ kind: 'log-group', action: change.action, name: change.name })
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      if (change.current)
        await tolerate(['ResourceNotFoundException'], () =>
          e.send(new DeleteLogGroupCommand({ logGroupName: change.name }))
        )
      e.done({ kind: 'log-group', action: 'delete', name: change.name })
    }
  }
}
