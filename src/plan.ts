/**
 * The plan: what to create, update, replace or delete to turn the current
 * state into the desired one, with a reason per change. Pure: no SDK. It walks
 * the registry: every kind in dependency order (project kinds once, service
 * kinds per service), then the removals in removal order.
 */
import { KINDS, KIND_ORDER, REMOVAL_ORDER } from './resources/index.js'
import type { RemovalContext } from './resources/kind.js'
import type { VolumesOnDestroy } from './resources/volume.js'
import type { StackScope } from './names.js'
import type { Change, ChangeAction, CurrentState, DesiredState, Plan } from './state.js'

function removals(args: Omit<RemovalContext, 'planned'>): Change[] {
  const planned: Change[] = []
  for (const kind of REMOVAL_ORDER) planned.push(...KINDS[kind].removals({ ...args, planned }))
  return planned
}

export function desiredNames(desired: DesiredState): Set<string> {
  return new Set([
    // the stack's certificate, while it has a public service
    ...(desired.public ? [desired.public.stackCertificate.domainName] : []),
    ...desired.services.flatMap((s) => [
      s.instanceRole.name,
      s.instanceProfile.name,
      s.config.name,
      s.securityGroup.name,
      s.launchTemplate.name,
      ...s.asgs.map((a) => a.name),
      // a public service's target groups, and its hosts (its rules' and alias records' names)
      ...s.endpoints.flatMap((e) => [e.targetGroup.name, e.host])
    ])
  ])
}

/** Deploy and plan: every desired resource (noops included) and deletes of what the compose file no longer has. */
export function diff(desired: DesiredState, current: CurrentState): Plan {
  const changes: Change[] = []
  const kinds = KIND_ORDER.map((kind) => KINDS[kind])
  for (const kind of kinds)
    if (kind.level !== 'service') changes.push(...kind.diff({ desired, current, planned: changes }))
  for (const service of desired.services) {
    for (const kind of kinds)
      if (kind.level === 'service') changes.push(...kind.diff({ desired, current, planned: changes }, service))
  }
  const keep = { names: desiredNames(desired), services: new Set(desired.services.map((s) => s.name)) }
  changes.push(...removals({ current, keep, reason: 'not in compose file', orphansAreDrift: true, destroy: false }))
  return { changes, scope: desired.scope }
}

/**
 * Destroy: every resource of the stack; then the project-level DNS stack, only
 * when no other stack of the project remains. "Remains" means: another stack
 * still has an Auto Scaling group tagged with this project. When the current
 * state was read without looking (otherStacks undefined), the project-level
 * deletes are marked onlyIfLastStack and apply checks right before them.
 */
export function destroyPlan(
  current: CurrentState,
  scope: StackScope,
  options: { volumesOnDestroy?: VolumesOnDestroy } = {}
): Plan {
  const all = removals({
    current,
    keep: { names: new Set(), services: new Set() },
    reason: `destroying stack ${scope.stack}`,
    destroy: true,
    ...(options.volumesOnDestroy ? { volumesOnDestroy: options.volumesOnDestroy } : {})
  })
  const others = current.otherStacks
  const changes = all.map((change): Change => {
    if (KINDS[change.kind].level !== 'project') return change
    if (others && others.length > 0)
      return { ...change, action: 'noop', reason: `kept: used by stack(s) ${others.join(', ')}` } as Change
    if (others) return { ...change, reason: 'no other stack of the project remains' }
    return { ...change, reason: 'if no other stack of the project remains', onlyIfLastStack: true }
  })
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
