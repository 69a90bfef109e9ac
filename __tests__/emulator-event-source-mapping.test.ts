/** Lambda event source mappings for SQS: the mapping's life, batching, concurrency and partial batch failures. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam'
import {
  CreateEventSourceMappingCommand,
  CreateFunctionCommand,
  DeleteEventSourceMappingCommand,
  GetEventSourceMappingCommand,
  LambdaClient,
  ListEventSourceMappingsCommand,
  ResourceNotFoundException,
  UpdateEventSourceMappingCommand,
  waitUntilFunctionActiveV2
} from '@aws-sdk/client-lambda'
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient
} from '@aws-sdk/client-sqs'
import { strToU8, zipSync } from 'fflate'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { eventually, sdkConfig } from '../emulator/testing.js'

const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }]
})
// logs one line per record; reports records whose body starts with "poison" as failed
const CONSUMER = zipSync({
  'index.mjs': strToU8(`export const handler = async (event) => {
  const ms = Number(process.env.SLEEP_MS ?? 0)
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms))
  const batchItemFailures = []
  for (const r of event.Records) {
    console.log(JSON.stringify({ record: r.body, count: r.attributes.ApproximateReceiveCount, source: r.eventSourceARN, batch: event.Records.length }))
    if (r.body.startsWith('poison')) batchItemFailures.push({ itemIdentifier: r.messageId })
  }
  return { batchItemFailures }
}`)
})

let emu: Emulator
let lambda: LambdaClient
let sqs: SQSClient
let logs: CloudWatchLogsClient
let role = ''

interface Line {
  record: string
  count: string
  source: string
  batch: number
}

interface FunctionState {
  FunctionName: string
  invocations: number
  peakConcurrency: number
  eventSourceMappings: { records: number; batches: number; largestBatch: number }[]
}

function stats(name: string): FunctionState | undefined {
  return (emu.state().lambda as FunctionState[]).find((f) => f.FunctionName === name)
}

async function createFunction(name: string, options: { timeout?: number; sleepMs?: number } = {}): Promise<string> {
  const out = await lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'nodejs22.x',
      Role: role,
      Handler: 'index.handler',
      Code: { ZipFile: CONSUMER },
      Timeout: options.timeout ?? 3,
      Environment: { Variables: { SLEEP_MS: String(options.sleepMs ?? 0) } }
    })
  )
  await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 20, minDelay: 1 }, { FunctionName: name })
  return out.FunctionArn ?? ''
}

async function createQueue(
  name: string,
  attributes: Record<string, string> = {}
): Promise<{ url: string; arn: string }> {
  const url =
    (
      await sqs.send(
        new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '300', ...attributes } })
      )
    ).QueueUrl ?? ''
  const arn =
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes
      ?.QueueArn ?? ''
  return { url, arn }
}

async function queueCounts(url: string): Promise<{ visible: number; inFlight: number }> {
  const a = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes ?? {}
  return { visible: Number(a.ApproximateNumberOfMessages), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible) }
}

async function lines(fn: string): Promise<Line[]> {
  const out: Line[] = []
  let nextToken: string | undefined
  do {
    const page = await logs.send(new FilterLogEventsCommand({ logGroupName: `/aws/lambda/${fn}`, nextToken }))
    for (const e of page.events ?? []) {
      const text = e.message ?? ''
      const start = text.indexOf('{"record"')
      if (start >= 0) out.push(JSON.parse(text.slice(start)) as Line)
    }
    nextToken = page.nextToken
  } while (nextToken)
  return out
}

async function enabled(uuid: string): Promise<void> {
  await eventually(async () =>
    (await lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }))).State === 'Enabled' ? true : undefined
  )
}

// one SQS second is 50 ms here (visibility timeouts, batching windows)
beforeAll(async () => {
  emu = await startEmulator({ simulation: { functionPendingMs: 20, sqsTimeScale: 0.05, lambdaConcurrency: 10 } })
  lambda = new LambdaClient(sdkConfig(emu))
  sqs = new SQSClient(sdkConfig(emu))
  logs = new CloudWatchLogsClient(sdkConfig(emu))
  role =
    (
      await new IAMClient(sdkConfig(emu)).send(
        new CreateRoleCommand({ RoleName: 'consumer', AssumeRolePolicyDocument: TRUST })
      )
    ).Role?.Arn ?? ''
})

afterAll(async () => {
  await emu.stop()
})

describe('an SQS event source mapping', () => {
  test('is checked as Lambda checks it, goes Creating -> Enabled, Updating -> Enabled, and Deleting -> gone', async () => {
    const fnArn = await createFunction('lifecycle', { timeout: 30 })
    const short = await createQueue('short-visibility', { VisibilityTimeout: '10' })
    const queue = await createQueue('lifecycle')
    await expect(
      lambda.send(new CreateEventSourceMappingCommand({ FunctionName: 'lifecycle', EventSourceArn: short.arn }))
    ).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
      message: expect.stringContaining('Queue visibility timeout: 10 seconds is less than Function timeout: 30 seconds')
    })
    await expect(
      lambda.send(
        new CreateEventSourceMappingCommand({ FunctionName: 'lifecycle', EventSourceArn: queue.arn, BatchSize: 100 })
      )
    ).rejects.toMatchObject({
      name: 'InvalidParameterValueException'
    })
    await expect(
      lambda.send(
        new CreateEventSourceMappingCommand({
          FunctionName: 'lifecycle',
          EventSourceArn: queue.arn,
          ScalingConfig: { MaximumConcurrency: 1 }
        })
      )
    ).rejects.toMatchObject({
      name: 'ValidationException'
    })
    await expect(
      lambda.send(
        new CreateEventSourceMappingCommand({
          FunctionName: 'lifecycle',
          EventSourceArn: queue.arn,
          BatchSize: 20000,
          MaximumBatchingWindowInSeconds: 1
        })
      )
    ).rejects.toThrow()
    const created = await lambda.send(
      new CreateEventSourceMappingCommand({
        FunctionName: 'lifecycle',
        EventSourceArn: queue.arn,
        BatchSize: 10000,
        MaximumBatchingWindowInSeconds: 300,
        ScalingConfig: { MaximumConcurrency: 2 },
        FunctionResponseTypes: ['ReportBatchItemFailures']
      })
    )
    expect(created).toMatchObject({
      State: 'Creating',
      FunctionArn: fnArn,
      EventSourceArn: queue.arn,
      BatchSize: 10000,
      MaximumBatchingWindowInSeconds: 300,
      ScalingConfig: { MaximumConcurrency: 2 },
      FunctionResponseTypes: ['ReportBatchItemFailures']
    })
    const uuid = created.UUID ?? ''
    await expect(
      lambda.send(new CreateEventSourceMappingCommand({ FunctionName: 'lifecycle', EventSourceArn: queue.arn }))
    ).rejects.toMatchObject({ name: 'ResourceConflictException' })
    await enabled(uuid)
    expect(
      (await lambda.send(new ListEventSourceMappingsCommand({ FunctionName: 'lifecycle' }))).EventSourceMappings?.map(
        (m) => m.UUID
      )
    ).toEqual([uuid])
    const updated = await lambda.send(
      new UpdateEventSourceMappingCommand({ UUID: uuid, BatchSize: 5, MaximumBatchingWindowInSeconds: 0 })
    )
    expect(updated).toMatchObject({ State: 'Updating', BatchSize: 5 })
    await enabled(uuid)
    expect((await lambda.send(new DeleteEventSourceMappingCommand({ UUID: uuid }))).State).toBe('Deleting')
    await eventually(async () =>
      lambda.send(new GetEventSourceMappingCommand({ UUID: uuid })).then(
        () => undefined,
        (e: unknown) => (e instanceof ResourceNotFoundException ? true : undefined)
      )
    )
  })

  test('gathers a burst of 300 messages into a few batches of up to BatchSize, each message once', async () => {
    await createFunction('burst-consumer')
    const queue = await createQueue('burst')
    const { UUID } = await lambda.send(
      new CreateEventSourceMappingCommand({
        FunctionName: 'burst-consumer',
        EventSourceArn: queue.arn,
        BatchSize: 100,
        MaximumBatchingWindowInSeconds: 40
      })
    )
    await enabled(UUID ?? '')
    for (let b = 0; b < 30; b++) {
      const entries = Array.from({ length: 10 }, (_, i) => ({ Id: `m${i}`, MessageBody: `burst ${b * 10 + i}` }))
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: queue.url, Entries: entries }))
    }
    await emu.waitIdle()
    expect(await queueCounts(queue.url)).toEqual({ visible: 0, inFlight: 0 })
    const seen = await lines('burst-consumer')
    expect(new Set(seen.map((l) => l.record)).size).toBe(300)
    expect(seen.every((l) => l.source === queue.arn && l.batch <= 100)).toBe(true)
    const s = stats('burst-consumer')
    expect(s?.invocations).toBeLessThanOrEqual(10)
    expect(s?.eventSourceMappings[0]?.largestBatch).toBeGreaterThan(10)
  })

  test('holds messages for the batching window: a few messages sent one by one arrive in one batch', async () => {
    await createFunction('window-consumer')
    const queue = await createQueue('window')
    const { UUID } = await lambda.send(
      new CreateEventSourceMappingCommand({
        FunctionName: 'window-consumer',
        EventSourceArn: queue.arn,
        BatchSize: 50,
        MaximumBatchingWindowInSeconds: 60
      })
    )
    await enabled(UUID ?? '')
    for (let i = 0; i < 4; i++)
      await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: `one by one ${i}` }))
    await emu.waitIdle()
    const seen = await lines('window-consumer')
    expect(seen.map((l) => l.record).sort()).toEqual(['one by one 0', 'one by one 1', 'one by one 2', 'one by one 3'])
    expect(seen.every((l) => l.batch === 4)).toBe(true)
  })

  test('runs at most MaximumConcurrency batches at once, and reaches it', async () => {
    await createFunction('slow-consumer', { sleepMs: 800 })
    const queue = await createQueue('slow')
    const { UUID } = await lambda.send(
      new CreateEventSourceMappingCommand({
        FunctionName: 'slow-consumer',
        EventSourceArn: queue.arn,
        BatchSize: 5,
        ScalingConfig: { MaximumConcurrency: 2 }
      })
    )
    await enabled(UUID ?? '')
    for (let b = 0; b < 4; b++) {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queue.url,
          Entries: Array.from({ length: 10 }, (_, i) => ({ Id: `m${i}`, MessageBody: `slow ${b * 10 + i}` }))
        })
      )
    }
    await emu.waitIdle()
    expect(await queueCounts(queue.url)).toEqual({ visible: 0, inFlight: 0 })
    expect(stats('slow-consumer')?.peakConcurrency).toBe(2)
  })

  test('retries the items a batch reports as failed, and dead-letters them after maxReceiveCount', async () => {
    await createFunction('picky-consumer')
    const dlq = await createQueue('picky-dlq')
    const queue = await createQueue('picky', {
      VisibilityTimeout: '5',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 2 })
    })
    await lambda.send(
      new CreateEventSourceMappingCommand({
        FunctionName: 'picky-consumer',
        EventSourceArn: queue.arn,
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures']
      })
    )
    const bodies = ['good 1', 'poison 1', 'good 2', 'poison 2', 'good 3']
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: bodies.map((b, i) => ({ Id: `m${i}`, MessageBody: b }))
      })
    )
    await eventually(async () => ((await queueCounts(dlq.url)).visible === 2 ? true : undefined), 90_000)
    expect(await queueCounts(queue.url)).toEqual({ visible: 0, inFlight: 0 })
    const seen = await lines('picky-consumer')
    for (const poison of ['poison 1', 'poison 2']) {
      expect(
        seen
          .filter((l) => l.record === poison)
          .map((l) => l.count)
          .sort()
      ).toEqual(['1', '2'])
    }
    for (const good of ['good 1', 'good 2', 'good 3'])
      expect(seen.filter((l) => l.record === good).map((l) => l.count)).toEqual(['1'])
  }, 150_000)

  test('lets waitIdle settle while its function keeps failing: the failed messages wait out their visibility timeout', async () => {
    await createFunction('always-failing')
    const queue = await createQueue('stuck')
    await lambda.send(
      new CreateEventSourceMappingCommand({
        FunctionName: 'always-failing',
        EventSourceArn: queue.arn,
        FunctionResponseTypes: ['ReportBatchItemFailures']
      })
    )
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: [1, 2, 3].map((i) => ({ Id: `m${i}`, MessageBody: `poison ${i}` }))
      })
    )
    await emu.waitIdle()
    expect(await queueCounts(queue.url)).toEqual({ visible: 0, inFlight: 3 })
    expect((await lines('always-failing')).map((l) => l.record).sort()).toEqual(['poison 1', 'poison 2', 'poison 3'])
  })
})
