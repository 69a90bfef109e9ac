/**
 * The plan: what to create, update, replace or delete to turn the current
 * state into the desired one, with a reason per change. Pure: no SDK.
 */
import { roleName } from './names.js'
import type { StackScope } from './names.js'
import { projectChanges } from './plan/project.js'
import { desiredNames, removals, serviceChanges } from './plan/services.js'
import { decide } from './state.js'
import type { Change, ChangeAction, ChangeDraft, CurrentState, DesiredState, Plan } from './state.js'

/** Deploy and plan: every desired resource (noops included) and deletes of what the compose file no longer has. */
export function diff(desired: DesiredState, current: CurrentState): Plan {
  const changes: Change[] = [...projectChanges(desired, current)]
  const recordTtl = Number(desired.project.function.environment.RECORD_TTL ?? 60)
  for (const service of desired.services) changes.push(...serviceChanges(service, current, { recordTtl }))
  const services = new Set(desired.services.map((s) => s.name))
  changes.push(...removals(current, { names: desiredNames(desired), services, reason: 'not in compose file', orphansAreDrift: true }))
  return { changes, scope: desired.scope }
}

function projectDeletes(current: CurrentState): Array<ChangeDraft> {
  const out: Array<ChangeDraft> = []
  if (current.permission) out.push({ kind: 'lambda-permission', name: `${current.function?.name ?? ''}/${current.permission.statementId}`, current: current.permission })
  for (const t of current.targets) if (current.rule) out.push({ kind: 'event-target', name: `${current.rule.name}/${t.id}`, current: t })
  if (current.rule) out.push({ kind: 'event-rule', name: current.rule.name, current: current.rule })
  if (current.function) out.push({ kind: 'lambda-function', name: current.function.name, current: current.function })
  if (current.logGroup) out.push({ kind: 'log-group', name: current.logGroup.name, current: current.logGroup })
  if (current.rolePolicy) {
    out.push({ kind: 'role-policy', name: `${current.rolePolicy.roleName}/${current.rolePolicy.policyName}`, current: current.rolePolicy })
  }
  // The role is only visible through its policy; once anything project-level is left, try it (NoSuchEntity is fine).
  if (out.length > 0 || current.zone) {
    const role = current.rolePolicy?.roleName ?? roleName(current.scope)
    out.push({ kind: 'iam-role', name: role, current: { name: role } })
  }
  if (current.zone) out.push({ kind: 'hosted-zone', name: current.zone.name, current: current.zone })
  return out
}

/**
 * Destroy: every resource of the stack; then the project-level DNS stack, only
 * when no other stack of the project remains. "Remains" means: another stack
 * still has an Auto Scaling group tagged with this project. When the current
 * state was read without looking (otherStacks undefined), the project-level
 * deletes are marked onlyIfLastStack and apply checks right before them.
 */
export function destroyPlan(current: CurrentState, scope: StackScope): Plan {
  const changes = removals(current, { names: new Set(), services: new Set(), reason: `destroying stack ${scope.stack}` })
  const others = current.otherStacks
  for (const change of projectDeletes(current)) {
    if (others && others.length > 0) {
      changes.push(decide(change, 'noop', `kept: used by stack(s) ${others.join(', ')}`))
    } else if (others) {
      changes.push(decide(change, 'delete', 'no other stack of the project remains'))
    } else {
      changes.push(decide(change, 'delete', 'if no other stack of the project remains', { onlyIfLastStack: true }))
    }
  }
  return { changes, scope }
}

export type PlanSummary = Record<ChangeAction, number>

export function summarizePlan(plan: Plan): PlanSummary {
  const summary: PlanSummary = { create: 0, update: 0, replace: 0, delete: 0, noop: 0 }
  for (const change of plan.changes) summary[change.action] += 1
  return summary
}

/** Changes that write (everything but noop). */
export function countWrites(plan: Plan): number {
  return plan.changes.filter((c) => c.action !== 'noop').length
}
