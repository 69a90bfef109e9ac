import { AutoScalingClient, CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling'
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs'
import {
  CreateLaunchTemplateCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client
} from '@aws-sdk/client-ec2'
import {
  DeleteRuleCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  ListTagsForResourceCommand,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand
} from '@aws-sdk/client-eventbridge'
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam'
import {
  AddPermissionCommand,
  CreateFunctionCommand,
  LambdaClient,
  waitUntilFunctionActiveV2
} from '@aws-sdk/client-lambda'
import { CreateHostedZoneCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53'
import { strToU8, zipSync } from 'fflate'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { matchesPattern, parsePattern } from '../emulator/services/events/pattern.js'
import { AL2023_AMIS, type InstanceStateChange } from '../emulator/types.js'

const REGION = 'us-east-1'
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }
const EC2_PATTERN = JSON.stringify({ source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] })
const FUNCTION_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['ec2:DescribeInstances', 'route53:*'], Resource: '*' }]
})
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }]
})

/** The DNS-updater-like handler: on running, reads the instance through the runtime's SDK and writes a Route 53 record. */
const HANDLER = `import { EC2Client, DescribeInstancesCommand } from '@aws-sdk/client-ec2'
import { Route53Client, ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53'
const ec2 = new EC2Client({})
const r53 = new Route53Client({})
export const handler = async (event) => {
  const id = event.detail['instance-id']
  console.log('state-change', id, event.detail.state, event['detail-type'], event.id)
  if (event.detail.state !== 'running') return 'ignored'
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))
  const instance = out.Reservations?.[0]?.Instances?.[0]
  const service = instance?.Tags?.find((t) => t.Key === 'e2e:service')?.Value
  const ResourceRecordSet = { Name: service + '.e2e.internal', Type: 'A', TTL: 10, ResourceRecords: [{ Value: instance.PrivateIpAddress }] }
  await r53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: process.env.ZONE_ID, ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet }] } }))
  console.log('wrote', service, instance.PrivateIpAddress)
  return 'ok'
}
`

let emu: Emulator
let events: EventBridgeClient
let seq = 0

function clients(e: Emulator): { events: EventBridgeClient; lambda: LambdaClient; logs: CloudWatchLogsClient } {
  const config = { endpoint: e.endpoint, region: REGION, credentials, maxAttempts: 1 }
  return {
    events: new EventBridgeClient(config),
    lambda: new LambdaClient(config),
    logs: new CloudWatchLogsClient(config)
  }
}

async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise
  } catch (err) {
    return { name: (err as Error).name, message: (err as Error).message }
  }
  throw new Error('expected the call to fail')
}

async function createFunction(
  e: Emulator,
  name: string,
  code: string,
  env: Record<string, string> = {}
): Promise<string> {
  const iam = new IAMClient({ endpoint: e.endpoint, region: REGION, credentials })
  const role = await iam.send(new CreateRoleCommand({ RoleName: `role-${name}`, AssumeRolePolicyDocument: TRUST }))
  // the function's calls are evaluated against its execution role's policies
  await iam.send(
    new PutRolePolicyCommand({ RoleName: `role-${name}`, PolicyName: 'function', PolicyDocument: FUNCTION_POLICY })
  )
  const { lambda: l } = clients(e)
  const out = await l.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'nodejs24.x',
      Role: role.Role?.Arn,
      Handler: 'index.handler',
      Timeout: 30,
      Code: { ZipFile: zipSync({ 'index.mjs': strToU8(code) }) },
      Environment: { Variables: env }
    })
  )
  await waitUntilFunctionActiveV2({ client: l, maxWaitTime: 20, minDelay: 1 }, { FunctionName: name })
  return out.FunctionArn ?? ''
}

/** A rule for EC2 state changes targeting the function, with (optionally) the invoke permission. */
async function wire(
  e: Emulator,
  functionArn: string,
  opts: { permission: boolean; sourceArn?: string }
): Promise<string> {
  const { events: ev, lambda: l } = clients(e)
  const name = `rule-${++seq}`
  const rule = await ev.send(new PutRuleCommand({ Name: name, EventPattern: EC2_PATTERN, State: 'ENABLED' }))
  await ev.send(new PutTargetsCommand({ Rule: name, Targets: [{ Id: 'fn', Arn: functionArn }] }))
  if (opts.permission) {
    await l.send(
      new AddPermissionCommand({
        FunctionName: functionArn,
        StatementId: name,
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
        SourceArn: opts.sourceArn ?? rule.RuleArn
      })
    )
  }
  return rule.RuleArn ?? ''
}

function stateChange(instanceId: string, state: InstanceStateChange['state']): InstanceStateChange {
  return { instanceId, state, region: REGION, time: Date.now() }
}

async function logLines(e: Emulator, fn: string, pattern: string): Promise<string[]> {
  const out = await clients(e).logs.send(
    new FilterLogEventsCommand({ logGroupName: `/aws/lambda/${fn}`, filterPattern: pattern })
  )
  return (out.events ?? []).map((x) => x.message ?? '')
}

/** Records what the events module hands to Lambda, in order. */
function recordDeliveries(e: Emulator): { arn: string; event: Record<string, unknown> }[] {
  const seen: { arn: string; event: Record<string, unknown> }[] = []
  const functions = e.cloud.shared.functions
  if (!functions) throw new Error('the lambda module registered no invoker')
  const original = functions.invokeAsync.bind(functions)
  functions.invokeAsync = (arn, payload) => {
    seen.push({ arn, event: JSON.parse(payload) as Record<string, unknown> })
    original(arn, payload)
  }
  return seen
}

beforeAll(async () => {
  emu = await startEmulator({ faults: { seed: 3 } })
  events = clients(emu).events
})

afterAll(async () => {
  await emu.waitIdle()
  await emu.stop()
})

afterEach(() => {
  emu.setFaults({ throttleRate: 0, putTargetsFailureRate: 0 })
})

describe('EventBridge rules and targets', () => {
  test('PutRule returns the rule ARN and DescribeRule shows its pattern, state, description and tags', async () => {
    const out = await events.send(
      new PutRuleCommand({
        Name: 'ec2-changes',
        EventPattern: EC2_PATTERN,
        State: 'ENABLED',
        Description: 'EC2 state changes',
        Tags: [{ Key: 'project', Value: 'prj-demo' }]
      })
    )
    expect(out.RuleArn).toBe(`arn:aws:events:${REGION}:${emu.accountId}:rule/ec2-changes`)
    const rule = await events.send(new DescribeRuleCommand({ Name: 'ec2-changes' }))
    expect([rule.Arn, rule.EventPattern, rule.State, rule.Description, rule.EventBusName]).toEqual([
      out.RuleArn,
      EC2_PATTERN,
      'ENABLED',
      'EC2 state changes',
      'default'
    ])
    expect((await events.send(new ListTagsForResourceCommand({ ResourceARN: out.RuleArn }))).Tags).toEqual([
      { Key: 'project', Value: 'prj-demo' }
    ])
  })

  test('an event pattern that is not a JSON object is refused with InvalidEventPatternException', async () => {
    const err = await failure(events.send(new PutRuleCommand({ Name: 'bad-pattern', EventPattern: '["aws.ec2"]' })))
    expect(err.name).toBe('InvalidEventPatternException')
  })

  test('a rule cannot be deleted while it has targets; after RemoveTargets it can', async () => {
    await events.send(new PutRuleCommand({ Name: 'with-target', EventPattern: EC2_PATTERN }))
    const put = await events.send(
      new PutTargetsCommand({
        Rule: 'with-target',
        Targets: [{ Id: 't1', Arn: `arn:aws:lambda:${REGION}:${emu.accountId}:function:any` }]
      })
    )
    expect(put.FailedEntryCount).toBe(0)
    const listed = await events.send(new ListTargetsByRuleCommand({ Rule: 'with-target' }))
    expect(listed.Targets?.map((t) => t.Id)).toEqual(['t1'])
    const blocked = await failure(events.send(new DeleteRuleCommand({ Name: 'with-target' })))
    expect(blocked).toEqual({ name: 'ValidationException', message: "Rule can't be deleted since it has targets." })
    const removed = await events.send(new RemoveTargetsCommand({ Rule: 'with-target', Ids: ['t1', 'never-added'] }))
    expect(removed.FailedEntryCount).toBe(0)
    expect((await events.send(new ListTargetsByRuleCommand({ Rule: 'with-target' }))).Targets).toEqual([])
    await events.send(new DeleteRuleCommand({ Name: 'with-target' }))
    expect((await failure(events.send(new DescribeRuleCommand({ Name: 'with-target' })))).name).toBe(
      'ResourceNotFoundException'
    )
  })

  test('PutTargets reports a malformed target ARN in FailedEntries instead of throwing', async () => {
    await events.send(new PutRuleCommand({ Name: 'malformed', EventPattern: EC2_PATTERN }))
    const out = await events.send(
      new PutTargetsCommand({
        Rule: 'malformed',
        Targets: [
          { Id: 'good', Arn: `arn:aws:lambda:${REGION}:${emu.accountId}:function:f` },
          { Id: 'bad', Arn: 'not-an-arn' }
        ]
      })
    )
    expect(out.FailedEntryCount).toBe(1)
    expect(out.FailedEntries?.[0]).toMatchObject({ TargetId: 'bad', ErrorCode: 'ValidationException' })
    expect((await events.send(new ListTargetsByRuleCommand({ Rule: 'malformed' }))).Targets?.map((t) => t.Id)).toEqual([
      'good'
    ])
  })

  test('with putTargetsFailureRate at 1 every entry fails and nothing is added', async () => {
    await events.send(new PutRuleCommand({ Name: 'flaky', EventPattern: EC2_PATTERN }))
    emu.setFaults({ putTargetsFailureRate: 1 })
    const out = await events.send(
      new PutTargetsCommand({
        Rule: 'flaky',
        Targets: [{ Id: 'a', Arn: `arn:aws:lambda:${REGION}:${emu.accountId}:function:f` }]
      })
    )
    expect([out.FailedEntryCount, out.FailedEntries?.[0]?.ErrorCode]).toEqual([1, 'ConcurrentModificationException'])
    expect((await events.send(new ListTargetsByRuleCommand({ Rule: 'flaky' }))).Targets).toEqual([])
  })

  test('PutTargets on an unknown rule fails with ResourceNotFoundException', async () => {
    const err = await failure(
      events.send(
        new PutTargetsCommand({
          Rule: 'nope',
          Targets: [{ Id: 'a', Arn: `arn:aws:lambda:${REGION}:${emu.accountId}:function:f` }]
        })
      )
    )
    expect(err.name).toBe('ResourceNotFoundException')
  })

  test('injected throttling surfaces as ThrottlingException', async () => {
    emu.setFaults({ throttleRate: 1 })
    expect((await failure(events.send(new DescribeRuleCommand({ Name: 'ec2-changes' })))).name).toBe(
      'ThrottlingException'
    )
  })
})

describe('EventBridge event patterns', () => {
  const event = {
    source: 'aws.ec2',
    'detail-type': 'EC2 Instance State-change Notification',
    resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-0abc'],
    detail: { 'instance-id': 'i-0abc', state: 'running', count: 5 }
  }
  const matches = (pattern: unknown): boolean => matchesPattern(parsePattern(JSON.stringify(pattern)), event)

  test('arrays list allowed values and nested objects match nested fields', () => {
    expect(matches({ source: ['aws.ec2'], detail: { state: ['pending', 'running'] } })).toBe(true)
    expect(matches({ source: ['aws.ec2'], detail: { state: ['terminated'] } })).toBe(false)
    expect(matches({ source: ['aws.autoscaling'] })).toBe(false)
    expect(matches({ resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-0abc'] })).toBe(true)
  })

  test('prefix, anything-but, exists and numeric filters work', () => {
    expect(matches({ detail: { 'instance-id': [{ prefix: 'i-0' }] } })).toBe(true)
    expect(matches({ detail: { state: [{ 'anything-but': ['running'] }] } })).toBe(false)
    expect(matches({ detail: { state: [{ 'anything-but': 'stopped' }] } })).toBe(true)
    expect(matches({ detail: { missing: [{ exists: false }] } })).toBe(true)
    expect(matches({ detail: { state: [{ exists: false }] } })).toBe(false)
    expect(matches({ detail: { count: [{ numeric: ['>', 1, '<=', 5] }] } })).toBe(true)
    expect(matches({ detail: { count: [{ numeric: ['>', 5] }] } })).toBe(false)
  })
})

describe('EC2 state changes reach the Lambda function', () => {
  test('an instance launched by an Auto Scaling group invokes the function, whose code reads EC2 and writes Route 53', async () => {
    const ec2 = new EC2Client({ endpoint: emu.endpoint, region: REGION, credentials })
    const r53 = new Route53Client({ endpoint: emu.endpoint, region: REGION, credentials })
    const vpc = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs?.[0]?.VpcId ?? ''
    const zone = await r53.send(
      new CreateHostedZoneCommand({
        Name: 'e2e.internal',
        CallerReference: 'e2e',
        VPC: { VPCId: vpc, VPCRegion: REGION }
      })
    )
    const zoneId = zone.HostedZone?.Id ?? ''
    const arn = await createFunction(emu, 'dns-updater', HANDLER, { ZONE_ID: zoneId })
    await wire(emu, arn, { permission: true })
    const subnet = (await ec2.send(new DescribeSubnetsCommand({}))).Subnets?.[0]?.SubnetId ?? ''
    await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'e2e-web',
        LaunchTemplateData: { ImageId: AL2023_AMIS.x86_64.imageId, InstanceType: 't3.micro' }
      })
    )
    const asg = new AutoScalingClient({ endpoint: emu.endpoint, region: REGION, credentials })
    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: 'e2e-web',
        LaunchTemplate: { LaunchTemplateName: 'e2e-web', Version: '$Latest' },
        MinSize: 1,
        MaxSize: 1,
        DesiredCapacity: 1,
        VPCZoneIdentifier: subnet,
        Tags: [{ Key: 'e2e:service', Value: 'web', PropagateAtLaunch: true }]
      })
    )
    await emu.waitIdle()
    const instances =
      (
        await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:e2e:service', Values: ['web'] }] }))
      ).Reservations?.flatMap((r) => r.Instances ?? []) ?? []
    const running = instances.find((i) => i.State?.Name === 'running')
    expect(running?.PrivateIpAddress).toMatch(/^172\.28\./)
    const records =
      (await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }))).ResourceRecordSets ?? []
    expect(records.find((r) => r.Name === 'web.e2e.internal.')?.ResourceRecords).toEqual([
      { Value: running?.PrivateIpAddress }
    ])
    const lines = await logLines(emu, 'dns-updater', `"state-change ${running?.InstanceId ?? '?'}"`)
    expect(lines.some((l) => l.includes(' running EC2 Instance State-change Notification '))).toBe(true)
    expect(lines.some((l) => l.includes(' pending EC2 Instance State-change Notification '))).toBe(true)
    expect(
      emu
        .calls()
        .some((c) => c.caller === 'lambda-dns-updater' && c.service === 'ec2' && c.operation === 'DescribeInstances')
    ).toBe(true)

    emu.terminateInstance(running?.InstanceId ?? '')
    await emu.waitIdle()
    const after = await logLines(emu, 'dns-updater', `"state-change ${running?.InstanceId ?? '?'}"`)
    expect(after.some((l) => l.includes(' terminated EC2 Instance State-change Notification '))).toBe(true)
  })

  test('the event carries the EC2 state-change shape: source, detail-type, account, region, resources and detail', async () => {
    const arn = await createFunction(emu, 'shape-fn', "export const handler = async () => 'ok'")
    await wire(emu, arn, { permission: true })
    const seen = recordDeliveries(emu)
    emu.cloud.bus.emit('ec2-state-change', stateChange('i-0shape', 'running'))
    await emu.waitIdle()
    const event = seen.find((s) => s.arn === arn)?.event
    expect(event).toMatchObject({
      version: '0',
      source: 'aws.ec2',
      'detail-type': 'EC2 Instance State-change Notification',
      account: emu.accountId,
      region: REGION,
      resources: [`arn:aws:ec2:${REGION}:${emu.accountId}:instance/i-0shape`],
      detail: { 'instance-id': 'i-0shape', state: 'running' }
    })
    expect(String(event?.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  })

  test('without an invoke permission for the rule, or for another rule, the function is not invoked', async () => {
    const e = await startEmulator()
    try {
      const noPerm = await createFunction(
        e,
        'no-perm-fn',
        "export const handler = async (ev) => { console.log('ran', ev.detail['instance-id']) }"
      )
      await wire(e, noPerm, { permission: false })
      const otherRule = await createFunction(
        e,
        'other-rule-fn',
        "export const handler = async (ev) => { console.log('ran', ev.detail['instance-id']) }"
      )
      await wire(e, otherRule, {
        permission: true,
        sourceArn: `arn:aws:events:${REGION}:${e.accountId}:rule/someone-else`
      })
      const seen = recordDeliveries(e)
      e.cloud.bus.emit('ec2-state-change', stateChange('i-0noperm', 'running'))
      await e.waitIdle()
      expect(seen).toEqual([])
    } finally {
      await e.stop()
    }
  })

  test('a disabled rule delivers nothing', async () => {
    const arn = await createFunction(emu, 'disabled-fn', "export const handler = async () => 'ok'")
    const ruleArn = await wire(emu, arn, { permission: true })
    await events.send(
      new PutRuleCommand({ Name: ruleArn.split('/').pop(), EventPattern: EC2_PATTERN, State: 'DISABLED' })
    )
    const seen = recordDeliveries(emu)
    emu.cloud.bus.emit('ec2-state-change', stateChange('i-0disabled', 'running'))
    await emu.waitIdle()
    expect(seen.filter((s) => s.arn === arn)).toEqual([])
  })
})

describe('EventBridge delivery faults', () => {
  test('with duplicateEventRate at 1 every event is delivered, and run, twice with the same id', async () => {
    const e = await startEmulator({ faults: { duplicateEventRate: 1 } })
    try {
      const arn = await createFunction(
        e,
        'dup-fn',
        "export const handler = async (ev) => { console.log('dup', ev.detail['instance-id'], ev.id) }"
      )
      await wire(e, arn, { permission: true })
      e.cloud.bus.emit('ec2-state-change', stateChange('i-0dup', 'running'))
      await e.waitIdle()
      const lines = await logLines(e, 'dup-fn', '"dup i-0dup"')
      expect(lines).toHaveLength(2)
      const ids = lines.map((l) => l.split(' ').pop())
      expect(ids[0]).toBe(ids[1])
    } finally {
      await e.stop()
    }
  })

  test('with a reorder window events are held back, then all delivered in a shuffled order', async () => {
    const e = await startEmulator({ faults: { reorderWindowMs: 150, seed: 11 } })
    try {
      const arn = await createFunction(e, 'reorder-fn', "export const handler = async () => 'ok'")
      await wire(e, arn, { permission: true })
      const seen = recordDeliveries(e)
      const ids = Array.from({ length: 8 }, (_, i) => `i-0order${i}`)
      ids.forEach((id) => e.cloud.bus.emit('ec2-state-change', stateChange(id, 'running')))
      expect(seen).toEqual([])
      await e.waitIdle()
      const order = seen.map((s) => (s.event.detail as Record<string, string>)['instance-id'])
      expect([...order].sort()).toEqual([...ids].sort())
      expect(order).not.toEqual(ids)
    } finally {
      await e.stop()
    }
  })
})
