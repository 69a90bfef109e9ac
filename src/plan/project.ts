/** Diff of the project-level DNS stack (zone, role, policy, log group, function, rule, target, permission). Pure. */
import { canonicalJson, functionEnvironment, logGroupArn, rolePolicyDocument } from '../desired.js'
import { decide } from '../state.js'
import type { Change, ChangeDraft, CurrentState, DesiredState } from '../state.js'

const same = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b)

function noop(change: ChangeDraft, reason = 'up to date'): Change {
  return decide(change, 'noop', reason)
}

type ProjectPart = 'zone' | 'role' | 'logGroup' | 'function' | 'rule'

/**
 * A project-level resource that is missing while another one exists was deleted by hand
 * (a fresh project has none of them; a destroy removes them all): drift.
 */
function othersExist(current: CurrentState, missing: ProjectPart): boolean {
  const present: Record<ProjectPart, boolean> = {
    zone: current.zone !== undefined,
    role: current.rolePolicy !== undefined,
    logGroup: current.logGroup !== undefined,
    function: current.function !== undefined,
    rule: current.rule !== undefined
  }
  return Object.entries(present).some(([part, exists]) => part !== missing && exists)
}

function zoneChange(desired: DesiredState, current: CurrentState): Change {
  const zone = desired.project.zone
  if (current.zone) return noop({ kind: 'hosted-zone', name: zone.name, desired: zone, current: current.zone })
  return { kind: 'hosted-zone', action: 'create', name: zone.name, reason: `not found; private zone for ${zone.vpcId}`, desired: zone, drift: othersExist(current, 'zone') }
}

function roleChange(desired: DesiredState, current: CurrentState): Change {
  const role = desired.project.role
  if (current.rolePolicy) return noop({ kind: 'iam-role', name: role.name, desired: role, current: { name: role.name } })
  return { kind: 'iam-role', action: 'create', name: role.name, reason: 'role or its policy not found', desired: role, drift: othersExist(current, 'role') }
}

function expectedPolicy(desired: DesiredState, current: CurrentState): Record<string, unknown> | undefined {
  if (!current.zone || !current.accountId) return undefined
  const p = desired.project.rolePolicy
  const arn = logGroupArn({ partition: p.partition, region: p.region, accountId: current.accountId, name: p.logGroupName })
  return rolePolicyDocument({ partition: p.partition, zoneId: current.zone.id, logGroupArn: arn })
}

function rolePolicyChange(desired: DesiredState, current: CurrentState): Change {
  const policy = desired.project.rolePolicy
  const base = { kind: 'role-policy' as const, name: `${policy.roleName}/${policy.policyName}`, desired: policy, current: current.rolePolicy }
  if (!current.rolePolicy) return { ...base, action: 'create', reason: 'not found', drift: othersExist(current, 'role') }
  const expected = expectedPolicy(desired, current)
  if (!expected) return { ...base, action: 'update', reason: 'the zone or log group is new', fields: ['document'] }
  if (same(expected, current.rolePolicy.document)) return noop(base)
  return { ...base, action: 'update', reason: 'policy document differs', fields: ['document'], drift: true }
}

function logGroupChange(desired: DesiredState, current: CurrentState): Change {
  const group = desired.project.logGroup
  const base = { kind: 'log-group' as const, name: group.name, desired: group, current: current.logGroup }
  if (!current.logGroup) return { ...base, action: 'create', reason: `not found; retention ${group.retentionDays} days`, drift: othersExist(current, 'logGroup') }
  if (current.logGroup.retentionDays !== group.retentionDays) {
    // The action always sets a retention: a group without one was made by someone else (the function
    // recreates its group when it logs after the group was deleted).
    const drift = current.logGroup.retentionDays === undefined
    return { ...base, action: 'update', reason: `retention ${current.logGroup.retentionDays ?? 'never expire'} -> ${group.retentionDays} days`, fields: ['retentionDays'], drift }
  }
  return noop(base)
}

function functionFields(desired: DesiredState, current: CurrentState): string[] {
  const want = desired.project.function
  const have = current.function
  if (!have) return []
  const account = current.accountId
  const roleArn = account ? `arn:${desired.partition}:iam::${account}:role/${want.roleName}` : undefined
  const env = current.zone ? functionEnvironment(want.environment, current.zone.id) : undefined
  const checks: Array<[string, boolean]> = [
    ['runtime', have.runtime === want.runtime],
    ['handler', have.handler === want.handler],
    ['role', roleArn !== undefined && have.role === roleArn],
    ['timeout', have.timeout === want.timeout],
    ['memorySize', have.memorySize === want.memorySize],
    ['environment', env !== undefined && same(env, have.environment)]
  ]
  return checks.filter(([, ok]) => !ok).map(([field]) => field)
}

const FIXED_FUNCTION_FIELDS = new Set(['runtime', 'handler', 'role', 'timeout', 'memorySize'])

function functionChange(desired: DesiredState, current: CurrentState): Change {
  const fn = desired.project.function
  const base = { kind: 'lambda-function' as const, name: fn.name, desired: fn, current: current.function }
  if (!current.function) return { ...base, action: 'create', reason: `not found; ${fn.runtime}`, codeChanged: true, drift: othersExist(current, 'function') }
  const fields = functionFields(desired, current)
  const codeChanged = current.function.codeSha256 !== fn.codeSha256
  if (codeChanged) fields.push('code')
  if (fields.length === 0) return noop({ ...base, codeChanged: false })
  const reason = codeChanged && fields.length === 1 ? 'code changed (SHA-256 differs)' : `${fields.join(', ')} changed`
  // Runtime, handler, role, timeout and memory are the action's own constants: changed with the same code, by hand.
  const drift = !codeChanged && fields.some((f) => FIXED_FUNCTION_FIELDS.has(f))
  return { ...base, action: 'update', reason, fields, codeChanged, drift }
}

function ruleChange(desired: DesiredState, current: CurrentState): Change {
  const rule = desired.project.rule
  const base = { kind: 'event-rule' as const, name: rule.name, desired: rule, current: current.rule }
  if (!current.rule) return { ...base, action: 'create', reason: 'not found; EC2 instance state changes', drift: othersExist(current, 'rule') }
  const fields: string[] = []
  if (current.rule.eventPattern !== rule.eventPattern) fields.push('eventPattern')
  if (current.rule.state !== 'ENABLED') fields.push('state')
  if (fields.length === 0) return noop(base)
  return { ...base, action: 'update', reason: `${fields.join(', ')} differs`, fields, drift: true }
}

function targetChange(desired: DesiredState, current: CurrentState): Change {
  const target = desired.project.target
  const have = current.targets.find((t) => t.id === target.id)
  const base = { kind: 'event-target' as const, name: `${target.ruleName}/${target.id}`, desired: target, current: have }
  if (!have) return { ...base, action: 'create', reason: 'not found', drift: current.rule !== undefined && current.function !== undefined }
  if (!current.function || have.arn !== current.function.arn) {
    return { ...base, action: 'update', reason: 'points elsewhere', fields: ['arn'], drift: current.function !== undefined }
  }
  return noop(base)
}

function permissionChange(desired: DesiredState, current: CurrentState): Change {
  const permission = desired.project.permission
  const have = current.permission
  const base = { kind: 'lambda-permission' as const, name: `${permission.functionName}/${permission.statementId}`, desired: permission, current: have }
  if (!have) return { ...base, action: 'create', reason: `not found; ${permission.principal} from the rule`, drift: current.function !== undefined && current.rule !== undefined }
  const ok = current.rule !== undefined && have.sourceArn === current.rule.arn && have.principal === permission.principal && have.action === permission.action
  if (ok) return noop(base)
  return { ...base, action: 'replace', reason: 'scoped to another source or principal', drift: current.rule !== undefined }
}

export function projectChanges(desired: DesiredState, current: CurrentState): Change[] {
  return [
    zoneChange(desired, current),
    roleChange(desired, current),
    rolePolicyChange(desired, current),
    logGroupChange(desired, current),
    functionChange(desired, current),
    ruleChange(desired, current),
    targetChange(desired, current),
    permissionChange(desired, current)
  ]
}
