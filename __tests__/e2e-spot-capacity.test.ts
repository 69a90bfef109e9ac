/**
 * End to end, spot capacity: the seed example deployed by the bundled action while the emulator's
 * spot pools lack capacity. With one pool gone the spot group launches another type of the
 * service's size; with every pool gone the deploy fails naming the service, its group and the
 * scaling activity's words; with spot-fallback: on-demand it succeeds with the missing instance on
 * demand, and the next deploy (capacity back) restores the split.
 */
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling'
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { roleSession, type SdkTestConfig } from '../emulator/testing.js'
import { asgName, SPOT_FALLBACK_TAG, type StackScope } from '../src/names.js'
import { action, operations, seedSuite, stackView, type Run } from './helpers/e2e.js'

const REGION = 'us-east-1'
const PROJECT = 'prj-capacity'
/** AWS's words, as the emulator records them in the spot group's scaling activity. */
const NO_CAPACITY =
  'Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot capacity available that matches your request. Launching EC2 instance failed.'

const POLICY = readFileSync(fileURLToPath(new URL('../docs/deployer-policy.json', import.meta.url)), 'utf8')

const suite = seedSuite(REGION)

afterEach(() => {
  suite.emulator.spotCapacity({ available: true })
})

const scope = (stack: string): StackScope => ({ project: PROJECT, stack, region: REGION })

function deploy(
  stack: string,
  inputs: Record<string, string>,
  code: number | null = 0,
  session?: SdkTestConfig
): Promise<Run> {
  return action(
    {
      emulator: suite.emulator,
      region: REGION,
      workspace: suite.work,
      inputs: { project: PROJECT, stack, 'compose-file': 'compose.yaml', ...inputs },
      ...(session ? { credentials: session.credentials } : {})
    },
    code
  )
}

const denied = (run: Run): string[] =>
  operations(run.calls.filter((c) => /AccessDenied|UnauthorizedOperation/.test(c.errorCode ?? '')))

async function group(name: string): Promise<{ desired: number; tags: Record<string, string> }> {
  const out = await suite.aws.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }))
  const g = out.AutoScalingGroups?.[0]
  return {
    desired: g?.DesiredCapacity ?? -1,
    tags: Object.fromEntries((g?.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']))
  }
}

async function spotTypes(stack: string): Promise<string[]> {
  const view = await stackView(suite.aws, scope(stack))
  const ids = view.instances
    .filter((i) => i.service === 'wordpress' && i.spot && i.state === 'running')
    .map((i) => i.id)
  if (ids.length === 0) return []
  const out = await suite.aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }))
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceType ?? '')
}

test("with the service type's spot pool gone, the spot group launches another type of its size and the deploy succeeds", async () => {
  suite.emulator.spotCapacity({ instanceType: 't3.micro', available: false })
  const run = await deploy('st-pool', { 'wait-timeout': '60' })
  expect(run.stdout).not.toContain('spot capacity missing')
  expect(await spotTypes('st-pool')).toEqual(['t3a.micro'])
}, 120_000)

test('with every spot pool gone, the deploy fails naming the service, its spot group, the missing count and the activity', async () => {
  suite.emulator.spotCapacity({ available: false })
  const run = await deploy('st-none', { 'wait-timeout': '12' }, null)
  expect(run.code).not.toBe(0)
  const spot = asgName(scope('st-none'), 'wordpress', 'spot')
  const line = `wordpress: spot capacity missing: 1 spot instance of ${spot} not launched for`
  expect(run.stdout + run.stderr).toContain(line)
  expect(run.stdout + run.stderr).toContain(NO_CAPACITY)
  expect(run.summary).toContain(line)
  expect(run.summary).toContain(NO_CAPACITY)
  // the on-demand half is untouched: nothing moved without the opt-in
  expect((await group(asgName(scope('st-none'), 'wordpress', 'on-demand'))).desired).toBe(1)
  expect((await group(spot)).desired).toBe(1)
  // db has no spot instance: nothing is said of it
  expect(run.summary).not.toContain('db: spot capacity missing')
}, 120_000)

test('with spot-fallback on-demand the missing spot instance runs on demand, and the next deploy tries spot again, all within the deployer policy', async () => {
  const stack = 'st-fallback'
  const role = await roleSession(suite.emulator, { roleName: 'deployer', policy: POLICY, sessionName: 'GitHubActions' })
  const spot = asgName(scope(stack), 'wordpress', 'spot')
  const onDemand = asgName(scope(stack), 'wordpress', 'on-demand')
  suite.emulator.spotCapacity({ available: false })
  const run = await deploy(stack, { 'wait-timeout': '30', 'spot-fallback': 'on-demand' }, 0, role)
  expect(denied(run)).toEqual([])
  expect(run.summary).toMatch(/wordpress: 1 spot instance missing for \d+ s; running it on demand/)
  expect(run.summary).toContain(NO_CAPACITY)
  expect(await group(onDemand)).toMatchObject({ desired: 2, tags: { [SPOT_FALLBACK_TAG]: '1' } })
  expect(await group(spot)).toMatchObject({ desired: 0, tags: { [SPOT_FALLBACK_TAG]: '1' } })
  const view = await stackView(suite.aws, scope(stack))
  const wordpress = view.instances.filter((i) => i.service === 'wordpress' && i.state === 'running')
  expect(wordpress.map((i) => i.spot)).toEqual([false, false])

  // capacity back: the plan restores the split as the fallback's undoing, not as drift
  suite.emulator.spotCapacity({ available: true })
  const plan = await deploy(stack, { command: 'plan', 'spot-fallback': 'on-demand' }, 0, role)
  expect(plan.stdout).toContain('spot fallback of 1 undone: trying spot again')
  expect(plan.stdout).toContain('on-demand 1 + 1 held for spot until the wait sees it back')
  expect(plan.stdout).not.toMatch(/drift: \d+ resource/)
  const restored = await deploy(stack, { 'wait-timeout': '60', 'spot-fallback': 'on-demand' }, 0, role)
  expect(denied(restored)).toEqual([])
  // the on-demand instance goes only once the spot one is in service: the wait hands it back
  expect(restored.stdout).toContain(
    `wordpress: spot capacity back: 1 on-demand instance handed back (${onDemand} 2 -> 1)`
  )
  // two resizes: the spot group restored by the plan, the on-demand group by the wait (not by the plan)
  expect(restored.calls.filter((c) => c.operation === 'UpdateAutoScalingGroup')).toHaveLength(2)
  expect((await group(onDemand)).desired).toBe(1)
  expect((await group(spot)).desired).toBe(1)
  expect((await group(spot)).tags[SPOT_FALLBACK_TAG]).toBeUndefined()
  expect((await group(onDemand)).tags[SPOT_FALLBACK_TAG]).toBeUndefined()
  expect(await spotTypes(stack)).toHaveLength(1)
  // and then nothing to change
  const again = await deploy(stack, { command: 'plan', 'spot-fallback': 'on-demand' }, 0, role)
  expect(again.outputs.changes).toBe('0')
}, 180_000)
