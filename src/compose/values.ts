/**
 * Reading typed values out of located nodes, shared by validation and
 * normalisation so that both agree on what a value means. Values that come
 * out of interpolation are strings, so integer and boolean fields accept
 * their string forms too, as Compose does.
 */
import type { Node } from './tree.js'

export const MAX_REPLICAS = 100
export const DEFAULT_REPLICAS = 1

/** EC2 instance types: a family (`t3`, `m7i-flex`, `u-6tb1`) and a size (`micro`, `2xlarge`, `metal-24xl`). */
export const INSTANCE_TYPE =
  /^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.(nano|micro|small|medium|large|xlarge|[1-9][0-9]*xlarge|metal(-[1-9][0-9]*xl)?)$/

export function integerOf(node: Node | undefined): number | undefined {
  if (node?.kind !== 'scalar') return undefined
  const v = node.value
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v.trim())
  return undefined
}

export function booleanOf(node: Node | undefined): boolean | undefined {
  if (node?.kind !== 'scalar') return undefined
  const v = node.value
  if (typeof v === 'boolean') return v
  if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true'
  return undefined
}

export function stringOf(node: Node | undefined): string | undefined {
  return node?.kind === 'scalar' && typeof node.value === 'string' ? node.value : undefined
}

/** An environment value as a string: numbers and booleans as written; null is undefined. */
export function envValueOf(node: Node): string | undefined {
  if (node.kind !== 'scalar' || node.value === null) return undefined
  return String(node.value)
}
