/**
 * The cost estimate: a pure function of the fleet and the price book; the summary's and the preview
 * comment's words for it.
 */
import { costChangeLine, estimateCost, pricedTypes, usd, type Fleet, type PriceBook } from '../src/cost.js'
import { hourlyPrice } from '../src/aws/prices.js'
import { costMarkdown, costPerDay } from '../src/report.js'

const BOOK: PriceBook = {
  source: 'price-list-api',
  onDemand: { 't3.micro': 0.0104, 't3a.micro': 0.0094 },
  spot: [
    { instanceType: 't3.micro', zone: 'us-east-1a', price: 0.0035 },
    { instanceType: 't3.micro', zone: 'us-east-1b', price: 0.0041 },
    { instanceType: 't3a.micro', zone: 'us-east-1a', price: 0.0031 },
    { instanceType: 't3a.micro', zone: 'us-east-1c', price: 0.0022 }
  ],
  loadBalancer: 0.0225,
  notes: []
}

const SEED: Fleet = {
  services: [
    { service: 'db', onDemand: 1, instanceType: 't3.micro', spot: 0, spotTypes: ['t3.micro'] },
    { service: 'wordpress', onDemand: 1, instanceType: 't3.micro', spot: 1, spotTypes: ['t3.micro'] }
  ],
  zones: ['us-east-1a', 'us-east-1b']
}

test('on-demand instances cost their type, a spot instance before it runs the cheapest pool of its types in the zones used', () => {
  const cost = estimateCost(SEED, BOOK)
  expect(cost.services.map((s) => [s.service, s.hourly, s.allOnDemand, s.saving])).toEqual([
    ['db', 0.0104, 0.0104, 0],
    ['wordpress', 0.0139, 0.0208, 0.0069]
  ])
  expect(cost.hourly).toBe(0.0243)
  expect(cost.monthly).toBeCloseTo(0.0243 * 730, 6)
  expect(cost.saving.hourly).toBe(0.0069)
  expect(cost.saving.monthly).toBeCloseTo(0.0069 * 730, 6)
})

test('a running spot instance costs its own pool, and its saving is against its own type on demand', () => {
  const fleet: Fleet = {
    services: [
      {
        service: 'web',
        onDemand: 0,
        instanceType: 't3.micro',
        spot: 2,
        spotTypes: ['t3.micro', 't3a.micro'],
        running: [{ instanceType: 't3a.micro', zone: 'us-east-1a' }]
      }
    ],
    zones: ['us-east-1a', 'us-east-1b']
  }
  const [web] = estimateCost(fleet, BOOK).services
  // the running one: t3a.micro in 1a (0.0031); the other: the cheapest pool in 1a/1b (t3a 1a, 0.0031; 1c is not used)
  expect(web?.hourly).toBe(0.0062)
  expect(web?.allOnDemand).toBeCloseTo(0.0094 + 0.0104, 9)
})

test('the load balancer is shared by the stacks that use it, and an instance without a price is named, not counted', () => {
  const cost = estimateCost(
    {
      services: [{ service: 'api', onDemand: 1, instanceType: 'm9.huge', spot: 0, spotTypes: ['m9.huge'] }],
      loadBalancer: { stacks: 3 }
    },
    BOOK
  )
  expect(cost.loadBalancer).toEqual({ hourly: 0.0075, stacks: 3 })
  expect(cost.hourly).toBe(0.0075)
  expect(cost.services[0]?.unpriced).toBe(1)
  expect(cost.notes).toEqual(['api: 1 instance(s) without a price, not counted'])
})

test('plan says the cost before and after and the monthly difference, with its sign', () => {
  const before = estimateCost(SEED, BOOK)
  const doubled: Fleet = {
    ...SEED,
    services: SEED.services.map((s) => ({ ...s, onDemand: s.onDemand * 2, spot: s.spot * 2 }))
  }
  const after = estimateCost(doubled, BOOK)
  expect(after.hourly).toBeCloseTo(before.hourly * 2, 6)
  expect(costChangeLine(before, after)).toBe(
    `cost: $0.0243/h -> $0.0486/h ($17.74 -> $35.48 a month, +${usd(after.monthly - before.monthly)})`
  )
  expect(costChangeLine(after, before)).toContain(', -$17.74)')
})

test('the types priced are every group type, the first spot type and the running ones; spot prices for every spot type', () => {
  const fleet: Fleet = {
    services: [
      {
        service: 'web',
        onDemand: 1,
        instanceType: 'm5.large',
        spot: 1,
        spotTypes: ['m5.large', 'm6i.large'],
        running: [{ instanceType: 'm6i.large', zone: 'a' }]
      },
      { service: 'db', onDemand: 1, instanceType: 'r5.large', spot: 0, spotTypes: ['r5.large', 'r6i.large'] }
    ]
  }
  expect(pricedTypes([fleet])).toEqual({
    onDemandTypes: ['m5.large', 'm6i.large', 'r5.large'],
    spotTypes: ['m5.large', 'm6i.large']
  })
})

test('a Price List product document gives its hourly USD price; one without an hourly dimension gives none', () => {
  const doc = (unit: string, usdPrice: string): string =>
    JSON.stringify({
      product: { attributes: { instanceType: 'm5.large' } },
      terms: {
        OnDemand: {
          'X.JRTCKXETXF': { priceDimensions: { 'X.JRTCKXETXF.6YS6EN2CT7': { unit, pricePerUnit: { USD: usdPrice } } } }
        }
      }
    })
  expect(hourlyPrice(doc('Hrs', '0.0960000000'))).toBe(0.096)
  expect(hourlyPrice(doc('Quantity', '12'))).toBeUndefined()
  expect(hourlyPrice(doc('Hrs', '0.0000000000'))).toBeUndefined()
})

test('the summary table has a row per service, the load balancer share and a total; the preview says the cost per day', () => {
  const cost = estimateCost({ ...SEED, loadBalancer: { stacks: 2 } }, BOOK)
  const md = costMarkdown(cost)
  expect(md).toContain('| wordpress | 1 | 1 | $0.0139 | $0.0069 | $10.15 |')
  expect(md).toContain('| load balancer (1/2) |  |  | $0.0112 | - | $8.21 |')
  expect(md).toContain('| **total** | 2 | 1 | $0.0355 | $0.0069 | $25.95 |')
  expect(md).toContain('Spot saves $5.04 a month')
  expect(md).toContain('AWS Price List API')
  expect(costPerDay(cost)).toBe('Cost: about $0.85 a day (spot saves $0.17 a day).')
  const table = estimateCost(SEED, { ...BOOK, source: 'shipped-table', asOf: '2026-12-03' })
  expect(costMarkdown(table)).toContain('table shipped with the action (as of 2026-12-03')
})
