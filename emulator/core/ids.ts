/** Deterministic, random-looking resource ids (kept apart from the fault PRNG so ids never shift fault dice). */
import type { Cloud } from '../types.js'
import { seededRandom } from './random.js'

const generators = new WeakMap<Cloud, () => number>()

function hexDigits(cloud: Cloud, count: number): string {
  let next = generators.get(cloud)
  if (!next) {
    next = seededRandom(0x5eed)
    generators.set(cloud, next)
  }
  let out = ''
  while (out.length < count) out += Math.floor(next() * 16).toString(16)
  return out
}

/** e.g. newId(cloud, 'i-', 17) -> i-0a1b2c... */
export function newId(cloud: Cloud, prefix: string, digits = 17): string {
  return prefix + hexDigits(cloud, digits)
}

/** Upper-case alphanumeric ids as IAM uses (AROA...). */
export function newIamId(cloud: Cloud, prefix: string): string {
  return prefix + hexDigits(cloud, 17).toUpperCase()
}
