/** EventBridge delivers to SQS queues whose policy lets it, and fires schedule rules on a clock the tests can speed up or trigger. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge'
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs'
import { EmulatorClient } from '../emulator/client.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { eventually, sdkConfig } from '../emulator/testing.js'

let emu: Emulator
let control: EmulatorClient
let events: EventBridgeClient
let sqs: SQSClient

beforeAll(async () => {
  emu = await startEmulator()
  control = new EmulatorClient(emu.endpoint)
  events = new EventBridgeClient(sdkConfig(emu))
  sqs = new SQSClient(sdkConfig(emu))
})

afterAll(async () => {
  await emu.stop()
})

function queuePolicy(queueArn: string, ruleArn: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
        Condition: { ArnEquals: { 'aws:SourceArn': ruleArn } }
      }
    ]
  })
}

async function createQueue(name: string, policy?: (arn: string) => string): Promise<{ url: string; arn: string }> {
  const arn = `arn:aws:sqs:us-east-1:${emu.accountId}:${name}`
  const url =
    (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: policy ? { Policy: policy(arn) } : {} })))
      .QueueUrl ?? ''
  return { url, arn }
}

async function bodies(url: string): Promise<Record<string, unknown>[]> {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }))
  return (out.Messages ?? []).map((m) => JSON.parse(m.Body ?? '{}') as Record<string, unknown>)
}

async function visible(url: string): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] })
  )
  return Number(out.Attributes?.ApproximateNumberOfMessages)
}

describe('EventBridge', () => {
  test('delivers to an SQS target only when the queue policy lets events.amazonaws.com send from that rule', async () => {
    const ruleArn =
      (await events.send(new PutRuleCommand({ Name: 'nightly', ScheduleExpression: 'cron(0 3 * * ? *)' }))).RuleArn ??
      ''
    const open = await createQueue('open', (arn) => queuePolicy(arn, ruleArn))
    const closed = await createQueue('closed')
    const otherRule = await createQueue('other-rule', (arn) => queuePolicy(arn, ruleArn.replace('nightly', 'hourly')))
    const put = await events.send(
      new PutTargetsCommand({
        Rule: 'nightly',
        Targets: [open, closed, otherRule].map((q, i) => ({ Id: `q${i}`, Arn: q.arn }))
      })
    )
    // the caller never hears about a queue that will refuse
    expect(put.FailedEntryCount).toBe(0)
    expect(await control.fireSchedule('nightly')).toMatchObject({ deliveries: 1 })
    await emu.waitIdle()
    const [event] = await bodies(open.url)
    expect(event).toMatchObject({
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: emu.accountId,
      region: 'us-east-1',
      resources: [ruleArn],
      detail: {}
    })
    expect(await visible(closed.url)).toBe(0)
    expect(await visible(otherRule.url)).toBe(0)
    expect((await control.eventMetrics())[ruleArn]).toEqual({ TriggeredRules: 1, Invocations: 3, FailedInvocations: 2 })
  })

  test('delivers matching EC2 state-change events to an SQS target that allows the rule, with its InputPath', async () => {
    const ruleArn =
      (
        await events.send(
          new PutRuleCommand({
            Name: 'ec2-changes',
            EventPattern: JSON.stringify({ source: ['aws.ec2'], detail: { state: ['running'] } })
          })
        )
      ).RuleArn ?? ''
    const queue = await createQueue('ec2-changes', (arn) => queuePolicy(arn, ruleArn))
    await events.send(
      new PutTargetsCommand({ Rule: 'ec2-changes', Targets: [{ Id: 'q', Arn: queue.arn, InputPath: '$.detail' }] })
    )
    emu.cloud.bus.emit('ec2-state-change', {
      instanceId: 'i-0queued',
      state: 'running',
      region: 'us-east-1',
      time: Date.now()
    })
    emu.cloud.bus.emit('ec2-state-change', {
      instanceId: 'i-0queued',
      state: 'stopping',
      region: 'us-east-1',
      time: Date.now()
    })
    await emu.waitIdle()
    expect(await bodies(queue.url)).toEqual([{ 'instance-id': 'i-0queued', state: 'running' }])
    expect((await control.eventMetrics())[ruleArn]).toEqual({ TriggeredRules: 1, Invocations: 1, FailedInvocations: 0 })
  })

  test('refuses schedule expressions EventBridge refuses', async () => {
    for (const expression of [
      'rate(1 minutes)',
      'rate(0 minutes)',
      'rate(5 minute)',
      'cron(0 12 * * * *)',
      'cron(0 12 * *)',
      'cron(61 * * * ? *)',
      'every day'
    ]) {
      await expect(
        events.send(new PutRuleCommand({ Name: 'bad', ScheduleExpression: expression }))
      ).rejects.toMatchObject({ name: 'ValidationException' })
    }
  })

  test('fires schedule rules on their own, on a clock the emulator can speed up', async () => {
    const ruleArn =
      (await events.send(new PutRuleCommand({ Name: 'every-minute', ScheduleExpression: 'rate(1 minute)' }))).RuleArn ??
      ''
    const queue = await createQueue('ticks', (arn) => queuePolicy(arn, ruleArn))
    await events.send(
      new PutTargetsCommand({
        Rule: 'every-minute',
        Targets: [{ Id: 'ticks', Arn: queue.arn, Input: '{"tick":true}' }]
      })
    )
    await events.send(new PutRuleCommand({ Name: 'noon', ScheduleExpression: 'cron(0 12 ? * MON-FRI *)' }))
    // one schedule minute is 20 ms
    await control.setSimulation({ scheduleTimeScale: 1 / 3000 })
    await eventually(async () => ((await visible(queue.url)) >= 3 ? true : undefined), 10_000)
    await control.setSimulation({ scheduleTimeScale: 1 })
    expect((await bodies(queue.url))[0]).toEqual({ tick: true })
    const noon = (await control.schedules()).find((s) => s.name === 'noon')
    expect(noon?.nextFire).toMatch(/T12:00:00\.000Z$/)
    expect([1, 2, 3, 4, 5]).toContain(new Date(noon?.nextFire ?? '').getUTCDay())
  })
})
