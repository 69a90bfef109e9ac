/**
 * What a stack's instances cost, estimated from a price book: a pure function of the fleet (how many
 * instances of which types each service runs, on demand and on spot) and the prices read
 * (aws/prices.ts). On-demand instances at the region's on-demand price; spot instances at the current
 * price of the pool each runs in (instance type x availability zone), or, before one runs, the cheapest
 * pool of its group's types; the load balancer's hour divided among the project's stacks that use it.
 * Storage, data transfer and the load balancer's capacity units are not counted: the summary says so.
 */

import type { CurrentState, DesiredState } from './state.js'

/** AWS's month for pricing: 8,760 hours / 12. */
export const HOURS_PER_MONTH = 730

export interface SpotPrice {
  instanceType: string
  zone: string
  /** USD per hour. */
  price: number
}

export interface PriceBook {
  /** Where the on-demand prices come from. */
  source: 'price-list-api' | 'shipped-table'
  /** The shipped table's date (YYYY-MM-DD): the prices may be as old as that. */
  asOf?: string
  /** USD per hour, Linux, shared tenancy, per instance type. */
  onDemand: Record<string, number>
  /** The latest spot price of each pool read. */
  spot: SpotPrice[]
  /** USD per hour of an Application Load Balancer (capacity units not included). */
  loadBalancer?: number
  /** What could not be read, in words (shown under the cost table). */
  notes: string[]
}

/** A spot instance that runs: its pool. */
export interface RunningSpot {
  instanceType: string
  zone: string
}

export interface ServiceFleet {
  service: string
  onDemand: number
  /** The on-demand group's type (the launch template's). */
  instanceType: string
  spot: number
  /** The spot group's types (its overrides; the launch template's type when it has none). */
  spotTypes: string[]
  /** Spot instances running now, whose pools price them. */
  running?: RunningSpot[]
}

export interface Fleet {
  services: ServiceFleet[]
  /** Availability zones the groups launch into (spot pools outside them are not used). */
  zones?: string[]
  /** The project's load balancer, shared by `stacks` stacks (this one included), when this stack uses it. */
  loadBalancer?: { stacks: number }
}

export interface ServiceCost {
  service: string
  onDemand: number
  spot: number
  /** USD per hour of its instances, as they run. */
  hourly: number
  /** USD per hour if every instance ran on demand. */
  allOnDemand: number
  /** allOnDemand - hourly. */
  saving: number
  /** Instances whose type has no price in the book (not counted). */
  unpriced: number
}

export interface CostEstimate {
  services: ServiceCost[]
  /** The stack's share of the load balancer's hour. */
  loadBalancer?: { hourly: number; stacks: number }
  hourly: number
  monthly: number
  /** Per hour and per month, against every instance on demand. */
  saving: { hourly: number; monthly: number }
  source: PriceBook['source']
  asOf?: string
  notes: string[]
}

/** The price of a spot instance: its pool's, else the cheapest pool of its group in the zones used. */
function spotPrices(book: PriceBook, fleet: ServiceFleet, zones: string[] | undefined): (number | undefined)[] {
  const pool = (type: string, zone: string): number | undefined =>
    book.spot.find((p) => p.instanceType === type && p.zone === zone)?.price
  const candidates = book.spot
    .filter((p) => fleet.spotTypes.includes(p.instanceType) && (!zones || zones.includes(p.zone)))
    .map((p) => p.price)
  const cheapest = candidates.length > 0 ? Math.min(...candidates) : undefined
  const running = (fleet.running ?? []).slice(0, fleet.spot)
  const prices = running.map((r) => pool(r.instanceType, r.zone) ?? cheapest)
  while (prices.length < fleet.spot) prices.push(cheapest)
  return prices
}

function round(usd: number): number {
  return Math.round(usd * 1e6) / 1e6
}

export function estimateCost(fleet: Fleet, book: PriceBook): CostEstimate {
  const notes = [...book.notes]
  const services = fleet.services.map((s): ServiceCost => {
    const onDemandPrice = book.onDemand[s.instanceType]
    let unpriced = onDemandPrice === undefined ? s.onDemand : 0
    let hourly = (onDemandPrice ?? 0) * s.onDemand
    let allOnDemand = hourly
    for (const [i, price] of spotPrices(book, s, fleet.zones).entries()) {
      // the on-demand price of the spot instance's own type (its pool's, when it runs)
      const type = s.running?.[i]?.instanceType ?? s.spotTypes[0] ?? s.instanceType
      const full = book.onDemand[type] ?? onDemandPrice
      if (price === undefined || full === undefined) {
        unpriced += 1
        continue
      }
      hourly += price
      allOnDemand += full
    }
    if (unpriced > 0) notes.push(`${s.service}: ${unpriced} instance(s) without a price, not counted`)
    return {
      service: s.service,
      onDemand: s.onDemand,
      spot: s.spot,
      hourly: round(hourly),
      allOnDemand: round(allOnDemand),
      saving: round(allOnDemand - hourly),
      unpriced
    }
  })
  const stacks = fleet.loadBalancer?.stacks ?? 0
  const loadBalancer =
    stacks > 0 && book.loadBalancer !== undefined ? { hourly: round(book.loadBalancer / stacks), stacks } : undefined
  if (stacks > 0 && book.loadBalancer === undefined) notes.push('the load balancer: no price, not counted')
  const hourly = round(services.reduce((sum, s) => sum + s.hourly, 0) + (loadBalancer?.hourly ?? 0))
  const saving = round(services.reduce((sum, s) => sum + s.saving, 0))
  return {
    services,
    ...(loadBalancer ? { loadBalancer } : {}),
    hourly,
    monthly: round(hourly * HOURS_PER_MONTH),
    saving: { hourly: saving, monthly: round(saving * HOURS_PER_MONTH) },
    source: book.source,
    ...(book.asOf ? { asOf: book.asOf } : {}),
    notes: [...new Set(notes)]
  }
}

/** Dollars as the summary shows them: cents, or four decimals under a dollar an hour. */
export function usd(amount: number, perHour = false): string {
  const sign = amount < 0 ? '-' : ''
  const abs = Math.abs(amount)
  return `${sign}$${abs.toFixed(perHour && abs < 1 ? 4 : 2)}`
}

/** The change a deploy would make, for `plan`: before -> after per month, and the difference. */
export function costChangeLine(before: CostEstimate, after: CostEstimate): string {
  const delta = round(after.monthly - before.monthly)
  const sign = delta > 0 ? '+' : delta < 0 ? '-' : '±'
  return `cost: ${usd(before.hourly, true)}/h -> ${usd(after.hourly, true)}/h (${usd(before.monthly)} -> ${usd(after.monthly)} a month, ${sign}${usd(Math.abs(delta))})`
}

/** Where the prices come from, in words. */
export function priceSourceLine(estimate: Pick<CostEstimate, 'source' | 'asOf'>): string {
  return estimate.source === 'price-list-api'
    ? 'On-demand prices from the AWS Price List API, spot prices from EC2 spot price history (current).'
    : `On-demand prices from the table shipped with the action (as of ${estimate.asOf ?? 'unknown'}; AWS may have changed them since: the Price List API was not reachable), spot prices from EC2 spot price history.`
}

/** Spot instances that run now, per service (their pools price them). */
function runningSpot(current: CurrentState): Map<string, RunningSpot[]> {
  const out = new Map<string, RunningSpot[]>()
  for (const i of current.instances ?? []) {
    if (i.capacity !== 'spot' || i.state !== 'running' || i.leaving || !i.instanceType || !i.zone) continue
    out.set(i.service, [...(out.get(i.service) ?? []), { instanceType: i.instanceType, zone: i.zone }])
  }
  return out
}

/** A spot group's types: its overrides, or the launch template's type when it has none. */
function typesOf(spot: { instanceTypes: string[] } | undefined, instanceType: string): string[] {
  return spot && spot.instanceTypes.length > 0 ? spot.instanceTypes : [instanceType]
}

/** The project's stacks that share the load balancer, this one included (when it has rules there). */
function sharing(current: CurrentState, mine: boolean): Fleet['loadBalancer'] {
  return mine ? { stacks: (current.listenerRuleCount?.otherStacks ?? 0) + 1 } : undefined
}

/** What a deploy of `desired` runs (spot instances already running keep their pools). */
export function desiredFleet(desired: DesiredState, current: CurrentState): Fleet {
  const running = runningSpot(current)
  const zones = desired.network.subnetZones ? [...new Set(Object.values(desired.network.subnetZones))] : undefined
  return {
    services: desired.services.map((s) => {
      const spot = s.asgs.find((a) => a.capacity === 'spot')
      const instanceType = s.launchTemplate.spec.instanceType
      return {
        service: s.name,
        onDemand: s.asgs.find((a) => a.capacity === 'on-demand')?.size ?? 0,
        instanceType,
        spot: spot?.size ?? 0,
        spotTypes: typesOf(spot, instanceType),
        running: (running.get(s.name) ?? []).filter((r) => spot?.instanceTypes.includes(r.instanceType) ?? false)
      }
    }),
    ...(zones ? { zones } : {}),
    loadBalancer: sharing(
      current,
      desired.services.some((s) => s.endpoints.length > 0)
    )
  }
}

/** What the stack runs now, as its groups and launch templates say (for plan's cost change). */
export function currentFleet(current: CurrentState): Fleet {
  const running = runningSpot(current)
  const services = [...new Set(current.asgs.map((a) => a.service))].sort()
  return {
    services: services.map((service) => {
      const groups = current.asgs.filter((a) => a.service === service)
      const spot = groups.find((a) => a.capacity === 'spot')
      const instanceType =
        current.launchTemplates.find((t) => t.service === service)?.instanceType ?? spot?.instanceTypes[0] ?? ''
      return {
        service,
        onDemand: groups.find((a) => a.capacity === 'on-demand')?.desired ?? 0,
        instanceType,
        spot: spot?.desired ?? 0,
        spotTypes: typesOf(spot, instanceType),
        running: running.get(service) ?? []
      }
    }),
    loadBalancer: sharing(current, (current.listenerRules ?? []).length > 0)
  }
}

/** The types to price on demand and at spot for these fleets. */
export function pricedTypes(fleets: Fleet[]): { onDemandTypes: string[]; spotTypes: string[] } {
  const services = fleets.flatMap((f) => f.services)
  return {
    onDemandTypes: [
      ...new Set(
        services.flatMap((s) => [
          s.instanceType,
          ...(s.spot > 0 ? [s.spotTypes[0] ?? s.instanceType] : []),
          ...(s.running ?? []).map((r) => r.instanceType)
        ])
      )
    ].filter(Boolean),
    spotTypes: [...new Set(services.flatMap((s) => (s.spot > 0 ? s.spotTypes : [])))]
  }
}
