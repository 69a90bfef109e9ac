/**
 * Two runs at once. The action takes no lock: every write is safe to race, because
 *   - every resource has a deterministic name (zone, role, function, log group, rule, security
 *     group, launch template, ASGs), so the loser of a race gets AlreadyExists / Duplicate /
 *     ResourceConflict and adopts the winner's resource instead of making a second one;
 *   - the zone, the one resource AWS would let two callers create twice (its name is not unique),
 *     is created with a deterministic CallerReference, so the second CreateHostedZone gets
 *     HostedZoneAlreadyExists (or ConflictingDomainExists for the same name in the same VPC) and
 *     adopts the zone found by name;
 *   - updates are idempotent puts of the same desired values (PutRule, PutTargets, PutRolePolicy,
 *     UpdateAutoScalingGroup), so whichever lands last writes the same thing.
 * A lock would need a store of its own, a lease and a way to break a dead holder's lock (a
 * killed runner never releases it); racing safely needs none of that.
 *
 * To make the race real rather than likely, the emulated cloud holds every write at the door
 * until both runs are writing: both have read the empty account and planned to create
 * everything, and their creates reach AWS together.
 */
import type { Emulator } from '../emulator/server.js'
import type { ActionRun } from '../emulator/github-runner.js'
import { consistencyProblems, emulator, run, runOk, snapshot, type RunArgs } from './helpers/reliability.js'

const RUN_A = 'AKIARACEA'
const RUN_B = 'AKIARACEB'
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

type Args = Omit<RunArgs, 'emulator' | 'accessKey'>

/**
 * Starts two runs with every write held at the door, waits until both runs are writing (so both
 * have read the account and planned), then lets all the held writes through at once.
 */
async function together(emu: Emulator, a: Args, b: Args): Promise<[ActionRun, ActionRun]> {
  const gate = emu.pause((call) => call.kind === 'write' && (call.caller === RUN_A || call.caller === RUN_B))
  const runs = Promise.all([
    run({ ...a, emulator: emu, accessKey: RUN_A }),
    run({ ...b, emulator: emu, accessKey: RUN_B })
  ])
  try {
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline && !(gate.waiting().includes(RUN_A) && gate.waiting().includes(RUN_B))) await sleep(50)
    // let each run put all of its first writes on the wire before any is answered
    await sleep(200)
  } finally {
    gate.resume()
  }
  return runs
}

const errors = (stdout: string): string[] => stdout.split('\n').filter((l) => l.startsWith('::error'))
const planned = (stdout: string, kind: string): boolean => new RegExp(`^create\\s+${kind}\\s`, 'm').test(stdout)

/** A single deploy's state, made on an emulator of its own while the tests run theirs. */
let baseline: Promise<Record<string, unknown>>

async function singleDeploy(): Promise<Record<string, unknown>> {
  const clean = await emulator()
  try {
    await runOk({ emulator: clean, inputs: { wait: 'false' } })
    await clean.waitIdle()
    return snapshot(clean)
  } finally {
    await clean.stop()
  }
}

beforeAll(() => {
  baseline = singleDeploy()
  // awaited by the test that compares with it; a failure is that test's, not an unhandled rejection
  baseline.catch(() => undefined)
})

describe('two runs at the same time', () => {
  test.concurrent(
    'two deploys of the same stack started together both succeed and leave one deployment equal to a single deploy, nothing duplicated',
    async () => {
      const emu = await emulator()
      try {
        const [a, b] = await together(emu, { inputs: { wait: 'false' } }, { inputs: { wait: 'false' } })
        expect([errors(a.stdout), errors(b.stdout)]).toEqual([[], []])
        expect([a.code, b.code]).toEqual([0, 0])
        // Both read the empty account and planned to create the zone and the groups: a real race.
        expect([planned(a.stdout, 'hosted-zone'), planned(b.stdout, 'hosted-zone')]).toEqual([true, true])
        expect([planned(a.stdout, 'auto-scaling-group'), planned(b.stdout, 'auto-scaling-group')]).toEqual([true, true])
        await emu.waitIdle()
        expect(snapshot(emu)).toEqual(await baseline)
        expect(consistencyProblems(emu)).toEqual([])
        expect(a.outputs['hosted-zone-id']).toBe(b.outputs['hosted-zone-id'])
        // The loser of each create adopted the winner's resource.
        const lost = emu
          .calls()
          .filter((c) => (c.caller === RUN_A || c.caller === RUN_B) && c.kind === 'write' && c.errorCode)
          .map((c) => c.errorCode)
        expect(lost.length).toBeGreaterThan(0)
      } finally {
        await emu.stop()
      }
    },
    120_000
  )

  test.concurrent(
    'two stacks of one project deployed together share one zone, one DNS updater and one rule, and each gets its own groups and records',
    async () => {
      const emu = await emulator()
      try {
        const [a, b] = await together(
          emu,
          { inputs: { stack: 'st-a', wait: 'false' } },
          { inputs: { stack: 'st-b', wait: 'false' } }
        )
        expect([errors(a.stdout), errors(b.stdout)]).toEqual([[], []])
        expect([a.code, b.code]).toEqual([0, 0])
        expect([planned(a.stdout, 'hosted-zone'), planned(b.stdout, 'hosted-zone')]).toEqual([true, true])
        await emu.waitIdle()
        const s = snapshot(emu) as {
          zones: Array<{ name: string; records: string[] }>
          functions: Array<{ name: string }>
          roles: Array<{ name: string }>
          rules: Array<{ name: string }>
          logGroups: Array<{ name: string }>
          autoScalingGroups: Array<{ name: string }>
          securityGroups: unknown[]
          launchTemplates: unknown[]
        }
        expect(s.zones.map((z) => z.name)).toEqual(['prj-demo.us-east-1.internal.'])
        expect(s.functions.map((f) => f.name)).toEqual(['update_r53_record-prj-demo'])
        // one DNS updater role for the project, one instance role per service of each stack
        expect(s.roles.map((r) => r.name)).toEqual([
          'hyperform-dns-prj-demo-us-east-1',
          ...['st-a', 'st-b'].flatMap((stack) =>
            ['db', 'wordpress'].map((service) => `hyperform-prj-demo-${stack}-${service}-us-east-1`)
          )
        ])
        expect(s.rules.map((r) => r.name)).toEqual([
          'update_r53_record-prj-demo',
          'update_r53_record-prj-demo-reconcile'
        ])
        expect(s.logGroups.map((l) => l.name)).toEqual([
          '/aws/lambda/update_r53_record-prj-demo',
          '/hyperform/prj-demo/st-a',
          '/hyperform/prj-demo/st-b'
        ])
        expect(s.autoScalingGroups.map((g) => g.name)).toHaveLength(8)
        expect(s.securityGroups).toHaveLength(4)
        expect(s.launchTemplates).toHaveLength(4)
        expect(s.zones[0]?.records.filter((r) => / A /.test(r))).toEqual([
          'db.st-a.prj-demo.us-east-1.internal. A 10 x1',
          'db.st-b.prj-demo.us-east-1.internal. A 10 x1',
          'wordpress.st-a.prj-demo.us-east-1.internal. A 10 x2',
          'wordpress.st-b.prj-demo.us-east-1.internal. A 10 x2'
        ])
        expect(consistencyProblems(emu)).toEqual([])
        expect(a.outputs['hosted-zone-id']).toBe(b.outputs['hosted-zone-id'])
        expect(a.outputs['lambda-function']).toBe(b.outputs['lambda-function'])
      } finally {
        await emu.stop()
      }
    },
    120_000
  )
})
