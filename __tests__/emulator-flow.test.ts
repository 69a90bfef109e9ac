import { ConfiguredRetryStrategy } from '@smithy/core/retry'
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  StartInstanceRefreshCommand
} from '@aws-sdk/client-auto-scaling'
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  CreateSecurityGroupCommand,
  DeleteLaunchTemplateCommand,
  DeleteSecurityGroupCommand,
  DescribeInstancesCommand,
  EC2Client,
  ModifyLaunchTemplateCommand
} from '@aws-sdk/client-ec2'
import type { Instance } from '@aws-sdk/client-ec2'
import {
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  IAMClient,
  PutRolePolicyCommand
} from '@aws-sdk/client-iam'
import { startEmulator } from '../emulator/server.js'
import type { Emulator } from '../emulator/server.js'
import { sdkConfig } from '../emulator/testing.js'

let emu: Emulator
let ec2: EC2Client
let asg: AutoScalingClient
let iam: IAMClient

const tags = { project: 'prj-demo', stack: 'st-web', service: 'web' }
const tagList = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }))

beforeAll(async () => {
  // a little of every fault the action has to live with
  emu = await startEmulator({
    simulation: { launchDelayMs: 5, terminateDelayMs: 150 },
    faults: { throttleRate: 0.15, ec2VisibilitySeconds: 0.05, latencyMs: 1, latencyJitterMs: 2, seed: 11 }
  })
  const config = { ...sdkConfig(emu), retryStrategy: new ConfiguredRetryStrategy(30, () => 5) }
  ec2 = new EC2Client(config)
  asg = new AutoScalingClient(config)
  iam = new IAMClient(config)
})

afterAll(async () => {
  ec2.destroy()
  asg.destroy()
  iam.destroy()
  await emu.stop()
})

/** Retries what the SDK does not: eventual consistency and dependency errors, as the action must. */
async function retrying<T>(what: () => Promise<T>, codes: RegExp): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await what()
    } catch (err) {
      const code = (err as { Code?: string }).Code ?? (err as Error).name
      if ((!codes.test(code) && !codes.test((err as Error).message)) || attempt > 100) throw err
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
}

async function stackInstances(): Promise<Instance[]> {
  const out = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        ...tagList.map((t) => ({ Name: `tag:${t.Key}`, Values: [t.Value] })),
        { Name: 'instance-state-name', Values: ['pending', 'running'] }
      ]
    })
  )
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? [])
}

test('a stack is deployed, rolled to a new template version and destroyed through throttling and eventual consistency', async () => {
  await iam.send(
    new CreateRoleCommand({
      RoleName: 'updater',
      AssumeRolePolicyDocument: '{"Version":"2012-10-17","Statement":[]}',
      Tags: tagList
    })
  )
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: 'updater',
      PolicyName: 'p',
      PolicyDocument: '{"Version":"2012-10-17","Statement":[]}'
    })
  )
  const { GroupId } = await ec2.send(
    new CreateSecurityGroupCommand({
      GroupName: 'st-web-web',
      Description: 'web',
      TagSpecifications: [{ ResourceType: 'security-group', Tags: tagList }]
    })
  )
  const perms = [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '172.28.0.0/16' }] }]
  await retrying(
    () => ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId, IpPermissions: perms })),
    /InvalidGroup\.NotFound/
  )
  const lt = await ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: 'st-web-web',
      TagSpecifications: [{ ResourceType: 'launch-template', Tags: tagList }],
      LaunchTemplateData: {
        ImageId: 'ami-0a1b2c3d4e5f60001',
        InstanceType: 't3.micro',
        SecurityGroupIds: [GroupId ?? ''],
        UserData: Buffer.from('#!/bin/sh').toString('base64')
      }
    })
  )
  const ltId = lt.LaunchTemplate?.LaunchTemplateId ?? ''
  const asgTags = tagList.map((t) => ({ ...t, PropagateAtLaunch: true }))
  await retrying(
    () =>
      asg.send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: 'st-web-web-od',
          MinSize: 0,
          MaxSize: 4,
          DesiredCapacity: 2,
          LaunchTemplate: { LaunchTemplateId: ltId, Version: '$Default' },
          Tags: asgTags
        })
      ),
    /does not exist/
  )
  await asg.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: 'st-web-web-spot',
      MinSize: 0,
      MaxSize: 4,
      DesiredCapacity: 1,
      CapacityRebalance: true,
      Tags: asgTags,
      MixedInstancesPolicy: {
        LaunchTemplate: {
          LaunchTemplateSpecification: { LaunchTemplateId: ltId, Version: '$Default' },
          Overrides: [{ InstanceType: 't3.micro' }]
        },
        InstancesDistribution: {
          OnDemandBaseCapacity: 0,
          OnDemandPercentageAboveBaseCapacity: 0,
          SpotAllocationStrategy: 'price-capacity-optimized'
        }
      }
    })
  )
  await emu.waitIdle()
  const deployed = await stackInstances()
  expect(deployed).toHaveLength(3)
  expect(deployed.filter((i) => i.InstanceLifecycle === 'spot')).toHaveLength(1)

  await ec2.send(
    new CreateLaunchTemplateVersionCommand({
      LaunchTemplateId: ltId,
      SourceVersion: '$Latest',
      LaunchTemplateData: { InstanceType: 't3.small' }
    })
  )
  await ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: ltId, DefaultVersion: '2' }))
  for (const name of ['st-web-web-od', 'st-web-web-spot'])
    await asg.send(new StartInstanceRefreshCommand({ AutoScalingGroupName: name }))
  await emu.waitIdle()
  const rolled = await stackInstances()
  expect(rolled).toHaveLength(3)
  expect(rolled.some((i) => deployed.some((d) => d.InstanceId === i.InstanceId))).toBe(false)
  // the spot group launches from its override type; the on-demand group from the template's new type
  expect(rolled.filter((i) => i.InstanceLifecycle !== 'spot').every((i) => i.InstanceType === 't3.small')).toBe(true)

  for (const name of ['st-web-web-od', 'st-web-web-spot'])
    await asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: name, ForceDelete: true }))
  await retrying(() => ec2.send(new DeleteSecurityGroupCommand({ GroupId })), /DependencyViolation/)
  expect(await stackInstances()).toEqual([])
  await ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: ltId }))
  await iam.send(new DeleteRolePolicyCommand({ RoleName: 'updater', PolicyName: 'p' }))
  await iam.send(new DeleteRoleCommand({ RoleName: 'updater' }))
  await emu.waitIdle()
  expect((await asg.send(new DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups).toEqual([])

  const calls = emu.calls()
  expect(
    calls.some((c) => c.injected && (c.errorCode === 'RequestLimitExceeded' || c.errorCode === 'Throttling'))
  ).toBe(true)
  expect(calls.some((c) => c.errorCode === 'DependencyViolation')).toBe(true)
  // the only 5xx answers are EC2's throttling (RequestLimitExceeded is a 503)
  expect(calls.filter((c) => c.status >= 500).every((c) => c.errorCode === 'RequestLimitExceeded')).toBe(true)
})
