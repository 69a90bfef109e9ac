/**
 * The emulator's agent stand-in claims its service's EBS volumes as the real agent does, through
 * DescribeVolumes and AttachVolume with the instance role's credentials (the policy the action renders):
 * the lowest free slot in its own zone, AttachVolume as the lock (instances booting together never take
 * the same volume), a volume in use by a dying instance waited for and never detached, the first use
 * "formatting" a blank volume once, and an abandon with the real agent's reason after its wait.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { gzipSync } from 'node:zlib'
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand
} from '@aws-sdk/client-auto-scaling'
import { CloudWatchLogsClient, CreateLogGroupCommand, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs'
import {
  AttachVolumeCommand,
  CreateLaunchTemplateCommand,
  CreateVolumeCommand,
  DescribeSubnetsCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand
} from '@aws-sdk/client-ec2'
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  IAMClient,
  PutRolePolicyCommand
} from '@aws-sdk/client-iam'
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { instanceGrants } from '../src/agent/build.js'
import type { AgentConfig, AgentFile } from '../src/agent/config.js'
import {
  asgName,
  configParameterName,
  containerLogGroupName,
  instanceRoleName,
  LAUNCH_HOOK,
  TAGS
} from '../src/names.js'
import { instancePolicy } from '../src/resources/instance-role.js'
import { buildUserData } from '../src/userdata.js'
import { instanceCredentials } from '../emulator/agent/instance-role.js'
import type { ContainerView } from '../emulator/agent/index.js'
import { EmulatorClient } from '../emulator/client.js'
import { ec2World } from '../emulator/services/ec2/model.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { eventually, sdkConfig } from '../emulator/testing.js'

const REGION = 'us-east-1'
const SCOPE = { project: 'prj', stack: 'st', region: REGION }
const LOG_GROUP = containerLogGroupName(SCOPE)

let emu: Emulator
let control: EmulatorClient
let ec2: EC2Client
let asg: AutoScalingClient
let iam: IAMClient
let ssm: SSMClient
let logs: CloudWatchLogsClient
/** The zone the volumes and the groups are in (of the first default subnet), another one, and that subnet. */
let zone: string
let otherZone: string
let subnet: string

beforeAll(async () => {
  emu = await startEmulator({
    simulation: {
      launchDelayMs: 5,
      terminateDelayMs: 5,
      agentRetryDelayMs: 2,
      containerSettleMs: 20,
      agentVolumePollMs: 20
    }
  })
  control = new EmulatorClient(emu.endpoint)
  ec2 = new EC2Client(sdkConfig(emu))
  asg = new AutoScalingClient(sdkConfig(emu))
  iam = new IAMClient(sdkConfig(emu))
  ssm = new SSMClient(sdkConfig(emu))
  logs = new CloudWatchLogsClient(sdkConfig(emu))
  await logs.send(new CreateLogGroupCommand({ logGroupName: LOG_GROUP }))
  const subnets = await ec2.send(
    new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] })
  )
  const sorted = (subnets.Subnets ?? []).sort((a, b) =>
    (a.AvailabilityZone ?? '').localeCompare(b.AvailabilityZone ?? '')
  )
  subnet = sorted[0]?.SubnetId ?? ''
  zone = sorted[0]?.AvailabilityZone ?? ''
  otherZone = sorted[1]?.AvailabilityZone ?? ''
})

afterAll(async () => {
  for (const c of [ec2, asg, iam, ssm, logs]) c.destroy()
  await emu.stop()
})

const serviceTags = (service: string) => [
  { Key: TAGS.project, Value: 'prj' },
  { Key: TAGS.stack, Value: 'st' },
  { Key: TAGS.service, Value: service }
]

/** A volume as the action makes it: encrypted, in `zone` unless told, tagged with its service, name and slot. */
async function volume(service: string, slot: number, where = zone): Promise<string> {
  const out = await ec2.send(
    new CreateVolumeCommand({
      AvailabilityZone: where,
      Size: 1,
      Encrypted: true,
      TagSpecifications: [
        {
          ResourceType: 'volume',
          Tags: [
            ...serviceTags(service),
            { Key: TAGS.volume, Value: 'data' },
            { Key: TAGS.slot, Value: String(slot) },
            { Key: 'Name', Value: `prj-st-${service}-data-${slot}` }
          ]
        }
      ]
    })
  )
  const id = out.VolumeId ?? ''
  await eventually(async () => ((await control.volume(id)).state === 'available' ? true : undefined))
  return id
}

/**
 * A service mounting the volume `data` at /var/lib/data, with `files`: its configuration, its instance role
 * (the policy the action renders), a launch template. Returns the launch template's name.
 */
async function service(name: string, files: AgentFile[] = []): Promise<string> {
  const parameter = configParameterName(SCOPE, name)
  const config: AgentConfig = {
    version: 1,
    service: name,
    image: `prj/${name}:1`,
    ports: [],
    dns: '172.28.0.2',
    dnsSearch: [],
    environment: {},
    environmentFrom: {},
    secrets: [],
    restart: 'always',
    stopSignal: 'SIGTERM',
    stopGracePeriod: 10,
    logging: { driver: 'none' },
    awsCredentials: false,
    lifecycle: { hook: LAUNCH_HOOK, settleSeconds: 10 },
    agentLog: { group: LOG_GROUP, region: REGION, streamPrefix: name },
    volumes: {
      project: 'prj',
      stack: 'st',
      zone,
      mounts: [{ name: 'data', target: '/var/lib/data', readOnly: false }]
    },
    ...(files.length > 0 ? { files } : {})
  }
  await ssm.send(new PutParameterCommand({ Name: parameter, Type: 'SecureString', Value: JSON.stringify(config) }))
  const role = instanceRoleName(SCOPE, name)
  const trust = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]
  }
  await iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: JSON.stringify(trust) }))
  const grants = instanceGrants(config, {
    region: REGION,
    configParameter: parameter,
    groups: [asgName(SCOPE, name, 'on-demand')]
  })
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: role,
      PolicyName: 'hyperform-instance',
      PolicyDocument: instancePolicy(grants, { accountId: emu.accountId, partition: 'aws' })
    })
  )
  await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: role }))
  await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: role, RoleName: role }))
  const template = `prj-st-${name}`
  await ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: template,
      LaunchTemplateData: {
        ImageId: 'ami-0a2023a1b2c3d4e5f',
        InstanceType: 't3.micro',
        IamInstanceProfile: { Name: role },
        TagSpecifications: [{ ResourceType: 'instance', Tags: serviceTags(name) }],
        UserData: buildUserData({ region: REGION, config: { name: parameter, version: 1 } })
      }
    })
  )
  return template
}

/** The service's on-demand group of `size` instances in the volumes' zone, with its launch hook. */
async function group(name: string, template: string, size: number): Promise<string> {
  const groupName = asgName(SCOPE, name, 'on-demand')
  await asg.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: groupName,
      MinSize: 0,
      MaxSize: size,
      DesiredCapacity: size,
      VPCZoneIdentifier: subnet,
      LaunchTemplate: { LaunchTemplateName: template, Version: '$Latest' },
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
  return groupName
}

async function members(groupName: string): Promise<string[]> {
  const out = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }))
  return (out.AutoScalingGroups?.[0]?.Instances ?? [])
    .filter((i) => i.LifecycleState === 'InService')
    .map((i) => i.InstanceId ?? '')
}

async function lines(prefix: string, instanceId: string): Promise<string[]> {
  const out = await logs.send(
    new GetLogEventsCommand({ logGroupName: LOG_GROUP, logStreamName: `${prefix}/${instanceId}` })
  )
  return (out.events ?? []).map((e) => e.message ?? '')
}

const attachCalls = (instanceId: string) =>
  emu.calls().filter((c) => c.caller === `instance-${instanceId}` && c.operation === 'AttachVolume')

test('instances booting at once in one group each claim a different volume of their service in their zone, formatted on first use; files are decoded in the spec', async () => {
  const files: AgentFile[] = [
    { target: '/etc/app.conf', mode: '0444', content: gzipSync('threads = 4\n').toString('base64') }
  ]
  const template = await service('db', files)
  const volumes = [await volume('db', 0), await volume('db', 1), await volume('db', 2)]
  // free decoys: another service's volume in the zone, one of db's in another zone
  const foreign = await volume('cache', 0)
  const elsewhere = await volume('db', 0, otherZone)
  const groupName = await group('db', template, 3)
  await emu.waitIdle()
  const instances = await eventually(async () => {
    const ids = await members(groupName)
    return ids.length === 3 ? ids : undefined
  })
  const views = await Promise.all(instances.map((id) => control.container(id)))
  for (const view of views) expect(view).toMatchObject({ state: 'running', lifecycle: 'continued' })
  const taken = views.map((v) => v.spec?.volumes[0]?.volumeId)
  expect([...taken].sort()).toEqual([...volumes].sort())
  expect(views.map((v) => v.spec?.volumes[0]?.slot).sort()).toEqual([0, 1, 2])
  for (const view of views) {
    const claimed = view.spec!.volumes[0]!
    expect(claimed).toEqual({
      name: 'data',
      volumeId: claimed.volumeId,
      slot: claimed.slot,
      target: '/var/lib/data',
      readOnly: false
    })
    expect(await control.volume(claimed.volumeId)).toMatchObject({
      state: 'in-use',
      attachment: { instanceId: view.instanceId, device: '/dev/sdf', state: 'attached' },
      data: { filesystem: 'ext4', 'first-use': view.instanceId }
    })
    expect(view.spec?.files).toEqual([{ target: '/etc/app.conf', mode: '0444', content: 'threads = 4\n' }])
  }
  for (const id of [foreign, elsewhere]) expect((await control.volume(id)).attachment).toBeUndefined()
  // every AttachVolume that succeeded took a volume nobody else holds
  const succeeded = instances.flatMap((id) => attachCalls(id).filter((c) => !c.errorCode))
  expect(succeeded).toHaveLength(3)
})

/** An instance of `name` outside any group (the launch hook's line is written all the same). */
async function lone(template: string): Promise<string> {
  const out = await ec2.send(
    new RunInstancesCommand({
      MinCount: 1,
      MaxCount: 1,
      SubnetId: subnet,
      LaunchTemplate: { LaunchTemplateName: template, Version: '$Latest' }
    })
  )
  return out.Instances?.[0]?.InstanceId ?? ''
}

test("a new instance waits for the volume still attached to a dying one, never detaches it, then finds the first instance's data", async () => {
  const template = await service('store')
  const only = await volume('store', 0)
  // the first instance of the service, outside the group: it goes only when the test terminates it
  const first = await lone(template)
  await emu.waitIdle()
  expect((await control.volume(only)).data).toEqual({ filesystem: 'ext4', 'first-use': first })
  await control.setVolumeData(only, 'rows', '3')
  const groupName = await group('store', template, 1)
  // the group's instance has looked several times and found the volume in use
  const looks = (id: string): number =>
    emu.calls().filter((c) => c.caller === `instance-${id}` && c.operation === 'DescribeVolumes').length
  const [replacement] = await eventually(async () => {
    const out = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }))
    const ids = (out.AutoScalingGroups?.[0]?.Instances ?? []).map((i) => i.InstanceId ?? '')
    return ids.length === 1 && looks(ids[0]!) >= 3 ? ids : undefined
  }, 60_000)
  expect((await control.volume(only)).attachment?.instanceId).toBe(first)
  expect((await control.container(replacement!)).spec?.volumes).toEqual([])
  expect(attachCalls(replacement!)).toEqual([])
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [first] }))
  await emu.waitIdle()
  const second = await control.container(replacement!)
  expect(second).toMatchObject({ state: 'running', lifecycle: 'continued' })
  expect(second.spec?.volumes.map((v) => v.volumeId)).toEqual([only])
  expect(await control.volume(only)).toMatchObject({
    attachment: { instanceId: replacement, state: 'attached' },
    // the first instance's marker, and its data: not formatted again
    data: { filesystem: 'ext4', 'first-use': first, rows: '3' }
  })
  expect(emu.calls().filter((c) => c.operation === 'DetachVolume')).toEqual([])
})

test("without a free volume of its own it abandons after its wait with the real agent's reason; another service's volume it may not attach", async () => {
  const template = await service('search')
  const foreign = await volume('other', 0)
  await control.setSimulation({ agentVolumeWaitMs: 1000 })
  const instance = await lone(template)
  await emu.waitIdle()
  await control.setSimulation({ agentVolumeWaitMs: 30_000 })
  const view: ContainerView = await control.container(instance)
  const reason = `no free volume data of search in ${zone} after 1s`
  expect(view).toMatchObject({ state: 'failed', error: reason, lifecycleReason: reason })
  expect(await lines('search', instance)).toEqual([`hyperform-agent: abandon: ${reason}`])
  expect(attachCalls(instance)).toEqual([])
  expect((await control.volume(foreign)).attachment).toBeUndefined()
  // the role itself: AttachVolume of the other service's volume is refused
  const record = ec2World(emu.cloud).instances.get(instance)
  const own = new EC2Client({ ...sdkConfig(emu), credentials: instanceCredentials(emu.cloud, record!)! })
  try {
    await expect(
      own.send(new AttachVolumeCommand({ VolumeId: foreign, InstanceId: instance, Device: '/dev/sdf' }))
    ).rejects.toMatchObject({ name: 'UnauthorizedOperation' })
    // nor its own service's volume to an instance that is not its service's (the instance's tags count too)
    const mine = await volume('search', 0)
    const stranger = await ec2.send(
      new RunInstancesCommand({ MinCount: 1, MaxCount: 1, SubnetId: subnet, ImageId: 'ami-0a2023a1b2c3d4e5f' })
    )
    const strangerId = stranger.Instances?.[0]?.InstanceId ?? ''
    await eventually(async () =>
      ec2World(emu.cloud).instances.get(strangerId)?.state === 'running' ? true : undefined
    )
    await expect(
      own.send(new AttachVolumeCommand({ VolumeId: mine, InstanceId: strangerId, Device: '/dev/sdf' }))
    ).rejects.toMatchObject({ name: 'UnauthorizedOperation' })
    expect((await control.volume(mine)).attachment).toBeUndefined()
  } finally {
    own.destroy()
  }
})

test('a pending wait for a volume is tracked work that ends when the instance goes', async () => {
  const template = await service('queue')
  await volume('queue', 0)
  const holder = await lone(template)
  await emu.waitIdle()
  expect((await control.container(holder)).spec?.volumes).toHaveLength(1)
  // a second instance waits (far longer than this test) for the one volume
  await control.setSimulation({ agentVolumeWaitMs: 600_000 })
  const waiter = await lone(template)
  await eventually(async () =>
    emu.calls().filter((c) => c.caller === `instance-${waiter}` && c.operation === 'DescribeVolumes').length >= 3
      ? true
      : undefined
  )
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [waiter] }))
  // waitIdle returns: the wait ended with the instance
  await emu.waitIdle()
  await control.setSimulation({ agentVolumeWaitMs: 30_000 })
  const view = await control.container(waiter)
  expect(view.state).not.toBe('failed')
  expect(view.spec?.volumes).toEqual([])
  expect(
    (await control.volume((await control.container(holder)).spec!.volumes[0]!.volumeId)).attachment?.instanceId
  ).toBe(holder)
})
