/**
 * In-memory stand-ins for the two services the DNS updater calls, behind
 * aws-sdk-client-mock, strict where AWS is strict:
 *
 * - Route 53: ListResourceRecordSets pages by MaxItems; ChangeResourceRecordSets
 *   applies a batch all-or-nothing, a DELETE must match name, type, TTL and
 *   every value, a CREATE of an existing set fails, and a request over 1000
 *   ResourceRecord elements or 32,000 value characters is refused.
 * - EC2: DescribeInstances applies `tag:<key>`, `instance-state-name` and
 *   `instance-id` filters (ANDed), refuses more than 200 filter values in a
 *   call (FilterLimitExceeded), pages by MaxResults, and lists terminated
 *   instances with their tags (as EC2 does for about an hour).
 * - Auto Scaling (the same world, `FakeEc2.autoscaling`): DescribeAutoScalingInstances
 *   refuses more than 50 ids (ValidationError), pages by MaxRecords, and lists
 *   the named instances its groups hold (every instance but those added with
 *   `group: null`, until terminated): `Pending` while pending, the instance's
 *   `lifecycle` (default `InService`) while running, `Terminating` after;
 *   HealthStatus uppercase.
 */
import {
  AutoScalingClient,
  DescribeAutoScalingInstancesCommand,
  EnterStandbyCommand,
  type DescribeAutoScalingInstancesCommandInput,
  type DescribeAutoScalingInstancesCommandOutput
} from '@aws-sdk/client-auto-scaling'
import {
  CreateTagsCommand,
  DescribeInstancesCommand,
  EC2Client,
  type CreateTagsCommandInput,
  type DescribeInstancesCommandInput,
  type DescribeInstancesCommandOutput
} from '@aws-sdk/client-ec2'
import {
  ChangeResourceRecordSetsCommand,
  InvalidChangeBatch,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ChangeResourceRecordSetsCommandInput,
  type ListResourceRecordSetsCommandInput,
  type ListResourceRecordSetsCommandOutput,
  type RRType
} from '@aws-sdk/client-route-53'
import { mockClient } from 'aws-sdk-client-mock'

export interface FakeInstance {
  id: string
  state: string
  ip: string | undefined
  tags: Record<string, string>
  /** Its Auto Scaling group (tagged aws:autoscaling:groupName); null: launched outside any group. Default `asg`. */
  group?: string | null
  /** Its lifecycle state in the group while running (default InService). */
  lifecycle?: string
  /** Default HEALTHY. */
  health?: string
  /** Why it last changed state (DescribeInstances StateReason.Code), e.g. Server.SpotInstanceTermination. */
  stateReason?: string
}

export const GROUP_NAME_TAG = 'aws:autoscaling:groupName'

export interface FakeSet {
  ttl: number
  values: string[]
}

/** `name.|TYPE`, the name lowercased with its trailing dot. */
export function setKey(name: string, type: string): string {
  const lower = name.toLowerCase()
  return `${lower.endsWith('.') ? lower : `${lower}.`}|${type}`
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  return [...a].sort().join('\n') === [...b].sort().join('\n')
}

function rejectBatch(message: string): InvalidChangeBatch {
  return new InvalidChangeBatch({ message, $metadata: {} })
}

export class FakeRoute53 {
  readonly sets = new Map<string, FakeSet>()
  /** Every call, by operation, in order. */
  readonly calls: string[] = []
  /** Every ChangeResourceRecordSets request, applied or refused. */
  readonly requests: {
    changes: NonNullable<ChangeResourceRecordSetsCommandInput['ChangeBatch']>['Changes']
    applied: boolean
  }[] = []
  /** Runs before a change request is applied; may change the zone (a concurrent writer) or throw. */
  beforeChange: ((input: ChangeResourceRecordSetsCommandInput) => void | Promise<void>) | undefined

  readonly client = new Route53Client({ region: 'us-east-1' })
  private readonly mock = mockClient(this.client)

  constructor(zone: string) {
    this.sets.set(setKey(zone, 'SOA'), { ttl: 900, values: ['ns.example. admin.example. 1 7200 900 1209600 86400'] })
    this.sets.set(setKey(zone, 'NS'), { ttl: 172800, values: ['ns-1.example.'] })
    this.mock
      .on(ListResourceRecordSetsCommand)
      .callsFake((input: ListResourceRecordSetsCommandInput) => this.list(input))
    this.mock
      .on(ChangeResourceRecordSetsCommand)
      .callsFake((input: ChangeResourceRecordSetsCommandInput) => this.change(input))
  }

  get(name: string, type: 'A' | 'TXT'): FakeSet | undefined {
    return this.sets.get(setKey(name, type))
  }

  put(name: string, type: 'A' | 'TXT', set: FakeSet): void {
    this.sets.set(setKey(name, type), set)
  }

  private list(input: ListResourceRecordSetsCommandInput): ListResourceRecordSetsCommandOutput {
    this.calls.push('ListResourceRecordSets')
    const all = [...this.sets.keys()].sort()
    const start = input.StartRecordName
      ? all.findIndex((k) => k >= setKey(input.StartRecordName ?? '', input.StartRecordType ?? ''))
      : 0
    const from = start < 0 ? all.length : start
    const max = input.MaxItems ?? 300
    const page = all.slice(from, from + max)
    const next = all[from + max]
    return {
      $metadata: {},
      MaxItems: max,
      IsTruncated: next !== undefined,
      ...(next === undefined
        ? {}
        : { NextRecordName: next.split('|')[0], NextRecordType: next.split('|')[1] as RRType }),
      ResourceRecordSets: page.map((key) => {
        const [Name, Type] = key.split('|') as [string, RRType]
        const set = this.sets.get(key) as FakeSet
        return { Name, Type, TTL: set.ttl, ResourceRecords: set.values.map((Value) => ({ Value })) }
      })
    }
  }

  private async change(input: ChangeResourceRecordSetsCommandInput): Promise<{ $metadata: object }> {
    this.calls.push('ChangeResourceRecordSets')
    const changes = input.ChangeBatch?.Changes ?? []
    const entry = { changes, applied: false }
    this.requests.push(entry)
    await this.beforeChange?.(input)
    const values = changes.flatMap((c) => (c.ResourceRecordSet?.ResourceRecords ?? []).map((r) => r.Value ?? ''))
    if (values.length > 1000) throw rejectBatch(`${values.length} ResourceRecord elements, more than 1000`)
    if (values.join('').length > 32000) throw rejectBatch('more than 32000 characters in values')
    const next = new Map(this.sets)
    for (const { Action, ResourceRecordSet: set } of changes) {
      if (!set?.Name || !set.Type) throw rejectBatch('a change without a record set')
      const key = setKey(set.Name, set.Type)
      const want = { ttl: set.TTL ?? 0, values: (set.ResourceRecords ?? []).map((r) => r.Value ?? '') }
      const existing = next.get(key)
      if (Action === 'DELETE') {
        if (!existing || existing.ttl !== want.ttl || !sameValues(existing.values, want.values)) {
          throw rejectBatch(
            `Tried to delete resource record set [name='${set.Name}', type='${set.Type}'] but the values provided do not match the current values`
          )
        }
        next.delete(key)
      } else if (Action === 'CREATE') {
        if (existing)
          throw rejectBatch(
            `Tried to create resource record set [name='${set.Name}', type='${set.Type}'] but it already exists`
          )
        if (want.values.length === 0) throw rejectBatch('a record set cannot be empty')
        next.set(key, want)
      } else {
        throw rejectBatch(`unexpected action ${Action}`)
      }
    }
    this.sets.clear()
    for (const [key, set] of next) this.sets.set(key, set)
    entry.applied = true
    return { $metadata: {} }
  }

  restore(): void {
    this.mock.restore()
  }
}

function matches(instance: FakeInstance, filter: { Name?: string; Values?: string[] }): boolean {
  const values = filter.Values ?? []
  if (filter.Name === 'instance-state-name') return values.includes(instance.state)
  if (filter.Name === 'instance-id') return values.includes(instance.id)
  if (filter.Name?.startsWith('tag:')) {
    const tag = instance.tags[filter.Name.slice(4)]
    return tag !== undefined && values.includes(tag)
  }
  throw new Error(`the fake EC2 does not know the filter ${filter.Name}`)
}

export class FakeEc2 {
  readonly instances = new Map<string, FakeInstance>()
  /** Every DescribeInstances input, in order. */
  readonly describes: DescribeInstancesCommandInput[] = []
  /**
   * Runs once a describe's answer is taken and before it is returned: the
   * world may change in between, as it does between a read and a write.
   */
  afterRead: ((input: DescribeInstancesCommandInput) => void | Promise<void>) | undefined

  /** Every DescribeAutoScalingInstances input, in order. */
  readonly groupReads: DescribeAutoScalingInstancesCommandInput[] = []

  readonly client = new EC2Client({ region: 'us-east-1' })
  readonly autoscaling = new AutoScalingClient({ region: 'us-east-1' })
  private readonly mock = mockClient(this.client)
  private readonly groupMock = mockClient(this.autoscaling)

  constructor() {
    this.mock.on(DescribeInstancesCommand).callsFake((input: DescribeInstancesCommandInput) => this.describe(input))
    // the warnings' leaving tag: kept on the instances
    this.mock.on(CreateTagsCommand).callsFake((input: CreateTagsCommandInput) => {
      for (const id of input.Resources ?? []) {
        const i = this.instances.get(id)
        if (i) for (const t of input.Tags ?? []) if (t.Key) i.tags[t.Key] = t.Value ?? ''
      }
      return { $metadata: {} }
    })
    this.groupMock.on(EnterStandbyCommand).resolves({ $metadata: {}, Activities: [] })
    this.groupMock
      .on(DescribeAutoScalingInstancesCommand)
      .callsFake((input: DescribeAutoScalingInstancesCommandInput) => this.describeMembers(input))
  }

  /** EnterStandby fails with this error from now on (as when the account's Auto Scaling bucket is empty). */
  failStandby(error: Error): void {
    this.groupMock.on(EnterStandbyCommand).rejects(error)
  }

  /** Adds instances, each in its group (tagged with its name) unless `group: null`. */
  add(...instances: FakeInstance[]): void {
    for (const instance of instances) {
      const group = instance.group === undefined ? 'asg' : instance.group
      const tags = group === null ? { ...instance.tags } : { ...instance.tags, [GROUP_NAME_TAG]: group }
      this.instances.set(instance.id, { ...instance, group, tags })
    }
  }

  /** Sets an instance's lifecycle state (and health) in its group. */
  member(id: string, lifecycle: string, health = 'HEALTHY'): void {
    const instance = this.instances.get(id)
    if (!instance) throw new Error(`no instance ${id}`)
    Object.assign(instance, { lifecycle, health })
  }

  private describeMembers(input: DescribeAutoScalingInstancesCommandInput): DescribeAutoScalingInstancesCommandOutput {
    this.groupReads.push(input)
    const ids = input.InstanceIds ?? []
    if (ids.length > 50) {
      throw Object.assign(new Error('The number of instance ids that may be passed in is limited to 50'), {
        name: 'ValidationError',
        $metadata: {}
      })
    }
    const members = ids.flatMap((id) => {
      const i = this.instances.get(id)
      if (!i || !i.group || i.state === 'terminated') return []
      const lifecycle =
        i.state === 'pending' ? 'Pending' : i.state === 'running' ? (i.lifecycle ?? 'InService') : 'Terminating'
      return [
        {
          InstanceId: i.id,
          AutoScalingGroupName: i.group,
          AvailabilityZone: 'us-east-1a',
          LifecycleState: lifecycle,
          HealthStatus: i.health ?? 'HEALTHY',
          InstanceType: 't3.micro',
          ProtectedFromScaleIn: false
        }
      ]
    })
    const from = input.NextToken ? Number(input.NextToken) : 0
    const max = input.MaxRecords ?? 50
    return {
      $metadata: {},
      AutoScalingInstances: members.slice(from, from + max),
      ...(from + max < members.length ? { NextToken: String(from + max) } : {})
    }
  }

  /** Moves an instance to a state; a terminated one loses its private IP. */
  set(id: string, state: string): void {
    const instance = this.instances.get(id)
    if (!instance) throw new Error(`no instance ${id}`)
    instance.state = state
    if (state === 'terminated') instance.ip = undefined
  }

  private async describe(input: DescribeInstancesCommandInput): Promise<DescribeInstancesCommandOutput> {
    this.describes.push(input)
    const filters = input.Filters ?? []
    const count = filters.reduce((n, f) => n + (f.Values?.length ?? 0), 0)
    if (count > 200) {
      throw Object.assign(new Error('The maximum number of filter values specified on a single call is 200'), {
        name: 'FilterLimitExceeded',
        $metadata: {}
      })
    }
    const all = [...this.instances.values()].filter((i) => filters.every((f) => matches(i, f)))
    const from = input.NextToken ? Number(input.NextToken) : 0
    const max = input.MaxResults ?? 1000
    const page = all.slice(from, from + max)
    const answer: DescribeInstancesCommandOutput = {
      $metadata: {},
      Reservations: [
        {
          Instances: page.map((i) => ({
            InstanceId: i.id,
            State: { Name: i.state as 'running' },
            PrivateIpAddress: i.ip,
            Tags: Object.entries(i.tags).map(([Key, Value]) => ({ Key, Value })),
            ...(i.stateReason ? { StateReason: { Code: i.stateReason, Message: i.stateReason } } : {})
          }))
        }
      ],
      ...(from + max < all.length ? { NextToken: String(from + max) } : {})
    }
    const hook = this.afterRead
    if (hook) await hook(input)
    return answer
  }

  restore(): void {
    this.mock.restore()
    this.groupMock.restore()
  }
}

/** Auto Scaling's event once an instance's launch completed (its launch hook included): it is in service. */
export function launchSuccessful(
  id: string,
  group = 'asg'
): { version: string; source: string; 'detail-type': string; detail: Record<string, string> } {
  return {
    version: '0',
    source: 'aws.autoscaling',
    'detail-type': 'EC2 Instance Launch Successful',
    detail: { EC2InstanceId: id, AutoScalingGroupName: group, StatusCode: 'InProgress' }
  }
}

/** An EC2 state-change event as EventBridge delivers it (with its `time` when given). */
export function stateChange(
  id: string,
  state: string,
  time?: string
): {
  version: string
  source: string
  'detail-type': string
  time?: string
  detail: { 'instance-id': string; state: string }
} {
  return {
    version: '0',
    source: 'aws.ec2',
    'detail-type': 'EC2 Instance State-change Notification',
    ...(time ? { time } : {}),
    detail: { 'instance-id': id, state }
  }
}

/** EC2's spot interruption warning or rebalance recommendation as EventBridge delivers it. */
export function spotWarning(
  id: string,
  kind: 'interruption' | 'rebalance',
  time: string
): { version: string; source: string; 'detail-type': string; time: string; detail: Record<string, string> } {
  return {
    version: '0',
    source: 'aws.ec2',
    'detail-type':
      kind === 'interruption' ? 'EC2 Spot Instance Interruption Warning' : 'EC2 Instance Rebalance Recommendation',
    time,
    detail: kind === 'interruption' ? { 'instance-id': id, 'instance-action': 'terminate' } : { 'instance-id': id }
  }
}

/** The event an EventBridge schedule sends. */
export function scheduled(): {
  version: string
  source: 'aws.events'
  'detail-type': 'Scheduled Event'
  detail: object
} {
  return { version: '0', source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }
}

/** An SQS event as an event source mapping delivers it: one message per body, ids m-0, m-1, ... */
export function queueEvent(bodies: readonly unknown[]): {
  Records: {
    messageId: string
    receiptHandle: string
    body: string
    eventSource: string
    eventSourceARN: string
    awsRegion: string
    attributes: object
    messageAttributes: object
    md5OfBody: string
  }[]
} {
  return {
    Records: bodies.map((body, i) => ({
      messageId: `m-${i}`,
      receiptHandle: `r-${i}`,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:hyperform-dns-prj-demo',
      awsRegion: 'us-east-1',
      attributes: {},
      messageAttributes: {},
      md5OfBody: ''
    }))
  }
}

/** A deterministic shuffle (mulberry32). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}
