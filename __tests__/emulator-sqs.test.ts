/** The emulator's SQS through the real SDK client: standard queues, visibility, long polls and dead-letter redrive. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  PurgeQueueCommand,
  QueueDoesNotExist,
  QueueNameExists,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
  TagQueueCommand,
  TooManyEntriesInBatchRequest,
  PurgeQueueInProgress
} from '@aws-sdk/client-sqs'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { eventually, sdkConfig } from '../emulator/testing.js'

let emu: Emulator
let sqs: SQSClient

// one SQS second is 20 ms here
beforeAll(async () => {
  emu = await startEmulator({ simulation: { sqsTimeScale: 0.02 } })
  sqs = new SQSClient(sdkConfig(emu))
})

afterAll(async () => {
  await emu.stop()
})

async function createQueue(name: string, attributes: Record<string, string> = {}): Promise<string> {
  const out = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))
  return out.QueueUrl ?? ''
}

async function attributes(url: string): Promise<Record<string, string>> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))
  return out.Attributes ?? {}
}

describe('SQS queues', () => {
  test('are created with AWS defaults, found by name and listed, and creating one again with other attributes fails', async () => {
    const url = await createQueue('orders', { VisibilityTimeout: '45' })
    expect(await sqs.send(new GetQueueUrlCommand({ QueueName: 'orders' }))).toMatchObject({ QueueUrl: url })
    expect(await attributes(url)).toMatchObject({
      VisibilityTimeout: '45',
      MessageRetentionPeriod: '345600',
      ReceiveMessageWaitTimeSeconds: '0',
      DelaySeconds: '0',
      ApproximateNumberOfMessages: '0',
      QueueArn: `arn:aws:sqs:us-east-1:${emu.accountId}:orders`
    })
    expect(await createQueue('orders', { VisibilityTimeout: '45' })).toBe(url)
    await expect(createQueue('orders', { VisibilityTimeout: '10' })).rejects.toBeInstanceOf(QueueNameExists)
    expect((await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'ord' }))).QueueUrls).toEqual([url])
    await sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: { team: 'a' } }))
    expect((await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags).toEqual({ team: 'a' })
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { VisibilityTimeout: '5' } }))
    expect((await attributes(url)).VisibilityTimeout).toBe('5')
  })

  test('answer errors as the SDK models them: unknown queues, bad attributes, oversized batches', async () => {
    await expect(sqs.send(new GetQueueUrlCommand({ QueueName: 'missing' }))).rejects.toBeInstanceOf(QueueDoesNotExist)
    const err: unknown = await sqs.send(new GetQueueUrlCommand({ QueueName: 'missing' })).catch((e: unknown) => e)
    expect(err).toMatchObject({ Code: 'AWS.SimpleQueueService.NonExistentQueue' })
    await expect(createQueue('bad', { VisibilityTimeout: '50000' })).rejects.toMatchObject({
      name: 'InvalidAttributeValue'
    })
    await expect(createQueue('bad', { Nope: '1' })).rejects.toMatchObject({ name: 'InvalidAttributeName' })
    const url = await createQueue('batches')
    const entries = Array.from({ length: 11 }, (_, i) => ({ Id: `m${i}`, MessageBody: 'x' }))
    await expect(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }))).rejects.toBeInstanceOf(
      TooManyEntriesInBatchRequest
    )
    await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 11 }))).rejects.toMatchObject(
      { name: 'InvalidParameterValue' }
    )
    await expect(
      sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'nonsense' }))
    ).rejects.toBeInstanceOf(ReceiptHandleIsInvalid)
  })

  test('hand a message to one receiver at a time, counting receives, until it is deleted', async () => {
    const url = await createQueue('work', { VisibilityTimeout: '30' })
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: 'job-1',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'a' } }
      })
    )
    const first = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All']
      })
    )
    expect(first.Messages).toHaveLength(1)
    const message = first.Messages?.[0]
    expect(message).toMatchObject({
      Body: 'job-1',
      Attributes: { ApproximateReceiveCount: '1' },
      MessageAttributes: { kind: { StringValue: 'a' } }
    })
    // in flight: invisible to others, counted as not visible
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages).toBeUndefined()
    expect(await attributes(url)).toMatchObject({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '1'
    })
    // made visible again at once, received a second time with a new handle
    await sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message?.ReceiptHandle, VisibilityTimeout: 0 })
    )
    const second = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MessageSystemAttributeNames: ['ApproximateReceiveCount'] })
    )
    expect(second.Messages?.[0]).toMatchObject({
      MessageId: message?.MessageId,
      Attributes: { ApproximateReceiveCount: '2' }
    })
    // the old handle no longer deletes it; the latest does
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message?.ReceiptHandle }))
    expect((await attributes(url)).ApproximateNumberOfMessagesNotVisible).toBe('1')
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: second.Messages?.[0]?.ReceiptHandle }))
    expect(await attributes(url)).toMatchObject({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0'
    })
  })

  test('make a received message visible again once its visibility timeout is over', async () => {
    const url = await createQueue('timeouts', { VisibilityTimeout: '2' })
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'again' }))
    const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }))
    expect(first.Messages).toHaveLength(1)
    const again = await eventually(
      async () =>
        (await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MessageSystemAttributeNames: ['All'] })))
          .Messages?.[0]
    )
    expect(again).toMatchObject({
      MessageId: first.Messages?.[0]?.MessageId,
      Attributes: { ApproximateReceiveCount: '2' }
    })
  })

  test('answer a long poll as soon as a message arrives', async () => {
    // SQS seconds at half their length here: the poll waits up to 10 s for the message sent after it
    emu.cloud.simulation.sqsTimeScale = 0.5
    try {
      const url = await createQueue('long-poll', { ReceiveMessageWaitTimeSeconds: '20' })
      const polling = sqs.send(new ReceiveMessageCommand({ QueueUrl: url }))
      await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'wake up' }))
      expect((await polling).Messages?.[0]?.Body).toBe('wake up')
      // and an empty long poll ends with no message once the wait is over
      expect(
        (await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }))).Messages
      ).toBeUndefined()
    } finally {
      emu.cloud.simulation.sqsTimeScale = 0.02
    }
  })

  test('move a message to the dead-letter queue after maxReceiveCount receives', async () => {
    const dlqUrl = await createQueue('work-dlq')
    const dlqArn = (await attributes(dlqUrl)).QueueArn
    const url = await createQueue('work-redrive', {
      VisibilityTimeout: '0',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 })
    })
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison' }))
    for (let i = 1; i <= 3; i++) {
      const got = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MessageSystemAttributeNames: ['ApproximateReceiveCount'] })
      )
      expect(got.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe(String(i))
    }
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages).toBeUndefined()
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl }))).Messages?.[0]?.Body).toBe('poison')
    await expect(
      createQueue('bad-redrive', {
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: `${dlqArn}-missing`, maxReceiveCount: 3 })
      })
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' })
  })

  test('send and delete in batches, purge once a minute, and forget deleted queues', async () => {
    const url = await createQueue('bulk')
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: Array.from({ length: 10 }, (_, i) => ({ Id: `m${i}`, MessageBody: `body ${i}` }))
      })
    )
    expect(sent.Successful).toHaveLength(10)
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }))
    expect(got.Messages).toHaveLength(10)
    const entries = (got.Messages ?? []).slice(0, 5).map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle }))
    expect(
      (await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: entries }))).Successful
    ).toHaveLength(5)
    expect((await attributes(url)).ApproximateNumberOfMessagesNotVisible).toBe('5')
    await sqs.send(new PurgeQueueCommand({ QueueUrl: url }))
    expect((await attributes(url)).ApproximateNumberOfMessagesNotVisible).toBe('0')
    await expect(sqs.send(new PurgeQueueCommand({ QueueUrl: url }))).rejects.toBeInstanceOf(PurgeQueueInProgress)
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }))
    await expect(
      sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))
    ).rejects.toBeInstanceOf(QueueDoesNotExist)
  })
})
