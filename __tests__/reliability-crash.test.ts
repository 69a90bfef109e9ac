/**
 * Crash and resume: for every write of a clean deploy (and destroy) of the seed example, the
 * bundled action is killed with SIGKILL right after that write reached the emulated AWS (the
 * write took effect, its response was never read), then run again to completion. The result
 * must equal a clean run: the same resources, one of each, nothing orphaned.
 *
 * Concurrent steps make the order of writes vary between runs, so position k is named by the
 * k-th write of the clean run: its operation and which occurrence of that operation it is
 * ("the 2nd CreateLaunchTemplate"). Each killed run is killed after that exact write.
 */
import type { Emulator } from '../emulator/server.js'
import type { CallRecord } from '../emulator/types.js'
import {
  ACTION_KEY,
  consistencyProblems,
  emulator,
  leftovers,
  run,
  runOk,
  snapshot,
  writesOf
} from './helpers/reliability.js'

/** Positions run this many at a time, each against its own emulator. */
const PARALLEL = 3
const DEPLOY = { wait: 'false' }
const DESTROY = { command: 'destroy' }

interface KillPoint {
  k: number
  operation: string
  nth: number
}

const opName = (c: CallRecord): string => `${c.service}.${c.operation}`

function killPoints(writes: CallRecord[]): KillPoint[] {
  const seen = new Map<string, number>()
  return writes.map((c, i) => {
    const nth = (seen.get(opName(c)) ?? 0) + 1
    seen.set(opName(c), nth)
    return { k: i + 1, operation: opName(c), nth }
  })
}

const ordinal = (n: number): string => `${n}${n === 1 ? 'st' : n === 2 ? 'nd' : n === 3 ? 'rd' : 'th'}`
const label = (p: KillPoint): string => `write ${p.k} (the ${ordinal(p.nth)} ${p.operation})`

/** Runs the action and SIGKILLs it the moment its `point` write has been handled; true if it was killed there. */
async function killAfter(emu: Emulator, point: KillPoint, inputs: Record<string, string>): Promise<boolean> {
  const abort = new AbortController()
  let count = 0
  const off = emu.onCall((c) => {
    if (c.caller !== ACTION_KEY || c.kind !== 'write' || opName(c) !== point.operation) return
    count += 1
    if (count === point.nth) abort.abort()
  })
  try {
    const result = await run({ emulator: emu, inputs, signal: abort.signal })
    return abort.signal.aborted && result.code !== 0
  } finally {
    off()
  }
}

/** Runs `job` over `items`, `limit` at a time; results in item order. */
async function pool<T, R>(items: T[], limit: number, job: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      results[i] = await job(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

function counts(emu: Emulator): string {
  const s = snapshot(emu) as Record<string, unknown[]>
  return Object.entries(s)
    .map(([kind, list]) => `${kind} ${list.length}`)
    .join(', ')
}

let clean: Record<string, unknown>
let deployPoints: KillPoint[] = []
let destroyPoints: KillPoint[] = []
/** Emulators left with a resumed deploy (equal to a clean one), reused by the destroy positions. */
const deployed: Emulator[] = []

beforeAll(async () => {
  const emu = await emulator()
  try {
    await runOk({ emulator: emu, inputs: DEPLOY })
    await emu.waitIdle()
    clean = snapshot(emu)
    deployPoints = killPoints(writesOf(emu.calls()))
    emu.resetCalls()
    await runOk({ emulator: emu, inputs: DESTROY })
    destroyPoints = killPoints(writesOf(emu.calls()))
  } finally {
    await emu.stop()
  }
}, 120_000)

afterAll(async () => {
  await Promise.all(deployed.splice(0).map((e) => e.stop()))
})

describe('a run killed right after any one of its writes, then run again', () => {
  test('a clean deploy and destroy of the seed example were measured first, so every write position is known', () => {
    expect(deployPoints.length).toBeGreaterThanOrEqual(15)
    expect(destroyPoints.length).toBeGreaterThanOrEqual(10)
    expect(deployPoints.map((p) => p.operation)).toEqual(
      expect.arrayContaining([
        'route53.CreateHostedZone',
        'iam.CreateRole',
        'lambda.CreateFunction',
        'events.PutRule',
        'autoscaling.CreateAutoScalingGroup'
      ])
    )
  })

  test('a deploy killed after any one of its writes and run again ends equal to a clean deploy, one of everything, nothing orphaned', async () => {
    const problems = await pool(deployPoints, PARALLEL, async (point) => {
      const emu = await emulator()
      const killed = await killAfter(emu, point, DEPLOY)
      const again = await run({ emulator: emu, inputs: DEPLOY })
      await emu.waitIdle()
      const found: string[] = []
      if (!killed) found.push('the run was not killed at that write')
      if (again.code !== 0)
        found.push(
          `the second run exited ${again.code}: ${again.stdout
            .split('\n')
            .filter((l) => l.startsWith('::error'))
            .join(' ')}`
        )
      if (JSON.stringify(snapshot(emu)) !== JSON.stringify(clean))
        found.push(`state differs from a clean deploy (${counts(emu)})`)
      found.push(...consistencyProblems(emu))
      if (found.length === 0) deployed.push(emu)
      else await emu.stop()
      return found.map((f) => `${label(point)}: ${f}`)
    })
    expect(problems.flat()).toEqual([])
    expect(problems).toHaveLength(deployPoints.length)
  }, 300_000)

  test('a destroy killed after any one of its writes and run again leaves nothing of the stack or the project behind', async () => {
    const problems = await pool(destroyPoints, PARALLEL, async (point) => {
      let emu = deployed.pop()
      if (!emu) {
        emu = await emulator()
        await runOk({ emulator: emu, inputs: DEPLOY })
      }
      await emu.waitIdle()
      try {
        const killed = await killAfter(emu, point, DESTROY)
        const again = await run({ emulator: emu, inputs: DESTROY })
        await emu.waitIdle()
        const found: string[] = []
        if (!killed) found.push('the run was not killed at that write')
        if (again.code !== 0)
          found.push(
            `the second run exited ${again.code}: ${again.stdout
              .split('\n')
              .filter((l) => l.startsWith('::error'))
              .join(' ')}`
          )
        found.push(...leftovers(emu).map((l) => `left behind: ${l}`))
        return found.map((f) => `${label(point)}: ${f}`)
      } finally {
        await emu.stop()
      }
    })
    expect(problems.flat()).toEqual([])
    expect(problems).toHaveLength(destroyPoints.length)
  }, 300_000)
})
