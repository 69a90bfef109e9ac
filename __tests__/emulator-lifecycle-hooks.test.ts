/** Auto Scaling lifecycle hooks, instance health and Auto Scaling's EventBridge events, through the SDK clients. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  CreateAutoScalingGroupCommand,
  DeleteLifecycleHookCommand,
  DescribeAutoScalingInstancesCommand,
  paginateDescribeAutoScalingInstances,
  DescribeLifecycleHooksCommand,
  DescribeScalingActivitiesCommand,
  PutLifecycleHookCommand,
  RecordLifecycleActionHeartbeatCommand,
  SetInstanceHealthCommand,
  TerminateInstanceInAutoScalingGroupCommand
} from '@aws-sdk/client-auto-scaling'
import type { Activity, AutoScalingInstanceDetails } from '@aws-sdk/client-auto-scaling'
import { CreateLaunchTemplateCommand, EC2Client } from '@aws-sdk/client-ec2'
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge'
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { eventually, sdkConfig } from '../emulator/testing.js'

const LAUNCHING = 'autoscaling:EC2_INSTANCE_LAUNCHING'

let emu: Emulator
let asg: AutoScalingClient
let ec2: EC2Client
let events: EventBridgeClient
let sqs: SQSClient

beforeAll(async () => {
  emu = await startEmulator({ simulation: { launchDelayMs: 5, terminateDelayMs: 5, launchRetryMs: 30 } })
  asg = new AutoScalingClient(sdkConfig(emu))
  ec2 = new EC2Client(sdkConfig(emu))
  events = new EventBridgeClient(sdkConfig(emu))
  sqs = new SQSClient(sdkConfig(emu))
})

afterAll(async () => {
  asg.destroy()
  ec2.destroy()
  events.destroy()
  sqs.destroy()
  await emu.stop()
})

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise
  } catch (err) {
    const e = err as { Code?: string; name: string; message: string }
    return { code: e.Code ?? e.name, message: e.message }
  }
  throw new Error('expected the call to fail')
}

/** A group of `desired` instances with one launch hook (HeartbeatTimeout 7200 s unless given). */
async function hookedGroup(
  name: string,
  desired: number,
  hook: { HeartbeatTimeout?: number; DefaultResult?: string } = {}
): Promise<void> {
  await ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: `${name}-lt`,
      LaunchTemplateData: { ImageId: 'ami-0a1b2c3d4e5f60001', InstanceType: 't3.micro' }
    })
  )
  await asg.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      MinSize: 0,
      MaxSize: 10,
      DesiredCapacity: desired,
      LaunchTemplate: { LaunchTemplateName: `${name}-lt`, Version: '1' },
      LifecycleHookSpecificationList: [
        { LifecycleHookName: 'ready', LifecycleTransition: LAUNCHING, HeartbeatTimeout: 7200, ...hook }
      ]
    })
  )
}

async function members(name: string): Promise<AutoScalingInstanceDetails[]> {
  const all: AutoScalingInstanceDetails[] = []
  for await (const page of paginateDescribeAutoScalingInstances({ client: asg }, {}))
    all.push(...(page.AutoScalingInstances ?? []))
  return all.filter((i) => i.AutoScalingGroupName === name)
}

/** Waits until the group has `n` members in `state` and returns them. */
async function inState(name: string, state: string, n = 1): Promise<AutoScalingInstanceDetails[]> {
  return eventually(async () => {
    const found = (await members(name)).filter((m) => m.LifecycleState === state)
    return found.length >= n ? found : undefined
  })
}

async function activities(name: string): Promise<Activity[]> {
  return (await asg.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: name }))).Activities ?? []
}

function launchOf(all: Activity[], instanceId: string): Activity | undefined {
  return all.find((a) => a.Description === `Launching a new EC2 instance: ${instanceId}`)
}

describe('lifecycle hooks', () => {
  test('a hooked member waits in Pending:Wait until CONTINUE, then goes InService and its launch succeeds', async () => {
    await hookedGroup('hold', 1)
    const [waiting] = await inState('hold', 'Pending:Wait')
    const id = waiting?.InstanceId ?? ''
    expect(launchOf(await activities('hold'), id)?.StatusCode).toBe('InProgress')
    const hooks = await asg.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: 'hold' }))
    expect(hooks.LifecycleHooks).toEqual([
      {
        LifecycleHookName: 'ready',
        AutoScalingGroupName: 'hold',
        LifecycleTransition: LAUNCHING,
        HeartbeatTimeout: 7200,
        GlobalTimeout: 172800,
        DefaultResult: 'ABANDON'
      }
    ])
    await emu.waitIdle()
    expect((await members('hold'))[0]?.LifecycleState).toBe('Pending:Wait')
    await asg.send(
      new CompleteLifecycleActionCommand({
        AutoScalingGroupName: 'hold',
        LifecycleHookName: 'ready',
        InstanceId: id,
        LifecycleActionResult: 'CONTINUE'
      })
    )
    await inState('hold', 'InService')
    expect(launchOf(await activities('hold'), id)?.StatusCode).toBe('Successful')
  })

  test('ABANDON terminates the member, its launch activity is Cancelled with AWS message, and a replacement launches', async () => {
    await hookedGroup('abandon', 1)
    const [first] = await inState('abandon', 'Pending:Wait')
    const id = first?.InstanceId ?? ''
    await asg.send(
      new CompleteLifecycleActionCommand({
        AutoScalingGroupName: 'abandon',
        LifecycleHookName: 'ready',
        InstanceId: id,
        LifecycleActionResult: 'ABANDON'
      })
    )
    const replacement = await eventually(async () =>
      (await members('abandon')).find((m) => m.InstanceId !== id && m.LifecycleState === 'Pending:Wait')
    )
    expect(replacement.InstanceId).not.toBe(id)
    const launch = launchOf(await activities('abandon'), id)
    expect(launch?.StatusCode).toBe('Cancelled')
    expect(launch?.StatusMessage).toMatch(
      /^Instance failed to complete user's Lifecycle Action: Lifecycle Action with token [0-9a-f-]{36} was abandoned: Lifecycle Action Completed with ABANDON Result$/
    )
    await eventually(async () => ((await members('abandon')).some((m) => m.InstanceId === id) ? undefined : true))
  })

  test('completing an action no member waits on is a ValidationError naming the token or the instance', async () => {
    await hookedGroup('unknown', 0)
    const byToken = await failure(
      asg.send(
        new CompleteLifecycleActionCommand({
          AutoScalingGroupName: 'unknown',
          LifecycleHookName: 'ready',
          LifecycleActionToken: 'bcd2f1b8-9a78-44d3-8a7a-4dd07d7cf635',
          LifecycleActionResult: 'CONTINUE'
        })
      )
    )
    expect(byToken).toEqual({
      code: 'ValidationError',
      message: 'No active Lifecycle Action found with token bcd2f1b8-9a78-44d3-8a7a-4dd07d7cf635'
    })
    const byInstance = await failure(
      asg.send(
        new RecordLifecycleActionHeartbeatCommand({
          AutoScalingGroupName: 'unknown',
          LifecycleHookName: 'ready',
          InstanceId: 'i-0123456789abcdef0'
        })
      )
    )
    expect(byInstance).toEqual({
      code: 'ValidationError',
      message: 'No active Lifecycle Action found with instance ID i-0123456789abcdef0'
    })
  })

  test('a completion by token works, and a second completion of the same action is refused', async () => {
    await hookedGroup('token', 1)
    const [waiting] = await inState('token', 'Pending:Wait')
    const state = (await fetch(`${emu.endpoint}/_emulator/state`).then((r) => r.json())) as {
      autoscaling: {
        groups: { name: string; instances: { instanceId: string; lifecycleActions?: { token: string }[] }[] }[]
      }
    }
    const member = state.autoscaling.groups
      .find((g) => g.name === 'token')
      ?.instances.find((i) => i.instanceId === waiting?.InstanceId)
    const token = member?.lifecycleActions?.[0]?.token ?? ''
    const complete = new CompleteLifecycleActionCommand({
      AutoScalingGroupName: 'token',
      LifecycleHookName: 'ready',
      LifecycleActionToken: token,
      LifecycleActionResult: 'CONTINUE'
    })
    await asg.send(
      new RecordLifecycleActionHeartbeatCommand({
        AutoScalingGroupName: 'token',
        LifecycleHookName: 'ready',
        LifecycleActionToken: token
      })
    )
    await asg.send(complete)
    expect((await failure(asg.send(complete))).message).toBe(`No active Lifecycle Action found with token ${token}`)
    await inState('token', 'InService')
  })

  test('the heartbeat timeout applies the default result: CONTINUE puts the member in service, ABANDON replaces it', async () => {
    emu.cloud.simulation.lifecycleTimeScale = 2
    try {
      await hookedGroup('timeout-continue', 1, { HeartbeatTimeout: 30, DefaultResult: 'CONTINUE' })
      await hookedGroup('timeout-abandon', 1, { HeartbeatTimeout: 30 })
      await inState('timeout-continue', 'InService')
      const cancelled = await eventually(async () =>
        (await activities('timeout-abandon')).find((a) => a.StatusCode === 'Cancelled')
      )
      expect(cancelled.StatusMessage).toMatch(/was abandoned: Heartbeat Timeout$/)
    } finally {
      emu.cloud.simulation.lifecycleTimeScale = 1000
    }
  })

  test('PutLifecycleHook validates the transition and the heartbeat timeout; DeleteLifecycleHook removes the hook', async () => {
    await hookedGroup('hooks', 0)
    expect(
      await failure(
        asg.send(
          new PutLifecycleHookCommand({
            AutoScalingGroupName: 'hooks',
            LifecycleHookName: 'slow',
            LifecycleTransition: LAUNCHING,
            HeartbeatTimeout: 7201
          })
        )
      )
    ).toMatchObject({ code: 'ValidationError' })
    expect(
      await failure(
        asg.send(
          new PutLifecycleHookCommand({
            AutoScalingGroupName: 'hooks',
            LifecycleHookName: 'odd',
            LifecycleTransition: 'autoscaling:EC2_INSTANCE_REBOOTING'
          })
        )
      )
    ).toMatchObject({ code: 'ValidationError' })
    await asg.send(
      new PutLifecycleHookCommand({
        AutoScalingGroupName: 'hooks',
        LifecycleHookName: 'drain',
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        DefaultResult: 'CONTINUE',
        NotificationMetadata: 'drain me'
      })
    )
    const described = await asg.send(
      new DescribeLifecycleHooksCommand({ AutoScalingGroupName: 'hooks', LifecycleHookNames: ['drain'] })
    )
    expect(described.LifecycleHooks).toEqual([
      expect.objectContaining({ LifecycleHookName: 'drain', HeartbeatTimeout: 3600, NotificationMetadata: 'drain me' })
    ])
    await asg.send(new DeleteLifecycleHookCommand({ AutoScalingGroupName: 'hooks', LifecycleHookName: 'ready' }))
    const left = await asg.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: 'hooks' }))
    expect(left.LifecycleHooks?.map((h) => h.LifecycleHookName)).toEqual(['drain'])
  })
})

describe('instance health', () => {
  test('SetInstanceHealth Unhealthy terminates an InService member and the group replaces it', async () => {
    await hookedGroup('health', 1)
    const [waiting] = await inState('health', 'Pending:Wait')
    await asg.send(
      new CompleteLifecycleActionCommand({
        AutoScalingGroupName: 'health',
        LifecycleHookName: 'ready',
        InstanceId: waiting?.InstanceId,
        LifecycleActionResult: 'CONTINUE'
      })
    )
    const [sick] = await inState('health', 'InService')
    const id = sick?.InstanceId ?? ''
    expect(sick?.HealthStatus).toBe('HEALTHY')
    await asg.send(new SetInstanceHealthCommand({ InstanceId: id, HealthStatus: 'Unhealthy' }))
    const replacement = await eventually(async () =>
      (await members('health')).find((m) => m.InstanceId !== id && m.LifecycleState === 'Pending:Wait')
    )
    expect(replacement.HealthStatus).toBe('HEALTHY')
    const terminated = (await activities('health')).find((a) => a.Description === `Terminating EC2 instance: ${id}`)
    expect(terminated?.Cause).toMatch(/an instance was taken out of service in response to a user health-check\.$/)
  })

  test('DescribeAutoScalingInstances answers health in upper case, pages, and refuses more than 50 instance ids', async () => {
    await hookedGroup('paged', 3, { HeartbeatTimeout: 30, DefaultResult: 'CONTINUE' })
    const waiting = await inState('paged', 'Pending:Wait', 3)
    for (const m of waiting)
      await asg.send(
        new CompleteLifecycleActionCommand({
          AutoScalingGroupName: 'paged',
          LifecycleHookName: 'ready',
          InstanceId: m.InstanceId,
          LifecycleActionResult: 'CONTINUE'
        })
      )
    const ids = (await inState('paged', 'InService', 3)).map((m) => m.InstanceId ?? '')
    const first = await asg.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: ids, MaxRecords: 2 }))
    expect(first.AutoScalingInstances).toHaveLength(2)
    const second = await asg.send(
      new DescribeAutoScalingInstancesCommand({ InstanceIds: ids, MaxRecords: 2, NextToken: first.NextToken })
    )
    const all = [...(first.AutoScalingInstances ?? []), ...(second.AutoScalingInstances ?? [])]
    expect(all.map((i) => i.InstanceId).sort()).toEqual([...ids].sort())
    expect(all.every((i) => i.HealthStatus === 'HEALTHY' && i.AutoScalingGroupName === 'paged')).toBe(true)
    const many = Array.from({ length: 51 }, (_, n) => `i-${String(n).padStart(17, '0')}`)
    expect((await failure(asg.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: many })))).code).toBe(
      'ValidationError'
    )
  })
})

describe("Auto Scaling's events", () => {
  test('reach an EventBridge rule target with the documented detail of each detail-type', async () => {
    const ruleArn =
      (
        await events.send(
          new PutRuleCommand({ Name: 'asg-events', EventPattern: JSON.stringify({ source: ['aws.autoscaling'] }) })
        )
      ).RuleArn ?? ''
    const queueArn = `arn:aws:sqs:us-east-1:${emu.accountId}:asg-events`
    const policy = {
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
    }
    const url =
      (
        await sqs.send(
          new CreateQueueCommand({ QueueName: 'asg-events', Attributes: { Policy: JSON.stringify(policy) } })
        )
      ).QueueUrl ?? ''
    await events.send(new PutTargetsCommand({ Rule: 'asg-events', Targets: [{ Id: 'q', Arn: queueArn }] }))
    const received: Record<string, unknown>[] = []
    const drain = async (): Promise<void> => {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }))
      for (const m of out.Messages ?? []) received.push(JSON.parse(m.Body ?? '{}') as Record<string, unknown>)
    }
    const ofType = (type: string, instanceId: string): Record<string, unknown> | undefined =>
      received.find(
        (e) => e['detail-type'] === type && (e.detail as Record<string, unknown>).EC2InstanceId === instanceId
      )

    // the DNS updater's rule: only launches that succeeded
    const dnsRuleArn =
      (
        await events.send(
          new PutRuleCommand({
            Name: 'asg-launched',
            EventPattern: JSON.stringify({
              source: ['aws.autoscaling'],
              'detail-type': ['EC2 Instance Launch Successful']
            })
          })
        )
      ).RuleArn ?? ''
    const dnsQueueArn = `arn:aws:sqs:us-east-1:${emu.accountId}:asg-launched`
    const dnsPolicy = JSON.stringify(policy).replaceAll(queueArn, dnsQueueArn).replaceAll(ruleArn, dnsRuleArn)
    const dnsUrl =
      (await sqs.send(new CreateQueueCommand({ QueueName: 'asg-launched', Attributes: { Policy: dnsPolicy } })))
        .QueueUrl ?? ''
    await events.send(
      new PutTargetsCommand({ Rule: 'asg-launched', Targets: [{ Id: 'q', Arn: dnsQueueArn, InputPath: '$.detail' }] })
    )

    await hookedGroup('evented', 1)
    const [first] = await inState('evented', 'Pending:Wait')
    const id = first?.InstanceId ?? ''
    const lifecycle = await eventually(async () => {
      await drain()
      return ofType('EC2 Instance-launch Lifecycle Action', id)
    })
    const groupArn = `arn:aws:autoscaling:us-east-1:${emu.accountId}:autoScalingGroup:`
    expect(lifecycle).toMatchObject({
      source: 'aws.autoscaling',
      account: emu.accountId,
      region: 'us-east-1',
      detail: {
        AutoScalingGroupName: 'evented',
        LifecycleHookName: 'ready',
        EC2InstanceId: id,
        LifecycleTransition: LAUNCHING,
        Origin: 'EC2',
        Destination: 'AutoScalingGroup'
      }
    })
    expect((lifecycle.resources as string[])[0]).toMatch(/:autoScalingGroupName\/evented$/)
    const token = (lifecycle.detail as { LifecycleActionToken: string }).LifecycleActionToken
    await asg.send(
      new CompleteLifecycleActionCommand({
        AutoScalingGroupName: 'evented',
        LifecycleHookName: 'ready',
        LifecycleActionToken: token,
        LifecycleActionResult: 'CONTINUE'
      })
    )
    const launched = await eventually(async () => {
      await drain()
      return ofType('EC2 Instance Launch Successful', id)
    })
    const launchActivity = launchOf(await activities('evented'), id)
    expect(launched.resources).toEqual([
      expect.stringContaining(groupArn),
      `arn:aws:ec2:us-east-1:${emu.accountId}:instance/${id}`
    ])
    expect(launched.detail).toMatchObject({
      StatusCode: 'InProgress',
      AutoScalingGroupName: 'evented',
      ActivityId: launchActivity?.ActivityId,
      Description: `Launching a new EC2 instance: ${id}`,
      EC2InstanceId: id,
      Details: { 'Availability Zone': first?.AvailabilityZone, 'Subnet ID': expect.stringMatching(/^subnet-/) },
      Origin: 'EC2',
      Destination: 'AutoScalingGroup'
    })
    for (const key of ['RequestId', 'StartTime', 'EndTime', 'Cause'])
      expect(typeof (launched.detail as Record<string, unknown>)[key]).toBe('string')

    await asg.send(
      new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: id, ShouldDecrementDesiredCapacity: false })
    )
    const terminated = await eventually(async () => {
      await drain()
      return ofType('EC2 Instance Terminate Successful', id)
    })
    expect(terminated.detail).toMatchObject({
      AutoScalingGroupName: 'evented',
      Description: `Terminating EC2 instance: ${id}`,
      EC2InstanceId: id,
      Origin: 'AutoScalingGroup',
      Destination: 'EC2'
    })

    const [replacement] = await eventually(async () => {
      const found = (await members('evented')).filter((m) => m.InstanceId !== id && m.LifecycleState === 'Pending:Wait')
      return found.length > 0 ? found : undefined
    })
    const second = replacement?.InstanceId ?? ''
    await asg.send(
      new CompleteLifecycleActionCommand({
        AutoScalingGroupName: 'evented',
        LifecycleHookName: 'ready',
        InstanceId: second,
        LifecycleActionResult: 'ABANDON'
      })
    )
    const dnsBodies = (
      (await sqs.send(new ReceiveMessageCommand({ QueueUrl: dnsUrl, MaxNumberOfMessages: 10 }))).Messages ?? []
    ).map((m) => JSON.parse(m.Body ?? '{}') as Record<string, unknown>)
    expect(dnsBodies.filter((d) => d.AutoScalingGroupName === 'evented').map((d) => d.EC2InstanceId)).toEqual([id])
    const unsuccessful = await eventually(async () => {
      await drain()
      return ofType('EC2 Instance Launch Unsuccessful', second)
    })
    expect(unsuccessful.detail).toMatchObject({
      StatusCode: 'Failed',
      AutoScalingGroupName: 'evented',
      EC2InstanceId: second,
      StatusMessage: expect.stringMatching(/was abandoned: Lifecycle Action Completed with ABANDON Result$/)
    })
  })
})
