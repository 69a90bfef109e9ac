/** The project's Application Load Balancer: internet-facing, one subnet in each of at least two zones. */
import { DescribeLoadBalancersCommand } from '@aws-sdk/client-elastic-load-balancing-v2'
import { readOptional } from '../aws/send.js'
import { loadBalancerName } from '../names.js'
import type { KindOps, ReadContext, Removal, Upsert } from './kind.js'

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

/** The project's load balancer: one DescribeLoadBalancers by name, shared by the kinds that read. */
export function readLoadBalancer(ctx: ReadContext): Promise<CurrentLoadBalancer | undefined> {
  return ctx.once('load-balancer', async () => {
    const name = loadBalancerName(ctx.scope)
    const found = await readOptional(`reading load balancer ${name}`, ['LoadBalancerNotFound'], () =>
      ctx.aws.send(new DescribeLoadBalancersCommand({ Names: [name] }))
    )
    const lb = found?.LoadBalancers?.[0]
    if (!lb?.LoadBalancerArn) return undefined
    return {
      arn: lb.LoadBalancerArn,
      name,
      dnsName: lb.DNSName ?? '',
      canonicalZoneId: lb.CanonicalHostedZoneId ?? '',
      state: lb.State?.Code ?? '',
      scheme: lb.Scheme ?? '',
      subnetIds: (lb.AvailabilityZones ?? []).flatMap((z) => (z.SubnetId ? [z.SubnetId] : [])),
      securityGroupIds: lb.SecurityGroups ?? []
    }
  })
}

/** Whether the public endpoints' kinds read: a domain is set, or the project has its load balancer. */
export async function publicReads(ctx: ReadContext): Promise<boolean> {
  return ctx.publicZone !== undefined || (await readLoadBalancer(ctx)) !== undefined
}
