import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals'
import {
  SPOT_EVENT_FILTER,
  TAGS,
  parseSpotEventLine,
  recordName,
  serviceTags,
  zoneName,
  type SpotEventLine
} from '../src/names.js'
import { sortIps } from '../lambda/core.js'
import { createHandler, type BatchLine, type DnsHandler, type LogLine } from '../lambda/handler.js'
import {
  FakeEc2,
  FakeRoute53,
  launchSuccessful,
  queueEvent,
  scheduled,
  shuffled,
  spotWarning,
  stateChange,
  type FakeInstance
} from './helpers/lambda-fakes.js'

const scope = { project: 'prj-demo', region: 'us-east-1' }
const stack = { ...scope, stack: 'st-app' }
const ZONE = zoneName(scope)
const config = { ...scope, zoneId: 'Z0HYPERFORM', zoneName: ZONE, ttl: 60 }
const version = (n: number): string => `"hyperform-version=${n}"`

let route53: FakeRoute53
let ec2: FakeEc2
let lines: (LogLine | BatchLine)[]
let spotLines: SpotEventLine[]

beforeEach(() => {
  route53 = new FakeRoute53(ZONE)
  ec2 = new FakeEc2()
  lines = []
  spotLines = []
})

afterEach(() => {
  route53.restore()
  ec2.restore()
})

function makeHandler(maxAttempts?: number): DnsHandler {
  return createHandler({
    ec2: ec2.client,
    autoscaling: ec2.autoscaling,
    route53: route53.client,
    config,
    log: (line) => lines.push(line),
    logSpot: (line) => spotLines.push(line),
    sleep: async () => undefined,
    random: () => 0.5,
    ...(maxAttempts === undefined ? {} : { maxAttempts })
  })
}

function service(i: number): string {
  return `s${String(i).padStart(3, '0')}`
}

function record(name: string): string {
  return recordName(stack, name)
}

function ip(n: number): string {
  return `10.0.${Math.floor(n / 250)}.${(n % 250) + 1}`
}

function instance(id: string, name: string, state: string, address: string | undefined): FakeInstance {
  return { id, state, ip: address, tags: serviceTags(stack, name) }
}

/** An instance of another project of the account, with the same stack and service names. */
function foreign(id: string, name: string, state: string, address: string | undefined): FakeInstance {
  return { id, state, ip: address, tags: serviceTags({ ...stack, project: 'prj-other' }, name) }
}

/** A record as the updater wrote it: the A set and its version record. */
function written(name: string, ips: string[], n = 1): void {
  route53.put(record(name), 'A', { ttl: 60, values: sortIps(ips) })
  route53.put(record(name), 'TXT', { ttl: 60, values: [version(n)] })
}

/** The IPs of every service's running instances in service in their group, as the records should hold them. */
function truth(): Record<string, string[]> {
  const by: Record<string, string[]> = {}
  for (const i of ec2.instances.values()) {
    if (i.state !== 'running' || !i.ip || i.tags[TAGS.project] !== scope.project) continue
    if (!i.group || (i.lifecycle ?? 'InService') !== 'InService' || (i.health ?? 'HEALTHY') !== 'HEALTHY') continue
    const name = i.tags[TAGS.service] ?? ''
    by[record(name)] = [...(by[record(name)] ?? []), i.ip]
  }
  for (const name of Object.keys(by)) by[name] = sortIps(by[name] ?? [])
  return by
}

/** The service A records of the zone, name without its dot -> sorted IPs. */
function records(): Record<string, string[]> {
  const by: Record<string, string[]> = {}
  for (const [key, set] of route53.sets) {
    const [name, type] = key.split('|')
    if (type === 'A') by[(name ?? '').replace(/\.$/, '')] = sortIps(set.values)
  }
  return by
}

function batchLines(): BatchLine[] {
  return lines.filter((l): l is BatchLine => 'kind' in l)
}

/**
 * 100 services of 2 instances each, records in place; then every service's
 * second instance is reclaimed and replaced: 300 events (shutting-down,
 * terminated, the replacement's running), all already true when read.
 */
function reclaimStorm(): unknown[] {
  const events: unknown[] = []
  for (let s = 0; s < 100; s++) {
    const name = service(s)
    const [a, b, c] = [`i-${name}-a`, `i-${name}-b`, `i-${name}-c`]
    ec2.add(instance(a, name, 'running', ip(3 * s)), instance(b, name, 'running', ip(3 * s + 1)))
    written(name, [ip(3 * s), ip(3 * s + 1)], 4)
    ec2.set(b, 'terminated')
    ec2.add(instance(c, name, 'running', ip(3 * s + 2)))
    events.push(stateChange(b, 'shutting-down'), stateChange(b, 'terminated'), stateChange(c, 'running'))
  }
  return shuffled(events, 42)
}

/**
 * 6 services of 90 instances whose 90th has just started: each swap holds 89
 * values to delete, 90 to create and 2 TXT values, 181 records; a request holds
 * 1000, so 5 services go in a first request and 1 in a second.
 */
function bigServices(): unknown[] {
  const events: unknown[] = []
  for (let s = 0; s < 6; s++) {
    const name = service(s)
    for (let k = 0; k < 90; k++) ec2.add(instance(`i-${name}-${k}`, name, 'running', ip(100 * s + k)))
    written(
      name,
      Array.from({ length: 89 }, (_, k) => ip(100 * s + k)),
      1
    )
    events.push(stateChange(`i-${name}-89`, 'running'))
  }
  return events
}

describe('an SQS batch', () => {
  test('300 events over 100 services cost one zone read and one write, and every record ends equal to its running IPs', async () => {
    const events = reclaimStorm()
    expect(events).toHaveLength(300)

    const response = await makeHandler()(queueEvent(events))

    expect(response).toEqual({ batchItemFailures: [] })
    expect(route53.calls).toEqual(['ListResourceRecordSets', 'ChangeResourceRecordSets'])
    expect(records()).toEqual(truth())
    expect(Object.keys(truth())).toHaveLength(100)
    // each service's change is still a swap of the exact set read, with its version bumped
    const [request] = route53.requests
    expect(request?.applied).toBe(true)
    const first = request?.changes?.filter((c) => c.ResourceRecordSet?.Name?.startsWith(`${service(0)}.`))
    expect(
      first?.map(
        (c) =>
          `${c.Action} ${c.ResourceRecordSet?.Type} ${(c.ResourceRecordSet?.ResourceRecords ?? []).map((r) => r.Value).join(',')}`
      )
    ).toEqual([
      `DELETE A ${ip(0)},${ip(1)}`,
      `CREATE A ${ip(0)},${ip(2)}`,
      `DELETE TXT ${version(4)}`,
      `CREATE TXT ${version(5)}`
    ])
    // EC2: the 200 instances the events name, read by id in one call, then the project's live instances
    expect(ec2.describes).toHaveLength(2)
    expect(ec2.describes[0]?.Filters).toEqual([
      { Name: 'instance-id', Values: expect.arrayContaining([`i-${service(0)}-b`, `i-${service(99)}-c`]) }
    ])
    expect(ec2.describes[0]?.Filters?.[0]?.Values).toHaveLength(200)
    expect(ec2.describes[1]?.Filters).toEqual([
      { Name: `tag:${TAGS.project}`, Values: ['prj-demo'] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'shutting-down', 'stopping', 'stopped'] }
    ])
    expect(batchLines()).toEqual([
      expect.objectContaining({
        kind: 'batch',
        messages: 300,
        events: 300,
        ignored: 0,
        services: 100,
        changed: 100,
        unchanged: 0,
        failed: 0,
        route53Calls: 2,
        ec2Calls: 2,
        autoscalingCalls: 4,
        attempts: 1
      })
    ])
    // Auto Scaling: the 200 running members of the 100 services, 50 ids a call, each once
    expect(ec2.groupReads.map((r) => r.InstanceIds?.length)).toEqual([50, 50, 50, 50])
    expect(new Set(ec2.groupReads.flatMap((r) => r.InstanceIds ?? [])).size).toBe(200)
    expect(batchLines()[0]?.records).toContainEqual({
      record: record(service(0)),
      before: [ip(0), ip(1)],
      after: [ip(0), ip(2)]
    })
  })

  test('the same 300 events as direct invocations, one each, cost a zone read each and a write per service', async () => {
    const events = reclaimStorm()
    const handler = makeHandler()
    for (const event of events) await handler(event)

    expect(records()).toEqual(truth())
    expect(route53.calls.filter((c) => c === 'ListResourceRecordSets')).toHaveLength(300)
    expect(route53.calls.filter((c) => c === 'ChangeResourceRecordSets')).toHaveLength(100)
  })

  test('a zone of more than 300 record sets is read page by page, and the write is still one', async () => {
    // 150 services: 300 A and TXT sets, plus the SOA and NS
    const events: unknown[] = []
    for (let s = 0; s < 150; s++) {
      const name = service(s)
      ec2.add(
        instance(`i-${name}-a`, name, 'running', ip(2 * s)),
        instance(`i-${name}-b`, name, 'running', ip(2 * s + 1))
      )
      written(name, [ip(2 * s)], 1)
      events.push(stateChange(`i-${name}-b`, 'running'))
    }

    expect(await makeHandler()(queueEvent(events))).toEqual({ batchItemFailures: [] })

    expect(route53.calls).toEqual(['ListResourceRecordSets', 'ListResourceRecordSets', 'ChangeResourceRecordSets'])
    expect(records()).toEqual(truth())
    expect(batchLines()[0]).toMatchObject({ services: 150, changed: 150, route53Calls: 3 })
    // the line names the first 100 records written; the counts are whole
    expect(batchLines()[0]?.records).toHaveLength(100)
  })

  test('the same batch delivered again writes nothing: one zone read, no write', async () => {
    const events = reclaimStorm()
    await makeHandler()(queueEvent(events))
    route53.calls.length = 0

    const response = await makeHandler()(queueEvent(events))

    expect(response).toEqual({ batchItemFailures: [] })
    expect(route53.calls).toEqual(['ListResourceRecordSets'])
    expect(batchLines()[1]).toMatchObject({ services: 100, changed: 0, unchanged: 100, route53Calls: 1 })
  })

  test('more changes than one request may hold are split between services, never inside one, and all land', async () => {
    const events = bigServices()

    expect(await makeHandler()(queueEvent(events))).toEqual({ batchItemFailures: [] })

    expect(route53.calls).toEqual(['ListResourceRecordSets', 'ChangeResourceRecordSets', 'ChangeResourceRecordSets'])
    expect(
      route53.requests.map((r) => new Set(r.changes?.map((c) => c.ResourceRecordSet?.Name?.split('.')[0])).size)
    ).toEqual([5, 1])
    expect(records()).toEqual(truth())
  })

  test('a service whose last instance goes has its record deleted, its version record staying and bumped', async () => {
    ec2.add(instance('i-1', 'db', 'running', '10.0.0.1'), instance('i-2', 'web', 'running', '10.0.0.2'))
    written('db', ['10.0.0.1'], 3)
    written('web', ['10.0.0.2'], 1)
    ec2.set('i-1', 'terminated')

    const response = await makeHandler()(
      queueEvent([stateChange('i-1', 'shutting-down'), stateChange('i-1', 'terminated')])
    )

    expect(response).toEqual({ batchItemFailures: [] })
    expect(route53.get(record('db'), 'A')).toBeUndefined()
    expect(route53.get(record('db'), 'TXT')).toEqual({ ttl: 60, values: [version(4)] })
    expect(route53.get(record('web'), 'A')).toEqual({ ttl: 60, values: ['10.0.0.2'] })
    expect(batchLines()[0]).toMatchObject({
      services: 1,
      changed: 1,
      records: [{ record: record('db'), before: ['10.0.0.1'], after: [] }]
    })
  })
})

describe("events that are not the project's", () => {
  test('a batch of instances of another project, unknown instances and other messages makes no Route 53 call, and counts them', async () => {
    const bodies: unknown[] = []
    for (let k = 0; k < 40; k++) {
      ec2.add(foreign(`i-other-${k}`, 'db', k % 2 ? 'running' : 'terminated', k % 2 ? ip(k) : undefined))
      bodies.push(stateChange(`i-other-${k}`, k % 2 ? 'running' : 'terminated'))
    }
    ec2.add({ id: 'i-untagged', state: 'running', ip: '10.9.9.9', tags: {} })
    bodies.push(stateChange('i-untagged', 'running'), stateChange('i-gone-long-ago', 'terminated'), 'not json', {
      detail: {}
    })

    const response = await makeHandler()(queueEvent(bodies))

    expect(response).toEqual({ batchItemFailures: [] })
    expect(route53.calls).toEqual([])
    expect(ec2.describes).toHaveLength(1)
    expect(batchLines()[0]).toMatchObject({
      messages: 44,
      events: 42,
      ignored: 44,
      services: 0,
      route53Calls: 0,
      ec2Calls: 1,
      calls: 1
    })
    expect(batchLines()[0]?.reasons).toEqual({
      'instance belongs to project "prj-other"': 40,
      [`instance has no ${TAGS.project} tag`]: 1,
      "instance not found (not the project's, or gone)": 1,
      'message body is not JSON': 1,
      'not an EC2 instance state-change or Auto Scaling launch event': 1
    })
  })

  test('a batch of messages that are no state change makes no call at all', async () => {
    const response = await makeHandler()(
      queueEvent(['', '[]', { detail: { state: 'running' } }, { source: 'aws.events', 'detail-type': 'Other' }])
    )

    expect(response).toEqual({ batchItemFailures: [] })
    expect(route53.calls).toEqual([])
    expect(ec2.describes).toEqual([])
    expect(batchLines()[0]).toMatchObject({ messages: 4, events: 0, ignored: 4, calls: 0, attempts: 0 })
  })

  test("foreign events in a batch with the project's own add no Route 53 call to its two", async () => {
    ec2.add(instance('i-1', 'db', 'running', '10.0.0.1'))
    const bodies: unknown[] = [stateChange('i-1', 'running')]
    for (let k = 0; k < 50; k++) {
      ec2.add(foreign(`i-other-${k}`, 'db', 'running', ip(k)))
      bodies.push(stateChange(`i-other-${k}`, 'running'))
    }

    await makeHandler()(queueEvent(bodies))

    expect(route53.calls).toEqual(['ListResourceRecordSets', 'ChangeResourceRecordSets'])
    expect(records()).toEqual({ [record('db')]: ['10.0.0.1'] })
    expect(batchLines()[0]).toMatchObject({ events: 51, ignored: 50, services: 1, changed: 1, route53Calls: 2 })
  })

  test("instances of the project's service names in another project do not count in the record", async () => {
    ec2.add(instance('i-1', 'db', 'running', '10.0.0.1'), foreign('i-9', 'db', 'running', '10.0.0.9'))

    await makeHandler()(queueEvent([stateChange('i-1', 'running'), stateChange('i-9', 'running')]))

    expect(records()).toEqual({ [record('db')]: ['10.0.0.1'] })
  })
})

describe('concurrent writers', () => {
  test('a writer landing between the reads and the write of a batch fails the whole batch, which is recomputed from fresh reads and loses no update', async () => {
    // ten services lose an instance; db also gains one, which another invocation writes meanwhile
    const bodies: unknown[] = []
    for (let s = 0; s < 10; s++) {
      const name = service(s)
      ec2.add(
        instance(`i-${name}-a`, name, 'running', ip(2 * s)),
        instance(`i-${name}-b`, name, 'running', ip(2 * s + 1))
      )
      written(name, [ip(2 * s), ip(2 * s + 1)], 1)
      ec2.set(`i-${name}-b`, 'terminated')
      bodies.push(stateChange(`i-${name}-b`, 'terminated'))
    }
    const other = makeHandler()
    ec2.afterRead = async (input) => {
      if (input.Filters?.[0]?.Name !== `tag:${TAGS.project}`) return
      ec2.afterRead = undefined
      // the batch has read the zone and the instances; now a new instance of s000 runs and another invocation records it
      ec2.add(instance('i-new', service(0), 'running', '10.0.9.9'))
      expect(await other(stateChange('i-new', 'running'))).toMatchObject({
        action: 'upsert',
        after: [ip(0), '10.0.9.9']
      })
    }

    const response = await makeHandler()(queueEvent(bodies))

    expect(response).toEqual({ batchItemFailures: [] })
    // the other writer's request, the batch's refused one (nothing of it applied), the batch's second
    expect(route53.requests.map((r) => r.applied)).toEqual([true, false, true])
    expect(records()).toEqual(truth())
    expect(records()[record(service(0))]).toEqual([ip(0), '10.0.9.9'])
    expect(route53.get(record(service(0)), 'TXT')?.values).toEqual([version(2)])
    expect(route53.get(record(service(1)), 'TXT')?.values).toEqual([version(2)])
    const [line] = batchLines()
    expect(line).toMatchObject({ services: 10, changed: 9, unchanged: 1, attempts: 2, failed: 0 })
    // 2 zone reads and 3 writes tried, of which the other writer's read and write are not the batch's
    expect(line?.route53Calls).toBe(4)
  })

  test('a lost swap whose services the winner already wrote the same way costs one more zone read and no second write', async () => {
    ec2.add(instance('i-1', 'db', 'running', '10.0.0.1'), instance('i-2', 'db', 'running', '10.0.0.2'))
    written('db', ['10.0.0.1'], 1)
    const other = makeHandler()
    ec2.afterRead = async (input) => {
      if (input.Filters?.[0]?.Name !== `tag:${TAGS.project}`) return
      ec2.afterRead = undefined
      await other(stateChange('i-2', 'running'))
    }

    const response = await makeHandler()(queueEvent([stateChange('i-2', 'running')]))

    expect(response).toEqual({ batchItemFailures: [] })
    expect(records()).toEqual({ [record('db')]: ['10.0.0.1', '10.0.0.2'] })
    expect(route53.requests.map((r) => r.applied)).toEqual([true, false])
    expect(batchLines()[0]).toMatchObject({ changed: 0, unchanged: 1, attempts: 1, route53Calls: 3 })
  })

  test("a read that lags one service's event defers that service alone to a second round", async () => {
    ec2.add(instance('i-1', 'db', 'running', '10.0.0.1'), instance('i-2', 'web', 'pending', '10.0.0.2'))
    let reads = 0
    ec2.afterRead = (input) => {
      // the first project read still shows web's instance pending; it runs by the next one
      if (input.Filters?.[0]?.Name === `tag:${TAGS.project}` && ++reads === 1) ec2.set('i-2', 'running')
    }
    // the event is newer than the read: the by-id read sees it pending too
    const response = await makeHandler()(queueEvent([stateChange('i-1', 'running'), stateChange('i-2', 'running')]))

    expect(response).toEqual({ batchItemFailures: [] })
    expect(
      route53.requests.map((r) =>
        r.changes?.map((c) => `${c.Action} ${c.ResourceRecordSet?.Type} ${c.ResourceRecordSet?.Name}`)
      )
    ).toEqual([
      [`CREATE A ${record('db')}`, `CREATE TXT ${record('db')}`],
      [`CREATE A ${record('web')}`, `CREATE TXT ${record('web')}`]
    ])
    expect(records()).toEqual(truth())
    expect(batchLines()[0]).toMatchObject({ services: 2, changed: 2, attempts: 2 })
  })
})

describe('a scheduled reconcile', () => {
  function stackOfThree(): void {
    ec2.add(
      instance('i-1', 'db', 'running', '10.0.0.1'),
      instance('i-2', 'web', 'running', '10.0.0.2'),
      instance('i-3', 'web', 'running', '10.0.0.3'),
      instance('i-4', 'cache', 'stopped', undefined)
    )
    written('db', ['10.0.0.1'], 2)
    written('web', ['10.0.0.2', '10.0.0.3'], 5)
    written('cache', ['10.0.0.4'], 7)
  }

  test('repairs a record changed by hand and removes the record of a service with no running instance, in one write', async () => {
    stackOfThree()
    // by hand: web lost an IP and got a stray one, without touching the version record
    route53.put(record('web'), 'A', { ttl: 300, values: ['10.0.0.2', '10.0.0.99'] })
    // a record the updater never wrote (no version record, no instance) is not its to judge
    route53.put(`legacy.st-old.${ZONE}`, 'A', { ttl: 60, values: ['10.1.1.1'] })

    const line = await makeHandler()(scheduled())

    expect(records()).toEqual({ ...truth(), [`legacy.st-old.${ZONE}`]: ['10.1.1.1'] })
    expect(route53.get(record('web'), 'A')).toEqual({ ttl: 60, values: ['10.0.0.2', '10.0.0.3'] })
    expect(route53.get(record('cache'), 'A')).toBeUndefined()
    expect(route53.get(record('web'), 'TXT')?.values).toEqual([version(6)])
    expect(route53.calls).toEqual(['ListResourceRecordSets', 'ChangeResourceRecordSets'])
    expect(ec2.describes).toHaveLength(1)
    expect(line).toMatchObject({
      kind: 'reconcile',
      reconcile: true,
      messages: 0,
      events: 0,
      services: 3,
      changed: 2,
      unchanged: 1,
      route53Calls: 2,
      ec2Calls: 1
    })
    expect(lines).toEqual([line])
  })

  test('a reconcile of a zone already right reads once and writes nothing', async () => {
    stackOfThree()
    route53.sets.delete(`${record('cache')}.|A`)

    const line = await makeHandler()(scheduled())

    expect(route53.calls).toEqual(['ListResourceRecordSets'])
    expect(line).toMatchObject({ services: 3, changed: 0, unchanged: 3 })
  })

  test("a scheduled event in a queue message reconciles too, with the batch's events", async () => {
    stackOfThree()
    route53.put(record('db'), 'A', { ttl: 60, values: ['10.0.0.66'] })

    const response = await makeHandler()(queueEvent([scheduled(), stateChange('i-2', 'running')]))

    expect(response).toEqual({ batchItemFailures: [] })
    expect(records()).toEqual(truth())
    expect(batchLines()[0]).toMatchObject({ reconcile: true, services: 3, changed: 2, route53Calls: 2 })
  })

  test('a reconcile that cannot write throws after logging, for the failure to show', async () => {
    stackOfThree()
    route53.beforeChange = () => {
      throw Object.assign(new Error('User is not authorized to perform route53:ChangeResourceRecordSets'), {
        name: 'AccessDenied',
        $metadata: {}
      })
    }

    await expect(makeHandler()(scheduled())).rejects.toMatchObject({ name: 'AccessDenied' })
    expect(batchLines()[0]).toMatchObject({
      kind: 'reconcile',
      failed: 1,
      error: expect.stringMatching(/^AccessDenied/)
    })
  })
})

describe('failures to write', () => {
  test('services whose request keeps losing past the bound are reported as the batch item failures of their messages, an ignored message is not', async () => {
    ec2.add(
      instance('i-1', 'db', 'running', '10.0.0.1'),
      instance('i-2', 'web', 'running', '10.0.0.2'),
      foreign('i-9', 'db', 'running', '10.0.0.9')
    )
    // a writer that changes web's version record before each of the batch's writes
    let bumps = 0
    route53.beforeChange = (input) => {
      if (!input.ChangeBatch?.Changes?.some((c) => c.ResourceRecordSet?.Name?.startsWith('web.'))) return
      route53.put(record('web'), 'TXT', { ttl: 60, values: [version(100 + ++bumps)] })
    }
    // db's and web's changes go in one request, which always fails: nothing is written
    const response = await makeHandler(3)(
      queueEvent([
        stateChange('i-1', 'running'),
        stateChange('i-2', 'running'),
        stateChange('i-9', 'running'),
        stateChange('i-2', 'running')
      ])
    )

    expect(response).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm-0' }, { itemIdentifier: 'm-1' }, { itemIdentifier: 'm-3' }]
    })
    expect(route53.requests.map((r) => r.applied)).toEqual([false, false, false])
    expect(batchLines()[0]).toMatchObject({
      services: 2,
      failed: 2,
      changed: 0,
      failedMessages: 3,
      ignored: 1,
      attempts: 3,
      error: expect.stringMatching(/gave up after 3 attempts/)
    })
  })

  test('when one of two requests fails, only the messages of its services are reported', async () => {
    const bodies = bigServices()
    route53.beforeChange = (input) => {
      if (input.ChangeBatch?.Changes?.some((c) => c.ResourceRecordSet?.Name?.startsWith(`${service(5)}.`))) {
        throw Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { attempts: 6 } })
      }
    }

    const response = await makeHandler()(queueEvent(bodies))

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-5' }] })
    const expected = truth()
    expect(
      Object.entries(records())
        .filter(([name, ips]) => ips.join() !== expected[name]?.join())
        .map(([name]) => name)
    ).toEqual([record(service(5))])
    expect(batchLines()[0]).toMatchObject({
      changed: 5,
      failed: 1,
      failures: [{ record: record(service(5)) }],
      error: 'Throttling: Rate exceeded'
    })
    // the SDK's own retries of the throttled request count as calls
    expect(batchLines()[0]?.route53Calls).toBe(1 + 1 + 6)
  })

  test('an EC2 error before any service is known fails every message that names an instance, and none other', async () => {
    ec2.afterRead = () => {
      throw Object.assign(new Error('Request limit exceeded.'), {
        name: 'RequestLimitExceeded',
        $metadata: { attempts: 5 }
      })
    }
    ec2.add(instance('i-1', 'db', 'running', '10.0.0.1'))

    const response = await makeHandler()(
      queueEvent([stateChange('i-1', 'running'), 'garbage', stateChange('i-2', 'terminated')])
    )

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-0' }, { itemIdentifier: 'm-2' }] })
    expect(route53.calls).toEqual([])
    expect(batchLines()[0]).toMatchObject({ ec2Calls: 5, error: 'RequestLimitExceeded: Request limit exceeded.' })
  })
})

describe('in service in the group', () => {
  test('a batch of launches and Launch Successful events lists only the running members in service, never an instance outside a group', async () => {
    ec2.add(
      instance('i-a1', 'web', 'running', '10.0.0.1'),
      { ...instance('i-a2', 'web', 'running', '10.0.0.2'), lifecycle: 'Pending:Wait' },
      { ...instance('i-a3', 'web', 'running', '10.0.0.3'), health: 'UNHEALTHY' },
      { ...instance('i-a4', 'web', 'running', '10.0.0.4'), group: null },
      instance('i-b1', 'api', 'pending', '10.0.1.1'),
      instance('i-b2', 'api', 'running', '10.0.1.2')
    )
    written('web', ['10.0.0.1', '10.0.0.3'])

    const first = await makeHandler()(
      queueEvent([
        stateChange('i-a2', 'running'),
        stateChange('i-a4', 'running'),
        launchSuccessful('i-b2'),
        stateChange('i-b1', 'pending')
      ])
    )

    expect(first).toEqual({ batchItemFailures: [] })
    expect(records()).toEqual({ [record('web')]: ['10.0.0.1'], [record('api')]: ['10.0.1.2'] })
    expect(records()).toEqual(truth())
    // one group read for the running members of both services; i-a4 (no group) is not asked about
    expect(ec2.groupReads.map((r) => [...(r.InstanceIds ?? [])].sort())).toEqual([['i-a1', 'i-a2', 'i-a3', 'i-b2']])
    expect(batchLines()[0]).toMatchObject({
      services: 2,
      changed: 2,
      ec2Calls: 2,
      autoscalingCalls: 1,
      route53Calls: 2
    })

    // the launch hook completes for i-a2: its Launch Successful adds it
    ec2.member('i-a2', 'InService')
    await makeHandler()(queueEvent([launchSuccessful('i-a2')]))
    expect(records()[record('web')]).toEqual(['10.0.0.1', '10.0.0.2'])
    expect(records()).toEqual(truth())
  })

  test('a Launch Successful the group read still shows Pending:Proceed is read again, and the instance listed', async () => {
    ec2.add(instance('i-1', 'web', 'running', '10.0.0.1'), {
      ...instance('i-2', 'web', 'running', '10.0.0.2'),
      lifecycle: 'Pending:Proceed'
    })
    written('web', ['10.0.0.1'])
    let reads = 0
    ec2.afterRead = () => {
      reads += 1
      // the second project read: by then the group read catches up
      if (reads === 3) ec2.member('i-2', 'InService')
    }

    const response = await makeHandler()(queueEvent([launchSuccessful('i-2')]))

    expect(response).toEqual({ batchItemFailures: [] })
    expect(records()[record('web')]).toEqual(['10.0.0.1', '10.0.0.2'])
    expect(batchLines()[0]).toMatchObject({ attempts: 2, changed: 1, autoscalingCalls: 2 })
  })

  test('a group read that keeps lagging a Launch Successful fails only that message, for SQS to deliver again', async () => {
    ec2.add(
      { ...instance('i-1', 'web', 'running', '10.0.0.1'), lifecycle: 'Pending:Wait' },
      instance('i-2', 'api', 'running', '10.0.1.1')
    )

    const response = await makeHandler(3)(queueEvent([launchSuccessful('i-1'), stateChange('i-2', 'running')]))

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-0' }] })
    expect(records()).toEqual({ [record('api')]: ['10.0.1.1'] })
    expect(batchLines()[0]).toMatchObject({ failed: 1, changed: 1, attempts: 3, autoscalingCalls: 3 })
  })
})

describe('an IP reused by a new instance its launch hook holds', () => {
  test('the old instance leaves the record after the rereads, and the batch does not fail', async () => {
    // i-old (10.0.0.2) is gone; i-new got its IP and waits on its hook: the record still lists 10.0.0.2
    ec2.add(instance('i-1', 'web', 'running', '10.0.0.1'), instance('i-old', 'web', 'terminated', undefined), {
      ...instance('i-new', 'web', 'running', '10.0.0.2'),
      lifecycle: 'Pending:Wait'
    })
    written('web', ['10.0.0.1', '10.0.0.2'])

    const response = await makeHandler(3)(queueEvent([stateChange('i-old', 'terminated')]))

    expect(response).toEqual({ batchItemFailures: [] })
    expect(records()[record('web')]).toEqual(['10.0.0.1'])
    expect(batchLines()[0]).toMatchObject({ attempts: 3, changed: 1, failed: 0 })
  })
})

describe('the direct EventBridge event', () => {
  test('still gets its one line per event, found among the project read of every state', async () => {
    ec2.add(instance('i-1', 'db', 'running', '10.0.0.1'))

    const line = await makeHandler()(stateChange('i-1', 'running'))

    expect(line).toMatchObject({
      instance: 'i-1',
      state: 'running',
      record: record('db'),
      action: 'upsert',
      after: ['10.0.0.1'],
      calls: 4,
      attempts: 1
    })
    expect(ec2.describes.map((d) => d.Filters)).toEqual([[{ Name: `tag:${TAGS.project}`, Values: ['prj-demo'] }]])
  })
})

describe('the spot lines', () => {
  const AT = '2026-03-01T10:00:00Z'
  const spotLine = (event: SpotEventLine['event'], id: string, service: string, at: string | null = AT) => ({
    event,
    instance: id,
    service,
    stack: 'st-app',
    project: 'prj-demo',
    at
  })

  test("a batch logs one line per warning and per reclaim of the project's instances, and none for other changes", async () => {
    ec2.add(
      instance('i-warned', 'db', 'running', '10.0.0.1'),
      instance('i-advised', 'db', 'running', '10.0.0.2'),
      // already terminated when read: its shutting-down change logs the reclaim, its terminated one nothing
      { ...instance('i-reclaimed', 'web', 'terminated', undefined), stateReason: 'Server.SpotInstanceTermination' },
      // warned earlier, its reason not read yet: its leaving tag tells
      {
        ...instance('i-tagged', 'web', 'shutting-down', '10.0.0.4'),
        tags: { ...serviceTags(stack, 'web'), [TAGS.leaving]: 'interruption-warning' }
      },
      { ...instance('i-scaled-in', 'web', 'shutting-down', '10.0.0.5'), stateReason: 'Client.UserInitiatedShutdown' },
      // advised of a rebalance, then terminated by its group: no reclaim
      {
        ...instance('i-rebalanced', 'web', 'shutting-down', '10.0.0.6'),
        stateReason: 'Client.UserInitiatedShutdown',
        tags: { ...serviceTags(stack, 'web'), [TAGS.leaving]: 'rebalance-recommendation' }
      },
      foreign('i-other', 'db', 'running', '10.0.9.1')
    )
    written('db', ['10.0.0.1', '10.0.0.2'])

    const response = await makeHandler()(
      queueEvent([
        spotWarning('i-warned', 'interruption', AT),
        spotWarning('i-advised', 'rebalance', AT),
        stateChange('i-reclaimed', 'shutting-down', AT),
        stateChange('i-tagged', 'shutting-down'),
        stateChange('i-scaled-in', 'shutting-down', AT),
        stateChange('i-rebalanced', 'shutting-down', AT),
        stateChange('i-reclaimed', 'terminated', AT),
        spotWarning('i-other', 'interruption', AT),
        spotWarning('i-unknown', 'rebalance', AT)
      ])
    )

    expect(batchLines()[0]?.error).toBeUndefined()
    expect(response).toEqual({ batchItemFailures: [] })
    expect(spotLines).toEqual([
      spotLine('spot-interruption-warning', 'i-warned', 'db'),
      spotLine('rebalance-recommendation', 'i-advised', 'db'),
      spotLine('spot-reclaim', 'i-reclaimed', 'web'),
      spotLine('spot-reclaim', 'i-tagged', 'web', null)
    ])
    // the lines are the format a reader parses back, key order included
    for (const line of spotLines) {
      const text = JSON.stringify(line)
      expect(parseSpotEventLine(text)).toEqual(line)
      expect(Object.keys(JSON.parse(text) as object)).toEqual([
        'event',
        'instance',
        'service',
        'stack',
        'project',
        'at'
      ])
      expect(SPOT_EVENT_FILTER.split(' ').some((term) => text.includes(term.slice(2, -1)))).toBe(true)
    }
    // the batch's own line is still one
    expect(batchLines()).toHaveLength(1)
  })

  test('a throttled EnterStandby does not fail the batch: the warned instance leaves its record all the same', async () => {
    ec2.add(instance('i-warned', 'db', 'running', '10.0.0.1'), instance('i-2', 'db', 'running', '10.0.0.2'))
    written('db', ['10.0.0.1', '10.0.0.2'])
    ec2.failStandby(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }))
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true)

    const response = await makeHandler()(queueEvent([spotWarning('i-warned', 'interruption', AT)]))

    const said = stderr.mock.calls.map((c) => String(c[0]))
    stderr.mockRestore()
    expect(response).toEqual({ batchItemFailures: [] })
    expect(batchLines()[0]?.error).toBeUndefined()
    expect(records()[record('db')]).toEqual(['10.0.0.2'])
    expect(said.join('')).toContain('"standby":"skipped"')
  })

  test('a direct event logs its spot line too, and the default goes to stdout as one JSON line', async () => {
    ec2.add({ ...instance('i-1', 'db', 'shutting-down', '10.0.0.1'), stateReason: 'Server.SpotInstanceTermination' })
    await makeHandler()(stateChange('i-1', 'shutting-down', AT))
    expect(spotLines).toEqual([spotLine('spot-reclaim', 'i-1', 'db')])

    const written: string[] = []
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk))
      return true
    })
    try {
      ec2.add(instance('i-2', 'db', 'running', '10.0.0.2'))
      await createHandler({ ec2: ec2.client, autoscaling: ec2.autoscaling, route53: route53.client, config })(
        spotWarning('i-2', 'interruption', AT)
      )
    } finally {
      spy.mockRestore()
    }
    const parsed = written.map((w) => parseSpotEventLine(w.trim())).filter((l) => l !== undefined)
    expect(parsed).toEqual([spotLine('spot-interruption-warning', 'i-2', 'db')])
    expect(written.every((w) => w.endsWith('\n') && !w.slice(0, -1).includes('\n'))).toBe(true)
  })
})
