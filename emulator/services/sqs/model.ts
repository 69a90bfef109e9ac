/** SQS's state: standard queues with their attributes, tags and messages. */
import type { Cloud } from '../../types.js'
import { sqsError } from './errors.js'

export interface MessageAttribute {
  DataType: string
  StringValue?: string
  BinaryValue?: Uint8Array
}

export interface Message {
  id: string
  body: string
  md5OfBody: string
  attributes: Record<string, MessageAttribute>
  md5OfAttributes?: string
  senderId: string
  sentAt: number
  /** Invisible (delayed, or received and in flight) until then. */
  visibleAt: number
  receiveCount: number
  firstReceiveAt?: number
  /** The handle of the latest receive; only it deletes the message or changes its visibility. */
  receiptHandle?: string
}

export interface Queue {
  name: string
  region: string
  arn: string
  url: string
  /** Every settable attribute, as strings (defaults filled in). */
  attributes: Record<string, string>
  createdAt: number
  modifiedAt: number
  tags: Record<string, string>
  messages: Message[]
  purgedAt?: number
  /** Long polls waiting for a message (woken on send and on visibility changes). */
  waiters: Set<() => void>
}

export interface SqsState {
  queues: Map<string, Queue>
  /** When each deleted queue (region/name) was deleted: a queue of that name cannot be created for 60 s. */
  deleted: Map<string, number>
  /** Listeners told when a queue may have visible messages (event source mappings). */
  listeners: Map<string, Set<() => void>>
  closed: boolean
}

export const DEFAULT_ATTRIBUTES: Readonly<Record<string, string>> = {
  DelaySeconds: '0',
  MaximumMessageSize: '262144',
  MessageRetentionPeriod: '345600',
  ReceiveMessageWaitTimeSeconds: '0',
  VisibilityTimeout: '30',
  SqsManagedSseEnabled: 'true'
}

export function queueKey(region: string, name: string): string {
  return `${region}/${name}`
}

export function queueArn(cloud: Cloud, region: string, name: string): string {
  return `arn:aws:sqs:${region}:${cloud.accountId}:${name}`
}

/** The emulator's queue URLs live on its own endpoint (so the SDK's QueueUrl-as-endpoint rule keeps talking to it). */
export function queueUrl(cloud: Cloud, name: string): string {
  return `${cloud.endpoint()}/${cloud.accountId}/${name}`
}

/** Milliseconds for a number of SQS seconds, scaled by simulation.sqsTimeScale. */
export function sqsMs(cloud: Cloud, seconds: number): number {
  return seconds * 1000 * (cloud.simulation.sqsTimeScale ?? 1)
}

export function notFound(): Error {
  return sqsError('QueueDoesNotExist', 'The specified queue does not exist.')
}

/** The queue a QueueUrl names (its last path segment, in the caller's region). */
export function queueByUrl(state: SqsState, region: string, url: string | undefined): Queue {
  if (!url) throw sqsError('MissingParameter', 'The request must contain the parameter QueueUrl.')
  const name = url.replace(/\/+$/, '').split('/').pop() ?? ''
  const queue = state.queues.get(queueKey(region, name))
  if (!queue || (/^https?:\/\//.test(url) && !url.includes(`/${queue.arn.split(':')[4] ?? ''}/`))) throw notFound()
  return queue
}

export function queueByArn(state: SqsState, arn: string): Queue | undefined {
  const m = /^arn:aws[a-z-]*:sqs:([a-z0-9-]+):\d{12}:(.+)$/.exec(arn)
  if (!m) return undefined
  const queue = state.queues.get(queueKey(m[1] ?? '', m[2] ?? ''))
  return queue?.arn === arn ? queue : undefined
}

export function numberAttribute(queue: Queue, name: string): number {
  return Number(queue.attributes[name] ?? DEFAULT_ATTRIBUTES[name] ?? 0)
}

export interface RedrivePolicy {
  deadLetterTargetArn: string
  maxReceiveCount: number
}

export function redrivePolicy(queue: Queue): RedrivePolicy | undefined {
  const text = queue.attributes.RedrivePolicy
  if (!text) return undefined
  const parsed = JSON.parse(text) as { deadLetterTargetArn: string; maxReceiveCount: number | string }
  return { deadLetterTargetArn: parsed.deadLetterTargetArn, maxReceiveCount: Number(parsed.maxReceiveCount) }
}
