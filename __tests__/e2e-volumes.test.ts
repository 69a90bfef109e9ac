/**
 * End to end, named volumes: the bundled action deploys the seed example with `db-data:/var/lib/mysql`
 * on db; the emulator's agent stand-in on each instance claims its service's volume in its zone,
 * formats it only when blank (writing the first-use marker) and binds it into the container. The
 * cases run in order: one volume, the db instance terminated by hand and its replacement attaching the
 * same volume (no second first-use), a rollout of a new db image doing the same, two replicas that
 * boot at once taking two volumes, a scale to one keeping the spare, a plain destroy keeping the
 * volumes and a redeploy attaching them again, a closed pull request deleting its preview's volumes,
 * and a repository file bound read-only.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling'
import { DescribeSubnetsCommand, DescribeVolumesCommand, type Volume } from '@aws-sdk/client-ec2'
import { EmulatorClient } from '../emulator/client.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { asgName, recordName, TAGS, type StackScope } from '../src/names.js'
import {
  FAST_SIMULATION,
  SEED_COMPOSE,
  aRecords,
  action,
  awsClients,
  destroyAws,
  operations,
  stackView,
  until,
  workspace,
  writesOf,
  type Aws,
  type Run
} from './helpers/e2e.js'

const REGION = 'us-east-1'
const PROJECT = 'prj-vol'
const WP: StackScope = { project: PROJECT, stack: 'st-wordpress', region: REGION }
const WAIT = { wait: 'true', 'wait-timeout': '120' }

/** The seed, with db's data on a named volume. */
const SEED_WITH_VOLUME = `${SEED_COMPOSE.replace(
  '     image: mysql:5.7\n',
  '     image: mysql:5.7\n     volumes:\n       - db-data:/var/lib/mysql\n'
)}
volumes:
  db-data:
`

interface MountView {
  name: string
  volumeId: string
  slot: number
  target: string
  readOnly: boolean
}

interface FileView {
  target: string
  mode: string
  content: string
}

interface ContainerSpecView {
  image: string
  volumes?: MountView[]
  files?: FileView[]
}

let emulator: Emulator
let control: EmulatorClient
let aws: Aws
const dirs: string[] = []

function run(work: string, inputs: Record<string, string>, expectCode = 0, env?: Record<string, string>): Promise<Run> {
  return action(
    {
      emulator,
      region: REGION,
      workspace: work,
      inputs: { project: PROJECT, ...WAIT, ...inputs },
      ...(env ? { env } : {})
    },
    expectCode
  )
}

function tempWorkspace(files: Record<string, string>): string {
  const dir = workspace(files)
  dirs.push(dir)
  return dir
}

/** The stack's volumes as EC2 has them (not deleted). */
async function volumesOf(scope: StackScope, service?: string): Promise<Volume[]> {
  const out = await aws.ec2.send(
    new DescribeVolumesCommand({
      Filters: [
        { Name: `tag:${TAGS.project}`, Values: [scope.project] },
        { Name: `tag:${TAGS.stack}`, Values: [scope.stack] },
        ...(service ? [{ Name: `tag:${TAGS.service}`, Values: [service] }] : [])
      ]
    })
  )
  return (out.Volumes ?? []).filter((v) => v.State !== 'deleted' && v.State !== 'deleting')
}

const tag = (v: Volume, key: string): string | undefined => v.Tags?.find((t) => t.Key === key)?.Value

/** The running instances of a service, with their container spec once the stand-in has one. */
async function containersOf(
  scope: StackScope,
  service: string
): Promise<Array<{ id: string; spec?: ContainerSpecView }>> {
  const view = await stackView(aws, scope)
  const running = view.instances.filter((i) => i.service === service && i.state === 'running')
  return Promise.all(
    running.map(async (i) => {
      const c = (await control.container(i.id)) as unknown as { spec?: ContainerSpecView }
      return { id: i.id, ...(c.spec ? { spec: c.spec } : {}) }
    })
  )
}

/** Waits for a condition of the instances; a timeout shows the containers and volumes as the emulator has them. */
function soon<T>(check: () => Promise<T | undefined>): Promise<T> {
  return until(
    check,
    async () => JSON.stringify({ containers: await control.containers(), volumes: await control.volumes() }),
    60_000
  )
}

beforeAll(async () => {
  emulator = await startEmulator({ simulation: FAST_SIMULATION })
  control = new EmulatorClient(emulator.endpoint)
  aws = awsClients(emulator, REGION)
})

afterAll(async () => {
  destroyAws(aws)
  await emulator.stop()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('named volumes, end to end', () => {
  const work = tempWorkspace({ 'compose.yaml': SEED_WITH_VOLUME })
  let volumeId = ''
  let firstDb = ''
  let zoneId = ''

  test('the seed with db-data on db deploys one encrypted volume, tagged, in the zone its groups launch in, attached to db', async () => {
    const result = await run(work, { stack: WP.stack })
    zoneId = result.outputs['hosted-zone-id'] ?? ''
    const volumes = await volumesOf(WP)
    expect(volumes).toHaveLength(1)
    const v = volumes[0] as Volume
    volumeId = v.VolumeId ?? ''
    expect(v).toMatchObject({ Encrypted: true, VolumeType: 'gp3', Size: 10 })
    expect([tag(v, TAGS.service), tag(v, TAGS.volume), tag(v, TAGS.slot)]).toEqual(['db', 'db-data', '0'])
    // the db groups launch only in the volume's zone; wordpress keeps every subnet
    const groups = await aws.autoScaling.send(
      new DescribeAutoScalingGroupsCommand({
        AutoScalingGroupNames: [asgName(WP, 'db', 'on-demand'), asgName(WP, 'wordpress', 'on-demand')]
      })
    )
    const subnetsOf = (name: string): string[] =>
      (groups.AutoScalingGroups?.find((g) => g.AutoScalingGroupName === name)?.VPCZoneIdentifier ?? '').split(',')
    const subnets = await aws.ec2.send(
      new DescribeSubnetsCommand({ SubnetIds: subnetsOf(asgName(WP, 'db', 'on-demand')) })
    )
    expect(new Set(subnets.Subnets?.map((s) => s.AvailabilityZone))).toEqual(new Set([v.AvailabilityZone]))
    expect(subnetsOf(asgName(WP, 'wordpress', 'on-demand')).length).toBeGreaterThan(
      subnetsOf(asgName(WP, 'db', 'on-demand')).length
    )
    // the db container has it at /var/lib/mysql; the volume was formatted once, by that instance
    const [db] = await soon(async () => {
      const list = await containersOf(WP, 'db')
      return list.length === 1 && list[0]?.spec?.volumes?.length ? list : undefined
    })
    firstDb = db?.id ?? ''
    expect(db?.spec?.volumes).toEqual([
      { name: 'db-data', volumeId, slot: 0, target: '/var/lib/mysql', readOnly: false }
    ])
    const data = (await control.volume(volumeId)).data
    expect(data['first-use']).toBe(firstDb)
    // the summary lists it
    const summary = JSON.parse(result.outputs.summary ?? '{}') as { volumes?: Array<{ name: string; id?: string }> }
    expect(summary.volumes?.map((x) => x.name)).toEqual(['db/db-data/0'])
  })

  test('a re-run with nothing changed makes no write', async () => {
    const result = await run(work, { stack: WP.stack })
    expect(operations(writesOf(result.calls))).toEqual([])
  })

  test('the db instance terminated by hand: its replacement attaches the same volume, writes no second first-use, and the db record follows', async () => {
    await control.setVolumeData(volumeId, 'mysql/ibdata1', 'rows written before the crash')
    await control.terminateInstance(firstDb)
    const [replacement] = await soon(async () => {
      const list = await containersOf(WP, 'db')
      return list.length === 1 && list[0]?.id !== firstDb && list[0]?.spec?.volumes?.length ? list : undefined
    })
    expect(replacement?.spec?.volumes?.[0]?.volumeId).toBe(volumeId)
    const data = (await control.volume(volumeId)).data
    expect(data['first-use']).toBe(firstDb)
    expect(data['mysql/ibdata1']).toBe('rows written before the crash')
    expect((await control.volume(volumeId)).attachment?.instanceId).toBe(replacement?.id)
    const view = await stackView(aws, WP)
    const ip = view.instances.find((i) => i.id === replacement?.id)?.ip
    await soon(async () => ((await aRecords(aws, zoneId)).get(recordName(WP, 'db'))?.join() === ip ? true : undefined))
  })

  test('a new db image rolls terminate-first: the new version runs on the same volume with its data', async () => {
    writeFileSync(path.join(work, 'compose.yaml'), SEED_WITH_VOLUME.replace('mysql:5.7', 'mysql:8.0'))
    const result = await run(work, { stack: WP.stack })
    expect(operations(writesOf(result.calls))).toContain('StartInstanceRefresh')
    const [db] = await soon(async () => {
      const list = await containersOf(WP, 'db')
      return list.length === 1 && list[0]?.spec?.image === 'mysql:8.0' && list[0]?.spec?.volumes?.length
        ? list
        : undefined
    })
    expect(db?.spec?.volumes?.[0]?.volumeId).toBe(volumeId)
    const data = (await control.volume(volumeId)).data
    expect([data['first-use'], data['mysql/ibdata1']]).toEqual([firstDb, 'rows written before the crash'])
    expect(await volumesOf(WP)).toHaveLength(1)
  })

  test('a plain destroy keeps the volume and says so; a redeploy attaches it again without creating one', async () => {
    const destroyed = await run(work, { stack: WP.stack, command: 'destroy' })
    expect(operations(writesOf(destroyed.calls))).not.toContain('DeleteVolume')
    expect(destroyed.stdout).toContain(`volume db/db-data/0: kept (volumes-on-destroy: keep): ${volumeId}`)
    const kept = await volumesOf(WP)
    expect(kept.map((v) => [v.VolumeId, v.State])).toEqual([[volumeId, 'available']])

    const again = await run(work, { stack: WP.stack })
    expect(operations(writesOf(again.calls))).not.toContain('CreateVolume')
    const [db] = await soon(async () => {
      const list = await containersOf(WP, 'db')
      return list.length === 1 && list[0]?.spec?.volumes?.length ? list : undefined
    })
    expect(db?.spec?.volumes?.[0]?.volumeId).toBe(volumeId)
    expect((await control.volume(volumeId)).data['first-use']).toBe(firstDb)
  })
})

describe('two replicas with a volume', () => {
  const scope: StackScope = { project: PROJECT, stack: 'st-pair', region: REGION }
  const compose = (replicas: number): string => `services:
  cache:
    image: redis:7
    deploy:
      replicas: ${replicas}
    volumes:
      - type: volume
        source: cache-data
        target: /data
volumes:
  cache-data:
    x-hyperform:
      size: 20
`
  const work = tempWorkspace({ 'compose.yaml': compose(2) })

  test('two instances that boot at once get two volumes, never the same one', async () => {
    await run(work, { stack: scope.stack })
    const volumes = await volumesOf(scope)
    expect(volumes.map((v) => tag(v, TAGS.slot)).sort()).toEqual(['0', '1'])
    expect(volumes.every((v) => v.Size === 20)).toBe(true)
    const list = await soon(async () => {
      const now = await containersOf(scope, 'cache')
      return now.length === 2 && now.every((c) => c.spec?.volumes?.length) ? now : undefined
    })
    const attached = list.map((c) => c.spec?.volumes?.[0]?.volumeId)
    expect(new Set(attached).size).toBe(2)
    expect(new Set(attached)).toEqual(new Set(volumes.map((v) => v.VolumeId)))
  })

  test('a scale from 2 to 1 keeps both volumes and reports the spare', async () => {
    writeFileSync(path.join(work, 'compose.yaml'), compose(1))
    const result = await run(work, { stack: scope.stack })
    expect(operations(writesOf(result.calls))).not.toContain('DeleteVolume')
    expect(await volumesOf(scope)).toHaveLength(2)
    expect(result.stdout).toMatch(/volume cache\/cache-data\/1: kept \(spare slot 1: beyond the service's replicas\)/)
    const summary = JSON.parse(result.outputs.summary ?? '{}') as { volumes?: Array<{ name: string; state: string }> }
    expect(summary.volumes?.find((v) => v.name === 'cache/cache-data/1')?.state).toBe('spare')
  })
})

describe('a pull request preview with a volume', () => {
  const number = 41
  const scope: StackScope = { project: PROJECT, stack: `pr-${number}`, region: REGION }
  const work = tempWorkspace({ 'compose.yaml': SEED_WITH_VOLUME })
  const events = mkdtempSync(path.join(tmpdir(), 'hyperform-events-'))
  dirs.push(events)
  const event = (name: string): Record<string, string> => {
    const file = path.join(events, `${name}.json`)
    const repo = { full_name: 'octo-org/shop', fork: false }
    writeFileSync(
      file,
      JSON.stringify({
        action: name,
        number,
        pull_request: { number, head: { repo }, base: { repo } },
        repository: repo
      })
    )
    return { GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: file, GITHUB_REPOSITORY: 'octo-org/shop' }
  }

  test('closing the pull request deletes the preview volumes', async () => {
    await run(work, {}, 0, event('opened'))
    const created = await volumesOf(scope)
    expect(created).toHaveLength(1)
    const closed = await run(work, {}, 0, event('closed'))
    expect(operations(writesOf(closed.calls))).toContain('DeleteVolume')
    expect(await volumesOf(scope)).toEqual([])
    await expect(control.volume(created[0]?.VolumeId ?? '')).rejects.toThrow('InvalidVolume.NotFound')
  })
})

describe('bind mounts', () => {
  test('a repository file reaches the container read-only', async () => {
    const scope: StackScope = { project: PROJECT, stack: 'st-web', region: REGION }
    const conf = 'events {}\nhttp { server { listen 80; } }\n'
    const work = tempWorkspace({
      'compose.yaml': `services:
  web:
    image: nginx:1.27
    volumes:
      - ./config/nginx.conf:/etc/nginx/nginx.conf:ro
`
    })
    mkdirSync(path.join(work, 'config'))
    writeFileSync(path.join(work, 'config', 'nginx.conf'), conf)
    await run(work, { stack: scope.stack })
    const [web] = await soon(async () => {
      const list = await containersOf(scope, 'web')
      return list.length === 1 && list[0]?.spec ? list : undefined
    })
    expect(web?.spec?.files).toEqual([{ target: '/etc/nginx/nginx.conf', mode: '0444', content: conf }])
    expect(await volumesOf(scope)).toEqual([])
  })

  test('a bind mount of a directory outside the repository stops the run with file and line, before any AWS call', async () => {
    const outside = mkdtempSync(path.join(tmpdir(), 'hyperform-outside-'))
    dirs.push(outside)
    const work = tempWorkspace({
      'compose.yaml': `services:
  web:
    image: nginx:1.27
    volumes:
      - ${outside}:/usr/share/nginx/html
`
    })
    const result = await run(work, { stack: 'st-outside' }, 1)
    expect(result.calls).toEqual([])
    expect(result.stdout).toMatch(/compose\.yaml:5:\d+ services\.web\.volumes/)
    expect(readFileSync(path.join(work, 'compose.yaml'), 'utf8')).toContain(outside)
  })
})
