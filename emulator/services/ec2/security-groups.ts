/** Security groups and their rules. */
import type {
  AuthorizeSecurityGroupIngressRequest,
  CreateSecurityGroupRequest,
  CreateSecurityGroupResult,
  DeleteSecurityGroupRequest,
  DescribeSecurityGroupsRequest,
  DescribeSecurityGroupsResult,
  IpPermission,
  SecurityGroup,
  SecurityGroupRule as SdkRule
} from '@aws-sdk/client-ec2'
import { AwsError } from '../../types.js'
import { newId } from '../../core/ids.js'
import { matchesFilters, paginate, tagFilterValues, tagsFor, toTagList } from './filters.js'
import type { Ec2World, RuleSource, SecurityGroupRecord, SecurityGroupRule } from './model.js'
import { ec2Error } from './errors.js'

function notFound(id: string): AwsError {
  return ec2Error('InvalidGroup.NotFound', `The security group '${id}' does not exist`)
}

/** A security group by id as other calls see it (not yet visible = not found). */
export function findGroup(world: Ec2World, region: string, groupId: string): SecurityGroupRecord {
  const group = world.groups.get(groupId)
  if (!group || group.region !== region || !world.visible(group.createdAt)) throw notFound(groupId)
  return group
}

function findGroupByRef(
  world: Ec2World,
  region: string,
  ref: { GroupId?: string; GroupName?: string }
): SecurityGroupRecord {
  if (ref.GroupId) return findGroup(world, region, ref.GroupId)
  const vpcId = world.network.defaultVpc(region).vpcId
  const group = [...world.groups.values()].find(
    (g) => g.region === region && g.vpcId === vpcId && g.groupName === ref.GroupName && world.visible(g.createdAt)
  )
  if (!group) throw notFound(ref.GroupName ?? '')
  return group
}

export function createSecurityGroup(
  world: Ec2World,
  region: string,
  input: CreateSecurityGroupRequest
): CreateSecurityGroupResult {
  const name = input.GroupName
  if (!name) throw ec2Error('MissingParameter', 'The request must contain the parameter groupName')
  if (!input.Description) throw ec2Error('MissingParameter', 'The request must contain the parameter GroupDescription')
  if (name.startsWith('sg-')) throw ec2Error('InvalidParameterValue', 'Group names may not be in the format sg-*.')
  const vpcId = input.VpcId ? world.network.vpc(region, input.VpcId).vpcId : world.network.defaultVpc(region).vpcId
  const duplicate = [...world.groups.values()].some(
    (g) => g.region === region && g.vpcId === vpcId && g.groupName === name
  )
  if (duplicate)
    throw ec2Error('InvalidGroup.Duplicate', `The security group '${name}' already exists for VPC '${vpcId}'`)
  const group: SecurityGroupRecord = {
    groupId: newId(world.cloud, 'sg-'),
    groupName: name,
    description: input.Description,
    vpcId,
    region,
    createdAt: Date.now(),
    tags: tagsFor(input.TagSpecifications, 'security-group'),
    rules: []
  }
  group.rules.push({
    ruleId: newId(world.cloud, 'sgr-'),
    egress: true,
    ipProtocol: '-1',
    source: { cidr: '0.0.0.0/0' }
  })
  world.groups.set(group.groupId, group)
  return { GroupId: group.groupId, Tags: toTagList(group.tags), SecurityGroupArn: groupArn(world, group) }
}

function groupArn(world: Ec2World, g: SecurityGroupRecord): string {
  return `arn:aws:ec2:${g.region}:${world.cloud.accountId}:security-group/${g.groupId}`
}

function permissionKey(r: SecurityGroupRule): string {
  return `${r.ipProtocol}/${r.fromPort ?? ''}/${r.toPort ?? ''}`
}

/** Rules grouped back into IpPermissions as EC2 describes them. */
function toPermissions(world: Ec2World, rules: SecurityGroupRule[]): IpPermission[] {
  const byKey = new Map<string, IpPermission>()
  for (const r of rules) {
    const key = permissionKey(r)
    const perm = byKey.get(key) ?? {
      IpProtocol: r.ipProtocol,
      FromPort: r.fromPort,
      ToPort: r.toPort,
      IpRanges: [],
      UserIdGroupPairs: [],
      Ipv6Ranges: [],
      PrefixListIds: []
    }
    byKey.set(key, perm)
    if (r.source.cidr) perm.IpRanges?.push({ CidrIp: r.source.cidr, Description: r.source.description })
    if (r.source.groupId)
      perm.UserIdGroupPairs?.push({
        GroupId: r.source.groupId,
        UserId: world.cloud.accountId,
        Description: r.source.description
      })
  }
  return [...byKey.values()]
}

function toSecurityGroup(world: Ec2World, g: SecurityGroupRecord): SecurityGroup {
  return {
    GroupId: g.groupId,
    GroupName: g.groupName,
    Description: g.description,
    OwnerId: world.cloud.accountId,
    VpcId: g.vpcId,
    SecurityGroupArn: groupArn(world, g),
    IpPermissions: toPermissions(
      world,
      g.rules.filter((r) => !r.egress)
    ),
    IpPermissionsEgress: toPermissions(
      world,
      g.rules.filter((r) => r.egress)
    ),
    Tags: toTagList(g.tags)
  }
}

function groupFilterValues(g: SecurityGroupRecord, name: string): string[] | undefined {
  switch (name) {
    case 'group-name':
      return [g.groupName]
    case 'group-id':
      return [g.groupId]
    case 'vpc-id':
      return [g.vpcId]
    case 'description':
      return [g.description]
    default:
      return tagFilterValues(g.tags, name)
  }
}

export function describeSecurityGroups(
  world: Ec2World,
  region: string,
  input: DescribeSecurityGroupsRequest
): DescribeSecurityGroupsResult {
  world.network.ensureRegion(region)
  let groups: SecurityGroupRecord[]
  if (input.GroupIds?.length) groups = input.GroupIds.map((id) => findGroup(world, region, id))
  else if (input.GroupNames?.length)
    groups = input.GroupNames.map((n) => findGroupByRef(world, region, { GroupName: n }))
  else groups = [...world.groups.values()].filter((g) => g.region === region && world.visible(g.createdAt))
  const matching = groups.filter((g) => matchesFilters(input.Filters, (n) => groupFilterValues(g, n)))
  const { page, nextToken } = paginate(matching, input.MaxResults, input.NextToken)
  return { SecurityGroups: page.map((g) => toSecurityGroup(world, g)), NextToken: nextToken }
}

export function deleteSecurityGroup(
  world: Ec2World,
  region: string,
  input: DeleteSecurityGroupRequest
): { Return: boolean; GroupId: string } {
  const group = findGroupByRef(world, region, input)
  if (group.groupName === 'default')
    throw ec2Error(
      'CannotDelete',
      `the specified group: "${group.groupId}" name: "default" cannot be deleted by a user`
    )
  const user = [...world.instances.values()].find(
    (i) => i.state !== 'terminated' && i.securityGroupIds.includes(group.groupId)
  )
  const referrer = [...world.groups.values()].find(
    (g) => g !== group && g.rules.some((r) => r.source.groupId === group.groupId)
  )
  if (user || referrer) throw ec2Error('DependencyViolation', `resource ${group.groupId} has a dependent object`)
  world.groups.delete(group.groupId)
  return { Return: true, GroupId: group.groupId }
}

/** The rules an IpPermissions list (or the flat CidrIp form) stands for. */
function rulesFrom(input: AuthorizeSecurityGroupIngressRequest, egress: boolean): Omit<SecurityGroupRule, 'ruleId'>[] {
  const perms: IpPermission[] = input.IpPermissions?.length
    ? input.IpPermissions
    : [
        {
          IpProtocol: input.IpProtocol,
          FromPort: input.FromPort,
          ToPort: input.ToPort,
          IpRanges: input.CidrIp ? [{ CidrIp: input.CidrIp }] : []
        }
      ]
  const out: Omit<SecurityGroupRule, 'ruleId'>[] = []
  for (const p of perms) {
    const ipProtocol = p.IpProtocol === 'all' ? '-1' : (p.IpProtocol ?? '-1')
    const ports = ipProtocol === '-1' ? {} : { fromPort: p.FromPort, toPort: p.ToPort }
    const sources: RuleSource[] = [
      ...(p.IpRanges ?? []).map((r) => ({ cidr: r.CidrIp, description: r.Description })),
      ...(p.UserIdGroupPairs ?? []).map((g) => ({ groupId: g.GroupId, description: g.Description }))
    ]
    if (sources.length === 0)
      throw ec2Error('MissingParameter', 'The request must contain the parameter ipPermissions source')
    for (const source of sources) out.push({ egress, ipProtocol, ...ports, source })
  }
  return out
}

function sameRule(a: Omit<SecurityGroupRule, 'ruleId'>, b: Omit<SecurityGroupRule, 'ruleId'>): boolean {
  return (
    a.egress === b.egress &&
    permissionKey(a as SecurityGroupRule) === permissionKey(b as SecurityGroupRule) &&
    a.source.cidr === b.source.cidr &&
    a.source.groupId === b.source.groupId
  )
}

function toSdkRule(world: Ec2World, g: SecurityGroupRecord, r: SecurityGroupRule): SdkRule {
  return {
    SecurityGroupRuleId: r.ruleId,
    GroupId: g.groupId,
    GroupOwnerId: world.cloud.accountId,
    IsEgress: r.egress,
    IpProtocol: r.ipProtocol,
    FromPort: r.fromPort ?? -1,
    ToPort: r.toPort ?? -1,
    CidrIpv4: r.source.cidr,
    Description: r.source.description,
    ...(r.source.groupId ? { ReferencedGroupInfo: { GroupId: r.source.groupId, UserId: world.cloud.accountId } } : {})
  }
}

export function authorize(
  world: Ec2World,
  region: string,
  input: AuthorizeSecurityGroupIngressRequest,
  egress: boolean
): { Return: boolean; SecurityGroupRules: SdkRule[] } {
  const group = findGroupByRef(world, region, input)
  const wanted = rulesFrom(input, egress)
  for (const rule of wanted) {
    if (rule.source.groupId) findGroup(world, region, rule.source.groupId)
    if (group.rules.some((r) => sameRule(r, rule))) {
      const peer = rule.source.cidr ?? rule.source.groupId
      throw ec2Error(
        'InvalidPermission.Duplicate',
        `the specified rule "peer: ${peer}, ${rule.ipProtocol.toUpperCase()}, from port: ${rule.fromPort}, to port: ${rule.toPort}, ALLOW" already exists`
      )
    }
  }
  const added = wanted.map((r) => ({ ...r, ruleId: newId(world.cloud, 'sgr-') }))
  group.rules.push(...added)
  return { Return: true, SecurityGroupRules: added.map((r) => toSdkRule(world, group, r)) }
}

export function revoke(
  world: Ec2World,
  region: string,
  input: AuthorizeSecurityGroupIngressRequest,
  egress: boolean
): { Return: boolean } {
  const group = findGroupByRef(world, region, input)
  const wanted = rulesFrom(input, egress)
  for (const rule of wanted) {
    if (!group.rules.some((r) => sameRule(r, rule))) {
      throw ec2Error('InvalidPermission.NotFound', 'The specified rule does not exist in this security group.')
    }
  }
  group.rules = group.rules.filter((r) => !wanted.some((w) => sameRule(r, w)))
  return { Return: true }
}

export function groupState(world: Ec2World): unknown {
  return [...world.groups.values()].map((g) => ({
    groupId: g.groupId,
    groupName: g.groupName,
    vpcId: g.vpcId,
    region: g.region,
    tags: g.tags,
    rules: g.rules
  }))
}
