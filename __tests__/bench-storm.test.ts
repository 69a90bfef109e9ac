/**
 * The storm benchmark's arithmetic: the Route 53 bucket replayed from the call log, and the
 * issue's targets judged on the 200-instance storm.
 */
import { bucketEmptyMs } from '../bench/rate-limit.js'
import { stormTargets } from '../bench/report.js'
import { STORM_SETTINGS, type StormFigures, type StormRun } from '../bench/storm.js'
import type { CallRecord } from '../emulator/types.js'

const BUCKET = { rate: 5, burst: 5 }

function call(time: number, rateLimited = false): CallRecord {
  return {
    seq: 0,
    time,
    service: 'route53',
    operation: 'ListResourceRecordSets',
    kind: 'read',
    region: 'us-east-1',
    durationMs: 1,
    status: rateLimited ? 400 : 200,
    ...(rateLimited ? { rateLimited: true } : {})
  }
}

describe('bucketEmptyMs', () => {
  it('is zero while the calls stay within the burst and the refill', () => {
    const calls = [0, 100, 200, 300, 1000, 1200, 1400].map((t) => call(t))
    expect(bucketEmptyMs(calls, BUCKET, { from: 0, to: 5000 })).toBe(0)
  })

  it('counts the time the bucket holds less than one token after the burst is spent', () => {
    // five calls at once leave no token: it takes 200 ms to get one back
    const calls = [0, 0, 0, 0, 0].map((t) => call(t))
    expect(bucketEmptyMs(calls, BUCKET, { from: 0, to: 5000 })).toBeCloseTo(200)
  })

  it('ignores throttled calls (they take no token) and stops at the end of the window', () => {
    const calls = [0, 0, 0, 0, 0, 50, 100].map((t, i) => call(t, i >= 5))
    expect(bucketEmptyMs(calls, BUCKET, { from: 0, to: 150 })).toBeCloseTo(150)
  })

  it('adds up separate empty spells without counting an overlap twice', () => {
    const burst = [0, 0, 0, 0, 0].map((t) => call(t))
    // one call let through a hair before the replayed refill would have allowed it
    const early = call(190)
    const later = [5000, 5000, 5000, 5000, 5000].map((t) => call(t))
    const total = bucketEmptyMs([...burst, early, ...later], BUCKET, { from: 0, to: 10_000 })
    expect(total).toBeCloseTo(400 + 200)
  })
})

function run(instances: number, overrides: Partial<StormRun> = {}): StormRun {
  return {
    services: instances / 5,
    instances,
    launchSpreadMs: 0,
    deploy: { ok: true, wallMs: 1, throttled: 0 },
    interrupted: instances,
    reclaimSpanMs: 900,
    cleanMs: 2000,
    lastRunningMs: 6000,
    replacements: instances,
    exactMs: 1000,
    staleWrites: 0,
    updater: { route53Calls: 5, route53Throttled: 0, ec2Calls: 6, ec2Throttled: 0, autoscalingCalls: 4 },
    route53: { calls: 5, throttled: 0, saturatedMs: 0, throttledSpanMs: 0 },
    lambda: {
      invocations: 3,
      errors: 0,
      batches: 3,
      records: 3 * instances,
      largestBatch: instances,
      failedMessages: 0,
      deadLettered: 0
    },
    batches: [],
    ...overrides
  }
}

const figures = (runs: StormRun[]): StormFigures => ({ settings: STORM_SETTINGS, runs })

describe('stormTargets', () => {
  it('judges the 200-instance storm and passes when every figure is within its limit', () => {
    const list = stormTargets(figures([run(25, { cleanMs: 60_000 }), run(200)]))
    expect(list).toHaveLength(4)
    expect(list.every((t) => t.name.includes('200 instances'))).toBe(true)
    expect(list.every((t) => t.pass)).toBe(true)
  })

  it('fails on any failed invocation, reported failure or dead-lettered message', () => {
    for (const lambda of [{ errors: 1 }, { failedMessages: 3 }, { deadLettered: 1 }]) {
      const base = run(200)
      const list = stormTargets(figures([run(200, { lambda: { ...base.lambda, ...lambda } })]))
      expect(list.find((t) => t.name.endsWith('failed invocations'))?.pass).toBe(false)
    }
  })

  it('counts throttled attempts among the Route 53 calls', () => {
    const list = stormTargets(
      figures([
        run(200, {
          updater: { route53Calls: 41, route53Throttled: 30, ec2Calls: 6, ec2Throttled: 0, autoscalingCalls: 4 }
        })
      ])
    )
    expect(list.find((t) => t.name.endsWith('Route 53 calls'))?.pass).toBe(false)
  })

  it('fails a convergence that was not reached by the deadline', () => {
    const list = stormTargets(figures([run(200, { cleanMs: NaN, exactMs: NaN })]))
    expect(list.filter((t) => !t.pass).map((t) => t.actual)).toEqual(['not reached', 'not reached'])
  })

  it('judges the spread storm apart, under its own name', () => {
    const spread = run(200, {
      launchSpreadMs: 27_000,
      updater: { route53Calls: 50, route53Throttled: 0, ec2Calls: 40, ec2Throttled: 0, autoscalingCalls: 4 }
    })
    const list = stormTargets({ ...figures([run(200)]), spread })
    expect(list).toHaveLength(8)
    const failing = list.filter((t) => !t.pass)
    expect(failing.map((t) => t.name)).toEqual([
      'storm, 200 instances, launches spread over 27.0 s: DNS updater Route 53 calls'
    ])
  })

  it('falls back to the largest storm when none had 200 instances', () => {
    const list = stormTargets(figures([run(25), run(100)]))
    expect(list.every((t) => t.name.includes('100 instances'))).toBe(true)
  })
})
