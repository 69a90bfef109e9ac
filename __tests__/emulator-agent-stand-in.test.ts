/**
 * The emulator's agent stand-in does on each instance what the real agent does, through the AWS APIs
 * with the instance role's credentials: reads its configuration, resolves references, pulls and runs
 * the container as the image catalogue says, writing its lines to CloudWatch Logs.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals'
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand
} from '@aws-sdk/client-auto-scaling'
import { CloudWatchLogsClient, CreateLogGroupCommand, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { CreateLaunchTemplateCommand, EC2Client, TerminateInstancesCommand } from '@aws-sdk/client-ec2'
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  IAMClient,
  PutRolePolicyCommand
} from '@aws-sdk/client-iam'
import { CreateRepositoryCommand, DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr'
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import type { AgentConfig } from '../src/agent/config.js'
import { LAUNCH_HOOK } from '../src/names.js'
import type { ContainerView } from '../emulator/agent/index.js'
import { EmulatorClient } from '../emulator/client.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { eventually, pushImage, sdkConfig } from '../emulator/testing.js'

let emu: Emulator
let control: EmulatorClient
let ec2: EC2Client
let asg: AutoScalingClient
let iam: IAMClient
let ssm: SSMClient
let logs: CloudWatchLogsClient
let secrets: SecretsManagerClient
let ecr: ECRClient

const REGION = 'us-east-1'
const GROUP = '/hyperform/shop/prod'

beforeAll(async () => {
  emu = await startEmulator({
    simulation: {
      launchDelayMs: 5,
      terminateDelayMs: 5,
      containerRestartDelayMs: 10,
      agentRetryDelayMs: 2,
      containerSettleMs: 20
    }
  })
  control = new EmulatorClient(emu.endpoint)
  ec2 = new EC2Client(sdkConfig(emu))
  asg = new AutoScalingClient(sdkConfig(emu))
  iam = new IAMClient(sdkConfig(emu))
  ssm = new SSMClient(sdkConfig(emu))
  logs = new CloudWatchLogsClient(sdkConfig(emu))
  secrets = new SecretsManagerClient(sdkConfig(emu))
  ecr = new ECRClient(sdkConfig(emu))
  await logs.send(new CreateLogGroupCommand({ logGroupName: GROUP }))
})

afterAll(async () => {
  for (const c of [ec2, asg, iam, ssm, logs, secrets, ecr]) c.destroy()
  await emu.stop()
})

const parameterArn = (name: string): string => `arn:aws:ssm:${REGION}:${emu.accountId}:parameter${name}`

/** What an instance role of a service needs: its configuration, its log stream, its group (named after it). */
function servicePolicy(service: string, extra: object[] = [], options: { autoScaling?: boolean } = {}): object {
  const autoScaling = [
    { Effect: 'Allow', Action: 'autoscaling:DescribeAutoScalingInstances', Resource: '*' },
    {
      Effect: 'Allow',
      Action: [
        'autoscaling:CompleteLifecycleAction',
        'autoscaling:RecordLifecycleActionHeartbeat',
        'autoscaling:SetInstanceHealth'
      ],
      Resource: `arn:aws:autoscaling:${REGION}:${emu.accountId}:autoScalingGroup:*:autoScalingGroupName/${service}`
    }
  ]
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'ssm:GetParameter', Resource: parameterArn(`/hyperform/shop/prod/${service}/*`) },
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: `arn:aws:logs:${REGION}:${emu.accountId}:log-group:${GROUP}:log-stream:${service}/*`
      },
      ...(options.autoScaling === false ? [] : autoScaling),
      ...extra
    ]
  }
}

/** A role EC2 may assume, with one inline policy, in an instance profile of the same name. */
async function instanceProfile(name: string, policy: object): Promise<void> {
  const trust = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]
  }
  await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) }))
  await iam.send(
    new PutRolePolicyCommand({ RoleName: name, PolicyName: 'agent', PolicyDocument: JSON.stringify(policy) })
  )
  await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name }))
  await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }))
}

function agentConfig(service: string, overrides: Partial<AgentConfig> = {}): AgentConfig {
  return {
    version: 1,
    service,
    image: `shop/${service}:1`,
    ports: [],
    dns: '172.28.0.2',
    dnsSearch: ['prod.shop.internal'],
    environment: { MODE: 'production' },
    environmentFrom: {},
    secrets: [],
    restart: 'always',
    stopSignal: 'SIGTERM',
    stopGracePeriod: 10,
    logging: { driver: 'awslogs', group: GROUP, region: REGION, streamPrefix: service, options: {} },
    awsCredentials: false,
    lifecycle: { hook: LAUNCH_HOOK, settleSeconds: 10 },
    agentLog: { group: GROUP, region: REGION, streamPrefix: service },
    ...overrides
  }
}

/** Stores the configuration as a SecureString; answers `<name>:<version>`. */
async function putConfig(service: string, config: AgentConfig): Promise<string> {
  const name = `/hyperform/shop/prod/${service}/config`
  const out = await ssm.send(
    new PutParameterCommand({ Name: name, Type: 'SecureString', Value: JSON.stringify(config), Overwrite: true })
  )
  return `${name}:${out.Version ?? 0}`
}

function userData(lines: string[]): string {
  return Buffer.from(['#!/bin/bash', ...lines, 'exec /opt/hyperform/agent.sh', ''].join('\n')).toString('base64')
}

/** One instance of a one-instance Auto Scaling group launched from a template with this user data and profile. */
async function launch(
  name: string,
  data: { userData: string; profile?: string; hook?: boolean; metadataTags?: boolean }
): Promise<string> {
  await ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: name,
      LaunchTemplateData: {
        ImageId: 'ami-0a2023a1b2c3d4e5f',
        InstanceType: 't3.micro',
        UserData: data.userData,
        ...(data.profile ? { IamInstanceProfile: { Name: data.profile } } : {}),
        ...(data.metadataTags ? { MetadataOptions: { InstanceMetadataTags: 'enabled' as const } } : {})
      }
    })
  )
  await asg.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: name,
      MinSize: 1,
      MaxSize: 1,
      DesiredCapacity: 1,
      LaunchTemplate: { LaunchTemplateName: name, Version: '$Latest' },
      // as the action makes them: a launch hook the agent completes
      ...(data.hook
        ? {
            LifecycleHookSpecificationList: [
              {
                LifecycleHookName: LAUNCH_HOOK,
                LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
                HeartbeatTimeout: 600,
                DefaultResult: 'ABANDON'
              }
            ]
          }
        : {})
    })
  )
  await emu.waitIdle()
  const out = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }))
  const id = out.AutoScalingGroups?.[0]?.Instances?.[0]?.InstanceId
  if (!id) throw new Error(`group ${name} launched nothing`)
  return id
}

/** A service deployed as the action would: role + profile, SecureString configuration, group. */
async function deploy(
  service: string,
  options: { config?: Partial<AgentConfig>; policy?: object; hook?: boolean; metadataTags?: boolean } = {}
): Promise<{ instanceId: string; container: ContainerView }> {
  await instanceProfile(`${service}-instance`, options.policy ?? servicePolicy(service))
  const config = await putConfig(service, agentConfig(service, options.config))
  const instanceId = await launch(service, {
    userData: userData([`HYPERFORM_REGION=${REGION}`, `HYPERFORM_CONFIG=${config}`]),
    profile: `${service}-instance`,
    ...(options.hook ? { hook: true } : {}),
    ...(options.metadataTags ? { metadataTags: true } : {})
  })
  return { instanceId, container: await control.container(instanceId) }
}

/** The operations the agent of an instance made, in order; the Auto Scaling ones apart (see autoScalingOps). */
function agentOps(instanceId: string): string[] {
  return emu
    .calls()
    .filter((c) => c.caller === `instance-${instanceId}` && c.service !== 'autoscaling')
    .map((c) => `${c.service}:${c.operation}`)
}

/** The Auto Scaling operations the agent of an instance called (answered or not: their errors are the agent's to survive). */
function autoScalingOps(instanceId: string): string[] {
  return emu
    .calls()
    .filter((c) => c.caller === `instance-${instanceId}` && c.service === 'autoscaling')
    .map((c) => c.operation)
}

async function lines(stream: string): Promise<string[]> {
  const out = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: stream }))
  return (out.events ?? []).map((e) => e.message ?? '')
}

test("the container's lines land in <service>/<instance-id>, written with the instance role's credentials", async () => {
  await control.setImages({ image: 'shop/web:1', logs: ['listening on :8080', 'ready'] })
  const { instanceId, container } = await deploy('web', { config: { ports: ['80:8080'] } })
  expect(container).toMatchObject({
    state: 'running',
    health: 'healthy',
    restarts: 0,
    image: 'shop/web:1',
    lifecycle: 'continued'
  })
  expect(container.spec).toMatchObject({
    image: 'shop/web:1',
    ports: ['80:8080'],
    env: { MODE: 'production' },
    logging: { driver: 'awslogs', group: GROUP, stream: `web/${instanceId}` }
  })
  expect(await lines(`web/${instanceId}`)).toEqual(['listening on :8080', 'ready', 'hyperform-agent: healthy'])
  // the container's stream and lines, then the agent's line
  expect(agentOps(instanceId)).toEqual([
    'ssm:GetParameter',
    'logs:CreateLogStream',
    'logs:PutLogEvents',
    'logs:CreateLogStream',
    'logs:PutLogEvents'
  ])
  expect(autoScalingOps(instanceId)[0]).toBe('DescribeAutoScalingInstances')
})

test('a crashing image with restart on-failure:2 is restarted exactly twice and logs its lines three times', async () => {
  await control.setImages({ image: 'shop/worker:1', run: 'crash', logs: ['boom'] })
  const { instanceId, container } = await deploy('worker', { config: { restart: 'on-failure:2' } })
  expect(container).toMatchObject({
    state: 'exited',
    health: 'none',
    restarts: 2,
    lifecycle: 'abandoned',
    lifecycleReason: 'container exited with code 1 after 2 restarts'
  })
  expect(await lines(`worker/${instanceId}`)).toEqual([
    'boom',
    'boom',
    'boom',
    'hyperform-agent: abandon: container exited with code 1 after 2 restarts'
  ])
})

test('a crashing image with restart no stays exited after one run', async () => {
  await control.setImages({ image: 'shop/once:1', run: 'crash', logs: ['once'] })
  const { instanceId, container } = await deploy('once', { config: { restart: 'no' } })
  expect(container).toMatchObject({ state: 'exited', restarts: 0, lifecycle: 'abandoned' })
  expect(await lines(`once/${instanceId}`)).toEqual(['once', 'hyperform-agent: abandon: container exited with code 1'])
})

test('restart always keeps restarting a crashing container while the instance runs, up to the bound', async () => {
  await control.setSimulation({ containerMaxRestarts: 3 })
  await control.setImages({ image: 'shop/loop:1', run: 'crash', logs: ['again'] })
  const { instanceId, container } = await deploy('loop', { config: { restart: 'always' } })
  await control.setSimulation({ containerMaxRestarts: 10 })
  expect(container.restarts).toBe(3)
  expect(await lines(`loop/${instanceId}`)).toEqual([
    ...['again', 'again', 'again', 'again'],
    'hyperform-agent: abandon: container exited with code 1 after 3 restarts'
  ])
  // more than 3 restarts is a crash loop: abandoned after the fourth, once, while docker keeps restarting
  await control.setSimulation({ containerMaxRestarts: 6 })
  await control.setImages({ image: 'shop/loop2:1', run: 'crash', logs: ['again'] })
  const looped = await deploy('loop2', { config: { restart: 'always' } })
  await control.setSimulation({ containerMaxRestarts: 10 })
  expect(looped.container).toMatchObject({ restarts: 6, lifecycle: 'abandoned' })
  const agentLines = (await lines(`loop2/${looped.instanceId}`)).filter((l) => l.startsWith('hyperform-agent:'))
  expect(agentLines).toEqual(['hyperform-agent: abandon: container exited with code 1 after 4 restarts'])
})

test('references resolve with the instance role: an SSM parameter into the environment, a secret into its file', async () => {
  await ssm.send(
    new PutParameterCommand({
      Name: '/hyperform/shop/prod/shared/db-url',
      Type: 'SecureString',
      Value: 'postgres://db:5432'
    })
  )
  const secret = await secrets.send(new CreateSecretCommand({ Name: 'shop/db-password', SecretString: 's3cr3t!' }))
  const arn = secret.ARN ?? ''
  const config: Partial<AgentConfig> = {
    environmentFrom: { DATABASE_URL: { ssm: '/hyperform/shop/prod/shared/db-url' } },
    secrets: [
      { name: 'db_password', target: '/run/secrets/db_password', mode: '0400', uid: '1000', from: { secret: arn } },
      { name: 'motd', target: '/etc/motd', mode: '0444', value: 'hello' }
    ]
  }
  const reads = [
    { Effect: 'Allow', Action: 'ssm:GetParameter', Resource: parameterArn('/hyperform/shop/prod/shared/*') },
    { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: arn }
  ]
  const { instanceId: storeId, container } = await deploy('store', { config, policy: servicePolicy('store', reads) })
  expect(container.state).toBe('running')
  // the agent's lines name no value
  expect((await lines(`store/${storeId}`)).join('\n')).not.toMatch(/s3cr3t!|postgres:|hello/)
  expect(container.spec?.env).toEqual({ MODE: 'production', DATABASE_URL: 'postgres://db:5432' })
  expect(container.spec?.secrets).toEqual([
    { name: 'db_password', target: '/run/secrets/db_password', mode: '0400', uid: '1000', content: 's3cr3t!' },
    { name: 'motd', target: '/etc/motd', mode: '0444', content: 'hello' }
  ])
  // without the secret's permission the agent stops there, naming what it was refused
  const { container: refused } = await deploy('store2', { config: { secrets: config.secrets ?? [] } })
  expect(refused.state).toBe('failed')
  expect(refused.error).toMatch(
    /^AccessDeniedException: .*secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:/
  )
  expect(refused.spec).toBeUndefined()
})

test('an ECR image makes the agent get an authorization token, and the pull needs the role to read the repository', async () => {
  const repo = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'shop/api' }))
  const repositoryArn = repo.repository?.repositoryArn ?? ''
  const host = `${emu.accountId}.dkr.ecr.${REGION}.amazonaws.com`
  const image = `${host}/shop/api:7`
  await pushImage(ecr, 'shop/api', '7')
  await control.setImages({ image, logs: ['api up'] })
  const config: Partial<AgentConfig> = { image, registry: { host, region: REGION } }
  const pull = [
    { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
    { Effect: 'Allow', Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], Resource: repositoryArn }
  ]
  const { instanceId, container } = await deploy('api', { config, policy: servicePolicy('api', pull) })
  expect(container).toMatchObject({ state: 'running', image })
  expect(agentOps(instanceId)).toEqual([
    'ssm:GetParameter',
    'ecr:GetAuthorizationToken',
    'logs:CreateLogStream',
    'logs:PutLogEvents',
    'logs:CreateLogStream',
    'logs:PutLogEvents'
  ])
  expect(await lines(`api/${instanceId}`)).toEqual(['api up', 'hyperform-agent: healthy'])
  // a token alone does not pull: the repository's read actions are the instance role's too
  const tokenOnly = { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' }
  const { instanceId: other, container: refused } = await deploy('api2', {
    config,
    policy: servicePolicy('api2', [tokenOnly])
  })
  expect(refused).toMatchObject({ state: 'failed', lifecycle: 'abandoned' })
  expect(refused.error).toMatch(
    /^pull denied: .*not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:/
  )
  expect(refused.lifecycleReason).toMatch(/^pull failed: Error response from daemon: .*ecr:BatchGetImage/)
  expect(emu.calls().some((c) => c.caller === `instance-${other}` && c.operation === 'GetAuthorizationToken')).toBe(
    true
  )
})

test('an ECR image never pushed fails the pull with manifest unknown; once pushed, by tag or digest, it pulls and records the pull', async () => {
  const host = `${emu.accountId}.dkr.ecr.${REGION}.amazonaws.com`
  const repo = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'shop/web' }))
  const config: Partial<AgentConfig> = { image: `${host}/shop/web:2`, registry: { host, region: REGION } }
  const pull = [
    { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
    {
      Effect: 'Allow',
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      Resource: repo.repository?.repositoryArn ?? ''
    }
  ]
  const { instanceId, container: missing } = await deploy('pulled', { config, policy: servicePolicy('pulled', pull) })
  expect(missing).toMatchObject({ state: 'failed', lifecycle: 'abandoned' })
  expect(missing.error).toBe(
    `pull denied: Error response from daemon: manifest for ${host}/shop/web:2 not found: manifest unknown: Requested image not found`
  )
  expect(await lines(`pulled/${instanceId}`)).toEqual([
    `hyperform-agent: abandon: pull failed: Error response from daemon: manifest for ${host}/shop/web:2 not found: manifest unknown: Requested image not found`
  ])
  const digest = await pushImage(ecr, 'shop/web', '2')
  const before = await ecr.send(new DescribeImagesCommand({ repositoryName: 'shop/web' }))
  expect(before.imageDetails?.[0]?.lastRecordedPullTime).toBeUndefined()
  const { container: tagged } = await deploy('pulled2', { config, policy: servicePolicy('pulled2', pull) })
  expect(tagged).toMatchObject({ state: 'running', image: `${host}/shop/web:2` })
  const after = await ecr.send(new DescribeImagesCommand({ repositoryName: 'shop/web' }))
  expect(after.imageDetails?.[0]?.lastRecordedPullTime).toBeInstanceOf(Date)
  // by digest too; a digest the repository does not hold is unknown as well
  const byDigest = { ...config, image: `${host}/shop/web@${digest}` }
  const { container: pinned } = await deploy('pulled3', { config: byDigest, policy: servicePolicy('pulled3', pull) })
  expect(pinned.state).toBe('running')
  const other = { ...config, image: `${host}/shop/web@sha256:${'0'.repeat(64)}` }
  const { container: unknown } = await deploy('pulled4', { config: other, policy: servicePolicy('pulled4', pull) })
  expect(unknown.state).toBe('failed')
  expect(unknown.error).toMatch(/manifest unknown: Requested image not found$/)
})

test("logging none makes no Logs calls but the agent's line; a missing log group fails the container as docker run fails", async () => {
  const { instanceId, container } = await deploy('quiet', { config: { logging: { driver: 'none' } } })
  expect(container).toMatchObject({ state: 'running', health: 'healthy', spec: { logging: { driver: 'none' } } })
  expect(agentOps(instanceId)).toEqual(['ssm:GetParameter', 'logs:CreateLogStream', 'logs:PutLogEvents'])
  expect(await lines(`quiet/${instanceId}`)).toEqual(['hyperform-agent: healthy'])
  const logging = {
    driver: 'awslogs',
    group: '/hyperform/shop/gone',
    region: REGION,
    streamPrefix: 'lost',
    options: {}
  }
  const policy = servicePolicy('lost', [{ Effect: 'Allow', Action: 'logs:*', Resource: '*' }])
  const { container: lost } = await deploy('lost', { config: { logging: logging as AgentConfig['logging'] }, policy })
  expect(lost).toMatchObject({
    state: 'failed',
    lifecycle: 'abandoned',
    lifecycleReason: expect.stringMatching(/^ResourceNotFoundException: .*log group/),
    error: expect.stringMatching(/^ResourceNotFoundException: .*log group/)
  })
})

test('a denied pull fails the container with the reason, and nothing runs: the only line is the abandon', async () => {
  await control.setImages({ image: 'shop/private:1', pull: 'denied' })
  const { instanceId, container } = await deploy('private')
  expect(container).toMatchObject({ state: 'failed', health: 'none', lifecycle: 'abandoned' })
  expect(container.error).toMatch(/pull denied.*shop\/private:1/)
  expect(await lines(`private/${instanceId}`)).toEqual([
    'hyperform-agent: abandon: pull failed: Error response from daemon: pull access denied for shop/private:1'
  ])
})

test('a role not allowed to read the configuration fails with AccessDenied naming the action, after retrying', async () => {
  const policy = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 'logs:*', Resource: '*' }]
  }
  const { instanceId, container } = await deploy('blind', { policy })
  expect(container.state).toBe('failed')
  expect(container.error).toMatch(
    /^AccessDeniedException: .*not authorized to perform: ssm:GetParameter on resource: arn:aws:ssm:us-east-1:\d+:parameter\/hyperform\/shop\/prod\/blind\/config/
  )
  const tries = emu.calls().filter((c) => c.caller === `instance-${instanceId}` && c.operation === 'GetParameter')
  expect(tries).toHaveLength(5)
})

test('a permission granted while the agent retries is enough: the configuration is read on a later try', async () => {
  await control.setSimulation({ agentRetryDelayMs: 100 })
  const granted: Promise<unknown>[] = []
  const off = emu.onCall((call) => {
    if (call.operation !== 'GetParameter' || call.errorCode !== 'AccessDeniedException' || granted.length > 0) return
    const policy = JSON.stringify(servicePolicy('late'))
    granted.push(
      iam.send(new PutRolePolicyCommand({ RoleName: 'late-instance', PolicyName: 'agent', PolicyDocument: policy }))
    )
  })
  try {
    const nothing = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'sts:GetCallerIdentity', Resource: '*' }]
    }
    const { instanceId, container } = await deploy('late', { policy: nothing })
    expect(granted).toHaveLength(1)
    expect(container.state).toBe('running')
    const tries = emu.calls().filter((c) => c.caller === `instance-${instanceId}` && c.operation === 'GetParameter')
    // denied until the grant landed (one try later unless the machine is slow), then read once
    const outcomes = tries.map((c) => c.errorCode ?? 'ok')
    expect(outcomes[0]).toBe('AccessDeniedException')
    expect(outcomes.slice(-1)).toEqual(['ok'])
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1)
  } finally {
    off()
    await control.setSimulation({ agentRetryDelayMs: 2 })
  }
})

test('an unhealthy image keeps running unhealthy; terminating its instance stops the container', async () => {
  await control.setImages({ image: 'shop/sick:1', run: 'unhealthy' })
  const { instanceId, container } = await deploy('sick')
  expect(container).toMatchObject({
    state: 'running',
    health: 'unhealthy',
    lifecycle: 'abandoned',
    lifecycleReason: 'unhealthy'
  })
  expect(await lines(`sick/${instanceId}`)).toEqual(['shop/sick:1 started', 'hyperform-agent: abandon: unhealthy'])
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }))
  await emu.waitIdle()
  expect(await control.container(instanceId)).toMatchObject({ state: 'exited', health: 'none' })
})

test("a disabled healthcheck (disable or test NONE) leaves a healthy image without health; a configured one keeps the image's", async () => {
  await control.setImages([{ image: 'shop/unchecked:1' }, { image: 'shop/nonecheck:1' }, { image: 'shop/checked:1' }])
  const unchecked = await deploy('unchecked', { config: { healthcheck: { disable: true } } })
  expect(unchecked.container).toMatchObject({ state: 'running', health: 'none' })
  expect(unchecked.container.spec?.healthcheck).toEqual({ disable: true })
  const none = await deploy('nonecheck', { config: { healthcheck: { test: ['NONE'] } } })
  expect(none.container).toMatchObject({ state: 'running', health: 'none' })
  const healthcheck = { test: ['CMD', 'curl', '-f', 'http://localhost'], intervalMs: 500, retries: 2 }
  const checked = await deploy('checked', { config: { healthcheck } })
  expect(checked.container).toMatchObject({ state: 'running', health: 'healthy' })
  expect(checked.container.spec?.healthcheck).toEqual(healthcheck)
})

test('terminating the instance between restarts ends the restarts', async () => {
  await control.setSimulation({ containerRestartDelayMs: 1000 })
  await control.setImages({ image: 'shop/flaky:1', run: 'crash', logs: ['flaky'] })
  await instanceProfile('flaky-instance', servicePolicy('flaky'))
  const config = await putConfig('flaky', agentConfig('flaky'))
  const ud = userData([`HYPERFORM_REGION=${REGION}`, `HYPERFORM_CONFIG=${config}`])
  const launched = launch('flaky', { userData: ud, profile: 'flaky-instance' })
  // the group is created and its instance runs before the first restart is due
  const until = Date.now() + 5000
  let running: ContainerView | undefined
  while (!running && Date.now() < until) {
    running = (await control.containers()).find((c) => c.image === 'shop/flaky:1' && c.state === 'exited')
    if (!running) await new Promise((resolve) => setTimeout(resolve, 5))
  }
  expect(running).toBeDefined()
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [running?.instanceId ?? ''] }))
  await launched.catch(() => undefined)
  await control.setSimulation({ containerRestartDelayMs: 10 })
  await emu.waitIdle()
  expect(await control.container(running?.instanceId ?? '')).toMatchObject({ state: 'exited', restarts: 0 })
  expect(await lines(`flaky/${running?.instanceId ?? ''}`)).toEqual(['flaky'])
})

test('an instance without the agent lines gets no container; one without an instance profile fails', async () => {
  const bare = await launch('bare', { userData: userData(['echo hello']) })
  await expect(control.container(bare)).rejects.toThrow(/404/)
  expect((await control.containers()).some((c) => c.instanceId === bare)).toBe(false)
  const config = await putConfig('orphan', agentConfig('orphan'))
  const orphan = await launch('orphan', {
    userData: userData([`HYPERFORM_REGION=${REGION}`, `HYPERFORM_CONFIG=${config}`])
  })
  expect(await control.container(orphan)).toMatchObject({
    state: 'failed',
    error: expect.stringMatching(/instance profile/)
  })
})

test('the image catalogue validates entries, fills defaults, accepts arrays and replaces an image on a later POST', async () => {
  const entries = await control.setImages([{ image: 'cat/a:1' }, { image: 'cat/b:1', run: 'crash', logs: [] }])
  expect(entries).toEqual([
    { image: 'cat/a:1', pull: 'ok', run: 'healthy', logs: ['cat/a:1 started'] },
    { image: 'cat/b:1', pull: 'ok', run: 'crash', logs: [] }
  ])
  await control.setImages({ image: 'cat/a:1', pull: 'denied' })
  const listed = await control.images()
  expect(listed.filter((e) => e.image.startsWith('cat/'))).toEqual([
    { image: 'cat/a:1', pull: 'denied', run: 'healthy', logs: ['cat/a:1 started'] },
    { image: 'cat/b:1', pull: 'ok', run: 'crash', logs: [] }
  ])
  const post = (body: string): Promise<Response> =>
    fetch(`${emu.endpoint}/_emulator/images`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
  for (const [body, message] of [
    ['{"image": "x", "run": "explode"}', /"run" of x must be one of healthy, unhealthy, crash/],
    ['{"pull": "ok"}', /"image" must be/],
    ['{"image": "x", "logs": "one line"}', /"logs" of x must be an array of strings/],
    ['{"image": "x", "colour": "red"}', /unknown key "colour"/],
    ['[{"image": "ok:1"}, {"image": "y", "pull": "maybe"}]', /entry 1: "pull" of y must be one of ok, denied/],
    ['not json', /JSON/]
  ] as const) {
    const res = await post(body)
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: string }).error).toMatch(message)
  }
  // a refused array changes nothing, not even its valid entries
  expect((await control.images()).some((e) => e.image === 'ok:1')).toBe(false)
})

test('the launch gate: the agent looks its group up by its own instance id, and a healthy container is continued after the settle time', async () => {
  const { instanceId, container } = await deploy('gated', { hook: true })
  expect(container).toMatchObject({ state: 'running', health: 'healthy', lifecycle: 'continued' })
  expect(container.lifecycleReason).toBeUndefined()
  const describe = emu
    .calls()
    .filter((c) => c.caller === `instance-${instanceId}` && c.operation === 'DescribeAutoScalingInstances')
  expect(describe).toHaveLength(1)
  expect(describe[0]?.region).toBe(REGION)
  // a group found is one the hook is completed in, with the configured hook and the verdict
  const completions = emu
    .calls()
    .filter((c) => c.caller === `instance-${instanceId}` && c.operation === 'CompleteLifecycleAction')
  expect(container.group).toBe('gated')
  expect(completions).toHaveLength(1)
  expect(completions[0]?.errorCode).toBeUndefined()
  const out = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['gated'] }))
  expect(out.AutoScalingGroups?.[0]?.Instances?.find((i) => i.InstanceId === instanceId)?.LifecycleState).toBe(
    'InService'
  )
  expect(await lines(`gated/${instanceId}`)).toEqual(['shop/gated:1 started', 'hyperform-agent: healthy'])
})

test('the launch gate with instance metadata tags enabled: the agent reads its group from its tag, as the real agent, with no DescribeAutoScalingInstances', async () => {
  const { instanceId, container } = await deploy('tagged', { hook: true, metadataTags: true })
  expect(container).toMatchObject({ state: 'running', health: 'healthy', lifecycle: 'continued', group: 'tagged' })
  expect(autoScalingOps(instanceId)).toEqual(['CompleteLifecycleAction'])
  const out = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['tagged'] }))
  expect(out.AutoScalingGroups?.[0]?.Instances?.find((i) => i.InstanceId === instanceId)?.LifecycleState).toBe(
    'InService'
  )
})

test('Auto Scaling calls the role may not make are kept in the error, and the container runs and is gated all the same', async () => {
  const { instanceId, container } = await deploy('denied', {
    policy: servicePolicy('denied', [], { autoScaling: false })
  })
  expect(container).toMatchObject({ state: 'running', health: 'healthy', lifecycle: 'continued' })
  expect(container.error).toMatch(
    /^DescribeAutoScalingInstances: AccessDenied.*not authorized to perform: autoscaling:DescribeAutoScalingInstances/
  )
  expect(autoScalingOps(instanceId)).toEqual(['DescribeAutoScalingInstances'])
  expect(await lines(`denied/${instanceId}`)).toEqual(['shop/denied:1 started', 'hyperform-agent: healthy'])
})

test('a configuration without lifecycle has no gate: no Auto Scaling call, no line of the agent', async () => {
  const { instanceId, container } = await deploy('ungated', {
    config: { lifecycle: undefined, agentLog: undefined }
  })
  expect(container).toMatchObject({ state: 'running', lifecycle: 'none' })
  expect(autoScalingOps(instanceId)).toEqual([])
  expect(await lines(`ungated/${instanceId}`)).toEqual(['shop/ungated:1 started'])
})

test('a container turning unhealthy after the gate: the agent writes its line and reports the instance with SetInstanceHealth, and Auto Scaling replaces it', async () => {
  const { instanceId } = await deploy('turning', { hook: true })
  const answered = await control.setContainerHealth(instanceId, 'unhealthy')
  expect(answered.health).toBe('unhealthy')
  await emu.waitIdle()
  const after = await control.container(instanceId)
  // reported once, answered: the instance was taken out of service and its container stopped with it
  expect(after).toMatchObject({ lifecycle: 'continued', reportedUnhealthy: true, state: 'exited' })
  const reports = emu
    .calls()
    .filter((c) => c.caller === `instance-${instanceId}` && c.operation === 'SetInstanceHealth')
  expect(reports).toHaveLength(1)
  expect(reports[0]?.errorCode).toBeUndefined()
  expect(await lines(`turning/${instanceId}`)).toEqual([
    'shop/turning:1 started',
    'hyperform-agent: healthy',
    'hyperform-agent: unhealthy: health check failing'
  ])
  const members = await eventually(async () => {
    const out = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['turning'] }))
    const list = out.AutoScalingGroups?.[0]?.Instances ?? []
    return list.some((i) => i.InstanceId !== instanceId && i.LifecycleState === 'InService') ? list : undefined
  }, 10_000)
  expect(members.find((i) => i.InstanceId === instanceId)?.LifecycleState ?? 'Terminated').toMatch(/^Terminat/)
})

test('the health route refuses a bad body (400), an unknown instance (404) and a container not running (409)', async () => {
  const post = (id: string, body: string): Promise<Response> =>
    fetch(`${emu.endpoint}/_emulator/instances/${id}/container/health`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' }
    })
  const { instanceId } = await deploy('routed')
  expect((await post(instanceId, '{"health": "sick"}')).status).toBe(400)
  expect((await post('i-0000000000000000', '{"health": "unhealthy"}')).status).toBe(404)
  await control.setImages({ image: 'shop/stopped:1', pull: 'denied' })
  const { instanceId: failed } = await deploy('stopped')
  expect((await post(failed, '{"health": "unhealthy"}')).status).toBe(409)
})
