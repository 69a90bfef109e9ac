/**
 * Where events the DNS updater kept failing on end up, after the event queue's
 * maxReceiveCount receives. The schedule reconciles every record anyway, so what lands
 * here is a symptom, not a loss: a run that reads the zone (plan, and deploys that wait)
 * reports it as drift and clears it.
 */
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand
} from '@aws-sdk/client-sqs'
import { readOptional, tolerate } from '../aws/send.js'
import { deadLetterQueueName } from '../names.js'
import { identity } from './iam-role.js'
import { RECREATE_WAIT_MS, queueArn, readQueueUrls, type QueueRef } from './event-queue.js'
import { othersExist } from './project-drift.js'
import type { KindOps, Removal, Upsert } from './kind.js'

export interface DesiredDeadLetterQueue {
  name: string
  retentionSeconds: number
  region: string
  tags: Record<string, string>
}

export interface CurrentDeadLetterQueue {
  url: string
  /** Messages waiting in it, when the run read them (it reads them with the zone's records). */
  messages?: number
}

export type DeadLetterQueueChange =
  | Upsert<'dead-letter-queue', DesiredDeadLetterQueue, CurrentDeadLetterQueue>
  | Removal<'dead-letter-queue', CurrentDeadLetterQueue>

const GONE = ['AWS.SimpleQueueService.NonExistentQueue', 'QueueDoesNotExist']

export const deadLetterQueue: KindOps<'dead-letter-queue'> = {
  kind: 'dead-letter-queue',
  noun: 'dead-letter queue',
  level: 'project',
  dependsOn: [],
  removeAfter: ['event-queue'],
  async read(ctx) {
    const url = (await readQueueUrls(ctx)).get(deadLetterQueueName(ctx.scope))
    if (!url || !ctx.records) return { deadLetterQueue: url ? { url } : undefined }
    const out = await readOptional(`reading queue ${url}`, GONE, () =>
      ctx.aws.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }))
    )
    return {
      deadLetterQueue: out ? { url, messages: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) } : undefined
    }
  },
  diff({ desired, current }) {
    const want = desired.project.deadLetterQueue
    const have = current.deadLetterQueue
    const base = { kind: 'dead-letter-queue' as const, name: want.name, desired: want, current: have }
    if (!have)
      return [
        {
          ...base,
          action: 'create',
          reason: `not found; keeps failed events ${want.retentionSeconds / 86400} days`,
          drift: othersExist(current, 'queue')
        }
      ]
    if (!have.messages) return [{ ...base, action: 'noop', reason: have.messages === 0 ? 'empty' : 'up to date' }]
    const reason = `holds ${have.messages} event(s) the DNS updater gave up on; the reconcile schedule has rewritten their records from the instances, so they are cleared`
    return [{ ...base, action: 'update', reason, fields: ['messages'], drift: true }]
  },
  removals({ current, destroy }) {
    const have = current.deadLetterQueue
    return destroy && have
      ? [
          {
            kind: 'dead-letter-queue',
            action: 'delete',
            name: deadLetterQueueName(current.scope),
            reason: '',
            current: have
          }
        ]
      : []
  },
  async apply(change, { e, refs }): Promise<QueueRef> {
    const want = change.desired
    const ids = await identity(e, refs)
    const arn = queueArn({ ...ids, region: want.region, name: want.name })
    if (change.action === 'noop' && change.current) return { url: change.current.url, arn }
    if (change.action === 'update' && change.current) {
      await e.send(new PurgeQueueCommand({ QueueUrl: change.current.url }))
      e.done(
        { kind: 'dead-letter-queue', action: 'update', name: change.name },
        `(${change.current.messages ?? 0} message(s) cleared)`
      )
      return { url: change.current.url, arn }
    }
    const Attributes = { MessageRetentionPeriod: String(want.retentionSeconds), SqsManagedSseEnabled: 'true' }
    const create = new CreateQueueCommand({ QueueName: want.name, Attributes, tags: want.tags })
    const url =
      (
        await e.retryOn(
          ['QueueDeletedRecently', 'AWS.SimpleQueueService.QueueDeletedRecently'],
          () => e.send(create),
          RECREATE_WAIT_MS
        )
      ).QueueUrl ?? ''
    e.done({ kind: 'dead-letter-queue', action: 'create', name: change.name, id: arn })
    return { url, arn }
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      const url = change.current?.url
      if (url) await tolerate(GONE, () => e.send(new DeleteQueueCommand({ QueueUrl: url })))
      e.done({ kind: 'dead-letter-queue', action: 'delete', name: change.name })
    }
  }
}
