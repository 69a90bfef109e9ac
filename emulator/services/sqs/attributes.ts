/** Queue attributes: which can be set, their valid values, and the read-only ones GetQueueAttributes computes. */
import { sqsError } from './errors.js'
import { numberAttribute, queueByArn, type Queue, type SqsState } from './model.js'

/** Integer attributes and their valid ranges (API reference, CreateQueue). */
const RANGES: Readonly<Record<string, [number, number]>> = {
  DelaySeconds: [0, 900],
  MaximumMessageSize: [1024, 1048576],
  MessageRetentionPeriod: [60, 1209600],
  ReceiveMessageWaitTimeSeconds: [0, 20],
  VisibilityTimeout: [0, 43200],
  KmsDataKeyReusePeriodSeconds: [60, 86400]
}

const OTHER_SETTABLE = new Set([
  'Policy',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'KmsMasterKeyId',
  'SqsManagedSseEnabled'
])
const FIFO_ONLY = new Set(['FifoQueue', 'ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit'])

const READ_ONLY = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
  'QueueArn'
]

function invalidValue(name: string): Error {
  return sqsError('InvalidAttributeValue', `Invalid value for the parameter ${name}.`)
}

function checkRedrive(state: SqsState, text: string): string {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw invalidValue('RedrivePolicy')
  }
  const p = (parsed ?? {}) as { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown }
  const count = Number(p.maxReceiveCount)
  if (typeof p.deadLetterTargetArn !== 'string' || !Number.isInteger(count) || count < 1 || count > 1000) {
    throw sqsError(
      'InvalidParameterValue',
      `Value ${text} for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a valid JSON map with deadLetterTargetArn and maxReceiveCount (1 to 1000).`
    )
  }
  if (!queueByArn(state, p.deadLetterTargetArn)) {
    throw sqsError(
      'InvalidParameterValue',
      `Value ${text} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.`
    )
  }
  return JSON.stringify({ deadLetterTargetArn: p.deadLetterTargetArn, maxReceiveCount: count })
}

function checkPolicy(text: string): string {
  try {
    const parsed: unknown = JSON.parse(text)
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return text
  } catch {
    // fall through
  }
  throw invalidValue('Policy')
}

/** The attributes as the queue stores them; unknown names and invalid values fail as in AWS. */
export function checkAttributes(state: SqsState, input: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, raw] of Object.entries(input ?? {})) {
    const value = String(raw)
    const range = RANGES[name]
    if (range) {
      const n = Number(value)
      if (value.trim() === '' || !Number.isInteger(n) || n < range[0] || n > range[1]) throw invalidValue(name)
      out[name] = String(n)
    } else if (name === 'RedrivePolicy') out[name] = value === '' ? '' : checkRedrive(state, value)
    else if (name === 'Policy') out[name] = value === '' ? '' : checkPolicy(value)
    else if (FIFO_ONLY.has(name)) {
      if (name === 'FifoQueue' && value === 'false') continue
      throw sqsError('InvalidAttributeName', `Unknown Attribute ${name}.`)
    } else if (OTHER_SETTABLE.has(name)) out[name] = value
    else throw sqsError('InvalidAttributeName', `Unknown Attribute ${name}.`)
  }
  return out
}

/** Messages visible now, in flight (received, invisible) and delayed (never received, not yet visible). */
export function counts(queue: Queue, now: number): { visible: number; inFlight: number; delayed: number } {
  let visible = 0
  let inFlight = 0
  let delayed = 0
  for (const m of queue.messages) {
    if (m.visibleAt <= now) visible++
    else if (m.receiveCount > 0) inFlight++
    else delayed++
  }
  return { visible, inFlight, delayed }
}

/** GetQueueAttributes: the names asked for (All = every one), settable and read-only. */
export function readAttributes(queue: Queue, names: string[], now: number): Record<string, string> {
  const c = counts(queue, now)
  const all: Record<string, string> = {
    ...Object.fromEntries(Object.entries(queue.attributes).filter(([, v]) => v !== '')),
    ApproximateNumberOfMessages: String(c.visible),
    ApproximateNumberOfMessagesNotVisible: String(c.inFlight),
    ApproximateNumberOfMessagesDelayed: String(c.delayed),
    CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
    LastModifiedTimestamp: String(Math.floor(queue.modifiedAt / 1000)),
    QueueArn: queue.arn
  }
  if (names.includes('All')) return all
  const out: Record<string, string> = {}
  for (const name of names) {
    if (!(name in RANGES) && !OTHER_SETTABLE.has(name) && !READ_ONLY.includes(name) && !FIFO_ONLY.has(name)) {
      throw sqsError('InvalidAttributeName', `Unknown Attribute ${name}.`)
    }
    const value = all[name]
    if (value !== undefined) out[name] = value
  }
  return out
}

/** The queue's visibility timeout in seconds. */
export function visibilityTimeout(queue: Queue): number {
  return numberAttribute(queue, 'VisibilityTimeout')
}
