/** A public service's target group per published port: both of its groups register their instances into it. */
import type { KindOps, Removal, Upsert } from './kind.js'

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

export const targetGroup: KindOps<'target-group'> = {
  kind: 'target-group',
  noun: 'target group',
  level: 'service',
  dependsOn: [],
  removeAfter: ['listener-rule', 'auto-scaling-group'],
  diff: () => [],
  removals: () => [],
  apply: () => Promise.reject(new Error('target group: not built yet')),
  remove: () => Promise.reject(new Error('target group: not built yet'))
}
