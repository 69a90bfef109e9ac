/** The load balancer's security group: HTTPS and HTTP from anywhere; the instances' public ports open only to it. */
import type { IngressRule } from '../state.js'
import type { KindOps, Removal, Upsert } from './kind.js'

export interface DesiredLoadBalancerSecurityGroup {
  name: string
  description: string
  vpcId: string
  /** 443 and 80 from 0.0.0.0/0 and ::/0. */
  ingress: IngressRule[]
  tags: Record<string, string>
}

export interface CurrentLoadBalancerSecurityGroup {
  id: string
  name: string
  vpcId?: string
  ingress: IngressRule[]
}

export type LoadBalancerSecurityGroupChange =
  | Upsert<'load-balancer-security-group', DesiredLoadBalancerSecurityGroup, CurrentLoadBalancerSecurityGroup>
  | Removal<'load-balancer-security-group', CurrentLoadBalancerSecurityGroup>

export const loadBalancerSecurityGroup: KindOps<'load-balancer-security-group'> = {
  kind: 'load-balancer-security-group',
  noun: 'load balancer security group',
  level: 'project',
  dependsOn: [],
  removeAfter: ['load-balancer', 'security-group'],
  diff: () => [],
  removals: () => [],
  apply: () => Promise.reject(new Error('load balancer security group: not built yet')),
  remove: () => Promise.reject(new Error('load balancer security group: not built yet'))
}
