/**
 * End to end, what spot saves: the seed example deployed by the bundled action; its summary (the job
 * summary and the `summary` output) prices its three instances from the emulator's Price List API and
 * spot price history, read here independently with the SDK; `plan` after doubling the replicas shows
 * the change; without the Price List API the shipped table stands in, and says so.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { DescribeInstancesCommand, DescribeSpotPriceHistoryCommand, EC2Client } from '@aws-sdk/client-ec2'
import { GetProductsCommand, PricingClient } from '@aws-sdk/client-pricing'
import { sdkConfig } from '../emulator/testing.js'
import type { CostEstimate } from '../src/cost.js'
import { TAGS } from '../src/names.js'
import { action, seedSuite } from './helpers/e2e.js'

const REGION = 'us-east-1'
const SCOPE = { project: 'prj-cost', stack: 'st', region: REGION }
const suite = seedSuite(REGION)

const deploy = (command = 'deploy', extra: Record<string, string> = {}): ReturnType<typeof action> =>
  action({
    emulator: suite.emulator,
    region: REGION,
    workspace: suite.work,
    inputs: { ...SCOPE, 'compose-file': 'compose.yaml', command, 'wait-timeout': '60', ...extra }
  })

const costOf = (run: { outputs: Record<string, string> }): CostEstimate =>
  (JSON.parse(run.outputs.summary ?? '{}') as { cost: CostEstimate }).cost

/** The on-demand hour of a type, as a user would read it from the Price List API. */
async function onDemand(type: string): Promise<number> {
  const pricing = new PricingClient(sdkConfig(suite.emulator))
  const out = await pricing.send(
    new GetProductsCommand({
      ServiceCode: 'AmazonEC2',
      Filters: [
        { Type: 'TERM_MATCH', Field: 'instanceType', Value: type },
        { Type: 'TERM_MATCH', Field: 'regionCode', Value: REGION },
        { Type: 'TERM_MATCH', Field: 'operatingSystem', Value: 'Linux' },
        { Type: 'TERM_MATCH', Field: 'tenancy', Value: 'Shared' },
        { Type: 'TERM_MATCH', Field: 'preInstalledSw', Value: 'NA' },
        { Type: 'TERM_MATCH', Field: 'capacitystatus', Value: 'Used' }
      ]
    })
  )
  pricing.destroy()
  const doc = JSON.parse(out.PriceList?.[0] ?? '{}') as {
    terms: { OnDemand: Record<string, { priceDimensions: Record<string, { pricePerUnit: { USD: string } }> }> }
  }
  const term = Object.values(doc.terms.OnDemand)[0]
  return Number(Object.values(term?.priceDimensions ?? {})[0]?.pricePerUnit.USD)
}

/** The running spot wordpress instance's pool and its current price. */
async function spotPool(): Promise<{ type: string; zone: string; price: number }> {
  const ec2 = new EC2Client(sdkConfig(suite.emulator))
  const found = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: `tag:${TAGS.project}`, Values: [SCOPE.project] },
        { Name: `tag:${TAGS.service}`, Values: ['wordpress'] },
        { Name: 'instance-lifecycle', Values: ['spot'] },
        { Name: 'instance-state-name', Values: ['running'] }
      ]
    })
  )
  const instance = found.Reservations?.flatMap((r) => r.Instances ?? [])[0]
  const type = instance?.InstanceType ?? ''
  const zone = instance?.Placement?.AvailabilityZone ?? ''
  const history = await ec2.send(
    new DescribeSpotPriceHistoryCommand({
      InstanceTypes: [type as never],
      AvailabilityZone: zone,
      ProductDescriptions: ['Linux/UNIX'],
      StartTime: new Date()
    })
  )
  ec2.destroy()
  return { type, zone, price: Number(history.SpotPriceHistory?.[0]?.SpotPrice) }
}

test("the seed example's summary prices its 3 instances, spot's saving on the wordpress spot instance and the monthly total", async () => {
  await deploy()
  // the re-run knows the pool the spot instance runs in
  const run = await deploy()
  const cost = costOf(run)
  const od = await onDemand('t3.micro')
  const pool = await spotPool()
  expect(od).toBeGreaterThan(0)
  expect(pool.price).toBeGreaterThan(0)
  expect(pool.price).toBeLessThan(od)
  expect(cost.source).toBe('price-list-api')
  const by = Object.fromEntries(cost.services.map((s) => [s.service, s]))
  expect(by.db).toMatchObject({ onDemand: 1, spot: 0, saving: 0 })
  expect(by.db?.hourly).toBeCloseTo(od, 6)
  expect(by.wordpress).toMatchObject({ onDemand: 1, spot: 1 })
  expect(by.wordpress?.hourly).toBeCloseTo(od + pool.price, 6)
  // the saving is against the spot instance's own type on demand (a derived type, perhaps)
  expect(by.wordpress?.saving).toBeCloseTo((await onDemand(pool.type)) - pool.price, 6)
  expect(cost.hourly).toBeCloseTo(2 * od + pool.price, 6)
  expect(cost.monthly).toBeCloseTo(cost.hourly * 730, 4)
  expect(run.summary).toContain('### Cost (estimate)')
  expect(run.summary).toMatch(/\| \*\*total\*\* \| 2 \| 1 \| \$0\.\d{4} \| \$0\.\d{4} \| \$\d+\.\d\d \|/)
  expect(run.summary).toContain('AWS Price List API')
}, 120_000)

test('plan after doubling the replicas shows the cost before and after', async () => {
  const compose = path.join(suite.work, 'compose.yaml')
  const before = readFileSync(compose, 'utf8')
  writeFileSync(
    compose,
    before
      .replace('replicas: 2', 'replicas: 4')
      .replace('preemptible: 1', 'preemptible: 2')
      .replace('     image: mysql:5.7', '     image: mysql:5.7\n     deploy:\n       replicas: 2')
  )
  try {
    const run = await deploy('plan')
    expect(run.calls.filter((c) => c.kind === 'write')).toEqual([])
    const summary = JSON.parse(run.outputs.summary ?? '{}') as { cost: CostEstimate; costBefore: CostEstimate }
    expect(summary.costBefore.services.map((s) => [s.service, s.onDemand, s.spot])).toEqual([
      ['db', 1, 0],
      ['wordpress', 1, 1]
    ])
    expect(summary.cost.services.map((s) => [s.service, s.onDemand, s.spot])).toEqual([
      ['db', 2, 0],
      ['wordpress', 2, 2]
    ])
    expect(summary.cost.hourly).toBeGreaterThan(summary.costBefore.hourly * 1.9)
    expect(run.stdout).toMatch(
      /cost: \$0\.\d{4}\/h -> \$0\.\d{4}\/h \(\$\d+\.\d\d -> \$\d+\.\d\d a month, \+\$\d+\.\d\d\)/
    )
    expect(run.summary).toMatch(/Plan: cost: .* a month, \+\$/)
  } finally {
    writeFileSync(compose, before)
  }
}, 120_000)

test('without the Price List API the shipped table prices the instances, and the summary says how old it is', async () => {
  suite.emulator.setFaults({ serverErrorRate: 1, services: ['pricing'] })
  try {
    const run = await deploy('plan')
    const cost = costOf(run)
    expect(cost.source).toBe('shipped-table')
    expect(cost.asOf).toMatch(/^\d{4}-\d\d-\d\d$/)
    expect(cost.notes.join()).toContain('the Price List API could not be read')
    expect(cost.hourly).toBeGreaterThan(0)
    expect(run.summary).toContain(`table shipped with the action (as of ${cost.asOf}`)
  } finally {
    suite.emulator.setFaults({ serverErrorRate: 0, services: [] })
  }
}, 120_000)
