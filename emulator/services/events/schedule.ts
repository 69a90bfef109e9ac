/**
 * Schedule rules: `rate(N unit)` and `cron(min hour day-of-month month day-of-week year)` as
 * EventBridge reads them (UTC; one of day-of-month and day-of-week is `?`; `L`, `W` and `#`), fired
 * on a schedule clock that runs 1 / simulation.scheduleTimeScale times as fast as real time (or
 * at once through the control API), each fire a `Scheduled Event` delivered to the rule's targets.
 * The clock's timer is not tracked work: waitIdle waits for the deliveries a fire makes, not for
 * the next fire.
 */
import { randomUUID } from 'node:crypto'
import type { Cloud } from '../../types.js'
import { dispatchDeliveries, ruleDeliveries } from './delivery.js'
import { eventsError } from './errors.js'
import type { EventsState, Rule } from './model.js'

const TICK_MS = 25
const MINUTE = 60_000
const UNITS: Record<string, number> = { minute: MINUTE, hour: 60 * MINUTE, day: 24 * 60 * MINUTE }
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']

type DayTest = (date: Date) => boolean

interface Cron {
  minutes: Set<number>
  hours: Set<number>
  months: Set<number>
  years?: Set<number>
  day: DayTest
}

export type Schedule = { kind: 'rate'; everyMs: number } | { kind: 'cron'; cron: Cron }

function invalid(): Error {
  return eventsError('ValidationException', 'Parameter ScheduleExpression is not valid.')
}

function value(text: string, names: string[] | undefined, offset: number): number {
  const i = names ? names.indexOf(text.toUpperCase()) : -1
  const n = i >= 0 ? i + offset : Number(text)
  if (!/^\d+$/.test(text) && i < 0) throw invalid()
  return n
}

/** A cron field's values: `*`, lists, ranges and steps, numbers or names. */
function field(text: string, [min, max]: [number, number], names?: string[], offset = 0): Set<number> {
  const out = new Set<number>()
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/')
    const step = stepText === undefined ? 1 : Number(stepText)
    if (!Number.isInteger(step) || step < 1) throw invalid()
    let from = min
    let to = max
    if (range !== '*') {
      const [a = '', b] = range.split('-')
      from = value(a, names, offset)
      to = b === undefined ? (stepText === undefined ? from : max) : value(b, names, offset)
    }
    if (from < min || to > max || from > to) throw invalid()
    for (let v = from; v <= to; v += step) out.add(v)
  }
  return out
}

function lastDayOfMonth(date: Date): number {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate()
}

/** `W`: the weekday nearest to day n of the month, within the month. */
function nearestWeekday(date: Date, n: number): number {
  const last = lastDayOfMonth(date)
  const day = Math.min(n, last)
  const weekday = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), day)).getUTCDay()
  if (weekday === 6) return day === 1 ? 3 : day - 1
  if (weekday === 0) return day === last ? day - 2 : day + 1
  return day
}

function dayOfMonth(text: string): DayTest {
  if (text === 'L') return (d) => d.getUTCDate() === lastDayOfMonth(d)
  if (text === 'LW') return (d) => d.getUTCDate() === nearestWeekday(d, lastDayOfMonth(d))
  const w = /^(\d+)W$/.exec(text)
  if (w) {
    const n = Number(w[1])
    if (n < 1 || n > 31) throw invalid()
    return (d) => d.getUTCDate() === nearestWeekday(d, n)
  }
  const days = field(text, [1, 31])
  return (d) => days.has(d.getUTCDate())
}

/** Day of week, 1-7 or SUN-SAT (1 = Sunday); `nL` the last such day of the month, `n#k` the k-th. */
function dayOfWeek(text: string): DayTest {
  const last = /^([1-7]|[A-Za-z]{3})L$/.exec(text)
  if (last) {
    const wd = value(last[1] ?? '', DAYS, 1) - 1
    return (d) => d.getUTCDay() === wd && d.getUTCDate() + 7 > lastDayOfMonth(d)
  }
  const nth = /^([1-7]|[A-Za-z]{3})#([1-5])$/.exec(text)
  if (nth) {
    const wd = value(nth[1] ?? '', DAYS, 1) - 1
    const k = Number(nth[2])
    return (d) => d.getUTCDay() === wd && Math.ceil(d.getUTCDate() / 7) === k
  }
  const days = field(text, [1, 7], DAYS, 1)
  return (d) => days.has(d.getUTCDay() + 1)
}

function parseCron(body: string): Cron {
  const parts = body.trim().split(/\s+/)
  if (parts.length !== 6) throw invalid()
  const [min = '', hour = '', dom = '', month = '', dow = '', year = ''] = parts
  if ((dom === '?') === (dow === '?')) throw invalid()
  return {
    minutes: field(min, [0, 59]),
    hours: field(hour, [0, 23]),
    months: field(month, [1, 12], MONTHS, 1),
    ...(year === '*' ? {} : { years: field(year, [1970, 2199]) }),
    day: dom === '?' ? dayOfWeek(dow) : dayOfMonth(dom)
  }
}

/** The schedule an expression describes; ValidationException when EventBridge would refuse it. */
export function parseSchedule(expression: string): Schedule {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression)
  if (rate) {
    const n = Number(rate[1])
    const unit = rate[2] ?? ''
    if (n < 1 || (n === 1) !== !unit.endsWith('s')) throw invalid()
    return { kind: 'rate', everyMs: n * (UNITS[unit.replace(/s$/, '')] ?? MINUTE) }
  }
  const cron = /^cron\((.+)\)$/.exec(expression)
  if (cron) return { kind: 'cron', cron: parseCron(cron[1] ?? '') }
  throw invalid()
}

/** The first minute strictly after `after` (epoch ms, UTC) that the cron expression names. */
export function nextCron(cron: Cron, after: number): number | undefined {
  const start = new Date(Math.floor(after / MINUTE) * MINUTE + MINUTE)
  const day = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate()))
  for (let i = 0; i < 366 * 5; i++, day.setUTCDate(day.getUTCDate() + 1)) {
    if (cron.years && !cron.years.has(day.getUTCFullYear())) continue
    if (!cron.months.has(day.getUTCMonth() + 1) || !cron.day(day)) continue
    for (const h of [...cron.hours].sort((a, b) => a - b)) {
      for (const m of [...cron.minutes].sort((a, b) => a - b)) {
        const t = day.getTime() + h * 60 * MINUTE + m * MINUTE
        if (t >= start.getTime()) return t
      }
    }
  }
  return undefined
}

function nextFire(schedule: Schedule, after: number): number | undefined {
  return schedule.kind === 'rate' ? after + schedule.everyMs : nextCron(schedule.cron, after)
}

export function scheduledEvent(cloud: Cloud, rule: Rule, time: number): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: cloud.accountId,
    time: new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: rule.region,
    resources: [rule.arn],
    detail: {}
  }
}

/** Fires the rule now (its next fire is then counted from the schedule clock's present). */
export function fire(cloud: Cloud, state: EventsState, rule: Rule, time = state.clock?.now ?? Date.now()): number {
  const deliveries = ruleDeliveries(cloud, rule, scheduledEvent(cloud, rule, time))
  dispatchDeliveries(cloud, state, deliveries)
  return deliveries.length
}

function scale(cloud: Cloud): number {
  const s = cloud.simulation.scheduleTimeScale ?? 1
  return s > 0 ? s : 1
}

function tick(cloud: Cloud, state: EventsState): void {
  const clock = state.clock
  if (!clock) return
  const real = Date.now()
  clock.now += (real - clock.lastReal) / scale(cloud)
  clock.lastReal = real
  for (const rule of state.rules.values()) {
    if (!rule.scheduleExpression || !rule.state.startsWith('ENABLED')) continue
    const schedule = parseSchedule(rule.scheduleExpression)
    rule.nextFire ??= nextFire(schedule, clock.now)
    if (rule.nextFire === undefined || rule.nextFire > clock.now) continue
    // at most one fire per tick: a fast clock does not replay every period it skipped
    const due = rule.nextFire
    rule.nextFire = nextFire(schedule, Math.max(due, clock.now))
    fire(cloud, state, rule, due)
  }
}

/** Starts the schedule clock (once): it ticks while the module lives, without keeping the process alive. */
export function startClock(cloud: Cloud, state: EventsState): void {
  if (state.clock) return
  const now = Date.now()
  state.clock = { now, lastReal: now }
  state.clock.timer = setInterval(() => tick(cloud, state), TICK_MS)
  state.clock.timer.unref()
}

export function stopClock(state: EventsState): void {
  if (state.clock?.timer) clearInterval(state.clock.timer)
  if (state.clock) state.clock.timer = undefined
}

/** What the control API shows of schedule rules: expression, state and the next fire on the clock. */
export function schedules(state: EventsState): Record<string, unknown>[] {
  return [...state.rules.values()]
    .filter((r) => r.scheduleExpression)
    .map((r) => ({
      name: r.name,
      region: r.region,
      arn: r.arn,
      scheduleExpression: r.scheduleExpression,
      state: r.state,
      nextFire: r.nextFire === undefined ? undefined : new Date(r.nextFire).toISOString(),
      clock: state.clock ? new Date(state.clock.now).toISOString() : undefined,
      metrics: r.metrics
    }))
}
