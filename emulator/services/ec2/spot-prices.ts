/**
 * DescribeSpotPriceHistory (EC2 API reference) and the spot price control route. A pool is an instance type in
 * an Availability Zone for a product description (`Linux/UNIX`, `Linux/UNIX (Amazon VPC)`; both carry the same
 * price, as on AWS). Its price is seeded: 25-45% of the type's on-demand price (instance-catalogue.ts), different
 * per zone, changing every six hours (at an offset of its own) by a little, for the 90 days of history AWS keeps.
 * A price set through the control route holds from its time on.
 */
import { createHash } from 'node:crypto'
import type {
  DescribeSpotPriceHistoryRequest,
  DescribeSpotPriceHistoryResult,
  RIProductDescription,
  SpotPrice
} from '@aws-sdk/client-ec2'
import { describeAvailabilityZones } from './describe-network.js'
import { ec2Error } from './errors.js'
import { matchesFilters, paginate } from './filters.js'
import { INSTANCE_TYPES, instanceTypeInfo, onDemandPrice } from './instance-catalogue.js'
import type { Ec2World } from './model.js'

export const SPOT_PRODUCT_DESCRIPTIONS = ['Linux/UNIX', 'Linux/UNIX (Amazon VPC)'] as const

/** How often a seeded pool price changes. */
const PERIOD_MS = 6 * 3600_000
/** AWS keeps 90 days of spot price history. */
const HISTORY_MS = 90 * 24 * 3600_000
/** The API reference: MaxResults 1..1000 (the default page too). */
const MAX_RESULTS = 1000

interface Pool {
  region: string
  zone: string
  instanceType: string
  product: string
}

interface PricePoint {
  time: number
  price: number
}

/** A deterministic number in [0, 1) from the emulator's seed and the parts. */
function unit(seed: number, ...parts: (string | number)[]): number {
  return (
    createHash('sha256')
      .update(`${seed}|${parts.join('|')}`)
      .digest()
      .readUInt32BE(0) /
    2 ** 32
  )
}

function poolKey(p: Pool): string {
  return `${p.region}|${p.zone}|${p.instanceType}|${p.product}`
}

/** The zones of a region (its default subnets' zones). */
function zonesOf(w: Ec2World, region: string): string[] {
  return (describeAvailabilityZones(w, region).AvailabilityZones ?? []).map((z) => z.ZoneName ?? '')
}

/** The seeded price of a pool in the period that starts at `step` (both product descriptions share it). */
function seededPrice(w: Ec2World, pool: Pool, step: number): number {
  const seed = w.cloud.faults.seed
  const onDemand = onDemandPrice(pool.instanceType, pool.region) ?? 0
  // the zone's level in [0.27, 0.43), then +-0.02 per period: always within 25-45% of on demand
  const level = 0.27 + 0.16 * unit(seed, pool.region, pool.zone, pool.instanceType)
  const drift = 0.04 * (unit(seed, pool.region, pool.zone, pool.instanceType, step) - 0.5)
  return Math.max(0.000001, Math.round(onDemand * (level + drift) * 1e6) / 1e6)
}

/** A pool's price points from `from` to `to` (epoch ms), oldest first, with the point in effect at `from`. */
function history(w: Ec2World, pool: Pool, from: number, to: number): PricePoint[] {
  const now = Date.now()
  const offset = Math.floor(unit(w.cloud.faults.seed, 'offset', pool.region, pool.zone, pool.instanceType) * PERIOD_MS)
  const overrides = w.spotPriceOverrides.get(poolKey(pool)) ?? []
  const firstOverride = overrides[0]?.time ?? Infinity
  const oldest = now - HISTORY_MS
  const firstStep = Math.floor((Math.max(from, oldest) - offset) / PERIOD_MS)
  const lastStep = Math.floor((Math.min(to, now) - offset) / PERIOD_MS)
  const points: PricePoint[] = []
  for (let step = firstStep; step <= lastStep; step++) {
    const time = step * PERIOD_MS + offset
    if (time >= firstOverride) break
    points.push({ time: Math.max(time, oldest), price: seededPrice(w, pool, step) })
  }
  for (const o of overrides) if (o.time <= to) points.push(o)
  // the point in effect at `from` and every later one
  const inEffect = points.filter((p) => p.time <= from).pop()
  return [...(inEffect ? [inEffect] : []), ...points.filter((p) => p.time > from)]
}

/** The latest price of a pool (a price set through the control route, else the seeded one now). */
export function currentSpotPrice(w: Ec2World, pool: Pool): PricePoint {
  const now = Date.now()
  return history(w, pool, now, now)[0] ?? { time: now, price: seededPrice(w, pool, 0) }
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

function row(pool: Pool, point: PricePoint): SpotPrice & { time: number } {
  return {
    AvailabilityZone: pool.zone,
    InstanceType: pool.instanceType as SpotPrice['InstanceType'],
    ProductDescription: pool.product as RIProductDescription,
    SpotPrice: point.price.toFixed(6),
    Timestamp: new Date(Math.floor(point.time / 1000) * 1000),
    time: Math.floor(point.time / 1000) * 1000
  }
}

function invalid(message: string): never {
  throw ec2Error('InvalidParameterValue', message)
}

function timeOf(value: Date | undefined, member: string): number | undefined {
  if (value === undefined) return undefined
  const ms = value instanceof Date ? value.getTime() : Date.parse(String(value))
  if (Number.isNaN(ms)) invalid(`Value (${String(value)}) for parameter ${member} is invalid.`)
  return ms
}

export function describeSpotPriceHistory(
  w: Ec2World,
  region: string,
  input: DescribeSpotPriceHistoryRequest
): DescribeSpotPriceHistoryResult {
  if (input.MaxResults !== undefined && (input.MaxResults < 1 || input.MaxResults > MAX_RESULTS))
    invalid(`Value ( ${input.MaxResults} ) for parameter maxResults is invalid. Expecting a value between 1 and 1000.`)
  const zones = zonesOf(w, region)
  if (input.AvailabilityZone !== undefined && !zones.includes(input.AvailabilityZone))
    invalid(`Invalid availability zone: [${input.AvailabilityZone}]`)
  const types = input.InstanceTypes?.length ? [...new Set(input.InstanceTypes as string[])] : undefined
  for (const t of types ?? []) if (!instanceTypeInfo(t)) invalid(`Invalid value '${t}' for InstanceType.`)
  const start = timeOf(input.StartTime, 'startTime')
  const end = timeOf(input.EndTime, 'endTime')
  if (start !== undefined && end !== undefined && start > end) invalid('The start time must be before the end time.')
  const latestOnly = start === undefined && end === undefined
  const to = end ?? Date.now()
  const from = start ?? to
  const products = input.ProductDescriptions?.length ? input.ProductDescriptions : [...SPOT_PRODUCT_DESCRIPTIONS]

  const rows: (SpotPrice & { time: number })[] = []
  for (const info of INSTANCE_TYPES) {
    if (types && !types.includes(info.name)) continue
    for (const zone of zones) {
      if (input.AvailabilityZone !== undefined && zone !== input.AvailabilityZone) continue
      for (const product of products) {
        if (!(SPOT_PRODUCT_DESCRIPTIONS as readonly string[]).includes(product)) continue
        const pool: Pool = { region, zone, instanceType: info.name, product }
        const points = latestOnly ? [currentSpotPrice(w, pool)] : history(w, pool, from, to)
        for (const point of points) {
          const r = row(pool, point)
          const iso = isoSeconds(r.time)
          const matches = matchesFilters(input.Filters, (name) => {
            if (name === 'availability-zone') return [zone]
            if (name === 'instance-type') return [info.name]
            if (name === 'product-description') return [product]
            if (name === 'spot-price') return [r.SpotPrice ?? '', String(point.price)]
            if (name === 'timestamp') return [iso, new Date(r.time).toISOString()]
            return undefined
          })
          if (matches) rows.push(r)
        }
      }
    }
  }
  // newest first, as AWS lists them
  rows.sort(
    (a, b) =>
      b.time - a.time ||
      String(a.InstanceType).localeCompare(String(b.InstanceType)) ||
      String(a.AvailabilityZone).localeCompare(String(b.AvailabilityZone)) ||
      String(a.ProductDescription).localeCompare(String(b.ProductDescription))
  )
  const { page, nextToken } = paginate(rows, input.MaxResults ?? MAX_RESULTS, input.NextToken)
  // AWS answers an empty NextToken on the last page
  return {
    SpotPriceHistory: page.map(({ time: _time, ...r }) => r),
    NextToken: nextToken ?? ''
  }
}

export interface SpotPriceSetting {
  region?: string
  availabilityZone?: string
  instanceType?: string
  price?: number | string
  /** Default: both Linux product descriptions. */
  productDescription?: string
}

/** POST /_emulator/spot-prices: sets a pool's price from now on; answers the pool's new rows. */
export function setSpotPrice(w: Ec2World, setting: SpotPriceSetting): { status: number; body: unknown } {
  const zone = setting.availabilityZone ?? ''
  const region = setting.region ?? zone.replace(/[a-z]$/, '')
  if (!zonesOf(w, region).includes(zone))
    return { status: 400, body: { error: `availabilityZone ${zone || '(none)'} is not a zone of ${region}` } }
  const instanceType = setting.instanceType ?? ''
  if (!instanceTypeInfo(instanceType))
    return { status: 400, body: { error: `instanceType ${instanceType || '(none)'} is not in the catalogue` } }
  const price = Number(setting.price)
  if (setting.price === undefined || !Number.isFinite(price) || price <= 0)
    return { status: 400, body: { error: `price ${String(setting.price)} is not a positive number` } }
  const products = setting.productDescription ? [setting.productDescription] : [...SPOT_PRODUCT_DESCRIPTIONS]
  if (!products.every((p) => (SPOT_PRODUCT_DESCRIPTIONS as readonly string[]).includes(p)))
    return { status: 400, body: { error: `productDescription must be one of ${SPOT_PRODUCT_DESCRIPTIONS.join(', ')}` } }
  // a later setting is always the latest point, even within the same millisecond
  const time = Date.now()
  const rows = products.map((product) => {
    const pool: Pool = { region, zone, instanceType, product }
    const list = w.spotPriceOverrides.get(poolKey(pool)) ?? []
    const last = list[list.length - 1]
    const point = { time: Math.max(time, (last?.time ?? 0) + 1), price }
    w.spotPriceOverrides.set(poolKey(pool), [...list, point])
    const { time: _time, ...r } = row(pool, point)
    return { ...r, Timestamp: r.Timestamp?.toISOString() }
  })
  return { status: 200, body: rows }
}

/** GET /_emulator/spot-prices?region=R&instanceType=T: the latest price of every pool of the region (or type). */
export function listSpotPrices(w: Ec2World, query: URLSearchParams): { status: number; body: unknown } {
  const region = query.get('region') ?? 'us-east-1'
  const type = query.get('instanceType') ?? undefined
  if (type !== undefined && !instanceTypeInfo(type))
    return { status: 400, body: { error: `instanceType ${type} is not in the catalogue` } }
  const out = describeSpotPriceHistory(w, region, type ? { InstanceTypes: [type as never] } : {})
  return {
    status: 200,
    body: (out.SpotPriceHistory ?? []).map((r) => ({ ...r, Timestamp: r.Timestamp?.toISOString() }))
  }
}
