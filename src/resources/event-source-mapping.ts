/**
 * The DNS updater drains its queue through an event source mapping: batches of up to
 * batchSize events gathered for up to the batching window, at most maximumConcurrency
 * batches at once (two: one Route 53 writer racing another is rare and retried), and
 * ReportBatchItemFailures so that only the events of services it could not write come back.
 */
import {
  CreateEventSourceMappingCommand,
  DeleteEventSourceMappingCommand,
  ListEventSourceMappingsCommand,
  UpdateEventSourceMappingCommand
} from '@aws-sdk/client-lambda'
import { errorCode, errorMessage } from '../aws/errors.js'
import { readOptional, tolerate } from '../aws/send.js'
import { functionName } from '../names.js'
import { othersExist } from './project-drift.js'
import type { KindOps, Removal, Upsert } from './kind.js'

export interface DesiredMapping {
  functionName: string
  batchSize: number
  batchingWindowSeconds: number
  maximumConcurrency: number
}

export interface CurrentMapping {
  uuid: string
  eventSourceArn: string
  batchSize?: number
  batchingWindowSeconds?: number
  maximumConcurrency?: number
  reportsBatchItemFailures: boolean
  state?: string
}

export type MappingChange =
  Upsert<'event-source-mapping', DesiredMapping, CurrentMapping> | Removal<'event-source-mapping', CurrentMapping>

/** Lambda checks the execution role can read the queue: a role policy just written is not seen for a few seconds. */
const roleNotReady = (err: unknown): boolean =>
  errorCode(err) === 'InvalidParameterValueException' && /role|permission|ReceiveMessage/i.test(errorMessage(err))

function settings(want: DesiredMapping) {
  return {
    BatchSize: want.batchSize,
    MaximumBatchingWindowInSeconds: want.batchingWindowSeconds,
    ScalingConfig: { MaximumConcurrency: want.maximumConcurrency },
    FunctionResponseTypes: ['ReportBatchItemFailures' as const],
    Enabled: true
  }
}

export const eventSourceMapping: KindOps<'event-source-mapping'> = {
  kind: 'event-source-mapping',
  noun: 'event source mapping of',
  level: 'project',
  dependsOn: ['lambda-function', 'event-queue', 'role-policy'],
  // Unwired first; the project's DNS updater goes only once the stack's removals all succeeded.
  removeAfter: ['event-target', 'auto-scaling-group', 'launch-template', 'security-group', 'dns-record'],
  async read({ aws, scope }) {
    const fn = functionName(scope)
    const out = await readOptional(`listing the event source mappings of ${fn}`, ['ResourceNotFoundException'], () =>
      aws.send(new ListEventSourceMappingsCommand({ FunctionName: fn }))
    )
    const m = out?.EventSourceMappings?.find((x) => x.EventSourceArn?.includes(':sqs:'))
    if (!m?.UUID) return { eventSourceMapping: undefined }
    return {
      eventSourceMapping: {
        uuid: m.UUID,
        eventSourceArn: m.EventSourceArn ?? '',
        batchSize: m.BatchSize,
        batchingWindowSeconds: m.MaximumBatchingWindowInSeconds,
        maximumConcurrency: m.ScalingConfig?.MaximumConcurrency,
        reportsBatchItemFailures: (m.FunctionResponseTypes ?? []).includes('ReportBatchItemFailures'),
        state: m.State
      }
    }
  },
  diff({ desired, current }) {
    const want = desired.project.eventSourceMapping
    const have = current.eventSourceMapping
    const base = { kind: 'event-source-mapping' as const, name: want.functionName, desired: want, current: have }
    if (!have)
      return [
        {
          ...base,
          action: 'create',
          reason: `not found; batches of up to ${want.batchSize} within ${want.batchingWindowSeconds} s, ${want.maximumConcurrency} at once`,
          drift: othersExist(current, 'queue') && current.queue !== undefined
        }
      ]
    const fields = [
      have.batchSize !== want.batchSize ? 'batchSize' : '',
      have.batchingWindowSeconds !== want.batchingWindowSeconds ? 'batchingWindow' : '',
      have.maximumConcurrency !== want.maximumConcurrency ? 'maximumConcurrency' : '',
      have.reportsBatchItemFailures ? '' : 'functionResponseTypes',
      have.state === 'Disabled' ? 'state' : '',
      current.queue && have.eventSourceArn !== current.queue.arn ? 'eventSource' : ''
    ].filter(Boolean)
    if (fields.length === 0) return [{ ...base, action: 'noop', reason: 'up to date' }]
    return [
      {
        ...base,
        action: fields.includes('eventSource') ? 'replace' : 'update',
        reason: `${fields.join(', ')} differ`,
        fields,
        drift: true
      }
    ]
  },
  removals({ current, destroy }) {
    const have = current.eventSourceMapping
    return destroy && have
      ? [
          {
            kind: 'event-source-mapping',
            action: 'delete',
            name: functionName(current.scope),
            reason: '',
            current: have
          }
        ]
      : []
  },
  async apply(change, { e, need }) {
    if (change.action === 'noop') return
    const [queue] = await Promise.all([need('event-queue'), need('lambda-function'), need('role-policy')])
    const want = change.desired
    if (change.action === 'update' && change.current) {
      const uuid = change.current.uuid
      await e.retryOn(['ResourceInUseException', 'ResourceConflictException'], () =>
        e.send(new UpdateEventSourceMappingCommand({ UUID: uuid, FunctionName: want.functionName, ...settings(want) }))
      )
    } else {
      if (change.action === 'replace' && change.current) {
        const uuid = change.current.uuid
        await tolerate(['ResourceNotFoundException'], () => e.send(new DeleteEventSourceMappingCommand({ UUID: uuid })))
      }
      const create = new CreateEventSourceMappingCommand({
        FunctionName: want.functionName,
        EventSourceArn: queue.arn,
        ...settings(want)
      })
      await e
        .retryOn(roleNotReady, () => e.send(create), e.timing.rolePropagationMs)
        .catch((err: unknown) => {
          // A crashed run made it already: one mapping per queue and function.
          if (errorCode(err) !== 'ResourceConflictException') throw err
        })
    }
    e.done({ kind: 'event-source-mapping', action: change.action, name: change.name })
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      const uuid = change.current?.uuid
      if (uuid)
        await tolerate(['ResourceNotFoundException'], () =>
          e.retryOn(['ResourceInUseException'], () => e.send(new DeleteEventSourceMappingCommand({ UUID: uuid })))
        )
      e.done({ kind: 'event-source-mapping', action: 'delete', name: change.name })
    }
  }
}
