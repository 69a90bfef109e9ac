/**
 * Named volumes in the desired state and the plan: one volume per replica slot in one zone, the
 * service's groups pinned there, no write when they exist, never a delete on deploy (spares and
 * volumes of removed services are kept and said so), destroy as `volumes-on-destroy` says, and
 * terminate-first rollouts for stateful services.
 */
import { buildDesired, statefulSpotWarnings } from '../src/desired.js'
import { countWrites, destroyPlan, diff } from '../src/plan.js'
import { refreshShares } from '../src/resources/instance-refresh.js'
import type { CurrentVolume } from '../src/resources/volume.js'
import type { ComposeModel, VolumeModel } from '../src/compose/model.js'
import type { Change, CurrentState, DesiredState, Network } from '../src/state.js'
import { currentFrom, inputs, lambdaCode, svc, wordpress } from './helpers/deploy-fixtures.js'

const zoned: Network = {
  vpcId: 'vpc-1',
  vpcCidr: '172.28.0.0/16',
  subnetIds: ['subnet-c', 'subnet-b', 'subnet-a'],
  subnetZones: { 'subnet-a': 'us-east-1b', 'subnet-b': 'us-east-1a', 'subnet-c': 'us-east-1a' },
  resolver: '172.28.0.2'
}

const DB_DATA: VolumeModel = {
  name: 'db-data',
  sizeGiB: 10,
  type: 'gp3',
  location: { file: 'compose.yaml', line: 21, column: 3 }
}

/** The seed with db's data on a volume, db at `replicas`. */
function model(replicas = 1, volume: Partial<VolumeModel> = {}): ComposeModel {
  const seed = wordpress()
  return {
    ...seed,
    services: seed.services.map((s) =>
      s.name === 'db'
        ? { ...s, replicas, volumes: [{ name: 'db-data', target: '/var/lib/mysql', readOnly: false }] }
        : s
    ),
    volumes: [{ ...DB_DATA, ...volume }]
  }
}

function desired(m: ComposeModel = model()): DesiredState {
  return buildDesired({ inputs: inputs(), model: m, network: zoned, lambdaCode })
}

/** What EC2 shows once the plan's volumes exist: slot N attached to i-N. */
function withVolumes(d: DesiredState, extra: Partial<CurrentVolume>[] = []): CurrentState {
  const volumes: CurrentVolume[] = d.services.flatMap((s) =>
    s.volumes.map((v) => ({
      id: `vol-${v.slot}`,
      name: v.name,
      service: v.service,
      volume: v.volume,
      slot: v.slot,
      zone: v.zone,
      sizeGiB: v.sizeGiB,
      type: v.type,
      state: 'in-use',
      instance: `i-${v.slot}`
    }))
  )
  const more = extra.map((e, n) => ({ ...(volumes[0] as CurrentVolume), id: `vol-x${n}`, instance: undefined, ...e }))
  return { ...currentFrom(d), volumes: [...volumes, ...(more as CurrentVolume[])] }
}

const volumeChanges = (changes: Change[]): string[] =>
  changes.filter((c) => c.kind === 'volume').map((c) => `${c.action} ${c.name}: ${c.reason}`)

describe('named volumes in the desired state', () => {
  test('each replica slot gets a volume in the first zone of the subnets, and only the service with volumes is pinned there', () => {
    const d = desired(model(2))
    const db = d.services.find((s) => s.name === 'db')
    expect(db?.zone).toBe('us-east-1a')
    expect(db?.volumes.map((v) => [v.name, v.zone, v.sizeGiB, v.type])).toEqual([
      ['db/db-data/0', 'us-east-1a', 10, 'gp3'],
      ['db/db-data/1', 'us-east-1a', 10, 'gp3']
    ])
    expect(db?.volumes[1]?.tags).toMatchObject({
      'hyperform:project': 'prj-demo',
      'hyperform:stack': 'st-wordpress',
      'hyperform:service': 'db',
      'hyperform:volume': 'db-data',
      'hyperform:slot': '1'
    })
    for (const asg of db?.asgs ?? []) expect(asg.subnetIds).toEqual(['subnet-b', 'subnet-c'])
    const wp = d.services.find((s) => s.name === 'wordpress')
    expect(wp?.volumes).toEqual([])
    for (const asg of wp?.asgs ?? []) expect(asg.subnetIds).toEqual(['subnet-a', 'subnet-b', 'subnet-c'])
  })

  test('x-hyperform.zone picks the zone; a zone without a subnet of the stack is an error naming file and line', () => {
    expect(desired(model(1, { zone: 'us-east-1b' })).services.find((s) => s.name === 'db')?.zone).toBe('us-east-1b')
    expect(() => desired(model(1, { zone: 'us-east-1f' }))).toThrow(
      'compose.yaml:21: volumes.db-data.x-hyperform.zone: us-east-1f has none of the stack'
    )
  })

  test('spot replicas of a service with volumes are warned about', () => {
    expect(statefulSpotWarnings(desired())).toEqual([])
    const spot = model(2)
    spot.services = spot.services.map((s) => (s.name === 'db' ? { ...s, preemptible: 1 } : s))
    expect(statefulSpotWarnings(desired(spot))).toEqual([
      expect.stringMatching(/^service "db": 1 of its instances are spot and it mounts volumes \(db-data\)/)
    ])
  })
})

describe('named volumes in the plan', () => {
  test('missing volumes are created; existing ones are noops and a re-run writes nothing', () => {
    const d = desired(model(2))
    const fresh = diff(d, currentFrom(d))
    expect(volumeChanges(fresh.changes)).toEqual([
      'create db/db-data/0: not found; 10 GiB gp3, encrypted, in us-east-1a',
      'create db/db-data/1: not found; 10 GiB gp3, encrypted, in us-east-1a'
    ])
    const again = diff(d, withVolumes(d))
    expect(volumeChanges(again.changes)).toEqual([
      'noop db/db-data/0: vol-0 in use by i-0',
      'noop db/db-data/1: vol-1 in use by i-1'
    ])
    expect(countWrites(again)).toBe(0)
  })

  test('a scale from 2 to 1 keeps the spare volume and says so; it is never deleted', () => {
    const before = desired(model(2))
    const after = desired(model(1))
    const plan = diff(after, withVolumes(before))
    expect(plan.changes.filter((c) => c.kind === 'volume' && c.action !== 'noop')).toEqual([])
    expect(volumeChanges(plan.changes)).toContain(
      "noop db/db-data/1: kept (spare slot 1: beyond the service's replicas): vol-1, 10 GiB in us-east-1a, in use by i-1; a deploy never deletes a volume"
    )
  })

  test('the volumes of a service gone from the compose file are kept, not deleted', () => {
    const d = desired()
    const without = desired({ ...model(), services: model().services.filter((s) => s.name !== 'db'), volumes: [] })
    const plan = diff(without, withVolumes(d))
    expect(volumeChanges(plan.changes)).toEqual([
      'noop db/db-data/0: kept (service not in compose file): vol-0, 10 GiB in us-east-1a, in use by i-0; a deploy never deletes a volume'
    ])
  })

  test('a volume in another zone than the service would run in stops the plan: a volume never moves by itself', () => {
    const d = desired()
    const moved = desired(model(1, { zone: 'us-east-1b' }))
    expect(() => diff(moved, withVolumes(d))).toThrow(
      /volume db-data \(slot 0\) is vol-0 in us-east-1a, but the service would now run in us-east-1b/
    )
  })

  test('a size that differs from the compose file is reported, not applied', () => {
    const d = desired()
    const bigger = desired(model(1, { sizeGiB: 50 }))
    const plan = diff(bigger, withVolumes(d))
    expect(volumeChanges(plan.changes)).toEqual([
      'noop db/db-data/0: vol-0 in use by i-0; size 10 GiB, compose says 50 (not changed: a deploy never resizes a volume)'
    ])
  })

  test('destroy keeps the volumes by default, snapshots then deletes them, or deletes them, as volumes-on-destroy says', () => {
    const d = desired(model(2))
    const current = withVolumes(d)
    const of = (plan: ReturnType<typeof destroyPlan>): string[] =>
      plan.changes
        .filter((c) => c.kind === 'volume')
        .map((c) => `${c.action}${'snapshot' in c && c.snapshot ? ' snapshot' : ''} ${c.name}`)
    expect(of(destroyPlan(current, d.scope))).toEqual(['noop db/db-data/0', 'noop db/db-data/1'])
    expect(volumeChanges(destroyPlan(current, d.scope).changes)[0]).toBe(
      'noop db/db-data/0: kept (volumes-on-destroy: keep): vol-0, 10 GiB in us-east-1a; a later deploy of this stack attaches it again'
    )
    expect(of(destroyPlan(current, d.scope, { volumesOnDestroy: 'snapshot' }))).toEqual([
      'delete snapshot db/db-data/0',
      'delete snapshot db/db-data/1'
    ])
    expect(of(destroyPlan(current, d.scope, { volumesOnDestroy: 'delete' }))).toEqual([
      'delete db/db-data/0',
      'delete db/db-data/1'
    ])
  })

  test('a service with volumes rolls terminate-first, one instance at a time; others launch first', () => {
    expect(refreshShares(undefined)).toEqual({ min: 100, max: 200 })
    expect(refreshShares({ size: 1 })).toEqual({ min: 0, max: 100 })
    expect(refreshShares({ size: 2 })).toEqual({ min: 50, max: 100 })
    expect(refreshShares({ size: 3 })).toEqual({ min: 66, max: 100 })
    const d = desired(model(2))
    const current = withVolumes(d)
    const changed = desired({
      ...model(2),
      services: model(2).services.map((s) => ({ ...s, image: `${s.image}-new` }))
    })
    const refreshes = diff(changed, current).changes.filter((c) => c.kind === 'instance-refresh' && 'desired' in c)
    const byService = Object.fromEntries(
      refreshes.map((c) => [
        c.name,
        'desired' in c && c.kind === 'instance-refresh' ? c.desired.terminateFirst : undefined
      ])
    )
    expect(Object.keys(byService).filter((name) => /-wordpress-(on-demand|spot)$/.test(name))).toHaveLength(2)
    expect(Object.entries(byService).filter(([name]) => name.includes('-db-'))).toEqual([
      ['hyperform-prj-demo-st-wordpress-db-on-demand', { size: 2 }]
    ])
    expect(
      Object.entries(byService).filter(([name]) => /-wordpress-(on-demand|spot)$/.test(name) && byService[name])
    ).toEqual([])
  })
})

test('a service without volumes needs no zone: the fixtures without subnet zones still build', () => {
  expect(() =>
    buildDesired({
      inputs: inputs(),
      model: { services: [svc('web')], files: ['compose.yaml'] },
      network: { ...zoned, subnetZones: undefined as never },
      lambdaCode
    })
  ).not.toThrow()
})
