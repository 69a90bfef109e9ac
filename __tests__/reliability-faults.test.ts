/**
 * The seed example through the bundled action while the emulated AWS misbehaves: 30% of calls
 * throttled, 5% answered with a 500, a new IAM role not assumable by Lambda for 10 s (CreateFunction
 * fails with AWS's own message until then), new security groups and launch templates invisible
 * for 3 s, and PutTargets reporting failed entries. Deploy, redeploy and destroy must succeed, and
 * the deployed state must equal a fault-free deploy's.
 *
 * Faults hit every caller, the DNS updater included. The seed makes the dice deterministic; the
 * interleaving of concurrent calls is not, so the assertions hold for any interleaving, and the
 * rarer faults (a failed PutTargets entry, a 500, the role not yet assumable, a group or template
 * not yet visible) are forced to happen at least once (see beforeAll).
 */
import type { Emulator } from '../emulator/server.js'
import type { FaultSettings } from '../emulator/types.js'
import {
  byAction,
  callNames,
  consistencyProblems,
  emulator,
  leftovers,
  run,
  runOk,
  snapshot,
  writesOf
} from './helpers/reliability.js'

const FAULTS: Partial<FaultSettings> = {
  throttleRate: 0.3,
  serverErrorRate: 0.05,
  rolePropagationSeconds: 10,
  ec2VisibilitySeconds: 3,
  putTargetsFailureRate: 1,
  seed: 20261124
}
/** After the first PutTargets that AWS answered (with its entry failed), entries fail this often. */
const PUT_TARGETS_FAILURE_AFTER_FIRST = 0.2
const ROLE_MESSAGE = 'InvalidParameterValueException: The role defined for the function cannot be assumed by Lambda.'

/** A fault-free deploy's state, made on an emulator of its own while the faulty deploy runs. */
let baseline: Promise<Record<string, unknown>>
let faulty: Emulator

async function cleanDeploy(): Promise<Record<string, unknown>> {
  const clean = await emulator()
  try {
    await runOk({ emulator: clean })
    await clean.waitIdle()
    expect(consistencyProblems(clean)).toEqual([])
    return snapshot(clean)
  } finally {
    await clean.stop()
  }
}

beforeAll(async () => {
  baseline = cleanDeploy()
  // awaited by the tests; a failure is theirs, not an unhandled rejection
  baseline.catch(() => undefined)
  faulty = await emulator({ faults: FAULTS })
  // So that each fault surely happens at least once, whatever the interleaving: every PutTargets the
  // service answers fails its entry until one has (the engine must retry FailedEntries), and once the
  // action's first write has landed, calls fail with a 500 until one has.
  const offTargets = faulty.onCall((c) => {
    if (c.operation === 'PutTargets' && c.status === 200) {
      faulty.setFaults({ putTargetsFailureRate: PUT_TARGETS_FAILURE_AFTER_FIRST })
      offTargets()
    }
  })
  // The role stays unassumable until CreateFunction has been refused for it once (with AWS's message),
  // and at least 10 s: the function step may start late, after the zone, role and log group.
  faulty.setFaults({ rolePropagationSeconds: 3600 })
  const offRole = faulty.onCall((c) => {
    if (c.operation === 'CreateFunction' && !c.injected && c.errorCode === 'InvalidParameterValueException') {
      faulty.setFaults({ rolePropagationSeconds: FAULTS.rolePropagationSeconds ?? 0 })
      offRole()
    }
  })
  // New security groups and launch templates stay invisible until the action has met that once (a
  // group or template it just made, not found), then for 3 s: the instance roles a template waits
  // for may otherwise take longer than the 3 s.
  faulty.setFaults({ ec2VisibilitySeconds: 3600 })
  const offVisibility = faulty.onCall((c) => {
    if (!c.injected && /^InvalidGroup\.NotFound|^InvalidLaunchTemplate/.test(c.errorCode ?? '')) {
      faulty.setFaults({ ec2VisibilitySeconds: FAULTS.ec2VisibilitySeconds ?? 0 })
      offVisibility()
    }
  })
  let burst = false
  const offErrors = faulty.onCall((c) => {
    if (!burst && c.kind === 'write' && c.status < 300) {
      burst = true
      faulty.setFaults({ serverErrorRate: 1 })
    } else if (burst && c.injected && c.status >= 500) {
      faulty.setFaults({ serverErrorRate: FAULTS.serverErrorRate ?? 0 })
      offErrors()
    }
  })
}, 60_000)

afterAll(async () => {
  await faulty.stop()
})

describe('the seed example under injected AWS faults', () => {
  test('deploys through throttling, 500s, a 10 s role propagation delay, EC2 visibility delays and failed PutTargets entries, ending equal to a fault-free deploy', async () => {
    const result = await run({ emulator: faulty })
    expect(result.stdout.split('\n').filter((l) => l.startsWith('::error'))).toEqual([])
    expect(result.code).toBe(0)
    await faulty.waitIdle()
    expect(snapshot(faulty)).toEqual(await baseline)
    expect(consistencyProblems(faulty)).toEqual([])

    // The faults really happened to the action's calls.
    const calls = byAction(faulty.calls())
    const injected = calls.filter((c) => c.injected)
    expect(injected.filter((c) => c.status === 500).length).toBeGreaterThan(0)
    expect(injected.filter((c) => c.status !== 500).length).toBeGreaterThan(injected.length / 2)
    const creates = calls.filter((c) => c.operation === 'CreateFunction')
    expect(
      creates.filter((c) => !c.injected && c.errorCode === 'InvalidParameterValueException').length
    ).toBeGreaterThan(0)
    expect(result.stdout).toContain(ROLE_MESSAGE)
    expect(creates.filter((c) => c.status < 300)).toHaveLength(1)
    expect(
      calls.some((c) => !c.injected && /^InvalidGroup\.NotFound|^InvalidLaunchTemplate/.test(c.errorCode ?? ''))
    ).toBe(true)
    expect(result.stdout).toMatch(/retry \d+ in \d+ ms: FailedEntries: PutTargets failed/)
  }, 180_000)

  test('a redeploy under the same faults makes no write call at all and leaves the state unchanged', async () => {
    faulty.resetCalls()
    const result = await run({ emulator: faulty })
    expect(result.code).toBe(0)
    expect(callNames(writesOf(faulty.calls()))).toEqual([])
    expect(byAction(faulty.calls()).some((c) => c.injected)).toBe(true)
    await faulty.waitIdle()
    expect(snapshot(faulty)).toEqual(await baseline)
  }, 120_000)

  test('a destroy under the same faults removes the stack and the project DNS stack, leaving nothing behind', async () => {
    const result = await run({ emulator: faulty, inputs: { command: 'destroy' } })
    expect(result.stdout.split('\n').filter((l) => l.startsWith('::error'))).toEqual([])
    expect(result.code).toBe(0)
    await faulty.waitIdle()
    expect(leftovers(faulty)).toEqual([])
  }, 180_000)
})
