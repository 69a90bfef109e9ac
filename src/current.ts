/**
 * The current state, read with few calls: every read is a batch (tag
 * filters) or a single named resource, and the independent ones run
 * concurrently. For a stack of N services a no-op deploy reads:
 *   GetFunction, GetRolePolicy, GetPolicy, DescribeLogGroups, DescribeRule,
 *   ListTargetsByRule                                   (6, project level)
 *   DescribeSecurityGroups, DescribeLaunchTemplates,
 *   DescribeAutoScalingGroups (ceil(2N / 100) pages)   (2 + ceil(N / 50))
 * With resolveNetwork's 2 that is 12 reads at 100 services. The zone id comes
 * from the function's ZONE_ID when it names our zone (a private zone cannot be
 * deleted while it holds records, and apply tolerates it being gone);
 * ListHostedZonesByName only when there is no function. Records, instances and
 * other stacks are read only on request (ReadOptions).
 */
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling'
import type { AutoScalingGroup } from '@aws-sdk/client-auto-scaling'
import { DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { DescribeInstancesCommand, DescribeLaunchTemplatesCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2'
import type { Filter, IpPermission, LaunchTemplate, SecurityGroup } from '@aws-sdk/client-ec2'
import { DescribeRuleCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge'
import { GetRolePolicyCommand } from '@aws-sdk/client-iam'
import { GetFunctionCommand, GetPolicyCommand } from '@aws-sdk/client-lambda'
import { GetHostedZoneCommand, ListHostedZonesByNameCommand, ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53'
import type { ResourceRecordSet } from '@aws-sdk/client-route-53'
import type { Clients } from './aws/clients.js'
import { errorName, wrap } from './aws/retry.js'
import { IMAGE_TAG, INSTANCE_TYPE_TAG, VERSION_TAG, canonicalJson } from './desired.js'
import {
  CONFIG_HASH_TAG,
  PERMISSION_STATEMENT_ID,
  ROLE_POLICY_NAME,
  TAGS,
  functionName,
  logGroupName,
  roleName,
  ruleName,
  stackDomain,
  zoneName
} from './names.js'
import type { Capacity, StackScope } from './names.js'
import type {
  CurrentAsg,
  CurrentFunction,
  CurrentInstance,
  CurrentLaunchTemplate,
  CurrentLogGroup,
  CurrentPermission,
  CurrentRecord,
  CurrentRolePolicy,
  CurrentRule,
  CurrentSecurityGroup,
  CurrentState,
  CurrentTarget,
  CurrentZone,
  IngressRule
} from './state.js'

export interface ReadOptions {
  /** Also read the stack's records (ListResourceRecordSets; wait, drift, reports). */
  records?: boolean
  /** Also read the stack's instances (DescribeInstances, one call per 1000). */
  instances?: boolean
  /** Also find other stacks of the project (destroy): one DescribeAutoScalingGroups on the project tag. */
  otherStacks?: boolean
}

/** Runs a read; `missing` error names give undefined; anything else is wrapped with context. */
async function optional<T>(context: string, missing: string[], read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read()
  } catch (err) {
    if (missing.includes(errorName(err))) return undefined
    throw wrap(context, err)
  }
}

export function tagFilters(scope: StackScope): Filter[] {
  return [
    { Name: `tag:${TAGS.project}`, Values: [scope.project] },
    { Name: `tag:${TAGS.stack}`, Values: [scope.stack] }
  ]
}

function tagMap(tags: Array<{ Key?: string; Value?: string }> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? ''
  return out
}

export function accountOf(arn: string | undefined): string | undefined {
  return arn?.split(':')[4] || undefined
}

// ------------------------------------------------------------ project level

async function readFunction(clients: Clients, name: string): Promise<CurrentFunction | undefined> {
  const out = await optional(`reading function ${name}`, ['ResourceNotFoundException'], () =>
    clients.lambda.send(new GetFunctionCommand({ FunctionName: name }))
  )
  const c = out?.Configuration
  if (!c) return undefined
  return {
    name,
    arn: c.FunctionArn ?? '',
    runtime: c.Runtime,
    handler: c.Handler,
    role: c.Role,
    timeout: c.Timeout,
    memorySize: c.MemorySize,
    codeSha256: c.CodeSha256,
    environment: { ...(c.Environment?.Variables ?? {}) },
    state: c.State,
    lastUpdateStatus: c.LastUpdateStatus
  }
}

async function readRolePolicy(clients: Clients, role: string): Promise<CurrentRolePolicy | undefined> {
  const out = await optional(`reading role policy ${role}/${ROLE_POLICY_NAME}`, ['NoSuchEntity', 'NoSuchEntityException'], () =>
    clients.iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: ROLE_POLICY_NAME }))
  )
  if (!out) return undefined
  return { roleName: role, policyName: ROLE_POLICY_NAME, document: parsePolicy(out.PolicyDocument) }
}

/** IAM returns policy documents URL-encoded. */
export function parsePolicy(text: string | undefined): unknown {
  if (!text) return undefined
  for (const candidate of [text, safeDecode(text)]) {
    try {
      return JSON.parse(candidate)
    } catch {
      // try the next form
    }
  }
  return text
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

interface PolicyStatement {
  Sid?: string
  Principal?: { Service?: string } | string
  Action?: string | string[]
  Condition?: Record<string, Record<string, string>>
}

async function readPermission(clients: Clients, fn: string): Promise<CurrentPermission | undefined> {
  const out = await optional(`reading the resource policy of ${fn}`, ['ResourceNotFoundException'], () =>
    clients.lambda.send(new GetPolicyCommand({ FunctionName: fn }))
  )
  const policy = parsePolicy(out?.Policy) as { Statement?: PolicyStatement[] } | undefined
  const statement = policy?.Statement?.find((s) => s.Sid === PERMISSION_STATEMENT_ID)
  if (!statement) return undefined
  const principal = typeof statement.Principal === 'string' ? statement.Principal : statement.Principal?.Service
  const sourceArn = statement.Condition?.ArnLike?.['AWS:SourceArn'] ?? statement.Condition?.ArnEquals?.['AWS:SourceArn']
  const action = Array.isArray(statement.Action) ? statement.Action[0] : statement.Action
  return { statementId: PERMISSION_STATEMENT_ID, principal, action, sourceArn }
}

async function readLogGroup(clients: Clients, name: string): Promise<CurrentLogGroup | undefined> {
  let out
  try {
    out = await clients.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name }))
  } catch (err) {
    throw wrap(`reading log group ${name}`, err)
  }
  const group = out.logGroups?.find((g) => g.logGroupName === name)
  if (!group) return undefined
  return { name, arn: group.arn?.replace(/:\*$/, ''), retentionDays: group.retentionInDays }
}

function canonicalPattern(text: string | undefined): string | undefined {
  if (text === undefined) return undefined
  try {
    return canonicalJson(JSON.parse(text))
  } catch {
    return text
  }
}

async function readRule(clients: Clients, name: string): Promise<CurrentRule | undefined> {
  const out = await optional(`reading rule ${name}`, ['ResourceNotFoundException'], () =>
    clients.events.send(new DescribeRuleCommand({ Name: name }))
  )
  if (!out?.Arn) return undefined
  return { name, arn: out.Arn, eventPattern: canonicalPattern(out.EventPattern), state: out.State }
}

async function readTargets(clients: Clients, rule: string): Promise<CurrentTarget[]> {
  const out = await optional(`listing the targets of rule ${rule}`, ['ResourceNotFoundException'], () =>
    clients.events.send(new ListTargetsByRuleCommand({ Rule: rule }))
  )
  return (out?.Targets ?? []).map((t) => ({ id: t.Id ?? '', arn: t.Arn ?? '' }))
}

// ------------------------------------------------------------ zone and records

const trimDot = (name: string): string => name.replace(/\.$/, '').toLowerCase()

/** The project's private zone by name (ListHostedZonesByName); several of that name: the one in `vpcId`. */
export async function findZone(clients: Clients, name: string, vpcId?: string): Promise<CurrentZone | undefined> {
  let out
  try {
    out = await clients.route53.send(new ListHostedZonesByNameCommand({ DNSName: name, MaxItems: 100 }))
  } catch (err) {
    throw wrap(`looking up hosted zone ${name}`, err)
  }
  const zones = (out.HostedZones ?? []).filter((z) => trimDot(z.Name ?? '') === name && z.Config?.PrivateZone)
  const ids = zones.map((z) => (z.Id ?? '').replace(/^\/hostedzone\//, ''))
  if (ids.length <= 1 || !vpcId) return ids[0] ? { id: ids[0], name } : undefined
  for (const id of ids) {
    const zone = await clients.route53.send(new GetHostedZoneCommand({ Id: id }))
    if (zone.VPCs?.some((v) => v.VPCId === vpcId)) return { id, name }
  }
  return ids[0] ? { id: ids[0], name } : undefined
}

function toRecord(set: ResourceRecordSet): CurrentRecord {
  return {
    name: trimDot(set.Name ?? ''),
    type: set.Type ?? '',
    ttl: set.TTL,
    values: (set.ResourceRecords ?? []).map((r) => r.Value ?? '')
  }
}

/**
 * The records at and under `domain`. Route 53 lists in order of reversed labels,
 * so they are contiguous from StartRecordName = domain: stop at the first name outside.
 */
export async function listRecordsUnder(clients: Clients, zoneId: string, domain: string): Promise<CurrentRecord[]> {
  const records: CurrentRecord[] = []
  let start: { name?: string; type?: string; id?: string } = { name: domain }
  for (;;) {
    const out = await clients.route53.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        StartRecordName: start.name,
        StartRecordType: start.type as never,
        StartRecordIdentifier: start.id,
        MaxItems: 300
      })
    )
    for (const set of out.ResourceRecordSets ?? []) {
      const record = toRecord(set)
      if (record.name !== domain && !record.name.endsWith(`.${domain}`)) return records
      records.push(record)
    }
    if (!out.IsTruncated) return records
    start = { name: out.NextRecordName, type: out.NextRecordType, id: out.NextRecordIdentifier }
  }
}

/** The zone (from the function's ZONE_ID when it names our zone, else by name) and, on request, the stack's records. */
async function readZone(
  clients: Clients,
  args: { scope: StackScope; fn: Promise<CurrentFunction | undefined>; records: boolean }
): Promise<{ zone?: CurrentZone; records?: CurrentRecord[] }> {
  const name = zoneName(args.scope)
  const domain = stackDomain(args.scope)
  const env = (await args.fn)?.environment
  const hinted = env?.ZONE_NAME === name && env.ZONE_ID ? env.ZONE_ID.replace(/^\/hostedzone\//, '') : undefined
  if (hinted && !args.records) return { zone: { id: hinted, name } }
  if (hinted) {
    const records = await optional(`listing records of ${domain}`, ['NoSuchHostedZone'], () => listRecordsUnder(clients, hinted, domain))
    if (records) return { zone: { id: hinted, name }, records }
  }
  const zone = await findZone(clients, name)
  if (!zone || !args.records) return { zone }
  try {
    return { zone, records: await listRecordsUnder(clients, zone.id, domain) }
  } catch (err) {
    throw wrap(`listing records of ${domain}`, err)
  }
}

// ------------------------------------------------------------ stack level

function ingressOf(permissions: IpPermission[] | undefined): IngressRule[] {
  const rules: IngressRule[] = []
  for (const p of permissions ?? []) {
    const protocol = p.IpProtocol
    if (protocol !== 'tcp' && protocol !== 'udp') continue
    const ranges = [...(p.IpRanges ?? []).map((r) => r.CidrIp), ...(p.Ipv6Ranges ?? []).map((r) => r.CidrIpv6)]
    for (const cidr of ranges) {
      if (cidr) rules.push({ protocol, fromPort: p.FromPort ?? 0, toPort: p.ToPort ?? 0, cidr })
    }
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
    configHash: tags[CONFIG_HASH_TAG]
  }
}

async function readSecurityGroups(clients: Clients, scope: StackScope): Promise<CurrentSecurityGroup[]> {
  const groups: CurrentSecurityGroup[] = []
  let token: string | undefined
  try {
    do {
      const out = await clients.ec2.send(new DescribeSecurityGroupsCommand({ Filters: tagFilters(scope), NextToken: token, MaxResults: 1000 }))
      groups.push(...(out.SecurityGroups ?? []).map(toSecurityGroup))
      token = out.NextToken
    } while (token)
  } catch (err) {
    throw wrap(`listing security groups of stack ${scope.stack}`, err)
  }
  return groups
}

function toLaunchTemplate(t: LaunchTemplate): CurrentLaunchTemplate {
  const tags = tagMap(t.Tags)
  return {
    id: t.LaunchTemplateId ?? '',
    name: t.LaunchTemplateName ?? '',
    service: tags[TAGS.service] ?? '',
    defaultVersion: t.DefaultVersionNumber ?? 1,
    latestVersion: t.LatestVersionNumber ?? 1,
    configHash: tags[CONFIG_HASH_TAG],
    ...(/^\d+$/.test(tags[VERSION_TAG] ?? '') ? { actionVersion: Number(tags[VERSION_TAG]) } : {}),
    image: tags[IMAGE_TAG],
    instanceType: tags[INSTANCE_TYPE_TAG]
  }
}

async function readLaunchTemplates(clients: Clients, scope: StackScope): Promise<CurrentLaunchTemplate[]> {
  const templates: CurrentLaunchTemplate[] = []
  let token: string | undefined
  try {
    do {
      const out = await clients.ec2.send(new DescribeLaunchTemplatesCommand({ Filters: tagFilters(scope), NextToken: token, MaxResults: 200 }))
      templates.push(...(out.LaunchTemplates ?? []).map(toLaunchTemplate))
      token = out.NextToken
    } while (token)
  } catch (err) {
    throw wrap(`listing launch templates of stack ${scope.stack}`, err)
  }
  return templates
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
    subnetIds: (g.VPCZoneIdentifier ?? '').split(',').map((s) => s.trim()).filter(Boolean).sort(),
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

export async function readAsgs(clients: Clients, filters: Filter[], stopWhen?: (page: CurrentAsg[]) => boolean): Promise<CurrentAsg[]> {
  const groups: CurrentAsg[] = []
  let token: string | undefined
  do {
    const out = await clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ Filters: filters, NextToken: token, MaxRecords: 100 }))
    const page = (out.AutoScalingGroups ?? []).map(toAsg)
    groups.push(...page)
    if (stopWhen?.(page)) break
    token = out.NextToken
  } while (token)
  return groups
}

async function readStackAsgs(clients: Clients, scope: StackScope): Promise<CurrentAsg[]> {
  try {
    return await readAsgs(clients, tagFilters(scope))
  } catch (err) {
    throw wrap(`listing Auto Scaling groups of stack ${scope.stack}`, err)
  }
}

/** Names of other stacks of the project that still have ASGs (stops at the first page that shows one). */
export async function readOtherStacks(clients: Clients, scope: StackScope): Promise<string[]> {
  const other = (g: CurrentAsg): boolean => (g.tags[TAGS.stack] ?? '') !== scope.stack
  try {
    const groups = await readAsgs(clients, [{ Name: `tag:${TAGS.project}`, Values: [scope.project] }], (page) => page.some(other))
    return [...new Set(groups.filter(other).map((g) => g.tags[TAGS.stack] ?? ''))].sort()
  } catch (err) {
    throw wrap(`looking for other stacks of project ${scope.project}`, err)
  }
}

export const LIVE_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped']

/** The stack's instances that are not terminated (DescribeInstances on the tags; 1000 a page). */
export async function readInstances(clients: Clients, scope: StackScope, states: string[] = LIVE_STATES): Promise<CurrentInstance[]> {
  const instances: CurrentInstance[] = []
  let token: string | undefined
  const filters = [...tagFilters(scope), { Name: 'instance-state-name', Values: states }]
  try {
    do {
      const out = await clients.ec2.send(new DescribeInstancesCommand({ Filters: filters, NextToken: token, MaxResults: 1000 }))
      for (const reservation of out.Reservations ?? []) {
        for (const i of reservation.Instances ?? []) {
          const tags = tagMap(i.Tags)
          instances.push({
            id: i.InstanceId ?? '',
            service: tags[TAGS.service] ?? '',
            capacity: tags[TAGS.capacity],
            state: i.State?.Name ?? '',
            privateIp: i.PrivateIpAddress
          })
        }
      }
      token = out.NextToken
    } while (token)
  } catch (err) {
    throw wrap(`listing instances of stack ${scope.stack}`, err)
  }
  return instances
}

export async function readCurrent(clients: Clients, scope: StackScope, options: ReadOptions = {}): Promise<CurrentState> {
  const fnName = functionName(scope)
  const rule = ruleName(scope)
  const fn = readFunction(clients, fnName)
  const [functionState, zone, rolePolicy, permission, logGroup, ruleState, targets, securityGroups, launchTemplates, asgs, instances, otherStacks] =
    await Promise.all([
      fn,
      readZone(clients, { scope, fn, records: options.records === true }),
      readRolePolicy(clients, roleName(scope)),
      readPermission(clients, fnName),
      readLogGroup(clients, logGroupName(scope)),
      readRule(clients, rule),
      readTargets(clients, rule),
      readSecurityGroups(clients, scope),
      readLaunchTemplates(clients, scope),
      readStackAsgs(clients, scope),
      options.instances ? readInstances(clients, scope) : Promise.resolve(undefined),
      options.otherStacks ? readOtherStacks(clients, scope) : Promise.resolve(undefined)
    ])
  const accountId = accountOf(functionState?.arn) ?? accountOf(ruleState?.arn) ?? accountOf(logGroup?.arn)
  return {
    scope,
    accountId,
    zone: zone.zone,
    rolePolicy,
    logGroup,
    function: functionState,
    permission,
    rule: ruleState,
    targets,
    securityGroups,
    launchTemplates,
    asgs,
    records: zone.records ?? [],
    recordsRead: zone.records !== undefined,
    ...(instances ? { instances } : {}),
    ...(otherStacks ? { otherStacks } : {})
  }
}
