/** The project's Application Load Balancer: internet-facing, one subnet in each of at least two zones. */
import type { KindOps, Removal, Upsert } from './kind.js'

export interface DesiredLoadBalancer {
  name: string
  /** One subnet per availability zone (the first of each zone, sorted), at least two zones. */
  subnetIds: string[]
  scheme: 'internet-facing'
  tags: Record<string, string>
}

export interface CurrentLoadBalancer {
  arn: string
  name: string
  dnsName: string
  /** The load balancer's own hosted zone (an alias record's target zone). */
  canonicalZoneId: string
  /** provisioning, active, active_impaired, failed. */
  state: string
  scheme: string
  subnetIds: string[]
  securityGroupIds: string[]
}

/** What the load balancer hands its listeners and alias records. */
export interface LoadBalancerRef {
  arn: string
  dnsName: string
  canonicalZoneId: string
}

export type LoadBalancerChange =
  Upsert<'load-balancer', DesiredLoadBalancer, CurrentLoadBalancer> | Removal<'load-balancer', CurrentLoadBalancer>

export const loadBalancer: KindOps<'load-balancer'> = {
  kind: 'load-balancer',
  noun: 'load balancer',
  level: 'project',
  dependsOn: ['load-balancer-security-group'],
  removeAfter: ['listener', 'alias-record'],
  diff: () => [],
  removals: () => [],
  apply: () => Promise.reject(new Error('load balancer: not built yet')),
  remove: () => Promise.reject(new Error('load balancer: not built yet'))
}
