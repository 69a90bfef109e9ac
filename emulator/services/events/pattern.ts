/**
 * EventBridge event pattern matching: a pattern field's array lists allowed
 * values (any match), nested objects match nested fields, and the content
 * filters prefix, suffix, anything-but, exists, numeric, equals-ignore-case
 * and wildcard are supported.
 */
import { eventsError } from './errors.js'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function parsePattern(text: string): Record<string, Json> {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw eventsError('InvalidEventPatternException', 'Event pattern is not valid. Reason: Filter is not an object')
  }
  if (!isObject(parsed))
    throw eventsError('InvalidEventPatternException', 'Event pattern is not valid. Reason: Filter is not an object')
  checkNode(parsed)
  return parsed
}

function checkNode(node: Record<string, Json>): void {
  for (const [key, value] of Object.entries(node)) {
    if (isObject(value)) checkNode(value)
    else if (!Array.isArray(value)) {
      throw eventsError(
        'InvalidEventPatternException',
        `Event pattern is not valid. Reason: "${key}" must be an object or an array`
      )
    }
  }
}

function wildcardRegex(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`)
}

function numericMatches(spec: Json[], value: unknown): boolean {
  if (typeof value !== 'number') return false
  for (let i = 0; i + 1 < spec.length; i += 2) {
    const op = spec[i]
    const bound = Number(spec[i + 1])
    const ok =
      op === '<'
        ? value < bound
        : op === '<='
          ? value <= bound
          : op === '='
            ? value === bound
            : op === '>'
              ? value > bound
              : op === '>='
                ? value >= bound
                : false
    if (!ok) return false
  }
  return true
}

function anythingBut(spec: Json, value: unknown): boolean {
  if (Array.isArray(spec)) return !spec.some((s) => s === value)
  if (isObject(spec)) {
    if (typeof spec.prefix === 'string') return typeof value === 'string' && !value.startsWith(spec.prefix)
    if (typeof spec.suffix === 'string') return typeof value === 'string' && !value.endsWith(spec.suffix)
    return true
  }
  return spec !== value
}

/** One element of a pattern array against one (scalar) event value. */
function matchesOne(matcher: Json, value: unknown): boolean {
  if (!isObject(matcher)) return matcher === value
  if ('prefix' in matcher)
    return typeof value === 'string' && typeof matcher.prefix === 'string' && value.startsWith(matcher.prefix)
  if ('suffix' in matcher)
    return typeof value === 'string' && typeof matcher.suffix === 'string' && value.endsWith(matcher.suffix)
  if ('anything-but' in matcher) return value !== undefined && anythingBut(matcher['anything-but'] ?? null, value)
  if ('equals-ignore-case' in matcher)
    return typeof value === 'string' && String(matcher['equals-ignore-case']).toLowerCase() === value.toLowerCase()
  if ('wildcard' in matcher) return typeof value === 'string' && wildcardRegex(String(matcher.wildcard)).test(value)
  if ('numeric' in matcher) return Array.isArray(matcher.numeric) && numericMatches(matcher.numeric, value)
  return false
}

function matchesField(allowed: Json[], value: unknown): boolean {
  const exists = allowed.find((m) => isObject(m) && 'exists' in m) as Record<string, Json> | undefined
  if (exists) return (value !== undefined) === (exists.exists === true)
  if (value === undefined) return false
  const values = Array.isArray(value) ? value : [value]
  return values.some((v) => allowed.some((m) => matchesOne(m, v)))
}

/** Whether the event matches the pattern (every pattern field must match). */
export function matchesPattern(pattern: Record<string, Json>, event: unknown): boolean {
  const node = isObject(event) ? event : {}
  return Object.entries(pattern).every(([key, spec]) => {
    const value = node[key]
    if (Array.isArray(spec)) return matchesField(spec, value)
    if (isObject(spec)) return isObject(value) && matchesPattern(spec, value)
    return false
  })
}
