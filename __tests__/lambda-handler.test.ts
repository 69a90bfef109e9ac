import { DEFAULT_RECORD_TTL } from '../src/names.js'
import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals'
import {
  AutoScalingClient,
  DescribeAutoScalingInstancesCommand,
  type DescribeAutoScalingInstancesCommandInput,
  type DescribeAutoScalingInstancesCommandOutput
} from '@aws-sdk/client-auto-scaling'
import {
  DescribeInstancesCommand,
  EC2Client,
  type DescribeInstancesCommandOutput,
  type Instance
} from '@aws-sdk/client-ec2'
import {
  ChangeResourceRecordSetsCommand,
  InvalidChangeBatch,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ListResourceRecordSetsCommandOutput
} from '@aws-sdk/client-route-53'
import { mockClient } from 'aws-sdk-client-mock'
import { TAGS, recordName, serviceTags } from '../src/names.js'
import {
  configFromEnv,
  createHandler,
  defaultClients,
  handler,
  type BatchLine,
  type Config,
  type DnsHandler,
  type LogLine
} from '../lambda/handler.js'

const config: Config = {
  project: 'prj-demo',
  region: 'us-east-1',
  zoneId: 'Z0HYPERFORM',
  zoneName: 'prj-demo.us-east-1.internal',
  ttl: 60
}
const stack = { project: 'prj-demo', region: 'us-east-1', stack: 'st-wordpress' }
const DB = recordName(stack, 'db')

/** The tags of a db instance its group launched. */
const DB_TAGS = { ...serviceTags(stack, 'db'), 'aws:autoscaling:groupName': 'prj-demo-st-wordpress-db-od' }

function ec2Instance(id: string, state: string, ip?: string, tags: Record<string, string> = DB_TAGS): Instance {
  return {
    InstanceId: id,
    State: { Name: state as 'running' },
    PrivateIpAddress: ip,
    Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value }))
  }
}

function page(instances: Instance[], NextToken?: string): DescribeInstancesCommandOutput {
  return { $metadata: {}, Reservations: [{ Instances: instances }], NextToken }
}

/** The zone listing: the SOA, the db record when `values` are given, and its version record when `version` is. */
function zone(values: string[] | undefined, ttl = 60, version?: number): ListResourceRecordSetsCommandOutput {
  const sets = [
    {
      Name: 'prj-demo.us-east-1.internal.',
      Type: 'SOA' as const,
      TTL: 900,
      ResourceRecords: [{ Value: 'ns. admin. 1 7200 900 1209600 86400' }]
    },
    ...(values
      ? [{ Name: `${DB}.`, Type: 'A' as const, TTL: ttl, ResourceRecords: values.map((Value) => ({ Value })) }]
      : []),
    ...(version === undefined
      ? []
      : [
          {
            Name: `${DB}.`,
            Type: 'TXT' as const,
            TTL: 60,
            ResourceRecords: [{ Value: `"hyperform-version=${version}"` }]
          }
        ])
  ]
  return { $metadata: {}, ResourceRecordSets: sets, IsTruncated: false, MaxItems: 300 }
}

/** The version bump in a batch: from the version read (none: a first CREATE) to the next. */
function bump(from: number | undefined): object[] {
  const txt = (n: number, Name: string): object => ({
    Name,
    Type: 'TXT',
    TTL: 60,
    ResourceRecords: [{ Value: `"hyperform-version=${n}"` }]
  })
  return [
    ...(from === undefined ? [] : [{ Action: 'DELETE', ResourceRecordSet: txt(from, `${DB}.`) }]),
    { Action: 'CREATE', ResourceRecordSet: txt((from ?? 0) + 1, DB) }
  ]
}

function running(id: string): {
  'detail-type': string
  source: string
  detail: { 'instance-id': string; state: string }
} {
  return {
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    detail: { 'instance-id': id, state: 'running' }
  }
}

function stateEvent(id: string, state: string): ReturnType<typeof running> {
  return { ...running(id), detail: { 'instance-id': id, state } }
}

function rejection(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: {} })
}

const ec2 = new EC2Client({ region: 'us-east-1' })
const route53 = new Route53Client({ region: 'us-east-1' })
const autoscaling = new AutoScalingClient({ region: 'us-east-1' })
const ec2Mock = mockClient(ec2)
const r53Mock = mockClient(route53)
const asgMock = mockClient(autoscaling)
/** The groups' view of an instance by id, when not InService and HEALTHY. */
let memberships: Record<string, { lifecycle: string; health?: string } | 'none'>

/** DescribeAutoScalingInstances over `memberships`: every asked id is a group member unless marked `none`. */
function groupAnswer(input: DescribeAutoScalingInstancesCommandInput): DescribeAutoScalingInstancesCommandOutput {
  const listed = (input.InstanceIds ?? []).filter((id) => memberships[id] !== 'none')
  return {
    $metadata: {},
    AutoScalingInstances: listed.map((InstanceId) => {
      const m = memberships[InstanceId]
      const view = m === undefined || m === 'none' ? undefined : m
      return {
        InstanceId,
        AutoScalingGroupName: 'prj-demo-st-wordpress-db-od',
        AvailabilityZone: 'us-east-1a',
        InstanceType: 't3.micro',
        LifecycleState: view?.lifecycle ?? 'InService',
        HealthStatus: view?.health ?? 'HEALTHY',
        ProtectedFromScaleIn: false
      }
    })
  }
}
let lines: (LogLine | BatchLine)[]
let sleeps: number[]
let sequence: string[]

function makeHandler(extra: { maxAttempts?: number } = {}): DnsHandler {
  return createHandler({
    ec2,
    route53,
    autoscaling,
    config,
    log: (line) => lines.push(line),
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
    ...extra
  })
}

beforeEach(() => {
  ec2Mock.reset()
  r53Mock.reset()
  asgMock.reset()
  memberships = {}
  asgMock.on(DescribeAutoScalingInstancesCommand).callsFake(groupAnswer)
  lines = []
  sleeps = []
  sequence = []
})

describe('the call sequence', () => {
  test('a new running instance costs one zone read, one instance read, one group read and one compare-and-swap write that bumps the version', async () => {
    asgMock
      .on(DescribeAutoScalingInstancesCommand)
      .callsFake(
        (input: DescribeAutoScalingInstancesCommandInput) => (
          sequence.push('DescribeAutoScalingInstances'),
          groupAnswer(input)
        )
      )
    r53Mock
      .on(ListResourceRecordSetsCommand)
      .callsFake(() => (sequence.push('ListResourceRecordSets'), zone(['10.0.0.1'], 60, 4)))
    ec2Mock
      .on(DescribeInstancesCommand)
      .callsFake(
        () => (
          sequence.push('DescribeInstances'),
          page([ec2Instance('i-1', 'running', '10.0.0.1'), ec2Instance('i-2', 'running', '10.0.0.2')])
        )
      )
    r53Mock
      .on(ChangeResourceRecordSetsCommand)
      .callsFake(() => (sequence.push('ChangeResourceRecordSets'), { $metadata: {} }))

    const line = await makeHandler()(running('i-2'))

    expect(sequence).toEqual([
      'ListResourceRecordSets',
      'DescribeInstances',
      'DescribeAutoScalingInstances',
      'ChangeResourceRecordSets'
    ])
    expect(asgMock.commandCalls(DescribeAutoScalingInstancesCommand)[0]?.args[0].input).toEqual({
      InstanceIds: ['i-1', 'i-2'],
      MaxRecords: 50
    })
    expect(r53Mock.commandCalls(ListResourceRecordSetsCommand)[0]?.args[0].input).toEqual({
      HostedZoneId: 'Z0HYPERFORM',
      MaxItems: 300
    })
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[0]?.args[0].input).toMatchObject({
      Filters: [{ Name: `tag:${TAGS.project}`, Values: ['prj-demo'] }],
      MaxResults: 1000
    })
    const change = r53Mock.commandCalls(ChangeResourceRecordSetsCommand)[0]?.args[0].input
    expect(change?.HostedZoneId).toBe('Z0HYPERFORM')
    expect(change?.ChangeBatch?.Changes).toEqual([
      {
        Action: 'DELETE',
        ResourceRecordSet: { Name: `${DB}.`, Type: 'A', TTL: 60, ResourceRecords: [{ Value: '10.0.0.1' }] }
      },
      {
        Action: 'CREATE',
        ResourceRecordSet: {
          Name: DB,
          Type: 'A',
          TTL: 60,
          ResourceRecords: [{ Value: '10.0.0.1' }, { Value: '10.0.0.2' }]
        }
      },
      ...bump(4)
    ])
    expect(line).toEqual({
      instance: 'i-2',
      state: 'running',
      service: 'db',
      stack: 'st-wordpress',
      record: DB,
      before: ['10.0.0.1'],
      after: ['10.0.0.1', '10.0.0.2'],
      action: 'upsert',
      calls: 4,
      attempts: 1
    })
    expect(lines).toEqual([line])
  })

  test('an unchanged record costs two reads and no write', async () => {
    r53Mock.on(ListResourceRecordSetsCommand).resolves(zone(['10.0.0.1'], 60, 2))
    ec2Mock.on(DescribeInstancesCommand).resolves(page([ec2Instance('i-1', 'running', '10.0.0.1')]))

    const line = await makeHandler()(running('i-1'))

    expect(r53Mock.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(0)
    expect(line).toMatchObject({ action: 'noop', calls: 3, before: ['10.0.0.1'], after: ['10.0.0.1'] })
  })

  test('the last instance terminating deletes the exact record read, TTL included, and bumps the version, which stays', async () => {
    r53Mock.on(ListResourceRecordSetsCommand).resolves(zone(['10.0.0.7'], 300, 9))
    ec2Mock.on(DescribeInstancesCommand).resolves(page([ec2Instance('i-1', 'terminated')]))
    r53Mock.on(ChangeResourceRecordSetsCommand).resolves({ $metadata: {} })

    const line = await makeHandler()(stateEvent('i-1', 'terminated'))

    expect(r53Mock.commandCalls(ChangeResourceRecordSetsCommand)[0]?.args[0].input.ChangeBatch?.Changes).toEqual([
      {
        Action: 'DELETE',
        ResourceRecordSet: { Name: `${DB}.`, Type: 'A', TTL: 300, ResourceRecords: [{ Value: '10.0.0.7' }] }
      },
      {
        Action: 'DELETE',
        ResourceRecordSet: {
          Name: `${DB}.`,
          Type: 'TXT',
          TTL: 60,
          ResourceRecords: [{ Value: '"hyperform-version=9"' }]
        }
      },
      {
        Action: 'CREATE',
        ResourceRecordSet: { Name: DB, Type: 'TXT', TTL: 300, ResourceRecords: [{ Value: '"hyperform-version=10"' }] }
      }
    ])
    expect(line).toMatchObject({ action: 'delete', before: ['10.0.0.7'], after: [], calls: 3 })
  })

  test('a first record is created with a first version record, CREATE TXT "1", in the same batch', async () => {
    r53Mock.on(ListResourceRecordSetsCommand).resolves(zone(undefined))
    ec2Mock.on(DescribeInstancesCommand).resolves(page([ec2Instance('i-1', 'running', '10.0.0.1')]))
    r53Mock.on(ChangeResourceRecordSetsCommand).resolves({ $metadata: {} })

    const line = await makeHandler()(running('i-1'))

    expect(r53Mock.commandCalls(ChangeResourceRecordSetsCommand)[0]?.args[0].input.ChangeBatch?.Changes).toEqual([
      {
        Action: 'CREATE',
        ResourceRecordSet: { Name: DB, Type: 'A', TTL: 60, ResourceRecords: [{ Value: '10.0.0.1' }] }
      },
      ...bump(undefined)
    ])
    expect(line).toMatchObject({ action: 'upsert', calls: 4 })
  })

  test('an instance that is not found is ignored and logged without touching the record', async () => {
    r53Mock.on(ListResourceRecordSetsCommand).resolves(zone(['10.0.0.1']))
    ec2Mock.on(DescribeInstancesCommand).resolves(page([ec2Instance('i-1', 'running', '10.0.0.1')]))

    const line = await makeHandler()(running('i-404'))

    expect(r53Mock.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(0)
    expect(line).toMatchObject({ instance: 'i-404', action: 'ignore', service: null, record: null, calls: 2 })
    expect(line.reason).toMatch(/not found/)
    expect(lines).toHaveLength(1)
  })

  test('an event that is not an EC2 state change is ignored without any call', async () => {
    const line = await makeHandler()({ source: 'aws.events', detail: {} })
    expect(line).toMatchObject({ action: 'ignore', calls: 0 })
    expect(ec2Mock.calls()).toHaveLength(0)
    expect(r53Mock.calls()).toHaveLength(0)
  })
})

describe('in service in the group', () => {
  test('a running instance its group holds Pending:Wait, Terminating or UNHEALTHY is not listed; InService HEALTHY is', async () => {
    r53Mock.on(ListResourceRecordSetsCommand).resolves(zone(undefined))
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(
        page([
          ec2Instance('i-1', 'running', '10.0.0.1'),
          ec2Instance('i-2', 'running', '10.0.0.2'),
          ec2Instance('i-3', 'running', '10.0.0.3'),
          ec2Instance('i-4', 'running', '10.0.0.4'),
          ec2Instance('i-5', 'pending', '10.0.0.5')
        ])
      )
    r53Mock.on(ChangeResourceRecordSetsCommand).resolves({ $metadata: {} })
    memberships = {
      'i-2': { lifecycle: 'Pending:Wait' },
      'i-3': { lifecycle: 'Terminating' },
      'i-4': { lifecycle: 'InService', health: 'UNHEALTHY' }
    }

    const line = await makeHandler()(running('i-2'))

    expect(line).toMatchObject({ action: 'upsert', before: [], after: ['10.0.0.1'], calls: 4 })
    // only the running instances are asked about
    expect(asgMock.commandCalls(DescribeAutoScalingInstancesCommand)[0]?.args[0].input.InstanceIds).toEqual([
      'i-1',
      'i-2',
      'i-3',
      'i-4'
    ])
  })

  test('an instance in no group (no aws:autoscaling:groupName tag) is never listed nor asked about', async () => {
    r53Mock.on(ListResourceRecordSetsCommand).resolves(zone(['10.0.0.9'], 60, 1))
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(page([ec2Instance('i-9', 'running', '10.0.0.9', serviceTags(stack, 'db'))]))
    r53Mock.on(ChangeResourceRecordSetsCommand).resolves({ $metadata: {} })

    const line = await makeHandler()(running('i-9'))

    expect(line).toMatchObject({ action: 'delete', before: ['10.0.0.9'], after: [], calls: 3 })
    expect(asgMock.commandCalls(DescribeAutoScalingInstancesCommand)).toHaveLength(0)
  })

  test('a Launch Successful event recomputes its service; a group read still showing Pending:Proceed is read again', async () => {
    r53Mock.on(ListResourceRecordSetsCommand).resolves(zone(['10.0.0.1'], 60, 3))
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(page([ec2Instance('i-1', 'running', '10.0.0.1'), ec2Instance('i-2', 'running', '10.0.0.2')]))
    r53Mock.on(ChangeResourceRecordSetsCommand).resolves({ $metadata: {} })
    let reads = 0
    asgMock.on(DescribeAutoScalingInstancesCommand).callsFake((input: DescribeAutoScalingInstancesCommandInput) => {
      reads += 1
      memberships = reads === 1 ? { 'i-2': { lifecycle: 'Pending:Proceed' } } : {}
      return groupAnswer(input)
    })
    const launched = {
      version: '0',
      source: 'aws.autoscaling',
      'detail-type': 'EC2 Instance Launch Successful',
      detail: { EC2InstanceId: 'i-2', AutoScalingGroupName: 'prj-demo-st-wordpress-db-od', StatusCode: 'InProgress' }
    }

    const line = await makeHandler()(launched)

    expect(line).toMatchObject({
      instance: 'i-2',
      state: 'InService',
      action: 'upsert',
      before: ['10.0.0.1'],
      after: ['10.0.0.1', '10.0.0.2'],
      attempts: 2,
      calls: 7
    })
    expect(sleeps).toHaveLength(1)
    expect(r53Mock.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(1)
  })

  test('other Auto Scaling events (a launch lifecycle action) are ignored without any call', async () => {
    const line = await makeHandler()({
      source: 'aws.autoscaling',
      'detail-type': 'EC2 Instance-launch Lifecycle Action',
      detail: { EC2InstanceId: 'i-2', LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING' }
    })
    expect(line).toMatchObject({ action: 'ignore', calls: 0 })
    expect(ec2Mock.calls()).toHaveLength(0)
    expect(asgMock.calls()).toHaveLength(0)
  })

  test('120 running members cost 3 group reads of at most 50 ids, every id asked once', async () => {
    const many = Array.from({ length: 120 }, (_, n) => ec2Instance(`i-${n}`, 'running', `10.0.1.${n + 1}`))
    r53Mock.on(ListResourceRecordSetsCommand).resolves(zone(undefined))
    ec2Mock.on(DescribeInstancesCommand).resolves(page(many))
    r53Mock.on(ChangeResourceRecordSetsCommand).resolves({ $metadata: {} })

    const line = await makeHandler()(running('i-0'))

    const asked = asgMock
      .commandCalls(DescribeAutoScalingInstancesCommand)
      .map((c) => c.args[0].input.InstanceIds ?? [])
    expect(asked.map((ids) => ids.length)).toEqual([50, 50, 20])
    expect(new Set(asked.flat()).size).toBe(120)
    expect(line).toMatchObject({ action: 'upsert', calls: 1 + 1 + 3 + 1 })
    expect(line.after).toHaveLength(120)
  })
})

describe('pagination', () => {
  test('instances on every DescribeInstances page count, each page is one call', async () => {
    r53Mock.on(ListResourceRecordSetsCommand).resolves(zone(undefined))
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(page([ec2Instance('i-1', 'running', '10.0.0.1')], 'token-2'))
      .resolvesOnce(page([ec2Instance('i-2', 'running', '10.0.0.2')]))
    r53Mock.on(ChangeResourceRecordSetsCommand).resolves({ $metadata: {} })

    const line = await makeHandler()(running('i-2'))

    const describes = ec2Mock.commandCalls(DescribeInstancesCommand)
    expect(describes).toHaveLength(2)
    expect(describes[1]?.args[0].input.NextToken).toBe('token-2')
    expect(line).toMatchObject({ action: 'upsert', after: ['10.0.0.1', '10.0.0.2'], calls: 5 })
  })

  test('a record on the second page of the zone listing is found and replaced exactly', async () => {
    r53Mock
      .on(ListResourceRecordSetsCommand)
      .resolvesOnce({ ...zone(undefined), IsTruncated: true, NextRecordName: `${DB}.`, NextRecordType: 'A' })
      .resolvesOnce(zone(['10.0.0.1'], 60, 1))
    ec2Mock.on(DescribeInstancesCommand).resolves(page([ec2Instance('i-2', 'running', '10.0.0.2')]))
    r53Mock.on(ChangeResourceRecordSetsCommand).resolves({ $metadata: {} })

    const line = await makeHandler()(running('i-2'))

    expect(r53Mock.commandCalls(ListResourceRecordSetsCommand)[1]?.args[0].input).toMatchObject({
      StartRecordName: `${DB}.`,
      StartRecordType: 'A'
    })
    const changes = r53Mock.commandCalls(ChangeResourceRecordSetsCommand)[0]?.args[0].input.ChangeBatch?.Changes
    expect(changes?.map((c) => `${c.Action} ${c.ResourceRecordSet?.Type}`)).toEqual([
      'DELETE A',
      'CREATE A',
      'DELETE TXT',
      'CREATE TXT'
    ])
    expect(line).toMatchObject({ before: ['10.0.0.1'], after: ['10.0.0.2'], calls: 5 })
  })

  test('a version record on the page after its A record is found and bumped exactly', async () => {
    const [soa, a, txt] = zone(['10.0.0.1'], 60, 6).ResourceRecordSets ?? []
    r53Mock
      .on(ListResourceRecordSetsCommand)
      .resolvesOnce({
        $metadata: {},
        ResourceRecordSets: [soa!, a!],
        IsTruncated: true,
        NextRecordName: `${DB}.`,
        NextRecordType: 'TXT'
      })
      .resolvesOnce({ $metadata: {}, ResourceRecordSets: [txt!], IsTruncated: false })
    ec2Mock.on(DescribeInstancesCommand).resolves(page([ec2Instance('i-2', 'running', '10.0.0.2')]))
    r53Mock.on(ChangeResourceRecordSetsCommand).resolves({ $metadata: {} })

    const line = await makeHandler()(running('i-2'))

    expect(r53Mock.commandCalls(ListResourceRecordSetsCommand)[1]?.args[0].input).toMatchObject({
      StartRecordName: `${DB}.`,
      StartRecordType: 'TXT'
    })
    const changes = r53Mock.commandCalls(ChangeResourceRecordSetsCommand)[0]?.args[0].input.ChangeBatch?.Changes
    expect(changes?.slice(2)).toEqual(bump(6))
    expect(line).toMatchObject({ action: 'upsert', calls: 5 })
  })
})

describe('conflicts and retries', () => {
  test('InvalidChangeBatch from a concurrent writer makes the handler recompute from scratch, then succeed', async () => {
    r53Mock
      .on(ListResourceRecordSetsCommand)
      .resolvesOnce(zone(['10.0.0.1'], 60, 1))
      .resolves(zone(['10.0.0.1', '10.0.0.3'], 60, 2))
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(page([ec2Instance('i-1', 'running', '10.0.0.1'), ec2Instance('i-2', 'running', '10.0.0.2')]))
      .resolves(
        page([
          ec2Instance('i-1', 'running', '10.0.0.1'),
          ec2Instance('i-2', 'running', '10.0.0.2'),
          ec2Instance('i-3', 'running', '10.0.0.3')
        ])
      )
    r53Mock
      .on(ChangeResourceRecordSetsCommand)
      .rejectsOnce(
        new InvalidChangeBatch({ message: 'values provided do not match the current values', $metadata: {} })
      )
      .resolves({ $metadata: {} })

    const line = await makeHandler()(running('i-2'))

    const changes = r53Mock.commandCalls(ChangeResourceRecordSetsCommand)
    expect(changes).toHaveLength(2)
    expect(changes[1]?.args[0].input.ChangeBatch?.Changes).toEqual([
      {
        Action: 'DELETE',
        ResourceRecordSet: {
          Name: `${DB}.`,
          Type: 'A',
          TTL: 60,
          ResourceRecords: [{ Value: '10.0.0.1' }, { Value: '10.0.0.3' }]
        }
      },
      {
        Action: 'CREATE',
        ResourceRecordSet: {
          Name: DB,
          Type: 'A',
          TTL: 60,
          ResourceRecords: ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((Value) => ({ Value }))
        }
      },
      ...bump(2)
    ])
    expect(sleeps).toHaveLength(1)
    expect(sleeps[0]).toBeGreaterThanOrEqual(125)
    expect(sleeps[0]).toBeLessThanOrEqual(250)
    expect(line).toMatchObject({ action: 'upsert', attempts: 2, calls: 8, before: ['10.0.0.1', '10.0.0.3'] })
  })

  test('a swap lost to a writer that wrote the same set costs one more zone read and ends as a no-op', async () => {
    r53Mock
      .on(ListResourceRecordSetsCommand)
      .resolvesOnce(zone(['10.0.0.1', '10.0.0.2'], 60, 1))
      .resolves(zone(['10.0.0.1'], 60, 2))
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(page([ec2Instance('i-1', 'running', '10.0.0.1'), ec2Instance('i-2', 'shutting-down', '10.0.0.2')]))
    r53Mock
      .on(ChangeResourceRecordSetsCommand)
      .rejects(new InvalidChangeBatch({ message: 'values provided do not match the current values', $metadata: {} }))

    const line = await makeHandler()(stateEvent('i-2', 'shutting-down'))

    expect(r53Mock.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(1)
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(1)
    expect(sleeps).toHaveLength(1)
    expect(line).toMatchObject({ action: 'noop', attempts: 1, calls: 5, before: ['10.0.0.1'], after: ['10.0.0.1'] })
  })

  test('conflicts are retried a bounded number of times with growing backoff, then the error is thrown for Lambda to retry', async () => {
    r53Mock.on(ListResourceRecordSetsCommand).resolves(zone(undefined))
    ec2Mock.on(DescribeInstancesCommand).resolves(page([ec2Instance('i-1', 'running', '10.0.0.1')]))
    r53Mock
      .on(ChangeResourceRecordSetsCommand)
      .rejects(new InvalidChangeBatch({ message: 'it already exists', $metadata: {} }))

    await expect(makeHandler()(running('i-1'))).rejects.toThrow(/gave up after 5 attempts/)

    expect(r53Mock.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(5)
    expect(sleeps).toHaveLength(4)
    expect(sleeps).toEqual([...sleeps].sort((a, b) => a - b))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ action: 'error', attempts: 5, calls: 20, record: DB })
  })

  test('a read that lags the event is repeated instead of dropping the new instance', async () => {
    r53Mock.on(ListResourceRecordSetsCommand).resolves(zone(undefined))
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce(page([ec2Instance('i-1', 'pending', '10.0.0.1')]))
      .resolves(page([ec2Instance('i-1', 'running', '10.0.0.1')]))
    r53Mock.on(ChangeResourceRecordSetsCommand).resolves({ $metadata: {} })

    const line = await makeHandler()(running('i-1'))

    expect(line).toMatchObject({ action: 'upsert', after: ['10.0.0.1'], attempts: 2, calls: 6 })
  })

  test('throttling is left to the SDK retry: the handler neither swallows nor recomputes it', async () => {
    r53Mock.on(ListResourceRecordSetsCommand).resolves(zone(undefined))
    ec2Mock.on(DescribeInstancesCommand).rejects(rejection('RequestLimitExceeded', 'Request limit exceeded.'))

    await expect(makeHandler()(running('i-1'))).rejects.toMatchObject({ name: 'RequestLimitExceeded' })

    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(1)
    expect(sleeps).toEqual([])
    expect(lines[0]).toMatchObject({
      action: 'error',
      attempts: 1,
      error: 'RequestLimitExceeded: Request limit exceeded.'
    })
  })

  test('any other Route 53 error is thrown unchanged after one attempt', async () => {
    r53Mock.on(ListResourceRecordSetsCommand).resolves(zone(undefined))
    ec2Mock.on(DescribeInstancesCommand).resolves(page([ec2Instance('i-1', 'running', '10.0.0.1')]))
    r53Mock.on(ChangeResourceRecordSetsCommand).rejects(rejection('NoSuchHostedZone'))

    await expect(makeHandler()(running('i-1'))).rejects.toMatchObject({ name: 'NoSuchHostedZone' })
    expect(r53Mock.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(1)
  })

  test('the default clients use the SDK standard retry mode with room for PriorRequestNotComplete', async () => {
    const clients = defaultClients('us-east-1')
    const route53Retry = await clients.route53.config.retryStrategy()
    expect((route53Retry as { mode?: string }).mode).toBe('standard')
    expect(await clients.route53.config.maxAttempts()).toBeGreaterThanOrEqual(5)
    expect(((await clients.ec2.config.retryStrategy()) as { mode?: string }).mode).toBe('standard')
  })
})

describe('concurrent invocations', () => {
  /** A Route 53 zone that applies batches all-or-nothing, with DELETE and CREATE checked as AWS does; sets keyed `name|type`. */
  function fakeRoute53(): Map<string, { ttl: number; values: string[] }> {
    const sets = new Map<string, { ttl: number; values: string[] }>()
    const key = (values: readonly string[]): string => [...values].sort().join()
    r53Mock.on(ListResourceRecordSetsCommand).callsFake(() => ({
      $metadata: {},
      IsTruncated: false,
      ResourceRecordSets: [...sets].map(([id, set]) => {
        const [Name, Type] = id.split('|')
        return { Name, Type, TTL: set.ttl, ResourceRecords: set.values.map((Value) => ({ Value })) }
      })
    }))
    type Batch = {
      ChangeBatch: {
        Changes: {
          Action: string
          ResourceRecordSet: { Name: string; Type: string; TTL: number; ResourceRecords: { Value: string }[] }
        }[]
      }
    }
    r53Mock.on(ChangeResourceRecordSetsCommand).callsFake((input: Batch) => {
      const next = new Map(sets)
      for (const { Action, ResourceRecordSet: set } of input.ChangeBatch.Changes) {
        const id = `${set.Name.endsWith('.') ? set.Name : `${set.Name}.`}|${set.Type}`
        const values = set.ResourceRecords.map((r) => r.Value)
        const existing = next.get(id)
        if (Action === 'DELETE' && (!existing || existing.ttl !== set.TTL || key(existing.values) !== key(values))) {
          throw new InvalidChangeBatch({ message: 'values provided do not match the current values', $metadata: {} })
        }
        if (Action === 'CREATE' && existing)
          throw new InvalidChangeBatch({ message: 'it already exists', $metadata: {} })
        if (Action === 'DELETE') next.delete(id)
        else next.set(id, { ttl: set.TTL, values })
      }
      sets.clear()
      for (const [id, set] of next) sets.set(id, set)
      return { $metadata: {} }
    })
    return sets
  }

  test('a writer whose instance read is older than the record cannot overwrite it, and converges', async () => {
    const sets = fakeRoute53()
    const older = page([ec2Instance('i-1', 'running', '10.0.0.1'), ec2Instance('i-2', 'pending', '10.0.0.2')])
    const newer = page([ec2Instance('i-1', 'running', '10.0.0.1'), ec2Instance('i-2', 'running', '10.0.0.2')])
    let release: () => void = () => undefined
    let slowReadStarted: () => void = () => undefined
    const started = new Promise<void>((resolve) => (slowReadStarted = resolve))
    ec2Mock
      .on(DescribeInstancesCommand)
      .callsFakeOnce(() => new Promise((resolve) => ((release = () => resolve(older)), slowReadStarted())))
      .resolves(newer)

    const slow = makeHandler()(running('i-1'))
    await started
    const fast = await makeHandler()(running('i-2'))
    release()
    const late = await slow

    expect(fast).toMatchObject({ action: 'upsert', after: ['10.0.0.1', '10.0.0.2'], calls: 4 })
    expect(late).toMatchObject({ action: 'noop', attempts: 2, after: ['10.0.0.1', '10.0.0.2'] })
    expect(sets.get(`${DB}.|A`)).toEqual({ ttl: 60, values: ['10.0.0.1', '10.0.0.2'] })
    expect(sets.get(`${DB}.|TXT`)).toEqual({ ttl: 60, values: ['"hyperform-version=1"'] })
  })

  test('a stalled write whose record changed and changed back (A-B-A) fails on the version record and is recomputed', async () => {
    const sets = fakeRoute53()
    sets.set(`${DB}.|A`, { ttl: 60, values: ['10.0.0.1'] })
    sets.set(`${DB}.|TXT`, { ttl: 60, values: ['"hyperform-version=1"'] })
    const withSecond = page([ec2Instance('i-1', 'running', '10.0.0.1'), ec2Instance('i-2', 'running', '10.0.0.2')])
    const secondGone = page([ec2Instance('i-1', 'running', '10.0.0.1'), ec2Instance('i-2', 'terminated')])
    let release: () => void = () => undefined
    let slowReadDone: () => void = () => undefined
    const stalled = new Promise<void>((resolve) => (slowReadDone = resolve))
    ec2Mock
      .on(DescribeInstancesCommand)
      // the slow writer reads [1, 2] and stalls; others add 2 and remove it again
      .callsFakeOnce(() => new Promise((resolve) => ((release = () => resolve(withSecond)), slowReadDone())))
      .resolvesOnce(withSecond)
      .resolves(secondGone)

    const slow = makeHandler()(running('i-2'))
    await stalled
    expect(await makeHandler()(running('i-2'))).toMatchObject({
      action: 'upsert',
      after: ['10.0.0.1', '10.0.0.2'],
      calls: 4
    })
    expect(await makeHandler()(stateEvent('i-2', 'terminated'))).toMatchObject({
      action: 'upsert',
      after: ['10.0.0.1'],
      calls: 4
    })
    expect(sets.get(`${DB}.|A`)).toEqual({ ttl: 60, values: ['10.0.0.1'] })
    release()
    const late = await slow

    // its swap of [1] for [1, 2] matched the A record but not the version (1, now 3): refused, recomputed, nothing to write
    const batches = r53Mock.commandCalls(ChangeResourceRecordSetsCommand)
    expect(batches).toHaveLength(3)
    await expect(batches[2]?.returnValue).rejects.toMatchObject({ name: 'InvalidChangeBatch' })
    expect(late).toMatchObject({ action: 'noop', attempts: 2, before: ['10.0.0.1'], after: ['10.0.0.1'], calls: 7 })
    expect(sets.get(`${DB}.|A`)).toEqual({ ttl: 60, values: ['10.0.0.1'] })
    expect(sets.get(`${DB}.|TXT`)).toEqual({ ttl: 60, values: ['"hyperform-version=3"'] })
    expect(sleeps).toHaveLength(1)
  })

  test('two first writers: the second one\'s CREATE TXT "1" fails, and it recomputes from the first one\'s record', async () => {
    const sets = fakeRoute53()
    const both = page([ec2Instance('i-1', 'running', '10.0.0.1'), ec2Instance('i-2', 'running', '10.0.0.2')])
    const onlyFirst = page([ec2Instance('i-1', 'running', '10.0.0.1'), ec2Instance('i-2', 'pending', '10.0.0.2')])
    let release: () => void = () => undefined
    let slowReadDone: () => void = () => undefined
    const stalled = new Promise<void>((resolve) => (slowReadDone = resolve))
    ec2Mock
      .on(DescribeInstancesCommand)
      .callsFakeOnce(() => new Promise((resolve) => ((release = () => resolve(onlyFirst)), slowReadDone())))
      .resolves(both)

    const slow = makeHandler()(running('i-1'))
    await stalled
    await makeHandler()(running('i-2'))
    release()
    const late = await slow

    expect(late).toMatchObject({ action: 'noop', attempts: 2 })
    expect(sets.get(`${DB}.|A`)).toEqual({ ttl: 60, values: ['10.0.0.1', '10.0.0.2'] })
    expect(sets.get(`${DB}.|TXT`)).toEqual({ ttl: 60, values: ['"hyperform-version=1"'] })
  })
})

describe('against the real SDK stack (HTTP stubbed)', () => {
  const XMLNS = 'https://route53.amazonaws.com/doc/2013-04-01/'
  const listXml = (values: string[]): string =>
    `<?xml version="1.0"?><ListResourceRecordSetsResponse xmlns="${XMLNS}"><ResourceRecordSets><ResourceRecordSet><Name>${DB}.</Name><Type>A</Type><TTL>60</TTL><ResourceRecords>${values
      .map((v) => `<ResourceRecord><Value>${v}</Value></ResourceRecord>`)
      .join(
        ''
      )}</ResourceRecords></ResourceRecordSet></ResourceRecordSets><IsTruncated>false</IsTruncated><MaxItems>300</MaxItems></ListResourceRecordSetsResponse>`
  const errorXml = (code: string): string =>
    `<?xml version="1.0"?><ErrorResponse xmlns="${XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${code} message</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`
  const changedXml = `<?xml version="1.0"?><ChangeResourceRecordSetsResponse xmlns="${XMLNS}"><ChangeInfo><Id>/change/C1</Id><Status>PENDING</Status><SubmittedAt>2026-01-01T00:00:00Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>`

  test('a real InvalidChangeBatch is recomputed and PriorRequestNotComplete is retried by the SDK, each request counted', async () => {
    const replies = [
      { status: 200, body: listXml(['10.0.0.1']) },
      { status: 400, body: errorXml('InvalidChangeBatch') },
      { status: 200, body: listXml(['10.0.0.1', '10.0.0.3']) },
      { status: 400, body: errorXml('PriorRequestNotComplete') },
      { status: 200, body: changedXml }
    ]
    const requests: string[] = []
    const real = new Route53Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      retryMode: 'standard',
      maxAttempts: 3,
      requestHandler: {
        handle: async (request: { method: string; path: string; body?: unknown }) => {
          requests.push(`${request.method} ${request.path} ${typeof request.body === 'string' ? request.body : ''}`)
          const reply = replies.shift()
          if (!reply) throw new Error('no reply left')
          return {
            response: {
              statusCode: reply.status,
              headers: { 'content-type': 'text/xml' },
              body: Buffer.from(reply.body)
            }
          }
        }
      }
    })
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves(
        page([
          ec2Instance('i-1', 'running', '10.0.0.1'),
          ec2Instance('i-2', 'running', '10.0.0.2'),
          ec2Instance('i-3', 'running', '10.0.0.3')
        ])
      )

    const line = await createHandler({
      ec2,
      autoscaling,
      route53: real,
      config,
      log: (l) => lines.push(l),
      sleep: async () => undefined
    })(running('i-2'))

    expect(requests.map((r) => r.split(' ').slice(0, 2).join(' '))).toEqual([
      'GET /2013-04-01/hostedzone/Z0HYPERFORM/rrset',
      'POST /2013-04-01/hostedzone/Z0HYPERFORM/rrset',
      'GET /2013-04-01/hostedzone/Z0HYPERFORM/rrset',
      'POST /2013-04-01/hostedzone/Z0HYPERFORM/rrset',
      'POST /2013-04-01/hostedzone/Z0HYPERFORM/rrset'
    ])
    const lastBody = requests[4] ?? ''
    expect(lastBody).toMatch(
      /<Action>DELETE<\/Action>.*<Value>10\.0\.0\.3<\/Value>.*<Action>CREATE<\/Action>.*<Value>10\.0\.0\.2<\/Value>/s
    )
    expect(line).toMatchObject({ action: 'upsert', attempts: 2, calls: 9, after: ['10.0.0.1', '10.0.0.2', '10.0.0.3'] })
  })
})

describe('configuration and the Lambda entry point', () => {
  const env = {
    PROJECT: 'prj-demo',
    AWS_REGION: 'us-east-1',
    ZONE_ID: '/hostedzone/Z0HYPERFORM',
    ZONE_NAME: 'prj-demo.us-east-1.internal.'
  }

  test('reads the zone id without its prefix, the zone name without its dot, and defaults the TTL', () => {
    expect(configFromEnv(env)).toEqual({ ...config, ttl: DEFAULT_RECORD_TTL })
    expect(configFromEnv({ ...env, RECORD_TTL: '30' }).ttl).toBe(30)
  })

  test('refuses a missing project, a zone that is not the project zone, or a bad TTL', () => {
    expect(() => configFromEnv({ ...env, PROJECT: '' })).toThrow(/PROJECT/)
    expect(() => configFromEnv({ ...env, ZONE_NAME: 'other.us-east-1.internal' })).toThrow(/ZONE_NAME/)
    expect(() => configFromEnv({ ...env, RECORD_TTL: '1.5' })).toThrow(/RECORD_TTL/)
  })

  describe('the exported handler', () => {
    const saved = { ...process.env }
    afterEach(() => {
      process.env = { ...saved }
    })

    test('builds its clients from the environment and writes one JSON line per event to stdout', async () => {
      Object.assign(process.env, env, { RECORD_TTL: String(config.ttl) })
      const ec2Class = mockClient(EC2Client)
      const r53Class = mockClient(Route53Client)
      const asgClass = mockClient(AutoScalingClient)
      asgClass.on(DescribeAutoScalingInstancesCommand).callsFake(groupAnswer)
      const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true)
      try {
        r53Class.on(ListResourceRecordSetsCommand).resolves(zone(['10.0.0.1']))
        ec2Class.on(DescribeInstancesCommand).resolves(page([ec2Instance('i-1', 'running', '10.0.0.1')]))
        const line = await handler(running('i-1'))
        expect(line.action).toBe('noop')
        expect(write).toHaveBeenCalledTimes(1)
        expect(JSON.parse(String(write.mock.calls[0]?.[0]))).toEqual(line)
      } finally {
        write.mockRestore()
        ec2Class.restore()
        r53Class.restore()
        asgClass.restore()
      }
    })
  })
})
