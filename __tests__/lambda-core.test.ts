import { describe, expect, test } from '@jest/globals'
import { SPOT_EVENT_FILTER, TAGS, parseSpotEventLine, recordName, serviceTags } from '../src/names.js'
import {
  changeBatch,
  decide,
  GROUP_TAG,
  IN_SERVICE,
  identify,
  parseEvent,
  plan,
  readLags,
  sortIps,
  spotEvent,
  type Decision,
  type InstanceView,
  type RecordSet
} from '../lambda/core.js'
import { nextVersion, parseVersion, versionValue, type VersionRecord } from '../src/record-version.js'

const scope = { project: 'prj-demo', region: 'us-east-1' }
const stack = { ...scope, stack: 'st-wordpress' }
const DB = recordName(stack, 'db')
const TTL = 60

const IN_GROUP = { [GROUP_TAG]: 'prj-demo-st-wordpress-db-od' }

/**
 * An instance as the handler sees it: its group's tag, and when running, its
 * group's view of it (by default InService and HEALTHY, as the handler reads it).
 */
function instance(
  id: string,
  state: string,
  ip: string | undefined,
  tags: Record<string, string> = { ...serviceTags(stack, 'db'), ...IN_GROUP }
): InstanceView {
  const membership = state === 'running' && tags[GROUP_TAG] ? { lifecycle: 'InService', health: 'HEALTHY' } : undefined
  return { id, state, privateIp: ip, tags, membership }
}

function record(values: string[], ttl = TTL, name = `${DB}.`): RecordSet {
  return { name, ttl, values }
}

function planFor(
  event: { instanceId: string; state: string },
  instances: InstanceView[],
  records: RecordSet[] = [],
  versions: VersionRecord[] = []
): Decision {
  return plan({ event, instances, records, versions, scope, ttl: TTL })
}

function txt(n: number, name = `${DB}.`): VersionRecord {
  return { name, ttl: TTL, values: [versionValue(n)] }
}

const bump = (from: number | undefined, ttl = TTL): object[] => [
  ...(from === undefined
    ? []
    : [
        {
          Action: 'DELETE',
          ResourceRecordSet: {
            Name: `${DB}.`,
            Type: 'TXT',
            TTL,
            ResourceRecords: [{ Value: `"hyperform-version=${from}"` }]
          }
        }
      ]),
  {
    Action: 'CREATE',
    ResourceRecordSet: {
      Name: DB,
      Type: 'TXT',
      TTL: ttl,
      ResourceRecords: [{ Value: `"hyperform-version=${(from ?? 0) + 1}"` }]
    }
  }
]

/** Applies a decision to an in-memory zone the way Route 53 would. */
function apply(zone: RecordSet[], decision: Decision): RecordSet[] {
  const rest = zone.filter((r) => r.name.replace(/\.$/, '') !== DB)
  if (decision.action === 'upsert') return [...rest, decision.next]
  if (decision.action === 'delete') return rest
  return zone
}

describe('identify', () => {
  test('an instance of this project names its stack, service and region-qualified record', () => {
    expect(identify(instance('i-1', 'running', '10.0.0.1'), scope)).toEqual({
      stack: 'st-wordpress',
      service: 'db',
      record: 'db.st-wordpress.prj-demo.us-east-1.internal'
    })
  })

  test('an instance of another project is ignored', () => {
    const foreign = instance('i-1', 'running', '10.0.0.1', serviceTags({ ...stack, project: 'other' }, 'db'))
    expect(identify(foreign, scope)).toEqual({ ignore: 'instance belongs to project "other"' })
  })

  test('an instance without tags is ignored', () => {
    expect(identify(instance('i-1', 'running', '10.0.0.1', {}), scope)).toHaveProperty('ignore')
  })

  test('an instance with the project tag but no service tag is ignored', () => {
    const tags = { [TAGS.project]: 'prj-demo', [TAGS.stack]: 'st-wordpress' }
    expect(identify(instance('i-1', 'running', '10.0.0.1', tags), scope)).toHaveProperty('ignore')
  })

  test('a service tag that is not a DNS label is ignored rather than written as a record', () => {
    const tags = { ...serviceTags(stack, 'db'), [TAGS.service]: 'Bad Name' }
    expect(identify(instance('i-1', 'running', '10.0.0.1', tags), scope)).toHaveProperty('ignore')
  })

  test('an instance that was not found is ignored', () => {
    expect(identify(undefined, scope)).toHaveProperty('ignore')
  })
})

describe('plan for every instance state', () => {
  test('a running instance is added to the record with the configured TTL', () => {
    const decision = planFor(
      { instanceId: 'i-2', state: 'running' },
      [instance('i-1', 'running', '10.0.0.1'), instance('i-2', 'running', '10.0.0.2')],
      [record(['10.0.0.1'])]
    )
    expect(decision).toMatchObject({ action: 'upsert', next: { name: DB, ttl: TTL, values: ['10.0.0.1', '10.0.0.2'] } })
  })

  test('a pending instance does not count, so its event changes nothing', () => {
    const decision = planFor(
      { instanceId: 'i-2', state: 'pending' },
      [instance('i-1', 'running', '10.0.0.1'), instance('i-2', 'pending', '10.0.0.2')],
      [record(['10.0.0.1'])]
    )
    expect(decision.action).toBe('noop')
  })

  test.each(['shutting-down', 'stopping', 'stopped', 'terminated'])(
    'an instance that is %s leaves the record early',
    (state) => {
      const decision = planFor(
        { instanceId: 'i-2', state },
        [
          instance('i-1', 'running', '10.0.0.1'),
          instance('i-2', state, state === 'terminated' ? undefined : '10.0.0.2')
        ],
        [record(['10.0.0.1', '10.0.0.2'])]
      )
      expect(decision).toMatchObject({ action: 'upsert', next: { values: ['10.0.0.1'] } })
    }
  )

  test('a terminated instance without a private IP adds no empty value', () => {
    const decision = planFor({ instanceId: 'i-2', state: 'terminated' }, [
      instance('i-1', 'running', '10.0.0.1'),
      instance('i-2', 'terminated', undefined)
    ])
    expect(decision).toMatchObject({ action: 'upsert', next: { values: ['10.0.0.1'] } })
  })

  test('when the last running instance is gone the exact current record is deleted and its version bumped, the TXT staying', () => {
    const current = record(['10.0.0.9', '10.0.0.2'], 300)
    const decision = planFor(
      { instanceId: 'i-2', state: 'terminated' },
      [instance('i-2', 'terminated', undefined)],
      [current],
      [txt(4)]
    )
    expect(decision).toMatchObject({ action: 'delete', current, version: txt(4) })
    expect(changeBatch(decision)).toEqual([
      {
        Action: 'DELETE',
        ResourceRecordSet: {
          Name: `${DB}.`,
          Type: 'A',
          TTL: 300,
          ResourceRecords: [{ Value: '10.0.0.9' }, { Value: '10.0.0.2' }]
        }
      },
      ...bump(4, 300)
    ])
  })

  test('when nothing runs and no record exists nothing is written', () => {
    const decision = planFor({ instanceId: 'i-2', state: 'terminated' }, [instance('i-2', 'terminated', undefined)])
    expect(decision.action).toBe('noop')
    expect(changeBatch(decision)).toEqual([])
  })

  test('a record already equal up to order, case and trailing dot is left alone', () => {
    const current = record(['10.0.0.2', '10.0.0.1'], TTL, `${DB.toUpperCase()}.`)
    const decision = planFor(
      { instanceId: 'i-1', state: 'running' },
      [instance('i-1', 'running', '10.0.0.1'), instance('i-2', 'running', '10.0.0.2')],
      [current]
    )
    expect(decision.action).toBe('noop')
  })

  test('a record with the right IPs but another TTL is rewritten', () => {
    const decision = planFor(
      { instanceId: 'i-1', state: 'running' },
      [instance('i-1', 'running', '10.0.0.1')],
      [record(['10.0.0.1'], 300)]
    )
    expect(decision).toMatchObject({ action: 'upsert', next: { ttl: TTL } })
  })

  test('instances of the same service name in another stack or project do not count', () => {
    const otherStack = serviceTags({ ...stack, stack: 'st-other' }, 'db')
    const otherProject = serviceTags({ ...stack, project: 'prj-other' }, 'db')
    const decision = planFor({ instanceId: 'i-1', state: 'running' }, [
      instance('i-1', 'running', '10.0.0.1'),
      instance('i-2', 'running', '10.0.0.2', otherStack),
      instance('i-3', 'running', '10.0.0.3', otherProject),
      instance('i-4', 'running', '10.0.0.4', serviceTags(stack, 'web'))
    ])
    expect(decision).toMatchObject({ action: 'upsert', next: { values: ['10.0.0.1'] } })
  })

  test('an event for an instance of another project is ignored even if it is listed', () => {
    const foreign = serviceTags({ ...stack, project: 'prj-other' }, 'db')
    const decision = planFor({ instanceId: 'i-9', state: 'running' }, [instance('i-9', 'running', '10.0.0.9', foreign)])
    expect(decision.action).toBe('ignore')
  })
})

describe('convergence', () => {
  const world = [
    instance('i-1', 'running', '10.0.0.1'),
    instance('i-2', 'terminated', undefined),
    instance('i-3', 'running', '10.0.0.3')
  ]

  test('a duplicate event gives the same decision, and after it is applied a second delivery is a no-op', () => {
    const event = { instanceId: 'i-3', state: 'running' }
    const first = planFor(event, world)
    expect(planFor(event, world)).toEqual(first)
    const zone = apply([], first)
    expect(planFor(event, world, zone).action).toBe('noop')
  })

  test.each([
    ['terminated', undefined],
    ['shutting-down', '10.0.0.2']
  ])('a running event delivered after the %s event converges to the truth', (state, ip) => {
    const now = [
      instance('i-1', 'running', '10.0.0.1'),
      instance('i-2', state, ip),
      instance('i-3', 'running', '10.0.0.3')
    ]
    const inOrder = [
      { instanceId: 'i-2', state: 'running' },
      { instanceId: 'i-2', state }
    ]
    const run = (events: typeof inOrder): RecordSet[] =>
      events.reduce((zone, event) => apply(zone, planFor(event, now, zone)), [record(['10.0.0.1', '10.0.0.2'])])
    expect(run(inOrder)).toEqual([{ name: DB, ttl: TTL, values: ['10.0.0.1', '10.0.0.3'] }])
    expect(run([...inOrder].reverse())).toEqual(run(inOrder))
  })

  test('IPs are sorted numerically and de-duplicated', () => {
    expect(sortIps(['10.0.0.10', '10.0.0.9', '10.0.0.10', '9.1.1.1'])).toEqual(['9.1.1.1', '10.0.0.9', '10.0.0.10'])
    const target = { stack: 'st-wordpress', service: 'db', record: DB }
    expect(decide({ target, ips: ['10.0.0.2', '10.0.0.2'], current: undefined, ttl: TTL })).toMatchObject({
      next: { values: ['10.0.0.2'] }
    })
  })
})

describe('in service in the group', () => {
  const launched = { instanceId: 'i-2', state: IN_SERVICE }
  const member = (id: string, ip: string, lifecycle: string, health = 'HEALTHY'): InstanceView => ({
    ...instance(id, 'running', ip),
    membership: { lifecycle, health }
  })

  test('only running instances their group has InService and HEALTHY are listed', () => {
    const decision = planFor({ instanceId: 'i-1', state: 'running' }, [
      member('i-1', '10.0.0.1', 'InService'),
      member('i-2', '10.0.0.2', 'Pending:Wait'),
      member('i-3', '10.0.0.3', 'Pending:Proceed'),
      member('i-4', '10.0.0.4', 'Terminating'),
      member('i-5', '10.0.0.5', 'Terminating:Wait'),
      member('i-6', '10.0.0.6', 'InService', 'UNHEALTHY'),
      { ...instance('i-7', 'stopping', '10.0.0.7'), membership: { lifecycle: 'InService', health: 'HEALTHY' } }
    ])
    expect(decision).toMatchObject({ action: 'upsert', next: { values: ['10.0.0.1'] } })
  })

  test('an instance in no Auto Scaling group, or whose group was not read, is not listed', () => {
    const alone = instance('i-1', 'running', '10.0.0.1', serviceTags(stack, 'db'))
    const unread = { ...instance('i-2', 'running', '10.0.0.2'), membership: undefined }
    expect(alone.membership).toBeUndefined()
    expect(planFor({ instanceId: 'i-1', state: 'running' }, [alone, unread], [record(['10.0.0.1'])])).toMatchObject({
      action: 'delete'
    })
  })

  test('a running instance held Pending:Wait leaves the record as it was; once InService it is added', () => {
    const before = planFor(
      { instanceId: 'i-2', state: 'running' },
      [member('i-1', '10.0.0.1', 'InService'), member('i-2', '10.0.0.2', 'Pending:Wait')],
      [record(['10.0.0.1'])]
    )
    expect(before.action).toBe('noop')
    const after = planFor(
      launched,
      [member('i-1', '10.0.0.1', 'InService'), member('i-2', '10.0.0.2', 'InService')],
      [record(['10.0.0.1'])]
    )
    expect(after).toMatchObject({ action: 'upsert', next: { values: ['10.0.0.1', '10.0.0.2'] } })
  })

  test('after a Launch Successful event, a group read showing it Pending:* or not at all, or EC2 pending, lags', () => {
    for (const lifecycle of ['Pending', 'Pending:Wait', 'Pending:Proceed'])
      expect(planFor(launched, [member('i-2', '10.0.0.2', lifecycle)])).toMatchObject({
        action: 'reread',
        reason: expect.stringContaining(lifecycle)
      })
    expect(planFor(launched, [{ ...instance('i-2', 'running', '10.0.0.2'), membership: undefined }]).action).toBe(
      'reread'
    )
    expect(planFor(launched, [instance('i-2', 'pending', '10.0.0.2')]).action).toBe('reread')
  })

  test('after a Launch Successful event, a later state is no lag: Terminating, UNHEALTHY or gone is simply not listed', () => {
    expect(planFor(launched, [member('i-2', '10.0.0.2', 'Terminating')]).action).toBe('noop')
    expect(planFor(launched, [member('i-2', '10.0.0.2', 'InService', 'UNHEALTHY')]).action).toBe('noop')
    expect(planFor(launched, [instance('i-2', 'shutting-down', '10.0.0.2')]).action).toBe('noop')
    expect(planFor(launched, [instance('i-2', 'terminated', undefined)], [record(['10.0.0.2'])]).action).toBe('delete')
  })

  test('without an event, a group read showing Pending:* an instance whose IP the record holds lags too', () => {
    const decision = planFor(
      { instanceId: 'i-1', state: 'running' },
      [member('i-1', '10.0.0.1', 'InService'), member('i-2', '10.0.0.2', 'Pending:Wait')],
      [record(['10.0.0.1', '10.0.0.2'])]
    )
    expect(decision).toMatchObject({ action: 'reread', reason: expect.stringContaining('10.0.0.2 of i-2') })
  })
})

describe('read lag', () => {
  test('a read that still shows pending after a running event asks for a re-read', () => {
    const decision = planFor({ instanceId: 'i-1', state: 'running' }, [instance('i-1', 'pending', '10.0.0.1')])
    expect(decision.action).toBe('reread')
  })

  test('a read that still shows running after a terminated event asks for a re-read', () => {
    expect(readLags('terminated', 'running')).toBe(true)
    expect(readLags('shutting-down', 'running')).toBe(true)
  })

  test('a later state than the event, or an order a restart makes ambiguous, is not a lag', () => {
    expect(readLags('running', 'terminated')).toBe(false)
    expect(readLags('stopped', 'running')).toBe(false)
    expect(readLags('stopping', 'running')).toBe(false)
    expect(readLags('pending', 'stopped')).toBe(false)
  })
})

describe('change batches', () => {
  const target = { stack: 'st-wordpress', service: 'db', record: DB }

  test('replacing a record deletes the exact current set, creates the new one and bumps the version, in one batch', () => {
    const current = record(['10.0.0.1'], 300)
    const batch = changeBatch(decide({ target, ips: ['10.0.0.2', '10.0.0.1'], current, version: txt(7), ttl: TTL }))
    expect(batch.map((c) => `${c.Action} ${c.ResourceRecordSet.Type}`)).toEqual([
      'DELETE A',
      'CREATE A',
      'DELETE TXT',
      'CREATE TXT'
    ])
    expect(batch[0]?.ResourceRecordSet).toEqual({
      Name: `${DB}.`,
      Type: 'A',
      TTL: 300,
      ResourceRecords: [{ Value: '10.0.0.1' }]
    })
    expect(batch[1]?.ResourceRecordSet).toEqual({
      Name: DB,
      Type: 'A',
      TTL,
      ResourceRecords: [{ Value: '10.0.0.1' }, { Value: '10.0.0.2' }]
    })
    expect(batch.slice(2)).toEqual(bump(7))
  })

  test('a first record is a CREATE with a first version, CREATE TXT "1": both fail if another writer created them meanwhile', () => {
    const batch = changeBatch(decide({ target, ips: ['10.0.0.1'], current: undefined, ttl: TTL }))
    expect(batch.map((c) => `${c.Action} ${c.ResourceRecordSet.Type}`)).toEqual(['CREATE A', 'CREATE TXT'])
    expect(batch[1]?.ResourceRecordSet.ResourceRecords).toEqual([{ Value: '"hyperform-version=1"' }])
  })

  test('a record emptied earlier (version record only) is created again with the next version', () => {
    const decision = planFor(
      { instanceId: 'i-1', state: 'running' },
      [instance('i-1', 'running', '10.0.0.1')],
      [],
      [txt(3)]
    )
    expect(changeBatch(decision).slice(1)).toEqual(bump(3))
  })

  test("the version record of another name is not this record's", () => {
    const other = txt(9, `web.st-wordpress.prj-demo.us-east-1.internal.`)
    const decision = planFor(
      { instanceId: 'i-1', state: 'running' },
      [instance('i-1', 'running', '10.0.0.1')],
      [],
      [other]
    )
    expect(decision).toMatchObject({ action: 'upsert', version: undefined })
  })

  test('an A-B-A change of the record still changes the version, so the swap of a stalled writer cannot apply', () => {
    const stalled = changeBatch(
      decide({ target, ips: ['10.0.0.1', '10.0.0.2'], current: record(['10.0.0.1']), version: txt(1), ttl: TTL })
    )
    // two writes since: [1] -> [1, 2] (version 2) -> [1] (version 3); the A record is back to what the stalled writer read
    const deleteTxt = stalled.find((c) => c.Action === 'DELETE' && c.ResourceRecordSet.Type === 'TXT')
    expect(deleteTxt?.ResourceRecordSet.ResourceRecords).toEqual([{ Value: versionValue(1) }])
    expect(deleteTxt?.ResourceRecordSet.ResourceRecords).not.toEqual([{ Value: versionValue(3) }])
  })

  test('decisions that write nothing have an empty batch', () => {
    expect(
      changeBatch(decide({ target, ips: ['10.0.0.1'], current: record(['10.0.0.1']), version: txt(2), ttl: TTL }))
    ).toEqual([])
  })
})

describe('version values', () => {
  test('are read with or without quotes, and anything else is no version', () => {
    expect(parseVersion(['"hyperform-version=12"'])).toBe(12)
    expect(parseVersion(['hyperform-version=3'])).toBe(3)
    expect(parseVersion(['"v=spf1"', '"hyperform-version=5"'])).toBe(5)
    expect(parseVersion(['"something else"'])).toBeUndefined()
  })

  test('the next version follows the one read, and is 1 when there is none', () => {
    expect(nextVersion(undefined)).toBe(1)
    expect(nextVersion(txt(41))).toBe(42)
    expect(nextVersion({ name: DB, ttl: TTL, values: ['"edited by hand"'] })).toBe(1)
  })
})

describe('parseEvent', () => {
  test('reads the instance id and state of a state-change notification', () => {
    const event = {
      'detail-type': 'EC2 Instance State-change Notification',
      detail: { 'instance-id': 'i-1', state: 'stopping' }
    }
    expect(parseEvent(event)).toEqual({ instanceId: 'i-1', state: 'stopping' })
  })

  test('reads the instance of an Auto Scaling Launch Successful as in service; other Auto Scaling events are none', () => {
    const event = {
      source: 'aws.autoscaling',
      'detail-type': 'EC2 Instance Launch Successful',
      detail: { EC2InstanceId: 'i-1', AutoScalingGroupName: 'g', StatusCode: 'InProgress' }
    }
    expect(parseEvent(event)).toEqual({ instanceId: 'i-1', state: IN_SERVICE })
    expect(parseEvent({ ...event, 'detail-type': 'EC2 Instance Terminate Successful' })).toBeUndefined()
    expect(parseEvent({ ...event, 'detail-type': 'EC2 Instance-launch Lifecycle Action' })).toBeUndefined()
    expect(parseEvent({ ...event, detail: { AutoScalingGroupName: 'g' } })).toBeUndefined()
  })

  test('rejects events without an instance id', () => {
    expect(parseEvent({ detail: { state: 'running' } })).toBeUndefined()
    expect(parseEvent(null)).toBeUndefined()
    expect(parseEvent({ detail: 'x' })).toBeUndefined()
  })
})

describe('spot warnings', () => {
  test('both warnings name their instance with a state of their own, which no EC2 state spells', () => {
    expect(
      parseEvent({
        source: 'aws.ec2',
        'detail-type': 'EC2 Spot Instance Interruption Warning',
        detail: { 'instance-id': 'i-1', 'instance-action': 'terminate' }
      })
    ).toEqual({ instanceId: 'i-1', state: 'interruption-warning' })
    expect(
      parseEvent({
        source: 'aws.ec2',
        'detail-type': 'EC2 Instance Rebalance Recommendation',
        detail: { 'instance-id': 'i-2' }
      })
    ).toEqual({ instanceId: 'i-2', state: 'rebalance-recommendation' })
  })

  test('a warned instance leaves the record at once, though its group still has it in service and its tag is not read yet', () => {
    const decision = planFor(
      { instanceId: 'i-1', state: 'interruption-warning' },
      [instance('i-1', 'running', '10.0.0.1'), instance('i-2', 'running', '10.0.0.2')],
      [record(['10.0.0.1', '10.0.0.2'])]
    )
    expect(decision).toMatchObject({ action: 'upsert', next: { values: ['10.0.0.2'] } })
  })

  test('an instance tagged leaving is never listed again, whatever later event recomputes its service', () => {
    const leaving = instance('i-1', 'running', '10.0.0.1', {
      ...serviceTags(stack, 'db'),
      ...IN_GROUP,
      [TAGS.leaving]: 'rebalance-recommendation'
    })
    const decision = planFor(
      { instanceId: 'i-3', state: 'running' },
      [leaving, instance('i-3', 'running', '10.0.0.3')],
      [record(['10.0.0.1'])]
    )
    expect(decision).toMatchObject({ action: 'upsert', next: { values: ['10.0.0.3'] } })
  })
})

describe('spot lines', () => {
  const target = { stack: 'st-wordpress', service: 'db', record: DB }
  const view = (reason?: string, leaving?: string): InstanceView => ({
    id: 'i-1',
    state: 'terminated',
    privateIp: undefined,
    tags: { ...serviceTags(stack, 'db'), ...(leaving ? { [TAGS.leaving]: leaving } : {}) },
    ...(reason ? { stateReason: reason } : {})
  })
  const at = '2026-03-01T10:00:00Z'

  test("an event's time is kept with its change", () => {
    expect(
      parseEvent({
        source: 'aws.ec2',
        'detail-type': 'EC2 Spot Instance Interruption Warning',
        time: at,
        detail: { 'instance-id': 'i-1', 'instance-action': 'terminate' }
      })
    ).toEqual({ instanceId: 'i-1', state: 'interruption-warning', time: at })
  })

  test('each warning makes its line; a shutting-down change makes one only for a spot reclaim', () => {
    const line = (event: string, time: string | null = at) => ({
      event,
      instance: 'i-1',
      service: 'db',
      stack: 'st-wordpress',
      project: 'prj-demo',
      at: time
    })
    const of = (state: string, instance: InstanceView | undefined, time: string | null = at) =>
      spotEvent({ instanceId: 'i-1', state, ...(time ? { time } : {}) }, target, instance, 'prj-demo')
    expect(of('interruption-warning', view())).toEqual(line('spot-interruption-warning'))
    expect(of('rebalance-recommendation', undefined, null)).toEqual(line('rebalance-recommendation', null))
    expect(of('shutting-down', view('Server.SpotInstanceTermination'))).toEqual(line('spot-reclaim'))
    // the reason not read yet: warned of its reclaim is enough; advised of a rebalance is not
    expect(of('shutting-down', view(undefined, 'interruption-warning'))).toEqual(line('spot-reclaim'))
    expect(of('shutting-down', view(undefined, 'rebalance-recommendation'))).toBeUndefined()
    // a reason that says otherwise wins over the tag
    expect(of('shutting-down', view('Client.UserInitiatedShutdown', 'interruption-warning'))).toBeUndefined()
    expect(of('shutting-down', view())).toBeUndefined()
    expect(of('shutting-down', undefined)).toBeUndefined()
    // one reclaim, one line: its terminated change makes none
    expect(of('terminated', view('Server.SpotInstanceTermination'))).toBeUndefined()
    expect(of('running', view())).toBeUndefined()
  })

  test('a line parses back; anything else does not', () => {
    const line = spotEvent({ instanceId: 'i-1', state: 'interruption-warning' }, target, view(), 'prj-demo')
    expect(parseSpotEventLine(JSON.stringify(line))).toEqual(line)
    expect(parseSpotEventLine('{"instance":"i-1","state":"rebalance-recommendation","action":"noop"}')).toBeUndefined()
    expect(parseSpotEventLine(JSON.stringify({ ...line, event: 'reclaim' }))).toBeUndefined()
    expect(parseSpotEventLine(JSON.stringify({ ...line, at: 5 }))).toBeUndefined()
    expect(parseSpotEventLine('not json')).toBeUndefined()
    expect(parseSpotEventLine('null')).toBeUndefined()
    expect(SPOT_EVENT_FILTER).toBe('?"spot-interruption-warning" ?"rebalance-recommendation" ?"spot-reclaim"')
  })
})
