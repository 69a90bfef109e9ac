/**
 * The emulator's agent stand-in hears EC2's spot signals as the real agent's spot watch does: an
 * interruption notice drains the container once (its line, the container stopped after its grace
 * period, no Unhealthy report for the stopping container), a rebalance recommendation is only written.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals'
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand
} from '@aws-sdk/client-auto-scaling'
import { CloudWatchLogsClient, CreateLogGroupCommand, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { CreateLaunchTemplateCommand, EC2Client } from '@aws-sdk/client-ec2'
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  IAMClient,
  PutRolePolicyCommand
} from '@aws-sdk/client-iam'
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import type { AgentConfig } from '../src/agent/config.js'
import { LAUNCH_HOOK } from '../src/names.js'
import { EmulatorClient } from '../emulator/client.js'
import { ec2World } from '../emulator/services/ec2/model.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { eventually, sdkConfig } from '../emulator/testing.js'

const REGION = 'us-east-1'
const GROUP = '/hyperform/shop/prod'
const SERVICE = 'web'

let emu: Emulator
let control: EmulatorClient
let ec2: EC2Client
let asg: AutoScalingClient
let iam: IAMClient
let ssm: SSMClient
let logs: CloudWatchLogsClient

beforeAll(async () => {
  emu = await startEmulator({
    simulation: {
      launchDelayMs: 5,
      terminateDelayMs: 5,
      agentRetryDelayMs: 2,
      containerSettleMs: 20,
      // the reclaim well after the drain (grace 10 s x 5 ms)
      spotReclaimDelayMs: 1500,
      containerStopTimeScale: 5
    }
  })
  control = new EmulatorClient(emu.endpoint)
  ec2 = new EC2Client(sdkConfig(emu))
  asg = new AutoScalingClient(sdkConfig(emu))
  iam = new IAMClient(sdkConfig(emu))
  ssm = new SSMClient(sdkConfig(emu))
  logs = new CloudWatchLogsClient(sdkConfig(emu))
  await logs.send(new CreateLogGroupCommand({ logGroupName: GROUP }))
})

afterAll(async () => {
  for (const c of [ec2, asg, iam, ssm, logs]) c.destroy()
  await emu.stop()
})

/** A spot group of one instance, deployed as the action would (role, configuration, launch hook); its instance id. */
async function deploySpot(): Promise<string> {
  const role = `${SERVICE}-instance`
  const trust = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]
  }
  const policy = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: 'ssm:GetParameter',
        Resource: `arn:aws:ssm:${REGION}:${emu.accountId}:parameter/hyperform/shop/prod/${SERVICE}/*`
      },
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: `arn:aws:logs:${REGION}:${emu.accountId}:log-group:${GROUP}:log-stream:${SERVICE}/*`
      },
      { Effect: 'Allow', Action: 'autoscaling:DescribeAutoScalingInstances', Resource: '*' },
      {
        Effect: 'Allow',
        Action: ['autoscaling:CompleteLifecycleAction', 'autoscaling:SetInstanceHealth'],
        Resource: `arn:aws:autoscaling:${REGION}:${emu.accountId}:autoScalingGroup:*:autoScalingGroupName/${SERVICE}`
      }
    ]
  }
  await iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: JSON.stringify(trust) }))
  await iam.send(
    new PutRolePolicyCommand({ RoleName: role, PolicyName: 'agent', PolicyDocument: JSON.stringify(policy) })
  )
  await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: role }))
  await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: role, RoleName: role }))
  const config: AgentConfig = {
    version: 1,
    service: SERVICE,
    image: `shop/${SERVICE}:1`,
    ports: [],
    dns: '172.28.0.2',
    dnsSearch: [],
    environment: {},
    environmentFrom: {},
    secrets: [],
    restart: 'always',
    stopSignal: 'SIGTERM',
    stopGracePeriod: 10,
    logging: { driver: 'awslogs', group: GROUP, region: REGION, streamPrefix: SERVICE, options: {} },
    awsCredentials: false,
    lifecycle: { hook: LAUNCH_HOOK, settleSeconds: 10 },
    agentLog: { group: GROUP, region: REGION, streamPrefix: SERVICE }
  }
  const name = `/hyperform/shop/prod/${SERVICE}/config`
  const put = await ssm.send(
    new PutParameterCommand({ Name: name, Type: 'SecureString', Value: JSON.stringify(config) })
  )
  const userData = [
    '#!/bin/bash',
    `HYPERFORM_REGION=${REGION}`,
    `HYPERFORM_CONFIG=${name}:${put.Version ?? 0}`,
    'exec /opt/hyperform/agent.sh',
    ''
  ].join('\n')
  await ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: SERVICE,
      LaunchTemplateData: {
        ImageId: 'ami-0a2023a1b2c3d4e5f',
        InstanceType: 't3.micro',
        UserData: Buffer.from(userData).toString('base64'),
        IamInstanceProfile: { Name: role }
      }
    })
  )
  await asg.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: SERVICE,
      MinSize: 1,
      MaxSize: 1,
      DesiredCapacity: 1,
      MixedInstancesPolicy: {
        LaunchTemplate: { LaunchTemplateSpecification: { LaunchTemplateName: SERVICE, Version: '$Latest' } },
        InstancesDistribution: { OnDemandPercentageAboveBaseCapacity: 0 }
      },
      LifecycleHookSpecificationList: [
        {
          LifecycleHookName: LAUNCH_HOOK,
          LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
          HeartbeatTimeout: 600,
          DefaultResult: 'ABANDON'
        }
      ]
    })
  )
  await emu.waitIdle()
  const out = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [SERVICE] }))
  const id = out.AutoScalingGroups?.[0]?.Instances?.[0]?.InstanceId
  if (!id) throw new Error(`group ${SERVICE} launched nothing`)
  return id
}

async function lines(instanceId: string): Promise<string[]> {
  const out = await logs.send(
    new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: `${SERVICE}/${instanceId}` })
  )
  return (out.events ?? []).map((e) => e.message ?? '')
}

test('a rebalance recommendation is written once and stops nothing; an interruption notice drains the container once after its grace period, unreported', async () => {
  const instanceId = await deploySpot()
  expect(ec2World(emu.cloud).instances.get(instanceId)?.spot).toBe(true)
  expect(await control.container(instanceId)).toMatchObject({ state: 'running', lifecycle: 'continued' })

  // twice: one line
  await control.rebalance(instanceId)
  await control.rebalance(instanceId)
  await eventually(async () => ((await lines(instanceId)).length >= 3 ? true : undefined))
  expect(await control.container(instanceId)).toMatchObject({ state: 'running', rebalanceRecommended: true })

  await control.spotInterrupt(instanceId)
  // while it stops, its health turns unhealthy: no fault of a container stopped on purpose
  const stopping = await control.setContainerHealth(instanceId, 'unhealthy')
  expect(stopping.state).toBe('running')
  const reclaimAt = ec2World(emu.cloud).instances.get(instanceId)?.spotInstanceAction?.time
  expect(reclaimAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  const drained = await eventually(async () => {
    const view = await control.container(instanceId)
    return view.state === 'exited' ? view : undefined
  })
  expect(drained.spotInterruption).toBe(reclaimAt)
  expect(drained.reportedUnhealthy).toBeUndefined()
  // the container exited before the reclaim: the instance still runs
  expect(ec2World(emu.cloud).instances.get(instanceId)?.state).toBe('running')
  await eventually(async () => ((await lines(instanceId)).includes('hyperform-agent: stopped') ? true : undefined))
  expect(await lines(instanceId)).toEqual([
    `shop/${SERVICE}:1 started`,
    'hyperform-agent: healthy',
    'hyperform-agent: rebalance recommendation',
    `hyperform-agent: spot interruption: stopping the container (reclaim at ${reclaimAt ?? ''})`,
    'hyperform-agent: stopped'
  ])

  // a second notice (none comes on AWS) drains nothing more; then the reclaim
  await control.spotInterrupt(instanceId)
  await emu.waitIdle()
  expect(ec2World(emu.cloud).instances.get(instanceId)?.state).toBe('terminated')
  expect(
    emu.calls().filter((c) => c.caller === `instance-${instanceId}` && c.operation === 'SetInstanceHealth')
  ).toEqual([])
  expect((await lines(instanceId)).filter((l) => l.startsWith('hyperform-agent: spot interruption'))).toHaveLength(1)
})
