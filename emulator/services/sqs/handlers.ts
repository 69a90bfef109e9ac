/** SQS's operations (AWS JSON 1.0, AmazonSQS.<Op>), one row each: standard queues and their messages. */
import type {
  BatchResultErrorEntry,
  ChangeMessageVisibilityBatchRequest,
  ChangeMessageVisibilityBatchResult,
  ChangeMessageVisibilityRequest,
  CreateQueueRequest,
  CreateQueueResult,
  DeleteMessageBatchRequest,
  DeleteMessageBatchResult,
  DeleteMessageRequest,
  DeleteQueueRequest,
  GetQueueAttributesRequest,
  GetQueueAttributesResult,
  GetQueueUrlRequest,
  GetQueueUrlResult,
  ListQueuesRequest,
  ListQueuesResult,
  ListQueueTagsRequest,
  ListQueueTagsResult,
  Message as SdkMessage,
  MessageAttributeValue,
  PurgeQueueRequest,
  ReceiveMessageRequest,
  ReceiveMessageResult,
  SendMessageBatchRequest,
  SendMessageBatchResult,
  SendMessageRequest,
  SendMessageResult,
  SetQueueAttributesRequest,
  TagQueueRequest,
  UntagQueueRequest
} from '@aws-sdk/client-sqs'
import { AwsError, type Cloud } from '../../types.js'
import type { JsonContext, JsonHandler } from '../../protocols/json-rpc.js'
import { checkAttributes, readAttributes, visibilityTimeout } from './attributes.js'
import { sqsError } from './errors.js'
import { changeVisibility, deleteByHandle, enqueue, expire, newMessage, receive } from './messages.js'
import {
  DEFAULT_ATTRIBUTES,
  numberAttribute,
  queueArn,
  queueByUrl,
  queueKey,
  queueUrl,
  sqsMs,
  type Message,
  type MessageAttribute,
  type Queue,
  type SqsState
} from './model.js'

const NAME = /^[A-Za-z0-9_-]{1,80}$/
const BATCH_ID = /^[A-Za-z0-9_-]{1,80}$/
const SYSTEM_ATTRIBUTES = ['ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp', 'SentTimestamp', 'SenderId']

function senderId(cloud: Cloud, ctx: JsonContext): string {
  return /Credential=([^/,\s]+)\//.exec(ctx.req.headers.authorization ?? '')?.[1] ?? cloud.accountId
}

function messageAttributes(input: Record<string, MessageAttributeValue> | undefined): Record<string, MessageAttribute> {
  const out: Record<string, MessageAttribute> = {}
  for (const [name, a] of Object.entries(input ?? {})) {
    out[name] = {
      DataType: a.DataType ?? '',
      ...(a.StringValue !== undefined ? { StringValue: a.StringValue } : {}),
      ...(a.BinaryValue !== undefined ? { BinaryValue: a.BinaryValue } : {})
    }
  }
  return out
}

function wantedAttributes(names: string[], all: string[]): string[] {
  return names.includes('All') ? all : names.filter((n) => all.includes(n))
}

function selectMessageAttributes(
  attributes: Record<string, MessageAttribute>,
  names: string[]
): Record<string, MessageAttribute> | undefined {
  const pick = Object.entries(attributes).filter(([name]) =>
    names.some((n) => n === 'All' || n === '.*' || n === name || (n.endsWith('.*') && name.startsWith(n.slice(0, -1))))
  )
  return pick.length > 0 ? Object.fromEntries(pick) : undefined
}

function sdkMessage(m: Message, input: ReceiveMessageRequest): SdkMessage {
  const systemNames = wantedAttributes(
    [...(input.MessageSystemAttributeNames ?? []), ...(input.AttributeNames ?? [])],
    SYSTEM_ATTRIBUTES
  )
  const system: Record<string, string> = {
    ApproximateReceiveCount: String(m.receiveCount),
    ApproximateFirstReceiveTimestamp: String(m.firstReceiveAt ?? m.sentAt),
    SentTimestamp: String(m.sentAt),
    SenderId: m.senderId
  }
  const attributes = selectMessageAttributes(m.attributes, input.MessageAttributeNames ?? [])
  return {
    MessageId: m.id,
    ReceiptHandle: m.receiptHandle,
    MD5OfBody: m.md5OfBody,
    Body: m.body,
    ...(systemNames.length > 0 ? { Attributes: Object.fromEntries(systemNames.map((n) => [n, system[n] ?? ''])) } : {}),
    ...(attributes ? { MessageAttributes: attributes, MD5OfMessageAttributes: m.md5OfAttributes } : {})
  }
}

function rangeCheck(value: number | undefined, name: string, [min, max]: [number, number], reason: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min || value > max)) {
    throw sqsError('InvalidParameterValue', `Value ${value} for parameter ${name} is invalid. Reason: ${reason}`)
  }
}

/** The common checks of the batch operations: 1 to 10 entries with distinct, well-formed ids. */
function checkBatch(entries: { Id?: string }[] | undefined, kind: string): void {
  const list = entries ?? []
  if (list.length === 0) throw sqsError('EmptyBatchRequest', `There should be at least one ${kind} in the request.`)
  if (list.length > 10)
    throw sqsError(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are 10. You have sent ${list.length}.`
    )
  const seen = new Set<string>()
  for (const e of list) {
    const id = e.Id ?? ''
    if (!BATCH_ID.test(id))
      throw sqsError(
        'InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.'
      )
    if (seen.has(id)) throw sqsError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`)
    seen.add(id)
  }
}

function entryFailure(id: string, err: unknown): BatchResultErrorEntry {
  if (err instanceof AwsError) return { Id: id, SenderFault: err.status < 500, Code: err.code, Message: err.message }
  throw err
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

export function handlers(cloud: Cloud, state: SqsState): Record<string, JsonHandler> {
  const find = (ctx: JsonContext, url: string | undefined): Queue => {
    const queue = queueByUrl(state, ctx.region, url)
    expire(cloud, queue, Date.now())
    return queue
  }
  /** A long poll: wait for a visible message until the wait time is over (woken on send), then receive. */
  const longPoll = async (queue: Queue, max: number, visibility: number, waitSeconds: number): Promise<Message[]> => {
    const deadline = Date.now() + sqsMs(cloud, waitSeconds)
    for (;;) {
      const got = receive(cloud, state, queue, { max, visibilitySeconds: visibility })
      if (
        got.length > 0 ||
        Date.now() >= deadline ||
        state.closed ||
        state.queues.get(queueKey(queue.region, queue.name)) !== queue
      )
        return got
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          queue.waiters.delete(wake)
          resolve()
        }
        queue.waiters.add(wake)
        void sleep(Math.min(50, Math.max(1, deadline - Date.now()))).then(wake)
      })
    }
  }
  return {
    CreateQueue: (input: CreateQueueRequest, ctx: JsonContext): CreateQueueResult => {
      const name = input.QueueName ?? ''
      if (name.endsWith('.fifo') || input.Attributes?.FifoQueue === 'true') {
        throw sqsError(
          'InvalidParameterValue',
          'The emulator serves standard queues only: FIFO queues are not supported.'
        )
      }
      if (!NAME.test(name)) {
        throw sqsError(
          'InvalidParameterValue',
          'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length'
        )
      }
      const key = queueKey(ctx.region, name)
      const attributes = checkAttributes(state, input.Attributes as Record<string, string> | undefined)
      const existing = state.queues.get(key)
      if (existing) {
        for (const [k, v] of Object.entries(attributes)) {
          if ((existing.attributes[k] ?? DEFAULT_ATTRIBUTES[k] ?? '') !== v) {
            throw sqsError(
              'QueueNameExists',
              `A queue already exists with the same name and a different value for attribute ${k}`
            )
          }
        }
        return { QueueUrl: existing.url }
      }
      const deletedAt = state.deleted.get(key)
      if (deletedAt !== undefined && Date.now() - deletedAt < sqsMs(cloud, 60)) {
        throw sqsError(
          'QueueDeletedRecently',
          'You must wait 60 seconds after deleting a queue before you can create another with the same name.'
        )
      }
      const now = Date.now()
      const queue: Queue = {
        name,
        region: ctx.region,
        arn: queueArn(cloud, ctx.region, name),
        url: queueUrl(cloud, name),
        attributes: { ...DEFAULT_ATTRIBUTES, ...attributes },
        createdAt: now,
        modifiedAt: now,
        tags: { ...input.tags },
        messages: [],
        waiters: new Set()
      }
      state.queues.set(key, queue)
      return { QueueUrl: queue.url }
    },
    GetQueueUrl: (input: GetQueueUrlRequest, ctx: JsonContext): GetQueueUrlResult => {
      const queue = state.queues.get(queueKey(ctx.region, input.QueueName ?? ''))
      if (!queue || (input.QueueOwnerAWSAccountId && input.QueueOwnerAWSAccountId !== cloud.accountId)) {
        throw sqsError('QueueDoesNotExist', 'The specified queue does not exist.')
      }
      return { QueueUrl: queue.url }
    },
    GetQueueAttributes: (input: GetQueueAttributesRequest, ctx: JsonContext): GetQueueAttributesResult => {
      const queue = find(ctx, input.QueueUrl)
      const attributes = readAttributes(queue, input.AttributeNames ?? [], Date.now())
      return Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}
    },
    SetQueueAttributes: (input: SetQueueAttributesRequest, ctx: JsonContext) => {
      const queue = find(ctx, input.QueueUrl)
      const attributes = checkAttributes(state, input.Attributes as Record<string, string> | undefined)
      for (const [k, v] of Object.entries(attributes)) {
        if (v === '' && (k === 'Policy' || k === 'RedrivePolicy')) delete queue.attributes[k]
        else queue.attributes[k] = v
      }
      queue.modifiedAt = Date.now()
    },
    DeleteQueue: (input: DeleteQueueRequest, ctx: JsonContext) => {
      const queue = find(ctx, input.QueueUrl)
      state.queues.delete(queueKey(queue.region, queue.name))
      state.deleted.set(queueKey(queue.region, queue.name), Date.now())
      queue.messages = []
      for (const wake of [...queue.waiters]) wake()
    },
    ListQueues: (input: ListQueuesRequest, ctx: JsonContext): ListQueuesResult => {
      const prefix = input.QueueNamePrefix ?? ''
      const urls = [...state.queues.values()]
        .filter((q) => q.region === ctx.region && q.name.startsWith(prefix))
        .map((q) => q.url)
        .sort()
      rangeCheck(input.MaxResults, 'MaxResults', [1, 1000], 'MaxResults must be an integer between 1 and 1000.')
      if (input.MaxResults === undefined) return urls.length > 0 ? { QueueUrls: urls.slice(0, 1000) } : {}
      const start = Number(input.NextToken ?? 0) || 0
      const page = urls.slice(start, start + input.MaxResults)
      return {
        QueueUrls: page,
        ...(start + input.MaxResults < urls.length ? { NextToken: String(start + input.MaxResults) } : {})
      }
    },
    TagQueue: (input: TagQueueRequest, ctx: JsonContext) => {
      const queue = find(ctx, input.QueueUrl)
      Object.assign(queue.tags, input.Tags)
      if (Object.keys(queue.tags).length > 50)
        throw sqsError('InvalidParameterValue', 'Too many tags added for queue. The maximum is 50.')
    },
    UntagQueue: (input: UntagQueueRequest, ctx: JsonContext) => {
      const queue = find(ctx, input.QueueUrl)
      for (const key of input.TagKeys ?? []) delete queue.tags[key]
    },
    ListQueueTags: (input: ListQueueTagsRequest, ctx: JsonContext): ListQueueTagsResult => {
      const queue = find(ctx, input.QueueUrl)
      return Object.keys(queue.tags).length > 0 ? { Tags: { ...queue.tags } } : {}
    },
    SendMessage: (input: SendMessageRequest, ctx: JsonContext): SendMessageResult => {
      const queue = find(ctx, input.QueueUrl)
      const message = newMessage(cloud, queue, {
        body: input.MessageBody,
        delaySeconds: input.DelaySeconds,
        attributes: messageAttributes(input.MessageAttributes),
        senderId: senderId(cloud, ctx)
      })
      enqueue(state, queue, message)
      return {
        MessageId: message.id,
        MD5OfMessageBody: message.md5OfBody,
        ...(message.md5OfAttributes ? { MD5OfMessageAttributes: message.md5OfAttributes } : {})
      }
    },
    SendMessageBatch: (input: SendMessageBatchRequest, ctx: JsonContext): SendMessageBatchResult => {
      const queue = find(ctx, input.QueueUrl)
      const entries = input.Entries ?? []
      checkBatch(entries, 'SendMessageBatchRequestEntry')
      const total = entries.reduce((n, e) => n + Buffer.byteLength(e.MessageBody ?? ''), 0)
      if (total > 1048576)
        throw sqsError(
          'BatchRequestTooLong',
          `Batch requests cannot be longer than 1048576 bytes. You have sent ${total} bytes.`
        )
      const result: SendMessageBatchResult = { Successful: [], Failed: [] }
      const sender = senderId(cloud, ctx)
      for (const e of entries) {
        try {
          const message = newMessage(cloud, queue, {
            body: e.MessageBody,
            delaySeconds: e.DelaySeconds,
            attributes: messageAttributes(e.MessageAttributes),
            senderId: sender
          })
          enqueue(state, queue, message)
          result.Successful?.push({
            Id: e.Id,
            MessageId: message.id,
            MD5OfMessageBody: message.md5OfBody,
            ...(message.md5OfAttributes ? { MD5OfMessageAttributes: message.md5OfAttributes } : {})
          })
        } catch (err) {
          result.Failed?.push(entryFailure(e.Id ?? '', err))
        }
      }
      return result
    },
    ReceiveMessage: async (input: ReceiveMessageRequest, ctx: JsonContext): Promise<ReceiveMessageResult> => {
      const queue = find(ctx, input.QueueUrl)
      const max = input.MaxNumberOfMessages ?? 1
      rangeCheck(max, 'MaxNumberOfMessages', [1, 10], 'Must be between 1 and 10, if provided.')
      rangeCheck(input.VisibilityTimeout, 'VisibilityTimeout', [0, 43200], 'Must be between 0 and 43200, if provided.')
      rangeCheck(input.WaitTimeSeconds, 'WaitTimeSeconds', [0, 20], 'Must be >= 0 and <= 20, if provided.')
      const visibility = input.VisibilityTimeout ?? visibilityTimeout(queue)
      const wait = input.WaitTimeSeconds ?? numberAttribute(queue, 'ReceiveMessageWaitTimeSeconds')
      const got =
        wait > 0
          ? await longPoll(queue, max, visibility, wait)
          : receive(cloud, state, queue, { max, visibilitySeconds: visibility })
      return got.length > 0 ? { Messages: got.map((m) => sdkMessage(m, input)) } : {}
    },
    DeleteMessage: (input: DeleteMessageRequest, ctx: JsonContext) => {
      deleteByHandle(find(ctx, input.QueueUrl), input.ReceiptHandle)
    },
    DeleteMessageBatch: (input: DeleteMessageBatchRequest, ctx: JsonContext): DeleteMessageBatchResult => {
      const queue = find(ctx, input.QueueUrl)
      checkBatch(input.Entries, 'DeleteMessageBatchRequestEntry')
      const result: DeleteMessageBatchResult = { Successful: [], Failed: [] }
      for (const e of input.Entries ?? []) {
        try {
          deleteByHandle(queue, e.ReceiptHandle)
          result.Successful?.push({ Id: e.Id })
        } catch (err) {
          result.Failed?.push(entryFailure(e.Id ?? '', err))
        }
      }
      return result
    },
    ChangeMessageVisibility: (input: ChangeMessageVisibilityRequest, ctx: JsonContext) => {
      changeVisibility({ cloud, state }, find(ctx, input.QueueUrl), input.ReceiptHandle, input.VisibilityTimeout)
    },
    ChangeMessageVisibilityBatch: (
      input: ChangeMessageVisibilityBatchRequest,
      ctx: JsonContext
    ): ChangeMessageVisibilityBatchResult => {
      const queue = find(ctx, input.QueueUrl)
      checkBatch(input.Entries, 'ChangeMessageVisibilityBatchRequestEntry')
      const result: ChangeMessageVisibilityBatchResult = { Successful: [], Failed: [] }
      for (const e of input.Entries ?? []) {
        try {
          changeVisibility({ cloud, state }, queue, e.ReceiptHandle, e.VisibilityTimeout)
          result.Successful?.push({ Id: e.Id })
        } catch (err) {
          result.Failed?.push(entryFailure(e.Id ?? '', err))
        }
      }
      return result
    },
    PurgeQueue: (input: PurgeQueueRequest, ctx: JsonContext) => {
      const queue = find(ctx, input.QueueUrl)
      const now = Date.now()
      if (queue.purgedAt !== undefined && now - queue.purgedAt < sqsMs(cloud, 60)) {
        throw sqsError(
          'PurgeQueueInProgress',
          `Only one PurgeQueue operation on ${queue.name} is allowed every 60 seconds.`
        )
      }
      queue.purgedAt = now
      queue.messages = []
    }
  }
}
