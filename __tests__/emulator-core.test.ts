import { ConfiguredRetryStrategy } from '@smithy/core/retry'
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand
} from '@aws-sdk/client-auto-scaling'
import {
  CreateLaunchTemplateCommand,
  CreateSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  EC2Client
} from '@aws-sdk/client-ec2'
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { EmulatorClient } from '../emulator/client.js'
import { optionsFromArgs } from '../emulator/cli-options.js'
import { RateLimiter } from '../emulator/core/rate-limits.js'
import { startEmulator } from '../emulator/server.js'
import type { Emulator } from '../emulator/server.js'
import { sdkConfig } from '../emulator/testing.js'

let emu: Emulator

beforeAll(async () => {
  emu = await startEmulator({ simulation: { launchDelayMs: 5, terminateDelayMs: 5, spotReclaimDelayMs: 0 } })
})

afterAll(async () => {
  await emu.stop()
})

beforeEach(() => {
  emu.setFaults({
    latencyMs: 0,
    latencyJitterMs: 0,
    throttleRate: 0,
    serverErrorRate: 0,
    ec2VisibilitySeconds: 0,
    services: [],
    seed: 1
  })
  emu.resetCalls()
})

/** Retries quickly so fault tests stay fast. */
function fastRetry(maxAttempts: number): ConfiguredRetryStrategy {
  return new ConfiguredRetryStrategy(maxAttempts, () => 5)
}

async function failure(promise: Promise<unknown>): Promise<{ name: string; status?: number; code?: string }> {
  try {
    await promise
  } catch (err) {
    const e = err as { name: string; Code?: string; $metadata?: { httpStatusCode?: number } }
    return { name: e.name, status: e.$metadata?.httpStatusCode, code: e.Code }
  }
  throw new Error('expected the call to fail')
}

describe('routing and the call log', () => {
  test('each call is routed by its signing scope and recorded with operation, kind, status and caller', async () => {
    const ec2 = new EC2Client(sdkConfig(emu, { credentials: { accessKeyId: 'AKIACALLER1', secretAccessKey: 's' } }))
    const sts = new STSClient(sdkConfig(emu, { region: 'eu-west-1' }))
    await ec2.send(new DescribeVpcsCommand({}))
    await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'log-me', Description: 'd' }))
    const who = await sts.send(new GetCallerIdentityCommand({}))
    expect(who.Account).toBe(emu.accountId)
    const calls = emu.calls()
    expect(calls.map((c) => [c.service, c.operation, c.kind, c.status])).toEqual([
      ['ec2', 'DescribeVpcs', 'read', 200],
      ['ec2', 'CreateSecurityGroup', 'write', 200],
      ['sts', 'GetCallerIdentity', 'read', 200]
    ])
    expect(calls[0]?.caller).toBe('AKIACALLER1')
    expect(calls[2]?.region).toBe('eu-west-1')
    expect(calls.map((c) => c.seq)).toEqual([...calls.map((c) => c.seq)].sort((a, b) => a - b))
    emu.resetCalls()
    expect(emu.calls()).toEqual([])
    ec2.destroy()
    sts.destroy()
  })

  test('a failed call is recorded with its error code and not flagged as injected', async () => {
    const ec2 = new EC2Client(sdkConfig(emu))
    await failure(ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0000000000000000f'] })))
    expect(emu.calls()[0]).toMatchObject({
      operation: 'DescribeSecurityGroups',
      status: 400,
      errorCode: 'InvalidGroup.NotFound'
    })
    expect(emu.calls()[0]?.injected).toBeUndefined()
    ec2.destroy()
  })

  test('an unsigned query request is routed by its API version', async () => {
    const res = await fetch(`${emu.endpoint}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=DescribeVpcs&Version=2016-11-15'
    })
    const text = await res.text()
    expect(res.status).toBe(200)
    expect(text).toContain('<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">')
    expect(text).toContain('<cidrBlock>172.28.0.0/16</cidrBlock>')
  })

  test('an unknown action gets an EC2-style error document', async () => {
    const res = await fetch(`${emu.endpoint}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=LaunchRocket&Version=2016-11-15'
    })
    const text = await res.text()
    expect(res.status).toBe(400)
    expect(text).toMatch(
      /<Response><Errors><Error><Code>InvalidAction<\/Code><Message>.*<\/Message><\/Error><\/Errors><RequestID>.+<\/RequestID><\/Response>/
    )
  })

  test('an Auto Scaling error is a query ErrorResponse with Type, Code and Message', async () => {
    const res = await fetch(`${emu.endpoint}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=UpdateAutoScalingGroup&Version=2011-01-01&AutoScalingGroupName=missing'
    })
    const text = await res.text()
    expect(res.status).toBe(400)
    expect(text).toMatch(
      /<ErrorResponse xmlns="[^"]+"><Error><Type>Sender<\/Type><Code>ValidationError<\/Code><Message>[^<]+<\/Message><\/Error><RequestId>[^<]+<\/RequestId><\/ErrorResponse>/
    )
  })

  test('a request for a service the emulator does not serve is refused', async () => {
    const res = await fetch(`${emu.endpoint}/`, {
      method: 'POST',
      headers: {
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x'
      }
    })
    expect(res.status).toBe(400)
    expect(await res.text()).toContain('UnknownService')
  })
})

describe('fault injection', () => {
  test('added latency is measurable on the client and in the call log', async () => {
    emu.setFaults({ latencyMs: 120 })
    const ec2 = new EC2Client(sdkConfig(emu))
    const started = Date.now()
    await ec2.send(new DescribeVpcsCommand({}))
    expect(Date.now() - started).toBeGreaterThanOrEqual(115)
    expect(emu.calls()[0]?.durationMs).toBeGreaterThanOrEqual(115)
    ec2.destroy()
  })

  test('throttling answers each service with its own throttling code', async () => {
    emu.setFaults({ throttleRate: 1 })
    const ec2 = new EC2Client(sdkConfig(emu))
    const asg = new AutoScalingClient(sdkConfig(emu))
    const iam = new IAMClient(sdkConfig(emu))
    const e1 = await failure(ec2.send(new DescribeVpcsCommand({})))
    const e2 = await failure(asg.send(new DescribeAutoScalingGroupsCommand({})))
    const e3 = await failure(iam.send(new CreateRoleCommand({ RoleName: 'r', AssumeRolePolicyDocument: '{}' })))
    expect([e1.name, e1.status]).toEqual(['RequestLimitExceeded', 503])
    expect([e2.code ?? e2.name, e2.status]).toEqual(['Throttling', 400])
    expect([e3.code ?? e3.name, e3.status]).toEqual(['Throttling', 400])
    expect(emu.calls().every((c) => c.injected === true)).toBe(true)
    ec2.destroy()
    asg.destroy()
    iam.destroy()
  })

  test('the SDK retry recovers from throttling and the call log shows the retries', async () => {
    emu.setFaults({ throttleRate: 0.5, seed: 7 })
    const ec2 = new EC2Client({ ...sdkConfig(emu), retryStrategy: fastRetry(20) })
    for (let i = 0; i < 5; i++) await ec2.send(new DescribeVpcsCommand({}))
    const calls = emu.calls()
    const throttled = calls.filter((c) => c.errorCode === 'RequestLimitExceeded' && c.injected)
    expect(calls.filter((c) => c.status === 200)).toHaveLength(5)
    expect(throttled.length).toBeGreaterThan(0)
    expect(calls).toHaveLength(5 + throttled.length)
    ec2.destroy()
  })

  test('server errors are 500 InternalError and are retried by the SDK', async () => {
    emu.setFaults({ serverErrorRate: 1 })
    const ec2 = new EC2Client(sdkConfig(emu))
    const err = await failure(ec2.send(new DescribeVpcsCommand({})))
    expect([err.name, err.status]).toEqual(['InternalError', 500])
    emu.setFaults({ serverErrorRate: 0.5, seed: 3 })
    emu.resetCalls()
    const retrying = new EC2Client({ ...sdkConfig(emu), retryStrategy: fastRetry(20) })
    for (let i = 0; i < 4; i++) await retrying.send(new DescribeVpcsCommand({}))
    expect(emu.calls().filter((c) => c.status === 500).length).toBeGreaterThan(0)
    expect(emu.calls().filter((c) => c.status === 200)).toHaveLength(4)
    ec2.destroy()
    retrying.destroy()
  })

  test('faults limited to some services leave the others alone', async () => {
    emu.setFaults({ throttleRate: 1, services: ['autoscaling'] })
    const ec2 = new EC2Client(sdkConfig(emu))
    const asg = new AutoScalingClient(sdkConfig(emu))
    await expect(ec2.send(new DescribeVpcsCommand({}))).resolves.toBeDefined()
    expect((await failure(asg.send(new DescribeAutoScalingGroupsCommand({})))).code).toBe('Throttling')
    ec2.destroy()
    asg.destroy()
  })

  test('the same seed injects the same faults', async () => {
    async function pattern(): Promise<string> {
      const e = await startEmulator({ faults: { throttleRate: 0.5, seed: 42 } })
      const ec2 = new EC2Client(sdkConfig(e))
      let out = ''
      for (let i = 0; i < 12; i++)
        out += await ec2.send(new DescribeVpcsCommand({})).then(
          () => 'o',
          () => 'x'
        )
      ec2.destroy()
      await e.stop()
      return out
    }
    const first = await pattern()
    expect(first).toMatch(/x/)
    expect(first).toMatch(/o/)
    expect(await pattern()).toBe(first)
  })

  test('a new security group or launch template is not found until the visibility delay has passed', async () => {
    emu.setFaults({ ec2VisibilitySeconds: 0.3 })
    const ec2 = new EC2Client(sdkConfig(emu))
    const asg = new AutoScalingClient(sdkConfig(emu))
    const { GroupId } = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'slow-sg', Description: 'd' }))
    const lt = await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'slow-lt',
        LaunchTemplateData: { ImageId: 'ami-0a1b2c3d4e5f60001' }
      })
    )
    const ltId = lt.LaunchTemplate?.LaunchTemplateId ?? ''
    expect((await failure(ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [GroupId ?? ''] })))).name).toBe(
      'InvalidGroup.NotFound'
    )
    expect((await failure(ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [ltId] })))).name).toBe(
      'InvalidLaunchTemplateId.NotFound'
    )
    const create = new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: 'slow',
      MinSize: 0,
      MaxSize: 1,
      LaunchTemplate: { LaunchTemplateId: ltId }
    })
    expect((await failure(asg.send(create))).code).toBe('ValidationError')
    await new Promise((resolve) => setTimeout(resolve, 320))
    const sg = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [GroupId ?? ''] }))
    expect(sg.SecurityGroups?.[0]?.GroupName).toBe('slow-sg')
    await expect(asg.send(create)).resolves.toBeDefined()
    ec2.destroy()
    asg.destroy()
  })
})

describe('rate limits', () => {
  test('a token bucket allows its burst, then refills at its rate', () => {
    let now = 0
    const limiter = new RateLimiter(undefined, () => now)
    const call = { account: '1', region: 'us-east-1', service: 'ec2', operation: 'CreateTags' }
    let allowed = 0
    for (let i = 0; i < 60; i++) if (limiter.take(call)) allowed++
    expect(allowed).toBe(50)
    now += 1000
    allowed = 0
    for (let i = 0; i < 10; i++) if (limiter.take(call)) allowed++
    expect(allowed).toBe(5)
    // EC2 evaluates each API on its own bucket; regions are separate
    expect(limiter.take({ ...call, operation: 'CreateSecurityGroup' })).toBe(true)
    expect(limiter.take({ ...call, operation: 'DescribeVpcs' })).toBe(true)
    expect(limiter.take({ ...call, region: 'eu-west-1' })).toBe(true)
  })

  test('unfiltered DescribeInstances has a smaller bucket than filtered ones', () => {
    const limiter = new RateLimiter(undefined, () => 0)
    const base = { account: '1', region: 'us-east-1', service: 'ec2', operation: 'DescribeInstances' }
    const count = (body: string): number =>
      Array.from({ length: 120 }).filter(() => limiter.take({ ...base, body })).length
    expect(count('Action=DescribeInstances&Version=2016-11-15')).toBe(50)
    expect(count('Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%3Aproject&Filter.1.Value.1=p')).toBe(
      100
    )
  })

  test('with rate limits on, a burst of EC2 describes beyond the bucket is throttled', async () => {
    const limited = await startEmulator({ rateLimits: true })
    const ec2 = new EC2Client(sdkConfig(limited))
    const filtered = { Filters: [{ Name: 'instance-state-name', Values: ['running'] }] }
    const results = await Promise.all(
      Array.from({ length: 200 }, () =>
        ec2.send(new DescribeInstancesCommand(filtered)).then(
          () => 'ok',
          (e: Error) => e.name
        )
      )
    )
    const throttled = results.filter((r) => r === 'RequestLimitExceeded').length
    expect(throttled).toBeGreaterThan(0)
    expect(results.filter((r) => r === 'ok').length).toBeGreaterThanOrEqual(100)
    const limitedCalls = limited.calls().filter((c) => c.errorCode === 'RequestLimitExceeded')
    expect(limitedCalls.length).toBe(throttled)
    expect(limitedCalls.every((c) => c.rateLimited === true && c.injected === undefined)).toBe(true)
    ec2.destroy()
    await limited.stop()
  })
})

describe('control API', () => {
  test('calls, faults, state, idle and instance actions work over HTTP', async () => {
    const control = new EmulatorClient(emu.endpoint)
    const ec2 = new EC2Client(sdkConfig(emu))
    const asg = new AutoScalingClient(sdkConfig(emu))
    await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'ctl-lt',
        LaunchTemplateData: { ImageId: 'ami-0a1b2c3d4e5f60001' }
      })
    )
    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'ctl',
        MinSize: 0,
        MaxSize: 3,
        DesiredCapacity: 2,
        MixedInstancesPolicy: {
          LaunchTemplate: { LaunchTemplateSpecification: { LaunchTemplateName: 'ctl-lt' } },
          InstancesDistribution: { OnDemandPercentageAboveBaseCapacity: 0 }
        }
      })
    )
    await control.waitIdle()
    expect((await control.calls()).map((c) => c.operation)).toEqual(['CreateLaunchTemplate', 'CreateAutoScalingGroup'])
    const state = (await control.state()) as {
      ec2: {
        instances: { instanceId: string; state: string; privateIpAddress?: string }[]
        launchTemplates: unknown[]
        securityGroups: unknown[]
      }
      autoscaling: { groups: { name: string }[] }
      iam: { roles: unknown[] }
    }
    const running = state.ec2.instances.filter((i) => i.state === 'running')
    expect(running.length).toBeGreaterThanOrEqual(2)
    expect(running[0]?.privateIpAddress).toMatch(/^172\.28\./)
    expect(state.autoscaling.groups.map((g) => g.name)).toContain('ctl')
    expect(Array.isArray(state.iam.roles)).toBe(true)
    const ctlInstances = (emu.state() as typeof state).ec2.instances.filter((i) => i.state === 'running')
    const first = ctlInstances.find(
      (i) => (i as unknown as { tags: Record<string, string> }).tags['aws:autoscaling:groupName'] === 'ctl'
    )
    await control.spotInterrupt(first?.instanceId ?? '')
    await control.waitIdle()
    const after = (await control.state()) as typeof state
    expect(after.ec2.instances.find((i) => i.instanceId === first?.instanceId)?.state).toBe('terminated')
    const settings = await control.setFaults({ latencyMs: 3 })
    expect(settings.latencyMs).toBe(3)
    expect((await control.faults()).latencyMs).toBe(3)
    await control.resetCalls()
    expect(await control.calls()).toEqual([])
    await expect(control.terminateInstance('i-00000000000000000')).rejects.toThrow(/InvalidInstanceID.NotFound/)
    ec2.destroy()
    asg.destroy()
  })

  test('an unknown control route is a 404', async () => {
    const res = await fetch(`${emu.endpoint}/_emulator/nope`)
    expect(res.status).toBe(404)
  })
})

describe('CLI options', () => {
  test('fault and simulation flags become emulator options', () => {
    const options = optionsFromArgs([
      '--port',
      '0',
      '--latency-ms',
      '50',
      '--throttle-rate',
      '0.2',
      '--error-rate',
      '0.1',
      '--ec2-visibility-seconds',
      '3',
      '--role-propagation-seconds',
      '8',
      '--duplicate-events',
      '0.5',
      '--reorder-ms',
      '200',
      '--seed',
      '9',
      '--rate-limits',
      '--verbose',
      '--fault-services',
      'ec2,lambda'
    ])
    expect(options).toMatchObject({
      port: 0,
      rateLimits: true,
      verbose: true,
      faults: {
        latencyMs: 50,
        throttleRate: 0.2,
        serverErrorRate: 0.1,
        ec2VisibilitySeconds: 3,
        rolePropagationSeconds: 8,
        duplicateEventRate: 0.5,
        reorderWindowMs: 200,
        seed: 9,
        services: ['ec2', 'lambda']
      }
    })
    const more = optionsFromArgs([
      '--no-spot-capacity',
      '--route53-one-change-at-a-time',
      '--put-targets-failure-rate',
      '0.3',
      '--route53-sync-ms',
      '40',
      '--launch-delay-ms',
      '7'
    ])
    expect(more.faults).toMatchObject({
      spotCapacityUnavailable: true,
      route53OneChangeAtATime: true,
      putTargetsFailureRate: 0.3
    })
    expect(more.simulation).toEqual({ route53SyncMs: 40, launchDelayMs: 7 })
    expect(optionsFromArgs([]).port).toBe(4566)
    expect(() => optionsFromArgs(['--latency-ms', 'soon'])).toThrow(/needs a number/)
  })
})
