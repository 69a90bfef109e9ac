/**
 * A service's two Auto Scaling groups: on-demand (the launch template as is)
 * and spot (a MixedInstancesPolicy with no on-demand share). Their tags carry a
 * hash of what the compose file sets, so a change made by hand is told from one
 * the compose file asks for.
 */
import {
  AttachLoadBalancerTargetGroupsCommand,
  CreateAutoScalingGroupCommand,
  DetachLoadBalancerTargetGroupsCommand,
  CreateOrUpdateTagsCommand,
  DeleteAutoScalingGroupCommand,
  DeleteTagsCommand,
  DescribeAutoScalingGroupsCommand,
  PutLifecycleHookCommand,
  UpdateAutoScalingGroupCommand,
  paginateDescribeAutoScalingGroups
} from '@aws-sdk/client-auto-scaling'
import type { AutoScalingGroup, LaunchTemplateSpecification, MixedInstancesPolicy } from '@aws-sdk/client-auto-scaling'
import { errorCode, errorMessage, wrap } from '../aws/errors.js'
import { tolerate, type Aws } from '../aws/send.js'
import { shortSha } from '../json.js'
import { SPOT_FALLBACK_TAG, TAGS, type Capacity, type StackScope } from '../names.js'
import type { Change, CurrentState, DesiredService } from '../state.js'
import { LT_NOT_VISIBLE, type CurrentLaunchTemplate } from './launch-template.js'
import { stackFilters, tagMap, type KindOps, type Removal, type TemplateRef, type Upsert } from './kind.js'

export interface DesiredAsg {
  name: string
  capacity: Capacity
  size: number
  subnetIds: string[]
  /** Spot only: instance types of the MixedInstancesPolicy overrides. */
  instanceTypes: string[]
  /** The launch lifecycle hook the agent completes once the container is healthy (ABANDON when no one does). */
  hook: { name: string; heartbeatTimeout: number }
  /** Public services with a domain: the names of the target groups its instances register into, sorted. */
  targetGroups: string[]
  tags: Record<string, string>
  /**
   * On-demand only, with spot-fallback: on-demand and a deploy that waits: instances a fallback moved here
   * stay until the wait sees the spot group back in service (it then hands them back), rather than go at once.
   */
  holdSpotFallback?: boolean
}

export interface CurrentAsgInstance {
  id: string
  lifecycleState?: string
  healthStatus?: string
  /** The launch template version the instance was launched from. */
  launchTemplateVersion?: string
}

export interface CurrentAsg {
  name: string
  service: string
  capacity: Capacity
  min: number
  max: number
  desired: number
  launchTemplateId?: string
  /** The version the group launches, as it reports it ("3", "$Latest", ...). */
  launchTemplateVersion?: string
  instanceTypes: string[]
  onDemandBase?: number
  onDemandPercent?: number
  spotStrategy?: string
  capacityRebalance: boolean
  subnetIds: string[]
  /** The target groups it registers its instances into. */
  targetGroupArns: string[]
  instances: CurrentAsgInstance[]
  tags: Record<string, string>
  /** Set while AWS deletes it ("Delete in progress"). */
  status?: string
}

export type AsgChange = Upsert<'auto-scaling-group', DesiredAsg, CurrentAsg> | Removal<'auto-scaling-group', CurrentAsg>

/**
 * The group's maximum: room for an instance refresh that launches before it terminates
 * (MaxHealthyPercentage 200), which AWS's documentation does not promise beyond MaxSize.
 * Min and desired stay the exact size.
 */
export function maxSize(size: number): number {
  return size * 2
}

/** Hash of what the compose file sets on an ASG (tag hyperform:config-hash on the group). */
export function asgConfigHash(asg: Pick<DesiredAsg, 'size' | 'instanceTypes' | 'subnetIds' | 'targetGroups'>): string {
  return shortSha({
    size: asg.size,
    max: maxSize(asg.size),
    types: asg.instanceTypes,
    subnets: [...asg.subnetIds].sort(),
    // only when there are any: the groups of stacks without public endpoints keep their hash
    ...(asg.targetGroups.length > 0 ? { targetGroups: asg.targetGroups } : {})
  })
}

function toAsg(g: AutoScalingGroup): CurrentAsg {
  const tags = tagMap(g.Tags)
  const mixed = g.MixedInstancesPolicy
  const spec = g.LaunchTemplate ?? mixed?.LaunchTemplate?.LaunchTemplateSpecification
  const distribution = mixed?.InstancesDistribution
  return {
    name: g.AutoScalingGroupName ?? '',
    service: tags[TAGS.service] ?? '',
    capacity: (tags[TAGS.capacity] ?? 'on-demand') as Capacity,
    min: g.MinSize ?? 0,
    max: g.MaxSize ?? 0,
    desired: g.DesiredCapacity ?? 0,
    launchTemplateId: spec?.LaunchTemplateId,
    launchTemplateVersion: spec?.Version,
    instanceTypes: (mixed?.LaunchTemplate?.Overrides ?? []).map((o) => o.InstanceType ?? '').filter(Boolean),
    onDemandBase: distribution?.OnDemandBaseCapacity,
    onDemandPercent: distribution?.OnDemandPercentageAboveBaseCapacity,
    spotStrategy: distribution?.SpotAllocationStrategy,
    capacityRebalance: g.CapacityRebalance ?? false,
    subnetIds: (g.VPCZoneIdentifier ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .sort(),
    targetGroupArns: [...(g.TargetGroupARNs ?? [])].sort(),
    instances: (g.Instances ?? []).map((i) => ({
      id: i.InstanceId ?? '',
      lifecycleState: i.LifecycleState,
      healthStatus: i.HealthStatus,
      launchTemplateVersion: i.LaunchTemplate?.Version
    })),
    tags,
    status: g.Status
  }
}

/** Groups matching the tag filters, 100 a page; `stopWhen` ends the listing early. */
export async function readAsgs(
  aws: Aws,
  filters: Array<{ Name: string; Values: string[] }>,
  stopWhen?: (page: CurrentAsg[]) => boolean
): Promise<CurrentAsg[]> {
  const groups: CurrentAsg[] = []
  for await (const out of paginateDescribeAutoScalingGroups(
    { client: aws.through('autoScaling'), pageSize: 100 },
    { Filters: filters }
  )) {
    const page = (out.AutoScalingGroups ?? []).map(toAsg)
    groups.push(...page)
    if (stopWhen?.(page)) break
  }
  return groups
}

/** Names of other stacks of the project that still have ASGs (stops at the first page that shows one). */
export async function readOtherStacks(aws: Aws, scope: StackScope): Promise<string[]> {
  const other = (g: CurrentAsg): boolean => (g.tags[TAGS.stack] ?? '') !== scope.stack
  try {
    const groups = await readAsgs(aws, [{ Name: `tag:${TAGS.project}`, Values: [scope.project] }], (page) =>
      page.some(other)
    )
    return [...new Set(groups.filter(other).map((g) => g.tags[TAGS.stack] ?? ''))].sort()
  } catch (err) {
    throw wrap(`looking for other stacks of project ${scope.project}`, err)
  }
}

const capacityLabel = (asg: DesiredAsg): string => (asg.capacity === 'spot' ? 'spot' : 'on-demand')

/** Tag hyperform:launch-hook: the hook as last put, so a no-op run reads no hooks. */
function hookTag(asg: DesiredAsg): string {
  return `${asg.hook.name}/${asg.hook.heartbeatTimeout}`
}

/** Members that run or will: an instance refresh replaces them; a group without any just switches version. */
export function liveInstances(asg: CurrentAsg): CurrentAsgInstance[] {
  return asg.instances.filter((i) => !(i.lifecycleState ?? '').startsWith('Terminat'))
}

/** The ARNs of the group's target groups as read; undefined when one is not made yet. */
function targetGroupArns(want: DesiredAsg, current: CurrentState): string[] | undefined {
  const arns = want.targetGroups.map((name) => current.targetGroups?.find((g) => g.name === name)?.arn)
  return arns.every((a): a is string => a !== undefined) ? arns.sort() : undefined
}

/** The count a spot fallback moved to the group (tag hyperform:spot-fallback), 0 when none. */
export function fallbackCount(have: Pick<CurrentAsg, 'tags'>): number {
  const n = Number(have.tags[SPOT_FALLBACK_TAG] ?? '0')
  return Number.isInteger(n) && n > 0 ? n : 0
}

/**
 * The instances an on-demand group holds for its spot group until the deploy's wait hands them back:
 * the fallback's count, when the group is still at its size plus that count and the deploy holds them.
 */
export function heldForSpot(want: DesiredAsg, have: CurrentAsg): number {
  const n = fallbackCount(have)
  if (!want.holdSpotFallback || want.capacity !== 'on-demand' || n === 0) return 0
  return have.desired === want.size + n && have.min === want.size + n ? n : 0
}

function asgFields(want: DesiredAsg, have: CurrentAsg, wantArns: string[] | undefined): string[] {
  const fields: string[] = []
  if (wantArns === undefined || wantArns.join(',') !== have.targetGroupArns.join(',')) fields.push('targetGroups')
  if (have.tags[TAGS.launchHook] !== hookTag(want)) fields.push('launchHook')
  // Held for spot: the sizes as the fallback left them, until the wait hands the held instances back.
  const held = heldForSpot(want, have)
  if (held === 0 && (have.min !== want.size || have.max !== maxSize(want.size) || have.desired !== want.size))
    fields.push('size')
  if (have.subnetIds.join(',') !== [...want.subnetIds].sort().join(',')) fields.push('subnets')
  if (want.capacity === 'spot') {
    const spotOk =
      have.onDemandBase === 0 &&
      have.onDemandPercent === 0 &&
      have.spotStrategy === 'price-capacity-optimized' &&
      have.capacityRebalance
    if (have.instanceTypes.join(',') !== want.instanceTypes.join(',')) fields.push('instanceTypes')
    if (!spotOk) fields.push('spotPolicy')
  } else if (have.instanceTypes.length > 0) {
    fields.push('instanceTypes')
  }
  if (Object.entries(want.tags).some(([k, v]) => have.tags[k] !== v)) fields.push('tags')
  // The deploy's wait moved spot instances on demand for lack of capacity: this deploy tries spot again.
  if (have.tags[SPOT_FALLBACK_TAG] !== undefined && held === 0) fields.push('spotFallback')
  return fields
}

/** The template as the groups will launch it once the plan's template change is applied. */
interface TemplateState {
  /** The template gets a new version (or is created). */
  changing: boolean
  current?: CurrentLaunchTemplate
  /** The version the groups launch once the template is right (its default, or the action's own when the default was changed by hand). */
  version?: number
}

function templateState(service: DesiredService, current: CurrentState, planned: readonly Change[]): TemplateState {
  const lt = current.launchTemplates.find((t) => t.name === service.launchTemplate.name)
  const change = planned.find((c) => c.kind === 'launch-template' && c.service === service.name)
  const restoring = change?.fields?.includes('defaultVersion') === true
  return {
    changing: change !== undefined && change.action !== 'noop' && !restoring,
    current: lt,
    version: restoring ? lt?.actionVersion : lt?.defaultVersion
  }
}

function fieldReason(field: string, args: { want: DesiredAsg; have: CurrentAsg; template: TemplateState }): string {
  const { want, have, template } = args
  if (field === 'size') {
    const now =
      have.min === have.desired && have.max === maxSize(have.desired)
        ? `${have.desired}`
        : `${have.desired} (min ${have.min}, max ${have.max})`
    return `${capacityLabel(want)} ${now} -> ${want.size}`
  }
  if (field === 'spotFallback') return `spot fallback of ${have.tags[SPOT_FALLBACK_TAG]} undone: trying spot again`
  if (field === 'launchHook')
    return have.tags[TAGS.launchHook]
      ? `launch hook ${have.tags[TAGS.launchHook]} -> ${hookTag(want)}`
      : 'launch hook added'
  if (field === 'targetGroups')
    return want.targetGroups.length > 0 ? `target groups -> ${want.targetGroups.join(', ')}` : 'target groups removed'
  // The default spot types are derived from the service's size (instance-types.ts): a group made before
  // that, or with other types, is updated once to the derived list.
  if (field === 'instanceTypes')
    return `instanceTypes ${have.instanceTypes.join(', ') || 'none'} -> ${want.instanceTypes.join(', ') || 'none'}`
  if (field !== 'launchTemplate') return `${field} changed`
  if (template.changing || !template.current) return 'new launch template version'
  const same = have.launchTemplateId === template.current.id
  return `launch template ${same ? `version ${have.launchTemplateVersion ?? '?'}` : (have.launchTemplateId ?? 'none')} -> version ${template.version}`
}

function asgChange(args: {
  service: DesiredService
  want: DesiredAsg
  have?: CurrentAsg
  template: TemplateState
  serviceExists: boolean
  targetGroupArns: string[] | undefined
}): AsgChange {
  const { service, want, have, template } = args
  const base = {
    kind: 'auto-scaling-group' as const,
    name: want.name,
    service: service.name,
    desired: want,
    current: have
  }
  if (!have)
    return {
      ...base,
      action: 'create',
      reason: `not found; ${capacityLabel(want)} ${want.size}`,
      drift: args.serviceExists
    }
  const fields = asgFields(want, have, args.targetGroupArns)
  const versionOk =
    !template.changing &&
    template.current !== undefined &&
    have.launchTemplateId === template.current.id &&
    have.launchTemplateVersion === String(template.version)
  if (!versionOk) fields.push('launchTemplate')
  const held = heldForSpot(want, have)
  const holding = held > 0 ? ` + ${held} held for spot until the wait sees it back` : ''
  if (fields.length === 0) return { ...base, action: 'noop', reason: `${capacityLabel(want)} ${want.size}${holding}` }
  const reasons = [
    ...fields.map((f) => fieldReason(f, { want, have, template })),
    ...(held > 0 ? [holding.trim()] : [])
  ]
  // Sizes the wait's spot fallback changed are the action's own doing, not drift.
  const fallback = fields.includes('spotFallback')
  const configDrift =
    fields.some(
      (f) => f !== 'launchTemplate' && f !== 'launchHook' && f !== 'spotFallback' && !(fallback && f === 'size')
    ) && have.tags[TAGS.configHash] === asgConfigHash(want)
  const versionDrift = !template.changing && !versionOk
  return { ...base, action: 'update', reason: reasons.join(', '), fields, drift: configDrift || versionDrift }
}

export function launchSpec(
  asg: Pick<DesiredAsg, 'capacity' | 'instanceTypes'>,
  template: TemplateRef
): {
  LaunchTemplate?: LaunchTemplateSpecification
  MixedInstancesPolicy?: MixedInstancesPolicy
  CapacityRebalance: boolean
} {
  const spec = { LaunchTemplateId: template.id, Version: String(template.version) }
  if (asg.capacity !== 'spot') return { LaunchTemplate: spec, CapacityRebalance: false }
  return {
    MixedInstancesPolicy: {
      LaunchTemplate: {
        LaunchTemplateSpecification: spec,
        Overrides: asg.instanceTypes.map((InstanceType) => ({ InstanceType }))
      },
      InstancesDistribution: {
        OnDemandBaseCapacity: 0,
        OnDemandPercentageAboveBaseCapacity: 0,
        SpotAllocationStrategy: 'price-capacity-optimized'
      }
    },
    CapacityRebalance: true
  }
}

/** The tags the action writes on a group: the compose service's, and the hashes of what it set. */
export function groupTags(asg: DesiredAsg): Record<string, string> {
  return { ...asg.tags, [TAGS.configHash]: asgConfigHash(asg), [TAGS.launchHook]: hookTag(asg) }
}

function asgTags(
  asg: DesiredAsg
): Array<{ Key: string; Value: string; PropagateAtLaunch: boolean; ResourceId: string; ResourceType: string }> {
  return Object.entries(groupTags(asg)).map(([Key, Value]) => ({
    Key,
    Value,
    PropagateAtLaunch: Key !== TAGS.configHash && Key !== TAGS.launchHook,
    ResourceId: asg.name,
    ResourceType: 'auto-scaling-group'
  }))
}

/**
 * Auto Scaling answers ValidationError for a launch template it cannot see yet, and for one
 * naming an instance profile IAM has not yet propagated to it (seconds after it was made).
 */
const templateNotVisible = (err: unknown): boolean =>
  LT_NOT_VISIBLE.includes(errorCode(err)) ||
  (errorCode(err) === 'ValidationError' &&
    /launch template.*(not found|does not exist)|does not exist.*launch template|Invalid IAM Instance Profile/i.test(
      errorMessage(err)
    ))

/** Another activity holds the group for a moment. */
export const CONTENTION = ['ScalingActivityInProgress', 'ResourceContention']

function launchHook(asg: DesiredAsg): {
  LifecycleHookName: string
  LifecycleTransition: string
  HeartbeatTimeout: number
  DefaultResult: string
} {
  return {
    LifecycleHookName: asg.hook.name,
    LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
    HeartbeatTimeout: asg.hook.heartbeatTimeout,
    DefaultResult: 'ABANDON'
  }
}

/** Attaches the target groups it lacks and detaches the others (by hand, or of a port no longer published). */
async function setTargetGroups(
  aws: Aws,
  asg: DesiredAsg,
  have: readonly string[],
  want: readonly string[]
): Promise<void> {
  const attach = want.filter((arn) => !have.includes(arn))
  const detach = have.filter((arn) => !want.includes(arn))
  if (attach.length > 0)
    await aws.retryOn(CONTENTION, () =>
      aws.send(new AttachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: asg.name, TargetGroupARNs: attach }))
    )
  if (detach.length > 0)
    await aws.retryOn(CONTENTION, () =>
      aws.send(new DetachLoadBalancerTargetGroupsCommand({ AutoScalingGroupName: asg.name, TargetGroupARNs: detach }))
    )
}

async function updateAsg(
  aws: Aws,
  asg: DesiredAsg,
  template: TemplateRef,
  what: {
    tags: boolean
    hook: boolean
    targetGroups?: { have: readonly string[]; want: readonly string[] }
    /** Remove tag hyperform:spot-fallback once the sizes are restored. */
    untagFallback?: boolean
    /** Instances the on-demand group holds for its spot group (heldForSpot): kept. */
    held?: number
  }
): Promise<void> {
  const size = asg.size + (what.held ?? 0)
  // The hook before the tag that says it is there; before the group changes size, so no new instance skips it.
  if (what.hook)
    await aws.retryOn(CONTENTION, () =>
      aws.send(new PutLifecycleHookCommand({ AutoScalingGroupName: asg.name, ...launchHook(asg) }))
    )
  const update = new UpdateAutoScalingGroupCommand({
    AutoScalingGroupName: asg.name,
    MinSize: size,
    MaxSize: maxSize(size),
    DesiredCapacity: size,
    VPCZoneIdentifier: asg.subnetIds.join(','),
    ...launchSpec(asg, template)
  })
  await aws.retryOn(
    (err) => templateNotVisible(err) || CONTENTION.includes(errorCode(err)),
    () => aws.send(update)
  )
  if (what.targetGroups) await setTargetGroups(aws, asg, what.targetGroups.have, what.targetGroups.want)
  if (what.tags) await aws.send(new CreateOrUpdateTagsCommand({ Tags: asgTags(asg) }))
  if (what.untagFallback)
    await aws.send(
      new DeleteTagsCommand({
        Tags: [{ ResourceId: asg.name, ResourceType: 'auto-scaling-group', Key: SPOT_FALLBACK_TAG }]
      })
    )
}

async function createAsg(aws: Aws, asg: DesiredAsg, template: TemplateRef, targetGroups: string[]): Promise<void> {
  const create = new CreateAutoScalingGroupCommand({
    AutoScalingGroupName: asg.name,
    ...(targetGroups.length > 0 ? { TargetGroupARNs: targetGroups } : {}),
    MinSize: asg.size,
    MaxSize: maxSize(asg.size),
    DesiredCapacity: asg.size,
    VPCZoneIdentifier: asg.subnetIds.join(','),
    Tags: asgTags(asg),
    LifecycleHookSpecificationList: [launchHook(asg)],
    ...launchSpec(asg, template)
  })
  try {
    await aws.retryOn(templateNotVisible, () => aws.send(create))
  } catch (err) {
    if (errorCode(err) !== 'AlreadyExists') throw err
    // made by a run that stopped before it could say so: what it has attached is not known here
    const found = await aws.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [asg.name] }))
    const have = found.AutoScalingGroups?.[0]?.TargetGroupARNs ?? []
    await updateAsg(aws, asg, template, { tags: true, hook: true, targetGroups: { have, want: targetGroups } })
  }
}

/** The version a group with live instances keeps until its refresh replaces them; undefined: it switches now. */
export function rollingFrom(have: CurrentAsg | undefined, fields: readonly string[]): TemplateRef | undefined {
  if (!have || !fields.includes('launchTemplate') || liveInstances(have).length === 0) return undefined
  const version = have.launchTemplateVersion ?? ''
  if (!have.launchTemplateId || !/^\d+$/.test(version)) return undefined
  return { id: have.launchTemplateId, version: Number(version) }
}

export const autoScalingGroup: KindOps<'auto-scaling-group'> = {
  kind: 'auto-scaling-group',
  noun: 'Auto Scaling group',
  level: 'service',
  // After the project's DNS stack, so no instance starts before its events are delivered.
  dependsOn: [
    'launch-template',
    // a service's instances claim its volumes at boot
    'volume',
    'target-group',
    'hosted-zone',
    'zone-association',
    'role-policy',
    'event-target',
    'event-source-mapping'
  ],
  removeAfter: [],
  // The DNS updater is unwired first (destroy of the last stack), so no run of it races the teardown;
  // if that fails the teardown goes on regardless.
  removeAfterSettled: ['event-rule', 'schedule-rule'],
  async read({ aws, scope }) {
    try {
      return { asgs: await readAsgs(aws, stackFilters(scope)) }
    } catch (err) {
      throw wrap(`listing Auto Scaling groups of stack ${scope.stack}`, err)
    }
  },
  diff({ current, planned }, service) {
    const template = templateState(service, current, planned)
    const serviceExists =
      current.securityGroups.some((g) => g.name === service.securityGroup.name) || template.current !== undefined
    return service.asgs.map((want) =>
      asgChange({
        service,
        want,
        have: current.asgs.find((g) => g.name === want.name),
        template,
        serviceExists,
        targetGroupArns: targetGroupArns(want, current)
      })
    )
  },
  removals({ current, keep, reason }) {
    return current.asgs
      .filter((g) => !keep.names.has(g.name))
      .map((g) =>
        // AWS is still deleting it (ForceDelete by an earlier run): nothing to call; its template and group go once free.
        g.status
          ? {
              kind: 'auto-scaling-group' as const,
              action: 'noop' as const,
              name: g.name,
              service: g.service,
              reason: `being deleted (${g.status})`,
              current: g
            }
          : {
              kind: 'auto-scaling-group' as const,
              action: 'delete' as const,
              name: g.name,
              service: g.service,
              reason,
              current: g
            }
      )
  },
  async apply(change, { e, need, needAll }) {
    if (change.action === 'noop') return
    const template = await need('launch-template')
    const targetGroups = (await needAll('target-group')).map((t) => t.arn).sort()
    const fields = change.fields ?? []
    if (change.action === 'update') {
      // A group with instances moves to the new version through its instance refresh (which rolls back
      // on failure); here it keeps launching the version its instances run.
      const from = rollingFrom(change.current, fields)
      const others = fields.filter((f) => f !== 'launchTemplate' && f !== 'launchHook')
      // A new template version alone changes no tag (the config hash covers sizes, types and subnets).
      if (!from || others.length > 0 || fields.includes('launchHook'))
        await updateAsg(e, change.desired, from ?? template, {
          tags: fields.some((f) => f !== 'launchTemplate'),
          hook: fields.includes('launchHook'),
          untagFallback: fields.includes('spotFallback'),
          ...(change.current ? { held: heldForSpot(change.desired, change.current) } : {}),
          ...(fields.includes('targetGroups')
            ? { targetGroups: { have: change.current?.targetGroupArns ?? [], want: targetGroups } }
            : {})
        })
    } else await createAsg(e, change.desired, template, targetGroups)
    e.done({ kind: 'auto-scaling-group', action: change.action, name: change.name, service: change.service })
  },
  async remove(changes, { e, watcher }) {
    const service = changes[0]?.service
    await Promise.all(
      changes.map(async (change) => {
        const deleted = await tolerate(
          [],
          () =>
            e.retryOn([...CONTENTION, 'ResourceInUse'], () =>
              e.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: change.name, ForceDelete: true }))
            ),
          (err) => errorCode(err) === 'ValidationError' && /not found|does not exist/i.test(errorMessage(err))
        )
        if (deleted)
          e.done({ kind: 'auto-scaling-group', action: 'delete', name: change.name, service: change.service })
      })
    )
    if (service) await watcher.waitGone(service)
  }
}
