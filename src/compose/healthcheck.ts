/**
 * `healthcheck`, as the Compose Specification defines it and docker run takes it: `test` (a list
 * `["CMD", arg, ...]`, `["CMD-SHELL", command]` or `["NONE"]`; a string is CMD-SHELL), the durations
 * `interval`, `timeout`, `start_period` and `start_interval`, `retries`, and `disable`.
 */
import type { Check, KeyAt } from './keys.js'
import type { ServiceHealthcheck } from './model.js'
import { durationNanos } from './runtime.js'
import { describe, entryOf, isMap, joinPath, type Node, quote, valueOf } from './tree.js'
import { booleanOf, integerOf } from './values.js'

/** Docker keeps durations as int64 nanoseconds. */
const MAX_NANOS = 2n ** 63n - 1n
const NANOS_PER_MS = 1_000_000n

/** Whole milliseconds, rounded up (Docker refuses a non-zero duration under 1 ms); undefined if invalid. */
export function durationMillis(text: string): number | undefined {
  const nanos = durationNanos(text)
  if (nanos === undefined || nanos > MAX_NANOS) return undefined
  return Number((nanos + NANOS_PER_MS - 1n) / NANOS_PER_MS)
}

/** A list item as a string: strings and numbers, as `command` takes them. */
function itemText(node: Node): string | undefined {
  if (node.kind !== 'scalar') return undefined
  return typeof node.value === 'string' || typeof node.value === 'number' ? String(node.value) : undefined
}

/** `test` in Docker's list form; undefined when not a valid test. */
function testOf(node: Node | undefined): string[] | undefined {
  if (node?.kind === 'scalar' && typeof node.value === 'string') return ['CMD-SHELL', node.value]
  if (node?.kind !== 'seq') return undefined
  const items = node.items.map(itemText)
  return items.every((i) => i !== undefined) ? (items as string[]) : undefined
}

export function checkHealthcheck({ node, path }: KeyAt, { diags }: Check): void {
  if (node.kind !== 'map') {
    diags.error(node.loc, path, `must be a mapping with "test" and its settings, got ${describe(node)}`)
    return
  }
  const disable = entryOf(node, 'disable')
  const test = testOf(valueOf(node, 'test'))
  if (disable && booleanOf(disable.value) === true && test && test[0] !== 'NONE') {
    diags.error(
      disable.keyLoc,
      joinPath(path, 'disable'),
      'is true while "test" sets a check: remove one of them (test ["NONE"] also disables the check)'
    )
  }
}

export function checkHealthTest({ node, path }: KeyAt, { diags }: Check): void {
  if (node.kind === 'scalar' && typeof node.value === 'string') {
    if (node.value.trim() === '') diags.error(node.loc, path, 'must not be empty: give the shell command to run')
    else if (node.value.includes('\0')) diags.error(node.loc, path, 'contains a NUL character')
    return
  }
  if (node.kind !== 'seq') {
    diags.error(
      node.loc,
      path,
      `must be a string (run by the container's shell) or a list such as ["CMD", "curl", "-f", "http://localhost"], got ${describe(node)}`
    )
    return
  }
  let ok = true
  node.items.forEach((item, i) => {
    const text = itemText(item)
    if (text === undefined) diags.error(item.loc, joinPath(path, i), `must be a string, got ${describe(item)}`)
    else if (text.includes('\0')) diags.error(item.loc, joinPath(path, i), 'contains a NUL character')
    else return
    ok = false
  })
  if (!ok) return
  const [kind, ...args] = node.items.map((item) => itemText(item)!)
  const problem = testProblem(kind, args)
  if (problem) diags.error(node.loc, path, problem)
}

function testProblem(kind: string | undefined, args: string[]): string | undefined {
  switch (kind) {
    case undefined:
      return 'must not be empty: start it with "CMD", "CMD-SHELL" or "NONE"'
    case 'CMD':
      return args.length === 0 ? '["CMD", ...] needs the command to run after "CMD"' : undefined
    case 'CMD-SHELL':
      return args.length !== 1 || args[0]!.trim() === ''
        ? '["CMD-SHELL", command] takes exactly one command string after "CMD-SHELL"'
        : undefined
    case 'NONE':
      return args.length > 0 ? '["NONE"] takes nothing after "NONE"' : undefined
    default:
      return `starts with ${quote(kind)}: the first item must be "CMD", "CMD-SHELL" or "NONE"`
  }
}

export function checkHealthDuration({ node, path }: KeyAt, { diags }: Check): void {
  const text = node.kind === 'scalar' && typeof node.value === 'string' ? node.value : undefined
  if (text === undefined || durationMillis(text) === undefined) {
    diags.error(
      node.loc,
      path,
      `must be a duration such as "30s", "1m30s" or "500ms" (units h, m, s, ms, us, ns), got ${describe(node)}`
    )
  }
}

export function checkHealthRetries({ node, path }: KeyAt, { diags }: Check): void {
  const value = integerOf(node)
  if (value === undefined || !Number.isSafeInteger(value))
    diags.error(node.loc, path, `must be an integer, got ${describe(node)}`)
  else if (value < 0) diags.error(node.loc, path, `${value} is less than 0`)
}

const DURATIONS = [
  ['interval', 'intervalMs'],
  ['timeout', 'timeoutMs'],
  ['start_period', 'startPeriodMs'],
  ['start_interval', 'startIntervalMs']
] as const

/** The validated `healthcheck` for the model; undefined when absent or when it sets nothing. */
export function healthcheckOf(node: Node | undefined): ServiceHealthcheck | undefined {
  if (!isMap(node)) return undefined
  const test = testOf(valueOf(node, 'test'))
  if (booleanOf(valueOf(node, 'disable')) === true || test?.[0] === 'NONE') return { disable: true }
  const check: Exclude<ServiceHealthcheck, { disable: true }> = {}
  if (test) check.test = test
  for (const [key, field] of DURATIONS) {
    const value = valueOf(node, key)
    if (value?.kind === 'scalar' && typeof value.value === 'string') check[field] = durationMillis(value.value)!
  }
  const retries = integerOf(valueOf(node, 'retries'))
  if (retries !== undefined) check.retries = retries
  return Object.keys(check).length > 0 ? check : undefined
}
