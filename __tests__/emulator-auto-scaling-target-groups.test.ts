/**
 * Auto Scaling groups and their ELBv2 target groups, through the SDK clients: in-service instances are
 * registered, instances leaving service drain, target health follows the agent stand-in's container.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals'
import {
  AttachLoadBalancerTargetGroupsCommand,
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeLoadBalancerTargetGroupsCommand,
  DescribeInstanceRefreshesCommand,
  DescribeTrafficSourcesCommand,
  DetachLoadBalancerTargetGroupsCommand,
  SetDesiredCapacityCommand,
  SetInstanceHealthCommand,
  StartInstanceRefreshCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  type AutoScalingGroup
} from '@aws-sdk/client-auto-scaling'
import {
  CreateLaunchTemplateCommand,
  DescribeSubnetsCommand,
  EC2Client,
  TerminateInstancesCommand
} from '@aws-sdk/client-ec2'
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyTargetGroupAttributesCommand,
  type TargetHealthDescription
} from '@aws-sdk/client-elastic-load-balancing-v2'
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  IAMClient,
  PutRolePolicyCommand
} from '@aws-sdk/client-iam'
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import type { AgentConfig } from '../src/agent/config.js'
import { EmulatorClient } from '../emulator/client.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { eventually, roleSession, sdkConfig } from '../emulator/testing.js'

const REGION = 'us-east-1'
const LAUNCHING = 'autoscaling:EC2_INSTANCE_LAUNCHING'

let emu: Emulator
let control: EmulatorClient
let asg: AutoScalingClient
let ec2: EC2Client
let elb: ElasticLoadBalancingV2Client
let subnets: string[]
let vpcId: string
let seq = 0

beforeAll(async () => {
  emu = await startEmulator({
    simulation: {
      spotReclaimDelayMs: 0,
      launchDelayMs: 5,
      terminateDelayMs: 5,
      launchRetryMs: 30,
      // 30 s of ELB time is 30 ms: the default health checks pass in 150 ms, a 300 s drain lasts 300 ms
      elbTimeScale: 0.001,
      containerRestartDelayMs: 10,
      agentRetryDelayMs: 2,
      containerSettleMs: 20
    }
  })
  control = new EmulatorClient(emu.endpoint)
  asg = new AutoScalingClient(sdkConfig(emu))
  ec2 = new EC2Client(sdkConfig(emu))
  elb = new ElasticLoadBalancingV2Client(sdkConfig(emu))
  const out = await ec2.send(new DescribeSubnetsCommand({}))
  subnets = (out.Subnets ?? []).slice(0, 2).map((s) => s.SubnetId ?? '')
  vpcId = out.Subnets?.[0]?.VpcId ?? ''
})

afterAll(async () => {
  for (const c of [asg, ec2, elb]) c.destroy()
  await emu.stop()
})

async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise
  } catch (err) {
    const e = err as Error
    return { name: e.name, message: e.message }
  }
  throw new Error('expected the call to fail')
}

/** A target group on port 8080 that a listener forwards to (so deregistered targets drain). */
async function servedTargetGroup(
  health: { HealthCheckIntervalSeconds?: number; HealthyThresholdCount?: number } = {}
): Promise<string> {
  seq += 1
  const tg = await elb.send(
    new CreateTargetGroupCommand({ Name: `tg-${seq}`, Protocol: 'HTTP', Port: 8080, VpcId: vpcId, ...health })
  )
  const arn = tg.TargetGroups?.[0]?.TargetGroupArn ?? ''
  const lb = await elb.send(new CreateLoadBalancerCommand({ Name: `lb-${seq}`, Subnets: subnets }))
  await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: lb.LoadBalancers?.[0]?.LoadBalancerArn,
      Protocol: 'HTTP',
      Port: 80,
      DefaultActions: [{ Type: 'forward', TargetGroupArn: arn }]
    })
  )
  return arn
}

async function template(name: string, userData?: string, profile?: string): Promise<void> {
  await ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: name,
      LaunchTemplateData: {
        ImageId: 'ami-0a1b2c3d4e5f60001',
        InstanceType: 't3.micro',
        ...(userData ? { UserData: userData } : {}),
        ...(profile ? { IamInstanceProfile: { Name: profile } } : {})
      }
    })
  )
}

async function group(
  name: string,
  options: { desired: number; targetGroups?: string[]; hook?: boolean; spot?: boolean; template?: string }
): Promise<void> {
  const lt = options.template ?? name
  if (!options.template) await template(name)
  await asg.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      MinSize: 0,
      MaxSize: 10,
      DesiredCapacity: options.desired,
      VPCZoneIdentifier: subnets.join(','),
      ...(options.spot
        ? {
            MixedInstancesPolicy: {
              LaunchTemplate: { LaunchTemplateSpecification: { LaunchTemplateName: lt, Version: '$Latest' } },
              InstancesDistribution: { OnDemandBaseCapacity: 0, OnDemandPercentageAboveBaseCapacity: 0 }
            }
          }
        : { LaunchTemplate: { LaunchTemplateName: lt, Version: '$Latest' } }),
      ...(options.targetGroups ? { TargetGroupARNs: options.targetGroups } : {}),
      ...(options.hook
        ? {
            LifecycleHookSpecificationList: [
              { LifecycleHookName: 'ready', LifecycleTransition: LAUNCHING, HeartbeatTimeout: 7200 }
            ]
          }
        : {})
    })
  )
  await emu.waitIdle()
}

async function describeGroup(name: string): Promise<AutoScalingGroup> {
  const out = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }))
  const g = out.AutoScalingGroups?.[0]
  if (!g) throw new Error(`no group ${name}`)
  return g
}

async function inService(name: string, count: number): Promise<string[]> {
  return eventually(async () => {
    const ids = ((await describeGroup(name)).Instances ?? [])
      .filter((i) => i.LifecycleState === 'InService')
      .map((i) => i.InstanceId ?? '')
    return ids.length === count ? ids.sort() : undefined
  })
}

async function targets(tgArn: string): Promise<TargetHealthDescription[]> {
  return (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tgArn }))).TargetHealthDescriptions ?? []
}

/** Registered instance ids and their states, sorted by id. */
async function registered(tgArn: string): Promise<[string, string][]> {
  return (await targets(tgArn))
    .map((d): [string, string] => [d.Target?.Id ?? '', d.TargetHealth?.State ?? ''])
    .sort((a, b) => a[0].localeCompare(b[0]))
}

async function stateOf(tgArn: string, id: string): Promise<string | undefined> {
  return (await targets(tgArn)).find((d) => d.Target?.Id === id)?.TargetHealth?.State
}

async function groupTargetGroups(name: string): Promise<[string, string][]> {
  const out = await asg.send(new DescribeLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: name }))
  return (out.LoadBalancerTargetGroups ?? []).map((t) => [t.LoadBalancerTargetGroupARN ?? '', t.State ?? ''])
}

test('a group created with target groups registers its instances when they enter service, not while a launch hook holds them', async () => {
  const tg = await servedTargetGroup()
  await group('asg-create', { desired: 2, targetGroups: [tg], hook: true })
  const g = await describeGroup('asg-create')
  expect(g.TargetGroupARNs).toEqual([tg])
  expect(g.Instances?.map((i) => i.LifecycleState)).toEqual(['Pending:Wait', 'Pending:Wait'])
  expect(await targets(tg)).toEqual([])
  expect(await groupTargetGroups('asg-create')).toEqual([[tg, 'Added']])

  const [first, second] = (g.Instances ?? []).map((i) => i.InstanceId ?? '')
  await asg.send(
    new CompleteLifecycleActionCommand({
      AutoScalingGroupName: 'asg-create',
      LifecycleHookName: 'ready',
      InstanceId: first,
      LifecycleActionResult: 'CONTINUE'
    })
  )
  await emu.waitIdle()
  const described = await targets(tg)
  // registered on the target group's port, the other instance still waits
  expect(described.map((d) => d.Target)).toEqual([{ Id: first, Port: 8080 }])
  expect(described[0]?.TargetHealth?.State).toBe('initial')
  expect(await eventually(async () => ((await stateOf(tg, first ?? '')) === 'healthy' ? true : undefined))).toBe(true)
  expect(await groupTargetGroups('asg-create')).toEqual([[tg, 'InService']])
  expect(await stateOf(tg, second ?? '')).toBeUndefined()
})

test('an unknown target group ARN is a ValidationError and creates no group', async () => {
  await template('asg-unknown')
  const arn = `arn:aws:elasticloadbalancing:${REGION}:${emu.accountId}:targetgroup/nothing/0123456789abcdef`
  const err = await failure(
    asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'asg-unknown',
        MinSize: 0,
        MaxSize: 1,
        LaunchTemplate: { LaunchTemplateName: 'asg-unknown' },
        VPCZoneIdentifier: subnets.join(','),
        TargetGroupARNs: [arn]
      })
    )
  )
  expect(err.name).toBe('ValidationError')
  expect(err.message).toContain(arn)
  const out = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['asg-unknown'] }))
  expect(out.AutoScalingGroups).toEqual([])

  await group('asg-unknown-attach', { desired: 0 })
  const attach = await failure(
    asg.send(
      new AttachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: 'asg-unknown-attach', TargetGroupARNs: [arn] })
    )
  )
  expect(attach.name).toBe('ValidationError')
  expect((await describeGroup('asg-unknown-attach')).TargetGroupARNs).toEqual([])
})

test('attaching registers the instances in service, detaching drains them and later launches stay out', async () => {
  const tg = await servedTargetGroup()
  await group('asg-attach', { desired: 2 })
  const ids = await inService('asg-attach', 2)
  expect(await targets(tg)).toEqual([])

  await asg.send(
    new AttachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: 'asg-attach', TargetGroupARNs: [tg] })
  )
  expect((await registered(tg)).map(([id]) => id)).toEqual(ids)
  expect((await describeGroup('asg-attach')).TargetGroupARNs).toEqual([tg])
  const sources = await asg.send(new DescribeTrafficSourcesCommand({ AutoScalingGroupName: 'asg-attach' }))
  expect(sources.TrafficSources?.map((s) => [s.Identifier, s.Type])).toEqual([[tg, 'elbv2']])

  await asg.send(
    new DetachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: 'asg-attach', TargetGroupARNs: [tg] })
  )
  expect(await registered(tg)).toEqual(ids.map((id) => [id, 'draining']))
  expect((await describeGroup('asg-attach')).TargetGroupARNs).toEqual([])
  expect(await groupTargetGroups('asg-attach')).toEqual([[tg, 'Removing']])
  await eventually(async () => ((await targets(tg)).length === 0 ? true : undefined))
  expect(await groupTargetGroups('asg-attach')).toEqual([])

  await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'asg-attach', DesiredCapacity: 3 }))
  await inService('asg-attach', 3)
  expect(await targets(tg)).toEqual([])
})

test('an instance leaving service drains for the deregistration delay, then is gone, and its replacement is registered', async () => {
  const tg = await servedTargetGroup()
  await elb.send(
    new ModifyTargetGroupAttributesCommand({
      TargetGroupArn: tg,
      Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '600' }]
    })
  )
  await group('asg-leave', { desired: 3, targetGroups: [tg] })
  const [a, b, c] = await inService('asg-leave', 3)

  // TerminateInstanceInAutoScalingGroup, replaced
  await asg.send(
    new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: a, ShouldDecrementDesiredCapacity: false })
  )
  expect(await stateOf(tg, a ?? '')).toBe('draining')
  // SetInstanceHealth Unhealthy, replaced
  await asg.send(new SetInstanceHealthCommand({ InstanceId: b, HealthStatus: 'Unhealthy' }))
  expect(await stateOf(tg, b ?? '')).toBe('draining')
  const now = await inService('asg-leave', 3)
  const replacements = now.filter((id) => id !== c)
  expect(replacements).not.toContain(a)
  expect(replacements).not.toContain(b)
  for (const id of replacements) expect(await stateOf(tg, id)).toBeDefined()
  // 600 s of ELB time: 600 ms, then the drained targets are gone
  await eventually(async () =>
    (await stateOf(tg, a ?? '')) === undefined && (await stateOf(tg, b ?? '')) === undefined ? true : undefined
  )
  expect((await registered(tg)).map(([id]) => id)).toEqual(now)

  // scale-in, then the group deleted with ForceDelete
  await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: 'asg-leave', DesiredCapacity: 2 }))
  const drainingAfterScaleIn = (await registered(tg)).filter(([, s]) => s === 'draining')
  expect(drainingAfterScaleIn).toHaveLength(1)
  await asg.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'asg-leave', ForceDelete: true }))
  expect((await registered(tg)).every(([, s]) => s === 'draining')).toBe(true)
  await eventually(async () => ((await targets(tg)).length === 0 ? true : undefined))
})

test('an instance refresh registers each replacement and deregisters the instance it replaces', async () => {
  const tg = await servedTargetGroup()
  await group('asg-refresh', { desired: 2, targetGroups: [tg] })
  const old = await inService('asg-refresh', 2)
  await asg.send(
    new StartInstanceRefreshCommand({
      AutoScalingGroupName: 'asg-refresh',
      Preferences: { MinHealthyPercentage: 50, MaxHealthyPercentage: 100, InstanceWarmup: 0 }
    })
  )
  await eventually(async () => {
    const out = await asg.send(new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: 'asg-refresh' }))
    return out.InstanceRefreshes?.[0]?.Status === 'Successful' ? true : undefined
  })
  const now = await inService('asg-refresh', 2)
  expect(now.filter((id) => old.includes(id))).toEqual([])
  const states = await registered(tg)
  // the replaced instances drain (or are gone already); the replacements are registered
  expect(states.filter(([id]) => now.includes(id)).map(([id]) => id)).toEqual(now)
  expect(states.filter(([id]) => old.includes(id)).every(([, s]) => s === 'draining')).toBe(true)
  await eventually(async () => ((await targets(tg)).length === 2 ? true : undefined))
  expect((await registered(tg)).map(([id]) => id)).toEqual(now)
})

test('a spot interruption or a termination through EC2 deregisters the instance', async () => {
  const tg = await servedTargetGroup()
  await group('asg-spot', { desired: 2, targetGroups: [tg], spot: true })
  const [x, y] = await inService('asg-spot', 2)
  expect((await registered(tg)).map(([id]) => id)).toEqual([x, y])

  emu.spotInterrupt(x ?? '')
  expect(await stateOf(tg, x ?? '')).toBe('draining')
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [y ?? ''] }))
  expect(await stateOf(tg, y ?? '')).toBe('draining')
  await eventually(async () =>
    (await stateOf(tg, x ?? '')) === undefined && (await stateOf(tg, y ?? '')) === undefined ? true : undefined
  )
  // both replaced and registered
  const now = await inService('asg-spot', 2)
  expect(now).not.toContain(x)
  expect(now).not.toContain(y)
  expect((await registered(tg)).map(([id]) => id)).toEqual(now)
})

/** An instance role for the agent stand-in, its configuration in SSM, and user data naming it. */
async function agentLaunchTemplate(name: string, image: string): Promise<void> {
  const iam = new IAMClient(sdkConfig(emu))
  const ssm = new SSMClient(sdkConfig(emu))
  try {
    const trust = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]
    }
    const parameter = `/hyperform/shop/prod/${name}/config`
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'ssm:GetParameter',
          Resource: `arn:aws:ssm:${REGION}:${emu.accountId}:parameter${parameter}`
        }
      ]
    }
    await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) }))
    await iam.send(
      new PutRolePolicyCommand({ RoleName: name, PolicyName: 'agent', PolicyDocument: JSON.stringify(policy) })
    )
    await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name }))
    await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }))
    // no launch gate and no logging: the container runs as the catalogue says, nothing else is called
    const config: AgentConfig = {
      version: 1,
      service: name,
      image,
      ports: ['8080:80'],
      dns: '172.28.0.2',
      dnsSearch: [],
      environment: {},
      environmentFrom: {},
      secrets: [],
      restart: 'always',
      stopSignal: 'SIGTERM',
      stopGracePeriod: 10,
      logging: { driver: 'none' },
      awsCredentials: false
    }
    const out = await ssm.send(
      new PutParameterCommand({ Name: parameter, Type: 'SecureString', Value: JSON.stringify(config) })
    )
    const userData = Buffer.from(
      ['#!/bin/bash', `HYPERFORM_REGION=${REGION}`, `HYPERFORM_CONFIG=${parameter}:${out.Version ?? 1}`, ''].join('\n')
    ).toString('base64')
    await template(name, userData, name)
  } finally {
    iam.destroy()
    ssm.destroy()
  }
}

test('target health follows the agent stand-in container: initial, healthy after the checks, unhealthy with the container', async () => {
  await agentLaunchTemplate('asg-agent', 'shop/web:1')
  // 300 s interval, 2 checks: 600 ms of initial checks at this time scale
  const tg = await servedTargetGroup({ HealthCheckIntervalSeconds: 300, HealthyThresholdCount: 2 })
  await group('asg-agent', { desired: 1, targetGroups: [tg], template: 'asg-agent' })
  const [id] = await inService('asg-agent', 1)
  expect(await stateOf(tg, id ?? '')).toBe('initial')
  await eventually(async () => ((await control.container(id ?? '')).state === 'running' ? true : undefined))
  await eventually(async () => ((await stateOf(tg, id ?? '')) === 'healthy' ? true : undefined), 3000)

  await control.setContainerHealth(id ?? '', 'unhealthy')
  const unhealthy = (await targets(tg))[0]?.TargetHealth
  expect(unhealthy).toEqual({
    State: 'unhealthy',
    Reason: 'Target.FailedHealthChecks',
    Description: 'Health checks failed'
  })
  await control.setContainerHealth(id ?? '', 'healthy')
  expect(await stateOf(tg, id ?? '')).toBe('healthy')
})

test('a container that never becomes healthy leaves its target unhealthy', async () => {
  await control.setImages([{ image: 'shop/sick:1', run: 'unhealthy' }])
  await agentLaunchTemplate('asg-sick', 'shop/sick:1')
  const tg = await servedTargetGroup()
  await group('asg-sick', { desired: 1, targetGroups: [tg], template: 'asg-sick' })
  const [id] = await inService('asg-sick', 1)
  await eventually(async () => ((await control.container(id ?? '')).state === 'running' ? true : undefined))
  expect(
    await eventually(async () => {
      const s = await stateOf(tg, id ?? '')
      return s === 'initial' ? undefined : s
    })
  ).toBe('unhealthy')
})

test('IAM: AttachLoadBalancerTargetGroups is denied on a group the role has no permission for', async () => {
  const tg = await servedTargetGroup()
  await group('asg-iam-mine', { desired: 0 })
  await group('asg-iam-other', { desired: 0 })
  const groupArn = (name: string): string =>
    `arn:aws:autoscaling:${REGION}:${emu.accountId}:autoScalingGroup:*:autoScalingGroupName/${name}`
  const config = await roleSession(emu, {
    roleName: 'attacher',
    policy: {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'autoscaling:AttachLoadBalancerTargetGroups', Resource: groupArn('asg-iam-mine') }
      ]
    }
  })
  const limited = new AutoScalingClient(config)
  try {
    const err = await failure(
      limited.send(
        new AttachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: 'asg-iam-other', TargetGroupARNs: [tg] })
      )
    )
    expect(err.name).toBe('AccessDenied')
    expect(err.message).toContain('autoscaling:AttachLoadBalancerTargetGroups')
    expect((await describeGroup('asg-iam-other')).TargetGroupARNs).toEqual([])
    await limited.send(
      new AttachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: 'asg-iam-mine', TargetGroupARNs: [tg] })
    )
    expect((await describeGroup('asg-iam-mine')).TargetGroupARNs).toEqual([tg])
  } finally {
    limited.destroy()
  }
})
