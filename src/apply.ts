/**
 * Apply: carries out a plan by walking the graph the registry declares
 * (resources/index.ts). Every change is a step that waits for the steps of the
 * kinds it depends on (the same service's, for per-service kinds), so
 * independent branches run concurrently (bounded per AWS service) and the
 * depth does not grow with the number of services. Removals walk the removal
 * order: each kind after the kinds in its removeAfter. For the last stack of a
 * project that means: the rule and its targets first (no DNS-updater run races
 * the teardown), then the stack's groups, instances, templates, security groups
 * and records, then the function, log group, role and, last, the zone.
 */
import { ApplyError, Engine } from './aws/engine.js'
import type { ApplyContext } from './aws/engine.js'
import { InstanceWatcher } from './aws/instances.js'
import type { StackScope } from './names.js'
import { readOtherStacks } from './resources/auto-scaling-group.js'
import { KINDS, KIND_ORDER, REMOVAL_ORDER, ops } from './resources/index.js'
import {
  accountOf,
  isUpsert,
  partitionOf,
  label,
  type ApplyStepContext,
  type KindOutput,
  type RemovalOf,
  type RemoveStepContext,
  type UpsertOf
} from './resources/kind.js'
import type { ApplyResult, Change, DesiredState, Plan, ResourceKind } from './state.js'

export type { ApplyContext } from './aws/engine.js'
export { ApplyError } from './aws/engine.js'

interface Step {
  change: Change
  promise: Promise<unknown>
}

/** Steps of `kind` a change of `service` waits for: all of a project or stack kind's, only its own service's otherwise. */
function stepsOf(steps: Step[], kind: ResourceKind, service: string | undefined): Step[] {
  return steps.filter(
    (s) => s.change.kind === kind && (KINDS[kind].level !== 'service' || s.change.service === service)
  )
}

function applyOne<K extends ResourceKind>(change: UpsertOf<K>, ctx: ApplyStepContext): Promise<KindOutput<K>> {
  return ops(change.kind as K).apply(change, ctx)
}

/** Creates and updates (noops hand their ids to their dependants), in dependency order. */
function applyUpserts(e: Engine, plan: Plan, desired: DesiredState): Step[] {
  const fn = plan.changes.find((c) => c.kind === 'lambda-function')?.current
  const rule = plan.changes.find((c) => c.kind === 'event-rule')?.current
  const log = plan.changes.find((c) => c.kind === 'log-group')?.current
  const arn = fn?.arn ?? rule?.arn ?? log?.arn
  const refs = { region: desired.scope.region, accountId: accountOf(arn), partition: partitionOf(arn) }
  const steps: Step[] = []
  for (const kind of KIND_ORDER) {
    for (const change of plan.changes) {
      if (change.kind !== kind || !isUpsert(change)) continue
      const deps = ops(kind).dependsOn.flatMap((d) => stepsOf(steps, d, change.service).map((s) => s.promise))
      const need = <D extends ResourceKind>(d: D): Promise<KindOutput<D>> => {
        const dep = stepsOf(steps, d, change.service)[0]
        return dep
          ? (dep.promise as Promise<KindOutput<D>>)
          : Promise.reject(new Error(`${change.name} needs a ${KINDS[d].noun}, and the plan has none`))
      }
      const needAll = <D extends ResourceKind>(d: D): Promise<Array<KindOutput<D>>> =>
        Promise.all(stepsOf(steps, d, change.service).map((s) => s.promise as Promise<KindOutput<D>>))
      const service = desired.services.find((s) => s.name === change.service)
      const ctx: ApplyStepContext = { e, desired, plan, refs, service, need, needAll }
      steps.push({ change, promise: e.step(label(change, ops(kind).noun), deps, () => applyOne(change, ctx)) })
    }
  }
  return steps
}

/** Whether no other stack of the project remains (asked only when the plan did not know). */
async function lastStack(e: Engine, scope: StackScope): Promise<boolean> {
  const others = await readOtherStacks(e, scope)
  if (others.length > 0) e.log(`keeping the project DNS stack: stack(s) ${others.join(', ')} still use it`)
  return others.length === 0
}

/** The removals of one kind that go in one step: all at once, per service, or one by one. */
function batches(kind: ResourceKind, deletes: Change[]): Change[][] {
  const mine = deletes.filter((c) => c.kind === kind)
  if (mine.length === 0) return []
  if (KINDS[kind].removeTogether) return [mine]
  if (KINDS[kind].level !== 'service') return mine.map((c) => [c])
  const services = [...new Set(mine.map((c) => c.service ?? ''))].sort()
  return services.map((s) => mine.filter((c) => (c.service ?? '') === s))
}

function removeSome<K extends ResourceKind>(kind: K, changes: Change[], ctx: RemoveStepContext): Promise<void> {
  return ops(kind).remove(changes as Array<RemovalOf<K>>, ctx)
}

/** Deletes in removal order; `kept`: the services the stack keeps (deploy), whose records stay whatever else of theirs goes. */
function applyRemovals(
  e: Engine,
  plan: Plan,
  args: { scope: StackScope; zoneId: () => Promise<string | undefined>; kept: Set<string> }
): Step[] {
  const deletes = plan.changes.filter((c) => c.action === 'delete')
  if (deletes.length === 0) return []
  const ifLast = deletes.some((c) => c.onlyIfLastStack)
  const last = ifLast
    ? e
        .step(`checking for other stacks of ${args.scope.project}`, [], () => lastStack(e, args.scope))
        .catch(() => false)
    : Promise.resolve(true)
  const ctx: RemoveStepContext = {
    e,
    plan,
    scope: args.scope,
    watcher: new InstanceWatcher(e, args.scope),
    zoneId: args.zoneId,
    kept: args.kept
  }
  const steps: Step[] = []
  for (const kind of REMOVAL_ORDER) {
    const op = KINDS[kind]
    for (const batch of batches(kind, deletes)) {
      const first = batch[0] as Change
      const related = (d: ResourceKind): Array<Promise<unknown>> =>
        steps
          .filter(
            (s) =>
              s.change.kind === d &&
              (op.level !== 'service' ||
                op.removeTogether ||
                KINDS[d].level !== 'service' ||
                KINDS[d].removeTogether ||
                s.change.service === first.service)
          )
          .map((s) => s.promise)
      const what = `deleting ${op.noun} ${batch.map((c) => c.name).join(', ')}`
      const promise = e.step(
        what,
        op.removeAfter.flatMap(related),
        async () => {
          if (batch.some((c) => c.onlyIfLastStack) && !(await last)) return
          await removeSome(kind, batch, ctx)
        },
        (op.removeAfterSettled ?? []).flatMap(related)
      )
      steps.push({ change: first, promise })
    }
  }
  return steps
}

/** Applies the plan; throws ApplyError (with the partial result) when any step failed, after the others finished. */
export async function applyPlan(plan: Plan, ctx: ApplyContext): Promise<ApplyResult> {
  const e = new Engine(ctx)
  const desired = ctx.desired
  const scope = plan.scope ?? desired?.scope
  const writes = plan.changes.some((c) => c.action !== 'delete' && c.action !== 'noop')
  const upserts = desired && writes ? applyUpserts(e, plan, desired) : []
  const zoneStep = upserts.find((s) => s.change.kind === 'hosted-zone')
  const zoneId = (): Promise<string | undefined> => {
    const zone = plan.changes.find((c) => c.kind === 'hosted-zone')?.current
    if (zone) return Promise.resolve(zone.id)
    return zoneStep
      ? (zoneStep.promise as Promise<string | undefined>).catch(() => undefined)
      : Promise.resolve(undefined)
  }
  const kept = new Set(desired?.services.map((s) => s.name) ?? [])
  const removals = scope ? applyRemovals(e, plan, { scope, zoneId, kept }) : []
  await Promise.allSettled([...upserts, ...removals].map((s) => s.promise))
  if (e.errors.length > 0) throw new ApplyError(e.errors, e.result())
  return e.result()
}
