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
 *   destroy: when it is the last stack of the project, the rule and its targets
 *   first (no DNS-updater run races the teardown), then the stack, then the
 *   function, log group, role and, last, the zone
 */
import { accountId, createRole, createZone, ensureFunction, ensurePermission, ensureLogGroup, putRolePolicy, putRule, putTarget } from './aws/project-ops.js'
import type { ProjectRefs } from './aws/project-ops.js'
import { ensureAsg, ensureLaunchTemplate, ensureSecurityGroup, startRefresh } from './aws/service-ops.js'
import type { TemplateRef } from './aws/service-ops.js'
import { healRecord } from './aws/record-ops.js'
import { Engine, ApplyError } from './aws/engine.js'
import type { ApplyContext } from './aws/engine.js'
import { accountOf, readOtherStacks } from './current.js'
import { recordName, stackDomain } from './names.js'
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

interface ProjectCtx {
  e: Engine
  changes: Change[]
  desired: DesiredState
  refs: ProjectRefs
}

const wanted = <K extends ResourceKind>(p: ProjectCtx, kind: K): ChangeOf<K> | undefined => find(p.changes, kind, (c) => c.action !== 'delete')

function roleStep(p: ProjectCtx): Promise<string> {
  const { e, refs } = p
  const roleC = wanted(p, 'iam-role')
  return e.step(label(roleC, 'role'), [], async () => {
    if (roleC?.action === 'create') {
      const arn = await createRole(e, roleC)
      refs.accountId ??= accountOf(arn)
      e.done({ kind: 'iam-role', action: 'create', name: roleC.name, id: arn })
      return arn
    }
    return `arn:${refs.partition}:iam::${await accountId(e, refs)}:role/${p.desired.project.role.name}`
  })
}

function logGroupStep(p: ProjectCtx): Promise<void> {
  const logC = wanted(p, 'log-group')
  return p.e.step(label(logC, 'log group'), [], async () => {
    if (!logC || !writes(logC)) return
    await ensureLogGroup(p.e, logC)
    p.e.done({ kind: 'log-group', action: logC.action, name: logC.name })
  })
}

function ruleStep(p: ProjectCtx): Promise<string> {
  const ruleC = wanted(p, 'event-rule')
  return p.e.step(label(ruleC, 'rule'), [], async () => {
    if (!ruleC || !writes(ruleC)) return ruleC?.current?.arn ?? ''
    const arn = await putRule(p.e, ruleC)
    p.e.done({ kind: 'event-rule', action: ruleC.action, name: ruleC.name, id: arn })
    return arn
  })
}

function policyStep(p: ProjectCtx, deps: { zone: Promise<string | undefined>; role: Promise<string> }): Promise<void> {
  const policyC = wanted(p, 'role-policy')
  return p.e.step(label(policyC, 'role policy'), [deps.zone, deps.role], async () => {
    if (!policyC || !writes(policyC)) return
    const account = await accountId(p.e, p.refs, await deps.role)
    await putRolePolicy(p.e, policyC, { ...p.refs, zoneId: (await deps.zone) ?? '', accountId: account })
    p.e.done({ kind: 'role-policy', action: policyC.action, name: policyC.name })
  })
}

function functionStep(p: ProjectCtx, deps: { zone: Promise<string | undefined>; role: Promise<string>; log: Promise<void> }): Promise<string> {
  const fnC = wanted(p, 'lambda-function')
  return p.e.step(label(fnC, 'function'), [deps.zone, deps.role, deps.log], async () => {
    if (!fnC || !writes(fnC)) return fnC?.current?.arn ?? ''
    const arn = await ensureFunction(p.e, fnC, { roleArn: await deps.role, zoneId: (await deps.zone) ?? '' })
    p.e.done({ kind: 'lambda-function', action: fnC.action, name: fnC.name, id: arn })
    return arn
  })
}

function wiringSteps(p: ProjectCtx, deps: { rule: Promise<string>; fn: Promise<string> }): Array<Promise<void>> {
  const targetC = wanted(p, 'event-target')
  const permC = wanted(p, 'lambda-permission')
  const target = p.e.step(label(targetC, 'rule target'), [deps.rule, deps.fn], async () => {
    if (!targetC || !writes(targetC)) return
    await putTarget(p.e, targetC, await deps.fn)
    p.e.done({ kind: 'event-target', action: targetC.action, name: targetC.name })
  })
  const permission = p.e.step(label(permC, 'invoke permission'), [deps.rule, deps.fn], async () => {
    if (!permC || !writes(permC)) return
    await ensurePermission(p.e, permC, await deps.rule)
    p.e.done({ kind: 'lambda-permission', action: permC.action, name: permC.name })
  })
  return [target, permission]
}

/** zone, role, log group, rule at once; then policy and function; then target and permission. */
function applyProject(e: Engine, changes: Change[], desired: DesiredState): Promise<ProjectOut> {
  const refs: ProjectRefs = { partition: desired.partition, region: desired.scope.region }
  const p: ProjectCtx = { e, changes, desired, refs }
  refs.accountId = accountOf(wanted(p, 'lambda-function')?.current?.arn) ?? accountOf(wanted(p, 'event-rule')?.current?.arn) ?? accountOf(wanted(p, 'log-group')?.current?.arn)
  const zone = zoneStep(e, changes)
  const role = roleStep(p)
  const log = logGroupStep(p)
  const rule = ruleStep(p)
  const policy = policyStep(p, { zone, role })
  const fn = functionStep(p, { zone, role, log })
  return e.step('the project DNS stack', [policy, ...wiringSteps(p, { rule, fn })], async () => ({ zoneId: await zone }))
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

/** Records that drifted from the running instances, rewritten once the project stack (zone, DNS updater wiring) is in place. */
function applyRecords(e: Engine, desired: DesiredState, changes: Change[], project: Promise<ProjectOut>): Array<Promise<unknown>> {
  const heals = changes.filter((c): c is ChangeOf<'dns-record'> => c.kind === 'dns-record' && (c.action === 'create' || c.action === 'update'))
  return heals.map((c) =>
    e.step(label(c, 'record'), [project], async () => {
      const zoneId = await zoneIdOf(changes, project)
      if (!zoneId) throw new Error('the hosted zone is not known')
      const target = { zoneId, scope: desired.scope, service: c.service ?? '', name: c.name, ttl: c.ttl ?? 60 }
      if (await healRecord(e, target)) e.done({ kind: 'dns-record', action: c.action, name: c.name, service: c.service })
    })
  )
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

/** `kept`: the services the stack keeps (deploy), whose records stay whatever else of theirs goes. */
function applyRemovals(e: Engine, plan: Plan, args: { zoneId: Promise<string | undefined>; kept?: Set<string> }): Array<Promise<unknown>> {
  const scope = plan.scope
  const deletes = plan.changes.filter((c) => c.action === 'delete' && c.service !== undefined)
  if (!scope || deletes.length === 0) return []
  const watcher = new InstanceWatcher(e, scope)
  const services = [...new Set(deletes.map((c) => c.service as string))].sort()
  const removed = services.map((service) => e.step(`removing service ${service}`, [], () => removeService(e, { service, changes: plan.changes, watcher })))
  // the records the plan deletes, and the version record (TXT) of every service that goes, A record or not
  const going = services.filter((s) => !args.kept?.has(s)).map((s) => recordName(scope, s))
  const names = new Set([...deletes.filter((c) => c.kind === 'dns-record').map((c) => c.name), ...going])
  if (names.size === 0) return removed
  const records = e.step(`deleting records of ${[...names].join(', ')}`, removed, async () => {
    const id = await args.zoneId
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

const projectDeletes = (changes: Change[]): Change[] => changes.filter((c) => c.action === 'delete' && c.service === undefined)

function mark(e: Engine, c: Change | undefined): void {
  if (c) e.done({ kind: c.kind, action: 'delete', name: c.name })
}

/**
 * Destroy of the last stack, first step: remove the rule's targets and the rule,
 * so no DNS-updater invocation races the teardown (apply deletes the records itself).
 */
function unwire(e: Engine, del: Change[]): Promise<void> {
  const rule = find(del, 'event-rule')
  return e.step('deleting the rule and its targets', [], async () => {
    if (!rule?.current) return
    const targets = del.filter((c): c is ChangeOf<'event-target'> => c.kind === 'event-target')
    await removeTargetsAndRule(e, rule.current.name, targets.map((c) => c.current?.id ?? '').filter(Boolean))
    for (const t of targets) mark(e, t)
    mark(e, rule)
  })
}

/** After the stack is gone: the function and its log group, the role, and last the zone. */
async function teardownProject(e: Engine, del: Change[], unwired: Promise<void>): Promise<void> {
  const fn = find(del, 'lambda-function')
  const perm = find(del, 'lambda-permission')
  const role = find(del, 'iam-role')
  const policy = find(del, 'role-policy')
  const log = find(del, 'log-group')
  const zone = find(del, 'hosted-zone')
  const lambdaSide = e.step('deleting the function and its log group', [unwired], async () => {
    if (perm?.current && !fn && perm.name.includes('/')) await removePermission(e, perm.name.split('/')[0] ?? '', perm.current.statementId)
    if (fn?.current) await deleteFunction(e, fn.current.name)
    mark(e, perm)
    mark(e, fn)
    if (log?.current) await deleteLogGroup(e, log.current.name)
    mark(e, log)
  })
  const iamSide = e.step('deleting the role', [lambdaSide], async () => {
    if (!role?.current) return
    await deleteRole(e, role.current.name, policy?.current?.policyName)
    mark(e, policy)
    mark(e, role)
  })
  await e.step('deleting the hosted zone', [unwired, lambdaSide, iamSide], async () => {
    if (!zone?.current) return
    await deleteZone(e, zone.current.id, zone.current.name)
    mark(e, zone)
  })
}

/**
 * Destroy: when the plan deletes project-level resources and no other stack of
 * the project remains (checked first, unless the plan already knew), unwire the
 * events, tear the stack down, then the rest of the project DNS stack.
 */
async function applyDestroy(e: Engine, plan: Plan, scope: StackScope): Promise<void> {
  const del = projectDeletes(plan.changes)
  const last = del.length > 0 && (await e.step(`checking for other stacks of ${scope.project}`, [], () => lastStack(e, del, scope)).catch(() => false))
  const unwired = last ? unwire(e, del) : Promise.resolve()
  await unwired.catch(() => undefined) // a failure is in e.errors; the teardown goes on, the DNS updater just races it
  const removals = applyRemovals(e, plan, { zoneId: zoneIdOf(plan.changes) })
  const settled = await Promise.allSettled([unwired, ...removals])
  if (last && settled.every((s) => s.status === 'fulfilled')) await teardownProject(e, del, unwired).catch(() => undefined) // failures are in e.errors
}

// ------------------------------------------------------------------ entry

/** Applies the plan; throws ApplyError (with the partial result) when any step failed, after the others finished. */
export async function applyPlan(plan: Plan, ctx: ApplyContext): Promise<ApplyResult> {
  const e = new Engine(ctx)
  const desired = ctx.desired
  const scope = plan.scope ?? desired?.scope
  if (!desired && scope) {
    await applyDestroy(e, plan, scope)
  } else {
    const deploying = desired !== undefined && plan.changes.some((c) => c.action !== 'delete' && c.action !== 'noop')
    const project = desired && deploying ? applyProject(e, plan.changes, desired) : undefined
    const services = desired && project ? desired.services.flatMap((s) => applyService(e, s, plan.changes, project)) : []
    const records = desired && project ? applyRecords(e, desired, plan.changes, project) : []
    const kept = new Set(desired?.services.map((s) => s.name) ?? [])
    const removals = applyRemovals(e, plan, { zoneId: zoneIdOf(plan.changes, project), kept })
    await Promise.allSettled([...(project ? [project] : []), ...services, ...records, ...removals])
  }
  if (e.errors.length > 0) throw new ApplyError(e.errors, e.result())
  return e.result()
}
