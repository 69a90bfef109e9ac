/** A service's security group: the ingress its published and exposed ports need, tagged with their hash. */
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupIngressCommand,
  paginateDescribeSecurityGroups
} from '@aws-sdk/client-ec2'
import type { IpPermission, SecurityGroup } from '@aws-sdk/client-ec2'
import { codedError, errorCode, wrap } from '../aws/errors.js'
import type { Engine } from '../aws/engine.js'
import { tolerate, type Aws } from '../aws/send.js'
import { ingressKey, sortIngressRules } from '../container-ports.js'
import { shortSha } from '../json.js'
import { TAGS } from '../names.js'
import { FROM_LOAD_BALANCER, type IngressRule } from '../state.js'
import { stackFilters, tagList, tagMap, type KindOps, type Removal, type Upsert } from './kind.js'

export interface DesiredSecurityGroup {
  name: string
  description: string
  vpcId: string
  ingress: IngressRule[]
  tags: Record<string, string>
}

export interface CurrentSecurityGroup {
  id: string
  name: string
  vpcId?: string
  service: string
  ingress: IngressRule[]
  /** Tag hyperform:config-hash: the hash of the ingress rules the action last wrote. */
  configHash?: string
}

export type SecurityGroupChange =
  Upsert<'security-group', DesiredSecurityGroup, CurrentSecurityGroup> | Removal<'security-group', CurrentSecurityGroup>

/** EC2 is eventually consistent: a new group is not found for a while. */
export const SG_NOT_VISIBLE = ['InvalidGroup.NotFound', 'InvalidGroupId.NotFound']

/** Hash of a security group's ingress rules (tag hyperform:config-hash on the group). */
export function ingressHash(rules: IngressRule[]): string {
  return shortSha(sortIngressRules(rules).map(ingressKey))
}

export function ingressOf(permissions: IpPermission[] | undefined): IngressRule[] {
  const rules: IngressRule[] = []
  for (const p of permissions ?? []) {
    const protocol = p.IpProtocol
    if (protocol !== 'tcp' && protocol !== 'udp') continue
    // a rule from another security group (the load balancer's) holds that group's id where a CIDR would be
    const ranges = [
      ...(p.IpRanges ?? []).map((r) => r.CidrIp),
      ...(p.Ipv6Ranges ?? []).map((r) => r.CidrIpv6),
      ...(p.UserIdGroupPairs ?? []).map((g) => g.GroupId)
    ]
    for (const cidr of ranges)
      if (cidr) rules.push({ protocol, fromPort: p.FromPort ?? 0, toPort: p.ToPort ?? 0, cidr })
  }
  return rules
}

function toSecurityGroup(g: SecurityGroup): CurrentSecurityGroup {
  const tags = tagMap(g.Tags)
  return {
    id: g.GroupId ?? '',
    name: g.GroupName ?? '',
    vpcId: g.VpcId,
    service: tags[TAGS.service] ?? '',
    ingress: ingressOf(g.IpPermissions),
    configHash: tags[TAGS.configHash]
  }
}

function permissions(rules: IngressRule[], description?: string): IpPermission[] {
  return rules.map((r) => ({
    IpProtocol: r.protocol,
    FromPort: r.fromPort,
    ToPort: r.toPort,
    ...(r.cidr.startsWith('sg-')
      ? { UserIdGroupPairs: [{ GroupId: r.cidr, Description: description }] }
      : r.cidr.includes(':')
        ? { Ipv6Ranges: [{ CidrIpv6: r.cidr, Description: description }] }
        : { IpRanges: [{ CidrIp: r.cidr, Description: description }] })
  }))
}

export async function authorize(aws: Aws, groupId: string, rules: IngressRule[]): Promise<void> {
  if (rules.length === 0) return
  const send = (batch: IngressRule[]): Promise<unknown> =>
    aws.retryOn(SG_NOT_VISIBLE, () =>
      aws.send(
        new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: permissions(batch, 'hyperform') })
      )
    )
  try {
    await send(rules)
  } catch (err) {
    if (errorCode(err) !== 'InvalidPermission.Duplicate') throw err
    // Some exist already (a crashed run): add the rest one by one.
    for (const rule of rules) {
      await send([rule]).catch((inner: unknown) => {
        if (errorCode(inner) !== 'InvalidPermission.Duplicate') throw inner
      })
    }
  }
}

export async function revoke(aws: Aws, groupId: string, rules: IngressRule[]): Promise<void> {
  if (rules.length > 0)
    await aws.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: permissions(rules) }))
}

async function findGroup(
  aws: Aws,
  name: string,
  vpcId: string
): Promise<{ id: string; ingress: IngressRule[] } | undefined> {
  const out = await aws.send(
    new DescribeSecurityGroupsCommand({
      Filters: [
        { Name: 'group-name', Values: [name] },
        { Name: 'vpc-id', Values: [vpcId] }
      ]
    })
  )
  const group = out.SecurityGroups?.[0]
  return group?.GroupId
    ? { id: group.GroupId, ingress: ingressOf(group.IpPermissions).filter((r) => !r.cidr.includes(':')) }
    : undefined
}

export function missingRules(want: IngressRule[], have: IngressRule[]): IngressRule[] {
  const got = new Set(have.map(ingressKey))
  return want.filter((r) => !got.has(ingressKey(r)))
}

/** Creates (or adopts) the group with its ingress rules; returns its id. */
export async function createGroup(aws: Aws, sg: DesiredSecurityGroup, hash = ingressHash(sg.ingress)): Promise<string> {
  const hashTag = { [TAGS.configHash]: hash }
  let id: string
  let existing: IngressRule[] = []
  try {
    const out = await aws.send(
      new CreateSecurityGroupCommand({
        GroupName: sg.name,
        Description: sg.description,
        VpcId: sg.vpcId,
        TagSpecifications: [{ ResourceType: 'security-group', Tags: tagList({ ...sg.tags, ...hashTag }) }]
      })
    )
    id = out.GroupId ?? ''
  } catch (err) {
    if (errorCode(err) !== 'InvalidGroup.Duplicate') throw err
    const found = await aws.retryOn(['NotYet'], async () => {
      const group = await findGroup(aws, sg.name, sg.vpcId)
      if (!group) throw codedError('NotYet', `security group ${sg.name} exists but is not visible yet`)
      return group
    })
    id = found.id
    existing = found.ingress
  }
  await authorize(aws, id, missingRules(sg.ingress, existing))
  return id
}

/** Makes an existing group's ingress the wanted rules (adds what lacks, revokes the rest), then tags their hash. */
export async function updateIngress(
  aws: Aws,
  have: { id: string; ingress: IngressRule[] },
  want: IngressRule[],
  hash: string
): Promise<void> {
  const wanted = new Set(want.map(ingressKey))
  await Promise.all([
    authorize(aws, have.id, missingRules(want, have.ingress)),
    revoke(
      aws,
      have.id,
      have.ingress.filter((r) => !wanted.has(ingressKey(r)))
    )
  ])
  await aws.send(new CreateTagsCommand({ Resources: [have.id], Tags: tagList({ [TAGS.configHash]: hash }) }))
}

/**
 * Deletes a group once no network interface or other group's rule uses it: DependencyViolation is
 * retried meanwhile (instances going, a load balancer's interfaces lingering). False: already gone.
 */
export function deleteGroup(e: Engine, id: string): Promise<boolean> {
  return tolerate(SG_NOT_VISIBLE, () =>
    e.retryOn(
      ['DependencyViolation'],
      () => e.send(new DeleteSecurityGroupCommand({ GroupId: id })),
      e.timing.teardownMs
    )
  )
}

/** The rules with FROM_LOAD_BALANCER made the load balancer group's id (left as is while it is unknown). */
function resolveSources(rules: IngressRule[], loadBalancerGroup: string | undefined): IngressRule[] {
  return rules.map((r) => (r.cidr === FROM_LOAD_BALANCER && loadBalancerGroup ? { ...r, cidr: loadBalancerGroup } : r))
}

export const securityGroup: KindOps<'security-group'> = {
  kind: 'security-group',
  noun: 'security group',
  level: 'service',
  dependsOn: ['load-balancer-security-group'],
  removeAfter: ['auto-scaling-group', 'launch-template'],
  async read({ aws, scope }) {
    const groups: CurrentSecurityGroup[] = []
    try {
      for await (const page of paginateDescribeSecurityGroups(
        { client: aws.through('ec2'), pageSize: 1000 },
        { Filters: stackFilters(scope) }
      )) {
        groups.push(...(page.SecurityGroups ?? []).map(toSecurityGroup))
      }
    } catch (err) {
      throw wrap(`listing security groups of stack ${scope.stack}`, err)
    }
    return { securityGroups: groups }
  },
  diff({ current }, service) {
    const sg = service.securityGroup
    const have = current.securityGroups.find((g) => g.name === sg.name)
    const lt = current.launchTemplates.some((t) => t.name === service.launchTemplate.name)
    const serviceExists = lt || service.asgs.some((a) => current.asgs.some((g) => g.name === a.name))
    const base = { kind: 'security-group' as const, name: sg.name, service: service.name, desired: sg, current: have }
    if (!have)
      return [
        { ...base, action: 'create', reason: `not found; ${sg.ingress.length} ingress rule(s)`, drift: serviceExists }
      ]
    if (have.vpcId && have.vpcId !== sg.vpcId) {
      throw new Error(
        `security group ${sg.name} is in ${have.vpcId} but the stack now deploys to ${sg.vpcId}; destroy the stack first`
      )
    }
    const want = new Set(resolveSources(sg.ingress, current.loadBalancerSecurityGroup?.id).map(ingressKey))
    const got = new Set(have.ingress.map(ingressKey))
    const added = [...want].filter((k) => !got.has(k))
    const removed = [...got].filter((k) => !want.has(k))
    if (added.length === 0 && removed.length === 0) return [{ ...base, action: 'noop', reason: 'up to date' }]
    const parts = [added.length ? `+${added.join(' +')}` : '', removed.length ? `-${removed.join(' -')}` : ''].filter(
      Boolean
    )
    return [
      {
        ...base,
        action: 'update',
        reason: `ingress ${parts.join(' ')}`,
        fields: ['ingress'],
        drift: have.configHash === ingressHash(sg.ingress)
      }
    ]
  },
  removals({ current, keep, reason }) {
    return current.securityGroups
      .filter((g) => !keep.names.has(g.name))
      .map((g) => ({
        kind: 'security-group' as const,
        action: 'delete' as const,
        name: g.name,
        service: g.service,
        reason,
        current: g
      }))
  },
  async apply(change, { e, need }) {
    const have = change.current
    if (change.action === 'noop' && have) return have.id
    const fromLoadBalancer = change.desired.ingress.some((r) => r.cidr === FROM_LOAD_BALANCER)
    const sg = fromLoadBalancer
      ? {
          ...change.desired,
          ingress: resolveSources(change.desired.ingress, await need('load-balancer-security-group'))
        }
      : change.desired
    let id: string
    if (change.action === 'update' && have) {
      await updateIngress(e, have, sg.ingress, ingressHash(change.desired.ingress))
      id = have.id
    } else {
      id = await createGroup(e, sg, ingressHash(change.desired.ingress))
    }
    e.done({ kind: 'security-group', action: change.action, name: change.name, service: change.service, id })
    return id
  },
  async remove(changes, { e }) {
    for (const change of changes) {
      const id = change.current?.id
      if (!id) continue
      if (await deleteGroup(e, id))
        e.done({ kind: 'security-group', action: 'delete', name: change.name, service: change.service, id })
    }
  }
}
