/**
 * What other modules see of SQS: EventBridge sends to queues (when the queue policy lets it),
 * Lambda's event source mappings receive and delete. Registered per cloud by the SQS module.
 */
import type { Cloud } from '../../types.js'

export interface ReceivedMessage {
  messageId: string
  receiptHandle: string
  body: string
  md5OfBody: string
  attributes: {
    ApproximateReceiveCount: string
    SentTimestamp: string
    SenderId: string
    ApproximateFirstReceiveTimestamp: string
  }
  messageAttributes: Record<
    string,
    {
      dataType: string
      stringValue?: string
      binaryValue?: string
      stringListValues: string[]
      binaryListValues: string[]
    }
  >
}

export interface QueueAccess {
  exists(queueArn: string): boolean
  /** The queue's visibility timeout, seconds (undefined when the queue does not exist). */
  visibilityTimeout(queueArn: string): number | undefined
  /** Whether the queue exists and its policy lets the service call sqs:SendMessage from sourceArn. */
  allowsServiceSend(queueArn: string, from: { service: string; sourceArn: string }): boolean
  /** Sends as an AWS service would: false (nothing sent) unless the queue policy allows the service from sourceArn. */
  sendAsService(queueArn: string, body: string, from: { service: string; sourceArn: string }): boolean
  /** Up to max visible messages, now in flight for the queue's visibility timeout; [] when the queue is gone. */
  receive(queueArn: string, max: number): ReceivedMessage[]
  deleteMessage(queueArn: string, receiptHandle: string): void
  /** Messages visible now. */
  visibleCount(queueArn: string): number
  /** Calls listener whenever the queue may have a visible message; returns the unsubscribe function. */
  subscribe(queueArn: string, listener: () => void): () => void
}

const registry = new WeakMap<Cloud, QueueAccess>()

export function registerQueues(cloud: Cloud, access: QueueAccess): void {
  registry.set(cloud, access)
}

export function queueAccess(cloud: Cloud): QueueAccess | undefined {
  return registry.get(cloud)
}
