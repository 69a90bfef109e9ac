/**
 * Drift in the pure plan: what changed behind the action's back is flagged drift and healed;
 * what the compose file or the inputs changed is not; a record is judged only while nothing moves.
 */
import { healBatch } from '../src/resources/dns-record.js'
import { diff } from '../src/plan.js'
import type { Change, CurrentInstance, CurrentState, DesiredState } from '../src/state.js'
import { currentFrom, desiredFor, wordpress } from './helpers/deploy-fixtures.js'

/** The current state of a deployed, settled stack: every ASG member runs, every record lists its service's IPs. */
function settled(desired: DesiredState): CurrentState {
  const current = currentFrom(desired)
  let n = 10
  const instances: CurrentInstance[] = current.asgs.flatMap((g) =>
    g.instances.map((i) => ({
      id: i.id,
      service: g.service,
      capacity: g.capacity,
      state: 'running',
      privateIp: `172.28.0.${(n += 1)}`
    }))
  )
  // the service records, then their version records (TXT) at the same names, as the DNS updater leaves them
  const records = [
    ...desired.services.map((s) => ({
      name: s.recordName,
      type: 'A',
      ttl: 60,
      values: instances
        .filter((i) => i.service === s.name)
        .map((i) => i.privateIp ?? '')
        .sort()
    })),
    ...desired.services.map((s) => ({ name: s.recordName, type: 'TXT', ttl: 60, values: ['"hyperform-version=3"'] }))
  ]
  return { ...current, instances, records, recordsRead: true }
}

const drifted = (changes: Change[]): string[] =>
  changes.filter((c) => c.action !== 'noop' && c.drift === true).map((c) => `${c.action} ${c.kind} ${c.name}`)
const intended = (changes: Change[]): string[] =>
  changes.filter((c) => c.action !== 'noop' && c.drift !== true).map((c) => `${c.action} ${c.kind} ${c.name}`)
const record = (changes: Change[], service: string): Change | undefined =>
  changes.find((c) => c.kind === 'dns-record' && c.service === service)

const DB_RECORD = 'db.st-wordpress.prj-demo.us-east-1.internal'
const WP_RECORD = 'wordpress.st-wordpress.prj-demo.us-east-1.internal'

describe('record drift', () => {
  test('a settled stack whose records list the running instances plans nothing at all', () => {
    const desired = desiredFor()
    expect(diff(desired, settled(desired)).changes.filter((c) => c.action !== 'noop')).toEqual([])
  })

  test('a record with a wrong value is an update to the running IPs, flagged drift, with the record TTL', () => {
    const desired = desiredFor()
    const current = settled(desired)
    const running = current.records[0]!.values
    current.records[0] = { ...current.records[0]!, values: ['10.9.9.9'] }
    const change = record(diff(desired, current).changes, 'db')
    expect(change).toMatchObject({
      action: 'update',
      drift: true,
      name: DB_RECORD,
      desired: { values: running, ttl: 60 }
    })
    expect(change?.reason).toBe(`lists 10.9.9.9; in service: ${running.join(', ')}`)
  })

  test('a record deleted by hand while instances run is created again as drift', () => {
    const desired = desiredFor()
    const current = settled(desired)
    const running = current.records[1]!.values
    current.records = current.records.filter((r) => r.name !== WP_RECORD)
    expect(record(diff(desired, current).changes, 'wordpress')).toMatchObject({
      action: 'create',
      drift: true,
      desired: { values: running }
    })
  })

  test('a record listing addresses when no instance of the service runs is emptied, that is deleted', () => {
    const desired = desiredFor()
    const current = settled(desired)
    current.instances = current.instances!.map((i) => (i.service === 'db' ? { ...i, state: 'stopped' } : i))
    const change = record(diff(desired, current).changes, 'db')
    expect(change).toMatchObject({ action: 'update', drift: true, desired: { values: [] } })
    expect(change?.reason).toContain('no instance in service')
  })

  test('a record that disagrees while an instance of its service is pending or shutting down is not judged', () => {
    for (const state of ['pending', 'shutting-down']) {
      const desired = desiredFor()
      const current = settled(desired)
      current.instances = current.instances!.map((i) =>
        i.service === 'wordpress' && i.capacity === 'spot' ? { ...i, state } : i
      )
      const change = record(diff(desired, current).changes, 'wordpress')
      expect(change?.action).toBe('noop')
      expect(change?.reason).toContain(`is ${state}`)
    }
  })

  test('a record that disagrees while its service is resized or rolled out is not drift: the DNS updater follows the instances', () => {
    const before = desiredFor()
    const model = wordpress()
    model.services[1] = { ...model.services[1]!, replicas: 3, image: 'wordpress:6.8' }
    const current = settled(before)
    current.records[1] = { ...current.records[1]!, values: ['10.9.9.9'] }
    const plan = diff(desiredFor(model), current)
    expect(record(plan.changes, 'wordpress')?.action).toBe('noop')
    expect(drifted(plan.changes)).toEqual([])
  })

  test('a record is not judged while a group member is still in an ASG lifecycle state other than InService', () => {
    const desired = desiredFor()
    const current = settled(desired)
    current.asgs[0] = {
      ...current.asgs[0]!,
      instances: current.asgs[0]!.instances.map((i) => ({ ...i, lifecycleState: 'Pending:Wait' }))
    }
    current.records[0] = { ...current.records[0]!, values: [] }
    expect(record(diff(desired, current).changes, 'db')?.action).toBe('noop')
  })

  test('when records or instances were not read, the record is left to the DNS updater', () => {
    const desired = desiredFor()
    const current = settled(desired)
    current.records[0] = { ...current.records[0]!, values: ['10.9.9.9'] }
    expect(record(diff(desired, { ...current, recordsRead: false }).changes, 'db')?.action).toBe('noop')
    expect(record(diff(desired, { ...current, instances: undefined }).changes, 'db')?.action).toBe('noop')
  })

  test('a record of a service that has no group, template or security group left is deleted as drift', () => {
    const desired = desiredFor()
    const current = settled(desired)
    const stray = { name: 'cache.st-wordpress.prj-demo.us-east-1.internal', type: 'A', ttl: 60, values: ['172.28.9.9'] }
    current.records.push(stray)
    expect(drifted(diff(desired, current).changes)).toEqual([`delete dns-record ${stray.name}`])
  })

  test('version records (TXT) are neither drift nor unknown records, even alone at a name whose A record was emptied', () => {
    const desired = desiredFor()
    const current = settled(desired)
    current.records.push({
      name: 'cache.st-wordpress.prj-demo.us-east-1.internal',
      type: 'TXT',
      ttl: 60,
      values: ['"hyperform-version=9"']
    })
    const plan = diff(desired, current)
    expect(plan.changes.filter((c) => c.action !== 'noop')).toEqual([])
    expect(
      plan.changes
        .filter((c) => c.kind === 'dns-record')
        .map((c) => c.name)
        .sort()
    ).toEqual([DB_RECORD, WP_RECORD])
  })

  test('the records of a service removed from the compose file are deleted as an intended change', () => {
    const desired = desiredFor()
    const model = wordpress()
    model.services = model.services.filter((s) => s.name !== 'db')
    const plan = diff(desiredFor(model), settled(desired))
    expect(intended(plan.changes)).toContain(`delete dns-record ${DB_RECORD}`)
    expect(drifted(plan.changes)).toEqual([])
  })
})

describe("the zone's negative caching", () => {
  const soa = (minimum: number) => ({
    name: 'prj-demo.us-east-1.internal',
    type: 'SOA',
    ttl: 900,
    values: [`ns-1536.awsdns-00.co.uk. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 ${minimum}`]
  })
  const change = (current: CurrentState) =>
    diff(desiredFor(wordpress(), { dnsTtl: 10 }), current).changes.find((c) => c.kind === 'zone-soa')

  test('a new zone gets the record TTL as its SOA minimum; an SOA already at it plans nothing', () => {
    const desired = desiredFor(wordpress(), { dnsTtl: 10 })
    expect(change({ ...settled(desired), zone: undefined })).toMatchObject({
      action: 'create',
      desired: { negativeTtl: 10 }
    })
    expect(change({ ...settled(desired), soa: soa(10) })).toMatchObject({ action: 'noop' })
  })

  test("an SOA minimum changed by hand is drift; Route 53's default on an older zone is an intended change", () => {
    const current = settled(desiredFor(wordpress(), { dnsTtl: 10 }))
    expect(change({ ...current, soa: soa(3600) })).toMatchObject({
      action: 'update',
      drift: true,
      reason: 'negative caching 3600 -> 10 s'
    })
    expect(change({ ...current, soa: soa(86400) })).toMatchObject({ action: 'update', drift: false })
  })
})

describe('the heal batch', () => {
  const current = { name: DB_RECORD, type: 'A', ttl: 60, values: ['10.0.0.2', '10.0.0.1'] }

  const version = { name: DB_RECORD, type: 'TXT', ttl: 60, values: ['"hyperform-version=11"'] }
  const txt = (action: string, n: number, ttl: number): object => ({
    Action: action,
    ResourceRecordSet: {
      Name: DB_RECORD,
      Type: 'TXT',
      TTL: ttl,
      ResourceRecords: [{ Value: `"hyperform-version=${n}"` }]
    }
  })

  test('swaps the exact current set for the new one and bumps the version in one batch, as the DNS updater does', () => {
    expect(healBatch(current, { name: DB_RECORD, ttl: 10, values: ['10.0.0.3'] }, version)).toEqual([
      {
        Action: 'DELETE',
        ResourceRecordSet: {
          Name: DB_RECORD,
          Type: 'A',
          TTL: 60,
          ResourceRecords: [{ Value: '10.0.0.2' }, { Value: '10.0.0.1' }]
        }
      },
      {
        Action: 'CREATE',
        ResourceRecordSet: { Name: DB_RECORD, Type: 'A', TTL: 10, ResourceRecords: [{ Value: '10.0.0.3' }] }
      },
      txt('DELETE', 11, 60),
      txt('CREATE', 12, 10)
    ])
  })

  test('deletes the record when no instance runs, creates it when there was none, and writes nothing when they agree', () => {
    const kinds = (changes: { Action?: string; ResourceRecordSet?: { Type?: string } }[]): string[] =>
      changes.map((c) => `${c.Action} ${c.ResourceRecordSet?.Type}`)
    expect(kinds(healBatch(current, { name: DB_RECORD, ttl: 60, values: [] }, version))).toEqual([
      'DELETE A',
      'DELETE TXT',
      'CREATE TXT'
    ])
    expect(kinds(healBatch(undefined, { name: DB_RECORD, ttl: 60, values: ['10.0.0.1'] }))).toEqual([
      'CREATE A',
      'CREATE TXT'
    ])
    expect(healBatch(current, { name: DB_RECORD, ttl: 60, values: ['10.0.0.1', '10.0.0.2'] })).toEqual([])
    expect(healBatch(undefined, { name: DB_RECORD, ttl: 60, values: [] })).toEqual([])
  })
})

describe('missing and extra resources', () => {
  test('a function, log group or rule deleted by hand while the rest of the project exists is created again as drift', () => {
    const desired = desiredFor()
    for (const part of ['function', 'logGroup', 'rule'] as const) {
      const current = settled(desired)
      delete current[part]
      const kind = { function: 'lambda-function', logGroup: 'log-group', rule: 'event-rule' }[part]
      expect(diff(desired, current).changes.find((c) => c.kind === kind)).toMatchObject({
        action: 'create',
        drift: true
      })
    }
  })

  test('the role policy or the zone deleted by hand is drift too', () => {
    const desired = desiredFor()
    const noPolicy = settled(desired)
    delete noPolicy.rolePolicy
    expect(diff(desired, noPolicy).changes.find((c) => c.kind === 'role-policy')).toMatchObject({
      action: 'create',
      drift: true
    })
    const noZone = { ...settled(desired), records: [], recordsRead: false }
    delete noZone.zone
    expect(diff(desired, noZone).changes.find((c) => c.kind === 'hosted-zone')).toMatchObject({
      action: 'create',
      drift: true
    })
  })

  test('a log group that the function recreated without a retention is drift; a new retention input is not', () => {
    const desired = desiredFor()
    const recreated = settled(desired)
    recreated.logGroup = { ...recreated.logGroup!, retentionDays: undefined }
    expect(diff(desired, recreated).changes.find((c) => c.kind === 'log-group')).toMatchObject({
      action: 'update',
      drift: true
    })
    const longer = diff(desiredFor(wordpress(), { logRetentionDays: 30 }), settled(desired)).changes.find(
      (c) => c.kind === 'log-group'
    )
    expect(longer).toMatchObject({ action: 'update', drift: false })
  })

  test('a function timeout changed by hand is drift; new code or a new TTL input is not', () => {
    const desired = desiredFor()
    const edited = settled(desired)
    edited.function = { ...edited.function!, timeout: 3 }
    expect(diff(desired, edited).changes.find((c) => c.kind === 'lambda-function')).toMatchObject({
      action: 'update',
      fields: ['timeout'],
      drift: true
    })
    const upgraded = settled(desired)
    upgraded.function = { ...upgraded.function!, codeSha256: 'older', timeout: 3 }
    expect(diff(desired, upgraded).changes.find((c) => c.kind === 'lambda-function')).toMatchObject({
      action: 'update',
      drift: false
    })
    const ttl = diff(desiredFor(wordpress(), { dnsTtl: 30 }), settled(desired)).changes.find(
      (c) => c.kind === 'lambda-function'
    )
    expect(ttl).toMatchObject({ action: 'update', fields: ['environment'], drift: false })
  })

  test('a security group deleted by hand is created as drift and the template version that points at it is drift too', () => {
    const desired = desiredFor()
    const current = settled(desired)
    current.securityGroups = current.securityGroups.filter((g) => g.service !== 'db')
    const changes = diff(desired, current).changes.filter((c) => c.service === 'db')
    expect(changes.find((c) => c.kind === 'security-group')).toMatchObject({ action: 'create', drift: true })
    expect(changes.find((c) => c.kind === 'launch-template')).toMatchObject({ action: 'update', drift: true })
  })

  test('a template default version set by hand is put back as drift, without touching the groups or rolling instances', () => {
    const desired = desiredFor()
    const current = settled(desired)
    current.launchTemplates[0] = {
      ...current.launchTemplates[0]!,
      actionVersion: 3,
      defaultVersion: 5,
      latestVersion: 5
    }
    const changes = diff(desired, current).changes.filter((c) => c.service === 'db' && c.action !== 'noop')
    expect(changes).toEqual([
      expect.objectContaining({
        kind: 'launch-template',
        action: 'update',
        fields: ['defaultVersion'],
        drift: true,
        reason: 'default version 5 -> 3 (set outside the action)'
      })
    ])
  })

  test('a group pointed at a hand-made default version goes back to the version the action made', () => {
    const desired = desiredFor()
    const current = settled(desired)
    current.launchTemplates[0] = {
      ...current.launchTemplates[0]!,
      actionVersion: 3,
      defaultVersion: 5,
      latestVersion: 5
    }
    current.asgs[0] = { ...current.asgs[0]!, launchTemplateVersion: '5' }
    const group = diff(desired, current).changes.find(
      (c) => c.kind === 'auto-scaling-group' && c.name === current.asgs[0]!.name
    )
    expect(group).toMatchObject({
      action: 'update',
      fields: ['launchTemplate'],
      reason: 'launch template version 5 -> version 3'
    })
  })

  test('a launch template deleted by hand while its groups exist is created again as drift', () => {
    const desired = desiredFor()
    const current = settled(desired)
    current.launchTemplates = current.launchTemplates.filter((t) => t.service !== 'wordpress')
    expect(
      diff(desired, current).changes.find((c) => c.kind === 'launch-template' && c.service === 'wordpress')
    ).toMatchObject({ action: 'create', drift: true })
  })

  test('a first deploy into an empty account and a new service are intended changes, never drift', () => {
    const desired = desiredFor()
    const empty: CurrentState = {
      scope: desired.scope,
      targets: [],
      securityGroups: [],
      launchTemplates: [],
      asgs: [],
      records: [],
      recordsRead: false,
      instances: []
    }
    expect(drifted(diff(desired, empty).changes)).toEqual([])
    const model = wordpress()
    model.services.push({ ...model.services[0]!, name: 'cache', image: 'redis:7' })
    const plan = diff(desiredFor(model), settled(desired))
    expect(intended(plan.changes).filter((c) => c.includes('cache'))).toHaveLength(7)
    expect(drifted(plan.changes)).toEqual([])
  })
})

describe('hand-made changes to groups, wiring and compose', () => {
  test('group sizes and a launch template version changed by hand, removed rule targets are all drift', () => {
    const desired = desiredFor()
    const current = settled(desired)
    current.asgs[2] = { ...current.asgs[2]!, min: 0, max: 3, desired: 3 }
    current.asgs[3] = { ...current.asgs[3]!, launchTemplateVersion: '4' }
    current.targets = []
    current.records[0] = { ...current.records[0]!, values: ['10.9.9.9'] }
    expect(drifted(diff(desired, current).changes).sort()).toEqual(
      [
        ...desired.project.targets.map((t) => `create event-target ${t.ruleName}/${t.id}`),
        `update auto-scaling-group ${current.asgs[2]!.name}`,
        `update auto-scaling-group ${current.asgs[3]!.name}`,
        `update dns-record ${DB_RECORD}`
      ].sort()
    )
    const reason = (name: string): string | undefined =>
      diff(desired, current).changes.find((c) => c.kind === 'auto-scaling-group' && c.name === name)?.reason
    expect(reason(current.asgs[2]!.name)).toBe('on-demand 3 (min 0, max 3) -> 1')
    expect(reason(current.asgs[3]!.name)).toBe('launch template version 4 -> version 3')
  })

  test('replicas changed in the compose file resize the group as an intended change, not drift', () => {
    const model = wordpress()
    model.services[0] = { ...model.services[0]!, replicas: 2 }
    const plan = diff(desiredFor(model), settled(desiredFor()))
    expect(intended(plan.changes)).toEqual(['update auto-scaling-group hyperform-prj-demo-st-wordpress-db-on-demand'])
    expect(drifted(plan.changes)).toEqual([])
  })
})
