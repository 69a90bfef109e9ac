/**
 * SQS (AWS JSON 1.0, AmazonSQS.<Op>, signing name sqs): standard queues, their messages, dead-letter
 * redrive, and what EventBridge and Lambda's event source mappings use of them (access.ts).
 */
import * as sqs from '@aws-sdk/client-sqs'
import { AwsError, type Cloud, type EmulatorResponse, type ServiceModule } from '../../types.js'
import { onStop } from '../../core/hooks.js'
import { createJsonModule, jsonRpcError } from '../../protocols/json-rpc.js'
import { registerQueues, type QueueAccess, type ReceivedMessage } from './access.js'
import { counts, visibilityTimeout } from './attributes.js'
import { SQS_ERRORS } from './errors.js'
import { handlers } from './handlers.js'
import { deleteByHandle, enqueue, expire, newMessage, receive } from './messages.js'
import { queueByArn, type Message, type SqsState } from './model.js'
import { allowsServiceSend } from './policy.js'

export { SQS_ERRORS } from './errors.js'

const CONTENT_TYPE = 'application/x-amz-json-1.0'
const SCHEMAS = sqs as unknown as Record<string, unknown>

/** The query-protocol code of an error (its awsQueryError trait, else the code itself), for x-amzn-query-error. */
function queryCode(code: string): string {
  const shape = SCHEMAS[`${code}$`]
  const traits = Array.isArray(shape) ? (shape[3] as { awsQueryError?: [string, number] } | undefined) : undefined
  return traits?.awsQueryError?.[0] ?? code
}

function sqsErrorResponse(err: AwsError): EmulatorResponse {
  const response = jsonRpcError(err)
  const body = JSON.parse(String(response.body)) as Record<string, unknown>
  return {
    ...response,
    headers: {
      ...response.headers,
      'content-type': CONTENT_TYPE,
      'x-amzn-query-error': `${queryCode(err.code)};${err.status >= 500 ? 'Receiver' : 'Sender'}`
    },
    body: JSON.stringify({ ...body, __type: `com.amazonaws.sqs#${err.code}` })
  }
}

function received(m: Message): ReceivedMessage {
  const messageAttributes: ReceivedMessage['messageAttributes'] = {}
  for (const [name, a] of Object.entries(m.attributes)) {
    messageAttributes[name] = {
      dataType: a.DataType,
      ...(a.StringValue !== undefined ? { stringValue: a.StringValue } : {}),
      ...(a.BinaryValue !== undefined ? { binaryValue: Buffer.from(a.BinaryValue).toString('base64') } : {}),
      stringListValues: [],
      binaryListValues: []
    }
  }
  return {
    messageId: m.id,
    receiptHandle: m.receiptHandle ?? '',
    body: m.body,
    md5OfBody: m.md5OfBody,
    attributes: {
      ApproximateReceiveCount: String(m.receiveCount),
      SentTimestamp: String(m.sentAt),
      SenderId: m.senderId,
      ApproximateFirstReceiveTimestamp: String(m.firstReceiveAt ?? m.sentAt)
    },
    messageAttributes
  }
}

function access(cloud: Cloud, state: SqsState): QueueAccess {
  return {
    exists: (arn) => queueByArn(state, arn) !== undefined,
    visibilityTimeout(arn) {
      const queue = queueByArn(state, arn)
      return queue ? visibilityTimeout(queue) : undefined
    },
    allowsServiceSend(arn, from) {
      const queue = queueByArn(state, arn)
      return (
        queue !== undefined &&
        allowsServiceSend(queue, { service: from.service, sourceArn: from.sourceArn, sourceAccount: cloud.accountId })
      )
    },
    sendAsService(arn, body, from) {
      const queue = queueByArn(state, arn)
      if (
        !queue ||
        !allowsServiceSend(queue, { service: from.service, sourceArn: from.sourceArn, sourceAccount: cloud.accountId })
      )
        return false
      try {
        enqueue(state, queue, newMessage(cloud, queue, { body, senderId: from.service }))
        return true
      } catch {
        return false
      }
    },
    receive(arn, max) {
      const queue = queueByArn(state, arn)
      return queue
        ? receive(cloud, state, queue, { max, visibilitySeconds: visibilityTimeout(queue) }).map(received)
        : []
    },
    deleteMessage(arn, handle) {
      const queue = queueByArn(state, arn)
      if (queue) deleteByHandle(queue, handle)
    },
    visibleCount(arn) {
      const queue = queueByArn(state, arn)
      if (!queue) return 0
      const now = Date.now()
      expire(cloud, queue, now)
      return counts(queue, now).visible
    },
    subscribe(arn, listener) {
      const set = state.listeners.get(arn) ?? new Set()
      set.add(listener)
      state.listeners.set(arn, set)
      return () => set.delete(listener)
    }
  }
}

export function createSqs(cloud: Cloud): ServiceModule {
  const state: SqsState = { queues: new Map(), deleted: new Map(), listeners: new Map(), closed: false }
  registerQueues(cloud, access(cloud, state))
  const close = async (): Promise<void> => {
    state.closed = true
    for (const queue of state.queues.values()) for (const wake of [...queue.waiters]) wake()
  }
  onStop(cloud, () => void close())
  const module = createJsonModule({
    signingName: 'sqs',
    targetPrefix: 'AmazonSQS',
    schemas: SCHEMAS,
    errors: SQS_ERRORS,
    throttleCode: 'RequestThrottled',
    serverErrorCode: 'InternalFailure',
    handlers: handlers(cloud, state),
    state: () =>
      [...state.queues.values()].map((q) => {
        const c = counts(q, Date.now())
        return {
          name: q.name,
          region: q.region,
          arn: q.arn,
          url: q.url,
          attributes: q.attributes,
          tags: q.tags,
          messages: c.visible,
          inFlight: c.inFlight,
          delayed: c.delayed
        }
      }),
    close
  })
  return {
    ...module,
    handle: async (op, req) => {
      const response = await module.handle(op, req)
      return { ...response, headers: { ...response.headers, 'content-type': CONTENT_TYPE } }
    },
    error: (err) => sqsErrorResponse(err)
  }
}
