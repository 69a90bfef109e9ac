/** The project's Application Load Balancer: internet-facing, one subnet in each of at least two zones. */
import {
  CreateLoadBalancerCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  SetSecurityGroupsCommand,
  SetSubnetsCommand,
  waitUntilLoadBalancerAvailable,
  waitUntilLoadBalancersDeleted,
  type LoadBalancer
} from '@aws-sdk/client-elastic-load-balancing-v2'
import { errorCode, wrap } from '../aws/errors.js'
import { tolerate, type Aws } from '../aws/send.js'
import { loadBalancerName } from '../names.js'
import { tagList, type KindOps, type ReadContext, type Removal, type Upsert } from './kind.js'

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

/** The codes of a load balancer that is not (or no longer) there. */
export const LB_NOT_FOUND = ['LoadBalancerNotFound', 'LoadBalancerNotFoundException']

function toLoadBalancer(lb: LoadBalancer): CurrentLoadBalancer {
  return {
    arn: lb.LoadBalancerArn ?? '',
    name: lb.LoadBalancerName ?? '',
    dnsName: lb.DNSName ?? '',
    canonicalZoneId: lb.CanonicalHostedZoneId ?? '',
    state: lb.State?.Code ?? '',
    scheme: lb.Scheme ?? '',
    subnetIds: (lb.AvailabilityZones ?? []).flatMap((z) => (z.SubnetId ? [z.SubnetId] : [])).sort(),
    securityGroupIds: [...(lb.SecurityGroups ?? [])].sort()
  }
}

async function describeByName(aws: Aws, name: string): Promise<CurrentLoadBalancer | undefined> {
  try {
    const lb = (await aws.send(new DescribeLoadBalancersCommand({ Names: [name] }))).LoadBalancers?.[0]
    return lb ? toLoadBalancer(lb) : undefined
  } catch (err) {
    if (LB_NOT_FOUND.includes(errorCode(err))) return undefined
    throw wrap(`reading load balancer ${name}`, err)
  }
}

/** The project's load balancer: one DescribeLoadBalancers by name per read, shared by the public kinds. */
export function readLoadBalancer(ctx: ReadContext): Promise<CurrentLoadBalancer | undefined> {
  return ctx.once('load-balancer', () => describeByName(ctx.aws, loadBalancerName(ctx.scope)))
}

/**
 * Whether the public endpoints' kinds read their own resources: with the `domain` input, or
 * when the project's load balancer exists (a stack without a domain still removes what it had).
 */
export async function publicReads(ctx: ReadContext): Promise<boolean> {
  if (ctx.publicZone) return true
  return (await readLoadBalancer(ctx)) !== undefined
}

/** The SDK waiters' bounds: the teardown budget, polled at the poll interval (seconds, at least 1). */
function waiterBounds(aws: Aws): { maxWaitTime: number; minDelay: number; maxDelay: number } {
  const minDelay = Math.max(1, Math.round(aws.timing.pollMs / 1000))
  return {
    maxWaitTime: Math.max(minDelay, Math.ceil(aws.timing.teardownMs / 1000)),
    minDelay,
    maxDelay: Math.max(minDelay, 15)
  }
}

async function waitAvailable(aws: Aws, arn: string, name: string): Promise<void> {
  try {
    await waitUntilLoadBalancerAvailable(
      { client: aws.through('elb'), ...waiterBounds(aws) },
      { LoadBalancerArns: [arn] }
    )
  } catch (err) {
    throw wrap(`waiting for load balancer ${name} to be active`, err)
  }
}

const sameList = (a: string[], b: string[]): boolean =>
  a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i])

export const loadBalancer: KindOps<'load-balancer'> = {
  kind: 'load-balancer',
  noun: 'load balancer',
  level: 'project',
  dependsOn: ['load-balancer-security-group'],
  // last of the stack's front door: after its listeners, records and target groups
  removeAfter: ['listener', 'alias-record', 'target-group'],
  async read(ctx) {
    return { loadBalancer: await readLoadBalancer(ctx) }
  },
  diff({ desired, current }) {
    const lb = desired.public?.loadBalancer
    if (!lb) return []
    const have = current.loadBalancer
    const base = { kind: 'load-balancer' as const, name: lb.name, desired: lb, current: have }
    if (!have) {
      // Alias records outlive the load balancer they point at: some exist, so it was deleted by hand.
      const drift = (current.aliasRecords?.length ?? 0) > 0
      return [{ ...base, action: 'create', reason: `not found; subnets ${lb.subnetIds.join(', ')}`, drift }]
    }
    if (have.scheme !== lb.scheme)
      throw new Error(
        `load balancer ${lb.name} is ${have.scheme}, not ${lb.scheme}; the scheme of a load balancer cannot change: ` +
          `delete it (and its listeners) and run again`
      )
    const reasons: string[] = []
    const fields: string[] = []
    let drift = false
    if (!sameList(have.subnetIds, lb.subnetIds)) {
      reasons.push(`subnets ${have.subnetIds.join(', ') || 'none'} -> ${lb.subnetIds.join(', ')}`)
      fields.push('subnetIds')
    }
    const group = current.loadBalancerSecurityGroup?.id
    if (!group || !sameList(have.securityGroupIds, [group])) {
      reasons.push(`security groups ${have.securityGroupIds.join(', ') || 'none'} -> ${group ?? 'its own (new)'}`)
      fields.push('securityGroupIds')
      // The action always gives it exactly its own group: anything else was done by hand.
      drift = true
    }
    if (fields.length === 0) return [{ ...base, action: 'noop', reason: 'up to date' }]
    return [{ ...base, action: 'update', reason: reasons.join('; '), fields, drift }]
  },
  removals({ current, destroy }) {
    return destroy && current.loadBalancer
      ? [
          {
            kind: 'load-balancer',
            action: 'delete',
            name: current.loadBalancer.name,
            reason: '',
            current: current.loadBalancer
          }
        ]
      : []
  },
  async apply(change, { e, need }) {
    const lb = change.desired
    let have = change.current
    if (change.action === 'noop' && have) {
      if (have.state === 'provisioning') await waitAvailable(e, have.arn, lb.name)
      return { arn: have.arn, dnsName: have.dnsName, canonicalZoneId: have.canonicalZoneId }
    }
    const groupId = await need('load-balancer-security-group')
    if (!have) {
      try {
        const out = await e.send(
          new CreateLoadBalancerCommand({
            Name: lb.name,
            Type: 'application',
            Scheme: lb.scheme,
            IpAddressType: 'ipv4',
            Subnets: lb.subnetIds,
            SecurityGroups: [groupId],
            Tags: tagList(lb.tags)
          })
        )
        const made = out.LoadBalancers?.[0]
        if (made) have = toLoadBalancer(made)
      } catch (err) {
        if (errorCode(err) !== 'DuplicateLoadBalancerName') throw err
      }
      // Made by a run that was stopped before it saw the answer: adopt it (and fix what differs below).
      have ??= await describeByName(e, lb.name)
      if (!have) throw new Error(`load balancer ${lb.name} was created but cannot be read`)
    }
    const arn = have.arn
    if (!sameList(have.subnetIds, lb.subnetIds))
      await e.send(new SetSubnetsCommand({ LoadBalancerArn: arn, Subnets: lb.subnetIds }))
    if (!sameList(have.securityGroupIds, [groupId]))
      await e.send(new SetSecurityGroupsCommand({ LoadBalancerArn: arn, SecurityGroups: [groupId] }))
    if (have.state === 'provisioning') await waitAvailable(e, arn, lb.name)
    e.done({ kind: 'load-balancer', action: change.action, name: change.name, id: arn })
    return { arn, dnsName: have.dnsName, canonicalZoneId: have.canonicalZoneId }
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      const arn = change.current?.arn
      if (!arn) continue
      const deleted = await tolerate(LB_NOT_FOUND, () =>
        e.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn }))
      )
      // Its network interfaces go with it, and only then can its security group go.
      try {
        await waitUntilLoadBalancersDeleted(
          { client: e.through('elb'), ...waiterBounds(e) },
          { LoadBalancerArns: [arn] }
        )
      } catch (err) {
        throw wrap(`waiting for load balancer ${change.name} to be deleted`, err)
      }
      if (deleted) e.done({ kind: 'load-balancer', action: 'delete', name: change.name, id: arn })
    }
  }
}
