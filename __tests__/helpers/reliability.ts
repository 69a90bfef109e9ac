/**
 * Shared by the reliability and security tests: run the bundled action on the seed's wordpress
 * example against an in-process emulator, and read what exists in the emulated AWS as a
 * normalised snapshot (resources by name, sizes, tags, policies, records; no ids, no IPs,
 * no timestamps) that two deploys of the same compose file must agree on exactly.
 *
 * The snapshot is read from the emulator's state dump, not through AWS calls, so the faults a
 * test injects never touch the test's own view.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { runAction, type ActionRun } from '../../emulator/github-runner.js'
import type { Emulator, EmulatorOptions } from '../../emulator/server.js'
import { startEmulator } from '../../emulator/server.js'
import type { CallRecord } from '../../emulator/types.js'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const SEED_COMPOSE = 'examples/wordpress/compose.yaml'
export const SCOPE = { project: 'prj-demo', stack: 'st-wordpress', region: 'us-east-1' } as const
/** The access key the action runs with; the DNS updater's calls carry `lambda-<function>`. */
export const ACTION_KEY = 'AKIARELIABILITY'

/**
 * Small simulation delays: instances run (and stop) within tens of milliseconds, and the agent
 * stand-in lets a healthy container through the launch gate after 20 ms of running (default 500).
 */
export const FAST: EmulatorOptions['simulation'] = {
  launchDelayMs: 20,
  terminateDelayMs: 20,
  functionPendingMs: 20,
  launchRetryMs: 200,
  containerSettleMs: 20,
  sqsTimeScale: 0.05
}

export function emulator(options: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulator({ ...options, simulation: { ...FAST, ...options.simulation } })
}

export interface RunArgs {
  emulator: Emulator
  /** Extra or overriding inputs (command, stack, wait, ...). */
  inputs?: Record<string, string>
  /** Workspace (default: the repository root, with the seed example's compose file). */
  workspace?: string
  /** SIGKILL the action when this aborts. */
  signal?: AbortSignal
  /** Access key id of this run (tells concurrent runs apart in the call log). */
  accessKey?: string
}

/** Runs the bundled action as GitHub does, pointed at the emulator. */
export function run(args: RunArgs): Promise<ActionRun> {
  return runAction({
    inputs: {
      project: SCOPE.project,
      stack: SCOPE.stack,
      region: SCOPE.region,
      'compose-file': SEED_COMPOSE,
      ...args.inputs
    },
    workspace: args.workspace ?? ROOT,
    env: {
      AWS_ENDPOINT_URL: args.emulator.endpoint,
      AWS_REGION: SCOPE.region,
      AWS_ACCESS_KEY_ID: args.accessKey ?? ACTION_KEY
    },
    ...(args.signal ? { signal: args.signal } : {})
  })
}

/** Runs the action and throws with its output unless it exits 0. */
export async function runOk(args: RunArgs): Promise<ActionRun> {
  const result = await run(args)
  if (result.code !== 0)
    throw new Error(`the action exited ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`)
  return result
}

/** Calls made by the action (any access key but the DNS updater's and the instances' agents'). */
export const byAction = (calls: readonly CallRecord[]): CallRecord[] =>
  calls.filter((c) => !/^(lambda|instance)-/.test(c.caller ?? ''))
export const writesOf = (calls: readonly CallRecord[]): CallRecord[] =>
  byAction(calls).filter((c) => c.kind === 'write')
export const callNames = (calls: readonly CallRecord[]): string[] =>
  calls.map(
    (c) => `${c.service}.${c.operation}${c.errorCode ? ` ${c.errorCode}${c.injected ? ' (injected)' : ''}` : ''}`
  )

// ------------------------------------------------------------------ the state dump, as far as it is read here

interface Tagged {
  tags: Record<string, string>
}
interface DumpRule {
  egress: boolean
  ipProtocol: string
  fromPort?: number
  toPort?: number
  source: { cidr?: string; groupId?: string; description?: string }
}
interface DumpGroup extends Tagged {
  groupId: string
  groupName: string
  rules: DumpRule[]
}
interface DumpTemplate extends Tagged {
  launchTemplateId: string
  launchTemplateName: string
  defaultVersion: number
  versions: Array<{ versionNumber: number; data: Record<string, unknown> }>
}
interface DumpInstance extends Tagged {
  instanceId: string
  state: string
  privateIpAddress?: string
  spot: boolean
  launchTemplate?: { name: string; version: number }
}
interface DumpAsg {
  name: string
  minSize: number
  maxSize: number
  desired: number
  deleting: boolean
  launchTemplate?: { name: string; version: string }
  mixed?: unknown
  tags: Array<{ key: string; value: string; propagateAtLaunch: boolean }>
  instances: Array<{ lifecycle: string; health: string; spot: boolean }>
}
interface DumpRole extends Tagged {
  roleName: string
  arn: string
  assumeRolePolicyDocument: string
  inlinePolicies: Record<string, string>
}
/** A role AWS made for itself (Auto Scaling's, on the account's first group): not the action's. */
const serviceLinked = (r: DumpRole): boolean => r.arn.includes(':role/aws-service-role/')

interface DumpZone {
  id: string
  name: string
  vpcs: unknown[]
  records: Array<{ name: string; type: string; ttl: number; values: string[] }>
}
interface DumpFunction {
  FunctionName: string
  Runtime: string
  Role: string
  Handler: string
  Timeout: number
  MemorySize: number
  CodeSha256: string
  State: string
  Environment?: { Variables?: Record<string, string> }
  policy?: unknown[]
}
interface DumpRule2 {
  name: string
  state: string
  eventPattern: string
  targets: Array<{ Id: string; Arn: string }>
}
interface DumpLogGroup {
  name: string
  retentionInDays?: number
}

interface DumpProfile {
  name: string
  path: string
  roles: string[]
}
interface DumpParameter {
  region: string
  name: string
  type?: string
  keyId?: string
  version?: number
  tier?: string
}

export interface Dump {
  ec2: { securityGroups: DumpGroup[]; launchTemplates: DumpTemplate[]; instances: DumpInstance[] }
  autoscaling: { groups: DumpAsg[] }
  iam: { roles: DumpRole[]; instanceProfiles: DumpProfile[] }
  ssm: { parameters: DumpParameter[] }
  route53: DumpZone[]
  lambda: DumpFunction[]
  events: DumpRule2[]
  logs: DumpLogGroup[]
}

export const dump = (emu: Emulator): Dump => emu.state() as unknown as Dump

const byName =
  <T>(key: (t: T) => string) =>
  (a: T, b: T): number =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0
const LIVE = new Set(['pending', 'running', 'shutting-down', 'stopping', 'stopped'])

export function decodeUserData(data: Record<string, unknown>): string {
  return Buffer.from(String(data.UserData ?? ''), 'base64').toString('utf8')
}

/**
 * What exists, with every generated id replaced by the name of what it points at (or dropped):
 * two deploys of one compose file give equal snapshots. Arrays, not maps keyed by name, so a
 * duplicate (two zones of one name) shows.
 */
export function snapshot(emu: Emulator): Record<string, unknown> {
  const d = dump(emu)
  const sgName = new Map(d.ec2.securityGroups.map((g) => [g.groupId, g.groupName]))
  const zoneName = new Map(d.route53.map((z) => [z.id.replace(/^\/hostedzone\//, ''), z.name]))
  const ids = [
    ...[...zoneName].map(([id, name]) => [id, `<zone ${name}>`]),
    ...[...sgName].map(([id, name]) => [id, `<sg ${name}>`])
  ]
  const unId = (text: string): string => ids.reduce((out, [id, name]) => out.split(id ?? '').join(name), text)
  const ours = (t: Tagged): boolean => t.tags['hyperform:managed-by'] === 'hyperform-action'
  const hashFree = (tags: Record<string, string>): Record<string, string> =>
    Object.fromEntries(
      Object.entries(tags)
        .map(([k, v]): [string, string] => [k, k === 'hyperform:config-hash' ? '<hash>' : v])
        .sort(byName(([k]) => k))
    )
  return {
    securityGroups: d.ec2.securityGroups
      .filter(ours)
      .map((g) => ({
        name: g.groupName,
        tags: hashFree(g.tags),
        rules: g.rules
          .map(
            (r) =>
              `${r.egress ? 'egress' : 'ingress'} ${r.ipProtocol} ${r.fromPort ?? ''}-${r.toPort ?? ''} ${r.source.cidr ?? unId(r.source.groupId ?? '')}`
          )
          .sort()
      }))
      .sort(byName((g) => g.name)),
    launchTemplates: d.ec2.launchTemplates
      .filter(ours)
      .map((t) => {
        const data = t.versions.find((v) => v.versionNumber === t.defaultVersion)?.data ?? {}
        return {
          name: t.launchTemplateName,
          defaultVersion: t.defaultVersion,
          versions: t.versions.length,
          tags: hashFree(t.tags),
          data: JSON.parse(unId(JSON.stringify({ ...data, UserData: decodeUserData(data) }))) as unknown
        }
      })
      .sort(byName((t) => t.name)),
    autoScalingGroups: d.autoscaling.groups
      .map((g) => ({
        name: g.name,
        sizes: `${g.minSize}/${g.desired}/${g.maxSize}`,
        deleting: g.deleting,
        launchTemplate: g.launchTemplate ? `${g.launchTemplate.name} v${g.launchTemplate.version}` : undefined,
        mixed: g.mixed,
        tags: g.tags
          .map(
            (t) =>
              `${t.key}=${t.key === 'hyperform:config-hash' ? '<hash>' : t.value}${t.propagateAtLaunch ? ' (propagated)' : ''}`
          )
          .sort(),
        instances: g.instances.map((i) => `${i.lifecycle} ${i.health}${i.spot ? ' spot' : ''}`).sort()
      }))
      .sort(byName((g) => g.name)),
    instances: d.ec2.instances
      .filter((i) => LIVE.has(i.state))
      .map(
        (i) =>
          `${i.tags['aws:autoscaling:groupName'] ?? '(no group)'} ${i.state}${i.spot ? ' spot' : ''} ${i.launchTemplate ? `${i.launchTemplate.name} v${i.launchTemplate.version}` : ''}`
      )
      .sort(),
    roles: d.iam.roles
      .filter((r) => !serviceLinked(r))
      .map((r) => ({
        name: r.roleName,
        tags: r.tags,
        trust: r.assumeRolePolicyDocument,
        policies: Object.fromEntries(Object.entries(r.inlinePolicies).map(([k, v]) => [k, unId(v)]))
      }))
      .sort(byName((r) => r.name)),
    zones: d.route53
      .map((z) => ({
        name: z.name,
        vpcs: z.vpcs.length,
        records: z.records.map((r) => `${r.name} ${r.type} ${r.ttl} x${r.values.length}`).sort()
      }))
      .sort(byName((z) => z.name)),
    functions: d.lambda
      .map((f) => ({
        name: f.FunctionName,
        runtime: f.Runtime,
        role: f.Role,
        handler: f.Handler,
        timeout: f.Timeout,
        memory: f.MemorySize,
        code: f.CodeSha256,
        state: f.State,
        environment: JSON.parse(unId(JSON.stringify(f.Environment?.Variables ?? {}))) as unknown,
        policy: f.policy ?? []
      }))
      .sort(byName((f) => f.name)),
    rules: d.events
      .map((r) => ({
        name: r.name,
        state: r.state,
        pattern: r.eventPattern,
        targets: r.targets.map((t) => `${t.Id} -> ${t.Arn}`).sort()
      }))
      .sort(byName((r) => r.name)),
    logGroups: d.logs.map((l) => ({ name: l.name, retention: l.retentionInDays })).sort(byName((l) => l.name)),
    instanceProfiles: d.iam.instanceProfiles
      .map((p) => ({ name: p.name, path: p.path, roles: [...p.roles].sort() }))
      .sort(byName((p) => p.name)),
    parameters: d.ssm.parameters
      .map((p) => ({ name: p.name, type: p.type, keyId: p.keyId, version: p.version, tier: p.tier }))
      .sort(byName((p) => p.name))
  }
}

/**
 * What must hold of any settled deployment, whatever it went through: every group runs exactly
 * its desired instances, no instance runs outside a group, and each service record lists
 * exactly the private IPs of that service's running instances. Returns the problems found.
 */
export function consistencyProblems(emu: Emulator): string[] {
  const d = dump(emu)
  const problems: string[] = []
  const live = d.ec2.instances.filter((i) => LIVE.has(i.state))
  for (const g of d.autoscaling.groups) {
    const mine = live.filter((i) => i.tags['aws:autoscaling:groupName'] === g.name)
    if (mine.length !== g.desired) problems.push(`${g.name}: ${mine.length} live instance(s), desired ${g.desired}`)
    if (mine.some((i) => i.state !== 'running'))
      problems.push(`${g.name}: not all instances running (${mine.map((i) => i.state).join(', ')})`)
  }
  const groups = new Set(d.autoscaling.groups.map((g) => g.name))
  for (const i of live) {
    const group = i.tags['aws:autoscaling:groupName']
    if (!group || !groups.has(group))
      problems.push(
        `instance of ${group ?? 'no group'} (${i.tags['hyperform:service'] ?? '?'}) is ${i.state} outside any group`
      )
  }
  const services = new Map<string, string[]>()
  for (const i of live) {
    const key = `${i.tags['hyperform:service'] ?? ''}.${i.tags['hyperform:stack'] ?? ''}.${i.tags['hyperform:project'] ?? ''}`
    services.set(key, [...(services.get(key) ?? []), i.privateIpAddress ?? '(no ip)'])
  }
  for (const zone of d.route53) {
    const suffix = `.${zone.name}`
    for (const r of zone.records.filter((x) => x.type === 'A')) {
      const key = `${r.name.slice(0, -suffix.length)}.${zone.name.split('.')[0] ?? ''}`
      const ips = [...(services.get(key) ?? [])].sort()
      const values = [...r.values].sort()
      if (ips.join(',') !== values.join(','))
        problems.push(`${r.name} lists ${values.join(', ')}; running: ${ips.join(', ') || 'none'}`)
    }
    for (const [key, ips] of services) {
      const [service, stack, project] = key.split('.')
      const name = `${service ?? ''}.${stack ?? ''}.${zone.name}`
      if (zone.name.startsWith(`${project ?? ''}.`) && !zone.records.some((r) => r.type === 'A' && r.name === name)) {
        problems.push(`no record ${name} for ${ips.length} running instance(s)`)
      }
    }
  }
  return problems
}

/** Everything the action manages that is still there (after destroy: nothing). */
export function leftovers(emu: Emulator): string[] {
  const d = dump(emu)
  const ours = (t: Tagged): boolean => t.tags['hyperform:managed-by'] === 'hyperform-action'
  return [
    ...d.ec2.securityGroups.filter(ours).map((g) => `security group ${g.groupName}`),
    ...d.ec2.launchTemplates.filter(ours).map((t) => `launch template ${t.launchTemplateName}`),
    ...d.ec2.instances
      .filter((i) => LIVE.has(i.state))
      .map((i) => `instance ${i.tags['aws:autoscaling:groupName'] ?? ''} ${i.state}`),
    ...d.autoscaling.groups.map((g) => `Auto Scaling group ${g.name}${g.deleting ? ' (deleting)' : ''}`),
    ...d.iam.roles.filter((r) => !serviceLinked(r)).map((r) => `role ${r.roleName}`),
    ...d.route53.map((z) => `zone ${z.name}`),
    // records of any type, version records (TXT) included, but the apex SOA and NS
    ...d.route53.flatMap((z) =>
      z.records
        .filter((r) => !(r.name === z.name && (r.type === 'SOA' || r.type === 'NS')))
        .map((r) => `record ${r.name} ${r.type}`)
    ),
    ...d.lambda.map((f) => `function ${f.FunctionName}`),
    ...d.events.map((r) => `rule ${r.name}`),
    ...d.logs.map((l) => `log group ${l.name}`)
  ]
}
