/**
 * Apply: carries out a plan in dependency order, independent branches
 * concurrently (bounded per AWS service), every service independent of the
 * others so the depth does not grow with their number:
 *   zone, role, log group, rule              (no dependencies)
 *   role policy (zone, role), function (zone, role, log group)
 *   target and permission (rule, function)
 *   per service: security group -> launch template -> both ASGs (after the
 *   project stack, so no instance starts before its events are delivered)
 *   -> instance refresh
 *   removed services: ASGs -> instances gone -> template, group; then records
 *   destroy: the stack first, then the project-level stack if it was the last
 */
import { accountId, createRole, createZone, ensureFunction, ensurePermission, ensureLogGroup, putRolePolicy, putRule, putTarget } from './aws/project-ops.js'
import type { ProjectRefs } from './aws/project-ops.js'
import { ensureAsg, ensureLaunchTemplate, ensureSecurityGroup, startRefresh } from './aws/service-ops.js'
import type { TemplateRef } from './aws/service-ops.js'
import { Engine, ApplyError } from './aws/engine.js'
import type { ApplyContext } from './aws/engine.js'
import { accountOf, readOtherStacks } from './current.js'
import { stackDomain } from './names.js'
import type { StackScope } from './names.js'
import type { ApplyResult, Change, ChangeOf, DesiredService, DesiredState, Plan, ResourceKind } from './state.js'
import {
  InstanceWatcher,
  deleteAsg,
  deleteFunction,
  deleteLaunchTemplate,
  deleteLogGroup,
  deleteRecords,
  deleteRole,
  deleteSecurityGroup,
  deleteZone,
  removePermission,
  removeTargetsAndRule
} from './aws/teardown.js'

export type { ApplyContext } from './aws/engine.js'
export { ApplyError } from './aws/engine.js'

function find<K extends ResourceKind>(changes: Change[], kind: K, pick: (c: ChangeOf<K>) => boolean = () => true): ChangeOf<K> | undefined {
  return changes.find((c): c is ChangeOf<K> => c.kind === kind && pick(c as ChangeOf<K>))
}

const writes = (c: Change | undefined): boolean => c !== undefined && c.action !== 'noop'

const VERBS: Record<Change['action'], string> = { create: 'creating', update: 'updating', replace: 'replacing', delete: 'deleting', noop: 'checking' }

/** "creating launch template hyperform-...": the context errors are wrapped with. */
function label(change: Change | undefined, what: string): string {
  return `${VERBS[change?.action ?? 'noop']} ${what} ${change?.name ?? ''}`.trim()
}

// ------------------------------------------------------------------ project (deploy)

interface ProjectOut {
  zoneId?: string
}

function zoneStep(e: Engine, changes: Change[]): Promise<string | undefined> {
  const zone = find(changes, 'hosted-zone', (c) => c.action !== 'delete')
  return e.step(label(zone, 'hosted zone'), [], async () => {
    if (!zone) return undefined
    if (zone.action !== 'create' || !zone.desired) return zone.current?.id
    const id = await createZone(e, zone.desired)
    e.done({ kind: 'hosted-zone', action: 'create', name: zone.name, id })
    return id
  })
}

function applyProject(e: Engine, changes: Change[], desired: DesiredState): Promise<ProjectOut> {
  const refs: ProjectRefs = { partition: desired.partition, region: desired.scope.region }
  const fnC = find(changes, 'lambda-function', (c) => c.action !== 'delete')
  const ruleC = find(changes, 'event-rule', (c) => c.action !== 'delete')
  const logC = find(changes, 'log-group', (c) => c.action !== 'delete')
  refs.accountId = accountOf(fnC?.current?.arn) ?? accountOf(ruleC?.current?.arn) ?? accountOf(logC?.current?.arn)
  const zone = zoneStep(e, changes)
  const roleC = find(changes, 'iam-role', (c) => c.action !== 'delete')
  const role = e.step(label(roleC, 'role'), [], async () => {
    if (roleC?.action === 'create') {
      const arn = await createRole(e, roleC)
      refs.accountId ??= accountOf(arn)
      e.done({ kind: 'iam-role', action: 'create', name: roleC.name, id: arn })
      return arn
    }
    return `arn:${refs.partition}:iam::${await accountId(e, refs)}:role/${desired.project.role.name}`
  })
  const log = e.step(label(logC, 'log group'), [], async () => {
    if (!logC || !writes(logC)) return
    await ensureLogGroup(e, logC)
    e.done({ kind: 'log-group', action: logC.action, name: logC.name })
  })
  const rule = e.step(label(ruleC, 'rule'), [], async () => {
    if (!ruleC || !writes(ruleC)) return ruleC?.current?.arn ?? ''
    const arn = await putRule(e, ruleC)
    e.done({ kind: 'event-rule', action: ruleC.action, name: ruleC.name, id: arn })
    return arn
  })
  const policyC = find(changes, 'role-policy', (c) => c.action !== 'delete')
  const policy = e.step(label(policyC, 'role policy'), [zone, role], async () => {
    if (!policyC || !writes(policyC)) return
    const arn = await role
    await putRolePolicy(e, policyC, { ...refs, zoneId: (await zone) ?? '', accountId: await accountId(e, refs, arn) })
    e.done({ kind: 'role-policy', action: policyC.action, name: policyC.name })
  })
  const fn = e.step(label(fnC, 'function'), [zone, role, log], async () => {
    if (!fnC || !writes(fnC)) return fnC?.current?.arn ?? ''
    const arn = await ensureFunction(e, fnC, { roleArn: await role, zoneId: (await zone) ?? '' })
    e.done({ kind: 'lambda-function', action: fnC.action, name: fnC.name, id: arn })
    return arn
  })
  const targetC = find(changes, 'event-target', (c) => c.action !== 'delete')
  const target = e.step(label(targetC, 'rule target'), [rule, fn], async () => {
    if (!targetC || !writes(targetC)) return
    await putTarget(e, targetC, await fn)
    e.done({ kind: 'event-target', action: targetC.action, name: targetC.name })
  })
  const permC = find(changes, 'lambda-permission', (c) => c.action !== 'delete')
  const permission = e.step(label(permC, 'invoke permission'), [rule, fn], async () => {
    if (!permC || !writes(permC)) return
    await ensurePermission(e, permC, await rule)
    e.done({ kind: 'lambda-permission', action: permC.action, name: permC.name })
  })
  return e.step('the project DNS stack', [policy, target, permission], async () => ({ zoneId: await zone }))
}

// ------------------------------------------------------------------ services (deploy)

function applyService(e: Engine, service: DesiredService, changes: Change[], project: Promise<unknown>): Array<Promise<unknown>> {
  const mine = changes.filter((c) => c.service === service.name && c.action !== 'delete')
  const sgC = find(mine, 'security-group')
  const ltC = find(mine, 'launch-template')
  if (!sgC || !ltC) return []
  const sg = e.step(label(sgC, 'security group'), [], async () => {
    const id = await ensureSecurityGroup(e, sgC)
    if (writes(sgC)) e.done({ kind: 'security-group', action: sgC.action, name: sgC.name, service: service.name, id })
    return id
  })
  const lt = e.step(label(ltC, 'launch template'), [sg], async (): Promise<TemplateRef> => {
    const ref = await ensureLaunchTemplate(e, ltC, { service, securityGroupId: await sg })
    if (writes(ltC)) e.done({ kind: 'launch-template', action: ltC.action, name: ltC.name, service: service.name, id: `${ref.id} v${ref.version}` })
    return ref
  })
  const steps: Array<Promise<unknown>> = [sg, lt]
  for (const asgC of mine.filter((c): c is ChangeOf<'auto-scaling-group'> => c.kind === 'auto-scaling-group')) {
    const asg = e.step(label(asgC, 'Auto Scaling group'), [lt, project], async () => {
      if (!writes(asgC)) return
      await ensureAsg(e, asgC, await lt)
      e.done({ kind: 'auto-scaling-group', action: asgC.action, name: asgC.name, service: service.name })
    })
    steps.push(asg)
    const refresh = find(mine, 'instance-refresh', (c) => c.name === asgC.name)
    if (refresh) {
      steps.push(
        e.step(`starting an instance refresh of ${asgC.name}`, [asg], async () => {
          const id = await startRefresh(e, asgC.name)
          e.done({ kind: 'instance-refresh', action: 'create', name: asgC.name, service: service.name, id })
        })
      )
    }
  }
  return steps
}

// ------------------------------------------------------------------ removals (deploy and destroy)

function zoneIdOf(changes: Change[], project?: Promise<ProjectOut>): Promise<string | undefined> {
  const zone = find(changes, 'hosted-zone')
  if (zone?.current?.id) return Promise.resolve(zone.current.id)
  return project ? project.then((p) => p.zoneId, () => undefined) : Promise.resolve(undefined)
}

function removeService(e: Engine, args: { service: string; changes: Change[]; watcher: InstanceWatcher }): Promise<unknown> {
  const { service, changes } = args
  const del = (c: Change): boolean => c.action === 'delete' && c.service === service
  const asgs = changes.filter((c): c is ChangeOf<'auto-scaling-group'> => c.kind === 'auto-scaling-group' && del(c))
  const asgSteps = asgs.map((c) =>
    e.step(`deleting Auto Scaling group ${c.name}`, [], async () => {
      if (c.current?.status) return // already being deleted (an earlier run): only wait for its instances
      if (await deleteAsg(e, c.name)) e.done({ kind: 'auto-scaling-group', action: 'delete', name: c.name, service })
    })
  )
  const gone = e.step(`waiting for the instances of ${service} to terminate`, asgSteps, () =>
    asgs.length > 0 ? args.watcher.waitGone(service) : Promise.resolve()
  )
  const rest = changes.filter((c) => del(c) && (c.kind === 'launch-template' || c.kind === 'security-group'))
  const steps = rest.map((c) =>
    e.step(`deleting ${c.kind} ${c.name}`, [gone], async () => {
      const id = c.kind === 'launch-template' ? c.current?.id : c.kind === 'security-group' ? c.current?.id : undefined
      if (!id) return
      const deleted = c.kind === 'launch-template' ? await deleteLaunchTemplate(e, id) : await deleteSecurityGroup(e, id)
      if (deleted) e.done({ kind: c.kind, action: 'delete', name: c.name, service, id })
    })
  )
  return Promise.all([gone, ...steps])
}

function applyRemovals(e: Engine, plan: Plan, zoneId: Promise<string | undefined>): Array<Promise<unknown>> {
  const scope = plan.scope
  const deletes = plan.changes.filter((c) => c.action === 'delete' && c.service !== undefined)
  if (!scope || deletes.length === 0) return []
  const watcher = new InstanceWatcher(e, scope)
  const services = [...new Set(deletes.map((c) => c.service as string))].sort()
  const removed = services.map((service) => e.step(`removing service ${service}`, [], () => removeService(e, { service, changes: plan.changes, watcher })))
  const names = new Set(deletes.filter((c) => c.kind === 'dns-record').map((c) => c.name))
  if (names.size === 0) return removed
  const records = e.step(`deleting records of ${[...names].join(', ')}`, removed, async () => {
    const id = await zoneId
    if (!id) return
    for (const name of await deleteRecords(e, { zoneId: id, domain: stackDomain(scope), names })) {
      e.done({ kind: 'dns-record', action: 'delete', name })
    }
  })
  return [...removed, records]
}

// ------------------------------------------------------------------ project (destroy)

async function lastStack(e: Engine, changes: Change[], scope: StackScope): Promise<boolean> {
  if (!changes.some((c) => c.onlyIfLastStack)) return true
  e.reads += 1
  const others = await readOtherStacks(e.clients, scope)
  if (others.length > 0) e.log(`keeping the project DNS stack: stack(s) ${others.join(', ')} still use it`)
  return others.length === 0
}

async function destroyProject(e: Engine, changes: Change[], scope: StackScope): Promise<void> {
  const del = changes.filter((c) => c.action === 'delete' && c.service === undefined)
  if (del.length === 0) return
  const last = await e.step(`checking for other stacks of ${scope.project}`, [], () => lastStack(e, del, scope)).catch(() => false)
  if (!last) return
  const fn = find(del, 'lambda-function')
  const rule = find(del, 'event-rule')
  const perm = find(del, 'lambda-permission')
  const role = find(del, 'iam-role')
  const policy = find(del, 'role-policy')
  const log = find(del, 'log-group')
  const zone = find(del, 'hosted-zone')
  const mark = (c: Change | undefined): void => {
    if (c) e.done({ kind: c.kind, action: 'delete', name: c.name })
  }
  const eventsSide = e.step('deleting the rule and its targets', [], async () => {
    if (!rule?.current) return
    const targets = del.filter((c): c is ChangeOf<'event-target'> => c.kind === 'event-target').map((c) => c.current?.id ?? '')
    await removeTargetsAndRule(e, rule.current.name, targets.filter(Boolean))
    for (const t of del.filter((c) => c.kind === 'event-target')) mark(t)
    mark(rule)
  })
  const lambdaSide = e.step('deleting the function and its log group', [], async () => {
    if (perm?.current && !fn && perm.name.includes('/')) await removePermission(e, perm.name.split('/')[0] ?? '', perm.current.statementId)
    if (fn?.current) await deleteFunction(e, fn.current.name)
    mark(perm)
    mark(fn)
    if (log?.current) await deleteLogGroup(e, log.current.name)
    mark(log)
  })
  const iamSide = e.step('deleting the role', [], async () => {
    if (!role?.current) return
    await deleteRole(e, role.current.name, policy?.current?.policyName)
    mark(policy)
    mark(role)
  })
  await e.step('deleting the hosted zone', [eventsSide, lambdaSide, iamSide], async () => {
    if (!zone?.current) return
    await deleteZone(e, zone.current.id, zone.current.name)
    mark(zone)
  })
}

// ------------------------------------------------------------------ entry

/** Applies the plan; throws ApplyError (with the partial result) when any step failed, after the others finished. */
export async function applyPlan(plan: Plan, ctx: ApplyContext): Promise<ApplyResult> {
  const e = new Engine(ctx)
  const desired = ctx.desired
  const deploying = desired !== undefined && plan.changes.some((c) => c.action !== 'delete' && c.action !== 'noop')
  const project = desired && deploying ? applyProject(e, plan.changes, desired) : undefined
  const services = desired && project ? desired.services.flatMap((s) => applyService(e, s, plan.changes, project)) : []
  const removals = applyRemovals(e, plan, zoneIdOf(plan.changes, project))
  const settled = await Promise.allSettled([...(project ? [project] : []), ...services, ...removals])
  const scope = plan.scope ?? desired?.scope
  if (!desired && scope && settled.every((s) => s.status === 'fulfilled')) {
    await destroyProject(e, plan.changes, scope).catch(() => undefined) // failures are in e.errors
  }
  if (e.errors.length > 0) throw new ApplyError(e.errors, e.result())
  return e.result()
}

