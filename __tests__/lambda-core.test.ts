import { describe, expect, test } from '@jest/globals'
import { TAGS, recordName, serviceTags } from '../src/names.js'
import {
  changeBatch,
  decide,
  identify,
  parseEvent,
  plan,
  readLags,
  sortIps,
  staleAfterWrite,
  type Decision,
  type InstanceView,
  type RecordSet
} from '../lambda/core.js'

const scope = { project: 'prj-demo', region: 'us-east-1' }
const stack = { ...scope, stack: 'st-wordpress' }
const DB = recordName(stack, 'db')
const TTL = 60

function instance(id: string, state: string, ip: string | undefined, tags = serviceTags(stack, 'db')): InstanceView {
  return { id, state, privateIp: ip, tags }
}

function record(values: string[], ttl = TTL, name = `${DB}.`): RecordSet {
  return { name, ttl, values }
}

function planFor(event: { instanceId: string; state: string }, instances: InstanceView[], records: RecordSet[] = []): Decision {
  return plan({ event, instances, records, scope, ttl: TTL })
}

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
    const decision = planFor({ instanceId: 'i-2', state: 'running' }, [
      instance('i-1', 'running', '10.0.0.1'),
      instance('i-2', 'running', '10.0.0.2')
    ], [record(['10.0.0.1'])])
    expect(decision).toMatchObject({ action: 'upsert', next: { name: DB, ttl: TTL, values: ['10.0.0.1', '10.0.0.2'] } })
  })

  test('a pending instance does not count, so its event changes nothing', () => {
    const decision = planFor({ instanceId: 'i-2', state: 'pending' }, [
      instance('i-1', 'running', '10.0.0.1'),
      instance('i-2', 'pending', '10.0.0.2')
    ], [record(['10.0.0.1'])])
    expect(decision.action).toBe('noop')
  })

  test.each(['shutting-down', 'stopping', 'stopped', 'terminated'])('an instance that is %s leaves the record early', (state) => {
    const decision = planFor({ instanceId: 'i-2', state }, [
      instance('i-1', 'running', '10.0.0.1'),
      instance('i-2', state, state === 'terminated' ? undefined : '10.0.0.2')
    ], [record(['10.0.0.1', '10.0.0.2'])])
    expect(decision).toMatchObject({ action: 'upsert', next: { values: ['10.0.0.1'] } })
  })

  test('a terminated instance without a private IP adds no empty value', () => {
    const decision = planFor({ instanceId: 'i-2', state: 'terminated' }, [
      instance('i-1', 'running', '10.0.0.1'),
      instance('i-2', 'terminated', undefined)
    ])
    expect(decision).toMatchObject({ action: 'upsert', next: { values: ['10.0.0.1'] } })
  })

  test('when the last running instance is gone the exact current record is deleted', () => {
    const current = record(['10.0.0.9', '10.0.0.2'], 300)
    const decision = planFor({ instanceId: 'i-2', state: 'terminated' }, [instance('i-2', 'terminated', undefined)], [current])
    expect(decision).toMatchObject({ action: 'delete', current })
    expect(changeBatch(decision)).toEqual([
      {
        Action: 'DELETE',
        ResourceRecordSet: {
          Name: `${DB}.`,
          Type: 'A',
          TTL: 300,
          ResourceRecords: [{ Value: '10.0.0.9' }, { Value: '10.0.0.2' }]
        }
      }
    ])
  })

  test('when nothing runs and no record exists nothing is written', () => {
    const decision = planFor({ instanceId: 'i-2', state: 'terminated' }, [instance('i-2', 'terminated', undefined)])
    expect(decision.action).toBe('noop')
    expect(changeBatch(decision)).toEqual([])
  })

  test('a record already equal up to order, case and trailing dot is left alone', () => {
    const current = record(['10.0.0.2', '10.0.0.1'], TTL, `${DB.toUpperCase()}.`)
    const decision = planFor({ instanceId: 'i-1', state: 'running' }, [
      instance('i-1', 'running', '10.0.0.1'),
      instance('i-2', 'running', '10.0.0.2')
    ], [current])
    expect(decision.action).toBe('noop')
  })

  test('a record with the right IPs but another TTL is rewritten', () => {
    const decision = planFor({ instanceId: 'i-1', state: 'running' }, [instance('i-1', 'running', '10.0.0.1')], [record(['10.0.0.1'], 300)])
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
  const world = [instance('i-1', 'running', '10.0.0.1'), instance('i-2', 'terminated', undefined), instance('i-3', 'running', '10.0.0.3')]

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
    const now = [instance('i-1', 'running', '10.0.0.1'), instance('i-2', state, ip), instance('i-3', 'running', '10.0.0.3')]
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
    expect(decide({ target, ips: ['10.0.0.2', '10.0.0.2'], current: undefined, ttl: TTL })).toMatchObject({ next: { values: ['10.0.0.2'] } })
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

  test('replacing a record deletes the exact current set and creates the new one in one batch', () => {
    const current = record(['10.0.0.1'], 300)
    const batch = changeBatch(decide({ target, ips: ['10.0.0.2', '10.0.0.1'], current, ttl: TTL }))
    expect(batch.map((c) => c.Action)).toEqual(['DELETE', 'CREATE'])
    expect(batch[0]?.ResourceRecordSet).toEqual({ Name: `${DB}.`, Type: 'A', TTL: 300, ResourceRecords: [{ Value: '10.0.0.1' }] })
    expect(batch[1]?.ResourceRecordSet).toEqual({
      Name: DB,
      Type: 'A',
      TTL,
      ResourceRecords: [{ Value: '10.0.0.1' }, { Value: '10.0.0.2' }]
    })
  })

  test('a first record is a CREATE, which fails if another writer created it meanwhile', () => {
    const batch = changeBatch(decide({ target, ips: ['10.0.0.1'], current: undefined, ttl: TTL }))
    expect(batch.map((c) => c.Action)).toEqual(['CREATE'])
  })
})

describe('the check after a write', () => {
  const target = { stack: 'st-wordpress', service: 'db', record: DB }

  test('a written set that still equals the running IPs needs nothing more', () => {
    const written = decide({ target, ips: ['10.0.0.2', '10.0.0.1'], current: record(['10.0.0.1']), ttl: TTL })
    const now = [instance('i-1', 'running', '10.0.0.1'), instance('i-2', 'running', '10.0.0.2'), instance('i-3', 'pending', '10.0.0.3')]
    expect(staleAfterWrite(written, now, scope.project)).toBeUndefined()
  })

  test('a written set that lists an instance gone meanwhile is stale and says what differs', () => {
    const written = decide({ target, ips: ['10.0.0.1', '10.0.0.2'], current: record(['10.0.0.1']), ttl: TTL })
    const now = [instance('i-1', 'running', '10.0.0.1'), instance('i-2', 'shutting-down', '10.0.0.2')]
    expect(staleAfterWrite(written, now, scope.project)).toBe('instances changed around the write: wrote [10.0.0.1, 10.0.0.2], running now [10.0.0.1]')
  })

  test('a delete is stale once an instance of the service runs again', () => {
    const deleted = decide({ target, ips: [], current: record(['10.0.0.1']), ttl: TTL })
    expect(staleAfterWrite(deleted, [instance('i-4', 'running', '10.0.0.4')], scope.project)).toMatch(/running now \[10\.0\.0\.4\]/)
    expect(staleAfterWrite(deleted, [instance('i-1', 'terminated', undefined)], scope.project)).toBeUndefined()
  })

  test('decisions that wrote nothing are never stale', () => {
    const noop = decide({ target, ips: ['10.0.0.1'], current: record(['10.0.0.1']), ttl: TTL })
    expect(noop.action).toBe('noop')
    expect(staleAfterWrite(noop, [], scope.project)).toBeUndefined()
  })
})

describe('parseEvent', () => {
  test('reads the instance id and state of a state-change notification', () => {
    const event = { 'detail-type': 'EC2 Instance State-change Notification', detail: { 'instance-id': 'i-1', state: 'stopping' } }
    expect(parseEvent(event)).toEqual({ instanceId: 'i-1', state: 'stopping' })
  })

  test('rejects events without an instance id', () => {
    expect(parseEvent({ detail: { state: 'running' } })).toBeUndefined()
    expect(parseEvent(null)).toBeUndefined()
    expect(parseEvent({ detail: 'x' })).toBeUndefined()
  })
})
