/**
 * Spot capacity per pool (region, instance type, Availability Zone): the control route
 * POST /_emulator/spot-capacity removes a pool's capacity or gives it back, and Auto Scaling asks
 * here before each spot launch.
 */
import type { FaultSettings, SpotPool } from '../types.js'

const FIELDS = ['region', 'instanceType', 'availabilityZone'] as const

function only(pool: SpotPool): SpotPool {
  const out: SpotPool = {}
  for (const f of FIELDS) if (typeof pool[f] === 'string' && pool[f]) out[f] = pool[f]
  return out
}

const same = (a: SpotPool, b: SpotPool): boolean => FIELDS.every((f) => a[f] === b[f])

/**
 * `available: false` removes the pools the request names (fields left out match any); `available: true`
 * gives back exactly that entry, or, with no field set, every pool (and clears spotCapacityUnavailable).
 * Answers the pools without capacity.
 */
export function setSpotCapacity(faults: FaultSettings, request: SpotPool & { available?: boolean }): SpotPool[] {
  const pool = only(request)
  const pools = faults.spotPoolsUnavailable ?? []
  if (request.available === false) {
    if (!pools.some((p) => same(p, pool))) faults.spotPoolsUnavailable = [...pools, pool]
  } else if (FIELDS.every((f) => pool[f] === undefined)) {
    faults.spotPoolsUnavailable = []
    faults.spotCapacityUnavailable = false
  } else {
    faults.spotPoolsUnavailable = pools.filter((p) => !same(p, pool))
  }
  return faults.spotPoolsUnavailable ?? []
}

/** Whether a spot launch of this type in this zone finds capacity. */
export function spotAvailable(faults: FaultSettings, launch: Required<SpotPool>): boolean {
  if (faults.spotCapacityUnavailable) return false
  return !(faults.spotPoolsUnavailable ?? []).some((p) => FIELDS.every((f) => p[f] === undefined || p[f] === launch[f]))
}
