/**
 * Messages of a standard queue: send (with delay), receive (visibility timeout, receive count,
 * redrive to the dead-letter queue once a message has been received maxReceiveCount times),
 * delete and visibility changes by receipt handle, retention and purge.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Cloud } from '../../types.js'
import { sqsError } from './errors.js'
import {
  numberAttribute,
  queueByArn,
  redrivePolicy,
  sqsMs,
  type Message,
  type MessageAttribute,
  type Queue,
  type SqsState
} from './model.js'

export function md5(data: string | Uint8Array): string {
  return createHash('md5').update(data).digest('hex')
}

/**
 * MD5 of message attributes as SQS computes it: for each attribute sorted by name, the
 * length-prefixed (4-byte big-endian) name, data type, a transport byte (1 string, 2 binary)
 * and the length-prefixed value.
 */
export function md5OfAttributes(attributes: Record<string, MessageAttribute>): string | undefined {
  const names = Object.keys(attributes).sort()
  if (names.length === 0) return undefined
  const parts: Buffer[] = []
  const withLength = (data: Buffer): void => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    parts.push(len, data)
  }
  for (const name of names) {
    const a = attributes[name] as MessageAttribute
    withLength(Buffer.from(name, 'utf8'))
    withLength(Buffer.from(a.DataType, 'utf8'))
    if (a.BinaryValue !== undefined) {
      parts.push(Buffer.from([2]))
      withLength(Buffer.from(a.BinaryValue))
    } else {
      parts.push(Buffer.from([1]))
      withLength(Buffer.from(a.StringValue ?? '', 'utf8'))
    }
  }
  return md5(Buffer.concat(parts))
}

// XML 1.0 characters: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF
// eslint-disable-next-line no-control-regex
const INVALID_CHARS = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u

export interface SendInput {
  body: string | undefined
  delaySeconds?: number
  attributes?: Record<string, MessageAttribute>
  senderId: string
}

export function checkAttributesOfMessage(attributes: Record<string, MessageAttribute>): void {
  const names = Object.keys(attributes)
  if (names.length > 10)
    throw sqsError(
      'InvalidParameterValue',
      'Number of message attributes [' + names.length + '] exceeds the allowed maximum [10].'
    )
  for (const [name, a] of Object.entries(attributes)) {
    if (!/^(String|Number|Binary)(\..+)?$/.test(a.DataType ?? '')) {
      throw sqsError(
        'InvalidParameterValue',
        `The type of message (user) attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`
      )
    }
    if (a.StringValue === undefined && a.BinaryValue === undefined) {
      throw sqsError(
        'InvalidParameterValue',
        `The message (user) attribute '${name}' must contain a non-empty value of message (user) attribute type '${a.DataType}'.`
      )
    }
  }
}

function attributesSize(attributes: Record<string, MessageAttribute>): number {
  let n = 0
  for (const [name, a] of Object.entries(attributes)) {
    n +=
      Buffer.byteLength(name) +
      Buffer.byteLength(a.DataType) +
      (a.BinaryValue?.byteLength ?? Buffer.byteLength(a.StringValue ?? ''))
  }
  return n
}

/** A new message for the queue, validated as SendMessage validates it. */
export function newMessage(cloud: Cloud, queue: Queue, input: SendInput): Message {
  const body = input.body
  if (body === undefined || body === '')
    throw sqsError('MissingParameter', 'The request must contain the parameter MessageBody.')
  if (INVALID_CHARS.test(body))
    throw sqsError(
      'InvalidMessageContents',
      'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF'
    )
  const attributes = input.attributes ?? {}
  checkAttributesOfMessage(attributes)
  const max = numberAttribute(queue, 'MaximumMessageSize')
  if (Buffer.byteLength(body) + attributesSize(attributes) > max) {
    throw sqsError(
      'InvalidParameterValue',
      `One or more parameters are invalid. Reason: Message must be shorter than ${max} bytes.`
    )
  }
  const delay = input.delaySeconds ?? numberAttribute(queue, 'DelaySeconds')
  if (!Number.isInteger(delay) || delay < 0 || delay > 900) {
    throw sqsError(
      'InvalidParameterValue',
      `Value ${delay} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.`
    )
  }
  const now = Date.now()
  return {
    id: randomUUID(),
    body,
    md5OfBody: md5(body),
    attributes,
    md5OfAttributes: md5OfAttributes(attributes),
    senderId: input.senderId,
    sentAt: now,
    visibleAt: now + sqsMs(cloud, delay),
    receiveCount: 0
  }
}

/** Tell long polls and event source mappings that the queue may have a visible message. */
export function notify(state: SqsState, queue: Queue): void {
  for (const wake of [...queue.waiters]) wake()
  for (const listener of state.listeners.get(queue.arn) ?? []) listener()
}

export function enqueue(state: SqsState, queue: Queue, message: Message): void {
  queue.messages.push(message)
  notify(state, queue)
}

/** Drop messages older than the retention period (counted from their first enqueue). */
export function expire(cloud: Cloud, queue: Queue, now: number): void {
  const keep = sqsMs(cloud, numberAttribute(queue, 'MessageRetentionPeriod'))
  if (queue.messages.some((m) => now - m.sentAt >= keep))
    queue.messages = queue.messages.filter((m) => now - m.sentAt < keep)
}

function handleFor(queue: Queue, message: Message): string {
  return Buffer.from(JSON.stringify({ q: queue.arn, m: message.id, n: randomBytes(12).toString('hex') })).toString(
    'base64'
  )
}

interface Handle {
  q: string
  m: string
}

/** The queue ARN and message id a receipt handle names; ReceiptHandleIsInvalid when it is not one of ours. */
export function parseHandle(queue: Queue, handle: string | undefined): Handle {
  if (!handle) throw sqsError('MissingParameter', 'The request must contain the parameter ReceiptHandle.')
  try {
    const parsed = JSON.parse(Buffer.from(handle, 'base64').toString('utf8')) as Partial<Handle>
    if (typeof parsed.q === 'string' && typeof parsed.m === 'string' && parsed.q === queue.arn)
      return { q: parsed.q, m: parsed.m }
  } catch {
    // fall through
  }
  throw sqsError('ReceiptHandleIsInvalid', `The input receipt handle "${handle}" is not a valid receipt handle.`)
}

/** Move a message to the queue's dead-letter queue (it keeps its id, body and enqueue time). */
function deadLetter(state: SqsState, queue: Queue, message: Message): boolean {
  const policy = redrivePolicy(queue)
  const dlq = policy ? queueByArn(state, policy.deadLetterTargetArn) : undefined
  if (!dlq) return false
  queue.messages = queue.messages.filter((m) => m !== message)
  enqueue(state, dlq, {
    ...message,
    visibleAt: Date.now(),
    receiveCount: 0,
    firstReceiveAt: undefined,
    receiptHandle: undefined
  })
  return true
}

/** Up to `max` visible messages, each now in flight for `visibilitySeconds`, with a fresh receipt handle. */
export function receive(
  cloud: Cloud,
  state: SqsState,
  queue: Queue,
  { max, visibilitySeconds }: { max: number; visibilitySeconds: number }
): Message[] {
  const now = Date.now()
  expire(cloud, queue, now)
  const maxReceives = redrivePolicy(queue)?.maxReceiveCount
  const out: Message[] = []
  for (const message of [...queue.messages]) {
    if (out.length >= max) break
    if (message.visibleAt > now) continue
    if (maxReceives !== undefined && message.receiveCount >= maxReceives && deadLetter(state, queue, message)) continue
    message.receiveCount += 1
    message.firstReceiveAt ??= now
    message.visibleAt = now + sqsMs(cloud, visibilitySeconds)
    message.receiptHandle = handleFor(queue, message)
    out.push({ ...message })
  }
  return out
}

/** DeleteMessage: only the latest receipt handle deletes; a handle of a message already gone succeeds. */
export function deleteByHandle(queue: Queue, handle: string | undefined): void {
  const { m } = parseHandle(queue, handle)
  const message = queue.messages.find((x) => x.id === m)
  if (message && message.receiptHandle === handle) queue.messages = queue.messages.filter((x) => x !== message)
}

export function changeVisibility(
  { cloud, state }: { cloud: Cloud; state: SqsState },
  queue: Queue,
  handle: string | undefined,
  seconds: number | undefined
): void {
  const { m } = parseHandle(queue, handle)
  if (seconds === undefined)
    throw sqsError('MissingParameter', 'The request must contain the parameter VisibilityTimeout.')
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 43200) {
    throw sqsError(
      'InvalidParameterValue',
      `Value ${seconds} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.`
    )
  }
  const now = Date.now()
  const message = queue.messages.find((x) => x.id === m)
  if (!message || message.receiptHandle !== handle || message.visibleAt <= now) {
    throw sqsError(
      'MessageNotInflight',
      `Value ${handle ?? ''} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`
    )
  }
  message.visibleAt = now + sqsMs(cloud, seconds)
  if (seconds === 0) notify(state, queue)
}
