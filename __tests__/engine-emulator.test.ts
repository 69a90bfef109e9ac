/**
 * The deploy engine end to end against the in-process emulator, with real SDK
 * clients: resolveNetwork -> buildDesired -> readCurrent -> diff -> applyPlan
 * -> waitForStack for the seed's wordpress example, a no-op second run, then
 * destroy.
 */
import { readFileSync } from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ListHostedZonesByNameCommand } from '@aws-sdk/client-route-53'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { applyPlan } from '../src/apply.js'
import { createClients, destroyClients, type Clients } from '../src/aws/clients.js'
import { resolveNetwork } from '../src/aws/network.js'
import { loadCompose } from '../src/compose/index.js'
import type { ComposeModel } from '../src/compose/model.js'
import { readCurrent } from '../src/current.js'
import { buildDesired } from '../src/desired.js'
import { inputs as fixtureInputs } from './helpers/deploy-fixtures.js'
import type { ActionInputs } from '../src/inputs.js'
import { destroyPlan, diff } from '../src/plan.js'
import { KINDS } from '../src/resources/index.js'
import type { DesiredState } from '../src/state.js'
import { waitForStack } from '../src/wait.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const ZIP = path.join(ROOT, 'dist/lambda/update-r53-record.zip')
const lambdaCode = { zipPath: ZIP, codeSha256: readFileSync(`${ZIP}.sha256`, 'utf8').trim() }
const timing = {
  baseDelayMs: 5,
  maxDelayMs: 50,
  pollMs: 20,
  rolePropagationMs: 5000,
  consistencyMs: 5000,
  teardownMs: 20_000
}
const scope = { project: 'prj-demo', stack: 'st-wordpress', region: 'us-east-1' }

const inputs: ActionInputs = fixtureInputs({
  ...scope,
  composeFiles: ['examples/wordpress/compose.yaml'],
  workspace: ROOT,
  spotInstanceTypes: ['t3a.small'],
  wait: true,
  waitTimeout: 60
})

let emulator: Emulator
let clients: Clients
const saved = { ...process.env }
const lines: string[] = []
const log = (line: string): void => {
  lines.push(line)
}

async function model(): Promise<ComposeModel> {
  const result = await loadCompose({ files: inputs.composeFiles, workspace: ROOT, env: {} })
  if (!result.ok) throw new Error(JSON.stringify(result.errors))
  return result.model
}

async function desiredState(
  edit: (m: ComposeModel) => ComposeModel = (m) => m,
  over: Partial<ActionInputs> = {}
): Promise<DesiredState> {
  const network = await resolveNetwork(clients, inputs)
  return buildDesired({ inputs: { ...inputs, ...over }, model: edit(await model()), network, lambdaCode })
}

/** Deploys `desired` and waits for it; returns the engine's writes as the emulator logged them. */
async function deploy(desired: DesiredState): Promise<string[]> {
  await emulator.waitIdle()
  emulator.resetCalls()
  const plan = diff(desired, await readCurrent(clients, desired.scope))
  await applyPlan(plan, { clients, desired, log, timing })
  const writes = writesIn(emulator.calls()).map((c) => c.operation)
  const ready = await waitForStack({ clients, desired, timeoutSeconds: 30, log, pollMs: 50 })
  expect(ready.services.filter((s) => !s.ready)).toEqual([])
  return writes
}

const reimage = (m: ComposeModel): ComposeModel => ({
  ...m,
  services: m.services.map((s) =>
    s.name === 'wordpress' ? { ...s, image: 'wordpress:6.8-apache', replicas: 3, preemptible: 2 } : s
  )
})
const resize = (m: ComposeModel): ComposeModel => ({
  ...m,
  services: m.services.map((s) => (s.name === 'wordpress' ? { ...s, replicas: 3, preemptible: 2 } : s))
})
const withoutDb = (m: ComposeModel): ComposeModel =>
  reimage({ ...m, services: m.services.filter((s) => s.name !== 'db') })

const active = (plan: { changes: Array<{ action: string; kind: string; name: string; reason: string }> }): string[] =>
  plan.changes.filter((c) => c.action !== 'noop').map((c) => `${c.action} ${c.kind} ${c.name}: ${c.reason}`)

const writesIn = (calls: ReturnType<Emulator['calls']>): typeof calls =>
  calls.filter((c) => c.kind === 'write' && !(c.caller ?? '').startsWith('lambda-'))
const readsIn = (calls: ReturnType<Emulator['calls']>): typeof calls =>
  calls.filter((c) => c.kind === 'read' && !(c.caller ?? '').startsWith('lambda-'))

beforeAll(async () => {
  emulator = await startEmulator({
    simulation: { launchDelayMs: 20, terminateDelayMs: 20, functionPendingMs: 20, sqsTimeScale: 0.05 }
  })
  process.env.AWS_ENDPOINT_URL = emulator.endpoint
  process.env.AWS_ACCESS_KEY_ID = 'AKIAENGINETEST'
  process.env.AWS_SECRET_ACCESS_KEY = 'engine'
  process.env.AWS_REGION = scope.region
  clients = createClients({ region: scope.region, maxAttempts: 3 })
})

afterAll(async () => {
  destroyClients(clients)
  await emulator.stop()
  process.env = saved
})

describe('the deploy engine against the emulator', () => {
  test('a fresh deploy of the wordpress example runs 3 instances and both service records list their IPs', async () => {
    const desired = await desiredState()
    const plan = diff(desired, await readCurrent(clients, scope))
    expect(plan.changes.filter((c) => c.action === 'create').length).toBeGreaterThan(10)
    const result = await applyPlan(plan, { clients, desired, log, timing })
    expect(result.writes).toBeGreaterThan(0)
    const ready = await waitForStack({ clients, desired, timeoutSeconds: 30, log, pollMs: 50 })
    expect(ready.ready).toBe(true)
    const byName = Object.fromEntries(ready.services.map((s) => [s.service, s]))
    expect(byName.db?.instanceIps).toHaveLength(1)
    expect(byName.wordpress?.instanceIps).toHaveLength(2)
    expect(byName.db?.recordValues).toEqual(byName.db?.instanceIps)
    expect(byName.wordpress?.recordValues).toEqual(byName.wordpress?.instanceIps)
    const current = await readCurrent(clients, scope)
    const sizes = Object.fromEntries(current.asgs.map((g) => [g.name, g.desired]))
    expect(sizes).toEqual({
      'hyperform-prj-demo-st-wordpress-db-on-demand': 1,
      'hyperform-prj-demo-st-wordpress-db-spot': 0,
      'hyperform-prj-demo-st-wordpress-wordpress-on-demand': 1,
      'hyperform-prj-demo-st-wordpress-wordpress-spot': 1
    })
  })

  test('a second run of the unchanged compose file plans only noops and writes nothing', async () => {
    await emulator.waitIdle()
    emulator.resetCalls()
    const desired = await desiredState()
    const current = await readCurrent(clients, scope)
    const plan = diff(desired, current)
    expect(
      plan.changes.filter((c) => c.action !== 'noop').map((c) => `${c.action} ${c.kind} ${c.name}: ${c.reason}`)
    ).toEqual([])
    const result = await applyPlan(plan, { clients, desired, log, timing })
    expect(result.writes).toBe(0)
    const calls = emulator.calls()
    expect(writesIn(calls)).toEqual([])
    // per kind in batch, none per service: the project's six, its queues (list and attributes), event source
    // mapping, schedule and its targets, and the stack's three (network reads are the action's, not here)
    expect(readsIn(calls).length).toBeLessThanOrEqual(16)
  })

  test('more replicas only resize the groups, and the record follows to 3 IPs', async () => {
    const writes = await deploy(await desiredState(resize))
    expect([...new Set(writes)].sort()).toEqual(['CreateOrUpdateTags', 'UpdateAutoScalingGroup'])
    const ready = await waitForStack({ clients, desired: await desiredState(resize), timeoutSeconds: 5, log })
    expect(ready.services.find((s) => s.service === 'wordpress')?.recordValues).toHaveLength(3)
  })

  test('a new image makes one new template version, and both groups move to it through their refreshes', async () => {
    const desired = await desiredState(reimage)
    const writes = await deploy(desired)
    expect(writes.filter((op) => op === 'CreateLaunchTemplateVersion')).toHaveLength(1)
    expect(writes.filter((op) => op === 'StartInstanceRefresh')).toHaveLength(2)
    // the groups switch only when their refresh succeeds: no UpdateAutoScalingGroup, no tag
    expect(writes).not.toContain('UpdateAutoScalingGroup')
    expect(writes).not.toContain('CreateOrUpdateTags')
    await emulator.waitIdle()
    const current = await readCurrent(clients, scope)
    const template = current.launchTemplates.find((t) => t.service === 'wordpress')
    expect(template?.defaultVersion).toBe(2)
    expect(current.asgs.filter((g) => g.service === 'wordpress').map((g) => g.launchTemplateVersion)).toEqual([
      '2',
      '2'
    ])
    expect(active(diff(desired, current))).toEqual([])
  })

  test('removing a service deletes its groups, template and security group and leaves the other alone', async () => {
    const before = await readCurrent(clients, scope)
    const writes = await deploy(await desiredState(withoutDb))
    expect(writes).toEqual(
      expect.arrayContaining(['DeleteAutoScalingGroup', 'DeleteLaunchTemplate', 'DeleteSecurityGroup'])
    )
    expect(writes.filter((op) => /^(Create|Update|Start|Modify|Authorize)/.test(op))).toEqual([])
    const after = await readCurrent(clients, scope, { records: true })
    expect(after.asgs.filter((g) => !g.status).map((g) => g.service)).toEqual(['wordpress', 'wordpress'])
    expect(after.securityGroups.map((g) => g.service)).toEqual(['wordpress'])
    expect(after.launchTemplates).toEqual(before.launchTemplates.filter((t) => t.service === 'wordpress'))
    // db's record and its version record (TXT) are gone; wordpress keeps both
    expect(after.records.map((r) => `${r.name} ${r.type}`)).toEqual([
      'wordpress.st-wordpress.prj-demo.us-east-1.internal A',
      'wordpress.st-wordpress.prj-demo.us-east-1.internal TXT'
    ])
  })

  test('a second stack of the project shares the zone and the DNS updater; destroying it leaves them alone', async () => {
    const two = await desiredState((m) => m, { stack: 'st-two' })
    const writes = await deploy(two)
    // of these, only the second stack's own: its services' instance roles and its containers' log group
    expect(
      writes.filter((op) => /HostedZone|Function|Role|Rule|Targets|Permission|LogGroup|Retention/.test(op)).sort()
    ).toEqual(
      [
        ...['CreateRole', 'PutRolePolicy', 'UpdateRole', 'AddRoleToInstanceProfile'].flatMap((op) => [op, op]),
        'CreateLogGroup',
        'PutRetentionPolicy'
      ].sort()
    )
    const twoScope = two.scope
    await emulator.waitIdle()
    emulator.resetCalls()
    const plan = destroyPlan(await readCurrent(clients, twoScope, { otherStacks: true }), twoScope)
    expect(
      plan.changes
        .filter((c) => KINDS[c.kind].level === 'project')
        .every((c) => c.action === 'noop' && c.reason.includes('st-wordpress'))
    ).toBe(true)
    await applyPlan(plan, { clients, log, timing })
    const destroyWrites = writesIn(emulator.calls()).map((c) => c.operation)
    expect(
      destroyWrites.filter((op) => /HostedZone|Function|Role|Rule|Targets|Permission|LogGroup/.test(op)).sort()
    ).toEqual(
      [
        ...['RemoveRoleFromInstanceProfile', 'DeleteRolePolicy', 'DeleteRole'].flatMap((op) => [op, op]),
        'DeleteLogGroup'
      ].sort()
    )
    const gone = await readCurrent(clients, twoScope)
    expect([gone.securityGroups, gone.launchTemplates, gone.asgs.filter((g) => !g.status)]).toEqual([[], [], []])
    expect(active(diff(await desiredState(withoutDb), await readCurrent(clients, scope)))).toEqual([])
  })

  test('destroy removes the stack and, as the last stack, the project DNS stack; destroying again writes nothing', async () => {
    // as main.ts does it: other stacks are not looked up by readCurrent, so apply checks before deleting
    const plan = destroyPlan(await readCurrent(clients, scope), scope)
    expect(plan.changes.find((c) => c.kind === 'hosted-zone')).toMatchObject({
      action: 'delete',
      onlyIfLastStack: true
    })
    const result = await applyPlan(plan, { clients, log, timing })
    expect(result.applied.filter((a) => a.action === 'delete').map((a) => a.kind)).toEqual(
      expect.arrayContaining(['log-group', 'lambda-function', 'event-rule', 'iam-role', 'hosted-zone'])
    )
    const after = await readCurrent(clients, scope, { instances: true, otherStacks: true })
    expect(after.asgs.filter((g) => g.status === undefined)).toEqual([])
    expect(after.launchTemplates).toEqual([])
    expect(after.securityGroups).toEqual([])
    expect(after.zone).toBeUndefined()
    expect(after.function).toBeUndefined()
    expect(after.rule).toBeUndefined()
    expect(after.rolePolicy).toBeUndefined()
    await emulator.waitIdle()
    expect((await readCurrent(clients, scope)).logGroup).toBeUndefined()
    emulator.resetCalls()
    await applyPlan(destroyPlan(await readCurrent(clients, scope, { otherStacks: true }), scope), {
      clients,
      log,
      timing
    })
    expect(writesIn(emulator.calls()).map((c) => `${c.operation} ${c.errorCode ?? ''}`)).toEqual([])
  })

  test('deploying again after a destroy makes one new zone under the next CallerReference, since AWS never reuses one', async () => {
    const writes = await deploy(await desiredState())
    const zoneCalls = emulator
      .calls()
      .filter((c) => c.operation === 'CreateHostedZone')
      .map((c) => c.errorCode ?? 'ok')
    expect(zoneCalls).toEqual(['HostedZoneAlreadyExists', 'ok'])
    expect(writes.filter((op) => op === 'CreateHostedZone')).toHaveLength(2)
    const zones = await clients.route53.send(
      new ListHostedZonesByNameCommand({ DNSName: 'prj-demo.us-east-1.internal' })
    )
    expect((zones.HostedZones ?? []).filter((z) => z.Name === 'prj-demo.us-east-1.internal.')).toHaveLength(1)
    await applyPlan(destroyPlan(await readCurrent(clients, scope), scope), { clients, log, timing })
    expect((await readCurrent(clients, scope)).zone).toBeUndefined()
  })
})
