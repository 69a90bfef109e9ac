/**
 * Event source mappings for SQS (Create/Get/List/Update/DeleteEventSourceMapping): validation as
 * Lambda does it, the state machine (Creating -> Enabled or Disabled, Updating, Deleting), and a
 * poller per mapping (poller.ts) that turns queue messages into batches for the function.
 */
import { randomUUID } from 'node:crypto'
import type {
  CreateEventSourceMappingRequest,
  DeleteEventSourceMappingRequest,
  EventSourceMappingConfiguration,
  GetEventSourceMappingRequest,
  ListEventSourceMappingsRequest,
  ListEventSourceMappingsResponse,
  UpdateEventSourceMappingRequest
} from '@aws-sdk/client-lambda'
import type { Cloud } from '../../types.js'
import type { RestContext, RestHandler } from '../../protocols/rest.js'
import { queueAccess } from '../sqs/access.js'
import { lambdaError } from './errors.js'
import type { EventSourceMapping, Fn, LambdaState } from './model.js'
import { startPoller, stopPoller } from './poller.js'

function validation(value: unknown, member: string, constraint: string): Error {
  return lambdaError(
    'ValidationException',
    `1 validation error detected: Value '${String(value)}' at '${member}' failed to satisfy constraint: ${constraint}`
  )
}

interface Settings {
  batchSize: number
  batchingWindowSeconds: number
  maximumConcurrency?: number
  functionResponseTypes: string[]
}

type SettingsInput = Pick<
  CreateEventSourceMappingRequest,
  'BatchSize' | 'MaximumBatchingWindowInSeconds' | 'ScalingConfig' | 'FunctionResponseTypes'
>

/** The mapping's settings after `input`, checked as Lambda checks an SQS mapping. */
function settings(input: SettingsInput, base: Settings): Settings {
  const batchSize = input.BatchSize ?? base.batchSize
  const window = input.MaximumBatchingWindowInSeconds ?? base.batchingWindowSeconds
  const concurrency = input.ScalingConfig ? input.ScalingConfig.MaximumConcurrency : base.maximumConcurrency
  const types = input.FunctionResponseTypes ?? base.functionResponseTypes
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw validation(batchSize, 'batchSize', 'Member must have value greater than or equal to 1')
  if (batchSize > 10000)
    throw lambdaError(
      'InvalidParameterValueException',
      'BatchSize must be between 1 and 10000 for an Amazon SQS standard queue.'
    )
  if (!Number.isInteger(window) || window < 0 || window > 300) {
    throw validation(window, 'maximumBatchingWindowInSeconds', 'Member must have value less than or equal to 300')
  }
  if (batchSize > 10 && window < 1) {
    throw lambdaError(
      'InvalidParameterValueException',
      'Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10'
    )
  }
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 2 || concurrency > 1000)) {
    throw validation(
      concurrency,
      'scalingConfig.maximumConcurrency',
      'Member must have value greater than or equal to 2 and less than or equal to 1000'
    )
  }
  const unknown = types.find((t) => t !== 'ReportBatchItemFailures')
  if (unknown !== undefined)
    throw validation(types, 'functionResponseTypes', 'Member must satisfy enum value set: [ReportBatchItemFailures]')
  return {
    batchSize,
    batchingWindowSeconds: window,
    functionResponseTypes: [...types],
    ...(concurrency !== undefined ? { maximumConcurrency: concurrency } : {})
  }
}

export function mappingConfiguration(m: EventSourceMapping): EventSourceMappingConfiguration {
  return {
    UUID: m.uuid,
    EventSourceMappingArn: m.arn,
    BatchSize: m.batchSize,
    MaximumBatchingWindowInSeconds: m.batchingWindowSeconds,
    EventSourceArn: m.eventSourceArn,
    FunctionArn: m.functionArn,
    LastModified: new Date(m.lastModified),
    LastProcessingResult: m.lastProcessingResult,
    State: m.state,
    StateTransitionReason: 'USER_INITIATED',
    FunctionResponseTypes: m.functionResponseTypes as EventSourceMappingConfiguration['FunctionResponseTypes'],
    ...(m.maximumConcurrency !== undefined ? { ScalingConfig: { MaximumConcurrency: m.maximumConcurrency } } : {})
  }
}

/** After simulation.functionPendingMs the mapping reaches `next` (tracked: waitIdle sees it settle). */
function transition(
  cloud: Cloud,
  state: LambdaState,
  m: EventSourceMapping,
  next: 'Enabled' | 'Disabled' | 'Deleted'
): void {
  const done = new Promise<void>((resolve) => {
    setTimeout(
      () => {
        if (next === 'Deleted') {
          state.mappings.delete(m.uuid)
          stopPoller(m)
        } else if (state.mappings.get(m.uuid) === m && m.state !== 'Deleting') {
          m.state = next
          m.poller.wake?.()
        }
        resolve()
      },
      Math.max(1, cloud.simulation.functionPendingMs)
    )
  })
  void cloud.track(done)
}

function checkQueue(cloud: Cloud, queueArn: string | undefined, fn: Fn): string {
  const queues = queueAccess(cloud)
  if (!queueArn || !/^arn:aws[a-z-]*:sqs:/.test(queueArn)) {
    throw lambdaError(
      'InvalidParameterValueException',
      'The emulator maps SQS queues only: EventSourceArn must be an SQS queue ARN.'
    )
  }
  const visibility = queues?.visibilityTimeout(queueArn)
  if (visibility === undefined) {
    throw lambdaError(
      'InvalidParameterValueException',
      'Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist or you do not have access to it.'
    )
  }
  if (visibility < fn.config.timeout) {
    throw lambdaError(
      'InvalidParameterValueException',
      `Queue visibility timeout: ${visibility} seconds is less than Function timeout: ${fn.config.timeout} seconds`
    )
  }
  return queueArn
}

export function esmHandlers(
  cloud: Cloud,
  state: LambdaState,
  find: (ref: string | undefined, ctx: RestContext) => Fn
): Record<string, RestHandler> {
  const mapping = (uuid: string | undefined): EventSourceMapping => {
    const m = uuid ? state.mappings.get(uuid) : undefined
    if (!m) throw lambdaError('ResourceNotFoundException', 'The resource you requested does not exist.')
    return m
  }
  return {
    CreateEventSourceMapping: (
      input: CreateEventSourceMappingRequest,
      ctx: RestContext
    ): EventSourceMappingConfiguration => {
      const fn = find(input.FunctionName, ctx)
      const queueArn = checkQueue(cloud, input.EventSourceArn, fn)
      const existing = [...state.mappings.values()].find(
        (m) => m.eventSourceArn === queueArn && m.functionArn === fn.arn
      )
      if (existing) {
        throw lambdaError(
          'ResourceConflictException',
          `An event source mapping with SQS arn (" ${queueArn} ") and function (" ${fn.name} ") already exists. Please update or delete the existing mapping with UUID ${existing.uuid}`
        )
      }
      const s = settings(input, { batchSize: 10, batchingWindowSeconds: 0, functionResponseTypes: [] })
      const uuid = randomUUID()
      const m: EventSourceMapping = {
        uuid,
        region: fn.region,
        arn: `arn:aws:lambda:${fn.region}:${cloud.accountId}:event-source-mapping:${uuid}`,
        eventSourceArn: queueArn,
        functionArn: fn.arn,
        ...s,
        enabled: input.Enabled ?? true,
        state: 'Creating',
        lastModified: Date.now(),
        lastProcessingResult: 'No records processed',
        stats: { batches: 0, records: 0, largestBatch: 0 },
        poller: { inflight: 0, stopped: false }
      }
      state.mappings.set(uuid, m)
      transition(cloud, state, m, m.enabled ? 'Enabled' : 'Disabled')
      startPoller(cloud, state, m)
      return mappingConfiguration(m)
    },
    GetEventSourceMapping: (input: GetEventSourceMappingRequest) => mappingConfiguration(mapping(input.UUID)),
    ListEventSourceMappings: (
      input: ListEventSourceMappingsRequest,
      ctx: RestContext
    ): ListEventSourceMappingsResponse => {
      const fnArn = input.FunctionName ? find(input.FunctionName, ctx).arn : undefined
      const all = [...state.mappings.values()].filter(
        (m) =>
          m.region === ctx.region &&
          (!fnArn || m.functionArn === fnArn) &&
          (!input.EventSourceArn || m.eventSourceArn === input.EventSourceArn)
      )
      const start = Number(input.Marker ?? 0) || 0
      const size = input.MaxItems ?? 100
      const page = all.slice(start, start + size)
      return {
        EventSourceMappings: page.map(mappingConfiguration),
        ...(start + size < all.length ? { NextMarker: String(start + size) } : {})
      }
    },
    UpdateEventSourceMapping: (
      input: UpdateEventSourceMappingRequest,
      ctx: RestContext
    ): EventSourceMappingConfiguration => {
      const m = mapping(input.UUID)
      if (!['Enabled', 'Disabled'].includes(m.state)) {
        throw lambdaError(
          'ResourceInUseException',
          `Cannot update the event source mapping because it is in use. The mapping is ${m.state}.`
        )
      }
      if (input.FunctionName) {
        const fn = find(input.FunctionName, ctx)
        checkQueue(cloud, m.eventSourceArn, fn)
        m.functionArn = fn.arn
      }
      Object.assign(m, settings(input, m))
      if (input.ScalingConfig && input.ScalingConfig.MaximumConcurrency === undefined) delete m.maximumConcurrency
      if (input.Enabled !== undefined) m.enabled = input.Enabled
      m.state = 'Updating'
      m.lastModified = Date.now()
      transition(cloud, state, m, m.enabled ? 'Enabled' : 'Disabled')
      return mappingConfiguration(m)
    },
    DeleteEventSourceMapping: (input: DeleteEventSourceMappingRequest): EventSourceMappingConfiguration => {
      const m = mapping(input.UUID)
      if (m.state === 'Deleting')
        throw lambdaError(
          'ResourceInUseException',
          'Cannot delete the event source mapping because it is in use. The mapping is Deleting.'
        )
      m.state = 'Deleting'
      m.lastModified = Date.now()
      transition(cloud, state, m, 'Deleted')
      return mappingConfiguration(m)
    }
  }
}
