/**
 * End to end, verified rollouts: the seed example deployed healthy, then a wordpress image that
 * crashes (the emulator's image catalogue), one whose health check never passes, and a healthy
 * one. A bad version never enters DNS, never shrinks the record, fails the step early with the
 * service, version, reason and the container's last lines, and leaves the previous version serving
 * on both groups; the next deploy of the previous compose file changes nothing. A healthy rollout
 * keeps the record at full size throughout.
 */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { asgName, recordName, type StackScope } from '../src/names.js'
import {
  action,
  aRecords,
  FAST_SIMULATION,
  projectView,
  SEED_COMPOSE,
  stackView,
  until,
  workspace,
  writesOf,
  awsClients,
  destroyAws,
  operations,
  type Aws,
  type Run
} from './helpers/e2e.js'
import { startEmulator, type Emulator } from '../emulator/server.js'

const REGION = 'us-east-1'
const WP: StackScope = { project: 'prj-verified', stack: 'st-wordpress', region: REGION }
const CRASH = 'wordpress:6.7'
const UNHEALTHY = 'wordpress:6.8'
const HEALTHY = 'wordpress:6.9'
const DB_ERROR = 'Error establishing a database connection'
const WAIT_TIMEOUT = 600

let emulator: Emulator
let aws: Aws
let work: string
let zoneId = ''

function compose(image: string): string {
  return SEED_COMPOSE.replace('image: wordpress:latest', `image: ${image}`)
}

function deploy(image: string, expectCode: number | null = 0): Promise<Run> {
  writeFileSync(path.join(work, 'compose.yaml'), compose(image))
  return action(
    {
      emulator,
      region: REGION,
      workspace: work,
      inputs: { project: WP.project, stack: WP.stack, wait: 'true', 'wait-timeout': String(WAIT_TIMEOUT) }
    },
    expectCode
  )
}

/** The wordpress record, sampled every few milliseconds while `during` runs. */
async function sampled<T>(during: () => Promise<T>): Promise<{ result: T; samples: string[][] }> {
  const samples: string[][] = []
  let done = false
  const sampler = (async () => {
    while (!done) {
      const records = await aRecords(aws, zoneId)
      samples.push([...(records.get(recordName(WP, 'wordpress')) ?? [])].sort())
      await new Promise((r) => setTimeout(r, 5))
    }
  })()
  try {
    return { result: await during(), samples }
  } finally {
    done = true
    await sampler
  }
}

/** The wordpress groups' versions and in-service instances, once the emulator is idle. */
async function wordpressGroups(): Promise<{ versions: string[]; inService: number; instanceVersions: string[] }> {
  await emulator.waitIdle()
  const view = await stackView(aws, WP)
  const groups = (['on-demand', 'spot'] as const).map((c) => view.groups.get(asgName(WP, 'wordpress', c)))
  return {
    versions: groups.map((g) => g?.launchTemplateVersion ?? ''),
    inService: groups.flatMap((g) => g?.instances.filter((i) => i.lifecycleState === 'InService') ?? []).length,
    instanceVersions: groups.flatMap((g) => g?.instances.map((i) => i.version ?? '') ?? [])
  }
}

/** The wordpress groups once 2 instances are in service, all on one of `versions` (the previous ones). */
function servingOn(versions: string[]): ReturnType<typeof wordpressGroups> {
  return until(
    async () => {
      const g = await wordpressGroups()
      return g.inService === 2 && g.instanceVersions.every((v) => versions.includes(v)) ? g : undefined
    },
    async () => JSON.stringify(await wordpressGroups())
  )
}

async function wordpressIps(): Promise<Map<string, string>> {
  const view = await stackView(aws, WP)
  return new Map(view.instances.filter((i) => i.service === 'wordpress' && i.ip).map((i) => [i.id, i.ip ?? '']))
}

beforeAll(async () => {
  emulator = await startEmulator({
    simulation: FAST_SIMULATION,
    images: [
      // the seed's database password is a compose value: masked wherever the action quotes the line
      { image: CRASH, run: 'crash', logs: ['connecting as wordpress with password', DB_ERROR] },
      { image: UNHEALTHY, run: 'unhealthy', logs: ['listening on :80'] }
    ]
  })
  aws = awsClients(emulator, REGION)
  work = workspace({ 'compose.yaml': compose('wordpress:6') })
  await deploy('wordpress:6')
  zoneId = (await projectView(aws, WP)).zones[0]?.id ?? ''
}, 180_000)

afterAll(async () => {
  destroyAws(aws)
  await emulator.stop()
})

describe('a wordpress version that crashes', () => {
  let failed: Run
  let samples: string[][]
  let before: { versions: string[]; ips: Map<string, string> }

  beforeAll(async () => {
    const groups = await wordpressGroups()
    before = { versions: groups.versions, ips: await wordpressIps() }
    const seen = new Map<string, string>()
    const run = await sampled(async () => {
      const watching = setInterval(() => {
        void wordpressIps().then((ips) => ips.forEach((ip, id) => seen.set(id, ip)))
      }, 20)
      try {
        return await deploy(CRASH, null)
      } finally {
        clearInterval(watching)
      }
    })
    failed = run.result
    samples = run.samples
    for (const [id, ip] of await wordpressIps()) seen.set(id, ip)
    // Every wordpress instance seen during the run that was not there before is of the new version.
    newIps = [...seen].filter(([id]) => !before.ips.has(id)).map(([, ip]) => ip)
  }, 300_000)
  let newIps: string[] = []

  test('fails the step as a failed rollout, naming wordpress, the version and quoting its last log line', () => {
    expect(failed.code).not.toBe(0)
    const output = failed.stdout + failed.stderr
    expect(output).toContain('rollout failed')
    expect(output).not.toContain(`not ready after ${WAIT_TIMEOUT}s`)
    expect(output).toMatch(/wordpress: version wordpress:6\.7 failed: container exited with code 1/)
    expect(output).toContain(DB_ERROR)
    expect(failed.summary).toContain('Failed rollouts')
    expect(failed.summary).toContain('**wordpress** `wordpress:6.7` failed')
    expect(failed.summary).toContain(DB_ERROR)
    expect(failed.summary).toContain('previous version wordpress:6 is still serving')
    expect(failed.summary).toContain('connecting as wordpress with ***')
    expect(failed.summary).not.toContain('with password')
  })

  test('launched instances of the new version, and never listed one in the record, which never shrank', () => {
    expect(newIps.length).toBeGreaterThan(0)
    expect(samples.length).toBeGreaterThan(10)
    for (const sample of samples) {
      expect(sample.length).toBeGreaterThanOrEqual(before.ips.size)
      for (const ip of newIps) expect(sample).not.toContain(ip)
    }
  })

  test('leaves both wordpress groups on the previous version with 2 instances in service', async () => {
    const after = await servingOn(before.versions)
    expect(after.versions).toEqual(before.versions)
    const records = await aRecords(aws, zoneId)
    expect([...(records.get(recordName(WP, 'wordpress')) ?? [])].sort()).toEqual([...before.ips.values()].sort())
  })

  test('the next deploy of the previous compose file makes no change', async () => {
    const again = await deploy('wordpress:6')
    expect(operations(writesOf(again.calls))).toEqual([])
  })
})

test('a version whose health check never passes fails the same way, and the previous one keeps serving', async () => {
  const versions = (await wordpressGroups()).versions
  const run = await deploy(UNHEALTHY, null)
  expect(run.code).not.toBe(0)
  expect(run.stdout + run.stderr).toMatch(/wordpress: version wordpress:6\.8 failed: unhealthy/)
  expect(run.summary).toContain('listening on :80')
  const after = await servingOn(versions)
  expect(after.versions).toEqual(versions)
}, 300_000)

test('a healthy rollout of both groups keeps the record at full size throughout and ends on the new version', async () => {
  const { result, samples } = await sampled(() => deploy(HEALTHY))
  expect(result.code).toBe(0)
  expect(operations(writesOf(result.calls)).filter((op) => op === 'StartInstanceRefresh')).toHaveLength(2)
  for (const sample of samples) expect(sample.length).toBeGreaterThanOrEqual(2)
  const view = await stackView(aws, WP)
  for (const capacity of ['on-demand', 'spot'] as const) {
    const group = view.groups.get(asgName(WP, 'wordpress', capacity))
    expect(group?.instances.map((i) => i.version)).toEqual([group?.launchTemplateVersion])
  }
  const records = await aRecords(aws, zoneId)
  expect(records.get(recordName(WP, 'wordpress'))).toHaveLength(2)
}, 300_000)

test('an instance whose container turns unhealthy later leaves the record and is replaced', async () => {
  await emulator.waitIdle()
  const before = await wordpressIps()
  const [victim, ip] = [...before][0] ?? ['', '']
  const res = await fetch(`${emulator.endpoint}/_emulator/instances/${victim}/container/health`, {
    method: 'POST',
    body: JSON.stringify({ health: 'unhealthy' }),
    headers: { 'content-type': 'application/json' }
  })
  expect(res.status).toBe(200)
  const record = await until(
    async () => {
      const values = (await aRecords(aws, zoneId)).get(recordName(WP, 'wordpress')) ?? []
      return values.length === 2 && !values.includes(ip) ? values : undefined
    },
    async () => JSON.stringify(await aRecords(aws, zoneId))
  )
  expect(record).toHaveLength(2)
  expect((await wordpressIps()).has(victim)).toBe(false)
}, 120_000)

test('when only the spot group cannot roll, the on-demand group is rolled back too: both end on the same version', async () => {
  await emulator.waitIdle()
  const before = await wordpressGroups()
  emulator.cloud.faults.spotCapacityUnavailable = true
  let run: Run
  try {
    run = await deploy('wordpress:6.10', null)
  } finally {
    emulator.cloud.faults.spotCapacityUnavailable = false
  }
  expect(run.code).not.toBe(0)
  expect(run.stdout + run.stderr).toMatch(/wordpress: version wordpress:6\.10 failed: instance refresh of \S+-spot/)
  const after = await servingOn(before.versions)
  expect(after.versions).toEqual(before.versions)
}, 300_000)

test('a first deploy whose version crashes fails the same way and leaves the stack in place', async () => {
  const first: StackScope = { ...WP, stack: 'st-first' }
  writeFileSync(path.join(work, 'compose.yaml'), compose(CRASH))
  const run = await action(
    {
      emulator,
      region: REGION,
      workspace: work,
      inputs: { project: first.project, stack: first.stack, wait: 'true', 'wait-timeout': String(WAIT_TIMEOUT) }
    },
    null
  )
  expect(run.code).not.toBe(0)
  const output = run.stdout + run.stderr
  expect(output).toMatch(/wordpress: version wordpress:6\.7 failed: container exited with code 1/)
  expect(output).toContain('no earlier version: the stack stays as deployed')
  expect(run.summary).toContain(DB_ERROR)
  const view = await stackView(aws, first)
  expect([...view.groups.keys()].sort()).toEqual(
    ['db', 'wordpress'].flatMap((s) => (['on-demand', 'spot'] as const).map((c) => asgName(first, s, c))).sort()
  )
  expect(view.launchTemplates).toHaveLength(2)
}, 300_000)
