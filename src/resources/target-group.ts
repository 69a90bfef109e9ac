/** A public service's target group per published port: both of its groups register their instances into it. */
import {
  AddTagsCommand,
  CreateTargetGroupCommand,
  DeleteTargetGroupCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  paginateDescribeTargetGroups,
  type TargetGroup
} from '@aws-sdk/client-elastic-load-balancing-v2'
import { errorCode, wrap } from '../aws/errors.js'
import { tolerate, type Aws } from '../aws/send.js'
import { shortSha } from '../json.js'
import { ELB_NAME_LIMIT, TAGS, shortHash, type StackScope } from '../names.js'
import { publicReads } from './load-balancer.js'
import { tagList, tagMap, type KindOps, type Removal, type Upsert } from './kind.js'

export interface HealthCheck {
  /** `x-hyperform.health-check.path`, default `/`. */
  path: string
  /** `x-hyperform.health-check.codes`, default `200-399`. */
  codes: string
  intervalSeconds: number
  timeoutSeconds: number
  healthyThreshold: number
  unhealthyThreshold: number
}

export interface DesiredTargetGroup {
  name: string
  /** The published port on the instance (protocol HTTP). */
  port: number
  vpcId: string
  healthCheck: HealthCheck
  /** Seconds a deregistered target keeps its open requests: short enough for a rollout and a spot notice. */
  deregistrationDelay: number
  tags: Record<string, string>
}

export interface CurrentTargetGroup {
  arn: string
  name: string
  service: string
  port: number
  vpcId?: string
  healthCheck: HealthCheck
  /** Tag hyperform:config-hash: the hash of what the action last wrote (the attributes are read only when it differs). */
  configHash?: string
  loadBalancerArns: string[]
}

/** What a target group hands its rule and the service's groups. */
export interface TargetGroupRef {
  port: number
  arn: string
}

export type TargetGroupChange =
  Upsert<'target-group', DesiredTargetGroup, CurrentTargetGroup> | Removal<'target-group', CurrentTargetGroup>

const TG_NOT_FOUND = ['TargetGroupNotFound', 'TargetGroupNotFoundException']
/** DescribeTags takes at most 20 ARNs. */
const TAG_BATCH = 20

/** What the action writes of a target group besides its name, port and VPC: the tag hyperform:config-hash. */
export function targetGroupHash(tg: Pick<DesiredTargetGroup, 'healthCheck' | 'deregistrationDelay'>): string {
  const h = tg.healthCheck
  return shortSha([
    h.path,
    h.codes,
    h.intervalSeconds,
    h.timeoutSeconds,
    h.healthyThreshold,
    h.unhealthyThreshold,
    tg.deregistrationDelay
  ])
}

/**
 * The start every name of the stack's target groups has (names.targetGroupName: `<project>-<stack>-...`,
 * cut to fit with a hash): what the listing narrows by before the tags confirm.
 */
export function stackTargetGroupPrefix(scope: StackScope): string {
  const full = `${scope.project}-${scope.stack}-`
  const kept = ELB_NAME_LIMIT - shortHash('').length - 1
  return full.length <= kept ? full : full.slice(0, kept).replace(/[-_.]+$/, '')
}

function toTargetGroup(g: TargetGroup, tags: Record<string, string>): CurrentTargetGroup {
  return {
    arn: g.TargetGroupArn ?? '',
    name: g.TargetGroupName ?? '',
    service: tags[TAGS.service] ?? '',
    port: g.Port ?? 0,
    vpcId: g.VpcId,
    healthCheck: {
      path: g.HealthCheckPath ?? '',
      codes: g.Matcher?.HttpCode ?? '',
      intervalSeconds: g.HealthCheckIntervalSeconds ?? 0,
      timeoutSeconds: g.HealthCheckTimeoutSeconds ?? 0,
      healthyThreshold: g.HealthyThresholdCount ?? 0,
      unhealthyThreshold: g.UnhealthyThresholdCount ?? 0
    },
    configHash: tags[TAGS.configHash],
    loadBalancerArns: g.LoadBalancerArns ?? []
  }
}

/** The stack's target groups: the region's, narrowed by name, confirmed by their project and stack tags. */
async function readTargetGroups(aws: Aws, scope: StackScope): Promise<CurrentTargetGroup[]> {
  const prefix = stackTargetGroupPrefix(scope)
  const candidates: TargetGroup[] = []
  for await (const page of paginateDescribeTargetGroups({ client: aws.through('elb'), pageSize: 400 }, {}))
    candidates.push(...(page.TargetGroups ?? []).filter((g) => g.TargetGroupName?.startsWith(prefix)))
  const tags = new Map<string, Record<string, string>>()
  const batches: string[][] = []
  const arns = candidates.map((g) => g.TargetGroupArn ?? '')
  for (let i = 0; i < arns.length; i += TAG_BATCH) batches.push(arns.slice(i, i + TAG_BATCH))
  await Promise.all(
    batches.map(async (ResourceArns) => {
      const out = await aws.send(new DescribeTagsCommand({ ResourceArns }))
      for (const d of out.TagDescriptions ?? []) if (d.ResourceArn) tags.set(d.ResourceArn, tagMap(d.Tags))
    })
  )
  return candidates.flatMap((g) => {
    const t = tags.get(g.TargetGroupArn ?? '') ?? {}
    return t[TAGS.project] === scope.project && t[TAGS.stack] === scope.stack ? [toTargetGroup(g, t)] : []
  })
}

const CHECK_FIELDS: Array<[keyof HealthCheck, string]> = [
  ['path', 'health check path'],
  ['codes', 'health check codes'],
  ['intervalSeconds', 'health check interval'],
  ['timeoutSeconds', 'health check timeout'],
  ['healthyThreshold', 'healthy threshold'],
  ['unhealthyThreshold', 'unhealthy threshold']
]

function checkSettings(h: HealthCheck): Partial<ConstructorParameters<typeof ModifyTargetGroupCommand>[0]> {
  return {
    HealthCheckProtocol: 'HTTP',
    HealthCheckPath: h.path,
    HealthCheckIntervalSeconds: h.intervalSeconds,
    HealthCheckTimeoutSeconds: h.timeoutSeconds,
    HealthyThresholdCount: h.healthyThreshold,
    UnhealthyThresholdCount: h.unhealthyThreshold,
    Matcher: { HttpCode: h.codes }
  }
}

export const targetGroup: KindOps<'target-group'> = {
  kind: 'target-group',
  noun: 'target group',
  level: 'service',
  dependsOn: [],
  removeAfter: ['listener-rule', 'auto-scaling-group'],
  async read(ctx) {
    if (!(await publicReads(ctx))) return {}
    try {
      return { targetGroups: await readTargetGroups(ctx.aws, ctx.scope) }
    } catch (err) {
      throw wrap(`listing target groups of stack ${ctx.scope.stack}`, err)
    }
  },
  diff({ current }, service) {
    return service.endpoints.map((endpoint) => {
      const tg = endpoint.targetGroup
      const have = current.targetGroups?.find((g) => g.name === tg.name)
      const base = { kind: 'target-group' as const, name: tg.name, service: service.name, desired: tg, current: have }
      if (!have) {
        // Its rule is there and points at it: the group was deleted by hand.
        const drift = (current.listenerRules ?? []).some((r) => r.name === endpoint.rule.name)
        return { ...base, action: 'create' as const, reason: `not found; HTTP ${tg.port}`, drift }
      }
      if ((have.vpcId && have.vpcId !== tg.vpcId) || have.port !== tg.port)
        // The name says the service and port: a group elsewhere cannot be replaced under the same name while
        // its rule forwards to it.
        throw new Error(
          `target group ${tg.name} is ${have.vpcId ?? 'in another VPC'} port ${have.port}, but the stack now ` +
            `deploys to ${tg.vpcId} port ${tg.port}; destroy the stack (or delete the target group and its ` +
            `listener rule) first`
        )
      const reasons: string[] = []
      const fields: string[] = []
      for (const [field, what] of CHECK_FIELDS) {
        if (have.healthCheck[field] !== tg.healthCheck[field]) {
          reasons.push(`${what} ${have.healthCheck[field]} -> ${tg.healthCheck[field]}`)
          fields.push(`healthCheck.${field}`)
        }
      }
      const hash = targetGroupHash(tg)
      if (fields.length === 0 && have.configHash === hash)
        return { ...base, action: 'noop' as const, reason: 'up to date' }
      if (have.configHash !== hash) {
        reasons.push(`deregistration delay ${tg.deregistrationDelay} s (last written: another configuration)`)
        fields.push('deregistrationDelay')
      }
      // The action wrote exactly this configuration, and the group differs: changed by hand.
      const drift = have.configHash === hash
      return { ...base, action: 'update' as const, reason: reasons.join('; '), fields, drift }
    })
  },
  removals({ current, keep, reason }) {
    return (current.targetGroups ?? [])
      .filter((g) => !keep.names.has(g.name))
      .map((g) => ({
        kind: 'target-group' as const,
        action: 'delete' as const,
        name: g.name,
        service: g.service,
        reason,
        current: g
      }))
  },
  async apply(change, { e }) {
    const tg = change.desired
    let have = change.current
    if (change.action === 'noop' && have) return { port: tg.port, arn: have.arn }
    let checkDiffers = false
    if (!have) {
      try {
        const out = await e.send(
          new CreateTargetGroupCommand({
            Name: tg.name,
            Protocol: 'HTTP',
            Port: tg.port,
            VpcId: tg.vpcId,
            TargetType: 'instance',
            HealthCheckEnabled: true,
            ...checkSettings(tg.healthCheck),
            Tags: tagList(tg.tags)
          })
        )
        const made = out.TargetGroups?.[0]
        if (made) have = toTargetGroup(made, tg.tags)
      } catch (err) {
        // Made by a stopped run with other settings: adopt it and write them.
        if (errorCode(err) !== 'DuplicateTargetGroupName') throw err
        const out = await e.send(new DescribeTargetGroupsCommand({ Names: [tg.name] }))
        const found = out.TargetGroups?.[0]
        if (!found) throw err
        have = toTargetGroup(found, tg.tags)
        checkDiffers = true
      }
      if (!have) throw new Error(`target group ${tg.name} was created but cannot be read`)
    } else {
      checkDiffers = CHECK_FIELDS.some(([field]) => have?.healthCheck[field] !== tg.healthCheck[field])
    }
    const arn = have.arn
    if (checkDiffers)
      await e.send(new ModifyTargetGroupCommand({ TargetGroupArn: arn, ...checkSettings(tg.healthCheck) }))
    await e.retryOn(TG_NOT_FOUND, () =>
      e.send(
        new ModifyTargetGroupAttributesCommand({
          TargetGroupArn: arn,
          Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: String(tg.deregistrationDelay) }]
        })
      )
    )
    // Last: the hash says all of the above was written (a run stopped before it writes it all again).
    await e.send(new AddTagsCommand({ ResourceArns: [arn], Tags: tagList({ [TAGS.configHash]: targetGroupHash(tg) }) }))
    e.done({ kind: 'target-group', action: change.action, name: change.name, service: change.service, id: arn })
    return { port: tg.port, arn }
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      const arn = change.current?.arn
      if (!arn) continue
      // In use while its listener rule (or a group's attachment) lets go: ResourceInUse is retried meanwhile.
      const deleted = await tolerate(TG_NOT_FOUND, () =>
        e.retryOn(
          ['ResourceInUse', 'ResourceInUseException'],
          () => e.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn })),
          e.timing.teardownMs
        )
      )
      if (deleted)
        e.done({ kind: 'target-group', action: 'delete', name: change.name, service: change.service, id: arn })
    }
  }
}
