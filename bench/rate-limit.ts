/**
 * The largest fresh deploy once more with the emulator enforcing AWS's per-account token
 * buckets, next to the lower bound the buckets alone impose on the action's call mix:
 * for each bucket max(0, calls - burst) / refill rate; the bound is the largest of them.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { RATE_LIMIT_RULES } from '../emulator/core/rate-limits.js'
import { startEmulator } from '../emulator/server.js'
import type { CallRecord } from '../emulator/types.js'
import { generateCompose } from './compose-gen.js'
import { runPhase, writeCompose } from './scenario.js'

export interface BucketLoad {
  bucket: string
  calls: number
  burst: number
  rate: number
  /** max(0, calls - burst) / rate, seconds. */
  seconds: number
}

export interface RateLimitFigures {
  services: number
  ok: boolean
  wallMs: number
  /** Calls that went through (the ones that took a token). */
  calls: number
  /** Attempts the buckets refused (retried by the SDK or the engine). */
  throttled: number
  boundMs: number
  /** The bucket that sets the bound, and every bucket the calls used. */
  buckets: BucketLoad[]
  failure?: string
}

/** The action always filters DescribeInstances, so it never draws on the unfiltered bucket. */
const bodyOf = (operation: string): string => (operation === 'DescribeInstances' ? 'Filter.1.Name=tag%3Aproject' : '')

export function bucketLoads(calls: CallRecord[]): BucketLoad[] {
  const loads = new Map<string, BucketLoad>()
  for (const call of calls) {
    if (call.rateLimited) continue
    const rule = RATE_LIMIT_RULES.find(
      (r) => r.service === call.service && r.matches(call.operation, bodyOf(call.operation))
    )
    if (!rule) continue
    const bucket = `${rule.name}${rule.perOperation ? `/${call.operation}` : ''}`
    const load = loads.get(bucket) ?? { bucket, calls: 0, burst: rule.burst, rate: rule.rate, seconds: 0 }
    load.calls += 1
    load.seconds = Math.max(0, load.calls - load.burst) / load.rate
    loads.set(bucket, load)
  }
  return [...loads.values()].sort((a, b) => b.seconds - a.seconds || b.calls - a.calls)
}

/**
 * Time the bucket held less than one token, replaying it over the calls that went through (each
 * took a token), starting full at `from`: after a call leaves it below one, it stays so until
 * the refill reaches one (no call gets through before). Throttled calls take nothing.
 */
export function bucketEmptyMs(
  calls: CallRecord[],
  bucket: { rate: number; burst: number },
  window: { from: number; to: number }
): number {
  let tokens = bucket.burst
  let at = window.from
  let empty = 0
  let emptyUntil = window.from
  const through = calls
    .filter((c) => !c.rateLimited && c.time >= window.from && c.time <= window.to)
    .sort((a, b) => a.time - b.time)
  for (const call of through) {
    tokens = Math.min(bucket.burst, tokens + ((call.time - at) / 1000) * bucket.rate)
    at = call.time
    tokens -= 1
    if (tokens >= 1) continue
    // a call the real bucket let through a hair early must not count an overlap twice
    const until = Math.min(window.to, call.time + ((1 - tokens) / bucket.rate) * 1000)
    empty += Math.max(0, until - Math.max(call.time, emptyUntil))
    emptyUntil = Math.max(emptyUntil, until)
  }
  return empty
}

export async function rateLimitedDeploy(services: number, log: (line: string) => void): Promise<RateLimitFigures> {
  const emu = await startEmulator({ rateLimits: true })
  const workspace = mkdtempSync(path.join(tmpdir(), 'hyperform-bench-rl-'))
  try {
    writeCompose(workspace, generateCompose({ services }))
    const figures = await runPhase(emu, { workspace, stack: `st-rl-${services}`, command: 'deploy', wait: false })
    const buckets = bucketLoads(figures.calls)
    log(
      `  ${services} services, rate limits on: ${Math.round(figures.wallMs)} ms${figures.ok ? '' : ' FAILED'}, ${figures.rateLimited} throttled`
    )
    return {
      services,
      ok: figures.ok,
      wallMs: figures.wallMs,
      calls: figures.reads + figures.writes,
      throttled: figures.rateLimited,
      boundMs: Math.max(0, ...buckets.map((b) => b.seconds)) * 1000,
      buckets,
      ...(figures.failure ? { failure: figures.failure } : {})
    }
  } finally {
    await emu.stop()
  }
}
