/** The load balancer's security group: HTTPS and HTTP from anywhere; the instances' public ports open only to it. */
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2'
import { wrap } from '../aws/errors.js'
import { ingressKey } from '../container-ports.js'
import { TAGS, loadBalancerSecurityGroupName } from '../names.js'
import type { IngressRule } from '../state.js'
import { readLoadBalancer, publicReads } from './load-balancer.js'
import { createGroup, deleteGroup, ingressHash, ingressOf, updateIngress } from './security-group.js'
import { tagMap, type KindOps, type Removal, type Upsert } from './kind.js'

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
  /** Tag hyperform:config-hash: the hash of the ingress rules the action last wrote. */
  configHash?: string
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
  async read(ctx) {
    if (!(await publicReads(ctx))) return {}
    const name = loadBalancerSecurityGroupName(ctx.scope)
    let found: CurrentLoadBalancerSecurityGroup[]
    try {
      // By name and project (the name is unique per VPC; the diff checks the VPC).
      const out = await ctx.aws.send(
        new DescribeSecurityGroupsCommand({
          Filters: [
            { Name: 'group-name', Values: [name] },
            { Name: `tag:${TAGS.project}`, Values: [ctx.scope.project] }
          ]
        })
      )
      found = (out.SecurityGroups ?? []).map((g) => ({
        id: g.GroupId ?? '',
        name: g.GroupName ?? '',
        vpcId: g.VpcId,
        ingress: ingressOf(g.IpPermissions),
        configHash: tagMap(g.Tags)[TAGS.configHash]
      }))
    } catch (err) {
      throw wrap(`reading security group ${name}`, err)
    }
    // The one the load balancer uses, if several VPCs have one.
    const lb = await readLoadBalancer(ctx)
    const group = found.find((g) => lb?.securityGroupIds.includes(g.id)) ?? found[0]
    return { loadBalancerSecurityGroup: group }
  },
  diff({ desired, current }) {
    const sg = desired.public?.securityGroup
    if (!sg) return []
    const have = current.loadBalancerSecurityGroup
    const base = {
      kind: 'load-balancer-security-group' as const,
      name: sg.name,
      desired: sg,
      current: have
    }
    if (!have) {
      // A load balancer without its group: the group was deleted (or swapped) by hand.
      const drift = current.loadBalancer !== undefined
      return [{ ...base, action: 'create', reason: `not found; ${sg.ingress.length} ingress rule(s)`, drift }]
    }
    if (have.vpcId && have.vpcId !== sg.vpcId)
      throw new Error(
        `security group ${sg.name} (the project's load balancer's) is in ${have.vpcId} but the stack deploys to ` +
          `${sg.vpcId}; a project's stacks share one load balancer in one VPC: destroy the project's other stacks ` +
          `first, or deploy to ${have.vpcId}`
      )
    const want = new Set(sg.ingress.map(ingressKey))
    const got = new Set(have.ingress.map(ingressKey))
    const added = [...want].filter((k) => !got.has(k))
    const removed = [...got].filter((k) => !want.has(k))
    if (added.length === 0 && removed.length === 0) return [{ ...base, action: 'noop', reason: 'up to date' }]
    const parts = [added.length ? `+${added.join(' +')}` : '', removed.length ? `-${removed.join(' -')}` : '']
    return [
      {
        ...base,
        action: 'update',
        reason: `ingress ${parts.filter(Boolean).join(' ')}`,
        fields: ['ingress'],
        drift: have.configHash === ingressHash(sg.ingress)
      }
    ]
  },
  removals({ current, destroy }) {
    const have = current.loadBalancerSecurityGroup
    return destroy && have
      ? [{ kind: 'load-balancer-security-group', action: 'delete', name: have.name, reason: '', current: have }]
      : []
  },
  async apply(change, { e }) {
    const sg = change.desired
    const have = change.current
    if (change.action === 'noop' && have) return have.id
    let id: string
    if (change.action === 'update' && have) {
      await updateIngress(e, have, sg.ingress, ingressHash(sg.ingress))
      id = have.id
    } else {
      id = await createGroup(e, sg)
    }
    e.done({ kind: 'load-balancer-security-group', action: change.action, name: change.name, id })
    return id
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      const id = change.current?.id
      if (!id) continue
      // the load balancer's interfaces linger a little after it is gone; the services' groups refer to it until they go
      if (await deleteGroup(e, id))
        e.done({ kind: 'load-balancer-security-group', action: 'delete', name: change.name, id })
    }
  }
}
