/**
 * The queue EventBridge fills with the project's events (instance state changes and the
 * reconcile schedule), drained by the DNS updater in batches through an event source
 * mapping: one Route 53 read and one write per batch instead of per event. Its policy lets
 * only the project's two rules send; after maxReceiveCount failed receives a message moves
 * to the dead-letter queue.
 */
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  SetQueueAttributesCommand
} from '@aws-sdk/client-sqs'
import { errorCode } from '../aws/errors.js'
import { readOptional, tolerate, type Aws } from '../aws/send.js'
import { canonicalJson } from '../json.js'
import { queueName } from '../names.js'
import type { CurrentState, DesiredState } from '../state.js'
import { identity } from './iam-role.js'
import { othersExist } from './project-drift.js'
import type { KindOps, ReadContext, Refs, Removal, Upsert } from './kind.js'
import { parsePolicy } from './role-policy.js'

export interface DesiredQueue {
  name: string
  /** At least six times the function's timeout, as Lambda asks of an event source queue. */
  visibilityTimeout: number
  retentionSeconds: number
  /** Receives before a message moves to the dead-letter queue. */
  maxReceiveCount: number
  deadLetterQueueName: string
  /** The rules allowed to send (the state-change rule and the reconcile schedule). */
  ruleNames: string[]
  region: string
  tags: Record<string, string>
}

export interface CurrentQueue {
  url: string
  arn: string
  /** The attributes the action sets, as SQS reports them (strings). */
  attributes: Record<string, string>
}

export type QueueChange = Upsert<'event-queue', DesiredQueue, CurrentQueue> | Removal<'event-queue', CurrentQueue>

/** What the queue hands its dependants. */
export interface QueueRef {
  url: string
  arn: string
}

/** SQS refuses a queue name for 60 s after a queue of that name was deleted (a destroy, then a deploy). */
export const RECREATE_WAIT_MS = 75_000

export function queueArn(args: { partition: string; region: string; accountId: string; name: string }): string {
  return `arn:${args.partition}:sqs:${args.region}:${args.accountId}:${args.name}`
}

/** The project's queues by name (one ListQueues on the shared name prefix, for both queues). */
export function readQueueUrls(ctx: ReadContext): Promise<Map<string, string>> {
  return ctx.once('queues', async () => {
    const out = await readOptional('listing the DNS updater queues', [], () =>
      ctx.aws.send(new ListQueuesCommand({ QueueNamePrefix: queueName(ctx.scope), MaxResults: 1000 }))
    )
    return new Map((out?.QueueUrls ?? []).map((url) => [url.split('/').at(-1) ?? '', url]))
  })
}

/** The attributes the action sets, in SQS's string form. */
export function queueAttributes(
  want: DesiredQueue,
  ids: { partition: string; accountId: string }
): Record<string, string> {
  const arn = queueArn({ ...ids, region: want.region, name: want.name })
  const rules = want.ruleNames.map((name) => `arn:${ids.partition}:events:${want.region}:${ids.accountId}:rule/${name}`)
  return {
    VisibilityTimeout: String(want.visibilityTimeout),
    MessageRetentionPeriod: String(want.retentionSeconds),
    SqsManagedSseEnabled: 'true',
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: queueArn({ ...ids, region: want.region, name: want.deadLetterQueueName }),
      maxReceiveCount: want.maxReceiveCount
    }),
    Policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ProjectRulesSend',
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: arn,
          Condition: { ArnEquals: { 'aws:SourceArn': rules } }
        }
      ]
    })
  }
}

/** The attributes that differ from what the action would set (JSON ones compared as data). */
function differing(want: Record<string, string>, have: Record<string, string>): string[] {
  const json = (text: string | undefined): string => canonicalJson(parsePolicy(text) ?? null)
  return Object.keys(want).filter((key) =>
    key === 'Policy' || key === 'RedrivePolicy' ? json(want[key]) !== json(have[key]) : want[key] !== have[key]
  )
}

function expected(desired: DesiredState, current: CurrentState): Record<string, string> | undefined {
  const { accountId, partition } = current
  return accountId && partition ? queueAttributes(desired.project.queue, { accountId, partition }) : undefined
}

async function ensureQueue(aws: Aws, want: DesiredQueue, refs: Refs): Promise<QueueRef> {
  const ids = await identity(aws, refs)
  const Attributes = queueAttributes(want, ids)
  let url: string
  try {
    const create = new CreateQueueCommand({ QueueName: want.name, Attributes, tags: want.tags })
    url =
      (
        await aws.retryOn(
          ['QueueDeletedRecently', 'AWS.SimpleQueueService.QueueDeletedRecently'],
          () => aws.send(create),
          RECREATE_WAIT_MS
        )
      ).QueueUrl ?? ''
  } catch (err) {
    // It exists with other attributes (drift, or an older version of the action): set them.
    if (errorCode(err) !== 'QueueAlreadyExists' && errorCode(err) !== 'QueueNameExists') throw err
    url =
      (await aws.send(new ListQueuesCommand({ QueueNamePrefix: want.name }))).QueueUrls?.find((u) =>
        u.endsWith(`/${want.name}`)
      ) ?? ''
    await aws.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes }))
  }
  return { url, arn: queueArn({ ...ids, region: want.region, name: want.name }) }
}

export const eventQueue: KindOps<'event-queue'> = {
  kind: 'event-queue',
  noun: 'queue',
  level: 'project',
  dependsOn: ['dead-letter-queue', 'event-rule', 'schedule-rule'],
  removeAfter: ['event-source-mapping', 'event-target'],
  async read(ctx) {
    const url = (await readQueueUrls(ctx)).get(queueName(ctx.scope))
    if (!url) return { queue: undefined }
    const out = await readOptional(
      `reading queue ${url}`,
      ['AWS.SimpleQueueService.NonExistentQueue', 'QueueDoesNotExist'],
      () => ctx.aws.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))
    )
    const attributes = out?.Attributes ?? {}
    return { queue: out ? { url, arn: attributes.QueueArn ?? '', attributes } : undefined }
  },
  diff({ desired, current }) {
    const want = desired.project.queue
    const base = { kind: 'event-queue' as const, name: want.name, desired: want, current: current.queue }
    if (!current.queue)
      return [
        {
          ...base,
          action: 'create',
          reason: `not found; ${want.visibilityTimeout} s visibility, ${want.maxReceiveCount} receives before the dead-letter queue`,
          drift: othersExist(current, 'queue')
        }
      ]
    const attributes = expected(desired, current)
    const fields = attributes ? differing(attributes, current.queue.attributes) : ['Policy']
    if (fields.length === 0) return [{ ...base, action: 'noop', reason: 'up to date' }]
    // The action always writes all of them: a difference where the queue has them is a hand's.
    const drift = fields.every((f) => current.queue?.attributes[f] !== undefined) && attributes !== undefined
    return [{ ...base, action: 'update', reason: `${fields.join(', ')} differ`, fields, drift }]
  },
  removals({ current, destroy }) {
    return destroy && current.queue
      ? [{ kind: 'event-queue', action: 'delete', name: queueName(current.scope), reason: '', current: current.queue }]
      : []
  },
  async apply(change, { e, refs }) {
    if (change.action === 'noop' && change.current) return { url: change.current.url, arn: change.current.arn }
    const ref = await ensureQueue(e, change.desired, refs)
    if (change.action !== 'noop') e.done({ kind: 'event-queue', action: change.action, name: change.name, id: ref.arn })
    return ref
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      const url = change.current?.url
      if (url)
        await tolerate(['AWS.SimpleQueueService.NonExistentQueue', 'QueueDoesNotExist'], () =>
          e.send(new DeleteQueueCommand({ QueueUrl: url }))
        )
      e.done({ kind: 'event-queue', action: 'delete', name: change.name })
    }
  }
}
