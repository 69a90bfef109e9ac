import { describe, expect, test } from '@jest/globals'
import { TAGS, recordName, serviceTags } from '../src/names.js'
import { versionValue, type VersionRecord } from '../src/record-version.js'
import {
  CHANGE_LIMITS,
  changeBatch,
  changeRequests,
  decide,
  GROUP_TAG,
  IN_SERVICE,
  parseQueueEvent,
  parseTrigger,
  planBatch,
  projectTargets,
  targetOfRecord,
  type Decision,
  type InstanceView,
  type RecordSet,
  type Target
} from '../lambda/core.js'

const scope = { project: 'prj-demo', region: 'us-east-1' }
const stack = { ...scope, stack: 'st-app' }
const TTL = 60

function target(service: string, stackName = stack.stack): Target {
  return { stack: stackName, service, record: recordName({ ...stack, stack: stackName }, service) }
}

/** A group member as the handler sees it: running ones InService and HEALTHY unless told otherwise. */
function instance(id: string, service: string, state: string, ip: string | undefined): InstanceView {
  const membership = state === 'running' ? { lifecycle: 'InService', health: 'HEALTHY' } : undefined
  return {
    id,
    state,
    privateIp: ip,
    tags: { ...serviceTags(stack, service), [GROUP_TAG]: `asg-${service}` },
    membership
  }
}

/** A running member its group holds in the given lifecycle state. */
function member(id: string, service: string, ip: string, lifecycle: string): InstanceView {
  return { ...instance(id, service, 'running', ip), membership: { lifecycle, health: 'HEALTHY' } }
}

function record(service: string, values: string[], ttl = TTL): RecordSet {
  return { name: `${target(service).record}.`, ttl, values }
}

function txt(service: string, n: number): VersionRecord {
  return { name: `${target(service).record}.`, ttl: TTL, values: [versionValue(n)] }
}

const stateChange = (id: string, state: string): object => ({
  source: 'aws.ec2',
  'detail-type': 'EC2 Instance State-change Notification',
  detail: { 'instance-id': id, state }
})

describe('what an event asks for', () => {
  test('a state change names its instance, a schedule asks for everything, anything else for nothing', () => {
    expect(parseTrigger(stateChange('i-1', 'running'))).toEqual({
      kind: 'change',
      change: { instanceId: 'i-1', state: 'running' }
    })
    expect(parseTrigger({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} })).toEqual({
      kind: 'reconcile'
    })
    expect(parseTrigger({ source: 'aws.events', detail: {} })).toMatchObject({ kind: 'other' })
    expect(parseTrigger({ source: 'aws.ec2', 'detail-type': 'Scheduled Event' })).toMatchObject({ kind: 'other' })
    expect(parseTrigger('i-1')).toMatchObject({ kind: 'other' })
  })

  test('an SQS event gives each message its id and what its body asks for; a body that is not JSON asks for nothing', () => {
    const sqs = (body: string, messageId: string): object => ({
      messageId,
      receiptHandle: 'r',
      body,
      eventSource: 'aws:sqs',
      attributes: {}
    })
    const event = {
      Records: [
        sqs(JSON.stringify(stateChange('i-1', 'terminated')), 'a'),
        sqs('{"source":"aws.events","detail-type":"Scheduled Event"}', 'b'),
        sqs('{oops', 'c')
      ]
    }
    expect(parseQueueEvent(event)).toEqual([
      { messageId: 'a', trigger: { kind: 'change', change: { instanceId: 'i-1', state: 'terminated' } } },
      { messageId: 'b', trigger: { kind: 'reconcile' } },
      { messageId: 'c', trigger: { kind: 'other', reason: 'message body is not JSON' } }
    ])
  })

  test('an event with Records that are not SQS messages is not an SQS event', () => {
    expect(parseQueueEvent({ Records: [{ eventSource: 'aws:sns', messageId: 'x', body: '{}' }] })).toBeUndefined()
    expect(parseQueueEvent(stateChange('i-1', 'running'))).toBeUndefined()
    expect(parseQueueEvent({ Records: [] })).toEqual([])
  })
})

describe('planBatch', () => {
  test('every service gets its own decision from the same reads, each service once however many events name it', () => {
    const instances = [
      instance('i-1', 'db', 'running', '10.0.0.1'),
      instance('i-2', 'web', 'running', '10.0.0.2'),
      instance('i-3', 'web', 'terminated', undefined)
    ]
    const changes = [
      { change: { instanceId: 'i-2', state: 'running' }, target: target('web') },
      { change: { instanceId: 'i-3', state: 'terminated' }, target: target('web') },
      { change: { instanceId: 'i-3', state: 'shutting-down' }, target: target('web') }
    ]
    const decisions = planBatch({
      targets: [target('db'), target('web'), target('web')],
      changes,
      instances,
      records: [record('db', ['10.0.0.1']), record('web', ['10.0.0.2', '10.0.0.3'])],
      versions: [txt('web', 4)],
      scope,
      ttl: TTL
    })
    expect(decisions.map((d) => [d.action, 'target' in d ? d.target.service : null])).toEqual([
      ['noop', 'db'],
      ['upsert', 'web']
    ])
    expect(decisions[1]).toMatchObject({ next: { values: ['10.0.0.2'] }, version: txt('web', 4) })
  })

  test("a read lagging one service's event defers that service alone", () => {
    const decisions = planBatch({
      targets: [target('db'), target('web')],
      changes: [
        { change: { instanceId: 'i-1', state: 'running' }, target: target('db') },
        { change: { instanceId: 'i-2', state: 'terminated' }, target: target('web') }
      ],
      instances: [instance('i-1', 'db', 'running', '10.0.0.1'), instance('i-2', 'web', 'running', '10.0.0.2')],
      records: [],
      versions: [],
      scope,
      ttl: TTL
    })
    expect(decisions.map((d) => d.action)).toEqual(['upsert', 'reread'])
    expect(decisions[1]).toMatchObject({ reason: 'read shows i-2 running after a terminated event' })
  })

  test('without any event, a read showing pending an instance whose IP the record holds is a lagging read, not a removal', () => {
    const plan = (instances: InstanceView[]): Decision[] =>
      planBatch({
        targets: [target('db')],
        changes: [],
        instances,
        records: [record('db', ['10.0.0.1', '10.0.0.2'])],
        versions: [],
        scope,
        ttl: TTL
      })
    expect(
      plan([instance('i-1', 'db', 'running', '10.0.0.1'), instance('i-2', 'db', 'pending', '10.0.0.2')])[0]
    ).toMatchObject({
      action: 'reread',
      reason: 'record holds 10.0.0.2 of i-2, which the read shows pending'
    })
    // not held by the record: a pending instance simply does not count yet
    expect(
      plan([instance('i-1', 'db', 'running', '10.0.0.1'), instance('i-3', 'db', 'pending', '10.0.0.3')])[0]
    ).toMatchObject({
      action: 'upsert',
      next: { values: ['10.0.0.1'] }
    })
  })

  test('a group read showing Pending:Wait an instance whose IP the record holds lags, except on the last round', () => {
    const plan = (lastRound: boolean): Decision[] =>
      planBatch({
        targets: [target('db')],
        changes: [],
        instances: [instance('i-1', 'db', 'running', '10.0.0.1'), member('i-2', 'db', '10.0.0.2', 'Pending:Wait')],
        records: [record('db', ['10.0.0.1', '10.0.0.2'])],
        versions: [],
        scope,
        ttl: TTL,
        lastRound
      })
    expect(plan(false)[0]).toMatchObject({
      action: 'reread',
      reason: 'record holds 10.0.0.2 of i-2, which the read shows Pending:Wait in its group'
    })
    // an IP reused by a new instance its launch hook holds for minutes: the record drops it
    expect(plan(true)[0]).toMatchObject({ action: 'upsert', next: { values: ['10.0.0.1'] } })
  })

  test('a Launch Successful the group read lags stays a lagging read even on the last round', () => {
    const decisions = planBatch({
      targets: [target('db')],
      changes: [{ change: { instanceId: 'i-2', state: IN_SERVICE }, target: target('db') }],
      instances: [member('i-2', 'db', '10.0.0.2', 'Pending:Proceed')],
      records: [],
      versions: [],
      scope,
      ttl: TTL,
      lastRound: true
    })
    expect(decisions[0]).toMatchObject({ action: 'reread' })
  })

  test('a service with no running instance and a record gets a delete of the exact record', () => {
    const [decision] = planBatch({
      targets: [target('db')],
      changes: [],
      instances: [instance('i-1', 'db', 'stopped', undefined)],
      records: [record('db', ['10.0.0.1'], 300)],
      versions: [txt('db', 2)],
      scope,
      ttl: TTL
    })
    expect(decision).toMatchObject({
      action: 'delete',
      current: record('db', ['10.0.0.1'], 300),
      version: txt('db', 2)
    })
  })
})

describe('the services of a reconcile', () => {
  test('are those with an instance in the read and those with a version record, each once, sorted by record', () => {
    const instances = [
      instance('i-1', 'web', 'running', '10.0.0.1'),
      instance('i-2', 'web', 'stopped', undefined),
      instance('i-3', 'db', 'pending', '10.0.0.3'),
      {
        id: 'i-4',
        state: 'running',
        privateIp: '10.0.0.4',
        tags: serviceTags({ ...stack, project: 'prj-other' }, 'api')
      },
      { id: 'i-5', state: 'running', privateIp: '10.0.0.5', tags: { [TAGS.project]: 'prj-demo' } }
    ]
    const versions = [
      txt('web', 3),
      txt('gone', 9),
      { name: `other.st-app.prj-demo.us-east-1.internal.`, ttl: TTL, values: ['"v=spf1 -all"'] }
    ]
    expect(projectTargets(instances, versions, scope)).toEqual([target('db'), target('gone'), target('web')])
  })

  test('a record name is a service record only as <service>.<stack>.<zone>, both DNS labels', () => {
    expect(targetOfRecord('DB.St-App.prj-demo.us-east-1.internal.', scope)).toEqual(target('db'))
    expect(targetOfRecord('prj-demo.us-east-1.internal.', scope)).toBeUndefined()
    expect(targetOfRecord('st-app.prj-demo.us-east-1.internal', scope)).toBeUndefined()
    expect(targetOfRecord('a.db.st-app.prj-demo.us-east-1.internal', scope)).toBeUndefined()
    expect(targetOfRecord('db.st-app.prj-other.us-east-1.internal', scope)).toBeUndefined()
    expect(targetOfRecord('_x.st-app.prj-demo.us-east-1.internal', scope)).toBeUndefined()
  })
})

describe('change requests', () => {
  const swap = (service: string, from: string[], to: string[], version: number): Decision =>
    decide({
      target: target(service),
      ips: to,
      current: record(service, from),
      version: txt(service, version),
      ttl: TTL
    })

  test("all services' swaps go in one request, in order, each whole", () => {
    const decisions = [
      swap('a', ['10.0.0.1'], ['10.0.0.2'], 1),
      decide({ target: target('b'), ips: ['10.0.0.3'], current: record('b', ['10.0.0.3']), ttl: TTL }),
      swap('c', ['10.0.0.4'], [], 7)
    ]
    const requests = changeRequests(decisions)
    expect(requests).toHaveLength(1)
    expect(requests[0]?.decisions.map((d) => d.action)).toEqual(['upsert', 'delete'])
    expect(requests[0]?.changes).toEqual([
      ...changeBatch(decisions[0] as Decision),
      ...changeBatch(decisions[2] as Decision)
    ])
  })

  test('past the ResourceRecord or value-character limit a new request starts, between two services', () => {
    const decisions = ['a', 'b', 'c'].map((s, i) => swap(s, [`10.0.${i}.1`], [`10.0.${i}.2`, `10.0.${i}.3`], 1))
    // each swap holds 1 + 2 A values and 2 TXT values: 5 records
    expect(
      changeRequests(decisions, { records: 10, valueChars: CHANGE_LIMITS.valueChars }).map((r) => r.decisions.length)
    ).toEqual([2, 1])
    expect(
      changeRequests(decisions, { records: 9, valueChars: CHANGE_LIMITS.valueChars }).map((r) => r.decisions.length)
    ).toEqual([1, 1, 1])
    const chars = changeBatch(decisions[0] as Decision)
      .flatMap((c) => c.ResourceRecordSet.ResourceRecords.map((r) => r.Value))
      .join('').length
    expect(
      changeRequests(decisions, { records: 1000, valueChars: 3 * chars - 1 }).map((r) => r.decisions.length)
    ).toEqual([2, 1])
  })

  test('decisions that write nothing make no request', () => {
    expect(changeRequests([decide({ target: target('a'), ips: [], current: undefined, ttl: TTL })])).toEqual([])
  })
})
