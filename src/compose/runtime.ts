/**
 * How the instance runs and stops the container: `restart`, `stop_signal`,
 * `stop_grace_period` and `logging`, with Docker's and Compose's meanings.
 */
import type { Check, KeyAt } from './keys.js'
import type { ServiceLogging } from './model.js'
import { describe, entryOf, isMap, joinPath, type MapNode, type Node, quote, valueOf } from './tree.js'
import { integerOf, stringOf } from './values.js'

/** The action's behaviour before `restart` was read, and still its default. */
export const DEFAULT_RESTART = 'always'
export const DEFAULT_STOP_SIGNAL = 'SIGTERM'
/** Docker's and Compose's default grace period. */
export const DEFAULT_STOP_GRACE_SECONDS = 10

const RESTART = /^(no|always|unless-stopped|on-failure(:\d+)?)$/

export function checkRestart({ node, path }: KeyAt, { diags }: Check): void {
  const value = stringOf(node)
  if (value === undefined || !RESTART.test(value)) {
    diags.error(
      node.loc,
      path,
      `must be "no", "always", "on-failure", "on-failure:<max retries>" or "unless-stopped", got ${describe(node)}${node.kind === 'scalar' && node.value === false ? ' (quote "no")' : ''}`
    )
  }
}

const SIGNAL_NAMES = new Set([
  ...['HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'IOT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE'],
  ...['ALRM', 'TERM', 'STKFLT', 'CHLD', 'CONT', 'STOP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'XCPU', 'XFSZ', 'VTALRM'],
  ...['PROF', 'WINCH', 'IO', 'POLL', 'PWR', 'SYS', 'RTMIN', 'RTMAX'],
  ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `RTMAX-${i + 1}`)
])
/** Linux signal numbers. */
const MAX_SIGNAL = 64

/** A signal as docker takes it: `SIG` and the name in capitals (`term` is `SIGTERM`), or its number. */
export function signalOf(node: Node | undefined): string | undefined {
  const number = integerOf(node)
  if (number !== undefined) return number >= 1 && number <= MAX_SIGNAL ? String(number) : undefined
  const text = stringOf(node)?.trim().toUpperCase()
  if (text === undefined) return undefined
  const name = text.startsWith('SIG') ? text.slice(3) : text
  return SIGNAL_NAMES.has(name) ? `SIG${name}` : undefined
}

export function checkStopSignal({ node, path }: KeyAt, { diags }: Check): void {
  if (signalOf(node) === undefined) {
    diags.error(
      node.loc,
      path,
      `must be a signal name such as "SIGTERM", "SIGINT", "SIGQUIT" or "SIGUSR1", or a signal number from 1 to ${MAX_SIGNAL}, got ${describe(node)}`
    )
  }
}

const NANOS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n
}
const DURATION_PART = /(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/y

/** A Compose (Go) duration such as `1m30s` or `500ms`, in nanoseconds; undefined if invalid or negative. */
export function durationNanos(text: string): bigint | undefined {
  const t = text.trim().replace(/^\+/, '')
  if (t === '0') return 0n
  if (t === '') return undefined
  let nanos = 0n
  for (let i = 0; i < t.length;) {
    DURATION_PART.lastIndex = i
    const m = DURATION_PART.exec(t)
    if (!m || (m[1] === '' && !m[2])) return undefined
    const unit = NANOS[m[3]!]!
    const fraction = m[2] ? (BigInt(m[2]) * unit) / 10n ** BigInt(m[2].length) : 0n
    nanos += BigInt(m[1] || '0') * unit + fraction
    i = DURATION_PART.lastIndex
  }
  return nanos
}

/** A Compose (Go) duration in whole seconds rounded up; undefined if invalid or negative. */
export function durationSeconds(text: string): number | undefined {
  const nanos = durationNanos(text)
  return nanos === undefined ? undefined : Number((nanos + 999_999_999n) / 1_000_000_000n)
}

export function checkStopGracePeriod({ node, path }: KeyAt, { diags }: Check): void {
  const text = stringOf(node)
  if (text === undefined || durationSeconds(text) === undefined) {
    diags.error(
      node.loc,
      path,
      `must be a duration such as "10s", "1m30s" or "500ms" (units h, m, s, ms, us, ns), got ${describe(node)}`
    )
  }
}

// logging

/** The awslogs options the compose file may set; the action sets the group, region and stream. */
const LOG_OPTIONS: Record<string, (value: string) => string | undefined> = {
  mode: (v) => (v === 'blocking' || v === 'non-blocking' ? undefined : 'must be "blocking" or "non-blocking"'),
  'max-buffer-size': (v) =>
    /^\d+(\.\d+)? ?([kKmMgGtTpP][iI]?)?[bB]?$/.test(v) ? undefined : 'must be a size such as "4m" or "1MiB"',
  'awslogs-datetime-format': (v) => (v === '' ? 'must not be empty' : undefined),
  'awslogs-multiline-pattern': (v) => (v === '' ? 'must not be empty' : undefined),
  'awslogs-force-flush-interval-seconds': positive,
  'awslogs-max-buffered-events': positive
}
const SET_BY_ACTION = new Set([
  'awslogs-group',
  'awslogs-region',
  'awslogs-stream',
  'awslogs-create-group',
  'awslogs-create-stream',
  'awslogs-endpoint',
  'tag'
])

function positive(v: string): string | undefined {
  return /^[1-9]\d*$/.test(v) ? undefined : 'must be a positive integer'
}

function optionText(node: Node): string | undefined {
  if (node.kind !== 'scalar' || node.value === null || typeof node.value === 'boolean') return undefined
  return String(node.value)
}

function driverOf(logging: MapNode): string {
  return stringOf(valueOf(logging, 'driver')) ?? 'awslogs'
}

export function checkLogging({ node, path }: KeyAt, { diags }: Check): void {
  if (node.kind !== 'map') {
    diags.error(node.loc, path, `must be a mapping with "driver" and "options", got ${describe(node)}`)
    return
  }
  const options = entryOf(node, 'options')
  const hasOptions = isMap(options?.value) && options.value.entries.length > 0
  if (driverOf(node) === 'none' && options && hasOptions)
    diags.error(options.keyLoc, joinPath(path, 'options'), 'the "none" driver takes no options')
  if (!options || !isMap(options.value)) return
  const opts = options.value
  const size = entryOf(opts, 'max-buffer-size')
  if (size && stringOf(valueOf(opts, 'mode')) !== 'non-blocking')
    diags.error(size.keyLoc, joinPath(path, 'options.max-buffer-size'), 'applies only with "mode: non-blocking"')
  const pattern = entryOf(opts, 'awslogs-multiline-pattern')
  if (pattern && entryOf(opts, 'awslogs-datetime-format'))
    diags.error(
      pattern.keyLoc,
      joinPath(path, 'options.awslogs-multiline-pattern'),
      'set either awslogs-multiline-pattern or awslogs-datetime-format: docker ignores the pattern when both are set'
    )
}

export function checkLoggingDriver({ node, path }: KeyAt, { diags }: Check): void {
  if (node.kind === 'scalar' && node.value === null) return
  const driver = stringOf(node)
  if (driver === 'awslogs' || driver === 'none') return
  diags.error(
    node.loc,
    path,
    `${driver === undefined ? describe(node) : quote(driver)} is not supported: logs go to the stack's CloudWatch log group with "awslogs" (the default), or nowhere with "none"`
  )
}

export function checkLoggingOptions({ node, path }: KeyAt, { diags }: Check): void {
  if (node.kind !== 'map') {
    diags.error(node.loc, path, `must be a mapping of awslogs options, got ${describe(node)}`)
    return
  }
  for (const entry of node.entries) {
    const at = joinPath(path, entry.key)
    const check = Object.hasOwn(LOG_OPTIONS, entry.key) ? LOG_OPTIONS[entry.key] : undefined
    if (SET_BY_ACTION.has(entry.key)) {
      diags.error(
        entry.keyLoc,
        at,
        `is set by the action: logs go to the log group /hyperform/<project>/<stack> in the stack's region, one stream per instance <service>/<instance-id>`
      )
    } else if (!check) {
      diags.error(
        entry.keyLoc,
        at,
        `is not an awslogs option the action allows; allowed: ${Object.keys(LOG_OPTIONS).join(', ')}`
      )
    } else {
      const value = optionText(entry.value)
      const problem = value === undefined ? `must be a string or a number, got ${describe(entry.value)}` : check(value)
      if (problem) diags.error(entry.value.loc, at, problem)
    }
  }
}

export function loggingOf(node: Node | undefined): ServiceLogging {
  if (!isMap(node) || driverOf(node) === 'awslogs') {
    const options = isMap(node) ? valueOf(node, 'options') : undefined
    const entries = isMap(options) ? options.entries : []
    return {
      driver: 'awslogs',
      options: Object.fromEntries(
        entries.map((e) => [e.key, optionText(e.value)!] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      )
    }
  }
  return { driver: 'none', options: {} }
}
